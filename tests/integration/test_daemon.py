#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_daemon.py - agentvaultd end to end, against the real sandboxed
daemon and the SoftHSM2 test token: TLS over Unix sockets with the HSM key,
GetTokenVault, access control, malformed and hostile clients, the seccomp
sandbox killing a worker and the parent restarting it, kill -9 with writes
in flight, SIGHUP and SIGTERM, the audit chain and its tamper detection,
a canary-secret scan of everything on disk, configuration errors,
token-signing key rotation, outbound HTTP to a loopback identity provider.

Prints TAP.  Reads the test token from tests/setup-token.sh's variables.
Environment: BUILD (build dir), AV_TEST_NO_SANDBOX=1 (ASan/valgrind runs),
AV_TEST_WRAP (valgrind command for the daemon).
"""
import base64
import http.server
import json
import os
import re
import select
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time

BUILD = os.environ.get("BUILD", "build")
TOP = os.getcwd()
DAEMON = os.path.join(TOP, BUILD, "agentvaultd")
VERIFY = os.path.join(TOP, BUILD, "agentvault-audit-verify")
CEREMONY = os.path.join(TOP, BUILD, "agentvault-ceremony")
TOKDIR = os.environ["AV_TEST_DIR"]
WORK = os.path.join(TOKDIR, "daemon")
NO_SANDBOX = os.environ.get("AV_TEST_NO_SANDBOX") == "1"
WRAP = os.environ.get("AV_TEST_WRAP", "").split()
CANARY = "CANARY-d41d8c-the-agent-secret"
SLOW = 4 if WRAP else 1         # valgrind is slow

n = 0
failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    if cond:
        print("ok %d - %s" % (n, name))
    else:
        failed += 1
        print("not ok %d - %s" % (n, name))
        if detail:
            for line in str(detail).splitlines()[:20]:
                print("# " + line)
    sys.stdout.flush()
    return cond


# The principals of every test configuration: root is the admin, uid
# 65534 (nobody) the agent; more_principals appends entries.
PRINCIPALS = """principals:
  - name: admin
    uids: [0]
    policies: [AgentVaultFullAccess]
  - name: agents
    uids: [65534]
    policies: [AgentVaultAgentAccess]
"""


def write_config(path, extra="", more_principals=""):
    cfg = """
paths:
  state_dir: {w}/state
  audit_log: {w}/audit.log
  run_dir: {w}/run
hsm:
  module: {mod}
  pin: "{pin}"
  tls_cert: {t}/tls.pem
  ca_cert: {t}/ca.pem
limits:
  max_connections: 16
  read_timeout_seconds: 2
  idle_timeout_seconds: 5
  threads: 2
sandbox:
  user: nobody
audit:
  checkpoint_records: 5
quotas:
  workload_identities: 40
  api_key_providers: 5
  oauth2_providers: 8
""".format(w=WORK, t=TOKDIR, mod=os.environ["AV_TEST_MODULE"],
           pin=os.environ["AV_TEST_PIN"]) + PRINCIPALS + more_principals + \
        extra
    with open(path, "w") as f:
        f.write(cfg)
    os.chmod(path, 0o600)


class Daemon:
    def __init__(self, config, notify=None, env=None):
        self.config = config
        self.log = open(os.path.join(WORK, "daemon.log"), "ab")
        env = dict(os.environ, AGENTVAULT_TEST_HOOKS="1", **(env or {}))
        if notify:
            env["NOTIFY_SOCKET"] = notify
        args = WRAP + (["--trace-children=yes"] if WRAP else []) + \
            [DAEMON, "-c", config]
        if NO_SANDBOX:
            args.append("--no-sandbox")
        self.proc = subprocess.Popen(args, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout=20):
        deadline = time.time() + timeout * SLOW
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if request("GET", "/ping")[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def worker_pid(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                             capture_output=True, text=True).stdout.split()
        return int(out[0]) if out else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def tls_socket(sock_name="admin.sock", timeout=10):
    ctx = ssl.create_default_context(cafile=os.path.join(TOKDIR, "ca.pem"))
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.settimeout(timeout * SLOW)
    raw.connect(os.path.join(WORK, "run", sock_name))
    return ctx.wrap_socket(raw, server_hostname="localhost")


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def request(method, path, body=None, sock_name="admin.sock", raw=None,
            ctype="application/json"):
    s = tls_socket(sock_name)
    try:
        if raw is None:
            data = b"" if body is None else (
                body if isinstance(body, bytes) else json.dumps(body).encode())
            raw = ("%s %s HTTP/1.1\r\nHost: localhost\r\n"
                   "Content-Type: %s\r\nContent-Length: %d\r\n"
                   "Connection: close\r\n\r\n" % (method, path, ctype,
                                                  len(data))).encode() + data
        try:
            s.sendall(raw)
        except OSError:
            pass    # refused early (413...): the answer is already sent
        status, headers, payload = read_response(s)
        try:
            doc = json.loads(payload) if payload else None
        except ValueError:
            doc = None
        return status, doc, headers
    finally:
        s.close()


def alive(pid):
    """A zombie is dead: pid 1 here may not reap orphans."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def log_text():
    with open(os.path.join(WORK, "daemon.log"), "rb") as f:
        return f.read().decode(errors="replace")


def test_basic(d):
    st, doc, hdr = request("GET", "/ping")
    ok(st == 200 and doc["status"] == "ok", "ping over TLS on the admin socket")
    ok("x-amzn-requestid" in hdr, "responses carry a request id")
    st, doc, _ = request("POST", "/identities/get-token-vault", {})
    ok(st == 200 and doc["tokenVaultId"] == "default" and
       doc["kmsConfiguration"]["keyType"] == "ServiceManagedKey",
       "GetTokenVault reports the service-managed KEK", doc)
    with open(os.path.join(TOKDIR, "setup.log")) as f:
        inv = f.read()
    kek = inv.split("agentvault-kek", 1)[1]
    ok(("kcv: " + doc["hsm"]["keyCheckValue"]) in kek,
       "its key check value is the ceremony's")
    st, doc, _ = request("POST", "/identities/get-token-vault",
                         {"tokenVaultId": "other"})
    ok(st == 404 and doc["__type"] == "ResourceNotFoundException",
       "an unknown vault is ResourceNotFoundException", doc)
    st, doc, _ = request("POST", "/identities/get-token-vault",
                         {"tokenVaultId": "bad id!"})
    ok(st == 400 and doc["__type"] == "ValidationException",
       "a malformed vault id is ValidationException")
    st, doc, _ = request("POST", "/identities/get-token-vault", {},
                         sock_name="agent.sock")
    ok(st == 403 and doc["__type"] == "AccessDeniedException",
       "control plane on the agent socket is AccessDeniedException", doc)
    st, doc, _ = request("POST", "/identities/NoSuchOperation", {})
    ok(st == 400 and doc["__type"] == "ValidationException",
       "an unknown operation is ValidationException")
    st, doc, _ = request("GET", "/identities/get-token-vault")
    ok(st == 400, "a wrong method is refused")


ARN_PREFIX = ("arn:aws:bedrock-agentcore:us-east-1:000000000000:"
              "workload-identity-directory/default/workload-identity/")


def call(op, body, sock_name="admin.sock"):
    """An operation under /identities/, or a path ("/policies/...")."""
    path = op if op.startswith("/") else "/identities/" + op
    st, doc, _ = request("POST", path, body, sock_name=sock_name)
    return st, doc


def test_directory(d):
    st, doc = call("CreateWorkloadIdentity", {
        "name": "support-agent",
        "allowedResourceOauth2ReturnUrls": ["https://app.example.com/cb"],
        "tags": {"team": "agents", "env": "prod"}})
    ok(st == 200 and doc["name"] == "support-agent" and
       doc["workloadIdentityArn"] == ARN_PREFIX + "support-agent" and
       doc["allowedResourceOauth2ReturnUrls"] ==
       ["https://app.example.com/cb"],
       "CreateWorkloadIdentity returns the name, ARN and return URLs", doc)
    st, doc = call("CreateWorkloadIdentity", {"name": "support-agent"})
    ok(st == 409 and doc["__type"] == "ConflictException",
       "a duplicate name is ConflictException", doc)
    bad = [
        ({"name": "ab"}, "a name under 3 characters"),
        ({"name": "x" * 256}, "a name over 255 characters"),
        ({"name": "bad name!"}, "a name with characters outside "
         "[A-Za-z0-9_.-]"),
        ({}, "a missing name"),
        ({"name": 42}, "a name that is not a string"),
        ({"name": "okname", "allowedResourceOauth2ReturnUrls": ["no url"]},
         "a malformed return URL"),
        ({"name": "okname", "allowedResourceOauth2ReturnUrls": "x:y"},
         "return URLs that are not a list"),
        ({"name": "okname", "tags": {"k%d" % i: "v" for i in range(51)}},
         "more than 50 tags"),
        ({"name": "okname", "tags": {"bad#key": "v"}}, "a bad tag key"),
        ({"name": "okname", "tags": {"k": "v" * 257}}, "an oversized tag "
         "value"),
        ({"name": "okname", "nmae": "typo"}, "an unknown field"),
    ]
    for body, what in bad:
        st, doc = call("CreateWorkloadIdentity", body)
        ok(st == 400 and doc["__type"] == "ValidationException",
           "%s is ValidationException" % what, doc)
    st, doc = call("GetWorkloadIdentity", {"name": "support-agent"})
    ok(st == 200 and doc["createdTime"] > 0 and
       doc["lastUpdatedTime"] >= doc["createdTime"],
       "GetWorkloadIdentity returns the identity with its times", doc)
    st, doc = call("GetWorkloadIdentity", {"name": "no-such-agent"})
    ok(st == 404 and doc["__type"] == "ResourceNotFoundException",
       "a missing identity is ResourceNotFoundException")
    st, doc = call("UpdateWorkloadIdentity", {
        "name": "support-agent",
        "allowedResourceOauth2ReturnUrls": ["https://a.example/1",
                                            "myapp://callback"]})
    ok(st == 200 and doc["allowedResourceOauth2ReturnUrls"] ==
       ["https://a.example/1", "myapp://callback"],
       "UpdateWorkloadIdentity replaces the return URLs", doc)
    st, doc = call("UpdateWorkloadIdentity", {"name": "no-such-agent"})
    ok(st == 404, "updating a missing identity is ResourceNotFoundException")
    for i in range(25):
        call("CreateWorkloadIdentity", {"name": "page-%02d" % i})
    names, token, pages = [], None, 0
    while True:
        body = {"maxResults": 10}
        if token:
            body["nextToken"] = token
        st, doc = call("ListWorkloadIdentities", body)
        if st != 200:
            break
        pages += 1
        names += [w["name"] for w in doc["workloadIdentities"]]
        token = doc.get("nextToken")
        if not token or pages > 10:
            break
    ok(st == 200 and pages == 3 and len(names) == 26 and
       names == sorted(names) and len(set(names)) == 26,
       "ListWorkloadIdentities pages through all identities "
       "(%d in %d pages)" % (len(names), pages))
    for body in ({"maxResults": 0}, {"maxResults": 21},
                 {"nextToken": "!!notatoken"}, {"maxResults": "10"}):
        st, doc = call("ListWorkloadIdentities", body)
        ok(st == 400, "ListWorkloadIdentities refuses %s" % json.dumps(body))
    for i in range(30):
        call("CreateWorkloadIdentity", {"name": "fill-%02d" % i})
    st, doc = call("CreateWorkloadIdentity", {"name": "one-too-many"})
    ok(st == 402 and doc["__type"] == "ServiceQuotaExceededException",
       "the configured quota of identities (40) is enforced", doc)
    for i in range(30):
        call("DeleteWorkloadIdentity", {"name": "fill-%02d" % i})
    st, doc = call("CreateWorkloadIdentity", {"name": "agent-side"},
                   sock_name="agent.sock")
    ok(st == 403, "the directory is not reachable from the agent socket")
    st, doc = call("DeleteWorkloadIdentity", {"name": "page-00"})
    ok(st == 200, "DeleteWorkloadIdentity deletes", doc)
    st, doc = call("GetWorkloadIdentity", {"name": "page-00"})
    ok(st == 404, "a deleted identity is gone")
    st, doc = call("DeleteWorkloadIdentity", {"name": "page-00"})
    ok(st == 404, "deleting it again is ResourceNotFoundException")


def secret_stored_key(name):
    st, doc, _ = request("POST", "/test/get-secret", {"name": name})
    return st


def test_api_key_providers(d):
    key = CANARY + "-api-key"
    st, doc = call("CreateApiKeyCredentialProvider",
                   {"name": "github-key", "apiKey": key,
                    "tags": {"vendor": "github"}})
    ok(st == 200 and doc["name"] == "github-key" and
       doc["credentialProviderArn"].endswith(
           ":token-vault/default/apikeycredentialprovider/github-key") and
       "secretArn" in doc["apiKeySecretArn"] and key not in json.dumps(doc),
       "CreateApiKeyCredentialProvider answers without the key", doc)
    st, doc = call("CreateApiKeyCredentialProvider",
                   {"name": "github-key", "apiKey": "x"})
    ok(st == 409 and doc["__type"] == "ConflictException",
       "a duplicate provider is ConflictException")
    for body, what in (({"name": "bad name", "apiKey": "x"}, "a bad name"),
                       ({"name": "k" * 129, "apiKey": "x"}, "a long name"),
                       ({"name": "nokey"}, "a missing key"),
                       ({"name": "emptykey", "apiKey": ""}, "an empty key"),
                       ({"name": "bigkey", "apiKey": "k" * 65537},
                        "a key over 64 KiB"),
                       ({"name": "x", "apiKey": "y", "extra": 1},
                        "an unknown field")):
        st, doc = call("CreateApiKeyCredentialProvider", body)
        # A key over 64 KiB also exceeds max_body_bytes: 413 is fine too.
        ok(st in (400, 413) and doc["__type"] == "ValidationException",
           "%s is ValidationException" % what, doc)
    st, doc = call("GetApiKeyCredentialProvider", {"name": "github-key"})
    ok(st == 200 and doc["createdTime"] > 0 and key not in json.dumps(doc),
       "GetApiKeyCredentialProvider never returns the key", doc)
    st, doc = call("UpdateApiKeyCredentialProvider",
                   {"name": "github-key", "apiKey": key + "-2"})
    ok(st == 200 and key not in json.dumps(doc),
       "UpdateApiKeyCredentialProvider replaces the key, unseen", doc)
    st, doc = call("UpdateApiKeyCredentialProvider",
                   {"name": "missing", "apiKey": "x"})
    ok(st == 404, "updating a missing provider is ResourceNotFoundException")
    for i in range(3):
        call("CreateApiKeyCredentialProvider",
             {"name": "p%d" % i, "apiKey": "k%d" % i})
    st, doc = call("ListApiKeyCredentialProviders", {"maxResults": 2})
    st2, doc2 = call("ListApiKeyCredentialProviders",
                     {"maxResults": 2, "nextToken": doc.get("nextToken", "")})
    names = [p["name"] for p in doc["credentialProviders"] +
             doc2["credentialProviders"]]
    ok(st == 200 and st2 == 200 and names == ["github-key", "p0", "p1", "p2"]
       and key not in json.dumps(doc),
       "ListApiKeyCredentialProviders pages through them", names)
    st, doc = call("CreateApiKeyCredentialProvider",
                   {"name": "p3", "apiKey": "k"})
    call("CreateApiKeyCredentialProvider", {"name": "p4", "apiKey": "k"})
    ok(st == 200 and call("CreateApiKeyCredentialProvider",
                          {"name": "p5", "apiKey": "k"})[0] == 402,
       "the configured quota of API-key providers (5) is enforced")
    call("DeleteApiKeyCredentialProvider", {"name": "p4"})
    call("DeleteApiKeyCredentialProvider", {"name": "p3"})
    st, doc = call("DeleteApiKeyCredentialProvider", {"name": "p0"})
    st2, doc2 = call("GetApiKeyCredentialProvider", {"name": "p0"})
    ok(st == 200 and st2 == 404, "DeleteApiKeyCredentialProvider deletes")
    st, doc = call("CreateApiKeyCredentialProvider",
                   {"name": "agent-side", "apiKey": "x"},
                   sock_name="agent.sock")
    ok(st == 403, "providers are not managed from the agent socket")


ACCOUNT_PREFIX = "arn:aws:bedrock-agentcore:us-east-1:000000000000:"
VAULT_ARN = ACCOUNT_PREFIX + "token-vault/default"
OAUTH2_ARN = VAULT_ARN + "/oauth2credentialprovider/"
OAUTH_SECRET = CANARY + "-oauth-client-secret"


def oauth2_body(name, vendor, config_key, **config):
    """A CreateOauth2CredentialProvider body; the config's clientId and
    clientSecret default to a test client."""
    c = {"clientId": "client-" + name, "clientSecret": OAUTH_SECRET}
    c.update(config)
    for k in [k for k, v in c.items() if v is None]:
        del c[k]
    return {"name": name, "credentialProviderVendor": vendor,
            "oauth2ProviderConfigInput": {config_key: c}}


def metadata_of(doc, config_key):
    out = doc["oauth2ProviderConfigOutput"][config_key]
    return out, out["oauthDiscovery"].get("authorizationServerMetadata", {})


