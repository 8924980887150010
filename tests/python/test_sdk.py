#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_sdk.py - the Python SDK (client/python) against the real sandboxed
daemon and the SoftHSM2 test token: every IdentityClient method, success
and errors; both decorators, plain and async, for API keys and workload
tokens; the invocation context in threads and tasks; local development
(.agentvault.json) and the loud error when no token can be had;
requires_access_token's clear error against today's daemon; reconnecting
after a worker kill, a broken request and a daemon restart; a wrong CA
refused; TCP with mTLS; the seed's section 08 example and the example of
docs/client.md.

The OAuth consent flow (authorization URL, polling, deadline), a broken
connection in the middle of a request, oversized and malformed replies
are played against a small fake appliance (a TLS server of this file),
since the daemon has no OAuth2 providers yet: the end-to-end OAuth test
comes with the OAuth issue.

Prints TAP.  Uses the harness of tests/integration/test_daemon.py and the
token of tests/setup-token.sh (run by tests/run.sh).
"""
import asyncio
import functools
import json
import logging
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
import unittest
import uuid

TOP = os.getcwd()
SDK = os.path.join(TOP, "client", "python")
sys.path.insert(0, SDK)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "tests", "oauth"))

import test_daemon as td   # noqa: E402 (after the path is set)
import test_inbound as inbound   # noqa: E402

import agentvault   # noqa: E402
from agentvault import context   # noqa: E402
from agentvault import (IdentityClient, requires_access_token,   # noqa: E402
                        requires_api_key)

td.WORK = WORK = os.path.join(td.TOKDIR, "python")
SLOW = td.SLOW
RUN = os.path.join(WORK, "run")
AGENT_SOCK = os.path.join(RUN, "agent.sock")
ADMIN_SOCK = os.path.join(RUN, "admin.sock")
CA = os.path.join(td.TOKDIR, "ca.pem")
SOCKET_GID = 4200       # the sockets' group: the unprivileged agent's
AGENT_UID = 65534       # the "agents" principal, not "admin"
ISSUER = None           # a user JWT's issuer (test_inbound.Issuer)
ARN = ("arn:aws:bedrock-agentcore:us-east-1:000000000000:"
       "workload-identity-directory/default/workload-identity/")
KEY = "sk-weather-" + uuid.uuid4().hex     # a test API key
FAKE = {}               # the fake appliance's CA and certificate
CLIENTS = {}            # TCP client certificate
daemon = None
tcp_port = None


def admin():
    return IdentityClient(timeout=10 * SLOW)


def agent_env(**extra):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "PYTHONPATH": SDK, "AGENTVAULT_SOCKET": AGENT_SOCK,
           "AGENTVAULT_ADMIN_SOCKET": ADMIN_SOCK, "AGENTVAULT_CA": CA}
    env.update(extra)
    return env


def run_py(code, cwd, as_agent=False, **env):
    """Run a Python program with the SDK on its path (as the unprivileged
    agent, uid 65534, when as_agent: with the system's Python, which that
    user can run, where this one may be in root's home)."""
    python, kw = sys.executable, {}
    if as_agent:
        python = shutil.which("python3", path="/usr/bin:/bin") or python
        kw = {"user": AGENT_UID, "group": SOCKET_GID, "extra_groups": []}
        # The checkout may be private (CI clones into a 0700 directory).
        env.setdefault("PYTHONPATH", agent_sdk())
    return subprocess.run([python, "-c", code], cwd=cwd,
                          env=agent_env(**env), capture_output=True,
                          text=True, timeout=60 * SLOW, **kw)


def agent_sdk():
    """A copy of the SDK that the unprivileged agent can read."""
    d = os.path.join(WORK, "sdk")
    if not os.path.isdir(d):
        shutil.copytree(os.path.join(SDK, "agentvault"),
                        os.path.join(d, "agentvault"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        for root, dirs, files in os.walk(d):
            os.chmod(root, 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
    return d


def scratch(owner=0):
    """A fresh directory for a program's working directory."""
    d = os.path.join(WORK, "cwd-" + uuid.uuid4().hex[:8])
    os.makedirs(d)
    os.chown(d, owner, SOCKET_GID)
    os.chmod(d, 0o770)
    return d


def openssl(*args):
    subprocess.run(["openssl"] + list(args), capture_output=True, check=True)


def make_certs():
    """A CA of its own and a server certificate for localhost (the fake
    appliance, and a wrong CA for the real one); a client CA and
    certificate for TCP."""
    d = os.path.join(WORK, "certs")
    os.makedirs(d)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for who in ("fake", "clients"):
        openssl("req", "-x509", *ec, "-keyout",
                os.path.join(d, who + "-ca.key"),
                "-out", os.path.join(d, who + "-ca.pem"), "-subj",
                "/CN=%s CA" % who, "-days", "1")
    ext = os.path.join(d, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    for who, ca, cn in (("fake", "fake", "localhost"),
                        ("client", "clients", "python-sdk-test")):
        key, pem = os.path.join(d, who + ".key"), os.path.join(d, who + ".pem")
        openssl("req", *ec, "-keyout", key, "-out", pem + ".csr", "-subj",
                "/CN=" + cn)
        openssl("x509", "-req", "-in", pem + ".csr", "-CA",
                os.path.join(d, ca + "-ca.pem"), "-CAkey",
                os.path.join(d, ca + "-ca.key"), "-CAcreateserial", "-out",
                pem, "-days", "1", "-extfile", ext)
    FAKE.update(ca=os.path.join(d, "fake-ca.pem"),
                cert=os.path.join(d, "fake.pem"),
                key=os.path.join(d, "fake.key"))
    CLIENTS.update(ca=os.path.join(d, "clients-ca.pem"),
                   cert=os.path.join(d, "client.pem"),
                   key=os.path.join(d, "client.key"))


def write_config(path):
    global tcp_port
    tcp_port = td.free_port()
    td.write_config(path, "outbound: {allow_http_loopback: true}\n")
    with open(path) as f:
        text = f.read()
    text = text.replace("hsm:\n", (
        "listen:\n"
        "  admin_socket: {mode: \"0660\", group: %d}\n"
        "  agent_socket: {mode: \"0660\", group: %d}\n"
        "  tcp: {address: 127.0.0.1, port: %d, client_ca: %s}\n"
        "hsm:\n") % (SOCKET_GID, SOCKET_GID, tcp_port, CLIENTS["ca"]), 1)
    with open(path, "w") as f:
        f.write(text)


def start_daemon():
    global daemon
    daemon = td.Daemon(os.path.join(WORK, "agentvault.yaml"))
    if not daemon.wait_ready():
        raise RuntimeError("the daemon did not start:\n" + log_tail())


def log_tail():
    return "\n".join(td.log_text().splitlines()[-20:])


def setUpModule():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.chmod(WORK, 0o755)
    # The sandboxed worker runs as nobody and must reach the token files.
    os.chmod(td.TOKDIR, 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token"), 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token", "softhsm2.conf"), 0o644)
    subprocess.run(["chown", "-R", "nobody",
                    os.path.join(td.TOKDIR, "token", "tokens")])
    make_certs()
    write_config(os.path.join(WORK, "agentvault.yaml"))
    for name in list(os.environ):
        if name.startswith("AGENTVAULT_"):
            del os.environ[name]
    os.environ.update(AGENTVAULT_SOCKET=AGENT_SOCK,
                      AGENTVAULT_ADMIN_SOCKET=ADMIN_SOCK, AGENTVAULT_CA=CA)
    # Local development writes .agentvault.json in the working directory:
    # never in the checkout.
    os.chdir(scratch())
    start_daemon()
    c = admin()
    c.create_workload_identity("py-agent")
    c.create_api_key_credential_provider(name="py-weather", api_key=KEY)
    # A user JWT's issuer of our own (tests/oauth/test_inbound.py).
    global ISSUER
    ISSUER = inbound.Issuer()
    ISSUER.keys = [inbound.Key("py-1")]
    c.create_workload_identity("py-jwt", authorizer_configuration={
        "customJWTAuthorizer": {"discoveryUrl": ISSUER.discovery,
                                "allowedAudience": ["agents"]}})


def tearDownModule():
    os.chdir(TOP)
    if daemon is not None:
        daemon.stop()


def expect(test, exc, fn, *args, **kwargs):
    """fn(*args, **kwargs) raises exc: return it."""
    with test.assertRaises(exc) as cm:
        fn(*args, **kwargs)
    return cm.exception


# ---------------------------------------------------------------------------
# The client, against the real daemon


class ClientTests(unittest.TestCase):

    def test_ping(self):
        """ping() answers on the agent socket"""
        doc = admin().ping()
        self.assertEqual(doc["status"], "ok")
        self.assertEqual(doc["service"], "agentvault")

    def test_token_vault(self):
        """get_token_vault(): the vault; its errors typed"""
        c = admin()
        doc = c.get_token_vault()
        self.assertEqual(doc["tokenVaultId"], "default")
        self.assertEqual(c.get_token_vault("default")["tokenVaultId"],
                         "default")
        e = expect(self, agentvault.ResourceNotFoundException,
                   c.get_token_vault, "other")
        self.assertEqual(e.status, 404)
        expect(self, agentvault.ValidationException, c.get_token_vault,
               "bad id!")

    def test_error_attributes(self):
        """an error carries error_type, message, status, request id and
        operation; all errors are AgentVaultError"""
        c = IdentityClient(admin_socket=AGENT_SOCK)
        e = expect(self, agentvault.AccessDeniedException, c.get_token_vault)
        self.assertIsInstance(e, agentvault.AgentVaultError)
        self.assertNotIsInstance(e, agentvault.TransportError)
        self.assertEqual(e.error_type, "AccessDeniedException")
        self.assertEqual(e.message, "GetTokenVault is served on the admin "
                         "socket only")
        self.assertEqual(e.status, 403)
        self.assertEqual(e.operation, "GetTokenVault")
        self.assertRegex(e.request_id or "", "^[0-9a-f-]{36}$")
        self.assertIn("AccessDeniedException (GetTokenVault): GetTokenVault "
                      "is served", str(e))

    def test_workload_identities(self):
        """create, get, update, list (pages), delete workload identities,
        and their errors"""
        c = admin()
        doc = c.create_workload_identity(
            "py-wi-1", allowed_resource_oauth2_return_urls=[
                "https://app.example.com/cb"], tags={"team": "agents"})
        self.assertEqual(doc["name"], "py-wi-1")
        self.assertEqual(doc["workloadIdentityArn"], ARN + "py-wi-1")
        self.assertEqual(doc["allowedResourceOauth2ReturnUrls"],
                         ["https://app.example.com/cb"])
        self.assertEqual(c.list_tags_for_resource(ARN + "py-wi-1")["tags"],
                         {"team": "agents"})
        expect(self, agentvault.ConflictException,
               c.create_workload_identity, "py-wi-1")
        expect(self, agentvault.ValidationException,
               c.create_workload_identity, "bad name!")
        expect(self, agentvault.ValidationException,
               c.create_workload_identity, "py-wi-x", ["no url"])
        anon = c.create_workload_identity()["name"]
        self.assertRegex(anon, "^workload-[0-9a-f]{8}$")
        doc = c.get_workload_identity("py-wi-1")
        self.assertGreater(doc["createdTime"], 0)
        doc = c.update_workload_identity("py-wi-1", ["myapp://callback"])
        self.assertEqual(doc["allowedResourceOauth2ReturnUrls"],
                         ["myapp://callback"])
        doc = c.update_workload_identity("py-wi-1")
        self.assertEqual(doc["allowedResourceOauth2ReturnUrls"], [])
        expect(self, agentvault.ResourceNotFoundException,
               c.update_workload_identity, "py-nope")
        for i in range(11):
            c.create_workload_identity("py-page-%02d" % i)
        names, token = [], None
        for _ in range(20):
            page = c.list_workload_identities(max_results=5,
                                              next_token=token)
            self.assertLessEqual(len(page["workloadIdentities"]), 5)
            names += [w["name"] for w in page["workloadIdentities"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(names, sorted(names))
        self.assertTrue({"py-wi-1", anon} | {"py-page-%02d" % i
                                             for i in range(11)}
                        <= set(names))
        self.assertIn("workloadIdentities", c.list_workload_identities())
        expect(self, agentvault.ValidationException,
               c.list_workload_identities, max_results=21)
        expect(self, agentvault.ValidationException,
               c.list_workload_identities, next_token="!!bad")
        self.assertEqual(c.delete_workload_identity("py-wi-1"), {})
        expect(self, agentvault.ResourceNotFoundException,
               c.get_workload_identity, "py-wi-1")
        expect(self, agentvault.ResourceNotFoundException,
               c.delete_workload_identity, "py-wi-1")
        for i in range(11):
            c.delete_workload_identity("py-page-%02d" % i)
        c.delete_workload_identity(anon)

    def test_api_key_providers(self):
        """create (AgentCore's dict form and keywords), get, update, list,
        delete API-key providers; the key never comes back; errors and
        the quota"""
        c = admin()
        doc = c.create_api_key_credential_provider(
            {"name": "py-prov-1", "apiKey": "k1"})
        self.assertEqual(doc["name"], "py-prov-1")
        self.assertIn("apikeycredentialprovider/py-prov-1",
                      doc["credentialProviderArn"])
        self.assertIn("secretArn", doc["apiKeySecretArn"])
        self.assertNotIn("k1", json.dumps(doc))
        doc = c.create_api_key_credential_provider(
            name="py-prov-2", api_key="k2", tags={"env": "test"})
        self.assertEqual(doc["name"], "py-prov-2")
        expect(self, agentvault.ConflictException,
               c.create_api_key_credential_provider, name="py-prov-1",
               api_key="x")
        expect(self, agentvault.ValidationException,
               c.create_api_key_credential_provider, name="bad name",
               api_key="x")
        expect(self, agentvault.ValidationException,
               c.create_api_key_credential_provider, name="py-prov-3")
        doc = c.get_api_key_credential_provider("py-prov-1")
        self.assertGreater(doc["createdTime"], 0)
        self.assertNotIn("k1", json.dumps(doc))
        doc = c.update_api_key_credential_provider("py-prov-1", "k1-new")
        self.assertEqual(doc["name"], "py-prov-1")
        token = c.get_workload_access_token("py-agent")["workloadAccessToken"]
        self.assertEqual(c.get_api_key("py-prov-1", token), "k1-new")
        listed = c.list_api_key_credential_providers(max_results=20)
        names = [p["name"] for p in listed["credentialProviders"]]
        self.assertTrue({"py-prov-1", "py-prov-2", "py-weather"} <=
                        set(names))
        expect(self, agentvault.ValidationException,
               c.list_api_key_credential_providers, max_results=0)
        # The configured quota is 5 providers.
        extra = []
        for i in range(5 - len(names)):
            extra.append("py-fill-%d" % i)
            c.create_api_key_credential_provider(name=extra[-1], api_key="x")
        e = expect(self, agentvault.ServiceQuotaExceededException,
                   c.create_api_key_credential_provider, name="py-one-more",
                   api_key="x")
        self.assertEqual(e.status, 402)
        for name in extra + ["py-prov-1", "py-prov-2"]:
            self.assertEqual(c.delete_api_key_credential_provider(name), {})
        expect(self, agentvault.ResourceNotFoundException,
               c.get_api_key_credential_provider, "py-prov-1")
        expect(self, agentvault.ResourceNotFoundException,
               c.update_api_key_credential_provider, "py-prov-1", "x")
        expect(self, agentvault.ResourceNotFoundException,
               c.delete_api_key_credential_provider, "py-prov-1")

    def test_oversized_request(self):
        """a request over the appliance's body limit gets its answer (413),
        even when it comes before the whole body is sent"""
        c = admin()
        for size in (70000, 4 << 20):
            e = expect(self, agentvault.ValidationException,
                       c.create_api_key_credential_provider,
                       name="py-big", api_key="k" * size)
            self.assertEqual((e.status, e.message),
                             (413, "request body too large"))
        expect(self, agentvault.ResourceNotFoundException,
               c.get_api_key_credential_provider, "py-big")

    def test_tags(self):
        """tag_resource, list_tags_for_resource, untag_resource (keys with
        spaces and plus signs), and their errors"""
        c = admin()
        c.create_workload_identity("py-tagged")
        arn = ARN + "py-tagged"
        self.assertEqual(c.tag_resource(arn, {"env": "prod", "cost center":
                                              "42", "a+b": "1"}), {})
        self.assertEqual(c.list_tags_for_resource(arn)["tags"],
                         {"a+b": "1", "cost center": "42", "env": "prod"})
        self.assertEqual(c.untag_resource(arn, ["cost center", "a+b",
                                                "absent"]), {})
        self.assertEqual(c.list_tags_for_resource(arn)["tags"],
                         {"env": "prod"})
        expect(self, agentvault.ValidationException, c.tag_resource, arn,
               {"aws:reserved": "x"})
        expect(self, agentvault.ValidationException, c.tag_resource, arn,
               {"k%d" % i: "v" for i in range(51)})
        expect(self, agentvault.ValidationException,
               c.list_tags_for_resource, "not-an-arn")
        expect(self, agentvault.ResourceNotFoundException,
               c.list_tags_for_resource, ARN + "py-nope")
        vault = "arn:aws:bedrock-agentcore:us-east-1:000000000000:" \
            "token-vault/default"
        c.tag_resource(vault, {"owner": "sec"})
        self.assertEqual(c.list_tags_for_resource(vault)["tags"],
                         {"owner": "sec"})
        c.untag_resource(vault, ["owner"])
        c.delete_workload_identity("py-tagged")

    def test_workload_access_tokens(self):
        """get_workload_access_token with no user, a user id, a user token
        (a JWT the identity's authorizer accepts), and its errors"""
        c = admin()
        t1 = c.get_workload_access_token("py-agent")["workloadAccessToken"]
        t2 = c.get_workload_access_token(
            "py-agent", user_id="cognito+user-1")["workloadAccessToken"]
        self.assertTrue(t1.startswith("avwat1.") and t2.startswith("avwat1."))
        self.assertNotEqual(t1, t2)
        expect(self, agentvault.ValidationException,
               c.get_workload_access_token, "py-agent", user_id="a\nb")
        expect(self, agentvault.ResourceNotFoundException,
               c.get_workload_access_token, "py-nobody")
        e = expect(self, agentvault.ValidationException,
                   c.get_workload_access_token, "py-agent",
                   user_token=ISSUER.token())
        self.assertIn("no authorizerConfiguration", str(e))
        with self.assertLogs("agentvault.identity", "WARNING") as logs:
            t3 = c.get_workload_access_token(
                "py-jwt", user_token=ISSUER.token(),
                user_id="u")["workloadAccessToken"]
        self.assertIn("using user_token", logs.output[0])
        self.assertTrue(t3.startswith("avwat1."))
        self.assertEqual(c.get_api_key("py-weather", t3), KEY)
        e = expect(self, agentvault.AccessDeniedException,
                   c.get_workload_access_token, "py-jwt",
                   user_token=ISSUER.token(aud="someone-else"))
        self.assertIn("aud", str(e))
        doc = c.check_jwt(ISSUER.token(sub="py-user"), ISSUER.discovery,
                          allowed_audience=["agents"])
        self.assertTrue(doc["valid"])
        self.assertEqual(doc["subject"], "py-user")
        doc = c.check_jwt(ISSUER.token(), ISSUER.discovery,
                          allowed_clients=["nobody"])
        self.assertFalse(doc["valid"])
        self.assertEqual(doc["errorType"], "AccessDeniedException")

    def test_get_api_key(self):
        """get_api_key: the stored key for a token; errors typed"""
        c = admin()
        token = c.get_workload_access_token(
            "py-agent", user_id="u-1")["workloadAccessToken"]
        self.assertEqual(c.get_api_key("py-weather", token), KEY)
        self.assertEqual(c.get_api_key(provider_name="py-weather",
                                       agent_identity_token=token), KEY)
        expect(self, agentvault.ResourceNotFoundException, c.get_api_key,
               "py-no-such-provider", token)
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA")
                               else "BBBB")
        e = expect(self, agentvault.AccessDeniedException, c.get_api_key,
                   "py-weather", forged)
        self.assertEqual(e.message, "the workload access token is not valid")
        expect(self, agentvault.AgentVaultError, c.get_api_key, "py-weather",
               "not-a-token")

    def test_oauth_errors(self):
        """get_token and get_resource_oauth2_token: the appliance's typed
        errors (an unknown provider, M2M with a session URI);
        complete_resource_token_auth: an unknown session, with a user id
        or a user token"""
        c = admin()
        token = c.get_workload_access_token("py-agent")["workloadAccessToken"]
        e = expect(self, agentvault.ResourceNotFoundException, c.get_token,
                   provider_name="github-provider", scopes=["repo"],
                   agent_identity_token=token)
        self.assertEqual(e.operation, "GetResourceOauth2Token")
        self.assertIn("no OAuth2 credential provider named github-provider",
                      str(e))
        expect(self, agentvault.ResourceNotFoundException,
               c.get_resource_oauth2_token, provider_name="py-weather",
               agent_identity_token=token, auth_flow="M2M")
        expect(self, agentvault.ValidationException,
               c.get_resource_oauth2_token, provider_name="github-provider",
               agent_identity_token=token, auth_flow="M2M",
               session_uri="urn:ietf:params:oauth:request_uri:abc")
        expect(self, agentvault.ResourceNotFoundException,
               c.complete_resource_token_auth,
               "urn:ietf:params:oauth:request_uri:" + "A" * 43,
               agentvault.UserIdIdentifier("u-1"))
        expect(self, agentvault.ResourceNotFoundException,
               c.complete_resource_token_auth,
               "urn:ietf:params:oauth:request_uri:" + "A" * 43,
               agentvault.UserTokenIdentifier("eyJ.a.b"))
        expect(self, ValueError, c.complete_resource_token_auth, "urn:x",
               "not an identifier")

    def test_oauth2_providers(self):
        """create/get/update/list/delete_oauth2_credential_provider: the
        seed's request works; the secret never comes back"""
        c = admin()
        secret = "py-oauth-client-secret"
        # The seed's SDK call, as written there.
        r = c.create_oauth2_credential_provider({
            "name": "py-github",
            "credentialProviderVendor": "GithubOauth2",
            "oauth2ProviderConfigInput": {
                "githubOauth2ProviderConfig": {
                    "clientId": "your-github-client-id",
                    "clientSecret": secret}}})
        self.assertTrue(r["credentialProviderArn"].endswith(
            ":token-vault/default/oauth2credentialprovider/py-github"))
        self.assertNotIn(secret, json.dumps(r))
        r = c.get_oauth2_credential_provider("py-github")
        self.assertEqual(r["credentialProviderVendor"], "GithubOauth2")
        r = c.update_oauth2_credential_provider({
            "name": "py-github", "credentialProviderVendor": "GithubOauth2",
            "oauth2ProviderConfigInput": {"githubOauth2ProviderConfig": {
                "clientId": "another-id"}}})
        self.assertEqual(r["oauth2ProviderConfigOutput"][
            "githubOauth2ProviderConfig"]["clientId"], "another-id")
        names = [p["name"] for p in
                 c.list_oauth2_credential_providers(max_results=20)[
                     "credentialProviders"]]
        self.assertIn("py-github", names)
        e = expect(self, agentvault.ValidationException,
                   c.create_oauth2_credential_provider,
                   {"name": "py-x", "credentialProviderVendor": "XOauth2",
                    "oauth2ProviderConfigInput": {
                        "includedOauth2ProviderConfig": {
                            "clientId": "a", "clientSecret": secret,
                            "issuer": "https://x.example"}}})
        self.assertNotIn(secret, str(e))
        c.delete_oauth2_credential_provider("py-github")
        expect(self, agentvault.ResourceNotFoundException,
               c.get_oauth2_credential_provider, "py-github")

    def test_token_cache(self):
        """cached_workload_access_token: one mint per (workload, user)
        within the lifetime; renewed after it; forget drops it"""
        c = admin()
        mints = []
        real = c.get_workload_access_token

        def counting(*args, **kwargs):
            mints.append(args)
            return real(*args, **kwargs)
        c.get_workload_access_token = counting
        a = c.cached_workload_access_token("py-agent", user_id="u-a")
        self.assertEqual(c.cached_workload_access_token("py-agent",
                                                        user_id="u-a"), a)
        b = c.cached_workload_access_token("py-agent", user_id="u-b")
        self.assertNotEqual(a, b)
        self.assertEqual(len(mints), 2)
        c.forget_workload_access_token("py-agent", user_id="u-a")
        self.assertNotEqual(c.cached_workload_access_token(
            "py-agent", user_id="u-a"), a)
        self.assertEqual(len(mints), 3)
        short = IdentityClient(token_lifetime_seconds=0.5)
        t = short.cached_workload_access_token("py-agent")
        self.assertEqual(short.cached_workload_access_token("py-agent"), t)
        time.sleep(0.5)
        self.assertNotEqual(short.cached_workload_access_token("py-agent"), t)
        os.environ["AGENTVAULT_TOKEN_LIFETIME"] = "120"
        try:
            self.assertEqual(IdentityClient().token_lifetime_seconds, 120)
        finally:
            del os.environ["AGENTVAULT_TOKEN_LIFETIME"]

    def test_keepalive(self):
        """one connection serves many requests; threads share the client"""
        c = admin()
        for _ in range(5):
            c.ping()
            c.get_workload_access_token("py-agent")
        self.assertEqual(c.transport("data").connections_opened, 1)
        errors = []

        def work():
            try:
                for _ in range(5):
                    tok = c.cached_workload_access_token("py-agent")
                    if c.get_api_key("py-weather", tok) != KEY:
                        errors.append("wrong key")
            except Exception as e:
                errors.append(repr(e))
        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertLessEqual(c.transport("data").connections_opened, 7)
        c.close()
        c.ping()

    def test_wrong_ca(self):
        """a wrong CA, and a certificate that does not name the server,
        are refused (TLSVerificationError, a TransportError)"""
        e = expect(self, agentvault.TLSVerificationError,
                   IdentityClient(ca=FAKE["ca"]).ping)
        self.assertIsInstance(e, agentvault.TransportError)
        self.assertNotIsInstance(e, agentvault.AgentVaultError)
        self.assertIn("AGENTVAULT_CA", str(e))
        expect(self, agentvault.TLSVerificationError,
               IdentityClient(server_hostname="appliance.example").ping)
        os.environ["AGENTVAULT_TLS_NAME"] = "agentvault"
        try:
            self.assertEqual(IdentityClient().ping()["status"], "ok")
        finally:
            del os.environ["AGENTVAULT_TLS_NAME"]

    def test_transport_errors(self):
        """no socket, no CA file, a bad endpoint: clear errors"""
        e = expect(self, agentvault.TransportError,
                   IdentityClient(socket=os.path.join(WORK, "none.sock")).ping)
        self.assertIn("no appliance socket at", str(e))
        e = expect(self, agentvault.ConfigurationError,
                   IdentityClient(ca=os.path.join(WORK, "none.pem")).ping)
        self.assertIn("AGENTVAULT_CA", str(e))
        expect(self, agentvault.ConfigurationError,
               IdentityClient(socket="tcp://nope").ping)

    def test_tcp_mtls(self):
        """TCP with a client certificate: Ping answers; the data plane is
        refused there (AccessDeniedException); without a certificate (the
        listener asks for one, for browsers at the OAuth callback, but
        does not require it) Ping answers and every operation is
        refused"""
        c = IdentityClient(socket="tcp://127.0.0.1:%d" % tcp_port,
                           server_hostname="localhost",
                           client_cert=CLIENTS["cert"],
                           client_key=CLIENTS["key"])
        self.assertEqual(c.ping()["status"], "ok")
        expect(self, agentvault.AccessDeniedException,
               c.get_workload_access_token, "py-agent")
        anon = IdentityClient(socket="tcp://127.0.0.1:%d" % tcp_port)
        self.assertEqual(anon.ping()["status"], "ok")
        expect(self, agentvault.AccessDeniedException,
               anon.get_workload_access_token, "py-agent")
        expect(self, agentvault.ConfigurationError, IdentityClient(
            client_cert=os.path.join(WORK, "none.pem")).ping)


# ---------------------------------------------------------------------------
# A fake appliance: the OAuth flow, broken connections, bad replies


class FakeAppliance:
    """A TLS server on a Unix socket.  handler(method, target, body, n)
    returns ("json", status, doc), ("raw", bytes), ("drop",) to close the
    connection without a reply, or ("hang",)."""

    def __init__(self, handler):
        self.handler = handler
        self.requests = []
        self.path = os.path.join(WORK, "fake-%s.sock" % uuid.uuid4().hex[:8])
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(FAKE["cert"], FAKE["key"])
        self.done = threading.Event()
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(self.path)
        self.lsock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def client(self, **kw):
        kw.setdefault("timeout", 5)
        return IdentityClient(socket=self.path, admin_socket=self.path,
                              ca=FAKE["ca"], **kw)

    def close(self):
        self.done.set()
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        os.unlink(self.path)

    def _accept(self):
        while not self.done.is_set():
            try:
                raw, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,),
                             daemon=True).start()

    def _serve(self, raw):
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = s.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                method, target, _ = lines[0].split(" ")
                length = 0
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    if k.lower() == "content-length":
                        length = int(v)
                while len(buf) < length:
                    buf += s.recv(65536)
                body, buf = buf[:length], buf[length:]
                doc = json.loads(body) if body else None
                self.requests.append((method, target, doc))
                action = self.handler(method, target, doc,
                                      len(self.requests))
                if action[0] == "drop":
                    return
                if action[0] == "hang":
                    self.done.wait(30)
                    return
                if action[0] == "raw":
                    s.sendall(action[1])
                    continue
                payload = json.dumps(action[2]).encode()
                s.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json"
                          b"\r\nContent-Length: %d\r\n\r\n"
                          % (action[1], len(payload)) + payload)
        except (OSError, ValueError):
            return
        finally:
            raw.close()


SESSION = "urn:ietf:params:oauth:request_uri:py-session-1"
AUTH_URL = "https://idp.example/authorize?request_uri=" + SESSION


def consent_handler(polls_before_token, final=None):
    """GetResourceOauth2Token: an authorization URL first, then
    IN_PROGRESS for some polls, then the token (or `final`)."""
    def handler(method, target, body, n):
        if target != "/identities/oauth2/token":
            return ("json", 400, {"__type": "ValidationException",
                                  "message": "unknown operation"})
        if "sessionUri" not in body:
            return ("json", 200, {"authorizationUrl": AUTH_URL,
                                  "sessionUri": SESSION,
                                  "sessionStatus": "IN_PROGRESS"})
        if polls_before_token is not None and n > polls_before_token + 1:
            return ("json", 200, final or {"accessToken": "gho_token"})
        return ("json", 200, {"sessionUri": SESSION,
                              "sessionStatus": "IN_PROGRESS"})
    return handler


class FakeApplianceTests(unittest.TestCase):

    def fake(self, handler):
        f = FakeAppliance(handler)
        self.addCleanup(f.close)
        return f

    def test_consent_flow(self):
        """get_token: the authorization URL goes to on_auth_url, then the
        session is polled (no forceAuthentication) until the token"""
        f = self.fake(consent_handler(2))
        c = f.client(poll_interval_seconds=0.05)
        urls = []
        tok = c.get_token(provider_name="github-provider",
                          scopes=["repo", "user"],
                          agent_identity_token="avwat1.x.y",
                          on_auth_url=urls.append,
                          callback_url="https://app.example/cb",
                          force_authentication=True, custom_state="st-1",
                          custom_parameters={"prompt": "consent"})
        self.assertEqual(tok, "gho_token")
        self.assertEqual(urls, [AUTH_URL])
        first = f.requests[0][2]
        self.assertEqual(first, {
            "resourceCredentialProviderName": "github-provider",
            "scopes": ["repo", "user"], "oauth2Flow": "USER_FEDERATION",
            "workloadIdentityToken": "avwat1.x.y",
            "resourceOauth2ReturnUrl": "https://app.example/cb",
            "forceAuthentication": True, "customState": "st-1",
            "customParameters": {"prompt": "consent"}})
        self.assertEqual(len(f.requests), 4)
        for _, _, body in f.requests[1:]:
            self.assertEqual(body["sessionUri"], SESSION)
            self.assertNotIn("forceAuthentication", body)

    def test_token_at_once(self):
        """get_token: a token in the first answer (M2M) is returned; no
        authorization URL, no polling"""
        f = self.fake(lambda *a: ("json", 200, {"accessToken": "m2m-tok"}))
        urls = []
        self.assertEqual(f.client().get_token(
            provider_name="p", scopes=[], agent_identity_token="t",
            auth_flow="M2M", on_auth_url=urls.append), "m2m-tok")
        self.assertEqual(urls, [])
        self.assertEqual(f.requests[0][2]["oauth2Flow"], "M2M")

    def test_consent_failed_and_deadline(self):
        """a FAILED session and a passed deadline are typed errors"""
        f = self.fake(consent_handler(1, {"sessionUri": SESSION,
                                          "sessionStatus": "FAILED"}))
        expect(self, agentvault.AuthorizationFailedError, f.client(
            poll_interval_seconds=0.05).get_token, provider_name="p",
            scopes=[], agent_identity_token="t")
        f = self.fake(consent_handler(None))
        start = time.monotonic()
        e = expect(self, agentvault.AuthorizationTimeoutError, f.client(
            poll_interval_seconds=0.05, poll_timeout_seconds=0.3).get_token,
            provider_name="p", scopes=[], agent_identity_token="t")
        self.assertIsInstance(e, TimeoutError)
        self.assertLess(time.monotonic() - start, 3)
        f = self.fake(lambda *a: ("json", 200, {}))
        expect(self, agentvault.ProtocolError, f.client().get_token,
               provider_name="p", scopes=[], agent_identity_token="t")

    def test_custom_pollers(self):
        """a TokenPoller of one's own, plain or async, replaces polling"""
        f = self.fake(consent_handler(None))

        class Plain(agentvault.TokenPoller):
            def poll_for_token(self):
                return "from-plain"

        class Async(agentvault.TokenPoller):
            async def poll_for_token(self):
                await asyncio.sleep(0)
                return "from-async"
        c = f.client()
        for poller, want in ((Plain(), "from-plain"), (Async(), "from-async")):
            self.assertEqual(c.get_token(provider_name="p", scopes=[],
                                         agent_identity_token="t",
                                         token_poller=poller), want)
        self.assertEqual(len(f.requests), 2)

    def test_get_resource_oauth2_token(self):
        """get_resource_oauth2_token sends every member of the API and
        returns the checked reply; complete_resource_token_auth's body"""
        f = self.fake(consent_handler(1))
        c = f.client()
        r = c.get_resource_oauth2_token(
            provider_name="gh", agent_identity_token="avwat1.a.b",
            scopes=["repo"], callback_url="https://app.example/cb",
            force_authentication=True, custom_parameters={"prompt": "x"},
            custom_state="st", resources=["https://api.example/"],
            audiences=["aud"])
        self.assertEqual(r, {"authorizationUrl": AUTH_URL,
                             "sessionUri": SESSION,
                             "sessionStatus": "IN_PROGRESS"})
        self.assertEqual(f.requests[0][2], {
            "resourceCredentialProviderName": "gh", "scopes": ["repo"],
            "oauth2Flow": "USER_FEDERATION",
            "workloadIdentityToken": "avwat1.a.b",
            "resourceOauth2ReturnUrl": "https://app.example/cb",
            "forceAuthentication": True, "customParameters": {"prompt": "x"},
            "customState": "st", "resources": ["https://api.example/"],
            "audiences": ["aud"]})
        r = c.get_resource_oauth2_token(
            provider_name="gh", agent_identity_token="avwat1.a.b",
            session_uri=SESSION)
        self.assertEqual(r, {"sessionUri": SESSION,
                             "sessionStatus": "IN_PROGRESS"})
        self.assertEqual(c.get_resource_oauth2_token(
            provider_name="gh", agent_identity_token="t",
            session_uri=SESSION), {"accessToken": "gho_token"})
        expect(self, ValueError, c.get_resource_oauth2_token,
               provider_name="gh", agent_identity_token="t",
               auth_flow="IMPLICIT")
        f = self.fake(lambda *a: ("json", 200, {}))
        self.assertEqual(f.client().complete_resource_token_auth(
            SESSION, agentvault.UserIdIdentifier("alice")), {})
        self.assertEqual(f.requests[0][1:], (
            "/identities/CompleteResourceTokenAuth",
            {"sessionUri": SESSION, "userIdentifier": {"userId": "alice"}}))

    def test_oauth2_bad_replies(self):
        """replies that are neither a token nor a well-formed session are
        ProtocolError: nothing of them reaches on_auth_url"""
        s = {"sessionUri": SESSION, "sessionStatus": "IN_PROGRESS"}
        for reply in ({"accessToken": ""}, {"accessToken": 7}, {},
                      dict(s, authorizationUrl="javascript:alert(1)"),
                      dict(s, authorizationUrl="https://a/\x1b[2J"),
                      dict(s, authorizationUrl="https://a/" + "x" * 9000),
                      dict(s, authorizationUrl=["https://a/"]),
                      dict(s, authorizationUrl=AUTH_URL,
                           sessionUri="urn:other:x"),
                      dict(s, authorizationUrl=AUTH_URL,
                           sessionStatus="MAYBE"),
                      {"authorizationUrl": AUTH_URL, "sessionUri": SESSION},
                      s):
            f = self.fake(lambda *a, r=reply: ("json", 200, r))
            urls = []
            expect(self, agentvault.ProtocolError, f.client().get_token,
                   provider_name="p", scopes=[], agent_identity_token="t",
                   on_auth_url=urls.append)
            self.assertEqual(urls, [], reply)

    def test_oauth2_first_failed_and_retry(self):
        """a FAILED first answer raises AuthorizationFailedError; a broken
        connection is retried for M2M and polls, not for a first
        USER_FEDERATION request (it may have started a session)"""
        f = self.fake(lambda *a: ("json", 200, {
            "sessionUri": SESSION, "sessionStatus": "FAILED"}))
        expect(self, agentvault.AuthorizationFailedError, f.client().get_token,
               provider_name="p", scopes=[], agent_identity_token="t")
        tok = ("json", 200, {"accessToken": "tok"})
        for flow, session, tries in (("M2M", None, 3),
                                     ("USER_FEDERATION", SESSION, 3),
                                     ("USER_FEDERATION", None, 2)):
            f = self.fake(lambda m, t, b, n: ("drop",) if n == 2 else tok)
            c = f.client()
            c.get_resource_oauth2_token(provider_name="p",
                                        agent_identity_token="t",
                                        auth_flow=flow, session_uri=session)
            call = functools.partial(
                c.get_resource_oauth2_token, provider_name="p",
                agent_identity_token="t", auth_flow=flow,
                session_uri=session)
            if tries == 3:
                self.assertEqual(call(), {"accessToken": "tok"})
            else:
                e = expect(self, agentvault.TransportError, call)
                self.assertIn("may or may not have been applied", str(e))
            self.assertEqual(len(f.requests), tries, (flow, session))

    def test_polling_renews_workload_token(self):
        """requires_access_token polls every second by default; the polls
        use the cache's workload token, renewed when it falls due during
        the consent"""
        self.assertEqual(agentvault.identity.DEFAULT_POLLING_INTERVAL_SECONDS,
                         1)
        self.assertEqual(IdentityClient(ca=CA).poll_interval_seconds, 1)
        mints = []

        def handler(method, target, body, n):
            if target == "/identities/GetWorkloadAccessTokenForUserId":
                mints.append(body["userId"])
                return ("json", 200, {"workloadAccessToken":
                                      "avwat1.m.%d" % len(mints)})
            return consent_handler(6)(method, target, body, n)
        f = self.fake(handler)
        c = f.client(poll_interval_seconds=0.1, token_lifetime_seconds=0.3)

        @requires_access_token(provider_name="gh", scopes=["repo"],
                               on_auth_url=lambda url: None, client=c,
                               workload_name="wl", user_id="alice")
        def fn(access_token):
            return access_token
        self.assertEqual(fn(), "gho_token")
        used = [b["workloadIdentityToken"] for _, t, b in f.requests
                if t == "/identities/oauth2/token"]
        self.assertEqual(used[0], "avwat1.m.1")
        self.assertGreater(len(set(used)), 1, used)
        self.assertEqual(mints, ["alice"] * len(mints))

    def test_requires_access_token_flow(self):
        """requires_access_token, plain and async, runs the consent flow;
        an async on_auth_url runs on the caller's event loop; the
        context's callback URL is used"""
        f = self.fake(consent_handler(1))
        c = f.client(poll_interval_seconds=0.05)
        seen = []

        @requires_access_token(provider_name="gh", scopes=["repo"],
                               on_auth_url=seen.append, client=c)
        def plain(x, access_token=""):
            return x, access_token

        with context.invocation("avwat1.ctx.tok", "https://app.example/cb"):
            self.assertEqual(plain(1), (1, "gho_token"))
        self.assertEqual(seen, [AUTH_URL])
        self.assertEqual(f.requests[0][2]["workloadIdentityToken"],
                         "avwat1.ctx.tok")
        self.assertEqual(f.requests[0][2]["resourceOauth2ReturnUrl"],
                         "https://app.example/cb")
        loops = []

        async def on_url(url):
            loops.append((asyncio.get_running_loop(), url))

        @requires_access_token(provider_name="gh", scopes=["repo"],
                               on_auth_url=on_url, into="tok", client=c)
        async def coro(tok):
            return tok, asyncio.get_running_loop()

        async def main():
            context.set_workload_access_token("avwat1.ctx.tok2")
            tok, loop = await coro()
            return tok, loop is asyncio.get_running_loop()

        f.requests.clear()
        self.assertEqual(asyncio.run(main()), ("gho_token", True))
        self.assertEqual(len(loops), 1)
        self.assertEqual(loops[0][1], AUTH_URL)
        self.assertEqual(f.requests[0][2]["workloadIdentityToken"],
                         "avwat1.ctx.tok2")

    def test_broken_connection(self):
        """a reused connection that breaks mid-request: a safe request is
        retried once on a fresh connection; a write (updates and tags
        included) is not, and the error says it may have been applied; a
        fresh connection that breaks is not retried"""
        ok = ("json", 200, {"name": "x"})
        f = self.fake(lambda m, t, b, n: ("drop",) if n == 2 else ok)
        c = f.client()
        self.assertEqual(c.get_workload_identity("x"), {"name": "x"})
        self.assertEqual(c.get_workload_identity("x"), {"name": "x"})
        self.assertEqual(len(f.requests), 3)
        for write in (lambda c: c.create_workload_identity("x"),
                      lambda c: c.update_workload_identity("x"),
                      lambda c: c.tag_resource(ARN + "x", {"k": "v"})):
            f = self.fake(lambda m, t, b, n: ("drop",) if n == 2 else ok)
            c = f.client()
            c.get_workload_identity("x")
            e = expect(self, agentvault.TransportError, write, c)
            self.assertIn("may or may not have been applied", str(e))
            self.assertEqual(len(f.requests), 2)
        f = self.fake(lambda *a: ("drop",))
        e = expect(self, agentvault.TransportError,
                   f.client().get_workload_identity, "x")
        self.assertIn("broke before the reply", str(e))
        self.assertEqual(len(f.requests), 1)
        f = self.fake(lambda m, t, b, n: ("drop",) if n > 1 else ok)
        c = f.client()
        c.get_workload_identity("x")
        e = expect(self, agentvault.TransportError, c.get_workload_identity,
                   "x")
        self.assertIn("broke twice", str(e))
        self.assertEqual(len(f.requests), 3)

    def test_bad_replies(self):
        """oversized, malformed and non-JSON replies are ProtocolError; a
        slow appliance is TransportTimeout; unknown error names are kept"""
        def raw(data):
            return self.fake(lambda *a: ("raw", data)).client()
        e = expect(self, agentvault.ProtocolError, raw(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n").ping)
        self.assertIn("over the limit", str(e))
        f = self.fake(lambda *a: ("json", 200, {"pad": "x" * 300}))
        expect(self, agentvault.ProtocolError,
               f.client(max_response_bytes=200).ping)
        for data in (b"HTTP/1.1 200 OK\r\n\r\n",
                     b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                     b"SMTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
                     b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
                     b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                     b"Content-Length: 2\r\n\r\n{}",
                     b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 2000 + b"\r\n",
                     # Not ASCII digits; a head over 16 KiB in one read.
                     b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n",
                     b"HTTP/1.1 \xb2\xb2\xb2 OK\r\nContent-Length: 0\r\n\r\n",
                     b"HTTP/1.1 200 OK\r\nX: " + b"y" * 17000 +
                     b"\r\nContent-Length: 2\r\n\r\n{}"):
            expect(self, agentvault.ProtocolError, raw(data).ping)
        start = time.monotonic()
        expect(self, agentvault.TransportTimeout, self.fake(
            lambda *a: ("hang",)).client(timeout=0.5).ping)
        self.assertLess(time.monotonic() - start, 3)
        e = expect(self, agentvault.AgentVaultError, self.fake(
            lambda *a: ("json", 418, {"__type": "aws#WeirdException",
                                      "message": "odd"})).client().ping)
        self.assertEqual((type(e), e.error_type, e.message),
                         (agentvault.AgentVaultError, "WeirdException", "odd"))
        e = expect(self, agentvault.ThrottlingException, self.fake(
            lambda *a: ("json", 429, {"__type": "a.b#ThrottlingException:x",
                                      "message": "slow down"})).client().ping)
        e = expect(self, agentvault.InternalServerException, self.fake(
            lambda *a: ("json", 500, {})).client().ping)


# ---------------------------------------------------------------------------
# The decorators, against the real daemon


class DecoratorTests(unittest.TestCase):

    def token(self, user_id="u-deco"):
        return admin().get_workload_access_token(
            "py-agent", user_id=user_id)["workloadAccessToken"]

    def test_api_key_explicit(self):
        """requires_api_key with workload_name= and user_id=, plain and
        async; into= names the argument"""
        @requires_api_key(provider_name="py-weather", workload_name="py-agent",
                          user_id="cognito+alice")
        def plain(x, *, api_key):
            return x, api_key

        @requires_api_key(provider_name="py-weather", workload_name="py-agent",
                          into="key")
        async def coro(x, key=None):
            await asyncio.sleep(0)
            return x, key

        self.assertEqual(plain(1), (1, KEY))
        self.assertEqual(asyncio.run(coro(2)), (2, KEY))
        self.assertEqual(plain.__name__, "plain")
        self.assertEqual(coro.__name__, "coro")
        self.assertTrue(asyncio.iscoroutinefunction(coro))

    def test_context_and_env_token(self):
        """the invocation context's token, then
        $AGENTVAULT_WORKLOAD_ACCESS_TOKEN; the context wins"""
        @requires_api_key(provider_name="py-weather")
        def plain(api_key=None):
            return api_key

        @requires_api_key(provider_name="py-weather")
        async def coro(api_key=None):
            return api_key

        tok = self.token()
        with context.invocation(tok):
            self.assertEqual(plain(), KEY)
            self.assertEqual(asyncio.run(coro()), KEY)
        self.assertIsNone(context.get_workload_access_token())
        os.environ["AGENTVAULT_WORKLOAD_ACCESS_TOKEN"] = tok
        try:
            self.assertEqual(plain(), KEY)
            os.environ["AGENTVAULT_WORKLOAD_ACCESS_TOKEN"] = "avwat1.bad.x"
            e = expect(self, agentvault.AgentVaultError, plain)
            self.assertIn(e.error_type, ("AccessDeniedException",
                                         "ValidationException"))
            with context.invocation(tok):
                self.assertEqual(plain(), KEY)
        finally:
            del os.environ["AGENTVAULT_WORKLOAD_ACCESS_TOKEN"]

    def test_token_cached_and_renewed(self):
        """decorators mint one token per (workload, user) and reuse it; a
        cached token the appliance refuses (its identity deleted) is
        dropped and minted again, once"""
        c = admin()
        c.create_workload_identity("py-recreated")
        mints = []
        real = c.get_workload_access_token

        def counting(*args, **kwargs):
            mints.append(args)
            return real(*args, **kwargs)
        c.get_workload_access_token = counting

        @requires_api_key(provider_name="py-weather",
                          workload_name="py-recreated", user_id="u", client=c)
        def f(api_key):
            return api_key
        for _ in range(3):
            self.assertEqual(f(), KEY)
        self.assertEqual(len(mints), 1)
        c.delete_workload_identity("py-recreated")
        expect(self, agentvault.ResourceNotFoundException, f)
        self.assertEqual(len(mints), 2)
        c.create_workload_identity("py-recreated")
        self.assertEqual(f(), KEY)
        self.assertEqual(len(mints), 3)
        c.delete_workload_identity("py-recreated")

    def test_decoration_errors(self):
        """bad decorator arguments fail when decorating"""
        expect(self, ValueError, requires_api_key, provider_name="p",
               user_id="u")
        expect(self, ValueError, requires_api_key, provider_name="p",
               user_token="t")
        expect(self, ValueError, requires_access_token, provider_name="p",
               scopes=[], auth_flow="IMPLICIT")
        expect(self, ValueError, requires_api_key(provider_name="p",
                                                  into="not a name"),
               lambda: None)
        expect(self, TypeError, requires_access_token, provider_name="p")

    def test_requires_access_token_errors(self):
        """requires_access_token with a provider the appliance does not
        have: its ResourceNotFoundException, plain and async; the function
        never runs"""
        ran = []

        @requires_access_token(provider_name="github-provider",
                               scopes=["repo"], workload_name="py-agent",
                               user_id="u-1")
        def plain(access_token):
            ran.append(1)

        @requires_access_token(provider_name="github-provider",
                               scopes=["repo"], auth_flow="M2M",
                               workload_name="py-agent")
        async def coro(access_token):
            ran.append(2)

        for call in (plain, lambda: asyncio.run(coro())):
            e = expect(self, agentvault.ResourceNotFoundException, call)
            self.assertIn("no OAuth2 credential provider named "
                          "github-provider", str(e))
        self.assertEqual(ran, [])

    def test_context_in_threads(self):
        """the invocation's token reaches ContextThread, run_in_thread,
        ContextThreadPoolExecutor, bind(), asyncio.to_thread and tasks; a
        plain Thread does not see it"""
        @requires_api_key(provider_name="py-weather")
        def read_key(_=None, api_key=None):
            return api_key

        out = {}
        tok = self.token()
        with context.invocation(tok):
            t = context.ContextThread(target=lambda: out.update(a=read_key()))
            t.start()
            t.join()
            context.run_in_thread(lambda: out.update(b=read_key())).join()
            with context.ContextThreadPoolExecutor(2) as pool:
                out["c"] = pool.submit(read_key).result()
                out["d"] = list(pool.map(read_key, range(3)))
            bound = context.bind(read_key)
            t = threading.Thread(target=lambda: out.update(e=bound()))
            t.start()
            t.join()
            t = threading.Thread(target=lambda: out.update(
                plain=context.get_workload_access_token()))
            t.start()
            t.join()

            async def main():
                return (await asyncio.to_thread(read_key),
                        await asyncio.create_task(asyncio.to_thread(read_key)))
            out["f"] = asyncio.run(main())
        self.assertEqual(out, {"a": KEY, "b": KEY, "c": KEY, "d": [KEY] * 3,
                               "e": KEY, "f": (KEY, KEY), "plain": None})

    def test_invocations_isolated(self):
        """concurrent invocations each see their own token (threads and
        asyncio tasks)"""
        @requires_api_key(provider_name="py-weather")
        def read_key(api_key=None):
            return api_key

        def serve(token):
            with context.invocation(token):
                try:
                    return read_key()
                except agentvault.AgentVaultError as e:
                    return e.error_type
        good = self.token()
        bad = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        with context.ContextThreadPoolExecutor(4) as pool:
            got = list(pool.map(serve, [good, bad] * 4))
        self.assertEqual(got, [KEY, "AccessDeniedException"] * 4)

        @requires_api_key(provider_name="py-weather")
        async def coro(api_key=None):
            return api_key

        async def task(token):
            context.set_workload_access_token(token)
            try:
                return await coro()
            except agentvault.AgentVaultError as e:
                return e.error_type

        async def main():
            return await asyncio.gather(*(task(t) for t in [good, bad] * 3))
        self.assertEqual(asyncio.run(main()),
                         [KEY, "AccessDeniedException"] * 3)


# ---------------------------------------------------------------------------
# Local development and the loud missing-token error (other processes)


AGENT_PROGRAM = """
import asyncio, sys
from agentvault.auth import requires_api_key

@requires_api_key(provider_name="py-weather")
def plain(api_key):
    return api_key

@requires_api_key(provider_name="py-weather")
async def coro(api_key):
    return api_key

key = plain()
assert asyncio.run(coro()) == key
print("KEY=" + key)
"""


class LocalDevTests(unittest.TestCase):

    def test_creates_then_reuses(self):
        """no token anywhere (as an admin): a workload identity and a user
        id are created, saved in .agentvault.json (0600) and announced;
        the next run reuses them"""
        d = scratch()
        before = admin().list_workload_identities(max_results=20)
        r = run_py(AGENT_PROGRAM, d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("KEY=" + KEY, r.stdout)
        path = os.path.join(d, ".agentvault.json")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            cfg = json.load(f)
        self.assertRegex(cfg["workload_identity_name"],
                         "^workload-[0-9a-f]{8}$")
        self.assertRegex(cfg["user_id"], "^[0-9a-f]{8}$")
        self.assertIn("local development: created the workload identity %s"
                      % cfg["workload_identity_name"], r.stderr)
        self.assertIn("created the user id %s" % cfg["user_id"], r.stderr)
        admin().get_workload_identity(cfg["workload_identity_name"])
        r = run_py(AGENT_PROGRAM, d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("KEY=" + KEY, r.stdout)
        self.assertIn("using the workload identity %s and user id %s"
                      % (cfg["workload_identity_name"], cfg["user_id"]),
                      r.stderr)
        self.assertNotIn("created", r.stderr)
        with open(path) as f:
            self.assertEqual(json.load(f), cfg)
        after = admin().list_workload_identities(max_results=20)
        self.assertEqual(len(after["workloadIdentities"]),
                         len(before["workloadIdentities"]) + 1)
        admin().delete_workload_identity(cfg["workload_identity_name"])

    def test_deleted_or_malformed(self):
        """.agentvault.json naming a deleted identity, or malformed: a
        clear error naming the file"""
        d = scratch()
        path = os.path.join(d, ".agentvault.json")
        with open(path, "w") as f:
            json.dump({"workload_identity_name": "py-gone",
                       "user_id": "u"}, f)
        r = run_py(AGENT_PROGRAM, d)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("MissingWorkloadAccessTokenError: the workload "
                      "identity 'py-gone' named in %s does not exist" % path,
                      r.stderr)
        with open(path, "w") as f:
            f.write("[]")
        r = run_py(AGENT_PROGRAM, d)
        self.assertIn("must be a JSON object", r.stderr)

    def test_missing_token_is_loud(self):
        """an agent that is not admin, with no token: a loud error that
        names the fixes, never a silent fallback; the function never
        runs"""
        for extra, why in (({}, "AccessDeniedException (CreateWorkload"
                                "Identity): principal agents is not "
                                "authorized"),
                           ({"AGENTVAULT_ADMIN_SOCKET":
                             os.path.join(WORK, "none.sock")},
                            "no appliance socket at"),
                           ({"AGENTVAULT_LOCAL_DEV": "0"},
                            "local development is off")):
            d = scratch(AGENT_UID)
            r = run_py(AGENT_PROGRAM, d, as_agent=True, **extra)
            self.assertNotEqual(r.returncode, 0)
            self.assertNotIn("KEY=", r.stdout)
            self.assertIn("MissingWorkloadAccessTokenError: no workload "
                          "access token for this call", r.stderr)
            self.assertIn(why, r.stderr)
            for fix in ("workload_name=", "$AGENTVAULT_WORKLOAD_ACCESS_TOKEN",
                        os.path.join(d, ".agentvault.json")):
                self.assertIn(fix, r.stderr)
            self.assertFalse(os.path.exists(os.path.join(
                d, ".agentvault.json")))

    def test_agent_with_prepared_identity(self):
        """an agent that is not admin runs with the identity an admin
        wrote into .agentvault.json, or with workload_name="""
        d = scratch(AGENT_UID)
        with open(os.path.join(d, ".agentvault.json"), "w") as f:
            json.dump({"workload_identity_name": "py-agent",
                       "user_id": "dev-1"}, f)
        r = run_py(AGENT_PROGRAM, d, as_agent=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("KEY=" + KEY, r.stdout)
        self.assertIn("using the workload identity py-agent", r.stderr)
        r = run_py(AGENT_PROGRAM.replace(
            'provider_name="py-weather"', 'provider_name="py-weather", '
            'workload_name="py-agent", user_id="cognito+bob"'),
            scratch(AGENT_UID), as_agent=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("KEY=" + KEY, r.stdout)
        self.assertNotIn("local development", r.stderr)


# ---------------------------------------------------------------------------
# The seed's example (section 08) and the example of docs/client.md


# Verbatim from the seed (000_31ace3bd584cd504.txt, section 08, step 2).
SEED_EXAMPLE = '''\
from bedrock_agentcore.identity.auth import (
    requires_access_token, requires_api_key,
)

@requires_access_token(provider_name="github-provider",
                       scopes=["repo", "user"])
async def list_my_repos(access_token: str = ""):
    import httpx
    async with httpx.AsyncClient() as c:
        r = await c.get(
            "https://api.github.com/user/repos",
            headers={"Authorization": f"Bearer {access_token}"},
        )
        return [r["full_name"] for r in r.json()]
'''


def ported_seed_example():
    text = SEED_EXAMPLE.replace("from bedrock_agentcore.identity.auth import",
                                "from agentvault.auth import")
    changed = [(a, b) for a, b in zip(SEED_EXAMPLE.splitlines(),
                                      text.splitlines()) if a != b]
    assert len(changed) == 1, changed
    return text


def docs_example():
    """The Python blocks of "A complete example" in the section "Python
    SDK" of docs/client.md."""
    with open(os.path.join(TOP, "docs", "client.md")) as f:
        doc = f.read()
    part = doc.split("## 3. Python SDK\n", 1)[1].split("\n## ", 1)[0]
    part = part.split("### 3.10 A complete example\n", 1)[1].split("\n### ")[0]
    return re.findall(r"```python\n(.*?)```", part, re.S)


class ExampleTests(unittest.TestCase):

    def test_seed_example_runs(self):
        """the seed's section 08 example runs with only its import line
        changed"""
        r = run_py(ported_seed_example(), scratch())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")

    def test_seed_example_called(self):
        """calling it without a github-provider on the appliance: its
        clear error, before the body (and httpx, not installed here) is
        reached"""
        d = scratch()
        r = run_py(ported_seed_example() + "\nimport asyncio\n"
                   "asyncio.run(list_my_repos())\n", d)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("agentvault.errors.ResourceNotFoundException: "
                      "ResourceNotFoundException (GetResourceOauth2Token): "
                      "no OAuth2 credential provider named github-provider",
                      r.stderr)
        self.assertNotIn("httpx", r.stderr)
        with open(os.path.join(d, ".agentvault.json")) as f:
            admin().delete_workload_identity(
                json.load(f)["workload_identity_name"])

    def test_docs_example(self):
        """the complete example of docs/client.md reads an API key"""
        blocks = docs_example()
        self.assertEqual(len(blocks), 2, "an admin part and an agent part")
        d = scratch()
        with open(os.path.join(d, "weather.key"), "w") as f:
            f.write("wk-" + KEY + "\n")
        outs = []
        for code in blocks:
            r = run_py(code, d)
            self.assertEqual(r.returncode, 0, r.stderr)
            outs.append(r.stdout)
        self.assertIn("a key of %d characters" % len("wk-" + KEY), outs[1])
        c = admin()
        c.delete_api_key_credential_provider("weather-svc")
        c.delete_workload_identity("weather-agent")


# ---------------------------------------------------------------------------
# Restarts (last: they replace the daemon)


class RestartTests(unittest.TestCase):

    def test_1_worker_killed(self):
        """after the worker is killed and restarted, a client's idle
        connection is noticed as closed and replaced, for any request"""
        c = admin()
        c.ping()
        c.get_workload_identity("py-agent")
        os.kill(daemon.worker_pid(), signal.SIGKILL)
        self.assertTrue(daemon.wait_ready())
        self.assertEqual(c.ping()["status"], "ok")
        c.create_workload_identity("py-after-kill")
        c.delete_workload_identity("py-after-kill")
        self.assertEqual(c.transport("data").connections_opened, 2)
        self.assertEqual(c.transport("admin").connections_opened, 2)

    def test_2_break_in_flight(self):
        """a request in flight when the worker dies: not repeated unless
        safe, a clear error, and the client works again afterwards"""
        c = admin()
        t = c.transport("admin")
        e = expect(self, agentvault.TransportError, t.request, "POST",
                   "/test/forbidden-syscall", b"{}")
        self.assertIn("may or may not have been applied", str(e))
        self.assertTrue(daemon.wait_ready())
        # A reused connection: a safe request is tried twice.
        t.request("POST", "/identities/GetWorkloadIdentity",
                  b'{"name": "py-agent"}', True)
        e = expect(self, agentvault.TransportError, t.request, "POST",
                   "/test/forbidden-syscall", b"{}", True)
        self.assertIn("broke twice", str(e))
        self.assertTrue(daemon.wait_ready())
        self.assertEqual(c.get_workload_identity("py-agent")["name"],
                         "py-agent")

    def test_3_daemon_restarted(self):
        """after a daemon restart the same client and decorator carry on;
        cached tokens stay valid"""
        c = admin()

        @requires_api_key(provider_name="py-weather", workload_name="py-agent",
                          client=c)
        def f(api_key):
            return api_key
        self.assertEqual(f(), KEY)
        daemon.stop()
        start_daemon()
        self.assertEqual(f(), KEY)
        self.assertEqual(c.get_workload_identity("py-agent")["name"],
                         "py-agent")

    def test_4_no_sanitizer_report(self):
        """no sanitizer or valgrind report from the daemon"""
        bad = [l for l in td.log_text().splitlines() if "Sanitizer" in l or
               "runtime error" in l or ("ERROR SUMMARY" in l and
                                        "ERROR SUMMARY: 0 " not in l)]
        self.assertEqual(bad, [])


# ---------------------------------------------------------------------------
# TAP


class Tap(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def line(self, good, test, err=None, directive=""):
        self.n += 1
        doc = getattr(test, "_testMethodDoc", None)
        name = "%s: %s" % (test.id().split(".", 1)[-1], " ".join(
            (doc or "").split())) if doc else test.id()
        print("%s %d - %s%s" % ("ok" if good else "not ok", self.n, name,
                                directive))
        if err is not None:
            for line in self._exc_info_to_string(err, test).splitlines():
                print("# " + line)
        sys.stdout.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self.line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.line(False, test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self.line(False, test, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.line(True, test, directive=" # SKIP " + reason)


def main():
    logging.basicConfig(level=logging.ERROR)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(cls) for cls in (
        ClientTests, FakeApplianceTests, DecoratorTests, LocalDevTests,
        ExampleTests, RestartTests))
    result = Tap()
    suite.run(result)
    print("1..%d" % result.n)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
