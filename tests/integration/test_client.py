#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_client.py - libagentvault and the agentvault CLI against the real
sandboxed daemon (test_daemon.py's harness) and against fake servers that
misbehave on purpose: a certificate from another CA, a listener that never
answers, connections dropped mid-call, malformed replies, a scripted OAuth
consent.  The library's side is tests/client/test_libagentvault.c, run
once per scenario; its TAP lines are passed on.

Prints TAP.  Environment as test_daemon.py; under valgrind (AV_TEST_WRAP)
the client programs run under it, the daemon does not (the daemon suite
covers it).
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_daemon as td  # noqa: E402

td.WORK = os.path.join(td.TOKDIR, "client")
WORK = td.WORK
WRAP = td.WRAP
td.WRAP = []
ok = td.ok
CLI = os.path.join(td.TOP, td.BUILD, "agentvault")
LIBTEST = os.path.join(td.TOP, td.BUILD, "tests", "test_libagentvault")
SO = os.path.join(td.TOP, td.BUILD, "libagentvault.so")
CA = os.path.join(td.TOKDIR, "ca.pem")
RUN = os.path.join(WORK, "run")
ADMIN = os.path.join(RUN, "admin.sock")
AGENT = os.path.join(RUN, "agent.sock")
AUDIT = os.path.join(WORK, "audit.log")
ARN = td.ARN_PREFIX


# ---- fake servers --------------------------------------------------------

def make_fake_ca():
    """Another CA and a 'localhost' certificate it issued."""
    d = os.path.join(WORK, "fake")
    os.makedirs(d, exist_ok=True)
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    crt, key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
    td.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
               "-out", ca, "-subj", "/CN=Another CA", "-days", "1")
    td.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", key, "-out", crt + ".csr", "-subj",
               "/CN=localhost", "-addext", "subjectAltName=DNS:localhost")
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    td.openssl("x509", "-req", "-in", crt + ".csr", "-CA", ca, "-CAkey",
               ca_key, "-CAcreateserial", "-out", crt, "-days", "1",
               "-extfile", ext)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ca, ctx


def http(status, body, extra=""):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    body = body.encode() if isinstance(body, str) else body
    return ("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n%s\r\n" % (status, len(body), extra)
            ).encode() + body


def read_request(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
    while len(body) < length:
        body += s.recv(4096)
    method, target, _ = lines[0].split(" ", 2)
    return method, target, json.loads(body) if body else None


# The protocol scenario's replies, one per connection.
GARBAGE = [
    http(200, "{}", "Transfer-Encoding: chunked\r\n"),
    b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}",
    b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\n{}",
    http(200, "hello"),
    http(500, "oops"),
    http(200, "{}") + b"extra",
    b"HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\n{}",
    http(200, '["apiKey"]'),
]


# GetResourceOauth2Token replies the client must refuse, by provider.
OAUTH_BAD = {
    "bad-url": {"authorizationUrl": "javascript:alert(1)",
                "sessionUri": "urn:ietf:params:oauth:request_uri:b",
                "sessionStatus": "IN_PROGRESS"},
    "ctl-url": {"authorizationUrl": "https://idp.example/a?\x1b[2J",
                "sessionUri": "urn:ietf:params:oauth:request_uri:b",
                "sessionStatus": "IN_PROGRESS"},
    "bad-uri": {"authorizationUrl": "https://idp.example/a",
                "sessionUri": "urn:other:b", "sessionStatus": "IN_PROGRESS"},
    "long-uri": {"authorizationUrl": "https://idp.example/a",
                 "sessionUri": "urn:ietf:params:oauth:request_uri:" +
                 "a" * 200, "sessionStatus": "IN_PROGRESS"},
    "no-status": {"authorizationUrl": "https://idp.example/a",
                  "sessionUri": "urn:ietf:params:oauth:request_uri:b"},
    "odd-status": {"authorizationUrl": "https://idp.example/a",
                   "sessionUri": "urn:ietf:params:oauth:request_uri:b",
                   "sessionStatus": "MAYBE"},
    "no-url": {"sessionUri": "urn:ietf:params:oauth:request_uri:b",
               "sessionStatus": "IN_PROGRESS"},
    "num-url": {"authorizationUrl": 7,
                "sessionUri": "urn:ietf:params:oauth:request_uri:b",
                "sessionStatus": "IN_PROGRESS"},
    "empty-token": {"accessToken": ""},
    "nested": {"accessToken": "t", "extra": {"a": 1}},
    "empty": {},
}


def hostile(target):
    """The evil scenario: secrets that are not UTF-8, escape sequences."""
    if target == "/identities/GetWorkloadAccessToken":
        return http(200, b'{"workloadAccessToken":"avwat1.\xff"}')
    if target == "/identities/api-key":
        return http(200, b'{"apiKey":"sk-\xff"}')
    if target == "/identities/GetWorkloadIdentity":
        return http(200, {"name": "a\x1b[2Jb", "allowedResourceOauth2"
                          "ReturnUrls": ["x\x1b]8;;http://evil\x07y"]})
    if target.startswith("/tags/"):
        return http(200, {"tags": {"k\x1b[1m": "v\x9b2J\x7f"}})
    return http(400, {"__type": "ValidationException",
                      "message": "no\x1b]0;pwned\x07"},
                "x-amzn-RequestId: 12ab-\x1b[31m\r\n")


def policy_reply(target, body):
    """The policy scenario: the contract's replies, with escapes inside."""
    if target == "/policies/SimulatePrincipalPolicy":
        return http(200, {"principalName": "agents",
                          "action": body["action"],
                          "resource": body["resource"],
                          "decision": "ExplicitDeny",
                          "matchedStatement": {"policy": "p\x1b[2J",
                                               "index": 3},
                          "explanation": "ExplicitDeny by p Statement[3]"})
    if target == "/principals/GetPrincipal":
        return http(200, {"name": "agents", "kind": "caller",
                          "uids": [65534], "tags": {"tenant": "acme"},
                          "policies": [{"name": "AgentVaultAgentAccess",
                                        "attachedBy": "configuration"},
                                       {"name": "mine",
                                        "attachedBy": "api"}]})
    if target == "/policies/GetPolicy":
        return http(200, {"name": "p", "source": "file",
                          "path": "/etc/agentvault/policies/p.yaml",
                          "document": "Statement:\n\t- Sid: A\x1b[2J\n",
                          "attachedTo": ["agents"]})
    return http(200, {})


class Fake:
    """A TLS server on a Unix socket; mode decides how it misbehaves."""

    def __init__(self, path, mode, ctx):
        self.path, self.mode, self.ctx = path, mode, ctx
        self.requests = []
        self.conns = 0
        self.held = []
        self.polls = {}
        self.ends = []
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns += 1
            if self.mode == "silent":
                self.held.append(c)     # never a byte back
                continue
            threading.Thread(target=self.serve, args=(c, self.conns),
                             daemon=True).start()

    def serve(self, raw, conn):
        try:
            s = self.ctx.wrap_socket(raw, server_side=True,
                                     suppress_ragged_eofs=False)
            n = 0
            while True:
                req = read_request(s)
                if req is None:
                    break
                self.requests.append(req)
                n += 1
                reply = self.reply(req, n, conn)
                if reply is None:
                    if self.mode == "noreply":
                        self.held.append(s)
                        self.ends.append(self.ending(s))
                        return
                    break
                s.sendall(reply)
                if self.mode in ("close-idle", "protocol"):
                    break
            s.close()
        except (OSError, ssl.SSLError, ValueError):
            raw.close()

    @staticmethod
    def ending(s):
        """How the client left: a TLS close_notify, or just EOF."""
        try:
            return "close_notify" if s.recv(1) == b"" else "data"
        except ssl.SSLEOFError:
            return "eof"
        except (OSError, ssl.SSLError):
            return "error"

    def reply(self, req, n, conn):
        method, target, body = req
        if self.mode == "noreply" or (self.mode == "drop-second" and n > 1):
            return None
        if self.mode == "protocol":
            return GARBAGE[min(conn, len(GARBAGE)) - 1]
        if self.mode == "oauth":
            return self.oauth(target, body)
        if self.mode == "evil":
            return hostile(target)
        if self.mode == "policy":
            return policy_reply(target, body)
        return http(200, {"name": "x", "status": "ok"})

    def oauth(self, target, body):
        if target == "/identities/GetWorkloadAccessToken":
            self.mints = getattr(self, "mints", 0) + 1
            return http(200, {"workloadAccessToken": "avwat1.minted.%d" %
                              self.mints})
        if target == "/identities/CompleteResourceTokenAuth":
            if body["sessionUri"].endswith(":old"):
                return http(400, {"__type": "ValidationException",
                                  "message": "unknown operation"})
            if body["userIdentifier"].get("userId") == "mallory":
                return http(403, {"__type": "AccessDeniedException",
                                  "message": "the user does not match the "
                                  "session"})
            return http(200, {})
        provider, session = body["resourceCredentialProviderName"], \
            body.get("sessionUri")
        if provider in OAUTH_BAD:
            return http(200, OAUTH_BAD[provider])
        if provider == "old":
            return http(400, {"__type": "ValidationException",
                              "message": "unknown operation"})
        if provider == "wat-refused" and \
                body["workloadIdentityToken"] == "avwat1.minted.1":
            return http(403, {"__type": "AccessDeniedException",
                              "message": "the workload access token is "
                              "not valid"})
        if provider in ("m2m", "wat-refused"):
            return http(200, {"accessToken": "m2m-token"})
        if provider == "fails":
            return http(200, {"sessionUri": "urn:ietf:params:oauth:"
                              "request_uri:f", "sessionStatus": "FAILED"})
        if session is None:
            return http(200, {"authorizationUrl":
                              "https://idp.example/authorize?s=1",
                              "sessionUri": "urn:ietf:params:oauth:"
                              "request_uri:s1",
                              "sessionStatus": "IN_PROGRESS"})
        self.polls[session] = self.polls.get(session, 0) + 1
        if provider == "consent" and self.polls[session] >= 2:
            return http(200, '{"sessionStatus":"COMPLETED",'
                        '"accessToken":"gho_\\u00e9t","expiresIn":3600}')
        return http(200, {"sessionUri": session,
                          "sessionStatus": "IN_PROGRESS"})

    def close(self):
        self.sock.close()
        for s in self.held:
            s.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