def test_oauth2_providers(d):
    body = oauth2_body("github-oauth", "GithubOauth2",
                       "githubOauth2ProviderConfig")
    body["tags"] = {"vendor": "github"}
    st, doc = call("CreateOauth2CredentialProvider", body)
    out, md = metadata_of(doc, "githubOauth2ProviderConfig") \
        if st == 200 else ({}, {})
    ok(st == 200 and doc["name"] == "github-oauth" and
       doc["credentialProviderArn"] == OAUTH2_ARN + "github-oauth" and
       doc["clientSecretArn"]["secretArn"] ==
       OAUTH2_ARN + "github-oauth/secret" and
       out.get("clientId") == "client-github-oauth" and
       md.get("tokenEndpoint") ==
       "https://github.com/login/oauth/access_token" and
       md.get("authorizationEndpoint") ==
       "https://github.com/login/oauth/authorize" and
       md.get("tokenEndpointAuthMethods") == ["client_secret_post"] and
       OAUTH_SECRET not in json.dumps(doc),
       "CreateOauth2CredentialProvider (GithubOauth2) answers with the "
       "preset's endpoints, never the secret", doc)
    ok("callbackUrl" not in doc, "without a TCP listener there is no "
       "callback URL", doc)
    st, doc = call("CreateOauth2CredentialProvider", body)
    ok(st == 409 and doc["__type"] == "ConflictException",
       "a duplicate OAuth2 provider is ConflictException", doc)
    st, doc = call("GetOauth2CredentialProvider", {"name": "github-oauth"})
    ok(st == 200 and doc["credentialProviderVendor"] == "GithubOauth2" and
       doc["createdTime"] > 0 and doc["lastUpdatedTime"] >=
       doc["createdTime"] and "clientSecretArn" in doc and
       OAUTH_SECRET not in json.dumps(doc),
       "GetOauth2CredentialProvider returns the vendor and times, never "
       "the secret", doc)
    tags = list_tags(OAUTH2_ARN + "github-oauth")
    ok(tags == {"vendor": "github"},
       "an OAuth2 provider's tags are kept by its ARN", tags)

    # Presets with inputs: Microsoft's tenant, Okta's issuer.
    st, doc = call("CreateOauth2CredentialProvider", oauth2_body(
        "ms-common", "MicrosoftOauth2", "microsoftOauth2ProviderConfig"))
    _, md = metadata_of(doc, "microsoftOauth2ProviderConfig") \
        if st == 200 else ({}, {})
    ok(st == 200 and md.get("tokenEndpoint") == "https://login."
       "microsoftonline.com/common/oauth2/v2.0/token",
       "MicrosoftOauth2 without a tenantId uses the 'common' endpoints", doc)
    st, doc = call("CreateOauth2CredentialProvider", oauth2_body(
        "ms-contoso", "MicrosoftOauth2", "microsoftOauth2ProviderConfig",
        tenantId="contoso.onmicrosoft.com"))
    _, md = metadata_of(doc, "microsoftOauth2ProviderConfig") \
        if st == 200 else ({}, {})
    ok(st == 200 and md.get("authorizationEndpoint") == "https://login."
       "microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
       and md.get("issuer") == "https://login.microsoftonline.com/"
       "contoso.onmicrosoft.com/v2.0",
       "MicrosoftOauth2 with a tenantId uses the tenant's endpoints", doc)
    st, doc = call("CreateOauth2CredentialProvider", oauth2_body(
        "okta", "OktaOauth2", "includedOauth2ProviderConfig",
        issuer="https://dev-1.okta.com/oauth2/default"))
    _, md = metadata_of(doc, "includedOauth2ProviderConfig") \
        if st == 200 else ({}, {})
    ok(st == 200 and md.get("tokenEndpoint") ==
       "https://dev-1.okta.com/oauth2/default/v1/token" and
       md.get("tokenEndpointAuthMethods") == ["client_secret_basic"],
       "OktaOauth2 derives its endpoints from the issuer", doc)

    # CustomOauth2: a discovery URL (fetched at once: tests/oauth/
    # test_m2m.py; here nothing answers), or metadata.
    st, doc = call("CreateOauth2CredentialProvider", oauth2_body(
        "custom-disc", "CustomOauth2", "customOauth2ProviderConfig",
        oauthDiscovery={"discoveryUrl": "https://idp.example.com/"
                        ".well-known/openid-configuration"}))
    st2, _ = call("GetOauth2CredentialProvider", {"name": "custom-disc"})
    ok(st == 400 and doc.get("__type") == "ValidationException" and
       doc.get("message", "").startswith("discoveryUrl: the document "
                                         "cannot be fetched") and
       st2 == 404, "CustomOauth2 with a discovery URL nothing answers "
       "is refused, nothing created", doc)
    meta = {"issuer": "https://idp.example.com",
            "authorizationEndpoint": "https://idp.example.com/authorize",
            "tokenEndpoint": "https://idp.example.com/token",
            "responseTypes": ["code"],
            "tokenEndpointAuthMethods": ["client_secret_post"]}
    st, doc = call("CreateOauth2CredentialProvider", oauth2_body(
        "custom-disc", "CustomOauth2", "customOauth2ProviderConfig",
        oauthDiscovery={"authorizationServerMetadata": meta},
        clientAuthenticationMethod="CLIENT_SECRET_POST"))
    ok(st == 200, "(custom-disc with metadata instead)", doc)
    st, doc = call("CreateOauth2CredentialProvider", oauth2_body(
        "custom-meta", "CustomOauth2", "customOauth2ProviderConfig",
        oauthDiscovery={"authorizationServerMetadata": meta},
        clientAuthenticationMethod="CLIENT_SECRET_POST"))
    out, md = metadata_of(doc, "customOauth2ProviderConfig") \
        if st == 200 else ({}, {})
    ok(st == 200 and md == meta and
       out.get("clientAuthenticationMethod") == "CLIENT_SECRET_POST",
       "CustomOauth2 with explicit metadata and client_secret_post", doc)

    cfg = "customOauth2ProviderConfig"
    disc = {"discoveryUrl": "https://idp.example.com/.well-known/"
            "openid-configuration"}
    bad = [
        ({"name": "bad name", "credentialProviderVendor": "GithubOauth2",
          "oauth2ProviderConfigInput": {}}, "a bad name"),
        ({"name": "x" * 129}, "a name over 128 characters"),
        (oauth2_body("nov", "GithubOauth2", "githubOauth2ProviderConfig"),
         "no vendor", "credentialProviderVendor"),
        (oauth2_body("unk", "MyspaceOauth2", "githubOauth2ProviderConfig"),
         "an unknown vendor"),
        (oauth2_body("mix", "GoogleOauth2", "githubOauth2ProviderConfig"),
         "a vendor with another vendor's configuration"),
        (oauth2_body("noid", "GithubOauth2", "githubOauth2ProviderConfig",
                     clientId=None), "no clientId"),
        (oauth2_body("sp", "GithubOauth2", "githubOauth2ProviderConfig",
                     clientId="a b"), "a clientId with a space"),
        (oauth2_body("nosec", "GithubOauth2", "githubOauth2ProviderConfig",
                     clientSecret=None), "no clientSecret"),
        (oauth2_body("empty", "GithubOauth2", "githubOauth2ProviderConfig",
                     clientSecret=""), "an empty clientSecret"),
        (oauth2_body("big", "GithubOauth2", "githubOauth2ProviderConfig",
                     clientSecret="s" * 2049), "a clientSecret over 2048"),
        (oauth2_body("ten", "GoogleOauth2", "googleOauth2ProviderConfig",
                     tenantId="x"), "a field the vendor does not take"),
        (oauth2_body("xiss", "XOauth2", "includedOauth2ProviderConfig",
                     issuer="https://x.example"),
         "an issuer for a vendor with fixed endpoints"),
        (oauth2_body("oknoiss", "OktaOauth2",
                     "includedOauth2ProviderConfig"), "Okta without issuer"),
        (oauth2_body("okhttp", "OktaOauth2", "includedOauth2ProviderConfig",
                     issuer="http://dev-1.okta.com/oauth2/default"),
         "an http:// issuer"),
        (oauth2_body("mst", "MicrosoftOauth2",
                     "microsoftOauth2ProviderConfig", tenantId="a/b"),
         "a tenantId that is not one"),
        (oauth2_body("c0", "CustomOauth2", cfg), "CustomOauth2 without "
         "oauthDiscovery"),
        (oauth2_body("c1", "CustomOauth2", cfg, oauthDiscovery={
            "discoveryUrl": "https://idp.example.com/openid"}),
         "a discovery URL outside /.well-known/"),
        (oauth2_body("c2", "CustomOauth2", cfg, oauthDiscovery={
            "discoveryUrl": "http://idp.example.com/.well-known/"
            "openid-configuration"}), "an http:// discovery URL"),
        (oauth2_body("c3", "CustomOauth2", cfg, oauthDiscovery=dict(
            disc, authorizationServerMetadata=meta)),
         "both a discovery URL and metadata"),
        (oauth2_body("c4", "CustomOauth2", cfg, oauthDiscovery={
            "authorizationServerMetadata": dict(
                meta, tokenEndpoint="http://idp.example.com/token")}),
         "an http:// token endpoint"),
        (oauth2_body("c5", "CustomOauth2", cfg, oauthDiscovery={
            "authorizationServerMetadata": dict(
                meta, tokenEndpoint="https://u:p@idp.example.com/t")}),
         "an endpoint with credentials"),
        (oauth2_body("c6", "CustomOauth2", cfg, oauthDiscovery={
            "authorizationServerMetadata": {"issuer": meta["issuer"]}}),
         "metadata without endpoints"),
        (oauth2_body("c7", "CustomOauth2", cfg, oauthDiscovery={
            "authorizationServerMetadata": meta}),
         "a default method (basic) the server does not list"),
        (oauth2_body("c8", "CustomOauth2", cfg, oauthDiscovery=disc,
                     clientAuthenticationMethod="PRIVATE_KEY_JWT"),
         "PRIVATE_KEY_JWT with a client secret", "not a secret"),
        (oauth2_body("c9", "CustomOauth2", cfg, oauthDiscovery={
            "authorizationServerMetadata": dict(
                meta, tokenEndpointAuthMethods=["private_key_jwt"])}),
         "a default method (basic) not among the server's [private_key_jwt]",
         "not among"),
        (oauth2_body("c8a", "CustomOauth2", cfg, clientSecret=None,
                     oauthDiscovery=disc,
                     clientAuthenticationMethod="PRIVATE_KEY_JWT"),
         "PRIVATE_KEY_JWT without privateKeyJwtConfig",
         "needs privateKeyJwtConfig"),
        (oauth2_body("c8b", "CustomOauth2", cfg, clientSecret=None,
                     oauthDiscovery=disc,
                     clientAuthenticationMethod="PRIVATE_KEY_JWT",
                     privateKeyJwtConfig={"privateKeySource": {"hsmKeySource": {
                         "keyLabel": "agentvault-oauth-client-none"}}}),
         "PRIVATE_KEY_JWT with a key label not loaded",
         "no OAuth client key labelled agentvault-oauth-client-none"),
        (oauth2_body("c8c", "CustomOauth2", cfg, clientSecret=None,
                     oauthDiscovery=disc,
                     clientAuthenticationMethod="PRIVATE_KEY_JWT",
                     privateKeyJwtConfig={"privateKeySource": {
                         "kmsKeySource": {"kmsKeyArn": "arn:aws:kms:x"}}}),
         "a KMS key source", "no AWS KMS on the appliance"),
        (oauth2_body("c8d", "CustomOauth2", cfg, clientSecret=None,
                     oauthDiscovery=disc,
                     clientAuthenticationMethod="PRIVATE_KEY_JWT",
                     privateKeyJwtConfig=dict({"privateKeySource": {"hsmKeySource": {
                         "keyLabel": "agentvault-oauth-client-none"}}},
                         signingAlgorithm="RS256")),
         "signingAlgorithm RS256", "use ES256"),
        (oauth2_body("c8e", "CustomOauth2", cfg, clientSecret=None,
                     oauthDiscovery=disc,
                     clientAuthenticationMethod="PRIVATE_KEY_JWT",
                     privateKeyJwtConfig=dict({"privateKeySource": {"hsmKeySource": {
                         "keyLabel": "agentvault-oauth-client-none"}}},
                         additionalPayloadClaims={"iss": "x"})),
         "an additional payload claim the appliance sets",
         "additionalPayloadClaims: iss is set by the appliance"),
        (oauth2_body("c8g", "CustomOauth2", cfg, clientSecret=None,
                     oauthDiscovery=disc,
                     clientAuthenticationMethod="PRIVATE_KEY_JWT",
                     privateKeyJwtConfig=dict({"privateKeySource": {"hsmKeySource": {
                         "keyLabel": "agentvault-oauth-client-none"}}},
                         additionalHeaderClaims={"a b": "x"})),
         "an additional header claim with a bad name",
         "names are 1 to 255 of"),
        (oauth2_body("c8h", "CustomOauth2", cfg, clientSecret=None,
                     oauthDiscovery=disc,
                     clientAuthenticationMethod="PRIVATE_KEY_JWT",
                     privateKeyJwtConfig=dict({"privateKeySource": {"hsmKeySource": {
                         "keyLabel": "agentvault-oauth-client-none"}}}, additionalHeaderClaims={
                         "h%d" % i: "v" for i in range(11)})),
         "11 additional header claims", "at most 10"),
        (oauth2_body("c8f", "CustomOauth2", cfg, oauthDiscovery=disc,
                     privateKeyJwtConfig={"privateKeySource": {"hsmKeySource": {
                         "keyLabel": "agentvault-oauth-client-none"}}}),
         "privateKeyJwtConfig with a secret method",
         "needs clientAuthenticationMethod PRIVATE_KEY_JWT"),
        (oauth2_body("c10", "CustomOauth2", cfg, oauthDiscovery=disc,
                     clientSecretSource="EXTERNAL"),
         "an external client secret", "vault"),
        (oauth2_body("c11", "CustomOauth2", cfg, oauthDiscovery=disc,
                     clientAuthenticationMethod="NONE"),
         "an unknown client authentication method"),
        (dict(oauth2_body("c12", "GithubOauth2",
                          "githubOauth2ProviderConfig"), colour="red"),
         "an unknown field"),
        ({"name": "two", "credentialProviderVendor": "GithubOauth2",
          "oauth2ProviderConfigInput": {
              "githubOauth2ProviderConfig": {"clientId": "a",
                                             "clientSecret": "b"},
              "googleOauth2ProviderConfig": {"clientId": "a",
                                             "clientSecret": "b"}}},
         "two configurations"),
    ]
    for case in bad:
        b, what = case[0], case[1]
        if what == "no vendor":
            del b["credentialProviderVendor"]
        st, doc = call("CreateOauth2CredentialProvider", b)
        ok(st in (400, 413) and doc["__type"] == "ValidationException" and
           OAUTH_SECRET not in doc["message"] and
           (len(case) < 3 or case[2] in doc["message"]),
           "CreateOauth2CredentialProvider: %s is ValidationException" %
           what, doc)
    st, doc = call("GetOauth2CredentialProvider", {"name": "c8"})
    ok(st == 404, "a refused provider was not created", doc)

    # Update replaces the configuration; the secret only when given.
    up = oauth2_body("github-oauth", "GithubOauth2",
                     "githubOauth2ProviderConfig", clientId="client-2",
                     clientSecret=None)
    st, doc = call("UpdateOauth2CredentialProvider", up)
    out, _ = metadata_of(doc, "githubOauth2ProviderConfig") \
        if st == 200 else ({}, {})
    ok(st == 200 and out.get("clientId") == "client-2" and
       doc["credentialProviderVendor"] == "GithubOauth2",
       "UpdateOauth2CredentialProvider replaces the client ID, keeping "
       "the secret", doc)
    up = oauth2_body("github-oauth", "CustomOauth2", cfg,
                     oauthDiscovery={"authorizationServerMetadata": meta},
                     clientAuthenticationMethod="CLIENT_SECRET_POST",
                     clientSecret=OAUTH_SECRET + "-2")
    st, doc = call("UpdateOauth2CredentialProvider", up)
    ok(st == 200 and doc["credentialProviderVendor"] == "CustomOauth2" and
       OAUTH_SECRET not in json.dumps(doc),
       "UpdateOauth2CredentialProvider can change vendor and secret", doc)
    st, doc = call("UpdateOauth2CredentialProvider", oauth2_body(
        "no-such", "GithubOauth2", "githubOauth2ProviderConfig"))
    ok(st == 404 and doc["__type"] == "ResourceNotFoundException",
       "updating a missing OAuth2 provider is ResourceNotFoundException")
    st, doc = call("UpdateOauth2CredentialProvider", dict(
        oauth2_body("github-oauth", "GithubOauth2",
                    "githubOauth2ProviderConfig"), tags={"a": "b"}))
    ok(st == 400, "Update takes no tags (TagResource does)", doc)

    st, doc = call("ListOauth2CredentialProviders", {"maxResults": 2})
    st2, doc2 = call("ListOauth2CredentialProviders",
                     {"maxResults": 20, "nextToken": doc.get("nextToken",
                                                             "")})
    items = doc.get("credentialProviders", []) + \
        doc2.get("credentialProviders", [])
    names = [p["name"] for p in items]
    ok(st == 200 and st2 == 200 and names == ["custom-disc", "custom-meta",
                                              "github-oauth", "ms-common",
                                              "ms-contoso", "okta"] and
       all(set(p) == {"name", "credentialProviderVendor",
                      "credentialProviderArn", "createdTime",
                      "lastUpdatedTime"} for p in items) and
       items[2]["credentialProviderVendor"] == "CustomOauth2",
       "ListOauth2CredentialProviders pages through them with vendors",
       items)
    st, doc = call("ListApiKeyCredentialProviders", {"maxResults": 20})
    ok(st == 200 and not [p for p in doc["credentialProviders"]
                          if p["name"] == "github-oauth"],
       "OAuth2 providers are not API-key providers")

    call("CreateOauth2CredentialProvider", oauth2_body(
        "q7", "GithubOauth2", "githubOauth2ProviderConfig"))
    call("CreateOauth2CredentialProvider", oauth2_body(
        "q8", "GithubOauth2", "githubOauth2ProviderConfig"))
    st, doc = call("CreateOauth2CredentialProvider", oauth2_body(
        "q9", "GithubOauth2", "githubOauth2ProviderConfig"))
    ok(st == 402 and doc["__type"] == "ServiceQuotaExceededException",
       "the configured quota of OAuth2 providers (8) is enforced", doc)
    for name in ("q7", "q8", "ms-common", "custom-meta"):
        call("DeleteOauth2CredentialProvider", {"name": name})
    st, doc = call("DeleteOauth2CredentialProvider", {"name": "okta"})
    st2, _ = call("GetOauth2CredentialProvider", {"name": "okta"})
    st3, _ = call("DeleteOauth2CredentialProvider", {"name": "okta"})
    ok(st == 200 and doc == {} and st2 == 404 and st3 == 404,
       "DeleteOauth2CredentialProvider deletes (once)", doc)
    st, doc = call("CreateOauth2CredentialProvider", oauth2_body(
        "agent-side", "GithubOauth2", "githubOauth2ProviderConfig"),
        sock_name="agent.sock")
    ok(st == 403, "OAuth2 providers are not managed from the agent socket")


def tags_path(arn, query=""):
    from urllib.parse import quote
    return "/tags/" + quote(arn, safe="") + query


def tags_call(method, arn, body=None, query="", sock_name="admin.sock"):
    st, doc, _ = request(method, tags_path(arn, query), body,
                         sock_name=sock_name)
    return st, doc


def list_tags(arn):
    st, doc = tags_call("GET", arn)
    return doc.get("tags") if st == 200 else doc


def test_tags(d):
    from urllib.parse import quote
    wi = ARN_PREFIX + "support-agent"
    ok(list_tags(wi) == {"team": "agents", "env": "prod"},
       "ListTagsForResource lists the tags given at creation", list_tags(wi))
    st, doc = tags_call("POST", wi, {"tags": {"owner": "alice",
                                              "env": "staging"}})
    ok(st == 200 and doc == {}, "TagResource tags an identity", doc)
    ok(list_tags(wi) == {"team": "agents", "env": "staging",
                         "owner": "alice"},
       "TagResource adds new keys and overwrites existing ones",
       list_tags(wi))
    st, doc = tags_call("DELETE", wi, query="?tagKeys=owner&tagKeys=team")
    ok(st == 200 and list_tags(wi) == {"env": "staging"},
       "UntagResource removes the keys named in tagKeys", list_tags(wi))
    st, doc = tags_call("DELETE", wi, query="?tagKeys=never-there")
    ok(st == 200, "untagging a key that is not there is no error", doc)
    st, doc = tags_call("DELETE", wi)
    ok(st == 200 and list_tags(wi) == {"env": "staging"},
       "UntagResource without tagKeys removes nothing", doc)
    odd = "cost center/a:b=c+d@e.f_g-h"
    st, doc = tags_call("POST", wi, {"tags": {odd: "x y"}})
    ok(st == 200 and list_tags(wi).get(odd) == "x y",
       "keys with spaces and : / = + @ are tags too", list_tags(wi))
    st, doc = tags_call("DELETE", wi, query="?tagKeys=" + quote(odd, safe=""))
    ok(st == 200 and odd not in list_tags(wi),
       "a URL-encoded key is untagged", list_tags(wi))
    tags_call("POST", wi, {"tags": {"a+b": "1", "a b": "2", "c d": "3"}})
    st, doc = tags_call("DELETE", wi, query="?tagKeys=a+b")
    ok(st == 200 and "a b" not in list_tags(wi) and
       list_tags(wi).get("a+b") == "1",
       "in tagKeys a '+' is a space (form encoding, curl "
       "--data-urlencode)", list_tags(wi))
    tags_call("DELETE", wi, query="?tagKeys=a%2Bb&tagKeys=c%20d")
    ok(list_tags(wi) == {"env": "staging"}, "%2B is a plus, %20 a space",
       list_tags(wi))
    st, doc, _ = request("GET", tags_path(wi).replace("%3A", ":"))
    ok(st == 200 and doc["tags"] == {"env": "staging"},
       "an unencoded ':' in the ARN is accepted", doc)
    key_arn = (ACCOUNT_PREFIX +
               "token-vault/default/apikeycredentialprovider/github-key")
    st, doc = tags_call("POST", key_arn, {"tags": {"rotation": "90d"}})
    ok(st == 200 and list_tags(key_arn) == {"vendor": "github",
                                            "rotation": "90d"},
       "an API-key credential provider is tagged", list_tags(key_arn))
    st, doc = tags_call("POST", VAULT_ARN, {"tags": {"site": "dc1"}})
    ok(st == 200 and list_tags(VAULT_ARN) == {"site": "dc1"},
       "the token vault is tagged", list_tags(VAULT_ARN))
    st, doc = tags_call("POST", wi, {"tags": {}})
    ok(st == 200, "an empty tags map is allowed", doc)
    # Policies compare tag keys ignoring case: no two keys differ only so.
    st, doc = tags_call("POST", wi, {"tags": {"Env": "prod"}})
    ok(st == 400 and "differ only in case" in doc.get("message", "") and
       list_tags(wi) == {"env": "staging"},
       "TagResource refuses a key that differs from one there only in case",
       doc)
    st, doc = tags_call("POST", wi, {"tags": {"owner": "a", "OWNER": "b"}})
    ok(st == 400 and "differ only in case" in doc.get("message", ""),
       "and two such keys in one request", doc)
    st, doc = call("CreateWorkloadIdentity", {"name": "case-tags",
                                              "tags": {"t": "1", "T": "2"}})
    ok(st == 400 and "differ only in case" in doc.get("message", ""),
       "and at creation", doc)

    # The limit of 50 tags per resource.
    call("CreateWorkloadIdentity", {"name": "tag-limit",
                                    "tags": {"k00": "v"}})
    lim = ARN_PREFIX + "tag-limit"
    st, doc = tags_call("POST", lim, {"tags": {"k%02d" % i: "v"
                                               for i in range(1, 50)}})
    ok(st == 200 and len(list_tags(lim)) == 50,
       "a resource takes up to 50 tags", doc)
    st, doc = tags_call("POST", lim, {"tags": {"k50": "v"}})
    ok(st == 402 and doc["__type"] == "ServiceQuotaExceededException" and
       len(list_tags(lim)) == 50,
       "a 51st tag is ServiceQuotaExceededException and changes nothing",
       doc)
    st, doc = tags_call("POST", lim, {"tags": {"k07": "new", "k08": ""}})
    ok(st == 200 and list_tags(lim)["k07"] == "new" and
       list_tags(lim)["k08"] == "",
       "overwriting keys at the limit is allowed (and values may be empty)",
       doc)
    st, doc = tags_call("POST", lim, {"tags": {"x%02d" % i: "v"
                                               for i in range(51)}})
    ok(st == 400 and doc["__type"] == "ValidationException",
       "more than 50 tags in one request is ValidationException", doc)

    bad_bodies = [
        ({"tags": {"k" * 129: "v"}}, "a key over 128 characters"),
        ({"tags": {"k": "v" * 257}}, "a value over 256 characters"),
        ({"tags": {"": "v"}}, "an empty key"),
        ({"tags": {"bad#key": "v"}}, "a key with a character outside the set"),
        ({"tags": {"k": 1}}, "a value that is not a string"),
        ({"tags": {"aws:owner": "x"}}, "a key with the reserved aws: prefix"),
        ({"tags": {"AWS:Owner": "x"}}, "a key with AWS: in any case"),
        ({"tags": ["k"]}, "tags that are not a map"),
        ({}, "missing tags"),
        ({"tags": {"k": "v"}, "tagz": 1}, "an unknown field"),
    ]
    for body, what in bad_bodies:
        st, doc = tags_call("POST", wi, body)
        ok(st == 400 and doc["__type"] == "ValidationException",
           "TagResource: %s is ValidationException" % what, doc)
    ok(list_tags(wi) == {"env": "staging"},
       "refused TagResource calls change nothing", list_tags(wi))
    st, doc = call("CreateWorkloadIdentity", {"name": "aws-tagged",
                                              "tags": {"aws:x": "y"}})
    ok(st == 400, "CreateWorkloadIdentity refuses aws: tag keys too", doc)
    for query, what in (("?tagKeys=aws%3Aowner", "a reserved aws: key"),
                        ("?tagKeys=" + "k" * 129, "a key over 128 characters"),
                        ("?tagKeys=", "an empty key"),
                        ("?tagKeys=a%ZZ", "bad percent-encoding in a key"),
                        ("?tagKeys=a&other=b", "another query parameter"),
                        ("?tagKeys", "a parameter without a value"),
                        ("?tagKeys=a&", "an empty parameter")):
        st, doc = tags_call("DELETE", wi, query=query)
        ok(st == 400 and doc["__type"] == "ValidationException",
           "UntagResource: %s is ValidationException" % what, doc)
    st, doc = tags_call("DELETE", wi, query="?" + "&".join(
        "tagKeys=k%d" % i for i in range(201)))
    # The 2048-byte request target (414) gives out before 200 keys do.
    ok(st in (400, 414) and doc["__type"] == "ValidationException",
       "more than 200 tagKeys is ValidationException", doc)
    st, doc = tags_call("GET", wi, query="?tagKeys=env")
    ok(st == 400, "ListTagsForResource takes no query parameters", doc)

    enc_wi = quote(wi, safe="")
    for path, what in (("/tags/", "an empty ARN"),
                       ("/tags/not-an-arn", "a string that is not an ARN"),
                       (tags_path("arn:aws:iam::000000000000:role/x"),
                        "an ARN of another service"),
                       (tags_path("arn:aws:bedrock-agentcore:us-east-1:123:"
                                  "token-vault/default"),
                        "an account that is not 12 digits"),
                       (tags_path(ACCOUNT_PREFIX + "token-vault"),
                        "a resource without an id"),
                       (tags_path(ACCOUNT_PREFIX + "token-vault/"),
                        "an empty id"),
                       (tags_path(ACCOUNT_PREFIX + "Token-Vault/default"),
                        "an upper-case resource type"),
                       ("/tags/" + enc_wi + "%ZZ", "a bad percent-escape"),
                       ("/tags/" + enc_wi + "%4", "a truncated percent-escape"),
                       ("/tags/" + enc_wi + "%00", "an encoded NUL"),
                       ("/tags/" + enc_wi.replace("%2F", "/"),
                        "an unencoded '/' in the ARN"),
                       ("/tags/" + enc_wi + "%20x", "a space in the ARN")):
        st, doc, _ = request("GET", path)
        ok(st == 400 and doc["__type"] == "ValidationException",
           "%s is ValidationException" % what, doc)
    for arn, what in ((ARN_PREFIX + "no-such-agent", "a missing identity"),
                      (ACCOUNT_PREFIX + "token-vault/default/"
                       "apikeycredentialprovider/no-such-key",
                       "a missing provider"),
                      (ACCOUNT_PREFIX + "token-vault/other", "another vault"),
                      (ACCOUNT_PREFIX + "gateway/gw-1",
                       "a kind of resource the appliance does not have"),
                      (wi + "/extra/x", "a sub-resource of an identity"),
                      (wi.replace("000000000000", "111111111111"),
                       "an identity of another account"),
                      (wi.replace("us-east-1", "eu-west-1"),
                       "an identity of another region"),
                      (wi.replace("arn:aws:", "arn:aws-cn:"),
                       "an identity of another partition")):
        for method, body in (("GET", None), ("POST", {"tags": {"a": "b"}}),
                             ("DELETE", None)):
            st, doc = tags_call(method, arn, body,
                                query="?tagKeys=a" if method == "DELETE"
                                else "")
            ok(st == 404 and doc["__type"] == "ResourceNotFoundException",
               "%s %s is ResourceNotFoundException" % (method, what), doc)

    call("CreateWorkloadIdentity", {"name": "tag-doomed",
                                    "tags": {"a": "1"}})
    doomed = ARN_PREFIX + "tag-doomed"
    tags_call("POST", doomed, {"tags": {"b": "2"}})
    call("DeleteWorkloadIdentity", {"name": "tag-doomed"})
    st, doc = tags_call("GET", doomed)
    ok(st == 404 and doc["__type"] == "ResourceNotFoundException",
       "a deleted identity's tags are gone with it", doc)
    call("CreateWorkloadIdentity", {"name": "tag-doomed"})
    ok(list_tags(doomed) == {},
       "a new identity of the same name starts without tags",
       list_tags(doomed))
    call("DeleteWorkloadIdentity", {"name": "tag-doomed"})
    call("CreateApiKeyCredentialProvider", {"name": "tag-doomed",
                                            "apiKey": "k",
                                            "tags": {"a": "1"}})
    pdoomed = (ACCOUNT_PREFIX +
               "token-vault/default/apikeycredentialprovider/tag-doomed")
    call("DeleteApiKeyCredentialProvider", {"name": "tag-doomed"})
    st, doc = tags_call("GET", pdoomed)
    ok(st == 404, "a deleted provider's tags are gone with it", doc)

    for method, body in (("GET", None), ("POST", {"tags": {"a": "b"}}),
                         ("DELETE", None)):
        st, doc = tags_call(method, wi, body, query="?tagKeys=env"
                            if method == "DELETE" else "",
                            sock_name="agent.sock")
        ok(st == 403 and doc["__type"] == "AccessDeniedException",
           "%s /tags/ on the agent socket is AccessDeniedException" % method,
           doc)
    ok(list_tags(wi) == {"env": "staging"},
       "refused calls from the agent socket change nothing")
    for method in ("PUT", "PATCH", "HEAD"):
        st, doc, _ = request(method, tags_path(wi))
        ok(st == 400 and (doc or {}).get("message") == "method not allowed",
           "%s /tags/ is refused" % method, doc)