# ---- the C test program --------------------------------------------------

def run_lib(scenario, env=None, on_restart=None):
    """Run one scenario of test_libagentvault; pass its TAP lines on."""
    e = dict(os.environ, ADMIN=ADMIN, AGENT=AGENT, CA=CA, AUDIT=AUDIT)
    e.update(env or {})
    p = subprocess.Popen(WRAP + [LIBTEST, scenario], env=e, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    for line in p.stdout:
        line = line.rstrip("\n")
        if line.startswith("ok ") or line.startswith("not ok "):
            name = line.split(" - ", 1)[1] if " - " in line else line
            ok(line.startswith("ok "), "%s: %s" % (scenario, name))
        elif line.startswith("# restart "):
            on_restart(line.split()[2])
            p.stdin.write("go\n")
            p.stdin.flush()
        elif line.startswith("#") or line.strip():
            if not line.startswith("1.."):
                print("# " + line.lstrip("# "))
    rc = p.wait()
    ok(rc == 0, "%s: test_libagentvault exits 0 (no leak, no valgrind "
       "report)" % scenario, "status %d" % rc)


# ---- the CLI ---------------------------------------------------------------

def cli(*args, stdin=None, env=None, sock_env=True):
    e = dict(os.environ)
    for k in ("AGENTVAULT_SOCKET", "AGENTVAULT_RUN_DIR", "AGENTVAULT_CA"):
        e.pop(k, None)
    if sock_env:
        e.update(AGENTVAULT_RUN_DIR=RUN, AGENTVAULT_CA=CA)
    e.update(env or {})
    r = subprocess.run(WRAP + [CLI] + list(args), input=stdin, env=e,
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def cli_full(*args):
    """The CLI with its standard output on /dev/full."""
    e = dict(os.environ, AGENTVAULT_RUN_DIR=RUN, AGENTVAULT_CA=CA)
    with open("/dev/full", "w") as full:
        r = subprocess.run(WRAP + [CLI] + list(args), env=e, stdout=full,
                           stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stderr


def cli_json(*args, **kw):
    rc, out, err = cli("--output", "json", *args, **kw)
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, err + out


def audit_ops(op):
    with open(AUDIT) as f:
        return sum('"operation":"%s"' % op in l for l in f)


def test_cli_help():
    rc, out, _ = cli("--help")
    ok(rc == 0 and "usage: agentvault" in out and "Exit status" in out,
       "CLI: --help describes commands, options and exit statuses")
    rc, _, err = cli()
    ok(rc == 2 and "usage:" in err, "CLI: no command is a usage error (2)")
    for group in ("identity", "credential", "add", "tag", "token", "vault",
                  "policy", "principal", "session"):
        rc, out, _ = cli(group, "--help")
        ok(rc == 0 and "usage: agentvault %s" % group in out,
           "CLI: %s --help" % group)
    for cmd in ("ping", "vault show", "identity create", "identity get",
                "identity list", "identity update", "identity delete",
                "add credential", "credential get", "credential list",
                "credential update", "credential delete", "tag add",
                "tag remove", "tag list", "token workload", "token api-key",
                "token oauth2", "session complete", "policy create", "policy get", "policy update",
                "policy delete", "policy list", "policy attach",
                "policy detach", "policy simulate", "principal get",
                "principal list"):
        rc, out, _ = cli(*cmd.split(), "--help")
        ok(rc == 0 and out.startswith("usage: agentvault " + cmd),
           "CLI: %s --help" % cmd, out)
    rc, out, _ = cli("audit", "--help")
    ok(rc == 0 and "audit verify" in out, "CLI: audit --help")
    rc, out, _ = cli("--help", "audit")
    ok(rc == 0 and "audit verify" in out, "CLI: --help audit")
    rc, _, err = cli("-")
    ok(rc == 2 and "unknown command" in err, "CLI: a bare '-' is an unknown "
       "command", err)
    rc, out, _ = cli("audit", "verify", "--help")
    ok(rc == 0 and "--strict" in out, "CLI: audit verify --help is the "
       "verifier's")
    rc, out, _ = cli("--version")
    ok(rc == 0 and out.startswith("agentvault 0."), "CLI: --version")
    for args, what in ((["frobnicate"], "an unknown command"),
                       (["identity", "frob"], "an unknown subcommand"),
                       (["--frob", "ping"], "an unknown option"),
                       (["ping", "--provider", "x"], "an option of another "
                        "command"),
                       (["-o", "yaml", "ping"], "--output yaml"),
                       (["identity", "get"], "a missing NAME"),
                       (["identity", "get", "a", "b"], "too many arguments"),
                       (["identity", "get", "abc", "--name", "abc"],
                        "a name given twice"),
                       (["--timeout", "0", "ping"], "--timeout 0"),
                       (["--port", "70000", "ping"], "a bad port"),
                       (["tag", "add", ARN + "x", "novalue"],
                        "a tag without '='"),
                       (["identity", "create", "abc", "--tag", "=v"],
                        "--tag without a key"),
                       (["--host", "127.0.0.1", "ping"], "--host without "
                        "--port"),
                       (["--host", "h", "--port", "1", "--socket", "s",
                         "ping"], "--host and --socket")):
        rc, _, err = cli(*args)
        ok(rc == 2 and "agentvault" in err, "CLI: %s is a usage error (2)"
           % what, err)


def test_cli_secrets_on_argv():
    before = audit_ops("CreateApiKeyCredentialProvider")
    for args in (["add", "credential", "--type", "api-key", "--name", "p",
                  "--api-key", "sk-live-123"],
                 ["add", "credential", "--type", "api-key", "--name", "p",
                  "--api-key=sk-live-123"],
                 ["credential", "update", "p", "--apikey", "x"],
                 ["add", "credential", "--type", "oauth", "--name", "gh",
                  "--client-secret", "s3cret"],
                 ["token", "api-key", "--provider", "p", "--token",
                  "avwat1.x.y"],
                 ["token", "api-key", "--provider", "p", "avwat1.abc.def"]):
        rc, out, err = cli(*args)
        ok(rc == 2 and "refusing" in err and "command line" in err and
           "sk-live" not in err + out,
           "CLI: a secret on argv is refused: %s" % " ".join(
               a for a in args if "sk-" not in a and "avwat1" not in a), err)
    rc, _, err = cli("add", "credential", "--type", "api-key", "--name", "p",
                     "--api-key", "x")
    ok("--api-key-file" in err and "--api-key-stdin" in err,
       "CLI: the refusal says what to use instead")
    rc, _, err = cli("add", "credential", "--type", "oauth", "--name", "gh",
                     "--client-secret=s3cret")
    ok(rc == 2 and "--client-secret-file" in err and "s3cret" not in err,
       "CLI: a client secret on argv: the refusal names the secret "
       "sources", err)
    for args in (["--tok", "sk-live-123"], ["--tok=sk-live-123"],
                 ["--token-f", "sk-live-123"]):
        rc, out, err = cli("token", "api-key", "--provider", "p", *args)
        ok(rc == 2 and "--token-file" in err and "sk-live" not in err + out,
           "CLI: an abbreviated option is refused, its value not echoed: "
           "%s" % args[0].split("=")[0], err)
    rc, out, err = cli("add", "credential", "--type", "api-key", "--name",
                       "p", "--api-key-file", "sk-live-123")
    ok(rc == 2 and "API key file" in err and "sk-live" not in err + out,
       "CLI: a secret file that cannot be read: its name is not echoed", err)
    ok(audit_ops("CreateApiKeyCredentialProvider") == before,
       "CLI: nothing reached the appliance")


def test_cli_operations():
    rc, out, _ = cli("ping")
    ok(rc == 0 and out.startswith("agentvault ") and out.rstrip().endswith(
        ": ok"), "CLI: ping", out)
    rc, doc, _ = cli_json("ping")
    ok(rc == 0 and doc["status"] == "ok", "CLI: ping -o json")
    rc, out, _ = cli("vault", "show")
    ok(rc == 0 and "tokenVaultId: default" in out and "keyCheckValue:" in out
       and "UTC" in out, "CLI: vault show (dates readable)", out)
    rc, doc, _ = cli_json("vault", "show")
    ok(rc == 0 and doc["tokenVaultId"] == "default", "CLI: vault show -o "
       "json is the API's JSON")
    rc, doc, _ = cli_json("vault", "show", "--vault-id", "nope")
    ok(rc == 1, "CLI: vault show --vault-id nope exits 1")

    rc, out, _ = cli("identity", "create", "cli-agent", "--return-url",
                     "https://a.example/cb", "--return-url", "myapp://cb",
                     "--tag", "team=agents", "--tag", "cost center=4 2")
    ok(rc == 0 and "name: cli-agent" in out and "  - myapp://cb" in out,
       "CLI: identity create with URLs and tags", out)
    rc, doc, _ = cli_json("identity", "create", "--name", "cli-agent-2")
    ok(rc == 0 and doc["workloadIdentityArn"] == ARN + "cli-agent-2",
       "CLI: identity create --name, -o json")
    rc, _, err = cli("identity", "create", "cli-agent")
    ok(rc == 1 and "ConflictException" in err and "request " in err,
       "CLI: a taken name exits 1 with the API's error and request id", err)
    rc, out, _ = cli("identity", "get", "cli-agent")
    ok(rc == 0 and "createdTime:" in out, "CLI: identity get")
    rc, doc, _ = cli_json("identity", "update", "cli-agent", "--return-url",
                          "https://b.example/cb")
    ok(rc == 0 and doc["allowedResourceOauth2ReturnUrls"] ==
       ["https://b.example/cb"], "CLI: identity update replaces the URLs")
    rc, out, _ = cli("identity", "update", "cli-agent")
    ok(rc == 0 and "allowedResourceOauth2ReturnUrls: (none)" in out,
       "CLI: identity update without URLs empties them", out)
    rc, out, err = cli("identity", "list", "--max-results", "1")
    ok(rc == 0 and len(out.split()) == 1 and "--next-token" in err,
       "CLI: identity list, one page, says how to get more")
    rc, doc, _ = cli_json("identity", "list", "--all")
    names = [w["name"] for w in doc["workloadIdentities"]] if doc else []
    ok(rc == 0 and "cli-agent" in names and "cli-agent-2" in names and
       "nextToken" not in doc, "CLI: identity list --all -o json")
    rc, _, err = cli("identity", "list", "--all", "--max-results", "2")
    ok(rc == 2, "CLI: --all with --max-results is a usage error")
    rc, out, _ = cli("identity", "delete", "cli-agent-2")
    ok(rc == 0 and "deleted" in out, "CLI: identity delete")
    rc, _, err = cli("identity", "delete", "cli-agent-2")
    ok(rc == 1 and "ResourceNotFoundException" in err,
       "CLI: deleting it again exits 1")

    keyfile = os.path.join(WORK, "key.txt")
    with open(keyfile, "w") as f:
        f.write("sk-from-file\n")
    rc, out, _ = cli("add", "credential", "--type", "api-key", "--name",
                     "cli-file", "--api-key-file", keyfile, "--tag", "v=1")
    ok(rc == 0 and "credentialProviderArn:" in out and "sk-from" not in out,
       "CLI: add credential --api-key-file", out)
    rc, out, _ = cli("add", "credential", "--type", "api-key", "--name",
                     "cli-env", "--api-key-env", "MY_KEY",
                     env={"MY_KEY": "sk-from-env"})
    ok(rc == 0, "CLI: add credential --api-key-env")
    rc, out, _ = cli("add", "credential", "--type", "api-key", "cli-stdin",
                     "--api-key-stdin", stdin="sk-from-stdin\n")
    ok(rc == 0, "CLI: add credential --api-key-stdin")
    for args, code, what in (
            (["--type", "ftp", "--name", "x", "--api-key-stdin"], 2,
             "--type ftp"),
            (["--name", "x", "--api-key-stdin"], 2, "no --type"),
            (["--type", "api-key", "--name", "x"], 2, "no key source"),
            (["--type", "api-key", "--name", "x", "--api-key-stdin",
              "--api-key-file", keyfile], 2, "two key sources"),
            (["--type", "api-key", "--name", "x", "--api-key-file",
              "/nonexistent"], 2, "a missing key file"),
            (["--type", "api-key", "--name", "x", "--api-key-env",
              "AV_UNSET_VAR"], 2, "an unset variable"),
            (["--type", "api-key", "--name", "x", "--api-key-file",
              "/dev/null"], 2, "an empty key")):
        rc, _, err = cli("add", "credential", *args, stdin="")
        ok(rc == code, "CLI: add credential, %s" % what, err)
    test_cli_oauth2(keyfile)
    rc, out, _ = cli("credential", "get", "cli-file")
    ok(rc == 0 and "createdTime:" in out and "sk-" not in out,
       "CLI: credential get, without the key")
    rc, out, _ = cli("credential", "list")
    ok(rc == 0 and {"cli-env", "cli-file", "cli-stdin"} <= set(out.split()),
       "CLI: credential list", out)
    rc, doc, _ = cli_json("credential", "list", "--all")
    ok(rc == 0 and len(doc["credentialProviders"]) == len(out.split()),
       "CLI: credential list --all -o json")
    rc, out, _ = cli("credential", "update", "cli-stdin", "--api-key-stdin",
                     stdin="sk-updated")
    ok(rc == 0, "CLI: credential update --api-key-stdin")
    rc, out, _ = cli("credential", "delete", "cli-env")
    ok(rc == 0 and "deleted" in out, "CLI: credential delete")
    rc, _, _ = cli("credential", "delete", "cli-env")
    ok(rc == 1, "CLI: deleting it again exits 1")

    rc, out, _ = cli("tag", "add", ARN + "cli-agent", "env=prod",
                     "a b=c d")
    ok(rc == 0 and "tagged" in out, "CLI: tag add")
    rc, out, _ = cli("tag", "list", ARN + "cli-agent")
    ok(rc == 0 and sorted(out.splitlines()) == ["a b=c d", "cost center=4 2",
                                                "env=prod", "team=agents"],
       "CLI: tag list prints KEY=VALUE lines", out)
    rc, out, _ = cli("tag", "remove", ARN + "cli-agent", "a b", "env")
    ok(rc == 0 and "untagged" in out, "CLI: tag remove")
    rc, doc, _ = cli_json("tag", "list", ARN + "cli-agent")
    ok(rc == 0 and doc == {"tags": {"cost center": "4 2", "team": "agents"}},
       "CLI: tag list -o json", doc)
    rc, _, err = cli("tag", "list", ARN + "nobody-here")
    ok(rc == 1 and "ResourceNotFoundException" in err,
       "CLI: tags of a missing resource exit 1")

    rc, out, _ = cli("token", "workload", "--workload", "cli-agent")
    ok(rc == 0 and out.startswith("avwat1."), "CLI: token workload")
    rc, doc, _ = cli_json("token", "workload", "--workload", "cli-agent",
                          "--user-id", "cognito+u1")
    tok = (doc or {}).get("workloadAccessToken", "")
    ok(rc == 0 and tok.startswith("avwat1."), "CLI: token workload "
       "--user-id -o json")
    rc, _, err = cli("token", "workload", "--workload", "nobody-here")
    ok(rc == 1 and "ResourceNotFoundException" in err,
       "CLI: a token for a missing identity exits 1")
    rc, _, _ = cli("token", "workload")
    ok(rc == 2, "CLI: token workload without --workload is a usage error")
    for json_out in ([], ["-o", "json"]):
        rc, err = cli_full(*json_out, "token", "workload", "--workload",
                           "cli-agent")
        ok(rc == 3 and "cannot write the output" in err, "CLI: a token "
           "that could not be written exits 3 %s" % " ".join(json_out), err)
    rc, err = cli_full("--output=json", "identity", "list")
    ok(rc == 3 and "No space left" in err, "CLI: any output that could not "
       "be written exits 3", err)
    rc, out, _ = cli("token", "api-key", "--provider", "cli-file",
                     "--workload", "cli-agent", "--user-id", "cognito+u1")
    ok(rc == 0 and out == "sk-from-file\n", "CLI: token api-key --workload "
       "--user-id prints the key", out)
    tokfile = os.path.join(WORK, "token")
    with open(tokfile, "w") as f:
        f.write(tok + "\n")
    rc, doc, _ = cli_json("token", "api-key", "--provider", "cli-stdin",
                          "--token-file", tokfile)
    ok(rc == 0 and doc == {"apiKey": "sk-updated"}, "CLI: token api-key "
       "--token-file -o json", doc)
    rc, _, err = cli("token", "api-key", "--provider", "cli-none",
                     "--token-file", tokfile)
    ok(rc == 1 and "ResourceNotFoundException" in err,
       "CLI: an unknown provider exits 1")
    for args, what in ((["--provider", "p"], "neither --workload nor "
                        "--token-file"),
                       (["--provider", "p", "--workload", "w",
                         "--token-file", tokfile], "both"),
                       (["--workload", "w"], "no --provider"),
                       (["--provider", "p", "--token-file", tokfile,
                         "--user-id", "u"], "--user-id with --token-file")):
        rc, _, _ = cli("token", "api-key", *args)
        ok(rc == 2, "CLI: token api-key with %s is a usage error" % what)


def test_cli_oauth2(secretfile):
    """OAuth2 providers: add credential --type oauth and the credential
    commands with --type oauth (the secret never on argv, never shown)."""
    rc, out, err = cli("add", "credential", "--type", "oauth", "--name",
                       "cli-gh", "--vendor", "GithubOauth2", "--client-id",
                       "Iv1.cli", "--client-secret-file", secretfile,
                       "--tag", "team=agents")
    ok(rc == 0 and "oauth2credentialprovider/cli-gh" in out and
       "githubOauth2ProviderConfig:" in out and
       "https://github.com/login/oauth/access_token" in out and
       "sk-from" not in out, "CLI: add credential --type oauth --vendor "
       "GithubOauth2", out + err)
    # The seed's example, its secret from the environment: the appliance
    # fetches the discovery document at once, and this machine has no
    # network, so the refusal names the fetch and echoes no secret (the
    # fetched case: tests/oauth/test_m2m.py against oidc-provider).
    rc, _, err = cli("add", "credential", "--type", "oauth", "--name",
                     "github-provider", "--discovery-url",
                     "https://github.com/.well-known/openid-configuration",
                     "--client-id", "gh-id", "--client-secret-env",
                     "GH_CLIENT_SECRET", env={"GH_CLIENT_SECRET":
                                              "gh-secret-env"})
    ok(rc == 1 and "ValidationException" in err and "discoveryUrl" in err
       and "gh-secret" not in err,
       "CLI: the seed's add credential --type oauth --discovery-url "
       "(CustomOauth2) reaches the appliance, which fetches the document",
       err)
    rc, doc, err = cli_json("add", "credential", "--type", "oauth",
                            "--name", "cli-entra", "--vendor",
                            "MicrosoftOauth2", "--tenant-id",
                            "contoso.onmicrosoft.com", "--client-id", "e",
                            "--client-secret-stdin", stdin="entra-secret\n")
    md = (doc or {}).get("oauth2ProviderConfigOutput", {}).get(
        "microsoftOauth2ProviderConfig", {}).get("oauthDiscovery", {}).get(
            "authorizationServerMetadata", {})
    ok(rc == 0 and "contoso.onmicrosoft.com" in md.get("tokenEndpoint", ""),
       "CLI: --vendor MicrosoftOauth2 --tenant-id, secret on stdin", err)
    rc, doc, err = cli_json("add", "credential", "--type", "oauth",
                            "--name", "cli-meta", "--issuer",
                            "https://idp.example.com", "--authorization-"
                            "endpoint", "https://idp.example.com/a",
                            "--token-endpoint", "https://idp.example.com/t",
                            "--client-auth", "post", "--client-id", "m",
                            "--client-secret-file", secretfile)
    out = (doc or {}).get("oauth2ProviderConfigOutput", {}).get(
        "customOauth2ProviderConfig", {})
    ok(rc == 0 and out.get("clientAuthenticationMethod") ==
       "CLIENT_SECRET_POST" and out["oauthDiscovery"][
           "authorizationServerMetadata"]["tokenEndpoint"] ==
       "https://idp.example.com/t",
       "CLI: CustomOauth2 with explicit endpoints and --client-auth post",
       err)
    rc, _, err = cli("add", "credential", "--type", "oauth", "--name",
                     "cli-okta", "--vendor", "OktaOauth2", "--client-id", "o",
                     "--client-secret-file", secretfile)
    ok(rc == 1 and "ValidationException" in err and "needs issuer" in err,
       "CLI: the appliance's refusal of a preset without its issuer", err)
    for args, what in (
            (["--name", "x", "--client-secret-stdin", "--discovery-url",
              "https://i.example/.well-known/openid-configuration"],
             "no --client-id"),
            (["--name", "x", "--client-id", "i", "--discovery-url",
              "https://i.example/.well-known/openid-configuration"],
             "no client secret"),
            (["--name", "x", "--client-id", "i", "--client-secret-stdin",
              "--client-secret-file", secretfile, "--discovery-url",
              "https://i.example/.well-known/openid-configuration"],
             "two secret sources"),
            (["--name", "x", "--client-id", "i", "--api-key-file",
              secretfile, "--discovery-url",
              "https://i.example/.well-known/openid-configuration"],
             "an API-key source"),
            (["--name", "x", "--client-id", "i", "--client-secret-stdin"],
             "CustomOauth2 without endpoints"),
            (["--name", "x", "--client-id", "i", "--client-secret-stdin",
              "--vendor", "GithubOauth2", "--discovery-url",
              "https://i.example/.well-known/openid-configuration"],
             "--discovery-url with a preset"),
            (["--name", "x", "--client-id", "i", "--client-secret-stdin",
              "--discovery-url", "https://i.example/.well-known/"
              "openid-configuration", "--scopes", "repo,user"], "--scopes"),
            (["--name", "x", "--client-id", "i", "--client-secret-stdin",
              "--discovery-url", "https://i.example/.well-known/"
              "openid-configuration", "--client-auth", "jwt"],
             "--client-auth jwt")):
        rc, _, err = cli("add", "credential", "--type", "oauth", *args,
                         stdin="s")
        ok(rc == 2 and "agentvault" in err, "CLI: add credential --type "
           "oauth with %s is a usage error" % what, err)
    rc, _, err = cli("add", "credential", "--type", "api-key", "--name", "x",
                     "--api-key-stdin", "--client-id", "i", stdin="k")
    ok(rc == 2 and "--type oauth" in err, "CLI: OAuth2 options with --type "
       "api-key are a usage error", err)

    rc, out, _ = cli("credential", "get", "cli-gh", "--type", "oauth")
    ok(rc == 0 and "credentialProviderVendor: GithubOauth2" in out and
       "createdTime:" in out and "sk-from" not in out,
       "CLI: credential get --type oauth", out)
    rc, _, err = cli("credential", "get", "cli-gh")
    ok(rc == 1 and "ResourceNotFoundException" in err,
       "CLI: credential get without --type looks for an API-key provider")
    rc, out, _ = cli("credential", "list", "--type", "oauth")
    ok(rc == 0 and {"cli-gh", "cli-entra", "cli-meta"} <=
       set(out.split()) and
       "cli-file" not in out.split(), "CLI: credential list --type oauth",
       out)
    rc, doc, _ = cli_json("credential", "update", "cli-gh", "--type",
                          "oauth", "--vendor", "GithubOauth2",
                          "--client-id", "Iv1.new")
    ok(rc == 0 and doc["oauth2ProviderConfigOutput"][
        "githubOauth2ProviderConfig"]["clientId"] == "Iv1.new",
       "CLI: credential update --type oauth, keeping the secret")
    rc, _, err = cli("credential", "update", "cli-gh", "--type", "oauth",
                     "--api-key-stdin", stdin="k")
    ok(rc == 2, "CLI: credential update --type oauth with an API-key "
       "source is a usage error", err)
    rc, out, _ = cli("credential", "delete", "cli-gh", "--type", "oauth")
    ok(rc == 0 and "OAuth2 credential provider" in out and "deleted" in out,
       "CLI: credential delete --type oauth", out)
    rc, _, _ = cli("credential", "delete", "cli-gh", "--type", "oauth")
    ok(rc == 1, "CLI: deleting it again exits 1")
    for name in ("cli-entra", "cli-meta"):
        cli("credential", "delete", name, "--type", "oauth")


def test_cli_oauth2_token(fake_ca, ctx):
    """token oauth2 and session complete against a fake appliance: the
    requests, the token alone on stdout, the session and exit 6, --wait,
    the usage errors."""
    fake = Fake(os.path.join(WORK, "cli-oauth.sock"), "oauth", ctx)
    base = ["--socket", fake.path, "--ca", fake_ca]
    tokfile = os.path.join(WORK, "cli-wat")
    with open(tokfile, "w") as f:
        f.write("avwat1.fake.token\n")
    m2m = ["token", "oauth2", "--provider", "m2m", "--flow", "M2M",
           "--scopes", "read,write"]
    rc, out, err = cli(*base, *m2m, "--token-file", tokfile)
    ok(rc == 0 and out == "m2m-token\n" and err == "", "CLI: token oauth2 "
       "--flow M2M prints the token alone", (rc, out, err))
    ok(fake.requests[-1][1:] == ("/identities/oauth2/token", {
        "workloadIdentityToken": "avwat1.fake.token",
        "resourceCredentialProviderName": "m2m", "oauth2Flow": "M2M",
        "scopes": ["read", "write"]}), "CLI: its request",
       fake.requests[-1])
    rc, doc, err = cli_json(*base, *m2m, "--workload", "w")
    ok(rc == 0 and doc == {"accessToken": "m2m-token"} and
       fake.requests[-2][1] == "/identities/GetWorkloadAccessToken",
       "CLI: -o json, with a workload token minted for --workload", err)

    fed = ["token", "oauth2", "--provider", "consent", "--flow",
           "USER_FEDERATION", "--scopes", "repo", "--token-file", tokfile]
    rc, out, err = cli(*base, *fed, "--return-url", "https://app.example/cb",
                       "--force", "--custom-param", "prompt=consent",
                       "--custom-param", "login_hint=a=b", "--custom-state",
                       "st-9", "--resource", "https://api.example/",
                       "--resource", "https://api2.example/", "--audience",
                       "aud-1")
    ok(rc == 6 and out == "authorizationUrl: https://idp.example/authorize"
       "?s=1\nsessionUri: urn:ietf:params:oauth:request_uri:s1\n"
       "sessionStatus: IN_PROGRESS\n" and "--session-uri" in err,
       "CLI: consent needed: the URL, session URI and status, exit 6",
       (rc, out, err))
    ok(fake.requests[-1][2] == {
        "workloadIdentityToken": "avwat1.fake.token",
        "resourceCredentialProviderName": "consent",
        "oauth2Flow": "USER_FEDERATION", "scopes": ["repo"],
        "resourceOauth2ReturnUrl": "https://app.example/cb",
        "forceAuthentication": True,
        "customParameters": {"prompt": "consent", "login_hint": "a=b"},
        "customState": "st-9",
        "resources": ["https://api.example/", "https://api2.example/"],
        "audiences": ["aud-1"]}, "CLI: every option in the request",
       fake.requests[-1][2])
    rc, doc, _ = cli_json(*base, *fed)
    ok(rc == 6 and doc == {
        "authorizationUrl": "https://idp.example/authorize?s=1",
        "sessionUri": "urn:ietf:params:oauth:request_uri:s1",
        "sessionStatus": "IN_PROGRESS"}, "CLI: -o json: the session", doc)
    sess = ["--session-uri", "urn:ietf:params:oauth:request_uri:cli1"]
    rc, out, _ = cli(*base, *fed, *sess)
    ok(rc == 6 and out == "sessionUri: urn:ietf:params:oauth:request_uri:"
       "cli1\nsessionStatus: IN_PROGRESS\n", "CLI: --session-uri, not "
       "authorized yet: exit 6", out)
    rc, out, err = cli(*base, *fed, *sess)
    ok(rc == 0 and out == "gho_\u00e9t\n", "CLI: --session-uri once "
       "authorized: the token", (rc, out, err))
    start = time.monotonic()
    rc, out, err = cli(*base, *fed, "--wait")
    ok(rc == 0 and out == "gho_\u00e9t\n" and
       "https://idp.example/authorize?s=1" in err and
       "request_uri:s1" in err and time.monotonic() - start < 10,
       "CLI: --wait: the URL on stderr, the token alone on stdout",
       (rc, out, err))
    fed[3] = "never"
    start = time.monotonic()
    rc, out, err = cli(*base, *fed, "--wait", "--wait-timeout", "2")
    ok(rc == 6 and out == "" and "not authorized within 2 s" in err and
       time.monotonic() - start < 8, "CLI: --wait past --wait-timeout: "
       "exit 6", (rc, out, err))
    fed[3] = "fails"
    rc, out, err = cli(*base, *fed, *sess, "--wait")
    ok(rc == 1 and out == "" and "AuthorizationError" in err,
       "CLI: a failed session: exit 1", (rc, out, err))
    fed[3] = "bad-url"
    rc, out, err = cli(*base, *fed)
    ok(rc == 3 and out == "" and "ProtocolError" in err, "CLI: a malformed "
       "reply: exit 3", (rc, out, err))
    fed[3] = "old"
    rc, _, err = cli(*base, *fed)
    ok(rc == 4 and "NotSupportedError" in err, "CLI: an appliance without "
       "the operation: exit 4", err)

    done = ["session", "complete", "--session-uri",
            "urn:ietf:params:oauth:request_uri:s1"]
    rc, out, _ = cli(*base, *done, "--user-id", "alice")
    ok(rc == 0 and out == "completed session urn:ietf:params:oauth:"
       "request_uri:s1 for user alice\n" and fake.requests[-1][1:] == (
           "/identities/CompleteResourceTokenAuth", {
               "sessionUri": "urn:ietf:params:oauth:request_uri:s1",
               "userIdentifier": {"userId": "alice"}}),
       "CLI: session complete", out)
    rc, out, _ = cli(*base, "-o", "json", *done, "--user-id", "alice")
    ok(rc == 0 and out == "{}\n", "CLI: session complete -o json", out)
    rc, _, err = cli(*base, *done, "--user-id", "mallory")
    ok(rc == 1 and "AccessDeniedException" in err, "CLI: session complete "
       "for another user: exit 1", err)
    n = len(fake.requests)
    for args, what in (
            (m2m[:-2] + ["--token-file", tokfile], "no --scopes"),
            (m2m[:4] + m2m[6:] + ["--token-file", tokfile], "no --flow"),
            (m2m[:5] + ["IMPLICIT"] + m2m[6:] + ["--token-file", tokfile],
             "--flow IMPLICIT"),
            (m2m, "neither --workload nor --token-file"),
            (m2m + ["--scopes", "x", "--token-file", tokfile],
             "--scopes twice"),
            (m2m[:-1] + ["a,", "--token-file", tokfile], "an empty scope"),
            (fed + ["--return-url", "https://a/", "--return-url",
                    "https://b/"], "two --return-url"),
            (fed + ["--wait-timeout", "5"], "--wait-timeout without --wait"),
            (fed + ["--custom-param", "novalue"], "--custom-param without "
             "'='"),
            (fed + ["--custom-param=k%d=v" % i for i in range(11)],
             "11 --custom-param"),
            (fed + ["--name", "x"], "an option of another command"),
            (done, "session complete without --user-id"),
            (done[:2] + ["--user-id", "u"], "session complete without "
             "--session-uri")):
        rc, _, err = cli(*base, *args)
        ok(rc == 2 and "agentvault" in err, "CLI: token oauth2 / session "
           "complete with %s is a usage error (2)" % what, err)
    ok(len(fake.requests) == n, "CLI: the usage errors sent nothing")
    fake.close()


# ---- policies: offline simulation, then the admin API -----------------------

EXAMPLES = os.path.join(td.TOP, "policy", "examples")
ONE = os.path.join(EXAMPLES, "one-workload.yaml")
DENY = os.path.join(EXAMPLES, "deny-provider.json")
ABAC = os.path.join(EXAMPLES, "tenant-abac.yaml")
SEED_ACCOUNT = "arn:aws:bedrock-agentcore:us-east-1:123456789012:"
SUPPORT = SEED_ACCOUNT + ("workload-identity-directory/default/"
                          "workload-identity/support-agent")
VAULT_KEY = SEED_ACCOUNT + "token-vault/default/apikeycredentialprovider/zd"
WI = "bedrock-agentcore:workloadIdentityArn="
PROVIDER = "bedrock-agentcore:resourceCredentialProvider="


def simulate(*args, **kw):
    return cli("policy", "simulate", *args, **kw)


def decided(decision, by):
    return "%s\n  decided by: %s\n" % (decision, by)


def context(*pairs):
    return [a for p in pairs for a in ("--context", p)]


def test_cli_simulate_offline():
    """policy simulate against files: no appliance (and no CA) needed."""
    cases = (
        ([ONE], "GetResourceApiKey", "*", [WI + SUPPORT], "Allow",
         "one-workload statement SupportAgentEverything",
         "one-workload: the support agent may do anything"),
        ([ONE, DENY], "GetResourceOauth2Token", "*",
         [WI + SUPPORT, PROVIDER + "gitlab"], "ExplicitDeny",
         "deny-provider statement OnlyGithubTokens",
         "one-workload with deny-provider: the Deny beats its Allow"),
        ([ONE], "GetResourceApiKey", "*", [WI + SUPPORT[:-1]],
         "ImplicitDeny", "no statement allows it",
         "one-workload: another workload gets nothing"),
        ([ONE], "other:GetResourceApiKey", "*", [WI + SUPPORT],
         "ImplicitDeny", "no statement allows it",
         "an action with ':' is taken as it is"),
        ([DENY], "GetResourceOauth2Token", "*", [PROVIDER + "github-provider"],
         "Allow", "deny-provider statement VendCredentials",
         "deny-provider: GitHub tokens are vended"),
        ([DENY], "bedrock-agentcore:GetResourceOauth2Token", "*",
         [PROVIDER + "gitlab"], "ExplicitDeny",
         "deny-provider statement OnlyGithubTokens",
         "deny-provider: other OAuth2 tokens are denied"),
        ([DENY], "CreateWorkloadIdentity", "*", [], "ImplicitDeny",
         "no statement allows it", "deny-provider: nothing else is allowed"),
        ([ABAC], "GetResourceApiKey", VAULT_KEY,
         ["aws:ResourceTag/tenant=acme", "aws:PrincipalTag/tenant=acme"],
         "Allow", "tenant-abac statement SameTenant",
         "tenant-abac: a provider of the caller's tenant"),
        ([ABAC], "CreateApiKeyCredentialProvider", "*",
         ["aws:RequestTag/tenant=acme", "aws:PrincipalTag/tenant=acme",
          "aws:TagKeys=tenant", "aws:TagKeys=owner"], "Allow",
         "tenant-abac statement CreateForOwnTenant",
         "tenant-abac: a repeated --context key is multi-valued"),
        ([ABAC, DENY], "GetResourceOauth2Token", VAULT_KEY,
         ["aws:ResourceTag/tenant=acme", "aws:PrincipalTag/tenant=acme",
          PROVIDER + "gitlab"], "ExplicitDeny",
         "deny-provider statement OnlyGithubTokens",
         "tenant-abac with deny-provider: the Deny beats SameTenant"),
        ([ABAC], "GetResourceApiKey", VAULT_KEY,
         ["aws:ResourceTag/tenant=acme", "aws:PrincipalTag/tenant=globex"],
         "ImplicitDeny", "no statement allows it",
         "tenant-abac: another tenant's provider"),
        ([ABAC], "CreateApiKeyCredentialProvider", "*",
         ["aws:RequestTag/tenant=acme", "aws:PrincipalTag/tenant=acme",
          "aws:TagKeys=tenant", "aws:TagKeys=cost"], "ImplicitDeny",
         "no statement allows it", "tenant-abac: a tag key outside "
         "[tenant, owner]"),
    )
    for files, action, resource, ctx, decision, by, what in cases:
        args = [a for f in files for a in ("--policy-file", f)]
        rc, out, err = simulate(*args, "--action", action, "--resource",
                                resource, *context(*ctx), sock_env=False)
        ok(rc == (0 if decision == "Allow" else 5) and
           out == decided(decision, by), "CLI: simulate offline, %s: %s "
           "(exit %d)" % (what, decision, rc), out + err)

    rc, doc, err = cli_json("policy", "simulate", "--policy-file", DENY,
                            "--action", "GetResourceOauth2Token",
                            "--resource", "*", *context(PROVIDER + "x"),
                            sock_env=False)
    ok(rc == 5 and doc == {
        "action": "bedrock-agentcore:GetResourceOauth2Token",
        "resource": "*", "decision": "ExplicitDeny",
        "matchedStatement": {"policy": "deny-provider",
                             "sid": "OnlyGithubTokens", "index": 1},
        "explanation": "ExplicitDeny by deny-provider statement "
        "OnlyGithubTokens"}, "CLI: simulate offline -o json: "
       "SimulatePrincipalPolicy's reply", doc or err)

    # A directory: its *.yaml, *.yml, *.json by name, nothing else.
    pdir = os.path.join(WORK, "policies")
    os.makedirs(pdir)
    shutil.copy(DENY, os.path.join(pdir, "b-deny.json"))
    shutil.copy(ABAC, os.path.join(pdir, "a-abac.yml"))
    for junk in ("notes.txt", ".hidden.yaml", "a-abac.yml~"):
        with open(os.path.join(pdir, junk), "w") as f:
            f.write("not: [a policy\n")
    rc, out, err = simulate("--policy-dir", pdir, "--action",
                            "GetResourceApiKey", "--resource", VAULT_KEY,
                            *context("aws:ResourceTag/tenant=acme",
                                     "aws:PrincipalTag/tenant=acme"),
                            sock_env=False)
    ok(rc == 0 and out == decided("Allow", "a-abac statement SameTenant"),
       "CLI: simulate --policy-dir reads *.yaml, *.yml, *.json in name "
       "order, named by their stems", out + err)
    rc, out, err = simulate("--policy-dir", pdir, "--action",
                            "GetResourceOauth2Token", "--resource", "*",
                            *context(PROVIDER + "gitlab"), sock_env=False)
    ok(rc == 5 and out == decided("ExplicitDeny", "b-deny statement "
                                  "OnlyGithubTokens"),
       "CLI: simulate --policy-dir, an explicit deny", out + err)

    rc, out, err = simulate("--policy", "AgentVaultReadOnlyAccess",
                            "--action", "GetPolicy", "--resource", "*",
                            sock_env=False)
    ok(rc == 0 and out == decided("Allow", "AgentVaultReadOnlyAccess "
                                  "statement ReadOnly"),
       "CLI: simulate a built-in policy by name", out + err)
    rc, out, err = simulate("--policy-file", DENY, "--policy",
                            "AgentVaultReadOnlyAccess", "--action",
                            "DeletePolicy", "--resource", "*",
                            sock_env=False)
    ok(rc == 5 and out == decided("ImplicitDeny", "no statement allows it"),
       "CLI: simulate files and built-ins together", out + err)
    nosid = os.path.join(WORK, "nosid.yaml")
    with open(nosid, "w") as f:
        f.write('Version: "2012-10-17"\nStatement:\n'
                '  - Effect: Allow\n    Action: "*"\n    Resource: "*"\n'
                '  - Effect: Deny\n    Action: bedrock-agentcore:Delete*\n'
                '    Resource: "*"\n')
    rc, out, err = simulate("--policy-file", nosid, "--action",
                            "DeletePolicy", "--resource", "*",
                            sock_env=False)
    ok(rc == 5 and out == decided("ExplicitDeny", "nosid Statement[1]"),
       "CLI: a statement without Sid is named by its index", out + err)

    bad = os.path.join(WORK, "bad.yaml")
    with open(bad, "w") as f:
        f.write('Version: "2012-10-17"\nStatement:\n  - Effect: Allow\n'
                '    Action: "*"\n    Resourc: "*"\n')
    base = ["--action", "GetPolicy", "--resource", "*"]
    for args, want, what in (
            (["--policy-file", bad] + base, bad + ":5:5: ",
             "a bad policy file, saying file:line:column"),
            (["--policy-dir", pdir, "--policy-file", bad] + base,
             "not both",
             "--policy-dir with --policy-file"),
            (["--policy-file", DENY, "--resource", "*"], "--action",
             "a missing --action"),
            (["--policy-file", DENY, "--action", "GetPolicy"], "--resource",
             "a missing --resource"),
            (["--policy-file", DENY, "--bogus"] + base, "unknown option",
             "an unknown option"),
            (["--policy-fil", DENY] + base, "in full", "an abbreviated "
             "option"),
            (["--policy", "NoSuchPolicy"] + base, "AgentVaultFullAccess",
             "an unknown built-in"),
            (["--policy-file", "/nonexistent.yaml"] + base,
             "/nonexistent.yaml", "a missing file"),
            (["--policy-file", DENY, "--principal", "p"] + base, "not both",
             "--principal offline"),
            (["--policy-file", DENY, "--context", "novalue"] + base,
             "KEY=VALUE", "a --context without '='")):
        rc, out, err = simulate(*args, sock_env=False)
        ok(rc == 2 and out == "" and want in err, "CLI: simulate offline "
           "refuses %s (exit 2)" % what, err)

    # The other policy commands check their arguments before any call.
    big = os.path.join(WORK, "big.yaml")
    with open(big, "w") as f:
        f.write("#" * 65537)
    for args, want, what in (
            (["create", "p"], "--file", "policy create without --file"),
            (["create", "p", "--file", "/nonexistent"], "/nonexistent",
             "policy create with a missing file"),
            (["update", "p", "--file", big], "65536", "a document over "
             "65536 bytes"),
            (["update", "p", "--file", DENY, "--description", "d"],
             "--description", "policy update --description"),
            (["attach", "--principal", "p"], "--policy", "policy attach "
             "without --policy"),
            (["detach", "--policy", "a", "--policy", "b", "--principal",
              "p"], "one --policy", "policy detach with two policies"),
            (["get"], "NAME", "policy get without a name")):
        rc, out, err = cli("policy", *args)
        ok(rc == 2 and want in err, "CLI: %s is a usage error (2)" % what,
           err)


def test_cli_policy_requests(fake_ca, ctx):
    """What the policy commands send and how they print it, against a
    fake that answers as the contract says."""
    fake = Fake(os.path.join(WORK, "cli-policy.sock"), "policy", ctx)
    base = ["--socket", fake.path, "--ca", fake_ca]
    rc, out, err = cli(*base, "policy", "simulate", "--action",
                       "GetResourceApiKey", "--resource", "*",
                       *context("aws:TagKeys=tenant", "k=v=w",
                                "aws:TagKeys=owner"))
    ok(rc == 5 and out == decided("ExplicitDeny", "p?[2J Statement[3]"),
       "CLI: simulate online prints the decision and the statement, "
       "filtered (exit 5)", out + err)
    ok(fake.requests[-1][1:] == ("/policies/SimulatePrincipalPolicy", {
        "action": "bedrock-agentcore:GetResourceApiKey", "resource": "*",
        "context": {"aws:TagKeys": ["tenant", "owner"], "k": "v=w"}}),
       "CLI: simulate sends the full action, a repeated key as a list, no "
       "principal by default", fake.requests[-1])
    rc, out, err = cli(*base, "policy", "create", "p", "--file", DENY,
                       "--description", "d")
    with open(DENY) as f:
        ok(rc == 0 and fake.requests[-1][1:] == ("/policies/CreatePolicy", {
            "name": "p", "document": f.read(), "description": "d"}),
           "CLI: policy create sends the file's text as the document",
           fake.requests[-1])
    rc, out, err = cli(*base, "policy", "update", "p", "--file", "-",
                       stdin="Version: x\n")
    ok(rc == 0 and fake.requests[-1][1:] == ("/policies/UpdatePolicy", {
        "name": "p", "document": "Version: x\n"}),
       "CLI: policy update --file - sends standard input",
       fake.requests[-1])
    rc, out, err = cli(*base, "policy", "get", "p")
    ok(rc == 0 and "source: file\npath: /etc/agentvault/policies/p.yaml\n"
       in out and out.endswith("\nStatement:\n\t- Sid: A?[2J\n"),
       "CLI: policy get prints the document's lines, control characters "
       "filtered", repr(out + err))
    rc, out, err = cli(*base, "principal", "get", "agents")
    ok(rc == 0 and "policies:\n  - AgentVaultAgentAccess (configuration)\n"
       "  - mine (api)\n" in out and "tags:\n  tenant: acme\n" in out,
       "CLI: principal get prints each policy with who attached it", out)
    for args, path, body in (
            (["policy", "list", "--max-results", "5"],
             "/policies/ListPolicies", {"maxResults": 5}),
            (["policy", "delete", "--name", "p"], "/policies/DeletePolicy",
             {"name": "p"}),
            (["policy", "attach", "--principal", "agents", "--policy", "p"],
             "/policies/AttachPrincipalPolicy",
             {"principalName": "agents", "policyName": "p"}),
            (["policy", "detach", "--policy", "p", "--principal", "agents"],
             "/policies/DetachPrincipalPolicy",
             {"principalName": "agents", "policyName": "p"}),
            (["policy", "simulate", "--principal", "agents", "--action",
              "x:y", "--resource", "arn:r"],
             "/policies/SimulatePrincipalPolicy",
             {"principalName": "agents", "action": "x:y",
              "resource": "arn:r"}),
            (["principal", "list"], "/principals/ListPrincipals", {})):
        cli(*base, *args)
        ok(fake.requests[-1][1:] == (path, body), "CLI: %s sends %s" %
           (" ".join(args[:2]), path), fake.requests[-1])
    fake.close()


def test_cli_policies():
    """The policy admin API through the CLI."""
    rc, out, err = cli("policy", "list")
    if rc == 1 and "unknown operation" in err:
        ok(True, "# SKIP the daemon has no policy admin API yet")
        return
    ok(rc == 0 and "AgentVaultFullAccess (built-in)" in out.splitlines(),
       "CLI: policy list shows the built-ins with their source", out + err)
    rc, out, err = cli("policy", "list", "--max-results", "1")
    ok(rc == 0 and len(out.splitlines()) == 1 and "--next-token" in err,
       "CLI: policy list, one page, says how to get more", out + err)

    rc, out, err = cli("policy", "create", "cli-abac", "--file", ABAC,
                       "--description", "one tenant each")
    ok(rc == 0 and "policyArn: arn:" in out and ":policy/cli-abac" in out
       and "source: api" in out, "CLI: policy create --file", out + err)
    rc, _, err = cli("policy", "create", "cli-abac", "--file", ABAC)
    ok(rc == 1 and "ConflictException" in err, "CLI: a taken name exits 1",
       err)
    rc, _, err = cli("policy", "create", "AgentVaultFullAccess", "--file",
                     ABAC)
    ok(rc == 1 and "ConflictException" in err, "CLI: a built-in's name is "
       "taken", err)
    rc, _, err = cli("policy", "create", "cli-bad", "--file",
                     os.path.join(WORK, "bad.yaml"))
    ok(rc == 1 and "ValidationException" in err and "cli-bad:5:5: " in err,
       "CLI: a bad document exits 1 with NAME:LINE:COLUMN", err)
    with open(DENY) as f:
        deny_text = f.read()
    rc, doc, err = cli_json("policy", "create", "--name", "cli-deny",
                            "--file", "-", stdin=deny_text)
    ok(rc == 0 and doc.get("source") == "api" and
       doc.get("policyArn", "").endswith(":policy/cli-deny"),
       "CLI: policy create --file - reads standard input", doc or err)

    rc, out, err = cli("policy", "get", "cli-abac")
    ok(rc == 0 and "source: api" in out and "description: one tenant each"
       in out and "\nStatement:\n  - Sid: SameTenant\n" in out,
       "CLI: policy get prints where it comes from, then the document",
       out + err)
    rc, doc, _ = cli_json("policy", "get", "cli-abac")
    with open(ABAC) as f:
        ok(rc == 0 and doc["document"] == f.read(), "CLI: policy get -o "
           "json has the document as it was sent")
    rc, out, _ = cli("policy", "get", "AgentVaultFullAccess")
    ok(rc == 0 and "source: built-in" in out and "FullAccess" in out,
       "CLI: policy get of a built-in", out)
    rc, out, err = cli("policy", "update", "cli-abac", "--file", ONE)
    ok(rc == 0 and "name: cli-abac" in out, "CLI: policy update", out + err)
    rc, out, _ = cli("policy", "get", "cli-abac")
    ok("SupportAgentEverything" in out, "CLI: the update replaced the "
       "document", out)
    rc, _, err = cli("policy", "update", "AgentVaultFullAccess", "--file",
                     ONE)
    ok(rc == 1 and "ValidationException" in err, "CLI: a built-in cannot "
       "be updated", err)

    rc, out, err = cli("policy", "attach", "--principal", "agents",
                       "--policy", "cli-deny")
    ok(rc == 0 and out == "attached policy cli-deny to principal agents\n",
       "CLI: policy attach", out + err)
    rc, _, err = cli("policy", "attach", "--principal", "agents",
                     "--policy", "cli-deny")
    ok(rc == 1 and "ConflictException" in err, "CLI: attaching it twice "
       "exits 1", err)
    rc, _, err = cli("policy", "attach", "--principal", "nobody-here",
                     "--policy", "cli-deny")
    ok(rc == 1 and "ResourceNotFoundException" in err, "CLI: attaching to "
       "an unknown principal exits 1", err)
    rc, out, err = cli("principal", "get", "agents")
    ok(rc == 0 and "  - AgentVaultAgentAccess (configuration)" in out and
       "  - cli-deny (api)" in out, "CLI: principal get lists its policies "
       "and who attached them", out + err)
    rc, doc, _ = cli_json("principal", "get", "agents")
    ok(rc == 0 and {"name": "cli-deny", "attachedBy": "api"} in
       doc.get("policies", []), "CLI: principal get -o json", doc)
    rc, out, err = cli("principal", "list")
    names = [l.split()[0] for l in out.splitlines()]
    ok(rc == 0 and "admin" in names and "agents" in names,
       "CLI: principal list", out + err)
    rc, _, err = cli("principal", "get", "nobody-here")
    ok(rc == 1 and "ResourceNotFoundException" in err, "CLI: an unknown "
       "principal exits 1", err)
    rc, out, _ = cli("policy", "get", "cli-deny")
    ok(rc == 0 and "attachedTo:\n  - agents\n" in out, "CLI: policy get "
       "shows where it is attached", out)

    for args, rc_want, want, what in (
            (["--principal", "agents", "--action", "GetResourceOauth2Token",
              "--resource", "*"] + context(PROVIDER + "gitlab"), 5,
             decided("ExplicitDeny", "cli-deny statement OnlyGithubTokens"),
             "the attached Deny decides"),
            (["--principal", "agents", "--action",
              "bedrock-agentcore:CreateWorkloadIdentity", "--resource", "*"],
             5, decided("ImplicitDeny", "no statement allows it"),
             "nothing allows an agent to create"),
            (["--action", "CreatePolicy", "--resource", "*"], 0,
             decided("Allow", "AgentVaultFullAccess statement FullAccess"),
             "the caller's own principal by default")):
        rc, out, err = simulate(*args)
        ok(rc == rc_want and out == want, "CLI: simulate online, %s (exit "
           "%d)" % (what, rc), out + err)
    rc, doc, err = cli_json("policy", "simulate", "--principal", "agents",
                            "--action", "GetResourceApiKey", "--resource",
                            "*")
    ok(rc == 0 and doc.get("principalName") == "agents" and
       doc.get("decision") == "Allow" and "explanation" in doc,
       "CLI: simulate online -o json", doc or err)
    rc, _, err = simulate("--principal", "nobody-here", "--action",
                          "GetTokenVault", "--resource", "*")
    ok(rc == 1 and "ResourceNotFoundException" in err, "CLI: simulating "
       "an unknown principal exits 1", err)

    rc, _, err = cli("policy", "delete", "cli-deny")
    ok(rc == 1 and "ConflictException" in err, "CLI: an attached policy "
       "cannot be deleted", err)
    rc, out, err = cli("policy", "detach", "--principal", "agents",
                       "--policy", "cli-deny")
    ok(rc == 0 and out == "detached policy cli-deny from principal "
       "agents\n", "CLI: policy detach", out + err)
    rc, _, err = cli("policy", "detach", "--principal", "agents",
                     "--policy", "cli-deny")
    ok(rc == 1 and "ResourceNotFoundException" in err, "CLI: detaching it "
       "again exits 1", err)
    rc, _, err = cli("policy", "detach", "--principal", "agents",
                     "--policy", "AgentVaultAgentAccess")
    ok(rc == 1 and "ValidationException" in err, "CLI: a policy attached "
       "by the configuration is not detached", err)
    for name in ("cli-deny", "cli-abac"):
        rc, out, err = cli("policy", "delete", name)
        ok(rc == 0 and out == "deleted policy %s\n" % name,
           "CLI: policy delete %s" % name, out + err)
    rc, _, err = cli("policy", "get", "cli-deny")
    ok(rc == 1 and "ResourceNotFoundException" in err, "CLI: a deleted "
       "policy is gone", err)
    rc, _, err = cli("policy", "delete", "AgentVaultFullAccess")
    ok(rc == 1 and "ValidationException" in err, "CLI: a built-in cannot "
       "be deleted", err)


def test_cli_sockets():
    rc, out, _ = cli("vault", "show", env={"AGENTVAULT_SOCKET": AGENT})
    ok(rc == 1, "CLI: AGENTVAULT_SOCKET is used (the agent socket refuses "
       "vault show)")
    rc, out, err = cli("--socket", ADMIN, "vault", "show",
                       env={"AGENTVAULT_SOCKET": AGENT})
    ok(rc == 0, "CLI: --socket beats AGENTVAULT_SOCKET", err)
    rc, out, _ = cli("--run-dir", RUN, "vault", "show",
                     env={"AGENTVAULT_SOCKET": AGENT})
    ok(rc == 0, "CLI: --run-dir beats AGENTVAULT_SOCKET")
    rc, out, _ = cli("--ca", CA, "--run-dir", RUN, "ping", sock_env=False)
    ok(rc == 0, "CLI: --ca and --run-dir instead of the environment")
    rc, _, err = cli("ping", sock_env=False)
    ok(rc == 3 and "TlsError" in err, "CLI: the default CA path, absent "
       "here, is a TLS error (3)", err)
    rc, _, err = cli("--socket", "/nonexistent.sock", "ping")
    ok(rc == 3 and "TransportError" in err and "/nonexistent.sock" in err,
       "CLI: a missing socket exits 3", err)


def test_cli_transport(fake_ca, ctx):
    rc, _, err = cli("--ca", fake_ca, "ping")
    ok(rc == 3 and "not trusted" in err, "CLI: another CA exits 3, 'not "
       "trusted'", err)
    silent = Fake(os.path.join(WORK, "cli-silent.sock"), "silent", None)
    t0 = time.time()
    rc, _, err = cli("--socket", silent.path, "--timeout", "0.3", "ping")
    ok(rc == 3 and "TimeoutError" in err and time.time() - t0 < 5 * td.SLOW,
       "CLI: --timeout against a silent listener exits 3 (TimeoutError)",
       err)
    silent.close()
    evil = Fake(os.path.join(WORK, "cli-evil.sock"), "evil", ctx)
    base = ["--socket", evil.path, "--ca", fake_ca]
    rc, out, err = cli(*base, "-o", "json", "token", "workload",
                       "--workload", "w")
    ok(rc == 3 and out == "" and "UTF-8" in err, "CLI: a token that is not "
       "UTF-8 cannot be JSON: exit 3 and why", err + out)
    tokfile = os.path.join(WORK, "evil-token")
    with open(tokfile, "w") as f:
        f.write("avwat1.x.y\n")
    rc, out, err = cli(*base, "-o", "json", "token", "api-key", "--provider",
                       "p", "--token-file", tokfile)
    ok(rc == 3 and out == "" and "UTF-8" in err, "CLI: an API key that is "
       "not UTF-8 cannot be JSON: exit 3 and why", err + out)
    for args, want in ((["identity", "get", "abc"], "a?[2Jb"),
                       (["tag", "list", ARN + "abc"], "k?[1m=v?2J?"),
                       (["identity", "delete", "abc"], "(request 12ab-)")):
        rc, out, err = cli(*base, *args)
        ok(want in out + err and not any(c in out + err for c in
                                         "\x1b\x07\x7f\x9b"),
           "CLI: no control character from the appliance reaches the "
           "terminal: %s" % " ".join(args[:2]), repr(out + err))
    evil.close()


def test_cli_audit():
    key = os.path.join(td.TOKDIR, "audit-key.pem")
    rc, out, _ = cli("audit", "verify", "--key", key, AUDIT)
    ok(rc == 0 and out.startswith("OK"), "CLI: audit verify runs the "
       "verifier", out)
    rc, out, _ = cli("--socket=x", "-o", "text", "audit", "verify", "--key",
                     key, AUDIT)
    ok(rc == 0 and out.startswith("OK"), "CLI: options before 'audit' are "
       "parsed as getopt parses them", out)
    with open(AUDIT) as f:
        lines = f.readlines()
    lines[3] = lines[3].replace('"outcome":"', '"outcome":"x', 1)
    bad = os.path.join(WORK, "audit-tampered.log")
    with open(bad, "w") as f:
        f.writelines(lines)
    rc, out, _ = cli("audit", "verify", "--key", key, bad)
    ok(rc == 1 and "FAIL line 4" in out, "CLI: audit verify finds a "
       "tampered line (exit 1)", out)
    rc, _, _ = cli("audit")
    ok(rc == 2, "CLI: audit without verify is a usage error")
    rc, _, _ = cli("--output", "json", "audit", "verify")
    ok(rc == 2, "CLI: audit verify without a file is a usage error")


def test_doc_example():
    """docs/client.md's complete C example, compiled and run as it is."""
    with open(os.path.join(td.TOP, "docs", "client.md")) as f:
        doc = f.read()
    src = doc.split("### 1.10", 1)[1].split("```c\n", 1)[1].split("```")[0]
    path = os.path.join(WORK, "agent.c")
    with open(path, "w") as f:
        f.write(src)
    exe = os.path.join(WORK, "agent")
    san = ["-fsanitize=address,undefined"] if os.environ.get("SAN") == "1" \
        else []
    r = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror",
                        "-Iclient", "-o", exe, path,
                        os.path.join(td.BUILD, "libagentvault.a"),
                        "-lmbedtls", "-lmbedx509", "-lmbedcrypto",
                        "-ljansson"] + san, capture_output=True, text=True)
    if not ok(r.returncode == 0, "docs/client.md's example compiles with "
              "the command it gives", r.stderr):
        return
    td.call("CreateWorkloadIdentity", {"name": "weather-agent"})
    td.call("CreateApiKeyCredentialProvider", {"name": "weather-svc",
                                               "apiKey": "wk-test-key"})
    before = audit_ops("GetWorkloadAccessTokenForUserId")
    r = subprocess.run(WRAP + [exe, "bob"], capture_output=True, text=True,
                       env=dict(os.environ, AGENTVAULT_SOCKET=AGENT,
                                AGENTVAULT_CA=CA))
    ok(r.returncode == 0 and r.stdout ==
       "agent: got an API key of 11 bytes for bob\n" * 2,
       "the example reads the API key twice", r.stdout + r.stderr)
    ok(audit_ops("GetWorkloadAccessTokenForUserId") == before + 1,
       "with one workload token, cached")


def test_tcp(fake_ca):
    """The TCP listener with client certificates, as test_tcp_mtls."""
    d0 = os.path.join(WORK, "clients")
    os.makedirs(d0, exist_ok=True)
    ca, ca_key = os.path.join(d0, "ca.pem"), os.path.join(d0, "ca.key")
    cert, key = os.path.join(d0, "client.pem"), os.path.join(d0, "client.key")
    td.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
               "-out", ca, "-subj", "/CN=Test clients CA", "-days", "1")
    td.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", key, "-out", cert + ".csr", "-subj",
               "/O=Agents/CN=remote-agent-1")
    td.openssl("x509", "-req", "-in", cert + ".csr", "-CA", ca, "-CAkey",
               ca_key, "-CAcreateserial", "-out", cert, "-days", "1")
    port = td.free_port()
    conf = os.path.join(WORK, "tcp.yaml")
    td.write_config(conf)
    with open(conf) as f:
        text = f.read().replace("hsm:\n", "listen:\n  tcp:\n    address: "
                                "127.0.0.1\n    port: %d\n    client_ca: %s\n"
                                "hsm:\n" % (port, ca), 1)
    with open(conf, "w") as f:
        f.write(text)
    d = td.Daemon(conf)
    if ok(d.wait_ready(), "the daemon serves with a TCP listener"):
        run_lib("tcp", {"PORT": str(port), "CERT": cert, "KEY": key})
        rc, out, err = cli("--host", "127.0.0.1", "--port", str(port),
                           "--cert", cert, "--key", key, "ping")
        ok(rc == 0 and "ok" in out, "CLI: ping over TCP with a client "
           "certificate", err)
        rc, _, err = cli("--host", "127.0.0.1", "--port", str(port),
                         "token", "workload", "--workload", "x")
        ok(rc == 1 and "AccessDeniedException" in err, "CLI: over TCP "
           "without a certificate an operation is refused: exit 1", err)
    d.stop()


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.chmod(td.TOKDIR, 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token"), 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token", "softhsm2.conf"), 0o644)
    subprocess.run(["chown", "-R", "nobody",
                    os.path.join(td.TOKDIR, "token", "tokens")])
    fake_ca, ctx = make_fake_ca()
    test_cli_simulate_offline()
    test_cli_policy_requests(fake_ca, ctx)
    test_cli_oauth2_token(fake_ca, ctx)
    config = os.path.join(WORK, "agentvault.yaml")
    td.write_config(config)
    with open(config) as f:
        text = f.read().replace("api_key_providers: 5",
                                "api_key_providers: 20")
    with open(config, "w") as f:
        f.write(text)
    d = td.Daemon(config)
    if not ok(d.wait_ready(), "the daemon starts and serves",
              td.log_text()):
        d.stop()
        print("1..%d" % td.n)
        return 1

    r = subprocess.run(["nm", "-D", "--defined-only", SO],
                       capture_output=True, text=True)
    syms = [l.split()[-1] for l in r.stdout.splitlines()]
    ok(r.returncode == 0 and syms and all(s.startswith("av_") for s in
                                          syms),
       "libagentvault.so exports only the header's av_* functions",
       [s for s in syms if not s.startswith("av_")])

    run_lib("unit")
    run_lib("api")
    run_lib("decorate")

    def restart(what):
        nonlocal d
        if what == "daemon":
            d.stop()
            d = td.Daemon(config)
            d.wait_ready()
        else:
            pid = d.worker_pid()
            os.kill(pid, 9)
            deadline = time.time() + 20 * td.SLOW
            while time.time() < deadline and d.worker_pid() in (pid, None):
                time.sleep(0.1)
            d.wait_ready()
            time.sleep(0.2)
    run_lib("restart", on_restart=restart)

    fake = Fake(os.path.join(WORK, "fake.sock"), "close-idle", ctx)
    run_lib("badca", {"FAKE": fake.path, "FAKE_CA": fake_ca})
    fake.close()
    silent = Fake(os.path.join(WORK, "silent.sock"), "silent", ctx)
    noreply = Fake(os.path.join(WORK, "noreply.sock"), "noreply", ctx)
    run_lib("timeout", {"FAKE": silent.path, "FAKE2": noreply.path,
                        "FAKE_CA": fake_ca})
    ok(len(noreply.requests) == 2, "the timed-out write was sent once, "
       "not repeated (%d requests)" % len(noreply.requests))
    for _ in range(50):
        if len(noreply.ends) == 2:
            break
        time.sleep(0.1)
    ok(noreply.ends == ["eof", "eof"], "after a timeout the connection is "
       "closed without close_notify (which would flush the rest of a "
       "request)", noreply.ends)
    silent.close()
    noreply.close()
    drop = Fake(os.path.join(WORK, "drop.sock"), "drop-second", ctx)
    idle = Fake(os.path.join(WORK, "idle.sock"), "close-idle", ctx)
    run_lib("retry", {"FAKE": drop.path, "FAKE2": idle.path,
                      "FAKE_CA": fake_ca})
    creates = [r for r in drop.requests if
               r[1] == "/identities/CreateWorkloadIdentity"]
    gets = [r[2]["name"] for r in drop.requests if
            r[1] == "/identities/GetWorkloadIdentity"]
    ok(len(creates) == 1, "the dropped write reached the server once "
       "(%d)" % len(creates))
    ok(gets == ["r-one", "r-two", "r-two", "r-four"], "the dropped read "
       "was sent again, once", gets)
    policies = [r[1] for r in drop.requests if r[1].startswith("/policies/")]
    ok(policies == ["/policies/GetPolicy"] * 2 + ["/policies/CreatePolicy"],
       "av_call: the dropped read was sent again, the dropped write once",
       policies)
    ok(idle.conns == 2 and len(idle.requests) == 2, "after an idle close "
       "the write went out once, on a new connection")
    drop.close()
    idle.close()
    proto = Fake(os.path.join(WORK, "proto.sock"), "protocol", ctx)
    run_lib("protocol", {"FAKE": proto.path, "FAKE_CA": fake_ca})
    proto.close()
    oauth = Fake(os.path.join(WORK, "oauth.sock"), "oauth", ctx)
    run_lib("oauth", {"FAKE": oauth.path, "FAKE_CA": fake_ca})
    first = [r[2] for r in oauth.requests if
             r[2].get("resourceCredentialProviderName") == "consent"][:3]
    ok(len(first) == 3 and first[0].get("forceAuthentication") is True and
       "sessionUri" not in first[0] and
       all("forceAuthentication" not in b for b in first[1:]) and
       all(b.get("sessionUri") == "urn:ietf:params:oauth:request_uri:s1"
           for b in first[1:]) and
       first[0]["scopes"] == ["repo", "user"] and
       first[0]["oauth2Flow"] == "USER_FEDERATION" and
       first[0]["resourceOauth2ReturnUrl"] == "https://app.example.com/cb"
       and first[0]["workloadIdentityToken"] == "avwat1.fake.token",
       "GetResourceOauth2Token requests: force once, then poll the session",
       first)
    every = [r[2] for r in oauth.requests
             if r[2].get("workloadIdentityToken") == "avwat1.all"]
    ok(len(every) >= 2 and every[0] == {
        "workloadIdentityToken": "avwat1.all",
        "resourceCredentialProviderName": "consent",
        "scopes": ["repo", "user"], "oauth2Flow": "USER_FEDERATION",
        "resourceOauth2ReturnUrl": "https://app.example.com/cb",
        "forceAuthentication": True,
        "customParameters": {"prompt": "consent",
                             "login_hint": "alice@example.com"},
        "customState": "st-1", "resources": ["https://api.example.com/"],
        "audiences": ["api", "other"]} and
       all(b.get("sessionUri") == "urn:ietf:params:oauth:request_uri:s1"
           and "forceAuthentication" not in b and b["customState"] == "st-1"
           for b in every[1:]),
       "av_get_resource_oauth2_token sends every member; "
       "av_wait_oauth2_token polls without forceAuthentication", every)
    m2m = [r[2] for r in oauth.requests
           if r[2].get("workloadIdentityToken") == "avwat1.fake.token" and
           r[2].get("resourceCredentialProviderName") == "m2m"]
    ok(m2m and m2m[-1] == {"workloadIdentityToken": "avwat1.fake.token",
                           "resourceCredentialProviderName": "m2m",
                           "oauth2Flow": "M2M", "scopes": []},
       "M2M without scopes sends an empty list, nothing else", m2m[-1:])
    done = [r[2] for r in oauth.requests
            if r[1] == "/identities/CompleteResourceTokenAuth"]
    ok(done[:2] == [{"sessionUri": "urn:ietf:params:oauth:request_uri:s1",
                     "userIdentifier": {"userId": "alice"}},
                    {"sessionUri": "urn:ietf:params:oauth:request_uri:s2",
                     "userIdentifier": {"userToken": "eyJ.user.jwt"}}] and
       len(done) == 4, "CompleteResourceTokenAuth bodies: userId or "
       "userToken; the argument errors sent nothing", done)
    refused = [r[2]["workloadIdentityToken"] for r in oauth.requests
               if r[2].get("resourceCredentialProviderName") ==
               "wat-refused"]
    ok(refused == ["avwat1.minted.1", "avwat1.minted.2"], "the refused "
       "cached token was minted again, once", refused)
    oauth.close()

    test_cli_help()
    test_cli_secrets_on_argv()
    test_cli_operations()
    test_cli_policies()
    test_cli_sockets()
    test_cli_transport(fake_ca, ctx)
    test_doc_example()
    d.stop()
    test_cli_audit()
    test_tcp(fake_ca)
    print("1..%d" % td.n)
    return 1 if td.failed else 0


if __name__ == "__main__":
    sys.exit(main())