def b64url_decode(text):
    import base64
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_tokens(d):
    st, doc = call("GetWorkloadAccessToken", {"workloadName":
                                              "support-agent"},
                   sock_name="agent.sock")
    ok(st == 200 and doc["workloadAccessToken"].startswith("avwat1."),
       "GetWorkloadAccessToken mints a token on the agent socket", doc)
    st, doc = call("GetWorkloadAccessTokenForUserId",
                   {"workloadName": "support-agent",
                    "userId": "cognito+user-12345"}, sock_name="agent.sock")
    tok = doc.get("workloadAccessToken", "")
    body = b64url_decode(tok.split(".")[1]) if tok.count(".") == 2 else b""
    ok(st == 200 and b"user-12345" not in body and b"support-agent" not in
       body, "the token is opaque: neither user nor workload can be read "
       "out of it")
    st, doc = call("api-key", {"workloadIdentityToken": tok,
                               "resourceCredentialProviderName":
                               "github-key"}, sock_name="agent.sock")
    ok(st == 200 and doc.get("apiKey") == CANARY + "-api-key-2",
       "GetResourceApiKey exchanges the token for the stored key")
    parts = tok.split(".")
    forged = []
    sig = bytearray(b64url_decode(parts[2]))
    sig[5] ^= 1
    import base64
    enc = lambda b: base64.urlsafe_b64encode(bytes(b)).decode().rstrip("=")
    forged.append(("a changed signature", "%s.%s.%s" % (parts[0], parts[1],
                                                         enc(sig))))
    bod = bytearray(b64url_decode(parts[1]))
    bod[-20] ^= 1
    forged.append(("a changed body", "%s.%s.%s" % (parts[0], enc(bod),
                                                    parts[2])))
    bod = bytearray(b64url_decode(parts[1]))
    bod[0] ^= 1
    forged.append(("another key id (another appliance's key)",
                   "%s.%s.%s" % (parts[0], enc(bod), parts[2])))
    other = call("GetWorkloadAccessToken", {"workloadName": "page-01"},
                 sock_name="agent.sock")[1]["workloadAccessToken"]
    forged.append(("a signature from another token",
                   "%s.%s.%s" % (parts[0], parts[1], other.split(".")[2])))
    for what, t in forged:
        st, doc = call("api-key", {"workloadIdentityToken": t,
                                   "resourceCredentialProviderName":
                                   "github-key"}, sock_name="agent.sock")
        ok(st == 403 and doc["__type"] == "AccessDeniedException" and
           "apiKey" not in doc, "%s is AccessDeniedException" % what, doc)
    for what, t in (("a truncated token", tok[:len(tok) // 2]),
                    ("garbage", "not-a-token"),
                    ("an empty token", ""),
                    ("a token with bad base64", "avwat1.@@@.###"),
                    ("an oversized token", "avwat1." + "A" * 5000 + ".AA")):
        st, doc = call("api-key", {"workloadIdentityToken": t,
                                   "resourceCredentialProviderName":
                                   "github-key"}, sock_name="agent.sock")
        ok(st in (400, 403) and "apiKey" not in doc,
           "%s is refused (%s)" % (what, doc.get("__type")), doc)
    st, doc = call("api-key", {"workloadIdentityToken": tok,
                               "resourceCredentialProviderName": "nope"},
                   sock_name="agent.sock")
    ok(st == 404, "an unknown provider is ResourceNotFoundException")
    call("CreateWorkloadIdentity", {"name": "short-lived"})
    t2 = call("GetWorkloadAccessToken", {"workloadName": "short-lived"},
              sock_name="agent.sock")[1]["workloadAccessToken"]
    call("DeleteWorkloadIdentity", {"name": "short-lived"})
    st, doc = call("api-key", {"workloadIdentityToken": t2,
                               "resourceCredentialProviderName":
                               "github-key"}, sock_name="agent.sock")
    ok(st == 403, "a deleted identity's tokens are refused")
    # An identity created again under the same name is another identity:
    # tokens minted before it existed are refused, its own are accepted.
    time.sleep(1.1)
    call("CreateWorkloadIdentity", {"name": "short-lived"})
    st, doc = call("api-key", {"workloadIdentityToken": t2,
                               "resourceCredentialProviderName":
                               "github-key"}, sock_name="agent.sock")
    ok(st == 403, "a token of a deleted identity is refused by one "
       "re-created under its name")
    t3 = call("GetWorkloadAccessToken", {"workloadName": "short-lived"},
              sock_name="agent.sock")[1]["workloadAccessToken"]
    st, doc = call("api-key", {"workloadIdentityToken": t3,
                               "resourceCredentialProviderName":
                               "github-key"}, sock_name="agent.sock")
    ok(st == 200, "the re-created identity's own tokens work")
    call("DeleteWorkloadIdentity", {"name": "short-lived"})
    st, doc = call("GetWorkloadAccessToken", {"workloadName": "nobody-here"},
                   sock_name="agent.sock")
    ok(st == 404, "a token for a missing identity is ResourceNotFoundException")
    for body in ({"workloadName": "support-agent", "userId": ""},
                 {"workloadName": "support-agent", "userId": "u" * 129},
                 {"workloadName": "support-agent", "userId": "a\nb"}):
        st, doc = call("GetWorkloadAccessTokenForUserId", body,
                       sock_name="agent.sock")
        ok(st == 400, "a bad userId is ValidationException")
    return tok


def test_bad_input(d):
    cases = [
        ("malformed JSON", b'{"tokenVaultId": ', 400, "malformed JSON"),
        ("JSON that is not an object", b'[1,2]', 400, "object"),
        ("duplicate JSON members", b'{"a":1,"a":2}', 400, "malformed JSON"),
        ("deeply nested JSON", b"[" * 3000 + b"]" * 3000, 400, None),
    ]
    for name, body, want, text in cases:
        st, doc, _ = request("POST", "/identities/get-token-vault", body)
        ok(st == want and doc["__type"] == "ValidationException" and
           (text is None or text in doc["message"]), name + " gets %d" % want,
           doc)
    st, doc, _ = request("POST", "/identities/get-token-vault", b"{}",
                         ctype="text/plain")
    ok(st == 400, "a body that is not declared JSON is refused")
    big = b'{"x":"' + b"a" * 70000 + b'"}'
    st, doc, _ = request("POST", "/identities/get-token-vault", big)
    ok(st == 413, "a body over max_body_bytes gets 413", doc)
    st, _, _ = request(None, None, raw=b"GARBAGE\r\n\r\n")
    ok(st == 400, "a malformed request line gets 400")
    st, _, _ = request(None, None, raw=b"POST / HTTP/1.1\r\nHost: x\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    ok(st == 501, "chunked requests get 501")
    hdrs = b"".join(b"X-%d: %s\r\n" % (i, b"y" * 100) for i in range(100))
    st, _, _ = request(None, None, raw=b"GET /ping HTTP/1.1\r\nHost: x\r\n" +
                       hdrs + b"\r\n")
    ok(st == 431, "an oversized head gets 431")
    ok(request("GET", "/ping")[0] == 200, "the daemon still serves")


def test_slow_clients(d):
    # A slow loris: a byte now and then never completes a request.
    s = tls_socket()
    start = time.time()
    s.sendall(b"GET /ping HTTP/1.1\r\n")
    closed = False
    try:
        # Trickle for up to 30 s; the daemon's read timeout is 2 s.
        for _ in range(120 * SLOW):
            time.sleep(0.25)
            s.sendall(b"X")
    except OSError:
        closed = True
    if not closed:
        try:
            closed = s.recv(4096) is not None
        except OSError:
            closed = True
    took = time.time() - start
    ok(closed, "a slow-loris client is cut off (after %.1f s, read "
       "timeout 2 s)" % took)
    s.close()
    # A connection that sends nothing at all, not even a TLS handshake.
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.connect(os.path.join(WORK, "run", "admin.sock"))
    raw.settimeout(30 * SLOW)
    try:
        gone = raw.recv(1) == b""
    except socket.timeout:
        gone = False
    except OSError:
        gone = True
    ok(gone, "a silent connection is closed")
    raw.close()
    # A flood over the connection cap: extra connections are closed.
    held = []
    for _ in range(40):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(os.path.join(WORK, "run", "admin.sock"))
        held.append(c)
    time.sleep(0.5 * SLOW)
    refused = 0
    for c in held:
        c.settimeout(0.2)
        try:
            if c.recv(1) == b"":
                refused += 1
        except socket.timeout:
            pass
        except OSError:
            refused += 1
    ok(refused >= 40 - 16, "connections over the cap (16) are closed "
       "(%d of 40)" % refused)
    for c in held:
        c.close()
    time.sleep(0.3)
    ok(request("GET", "/ping")[0] == 200, "the daemon serves after the flood")
    # Clients that leave while their reply waits for the audit trail (a
    # write is fsynced first): the connection is freed at the reply.
    worker = d.worker_pid()
    for i in range(50):
        # Under load the orphans' audit fsyncs may keep more than the cap
        # open for a moment: a connection closed at accept is retried.
        for _ in range(50):
            try:
                c = tls_socket()
                break
            except OSError:
                time.sleep(0.1)
        body = json.dumps({"name": "gone-%d" % i}).encode()
        c.sendall(("POST /identities/CreateWorkloadIdentity HTTP/1.1\r\n"
                   "Host: localhost\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % len(body)).encode() +
                  body)
        c.close()
    time.sleep(0.5 * SLOW)
    st, doc, _ = request("POST", "/identities/ListWorkloadIdentities",
                         {"maxResults": 20})
    ok(st == 200 and d.worker_pid() == worker, "clients gone before their reply leave "
       "the daemon serving")
    for i in range(50):
        request("POST", "/identities/DeleteWorkloadIdentity",
                {"name": "gone-%d" % i})


def test_sandbox_and_restart(d):
    before = d.worker_pid()
    try:
        request("POST", "/test/forbidden-syscall", {})
        answered = True
    except OSError:
        answered = False
    ok(not answered, "a forbidden syscall takes the worker down mid-request")
    ok(d.wait_ready(), "the parent restarts the worker")
    after = d.worker_pid()
    ok(before != after and after is not None, "it is a new worker")
    if not NO_SANDBOX:
        ok("killed by signal 31" in log_text(),
           "the parent saw SIGSYS (seccomp) and said so")


def test_bad_ipc(d):
    """The parent kills a worker that breaks the IPC protocol."""
    for kind, why in (("unknown", "unexpected message"),
                      ("out-of-order", "unexpected message"),
                      ("oversized", "malformed message")):
        before = d.worker_pid()
        try:
            request("POST", "/test/bad-ipc", {"kind": kind})
        except OSError:
            pass
        deadline = time.time() + 10 * SLOW
        while time.time() < deadline and d.worker_pid() in (before, None):
            time.sleep(0.1)
        ok(d.wait_ready() and d.worker_pid() != before and
           ("killing worker %d: %s" % (before, why)) in log_text(),
           "an %s IPC message gets the worker killed and replaced" % kind,
           log_text()[-600:])


def put_secrets(prefix, count, acked, stop):
    for i in range(count):
        if stop.is_set():
            return
        name = "%s-%d" % (prefix, i)
        try:
            st, _, _ = request("POST", "/test/put-secret",
                               {"name": name, "value": "v-" + name})
            if st == 200:
                acked.append(name)
        except OSError:
            time.sleep(0.05)


def check_acked(acked):
    missing = []
    for name in acked:
        st, doc, _ = request("POST", "/test/get-secret", {"name": name})
        if st != 200 or doc.get("value") != "v-" + name:
            missing.append(name)
    return missing


def test_kill_worker_with_writes(d):
    acked, stop = [], threading.Event()
    t = threading.Thread(target=put_secrets, args=("w", 400, acked, stop))
    t.start()
    time.sleep(1.0 * SLOW)
    os.kill(d.worker_pid(), signal.SIGKILL)
    time.sleep(0.5)
    d.wait_ready()
    time.sleep(0.5)
    stop.set()
    t.join()
    ok(len(acked) > 0, "writes were acknowledged before the kill (%d)" %
       len(acked))
    missing = check_acked(acked)
    ok(not missing, "kill -9 of the worker loses no acknowledged write",
       missing[:5])


def test_kill_parent_with_writes(config):
    d = Daemon(config)
    ok(d.wait_ready(), "the daemon starts again")
    acked, stop = [], threading.Event()
    t = threading.Thread(target=put_secrets, args=("p", 400, acked, stop))
    t.start()
    time.sleep(1.0 * SLOW)
    worker = d.worker_pid()
    d.proc.kill()
    d.proc.wait()
    stop.set()
    t.join()
    time.sleep(0.5)
    gone = worker is None or not alive(worker)
    ok(gone, "the worker does not outlive its parent")
    d.log.close()
    d = Daemon(config)
    ok(d.wait_ready(), "the daemon restarts after kill -9 of the parent")
    missing = check_acked(acked)
    ok(len(acked) > 0 and not missing,
       "kill -9 of the parent loses no acknowledged write (%d)" % len(acked),
       missing[:5])
    return d


def test_reload_and_stop(d):
    before = d.worker_pid()
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(1.0 * SLOW)
    ok(d.wait_ready() and d.worker_pid() != before,
       "SIGHUP reloads: a new worker serves")
    rc = d.stop()
    ok(rc == 0, "SIGTERM drains and exits 0 (%s)" % rc)
    ok(not os.path.exists(os.path.join(WORK, "run", "admin.sock")),
       "the sockets are removed")


def test_audit():
    log = os.path.join(WORK, "audit.log")
    key = os.path.join(TOKDIR, "audit-key.pem")
    r = subprocess.run([VERIFY, "--key", key, log], capture_output=True,
                       text=True)
    ok(r.returncode == 0 and r.stdout.startswith("OK"),
       "the audit trail verifies with the audit public key",
       r.stdout + r.stderr)
    with open(log) as f:
        lines = f.readlines()
    calls = [json.loads(l) for l in lines if '"type":"call"' in l]
    ops = set(c["operation"] for c in calls)
    ok("GetTokenVault" in ops, "calls are in the audit trail")
    creates = [c for c in calls if c["operation"] ==
               "CreateWorkloadIdentity" and c["outcome"] == "allowed"]
    ok(creates and creates[0]["resource"] == ARN_PREFIX + "support-agent",
       "directory changes are audited with the identity's ARN")
    tagged = [c for c in calls if c["operation"] == "TagResource" and
              c["outcome"] == "allowed"]
    ok(tagged and tagged[0]["resource"] == ARN_PREFIX + "support-agent",
       "tag changes are audited with the resource's ARN")
    ok(any(c["operation"] == "ListTagsForResource" and
           c["outcome"] == "error" and
           c["error"] == "ResourceNotFoundException" for c in calls),
       "failed tag calls are audited too")
    ok(any(c["outcome"] == "denied" for c in calls),
       "denied calls are in the audit trail")
    ok(all("uid" in c["caller"] and "principal" in c["caller"]
           for c in calls if c["operation"] != "LoadPolicies"),
       "each record names the caller and its principal")
    loads = [c for c in calls if c["operation"] == "LoadPolicies"]
    ok(loads and loads[0]["caller"] == {"listener": "configuration",
                                        "event": "start"} and
       loads[0]["detail"]["principals"] == {
           "admin": ["AgentVaultFullAccess"],
           "agents": ["AgentVaultAgentAccess"]},
       "the principals and policies in force are audited at start", loads)
    ok(all(c.get("decision", "").startswith("Allow by AgentVault")
           for c in calls if c["outcome"] == "allowed" and
           c["operation"] != "LoadPolicies"),
       "allowed calls name the statement that allowed them")
    tampered = os.path.join(WORK, "audit-tampered.log")
    victim = len(lines) // 2
    lines[victim] = lines[victim].replace('"allowed"', '"allowex"', 1) \
        if '"allowed"' in lines[victim] else \
        lines[victim].replace('"seq":', '"seq": ', 1)
    with open(tampered, "w") as f:
        f.writelines(lines)
    r = subprocess.run([VERIFY, "--key", key, tampered], capture_output=True,
                       text=True)
    ok(r.returncode == 1 and ("line %d " % (victim + 1)) in r.stdout,
       "a tampered line is detected and pinpointed (line %d)" % (victim + 1),
       r.stdout)


def test_canary():
    hits = []
    for root, _, files in os.walk(WORK):
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as f:
                    if CANARY.encode() in f.read():
                        hits.append(path)
            except OSError:
                pass
    ok(not hits, "the canary secret is nowhere on disk in clear "
       "(database, WAL, logs, audit)", hits)


def test_customer_managed():
    """A customer's own token and key: refused when the key is unfit,
    used (and reported by GetTokenVault) when it is fit."""
    mod = os.environ["AV_TEST_MODULE"]
    pinfile = os.path.join(WORK, "customer.pin")
    with open(pinfile, "w") as f:
        f.write("customer-pin-1234\n")
    os.chmod(pinfile, 0o600)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label",
                    "customer", "--pin", "customer-pin-1234", "--so-pin",
                    "customer-so-5678"], capture_output=True, check=True)
    p11 = ["pkcs11-tool", "--module", mod, "--token-label", "customer",
           "--login", "--pin", "customer-pin-1234", "--keygen",
           "--key-type", "AES:32"]
    subprocess.run(p11 + ["--label", "cmk-good", "--sensitive", "--private",
                          "--usage-wrap"], capture_output=True, check=True)
    subprocess.run(p11 + ["--label", "cmk-bad", "--private",
                          "--usage-wrap"], capture_output=True, check=True)
    subprocess.run(["chown", "-R", "nobody", os.path.join(TOKDIR, "token",
                                                          "tokens")])
    block = """vault:
  kek_mode: customer-managed
  customer:
    module: {mod}
    token: "pkcs11:token=customer"
    pin: "file:{pin}"
    key: "pkcs11:object={key};type=secret-key"
"""
    bad = os.path.join(WORK, "cmk-bad.yaml")
    write_config(bad, block.format(mod=mod, pin=pinfile, key="cmk-bad"))
    r = subprocess.run(WRAP + [DAEMON, "-c", bad] +
                       (["--no-sandbox"] if NO_SANDBOX else []),
                       capture_output=True, text=True, timeout=120 * SLOW)
    ok(r.returncode == 1 and "the vault KEK is refused: the KEK is not "
       "sensitive" in r.stderr and "giving up" in r.stderr,
       "an unfit customer-managed KEK is refused with a clear message",
       r.stderr[-800:])
    good = os.path.join(WORK, "cmk-good.yaml")
    write_config(good, block.format(mod=mod, pin=pinfile, key="cmk-good"))
    # A vault of its own: data keys wrapped by the service KEK do not
    # open under the customer's (switching needs SetTokenVaultCMK, later).
    with open(good) as f:
        text = f.read().replace(os.path.join(WORK, "state"),
                                os.path.join(WORK, "state-cmk"))
    with open(good, "w") as f:
        f.write(text)
    d = Daemon(good)
    ok(d.wait_ready(), "the daemon serves with a customer-managed KEK")
    st, doc, _ = request("POST", "/identities/get-token-vault", {})
    ok(st == 200 and doc["kmsConfiguration"]["keyType"] ==
       "CustomerManagedKey" and "object=cmk-good" in
       doc["kmsConfiguration"]["kmsKeyArn"] and
       doc["hsm"]["token"] == "customer",
       "GetTokenVault reports the customer-managed KEK", doc)
    st, _, _ = request("POST", "/test/put-secret", {"name": "under-cmk",
                                                    "value": "x"})
    st2, doc, _ = request("POST", "/test/get-secret", {"name": "under-cmk"})
    ok(st == 200 and st2 == 200 and doc["value"] == "x",
       "secrets are sealed and opened under the customer's KEK")
    d.stop()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def openssl(*args):
    subprocess.run(["openssl"] + list(args), capture_output=True, check=True)


def rot_config(path, key_uri, ttl):
    """The rotation test's configuration: a state directory of its own,
    a token lifetime, and a token-signing key (None: the default).  Agent
    access tokens live shorter: the workload tokens' lifetime decides how
    long a retired key is kept (tests/oauth/test_sts.py has the other
    case)."""
    write_config(path, "tokens:\n  ttl_seconds: %d\n"
                 "agent_tokens:\n  ttl_seconds: 30\n" % ttl)
    with open(path) as f:
        text = f.read().replace(os.path.join(WORK, "state"),
                                os.path.join(WORK, "state-rot"))
    if key_uri:
        text = text.replace("  ca_cert:", "  token_signing_key: \"%s\"\n"
                            "  ca_cert:" % key_uri)
    with open(path, "w") as f:
        f.write(text)


def reload_worker(d):
    """SIGHUP, then wait for a new worker to serve."""
    before = d.worker_pid()
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 20 * SLOW
    while time.time() < deadline and d.worker_pid() in (before, None):
        time.sleep(0.1)
    return d.wait_ready() and d.worker_pid() not in (before, None)


def test_token_key_rotation():
    """hsm.token_signing_key pointed at a new key and reloaded: new tokens
    carry the new key's kid, the previous key's tokens keep working until
    they expire, rotating back works, and a retired key past its not_after
    is forgotten."""
    opts = ["--module", os.environ["AV_TEST_MODULE"], "--token",
            os.environ["AV_TEST_TOKEN"], "--pin", os.environ["AV_TEST_PIN"]]
    conf = os.path.join(WORK, "rot.yaml")
    db = os.path.join(WORK, "state-rot", "agentvault.db")

    def mint():
        st, doc = call("GetWorkloadAccessTokenForUserId",
                       {"workloadName": "rot-agent", "userId": "rot-user"},
                       sock_name="agent.sock")
        return doc.get("workloadAccessToken", "")

    def use(tok):
        return call("api-key", {"workloadIdentityToken": tok,
                                "resourceCredentialProviderName": "rot-key"},
                    sock_name="agent.sock")

    def kid(tok):
        return b64url_decode(tok.split(".")[1])[:8].hex().upper()

    inv = subprocess.run([CEREMONY, "inventory"] + opts, capture_output=True,
                         text=True).stdout
    m = re.search(r"^  agentvault-token-signing .*?public key SHA-256: "
                  r"([0-9A-F:]+)", inv, re.M | re.S)
    kid_a = m.group(1).replace(":", "")[:16] if m else "?"
    rot_config(conf, None, 60)
    d = Daemon(conf)
    ok(d.wait_ready(), "the daemon starts for the rotation test")
    call("CreateWorkloadIdentity", {"name": "rot-agent"})
    call("CreateApiKeyCredentialProvider", {"name": "rot-key",
                                            "apiKey": "rot-api-key"})
    ta = mint()
    ok(kid(ta) == kid_a, "a token carries its signing key's kid: the first "
       "8 bytes of the SHA-256 of the key's SPKI", (kid(ta), kid_a))

    r = subprocess.run([CEREMONY, "rotate-token-key"] + opts +
                       ["--label", "agentvault-token-signing-rot-b"],
                       capture_output=True, text=True)
    m = re.search(r'token_signing_key: "(.*)"', r.stdout)
    kid_b = re.search(r"^    kid: ([0-9A-F]{16})$", r.stdout, re.M)
    ok(r.returncode == 0 and m and kid_b, "agentvault-ceremony "
       "rotate-token-key makes a new key in the appliance's token",
       r.stdout + r.stderr)
    kid_b = kid_b.group(1) if kid_b else "?"
    subprocess.run(["chown", "-R", "nobody", os.path.join(TOKDIR, "token",
                                                          "tokens")])
    rot_config(conf, m.group(1) if m else "", 120)
    ok(reload_worker(d), "SIGHUP with the new key: a new worker serves")
    st, doc = use(ta)
    ok(st == 200 and doc.get("apiKey") == "rot-api-key",
       "a token of the previous key still works after the rotation", doc)
    tb = mint()
    ok(kid(tb) == kid_b and kid_b != kid_a,
       "new tokens carry the new key's kid", (kid(tb), kid_b))
    ok(use(tb)[0] == 200, "and work")
    ok("token-signing key kid %s; tokens of 1 previous key(s) still "
       "accepted" % kid_b in log_text(), "the worker logs the new kid")

    rot_config(conf, None, 60)
    t2 = int(time.time())
    ok(reload_worker(d), "SIGHUP back to the first key")
    t3 = int(time.time())
    tc = mint()
    ok(kid(tc) == kid_a and use(ta)[0] == 200 and use(tb)[0] == 200 and
       use(tc)[0] == 200, "rotating back: the first key signs again and "
       "tokens of both keys work")
    d.stop()
    con = sqlite3.connect(db)
    rows = dict((k, (a, n)) for k, a, n in con.execute(
        "SELECT hex(kid), max_age, not_after FROM token_keys"))
    con.close()
    b = rows.get(kid_b, (0, 0))
    ok(rows.get(kid_a) == (120, None) and b[0] == 180 and
       t2 + 180 <= b[1] <= t3 + 180, "the database keeps both public keys; "
       "the retired one until rotation + its lifetime (120 s) + 60 s", rows)

    # Let the retired key's not_after pass, as it would in 3 minutes.
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE token_keys SET not_after = ? WHERE hex(kid) = ?",
                    (int(time.time()) - 1, kid_b))
    con.close()
    d = Daemon(conf)
    ok(d.wait_ready(), "the daemon restarts")
    st, doc = use(tb)
    ok(st == 403 and doc.get("__type") == "AccessDeniedException" and
       doc.get("message") == "the workload access token is not valid",
       "a token of a retired key past its not_after (an unknown kid now) "
       "is AccessDeniedException", doc)
    ok(use(ta)[0] == 200 and use(tc)[0] == 200,
       "the current key's tokens still work")
    d.stop()
    con = sqlite3.connect(db)
    left = [k for (k,) in con.execute("SELECT hex(kid) FROM token_keys")]
    con.close()
    ok(left == [kid_a], "the expired key's record is deleted at start", left)


# The data, directory and control planes, each refused to a TCP caller
# without a client certificate.
TCP_NO_CERT_REFUSED = ("/identities/GetWorkloadAccessToken",
                       "/identities/api-key",
                       "/identities/ListWorkloadIdentities",
                       "/identities/get-token-vault",
                       "/identities/oauth2/token",
                       "/identities/CompleteResourceTokenAuth")


def test_tcp_mtls():
    """The optional TCP listener with client certificates (mTLS)."""
    d0 = os.path.join(WORK, "clients")
    os.makedirs(d0, exist_ok=True)
    ca, ca_key = os.path.join(d0, "ca.pem"), os.path.join(d0, "ca.key")
    cert, key = os.path.join(d0, "client.pem"), os.path.join(d0, "client.key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key, "-out",
            ca, "-subj", "/CN=Test clients CA", "-days", "1")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", cert + ".csr", "-subj",
            "/O=Agents/CN=remote-agent-1")
    openssl("x509", "-req", "-in", cert + ".csr", "-CA", ca, "-CAkey", ca_key,
            "-CAcreateserial", "-out", cert, "-days", "1")
    port = free_port()
    conf = os.path.join(WORK, "tcp.yaml")
    write_config(conf, "")
    with open(conf) as f:
        text = f.read()
    text = text.replace("hsm:\n", "listen:\n  tcp:\n    address: 127.0.0.1\n"
                        "    port: %d\n    client_ca: %s\n"
                        "    public_name: localhost\nhsm:\n" % (port, ca), 1)
    with open(conf, "w") as f:
        f.write(text)
    d = Daemon(conf)
    ok(d.wait_ready(), "the daemon serves with a TCP listener")

    def tcp_call(path, body, with_cert):
        ctx = ssl.create_default_context(cafile=os.path.join(TOKDIR, "ca.pem"))
        if with_cert:
            ctx.load_cert_chain(cert, key)
        raw = socket.create_connection(("127.0.0.1", port), 10 * SLOW)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        data = json.dumps(body).encode()
        s.sendall(("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                   "application/json\r\nContent-Length: %d\r\n\r\n" %
                   (path, len(data))).encode() + data)
        st, _, payload = read_response(s)
        s.close()
        return st, json.loads(payload)

    st, doc = call("CreateOauth2CredentialProvider", oauth2_body(
        "tcp-github", "GithubOauth2", "githubOauth2ProviderConfig"))
    ok(st == 200 and doc.get("callbackUrl") ==
       "https://localhost:%d/identities/oauth2/callback" % port,
       "with a TCP listener, OAuth2 providers name its callback URL "
       "(listen.tcp.public_name)", doc)
    st, doc = tcp_call("/identities/get-token-vault", {}, True)
    ok(st == 403 and doc["__type"] == "AccessDeniedException",
       "TCP callers with a client certificate reach the API; the control "
       "plane stays on the admin socket", doc)
    # Browsers reach the OAuth callback without a certificate: the
    # handshake asks for one but does not require it; the API does.
    for path in TCP_NO_CERT_REFUSED:
        st, doc = tcp_call(path, {}, False)
        ok(st == 403 and doc["__type"] == "AccessDeniedException",
           "a TCP caller without a certificate is refused %s" % path, doc)
    # The OAuth callback is the one thing it reaches: a browser's page.
    ctx = ssl.create_default_context(cafile=os.path.join(TOKDIR, "ca.pem"))
    raw = socket.create_connection(("127.0.0.1", port), 10 * SLOW)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(b"GET /identities/oauth2/callback?code=c&state=unknown "
              b"HTTP/1.1\r\nHost: localhost\r\n\r\n")
    st, hdr, page = read_response(s)
    s.close()
    ok(st == 400 and hdr.get("content-type", "").startswith("text/html") and
       hdr.get("cache-control") == "no-store" and
       hdr.get("referrer-policy") == "no-referrer" and
       hdr.get("x-content-type-options") == "nosniff" and
       "default-src 'none'" in hdr.get("content-security-policy", "") and
       b"not valid" in page,
       "the OAuth callback answers a browser without a certificate: an "
       "unknown state gets an HTML page (no-store, no-referrer, nosniff, "
       "CSP)", (st, hdr, page[:200]))
    try:
        ctx = ssl.create_default_context(cafile=os.path.join(TOKDIR,
                                                             "ca.pem"))
        bad_key = os.path.join(d0, "self.key")
        bad = os.path.join(d0, "self.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", bad_key,
                "-out", bad, "-subj", "/O=Agents/CN=remote-agent-1",
                "-days", "1")
        ctx.load_cert_chain(bad, bad_key)
        raw = socket.create_connection(("127.0.0.1", port), 10 * SLOW)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        s.sendall(b"GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
        read_response(s)
        s.close()
        refused = False
    except (ssl.SSLError, OSError):
        refused = True
    ok(refused, "a TCP client whose certificate does not verify (self-"
       "signed, a known subject) is refused at the handshake")
    d.stop()
    with open(os.path.join(WORK, "audit.log")) as f:
        subjects = [l for l in f if "remote-agent-1" in l]
    ok(subjects, "the audit record names the certificate subject")


SOCKET_GID = 4200       # the sockets' group in test_services; no principal's
RUNTIME_UID, GATEWAY_UID, AGENT_UID = 4242, 4343, 65534
LINKED = ("WorkloadIdentity is linked to a service and cannot retrieve an "
          "access token by the caller.")


def call_as(uid, op, body, sock_name="agent.sock"):
    """call() from a child process running as uid (group SOCKET_GID): a
    principal other than this root process."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(SOCKET_GID)
            os.setuid(uid)
            try:
                out = call(op, body, sock_name)
            except Exception as e:
                out = (0, {"__type": "client error", "message": repr(e)})
            with os.fdopen(w, "w") as f:
                json.dump(out, f)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    os.waitpid(pid, 0)
    try:
        st, doc = json.loads(data)
    except ValueError:
        st, doc = 0, {"__type": "no answer from the child"}
    return st, doc


def test_services():
    """Service-managed workload identities: a runtime and a gateway,
    callers with their own uids; no self-extraction of tokens."""
    conf = os.path.join(WORK, "services.yaml")
    write_config(conf, more_principals="""  - {name: runtime-a, kind: runtime, uids: [%d],
     policies: [AgentVaultServiceAccess]}
  - {name: gateway-b, kind: gateway, uids: [%d],
     policies: [AgentVaultServiceAccess]}
""" % (RUNTIME_UID, GATEWAY_UID))
    with open(conf) as f:
        text = f.read().replace(os.path.join(WORK, "state"),
                                os.path.join(WORK, "state-svc"))
    text = text.replace("hsm:\n", "listen:\n"
                        "  admin_socket: {mode: \"0660\", group: %d}\n"
                        "  agent_socket: {mode: \"0660\", group: %d}\n"
                        "hsm:\n" % (SOCKET_GID, SOCKET_GID), 1)
    with open(conf, "w") as f:
        f.write(text)
    # The daemon made run_dir 0755 despite its umask (077): the socket
    # modes decide who connects.
    ok(os.stat(os.path.join(WORK, "run")).st_mode & 0o777 == 0o755,
       "the daemon creates run_dir 0755")
    d = Daemon(conf)
    if not ok(d.wait_ready(), "the daemon serves with two services"):
        d.stop()
        return

    def rt(op, body, sock_name="agent.sock"):
        return call_as(RUNTIME_UID, op, body, sock_name)

    def gw(op, body, sock_name="agent.sock"):
        return call_as(GATEWAY_UID, op, body, sock_name)

    def agent(op, body):
        return call_as(AGENT_UID, op, body)

    st, doc = rt("CreateWorkloadIdentity", {
        "name": "rt-agent-1",
        "allowedResourceOauth2ReturnUrls": ["https://rt.example/cb"]})
    ok(st == 200 and doc.get("managedBy") == "runtime-a" and
       doc["workloadIdentityArn"] == ARN_PREFIX + "rt-agent-1",
       "a service creates an identity managed by it (agent socket)", doc)
    st, doc = rt("CreateWorkloadIdentity", {"name": "rt-agent-2"},
                 "admin.sock")
    ok(st == 200 and doc.get("managedBy") == "runtime-a",
       "... and on the admin socket", doc)
    st, doc = gw("CreateWorkloadIdentity", {"name": "gw-agent"})
    ok(st == 200 and doc.get("managedBy") == "gateway-b",
       "another service creates one of its own", doc)
    st, doc = call("CreateWorkloadIdentity", {"name": "plain-agent"})
    ok(st == 200 and "managedBy" not in doc,
       "an identity the admin creates is user-created (no managedBy)", doc)

    st, doc = rt("GetWorkloadAccessToken", {"workloadName": "rt-agent-1"})
    tok = doc.get("workloadAccessToken", "")
    ok(st == 200 and tok.startswith("avwat1."),
       "the managing service mints its identity's token", doc)
    st, doc = rt("GetWorkloadAccessTokenForUserId",
                 {"workloadName": "rt-agent-1", "userId": "u-1"},
                 "admin.sock")
    ok(st == 200 and "workloadAccessToken" in doc,
       "... and a token for a user, on either socket", doc)
    call("CreateApiKeyCredentialProvider", {"name": "svc-key",
                                            "apiKey": "svc-key-value"})
    st, doc = agent("api-key", {"workloadIdentityToken": tok,
                                "resourceCredentialProviderName": "svc-key"})
    ok(st == 200 and doc.get("apiKey") == "svc-key-value",
       "the agent uses the token its service minted (GetResourceApiKey)",
       doc)
    refusals = [
        ("the admin", lambda op, b: call(op, b)),
        ("the admin on the agent socket",
         lambda op, b: call(op, b, "agent.sock")),
        ("an agent", agent),
        ("another service", gw),
    ]
    for who, fn in refusals:
        for op, body in (("GetWorkloadAccessToken",
                          {"workloadName": "rt-agent-1"}),
                         ("GetWorkloadAccessTokenForUserId",
                          {"workloadName": "rt-agent-1", "userId": "u-1"}),
                         ("GetWorkloadAccessTokenForJWT",
                          {"workloadName": "rt-agent-1",
                           "userToken": "a.b.c"})):
            st, doc = fn(op, body)
            ok(st == 403 and doc["__type"] == "AccessDeniedException" and
               doc["message"] == LINKED and "workloadAccessToken" not in doc,
               "%s: %s for a managed identity is refused with the seed's "
               "message" % (who, op), doc)
    st, doc = rt("GetWorkloadAccessToken", {"workloadName": "plain-agent"})
    ok(st == 200 and "workloadAccessToken" in doc,
       "a service mints tokens for user-created identities too", doc)
    st, doc = rt("GetWorkloadAccessTokenForJWT",
                 {"workloadName": "rt-agent-1", "userToken": "a.b.c"})
    ok(st == 400 and "no authorizerConfiguration" in doc.get("message", ""),
       "GetWorkloadAccessTokenForJWT: the managing service passes the rule "
       "(then its identity has no authorizer)", doc)

    st, doc = rt("GetWorkloadIdentity", {"name": "rt-agent-1"})
    ok(st == 200 and doc.get("managedBy") == "runtime-a" and
       doc["createdTime"] > 0, "a service gets its identity", doc)
    st, doc = rt("UpdateWorkloadIdentity", {
        "name": "rt-agent-1",
        "allowedResourceOauth2ReturnUrls": ["https://rt.example/2"]})
    ok(st == 200 and doc.get("managedBy") == "runtime-a" and
       doc["allowedResourceOauth2ReturnUrls"] == ["https://rt.example/2"],
       "a service updates its identity", doc)
    for other in ("gw-agent", "plain-agent"):
        for op, body in (("GetWorkloadIdentity", {"name": other}),
                         ("UpdateWorkloadIdentity",
                          {"name": other, "allowedResourceOauth2ReturnUrls":
                           ["https://evil.example/"]}),
                         ("DeleteWorkloadIdentity", {"name": other})):
            st, doc = rt(op, body)
            ok(st == 403 and doc["__type"] == "AccessDeniedException",
               "a service cannot %s %s, which it does not manage" %
               (op, other), doc)
    st, doc = call("GetWorkloadIdentity", {"name": "gw-agent"})
    ok(st == 200 and doc["allowedResourceOauth2ReturnUrls"] == [] and
       doc.get("managedBy") == "gateway-b",
       "... which is unchanged (the admin sees it, and who manages it)",
       doc)
    st, doc = rt("GetWorkloadIdentity", {"name": "no-such-agent"})
    ok(st == 404, "a missing identity is ResourceNotFoundException for a "
       "service too", doc)
    st, doc = rt("ListWorkloadIdentities", {})
    ok(st == 200 and [(w["name"], w.get("managedBy"))
                      for w in doc["workloadIdentities"]] ==
       [("rt-agent-1", "runtime-a"), ("rt-agent-2", "runtime-a")],
       "a service lists only its identities", doc)
    st, doc = call("ListWorkloadIdentities", {})
    ok(st == 200 and [(w["name"], w.get("managedBy"))
                      for w in doc["workloadIdentities"]] ==
       [("gw-agent", "gateway-b"), ("plain-agent", None),
        ("rt-agent-1", "runtime-a"), ("rt-agent-2", "runtime-a")],
       "the admin lists every identity, with managedBy where set", doc)
    st, doc = rt("DeleteWorkloadIdentity", {"name": "rt-agent-2"})
    ok(st == 200 and rt("GetWorkloadIdentity", {"name": "rt-agent-2"})[0]
       == 404, "a service deletes its identity", doc)
    for op, body in (("get-token-vault", {}),
                     ("CreateApiKeyCredentialProvider",
                      {"name": "rt-key", "apiKey": "x"})):
        st, doc = rt(op, body, "admin.sock")
        ok(st == 403, "a service has no other control-plane operation "
           "(%s)" % op, doc)
    st, doc = agent("CreateWorkloadIdentity", {"name": "agent-made"})
    ok(st == 403, "an agent does not manage the directory", doc)
    st, doc = call("DeleteWorkloadIdentity", {"name": "rt-agent-1"})
    ok(st == 200 and call("GetWorkloadIdentity",
                          {"name": "rt-agent-1"})[0] == 404,
       "the admin deletes a managed identity (the operator has the last "
       "word)", doc)
    st, doc = agent("api-key", {"workloadIdentityToken": tok,
                                "resourceCredentialProviderName": "svc-key"})
    ok(st == 403, "and its tokens die with it", doc)
    d.stop()
    with open(os.path.join(WORK, "audit.log")) as f:
        calls = [json.loads(l) for l in f if '"type":"call"' in l]
    ok(any(c["operation"] == "CreateWorkloadIdentity" and
           c["caller"].get("principal") == "runtime-a" and
           c["caller"].get("uid") == RUNTIME_UID for c in calls),
       "the audit trail names the service that called")
    ok(any(c["operation"] == "GetWorkloadAccessToken" and
           c["outcome"] == "denied" and c["resource"] == ARN_PREFIX +
           "rt-agent-1" and c["caller"].get("principal") == "gateway-b"
           for c in calls), "refused token requests are audited as denied")

    base = os.path.join(WORK, "services-bad.yaml")
    for what, block, want in (
            ("a duplicate principal name",
             "  - {name: a, kind: runtime, uids: [4242]}\n"
             "  - {name: a, kind: gateway, uids: [4343]}\n",
             "principals[3].name: 'a' is already the name of principals[2]"),
            ("an id in two principals",
             "  - {name: a, kind: runtime, gids: [4242]}\n"
             "  - {name: b, kind: gateway, gids: [4242]}\n",
             "principals[3].gids: gid 4242 is also in principals[2]"),
            ("an id of a service and of the agents",
             "  - {name: a, kind: runtime, uids: [65534]}\n",
             "principals[2].uids: uid 65534 is also in principals[1]"),
            ("an unknown kind",
             "  - {name: a, kind: lambda, uids: [4242]}\n",
             "principals[2].kind: expected one of: caller, runtime, "
             "gateway"),
            ("an unknown policy",
             "  - {name: a, uids: [4242], policies: [NoSuchPolicy]}\n",
             "principals[2] (a): policy NoSuchPolicy does not exist")):
        write_config(base, more_principals=block)
        r = subprocess.run([DAEMON, "-c", base, "--check-config"],
                           capture_output=True, text=True)
        ok(r.returncode == 1 and want in r.stderr,
           "%s is a configuration error" % what, r.stderr)


def pcall(op, body, sock_name="admin.sock", uid=None):
    """A policy or principal operation, as root (the admin) or as uid."""
    path = ("/principals/" if op in ("GetPrincipal", "ListPrincipals")
            else "/policies/") + op
    if uid is not None:
        return call_as(uid, path, body, sock_name)
    return call(path, body, sock_name)


POLICY_ARN = "arn:aws:bedrock-agentcore:us-east-1:000000000000:policy/"
PRINCIPAL_ARN = "arn:aws:bedrock-agentcore:us-east-1:000000000000:principal/"
KEY_ARN = ("arn:aws:bedrock-agentcore:us-east-1:000000000000:token-vault/"
           "default/apikeycredentialprovider/")
SIM_UID, OPS_UID = 4545, 4646
FILE_POLICY = """# A file of policy.dir: read-only through the API.
Version: "2012-10-17"
Statement:
  - Sid: ReadVault
    Effect: Allow
    Action: bedrock-agentcore:GetTokenVault
    Resource: "*"
"""
DENY_KEY = """# Agents may not read the pol-key provider.
Version: "2012-10-17"
Statement:
  - Sid: NoPolKey
    Effect: Deny
    Action: bedrock-agentcore:GetResourceApiKey
    Resource: %s%s
"""


def policy_config():
    """A configuration of its own (state, sockets the test uids reach), a
    policy.dir with one file, and principals sim (tenant acme) and ops
    (the file's policy attached by the configuration)."""
    pdir = os.path.join(WORK, "policies")
    shutil.rmtree(pdir, ignore_errors=True)
    os.makedirs(pdir)
    os.chmod(pdir, 0o755)
    with open(os.path.join(pdir, "vault-reader.yaml"), "w") as f:
        f.write(FILE_POLICY)
    os.chmod(os.path.join(pdir, "vault-reader.yaml"), 0o644)
    with open(os.path.join(pdir, "README"), "w") as f:
        f.write("not a policy: ignored\n")
    conf = os.path.join(WORK, "policy.yaml")
    write_config(conf, "policy:\n  dir: %s\n" % pdir, more_principals="""\
  - {name: sim, uids: [%d], tags: {tenant: acme}}
  - {name: ops, uids: [%d], policies: [vault-reader]}
""" % (SIM_UID, OPS_UID))
    with open(conf) as f:
        text = f.read().replace(os.path.join(WORK, "state"),
                                os.path.join(WORK, "state-pol"))
    text = text.replace("hsm:\n", "listen:\n"
                        "  admin_socket: {mode: \"0660\", group: %d}\n"
                        "  agent_socket: {mode: \"0660\", group: %d}\n"
                        "hsm:\n" % (SOCKET_GID, SOCKET_GID), 1)
    with open(conf, "w") as f:
        f.write(text)
    return conf, pdir


def test_policy_api():
    """The policy admin API: policies from the three sources, attachments
    changing the next decision, persistence, errors, audit."""
    conf, pdir = policy_config()
    d = Daemon(conf)
    if not ok(d.wait_ready(), "the daemon serves with a policy.dir"):
        d.stop()
        return

    def agent(op, body):
        return call_as(AGENT_UID, op, body)

    # Principals, from the configuration.
    st, doc = pcall("ListPrincipals", {})
    ok(st == 200 and doc["principals"] == [
        {"name": n, "principalArn": PRINCIPAL_ARN + n, "kind": "caller"}
        for n in ("admin", "agents", "sim", "ops")],
       "ListPrincipals lists the configuration's principals", doc)
    st, doc = pcall("ListPrincipals", {"maxResults": 5})
    ok(st == 400, "ListPrincipals takes no fields", doc)
    st, doc = pcall("GetPrincipal", {"name": "agents"})
    ok(st == 200 and doc == {
        "name": "agents", "principalArn": PRINCIPAL_ARN + "agents",
        "kind": "caller", "uids": [65534], "gids": [], "subjects": [],
        "tags": {}, "policies": [{"name": "AgentVaultAgentAccess",
                                  "attachedBy": "configuration"}]},
       "GetPrincipal describes a principal", doc)
    st, doc = pcall("GetPrincipal", {"name": "sim"})
    ok(st == 200 and doc["tags"] == {"tenant": "acme"} and
       doc["uids"] == [SIM_UID] and doc["policies"] == [],
       "... with its tags", doc)
    st, doc = pcall("GetPrincipal", {"name": "nobody-here"})
    ok(st == 404 and doc["__type"] == "ResourceNotFoundException",
       "GetPrincipal of an unknown principal is ResourceNotFoundException",
       doc)
    st, doc = pcall("GetPrincipal", {"name": "bad name"})
    ok(st == 400 and doc["__type"] == "ValidationException",
       "a malformed principal name is ValidationException", doc)

    # Built-in and file policies.
    builtins = ["AgentVaultAgentAccess", "AgentVaultFullAccess",
                "AgentVaultReadOnlyAccess", "AgentVaultServiceAccess"]
    st, doc = pcall("ListPolicies", {})
    ok(st == 200 and doc["policies"] == [
        {"name": n, "policyArn": POLICY_ARN + n, "source": "built-in"}
        for n in builtins] + [{"name": "vault-reader", "policyArn":
                               POLICY_ARN + "vault-reader",
                               "source": "file"}] and
       "nextToken" not in doc,
       "ListPolicies lists the built-in policies and the files", doc)
    st, doc = pcall("GetPolicy", {"name": "AgentVaultFullAccess"})
    ok(st == 200 and doc["source"] == "built-in" and
       "Sid: FullAccess" in doc["document"] and
       doc["attachedTo"] == ["admin"] and "createdTime" not in doc and
       "path" not in doc, "GetPolicy shows a built-in policy's document "
       "and where it is attached", doc)
    st, doc = pcall("GetPolicy", {"name": "vault-reader"})
    ok(st == 200 and doc["source"] == "file" and
       doc["path"] == os.path.join(pdir, "vault-reader.yaml") and
       doc["document"] == FILE_POLICY and doc["attachedTo"] == ["ops"] and
       doc["policyArn"] == POLICY_ARN + "vault-reader",
       "GetPolicy shows a file policy, its path and text", doc)
    st, doc = pcall("GetPolicy", {"name": "no-such-policy"})
    ok(st == 404 and doc["__type"] == "ResourceNotFoundException",
       "GetPolicy of an unknown policy is ResourceNotFoundException", doc)
    for name, want in (("AgentVaultFullAccess", "is built in"),
                       ("vault-reader", "is the file %s/vault-reader.yaml: "
                        "edit the file and reload" % pdir)):
        st, doc = pcall("UpdatePolicy", {"name": name,
                                         "document": FILE_POLICY})
        ok(st == 400 and doc["__type"] == "ValidationException" and
           doc["message"] == "policy %s %s" % (name, want),
           "UpdatePolicy refuses %s: %s" % (name, want), doc)
        st, doc = pcall("DeletePolicy", {"name": name})
        ok(st == 400 and doc["message"] == "policy %s %s" % (name, want),
           "DeletePolicy refuses it too", doc)
        st, doc = pcall("CreatePolicy", {"name": name,
                                         "document": FILE_POLICY})
        ok(st == 409 and doc["__type"] == "ConflictException",
           "CreatePolicy of the name %s is ConflictException" % name, doc)

    # Documents are checked; errors name the policy, line and column.
    bad = 'Version: "2012-10-17"\nStatement:\n  - Effect: Permit\n' \
          '    Action: "*"\n    Resource: "*"\n'
    st, doc = pcall("CreatePolicy", {"name": "bad-doc", "document": bad})
    ok(st == 400 and doc["__type"] == "ValidationException" and
       doc["message"] == "bad-doc:3:13: Effect must be Allow or Deny",
       "a document that does not parse is refused with its line and "
       "column", doc)
    st, doc = pcall("CreatePolicy", {"name": "bad-json",
                                     "document": '{"Version": "2012-10-17",'
                                     '\n "Statement": [}'})
    ok(st == 400 and re.match(r"^bad-json:2:\d+: ", doc["message"]),
       "... JSON too", doc)
    for body, what in (
            ({"name": "x y", "document": FILE_POLICY}, "a bad name"),
            ({"name": "a" * 129, "document": FILE_POLICY}, "a long name"),
            ({"name": "nodoc"}, "no document"),
            ({"name": "x", "document": FILE_POLICY, "tags": {}},
             "an unknown field"),
            ({"name": "x", "document": FILE_POLICY,
              "description": "d" * 513}, "a long description"),
            ({"name": "x", "document": FILE_POLICY,
              "description": "a\nb"}, "a control character")):
        st, doc = pcall("CreatePolicy", body)
        ok(st == 400 and doc["__type"] == "ValidationException",
           "CreatePolicy refuses %s" % what, doc)
    st, doc = pcall("ListPolicies", {})
    ok(st == 200 and len(doc["policies"]) == 5,
       "refused documents are not stored", doc)

    # A Deny attached to the agents decides their next call.
    call("CreateWorkloadIdentity", {"name": "pol-agent"})
    for key in ("pol-key", "other-key"):
        call("CreateApiKeyCredentialProvider", {"name": key,
                                                "apiKey": key + "-value"})
    st, doc = agent("GetWorkloadAccessTokenForUserId",
                    {"workloadName": "pol-agent", "userId": "u-1"})
    tok = doc.get("workloadAccessToken", "")
    ok(st == 200 and tok, "an agent mints a token", doc)

    def vend(key="pol-key"):
        return agent("api-key", {"workloadIdentityToken": tok,
                                 "resourceCredentialProviderName": key})

    st, doc = vend()
    ok(st == 200 and doc.get("apiKey") == "pol-key-value",
       "the agent reads pol-key (AgentVaultAgentAccess)", doc)
    deny = DENY_KEY % (KEY_ARN, "pol-key")
    st, doc = pcall("CreatePolicy", {"name": "deny-pol-key",
                                     "document": deny,
                                     "description": "no pol-key for agents"})
    ok(st == 200 and doc == {
        "name": "deny-pol-key", "policyArn": POLICY_ARN + "deny-pol-key",
        "source": "api", "description": "no pol-key for agents",
        "createdTime": doc.get("createdTime"),
        "lastUpdatedTime": doc.get("createdTime")} and
       doc["createdTime"] > 0, "CreatePolicy stores a policy", doc)
    created = doc.get("createdTime", 0)
    st, doc = pcall("CreatePolicy", {"name": "deny-pol-key",
                                     "document": deny})
    ok(st == 409 and doc["__type"] == "ConflictException",
       "creating it again is ConflictException", doc)
    st, doc = pcall("GetPolicy", {"name": "deny-pol-key"})
    ok(st == 200 and doc["document"] == deny and doc["source"] == "api" and
       doc["attachedTo"] == [] and doc["createdTime"] == created,
       "GetPolicy returns the document as given", doc)
    ok(vend()[0] == 200, "a policy attached to nobody changes nothing")
    st, doc = pcall("AttachPrincipalPolicy", {"principalName": "agents",
                                              "policyName": "deny-pol-key"})
    ok(st == 200 and doc == {}, "AttachPrincipalPolicy attaches", doc)
    st, doc = vend()
    ok(st == 403 and doc["__type"] == "AccessDeniedException" and
       "apiKey" not in doc,
       "the agent's next GetResourceApiKey is denied by the attached Deny",
       doc)
    ok(vend("other-key")[0] == 200, "... for that provider only")
    st, doc = pcall("GetPrincipal", {"name": "agents"})
    ok(st == 200 and doc["policies"] == [
        {"name": "AgentVaultAgentAccess", "attachedBy": "configuration"},
        {"name": "deny-pol-key", "attachedBy": "api"}],
       "GetPrincipal shows who attached each policy", doc)
    st, doc = pcall("GetPolicy", {"name": "deny-pol-key"})
    ok(st == 200 and doc["attachedTo"] == ["agents"],
       "GetPolicy shows the attachment", doc)
    for body, code, what in (
            ({"principalName": "agents", "policyName": "deny-pol-key"},
             409, "an attached policy again"),
            ({"principalName": "ops", "policyName": "vault-reader"},
             409, "a policy the configuration attaches"),
            ({"principalName": "agents", "policyName": "no-such"},
             404, "an unknown policy"),
            ({"principalName": "nobody-here", "policyName": "deny-pol-key"},
             404, "an unknown principal"),
            ({"principalName": "agents"}, 400, "no policy name")):
        st, doc = pcall("AttachPrincipalPolicy", body)
        ok(st == code, "AttachPrincipalPolicy: %s is %d" % (what, code),
           doc)
    st, doc = pcall("DeletePolicy", {"name": "deny-pol-key"})
    ok(st == 409 and doc["__type"] == "ConflictException" and
       "agents" in doc["message"],
       "DeletePolicy of an attached policy is ConflictException", doc)

    # UpdatePolicy takes effect at once, keeps the description.
    time.sleep(1.1)
    other = DENY_KEY % (KEY_ARN, "other-key")
    st, doc = pcall("UpdatePolicy", {"name": "deny-pol-key",
                                     "document": other})
    ok(st == 200 and doc["description"] == "no pol-key for agents" and
       doc["createdTime"] == created and doc["lastUpdatedTime"] > created,
       "UpdatePolicy replaces the document, keeps the description", doc)
    ok(vend()[0] == 200 and vend("other-key")[0] == 403,
       "the updated policy decides the next call")
    st, doc = pcall("UpdatePolicy", {"name": "deny-pol-key",
                                     "document": bad})
    ok(st == 400 and doc["message"].startswith("deny-pol-key:3:13: "),
       "UpdatePolicy refuses a document that does not parse", doc)
    st, doc = pcall("UpdatePolicy", {"name": "no-such", "document": deny})
    ok(st == 404, "UpdatePolicy of an unknown policy is "
       "ResourceNotFoundException", doc)
    st, doc = pcall("UpdatePolicy", {"name": "deny-pol-key",
                                     "document": deny, "description": ""})
    ok(st == 200 and doc["description"] == "" and vend()[0] == 403,
       "... and back, with an empty description", doc)

    # Stored: a restart keeps the policy and the attachment.
    d.stop()
    d = Daemon(conf)
    ok(d.wait_ready(), "the daemon restarts")
    st, doc = vend()
    ok(st == 403 and vend("other-key")[0] == 200,
       "the stored policy and attachment survive a restart", doc)
    st, doc = pcall("GetPolicy", {"name": "deny-pol-key"})
    ok(st == 200 and doc["document"] == deny and
       doc["attachedTo"] == ["agents"], "... GetPolicy too", doc)

    # Detach: allowed again.
    st, doc = pcall("DetachPrincipalPolicy", {"principalName": "agents",
                                              "policyName": "deny-pol-key"})
    ok(st == 200 and doc == {}, "DetachPrincipalPolicy detaches", doc)
    st, doc = vend()
    ok(st == 200 and doc.get("apiKey") == "pol-key-value",
       "the agent's next GetResourceApiKey is allowed again", doc)
    st, doc = pcall("DetachPrincipalPolicy", {"principalName": "agents",
                                              "policyName": "deny-pol-key"})
    ok(st == 404 and doc["__type"] == "ResourceNotFoundException",
       "detaching it again is ResourceNotFoundException", doc)
    st, doc = pcall("DetachPrincipalPolicy", {"principalName": "ops",
                                              "policyName": "vault-reader"})
    ok(st == 400 and doc["__type"] == "ValidationException" and
       "edit the configuration" in doc["message"],
       "a policy the configuration attaches is not detached through the "
       "API", doc)

    # Who may manage policies: the policies say, on the admin socket.
    st, doc = pcall("ListPolicies", {}, uid=AGENT_UID)
    ok(st == 403 and doc["__type"] == "AccessDeniedException",
       "an agent may not list policies (AgentVaultAgentAccess)", doc)
    st, doc = pcall("CreatePolicy", {"name": "agent-made",
                                     "document": FILE_POLICY}, uid=OPS_UID)
    ok(st == 403, "nor may a principal whose policies do not allow it",
       doc)
    st, doc = pcall("ListPolicies", {}, "agent.sock")
    ok(st == 403, "the policy API is served on the admin socket only", doc)

    # A file policy attached through the API; paging.
    st, doc = pcall("AttachPrincipalPolicy", {"principalName": "sim",
                                              "policyName": "vault-reader"})
    ok(st == 200, "a file policy is attached through the API", doc)
    st, doc = pcall("SimulatePrincipalPolicy", {
        "principalName": "sim", "action": "GetTokenVault",
        "resource": "*"})
    ok(st == 200 and doc["decision"] == "Allow" and
       doc["matchedStatement"] == {"policy": "vault-reader",
                                   "sid": "ReadVault", "index": 0},
       "... and decides", doc)
    pcall("DetachPrincipalPolicy", {"principalName": "sim",
                                    "policyName": "vault-reader"})
    names, token, pages = [], None, 0
    while pages < 10:
        body = {"maxResults": 2}
        if token:
            body["nextToken"] = token
        st, doc = pcall("ListPolicies", body)
        if st != 200:
            break
        pages += 1
        names += [(p["name"], p["source"]) for p in doc["policies"]]
        token = doc.get("nextToken")
        if not token:
            break
    ok(names == [(n, "built-in") for n in builtins] +
       [("deny-pol-key", "api"), ("vault-reader", "file")] and pages == 3,
       "ListPolicies pages through every source in name order", names)
    st, doc = pcall("ListPolicies", {"maxResults": 21})
    ok(st == 400, "maxResults is 1 to 20", doc)

    st, doc = pcall("DeletePolicy", {"name": "deny-pol-key"})
    ok(st == 200 and doc == {}, "DeletePolicy deletes", doc)
    st, doc = pcall("GetPolicy", {"name": "deny-pol-key"})
    ok(st == 404, "a deleted policy is gone", doc)
    st, doc = pcall("DeletePolicy", {"name": "deny-pol-key"})
    ok(st == 404, "deleting it again is ResourceNotFoundException", doc)

    test_simulate()

    # Quotas: 100 stored policies, 16 attached through the API.
    st, doc = pcall("ListPolicies", {"maxResults": 20})
    stored = 3      # the simulation's
    made = []
    for i in range(100 - stored):
        made.append("q%03d" % i)
        pcall("CreatePolicy", {"name": made[-1], "document": FILE_POLICY})
    st, doc = pcall("CreatePolicy", {"name": "one-too-many",
                                     "document": FILE_POLICY})
    ok(st == 402 and doc["__type"] == "ServiceQuotaExceededException",
       "the 101st stored policy is ServiceQuotaExceededException", doc)
    for name in made[:16]:
        pcall("AttachPrincipalPolicy", {"principalName": "ops",
                                        "policyName": name})
    st, doc = pcall("AttachPrincipalPolicy", {"principalName": "ops",
                                              "policyName": made[16]})
    ok(st == 402 and doc["__type"] == "ServiceQuotaExceededException",
       "a 17th attachment through the API is "
       "ServiceQuotaExceededException", doc)
    st, doc = pcall("GetPrincipal", {"name": "ops"})
    ok(st == 200 and len(doc["policies"]) == 17,
       "... the configuration's attachment does not count", doc)
    d.stop()

    with open(os.path.join(WORK, "audit.log")) as f:
        calls = [json.loads(l) for l in f if '"type":"call"' in l]
    for op, res in (("CreatePolicy", POLICY_ARN + "deny-pol-key"),
                    ("UpdatePolicy", POLICY_ARN + "deny-pol-key"),
                    ("DeletePolicy", POLICY_ARN + "deny-pol-key"),
                    ("AttachPrincipalPolicy", PRINCIPAL_ARN + "agents"),
                    ("DetachPrincipalPolicy", PRINCIPAL_ARN + "agents")):
        mine = [c for c in calls if c["operation"] == op and
                c["resource"] == res]
        ok(any(c["outcome"] == "allowed" and c["decision"] ==
               "Allow by AgentVaultFullAccess statement FullAccess" and
               c["caller"]["principal"] == "admin" for c in mine) and
           any(c["outcome"] == "error" and c.get("error") for c in mine),
           "%s is audited: its resource, the decision, failures too" % op,
           mine[-3:])
    ok(any(c["operation"] == "CreatePolicy" and c["outcome"] == "error" and
           c["error"] == "ValidationException" and
           c["resource"] == POLICY_ARN + "bad-doc" for c in calls),
       "a refused document is audited")
    ok(any(c["operation"] == "GetResourceApiKey" and
           c["outcome"] == "denied" and c["resource"] == KEY_ARN + "pol-key"
           and c["caller"].get("principal") == "agents" and
           c.get("decision") == "ExplicitDeny by deny-pol-key statement "
           "NoPolKey" for c in calls),
       "the denied call's audit record names the policy and statement")
    ok(any(c["operation"] == "ListPolicies" and c["outcome"] == "denied" and
           c["resource"] == POLICY_ARN.rstrip("/") and
           c.get("decision") == "ImplicitDeny (no statement allows it)"
           for c in calls),
       "a denied policy call is audited with its decision")
    ok(any(c["operation"] == "SimulatePrincipalPolicy" and
           c["resource"] == PRINCIPAL_ARN + "sim" for c in calls),
       "simulations are audited")


def test_simulate():
    """SimulatePrincipalPolicy with the seed's three example policies,
    created through the API and attached to the principal sim
    (tenant=acme)."""
    ex = os.path.join(TOP, "policy", "examples")
    for name, f in (("tenant-abac", "tenant-abac.yaml"),
                    ("one-workload", "one-workload.yaml"),
                    ("deny-provider", "deny-provider.json")):
        with open(os.path.join(ex, f)) as fh:
            st, doc = pcall("CreatePolicy", {"name": name,
                                             "document": fh.read()})
        ok(st == 200, "the seed's %s is created through the API" % f, doc)
    # tenant-abac first: the others would allow vending before it.
    st, doc = pcall("AttachPrincipalPolicy", {"principalName": "sim",
                                              "policyName": "tenant-abac"})
    ok(st == 200, "tenant-abac is attached to sim", doc)
    for key, tenant in (("acme-key", "acme"), ("globex-key", "globex")):
        call("CreateApiKeyCredentialProvider", {
            "name": key, "apiKey": "x", "tags": {"tenant": tenant}})

    def sim(action, resource, context=None, principal="sim"):
        body = {"action": action, "resource": resource}
        if principal:
            body["principalName"] = principal
        if context is not None:
            body["context"] = context
        return pcall("SimulatePrincipalPolicy", body)

    def decided(doc, decision, policy=None, sid=None, index=None):
        if doc.get("decision") != decision:
            return False
        if policy is None:
            return "matchedStatement" not in doc
        return doc.get("matchedStatement") == {"policy": policy, "sid": sid,
                                               "index": index}

    st, doc = sim("GetResourceApiKey", KEY_ARN + "acme-key")
    ok(st == 200 and decided(doc, "Allow", "tenant-abac", "SameTenant", 0)
       and doc["principalName"] == "sim" and
       doc["action"] == "bedrock-agentcore:GetResourceApiKey" and
       doc["resource"] == KEY_ARN + "acme-key" and
       doc["explanation"] == "Allow by tenant-abac statement SameTenant",
       "simulate: the principal's tag and the provider's tag match: Allow "
       "by tenant-abac SameTenant", doc)
    st, doc = sim("bedrock-agentcore:GetResourceApiKey",
                  KEY_ARN + "globex-key")
    ok(st == 200 and decided(doc, "ImplicitDeny") and
       doc["explanation"] == "ImplicitDeny (no statement allows it)",
       "another tenant's provider: ImplicitDeny", doc)
    st, doc = sim("GetResourceApiKey", KEY_ARN + "globex-key",
                  {"aws:PrincipalTag/tenant": "globex"})
    ok(st == 200 and decided(doc, "Allow", "tenant-abac", "SameTenant", 0),
       "a context key replaces the principal's tag", doc)
    st, doc = sim("CreateApiKeyCredentialProvider", "*",
                  {"aws:RequestTag/tenant": "acme",
                   "aws:TagKeys": ["tenant", "owner"]})
    ok(st == 200 and decided(doc, "Allow", "tenant-abac",
                             "CreateForOwnTenant", 1),
       "multi-valued context keys: Allow by CreateForOwnTenant", doc)
    st, doc = sim("CreateApiKeyCredentialProvider", "*",
                  {"aws:RequestTag/tenant": "acme",
                   "aws:TagKeys": ["tenant", "cost"]})
    ok(st == 200 and decided(doc, "ImplicitDeny"),
       "another tag key: ImplicitDeny", doc)

    for name in ("one-workload", "deny-provider"):
        st, doc = pcall("AttachPrincipalPolicy", {"principalName": "sim",
                                                  "policyName": name})
        ok(st == 200, "%s is attached to sim" % name, doc)
    gh = {"bedrock-agentcore:resourceCredentialProvider": "github-provider"}
    st, doc = sim("GetResourceOauth2Token", "*", gh)
    ok(st == 200 and decided(doc, "Allow", "deny-provider",
                             "VendCredentials", 0),
       "deny-provider: github-provider is Allow by VendCredentials", doc)
    st, doc = sim("GetResourceOauth2Token", "*",
                  {"bedrock-agentcore:resourceCredentialProvider": "slack"})
    ok(st == 200 and decided(doc, "ExplicitDeny", "deny-provider",
                             "OnlyGithubTokens", 1) and
       doc["explanation"] == "ExplicitDeny by deny-provider statement "
       "OnlyGithubTokens",
       "deny-provider: slack is ExplicitDeny by OnlyGithubTokens", doc)
    wi = ("arn:aws:bedrock-agentcore:us-east-1:123456789012:workload-"
          "identity-directory/default/workload-identity/")
    st, doc = sim("CreateWorkloadIdentity", "*",
                  {"bedrock-agentcore:workloadIdentityArn":
                   wi + "support-agent"})
    ok(st == 200 and decided(doc, "Allow", "one-workload",
                             "SupportAgentEverything", 0),
       "one-workload: support-agent is Allow by SupportAgentEverything",
       doc)
    st, doc = sim("CreateWorkloadIdentity", "*",
                  {"bedrock-agentcore:workloadIdentityArn": wi + "chat"})
    ok(st == 200 and decided(doc, "ImplicitDeny"),
       "one-workload: another workload is ImplicitDeny", doc)
    st, doc = sim("GetTokenVault", "*", principal=None)
    ok(st == 200 and doc["principalName"] == "admin" and
       decided(doc, "Allow", "AgentVaultFullAccess", "FullAccess", 0),
       "without principalName, the caller's own principal", doc)
    st, doc = sim("GetTokenVault", "*", principal="nobody-here")
    ok(st == 404 and doc["__type"] == "ResourceNotFoundException",
       "an unknown principal is ResourceNotFoundException", doc)
    for body, what in (
            ({"action": "iam:GetUser", "resource": "*"}, "another service"),
            ({"action": "", "resource": "*"}, "an empty action"),
            ({"action": "GetTokenVault", "resource": "vault"},
             "a resource that is not an ARN"),
            ({"action": "GetTokenVault"}, "no resource"),
            ({"action": "GetTokenVault", "resource": "*",
              "context": {"k:x": 1}}, "a number in the context"),
            ({"action": "GetTokenVault", "resource": "*",
              "context": ["k:x"]}, "a context that is not a map")):
        st, doc = pcall("SimulatePrincipalPolicy", body)
        ok(st == 400 and doc["__type"] == "ValidationException",
           "SimulatePrincipalPolicy refuses %s" % what, doc)


def test_audit_fail_closed():
    """No audit, no service: a full audit disk refuses audited calls."""
    fs = os.path.join(WORK, "auditfs")
    os.makedirs(fs, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs",
                       fs], capture_output=True).returncode != 0:
        ok(True, "# SKIP cannot mount a small tmpfs here")
        return
    try:
        conf = os.path.join(WORK, "fullaudit.yaml")
        write_config(conf, "")
        with open(conf) as f:
            text = f.read().replace(os.path.join(WORK, "audit.log"),
                                    os.path.join(fs, "audit.log"))
        with open(conf, "w") as f:
            f.write(text)
        d = Daemon(conf)
        ok(d.wait_ready(), "the daemon starts with its audit log on a "
           "tiny file system")
        refused = None
        for _ in range(2000):
            st, doc, _ = request("POST", "/identities/get-token-vault", {})
            if st != 200:
                refused = (st, doc)
                break
        ok(refused is not None and refused[0] == 500 and
           refused[1]["__type"] == "InternalServerException" and
           "audit" in refused[1]["message"],
           "when the audit log cannot be written, calls fail closed",
           refused)
        st, doc, _ = request("POST", "/identities/get-token-vault", {})
        ok(st == 500, "and keep failing while it cannot")
        ok(request("GET", "/ping")[0] == 200, "liveness still answers")
        d.stop()
    finally:
        subprocess.run(["umount", fs], capture_output=True)


def test_env_pin():
    """hsm.pin = env:NAME: every worker, restarts included, gets the PIN,
    and the daemon's own environment does not keep it."""
    conf = os.path.join(WORK, "envpin.yaml")
    write_config(conf, "")
    with open(conf) as f:
        text = f.read().replace('pin: "%s"' % os.environ["AV_TEST_PIN"],
                                'pin: "env:AV_DAEMON_PIN"')
    with open(conf, "w") as f:
        f.write(text)
    with open(os.environ["AV_TEST_PIN"][5:]) as f:
        pin = f.read().strip()
    os.environ["AV_DAEMON_PIN"] = pin
    try:
        d = Daemon(conf)
    finally:
        del os.environ["AV_DAEMON_PIN"]
    ok(d.wait_ready(), "the daemon starts with the PIN in its environment")
    try:
        request("POST", "/test/forbidden-syscall", {})
    except OSError:
        pass
    time.sleep(0.5)
    ok(d.wait_ready() and request("POST", "/identities/get-token-vault",
                                  {})[0] == 200,
       "a restarted worker gets the PIN too")
    if WRAP:
        # /proc shows valgrind's own copy of the environment, not ours.
        ok(True, "# SKIP the environment check under valgrind")
    else:
        with open("/proc/%d/environ" % d.proc.pid, "rb") as f:
            environ = f.read()
        ok(pin.encode() not in environ,
           "the PIN is wiped from the parent's environment")
    d.stop()


def test_config_errors():
    bad = os.path.join(WORK, "bad.yaml")
    with open(bad, "w") as f:
        f.write("paths:\n  state_dir: /tmp\nlisten:\n  tcp:\n    port: 99999\n")
    os.chmod(bad, 0o600)
    r = subprocess.run([DAEMON, "-c", bad, "--check-config"],
                       capture_output=True, text=True)
    ok(r.returncode == 1 and "bad.yaml:5:" in r.stderr,
       "a configuration error names file, line and column", r.stderr)
    selftest = os.path.join(WORK, "selftest.yaml")
    write_config(selftest, "")
    with open(selftest) as f:
        text = f.read()
    text = text.replace("  ca_cert:", "  token_signing_key: "
                        "\"pkcs11:object=missing;type=private\"\n  ca_cert:")
    with open(selftest, "w") as f:
        f.write(text)
    r = subprocess.run([DAEMON, "-c", selftest], capture_output=True,
                       text=True, timeout=60)
    ok(r.returncode == 1 and "self-test failed" in r.stderr,
       "a failing self-test stops the appliance with a clear message",
       r.stderr)


# ---- outbound HTTP (daemon/outbound.c) -------------------------------------

IDP_TOKEN = b'{"access_token":"t0k3n-outbound","token_type":"Bearer"}'


class IdpHandler(http.server.BaseHTTPRequestHandler):
    """The tests' identity provider: /json, /echo (the request as JSON),
    /slow?s=N, /never, /big (5 MiB with a length), /stream (5 MiB without
    one), /malformed (not HTTP)."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer(self):
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path == "/json":
            self.send(200, IDP_TOKEN)
        elif path == "/echo":
            self.send(200, json.dumps({
                "method": self.command, "body": body.decode(),
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }).encode())
        elif path == "/slow":
            time.sleep(float(query.partition("=")[2]))
            self.send(200, IDP_TOKEN)
        elif path == "/never":
            time.sleep(120)
        elif path == "/big":
            self.send(200, b"x" * (5 << 20), "text/plain")
        elif path == "/stream":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(80):
                self.wfile.write(b"y" * 65536)
            self.close_connection = True
        elif path == "/malformed":
            self.wfile.write(b"SURPRISE\r\n\r\nnot http at all\r\n")
            self.close_connection = True
        else:
            self.send(404, b'{"error":"not_found"}')

    do_GET = answer
    do_POST = answer


class IdpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass    # a client that hangs up on /big is expected


def idp_start(tls_ctx=None):
    srv = IdpServer(("127.0.0.1", 0), IdpHandler)
    if tls_ctx is not None:
        srv.socket = tls_ctx.wrap_socket(srv.socket, server_side=True,
                                         do_handshake_on_connect=False)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class ConnectProxy(threading.Thread):
    """An HTTP proxy that tunnels CONNECT to 127.0.0.1 (answering 403 for
    port 1) and records what it was asked."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.seen = []

    def run(self):
        while True:
            c, _ = self.sock.accept()
            threading.Thread(target=self.tunnel, args=(c,),
                             daemon=True).start()

    def tunnel(self, c):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = c.recv(4096)
            if not chunk:
                c.close()
                return
            head += chunk
        line = head.split(b"\r\n")[0].decode()
        self.seen.append(line)
        method, target = line.split()[:2]
        port = int(target.rpartition(":")[2])
        if method != "CONNECT" or port == 1:
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            c.close()
            return
        up = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        socks = [c, up]
        while True:
            r, _, _ = select.select(socks, [], [], 60)
            if not r:
                break
            data = r[0].recv(65536)
            if not data:
                break
            (up if r[0] is c else c).sendall(data)
        c.close()
        up.close()


_idp = {}


def idp():
    """Start the servers once: plain HTTP, HTTPS with a certificate from a
    test CA (localhost and 127.0.0.1), the CONNECT proxy."""
    if _idp:
        return _idp
    d0 = os.path.join(WORK, "idp")
    os.makedirs(d0, exist_ok=True)
    os.chmod(d0, 0o755)
    ca, ca_key = os.path.join(d0, "ca.pem"), os.path.join(d0, "ca.key")
    cert, key = os.path.join(d0, "idp.pem"), os.path.join(d0, "idp.key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key, "-out",
            ca, "-subj", "/CN=Test IdP CA", "-days", "1")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", cert + ".csr", "-subj",
            "/CN=localhost", "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1")
    openssl("x509", "-req", "-in", cert + ".csr", "-CA", ca, "-CAkey",
            ca_key, "-CAcreateserial", "-out", cert, "-days", "1",
            "-copy_extensions", "copy")
    os.chmod(ca, 0o644)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    proxy = ConnectProxy()
    proxy.start()
    _idp.update(ca=ca, http=idp_start().server_address[1],
                https=idp_start(ctx).server_address[1], proxy=proxy)
    return _idp


def outbound(url, method="GET", **kw):
    """/test/outbound: (HTTP status of the hook, its answer)."""
    st, doc, _ = request("POST", "/test/outbound",
                         dict(kw, url=url, method=method))
    return st, doc or {}


def test_outbound_defaults(d):
    """The default outbound block: https only, the system CA bundle."""
    s = idp()
    st, doc = outbound("http://127.0.0.1:%d/json" % s["http"])
    ok(st == 400 and "only https://" in doc.get("message", ""),
       "plain http is refused without allow_http_loopback", doc)
    st, doc = outbound("https://127.0.0.1:%d/json" % s["https"])
    ok(st == 200 and doc["error"] == "tls" and doc["status"] == 0,
       "a server whose certificate is not from ca_bundle is a TLS error",
       doc)
    st, doc = outbound("https://user:secret@127.0.0.1:%d/json" % s["https"])
    ok(st == 400 and "credentials" in doc.get("message", ""),
       "credentials in the URL are refused", doc)
    worker = d.worker_pid()
    st, doc, _ = request("POST", "/test/probe", {"what": "getaddrinfo"})
    ok(st == 200 and doc["errno"] == 0 and d.worker_pid() == worker,
       "getaddrinfo's interface check (netlink) does without in the sandbox",
       doc)
    if not NO_SANDBOX:
        st, doc, _ = request("POST", "/test/probe", {"what": "unix-socket"})
        ok(st == 200 and doc["errno"] == 13 and d.worker_pid() == worker,
           "a new Unix socket (syslog) fails with EACCES, so connect(2) "
           "cannot reach one", doc)
    st, doc = outbound("https://agentvault-test.invalid/token")
    ok(st == 200 and doc["error"] in ("dns", "timeout") and
       d.worker_pid() == worker,
       "a name that does not resolve is an error; DNS inside the sandbox "
       "does not kill the worker", doc)


def outbound_config(path, ca):
    write_config(path, "outbound:\n  connect_timeout_ms: %d\n"
                 "  timeout_ms: %d\n  max_transfers: 30\n  ca_bundle: %s\n"
                 "  allow_http_loopback: true\n" % (1000 * SLOW, 3000 * SLOW,
                                                     ca))
    with open(path) as f:
        text = f.read().replace("max_connections: 16", "max_connections: 200")
    with open(path, "w") as f:
        f.write(text)


def test_deferred(base):
    """api_defer/api_resume (/test/deferred): a call answered later from
    its outbound request's callback is audited like any other, fails as
    asked, and fails closed when it never authorized."""
    st, doc, hdr = request("POST", "/test/deferred",
                           {"url": base + "/slow?s=0.3"})
    ok(st == 200 and doc == {"status": 200, "error": "ok"},
       "a deferred call is answered once its request is", doc)
    rid_ok = hdr.get("x-amzn-requestid")
    st, doc, hdr = request("POST", "/test/deferred",
                           {"url": base + "/json", "fail": True})
    ok(st == 400 and doc.get("message") == "failed as asked",
       "a deferred call that fails is answered with its error", doc)
    rid_fail = hdr.get("x-amzn-requestid")
    st, doc, hdr = request("POST", "/test/deferred",
                           {"url": base + "/json", "authorize": False})
    ok(st == 500 and doc.get("__type") == "InternalServerException",
       "a deferred call that never authorized fails closed", doc)
    rid_closed = hdr.get("x-amzn-requestid")
    st, doc, _ = request("POST", "/test/deferred", {"url": "ftp://x/"})
    ok(st == 400 and doc.get("__type") == "ValidationException",
       "a call refused before it is deferred is answered at once", doc)
    st, _, _ = request("GET", "/ping")
    ok(st == 200, "the daemon still serves")
    with open(os.path.join(WORK, "audit.log")) as f:
        calls = {c["request_id"]: c for c in
                 (json.loads(l) for l in f if '"type":"call"' in l)}
    a, b, c = (calls.get(r, {}) for r in (rid_ok, rid_fail, rid_closed))
    ok(a.get("operation") == "TestDeferred" and a.get("outcome") ==
       "allowed" and a.get("decision", "").startswith("Allow by") and
       a.get("resource", "").endswith(":token-vault/default"),
       "the deferred call is audited: allowed, its decision and resource",
       a)
    ok(b.get("outcome") == "error" and b.get("error") ==
       "ValidationException" and c.get("outcome") == "error" and
       c.get("decision") == "not authorized (internal error)",
       "... and the failed and the fail-closed ones as errors", (b, c))


def test_outbound():
    """Outbound HTTP from the sandboxed worker to the loopback identity
    provider: answers, limits, TLS, proxies, and other calls served while
    requests wait on a slow provider."""
    s = idp()
    conf = os.path.join(WORK, "outbound.yaml")
    outbound_config(conf, s["ca"])
    dead = free_port()
    d = Daemon(conf, env={"https_proxy": "http://127.0.0.1:%d" %
                          s["proxy"].port,
                          "http_proxy": "http://127.0.0.1:%d" % dead,
                          "NO_PROXY": "127.0.0.1"})
    if not ok(d.wait_ready(), "the daemon starts with an outbound block"):
        d.stop()
        return
    worker = d.worker_pid()
    base = "http://127.0.0.1:%d" % s["http"]
    st, doc = outbound(base + "/json")
    ok(st == 200 and doc["error"] == "ok" and doc["status"] == 200 and
       doc["body"] == IDP_TOKEN.decode() and
       doc["contentType"] == "application/json",
       "a GET is answered (NO_PROXY: straight to 127.0.0.1)", doc)
    st, doc = outbound(base + "/echo", "POST", body="grant_type=x&a=%20b",
                       contentType="application/x-www-form-urlencoded",
                       user="client-1", password="s3cr3t:pw")
    echo = json.loads(doc.get("body") or "{}")
    hdrs = echo.get("headers", {})
    ok(echo.get("method") == "POST" and
       echo.get("body") == "grant_type=x&a=%20b" and
       hdrs.get("content-type") == "application/x-www-form-urlencoded" and
       hdrs.get("authorization") == "Basic " + base64.b64encode(
           b"client-1:s3cr3t:pw").decode() and
       hdrs.get("user-agent", "").startswith("agentvault/") and
       "expect" not in hdrs and "cookie" not in hdrs,
       "a POST carries its body, type, basic auth and our User-Agent", echo)
    st, doc = outbound("https://127.0.0.1:%d/json" % s["https"])
    ok(st == 200 and doc["error"] == "ok" and doc["status"] == 200,
       "https to a server whose certificate is from ca_bundle", doc)
    st, doc = outbound("https://localhost:%d/json" % s["https"])
    ok(st == 200 and doc["error"] == "ok" and
       "CONNECT localhost:%d HTTP/1.1" % s["https"] in s["proxy"].seen,
       "https_proxy: a host not in NO_PROXY goes through the proxy",
       (doc, s["proxy"].seen))
    st, doc = outbound("https://localhost:1/json")
    ok(st == 200 and doc["error"] == "proxy", "a proxy that refuses CONNECT "
       "is a proxy error", doc)
    start = time.time()
    st, doc = outbound(base + "/never")
    took = time.time() - start
    ok(st == 200 and doc["error"] == "timeout" and took < 10 * SLOW,
       "no answer: a timeout after timeout_ms (%.1f s, limit %d s)" %
       (took, 3 * SLOW), doc)
    for path in ("/big", "/stream"):
        st, doc = outbound(base + path)
        ok(st == 200 and doc["error"] == "too-large" and
           doc["bodyLength"] == 0 and "max_response_bytes" in doc["message"],
           "a 5 MiB answer (%s) is cut off at max_response_bytes" % path, doc)
    st, doc = outbound(base + "/malformed")
    ok(st == 200 and doc["error"] == "protocol", "an answer that is not HTTP "
       "is a protocol error", doc)
    st, doc = outbound("http://[::1]:%d/json" % dead)
    ok(st == 200 and doc["error"] == "connect", "http to [::1] is allowed "
       "too (nothing listens: a connect error)", doc)
    for url in ("http://10.0.0.1/", "http://localhost:%d/json" % s["http"],
                "ftp://127.0.0.1/", "file:///etc/passwd", "not a url"):
        st, doc = outbound(url)
        ok(st == 400 and doc.get("__type") == "ValidationException",
           "refused with allow_http_loopback too: %s" % url, doc)

    test_deferred(base)

    # Isolation: 50 requests wait on a slow provider; other calls do not.
    results = []

    def slow():
        results.append(outbound(base + "/slow?s=%d" % (2 * SLOW)))
    threads = [threading.Thread(target=slow) for _ in range(50)]
    for t in threads:
        t.start()
    time.sleep(0.5 * SLOW)
    t0 = time.time()
    st1 = request("GET", "/ping")[0]
    t1 = time.time()
    st2 = request("POST", "/identities/get-token-vault", {})[0]
    t2 = time.time()
    pending = 50 - len(results)
    ok(st1 == 200 and st2 == 200 and pending > 0,
       "Ping and GetTokenVault answer while %d requests wait on a slow "
       "provider" % pending)
    print("# Ping %.1f ms, GetTokenVault %.1f ms with %d outbound requests "
          "pending" % ((t1 - t0) * 1000, (t2 - t1) * 1000, pending))
    for t in threads:
        t.join()
    ok(len(results) == 50 and all(st == 200 and doc["status"] == 200
                                  for st, doc in results),
       "the 50 slow requests all get their answer",
       [r for r in results if r[0] != 200 or r[1].get("status") != 200][:3])

    # max_transfers (30 per loop, 2 loops): one more is refused at once.
    results = []
    threads = [threading.Thread(target=slow) for _ in range(80)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    busy = [doc for st, doc in results if st == 429]
    ok(busy and all(doc.get("__type") == "ThrottlingException" and
                    "max_transfers" in doc.get("message", "") for doc in busy)
       and all(st in (200, 429) for st, _ in results),
       "over max_transfers requests are refused with ThrottlingException "
       "(%d of 80)" % len(busy))
    ok(d.worker_pid() == worker, "the worker served all of it in the sandbox "
       "(no restart)")
    d.stop()

    # A CA bundle that cannot be read: said at start; HTTPS fails.
    outbound_config(conf, os.path.join(WORK, "idp", "missing.pem"))
    d = Daemon(conf)
    ok(d.wait_ready() and "outbound.ca_bundle: cannot read the CA bundle" in
       log_text(), "a CA bundle that cannot be read is reported at start")
    st, doc = outbound("https://127.0.0.1:%d/json" % s["https"])
    ok(st == 200 and doc["error"] == "tls", "... and HTTPS then fails (tls), "
       "never unverified", doc)
    d.stop()


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    # The sandboxed worker runs as nobody and must reach the token files.
    os.chmod(TOKDIR, 0o711)
    os.chmod(os.path.join(TOKDIR, "token"), 0o711)
    os.chmod(os.path.join(TOKDIR, "token", "softhsm2.conf"), 0o644)
    subprocess.run(["chown", "-R", "nobody", os.path.join(TOKDIR, "token",
                                                          "tokens")])
    config = os.path.join(WORK, "agentvault.yaml")
    write_config(config)
    # Stand in for systemd: Type=notify readiness on a datagram socket.
    notify_path = os.path.join(WORK, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(30 * SLOW)
    d = Daemon(config, notify=notify_path)
    if not ok(d.wait_ready(), "the daemon starts and serves", log_text()):
        d.stop()
        print("1..%d" % n)
        return 1
    try:
        ready = notify.recv(64)
    except socket.timeout:
        ready = b""
    ok(ready == b"READY=1", "it tells systemd READY=1 once the worker "
       "serves (Type=notify)", ready)
    notify.close()
    request("POST", "/test/put-secret", {"name": "canary", "value": CANARY})
    test_basic(d)
    test_directory(d)
    test_api_key_providers(d)
    test_oauth2_providers(d)
    test_tags(d)
    token = test_tokens(d)
    test_bad_input(d)
    test_outbound_defaults(d)
    test_slow_clients(d)
    test_sandbox_and_restart(d)
    test_bad_ipc(d)
    test_kill_worker_with_writes(d)
    d.stop()
    d = test_kill_parent_with_writes(config)
    st, doc, _ = request("POST", "/test/get-secret", {"name": "canary"})
    ok(st == 200 and doc["value"] == CANARY, "the canary is still readable")
    st, doc = call("GetWorkloadIdentity", {"name": "support-agent"})
    ok(st == 200 and doc["allowedResourceOauth2ReturnUrls"] ==
       ["https://a.example/1", "myapp://callback"],
       "the directory survives kill -9 and restarts")
    ok(list_tags(ARN_PREFIX + "support-agent") == {"env": "staging"},
       "tags survive kill -9 and restarts")
    st, doc = call("api-key", {"workloadIdentityToken": token,
                               "resourceCredentialProviderName":
                               "github-key"}, sock_name="agent.sock")
    ok(st == 200 and doc.get("apiKey") == CANARY + "-api-key-2",
       "tokens minted before the restarts are still accepted")
    test_reload_and_stop(d)
    test_audit()
    test_canary()
    test_customer_managed()
    test_token_key_rotation()
    test_tcp_mtls()
    test_outbound()
    test_services()
    test_policy_api()
    test_env_pin()
    test_audit_fail_closed()
    test_config_errors()
    text = log_text()
    bad = [l for l in text.splitlines() if "Sanitizer" in l or
           "runtime error" in l or ("ERROR SUMMARY" in l and
                                    "ERROR SUMMARY: 0 " not in l)]
    ok(not bad, "no sanitizer or valgrind report from the daemon", bad[:5])
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
