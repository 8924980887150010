#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_client_oauth.py - the clients' OAuth2 flows end to end: the
sandboxed daemon on the SoftHSM2 test token, the OpenID provider of
idp.mjs on loopback and, for the three-legged flow, a person at headless
Chromium (browser.mjs).

M2M: the CLI (token oauth2 --flow M2M), libagentvault's helpers
(test_libagentvault scenario oauth-e2e: av_get_resource_oauth2_token,
av_with_access_token) and the Python decorator (auth_flow="M2M"); the
tokens are the provider's, checked against its JWKS.

USER_FEDERATION: the decorator, whose on_auth_url hands the URL to the
browser while it polls; the browser consents at the provider, passes the
appliance's callback and lands on the return URL, whose server calls
CompleteResourceTokenAuth; the polling ends with the token.  The CLI:
token oauth2 (exit 6, the URL), the browser, session complete,
token oauth2 --session-uri; and --wait.  A second user completing the
session is refused.

Prints TAP.  Environment as tests/integration/test_daemon.py (run.sh's
token); node modules from npm ci in tests/oauth.
"""
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "client", "python"))
import harness  # noqa: E402
import test_daemon as td  # noqa: E402

import agentvault  # noqa: E402
from agentvault import IdentityClient, requires_access_token  # noqa: E402

td.WORK = WORK = os.path.join(td.TOKDIR, "client-oauth")
# Under valgrind (AV_TEST_WRAP) the client programs run under it, the
# daemon does not, as in test_client.py.
WRAP, td.WRAP = td.WRAP, []
ok = td.ok
CLI = os.path.join(TOP, td.BUILD, "agentvault")
LIBTEST = os.path.join(TOP, td.BUILD, "tests", "test_libagentvault")
CA = os.path.join(td.TOKDIR, "ca.pem")
TLS = os.path.join(td.TOKDIR, "tls.pem")
RUN = os.path.join(WORK, "run")
AGENT = os.path.join(RUN, "agent.sock")
ADMIN = os.path.join(RUN, "admin.sock")
API = "https://api.e2e.example/"
SECRET = "e2e-client-secret"
PROVIDER = "e2e-idp"
WORKLOAD = "e2e-agent"


def skip(name, why):
    td.n += 1
    print("ok %d - %s # SKIP %s" % (td.n, name, why))
    sys.stdout.flush()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def idp_config(callback):
    grants = ["client_credentials", "authorization_code", "refresh_token"]
    return {
        "clients": [{"client_id": "av-e2e", "client_secret": SECRET,
                     "token_endpoint_auth_method": "client_secret_basic",
                     "grant_types": grants, "redirect_uris": [callback],
                     "response_types": ["code"],
                     "scope": "openid read write"}],
        "resources": {API: {"scope": "read write",
                            "accessTokenFormat": "jwt",
                            "accessTokenTTL": 300}},
        "default_resource": API,
        "ttl": {"AccessToken": 300, "ClientCredentials": 300,
                "RefreshToken": 600, "AuthorizationCode": 60},
        "accounts": {"alice": {"email": "alice@example.test"}},
    }


class ReturnApp:
    """The caller's application at its return URL: on GET /done it calls
    CompleteResourceTokenAuth for the session in the query, as the user
    the application knows is signed in (self.user; None: it only records
    the visit)."""

    def __init__(self, client):
        app = self
        self.client = client
        self.user = None
        self.visits = []        # (query, what CompleteResourceTokenAuth did)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                if url.path != "/done":     # the browser's favicon.ico
                    self.send_error(404)
                    return
                outcome = "not called"
                if app.user is not None and "session_id" in q:
                    try:
                        outcome = app.client.complete_resource_token_auth(
                            q["session_id"],
                            agentvault.UserIdIdentifier(app.user))
                    except agentvault.AgentVaultError as e:
                        outcome = e.error_type
                app.visits.append((q, outcome))
                body = b"<!DOCTYPE html><title>done</title>done\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.url = "http://127.0.0.1:%d/done" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def cli(*args, timeout=120):
    env = dict(os.environ, AGENTVAULT_RUN_DIR=RUN, AGENTVAULT_CA=CA)
    env.pop("AGENTVAULT_SOCKET", None)
    r = subprocess.run([CLI] + list(args), env=env, capture_output=True,
                       text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def verified(token, what):
    """The token's claims, checked with jose against the provider's JWKS."""
    try:
        return harness.verify_jwt(token, IDP.issuer, API)
    except harness.HarnessError as e:
        ok(False, "%s: the token verifies against the provider's JWKS"
           % what, e)
        return {}


def token_requests(grant):
    return [r for r in IDP.requests() if r.get("grant_type") == grant]


# ---- M2M ---------------------------------------------------------------

def test_m2m_cli():
    before = len(token_requests("client_credentials"))
    rc, out, err = cli("token", "oauth2", "--provider", PROVIDER, "--flow",
                       "M2M", "--scopes", "read", "--workload", WORKLOAD,
                       "--resource", API)
    tok = out.strip()
    ok(rc == 0 and out.count("\n") == 1 and tok.count(".") == 2 and
       err == "", "CLI: token oauth2 --flow M2M prints the token alone",
       (rc, out[:80], err))
    c = verified(tok, "CLI M2M")
    ok(c.get("client_id") == "av-e2e" and c.get("scope") == "read",
       "CLI: a client-credentials token of the provider, scope read", c)
    rc, out2, _ = cli("token", "oauth2", "--provider", PROVIDER, "--flow",
                      "M2M", "--scopes", "read", "--workload", WORKLOAD,
                      "--resource", API)
    ok(rc == 0 and out2 == out and
       len(token_requests("client_credentials")) == before + 1,
       "CLI: asked again, the appliance's cached token (one grant)")
    rc, out, err = cli("token", "oauth2", "--provider", "e2e-none", "--flow",
                       "M2M", "--scopes", "read", "--workload", WORKLOAD)
    ok(rc == 1 and out == "" and "ResourceNotFoundException" in err,
       "CLI: an unknown provider: exit 1, nothing on stdout", err)
    rc, out, err = cli("token", "oauth2", "--provider", PROVIDER, "--flow",
                       "M2M", "--scopes", "read", "--workload", WORKLOAD,
                       "--session-uri", "urn:ietf:params:oauth:request_uri:x")
    ok(rc == 1 and out == "" and "ValidationException" in err,
       "CLI: a session URI with M2M is the appliance's ValidationException",
       err)


def test_m2m_lib():
    out = os.path.join(WORK, "lib-token")
    env = dict(os.environ, AGENT=AGENT, CA=CA, PROVIDER=PROVIDER,
               WORKLOAD=WORKLOAD, TOKEN_OUT=out)
    p = subprocess.run(WRAP + [LIBTEST, "oauth-e2e"], env=env,
                       capture_output=True, text=True, timeout=120)
    for line in p.stdout.splitlines():
        if line.startswith("ok ") or line.startswith("not ok "):
            ok(line.startswith("ok "), "libagentvault: " +
               line.split(" - ", 1)[-1])
        elif line.startswith("#"):
            print(line)
    ok(p.returncode == 0, "libagentvault: test_libagentvault oauth-e2e "
       "exits 0", p.stderr[-2000:])
    try:
        with open(out) as f:
            tok = f.read()
    except OSError:
        tok = ""
    c = verified(tok, "libagentvault M2M")
    ok(c.get("client_id") == "av-e2e", "libagentvault: av_with_access_token "
       "gave fn the provider's client-credentials token", c)


def test_m2m_decorator():
    client = IdentityClient(socket=AGENT, admin_socket=ADMIN, ca=CA,
                            timeout=30)
    seen = []

    @requires_access_token(provider_name=PROVIDER, scopes=["write"],
                           auth_flow="M2M", workload_name=WORKLOAD,
                           client=client, on_auth_url=seen.append)
    def call(access_token=""):
        return access_token

    @requires_access_token(provider_name=PROVIDER, scopes=["write"],
                           auth_flow="M2M", workload_name=WORKLOAD,
                           client=client, into="tok")
    async def acall(tok):
        return tok

    import asyncio
    try:
        tok = call()
        atok = asyncio.run(acall())
    except (agentvault.AgentVaultError, agentvault.TransportError) as e:
        ok(False, "Python: requires_access_token(auth_flow='M2M')", e)
        return
    c = verified(tok, "Python M2M")
    ok(c.get("client_id") == "av-e2e" and c.get("scope") == "write" and
       seen == [], "Python: requires_access_token(auth_flow='M2M') injects "
       "the provider's token, no consent", c)
    ok(atok == tok, "Python: an async function gets it too (the cached "
       "one)")


# ---- USER_FEDERATION ---------------------------------------------------

def browser(url, results):
    """A person at the browser, in a thread: consents and lands on the
    return URL."""
    try:
        results.append(harness.consent_through(url, SPKI, timeout=60))
    except harness.HarnessError as e:
        results.append(e)


def test_3lo_decorator(app):
    client = IdentityClient(socket=AGENT, admin_socket=ADMIN, ca=CA,
                            timeout=30, poll_timeout_seconds=90)
    app.user = "alice-e2e"
    landed, urls = [], []

    def on_auth_url(url):
        urls.append(url)
        threading.Thread(target=browser, args=(url, landed),
                         daemon=True).start()

    # "read" only: for the resource (default_resource) the provider's
    # access token carries the resource's scopes, not openid.
    @requires_access_token(provider_name=PROVIDER, scopes=["read"],
                           auth_flow="USER_FEDERATION",
                           on_auth_url=on_auth_url, callback_url=app.url,
                           custom_state="e2e-state-1",
                           custom_parameters={"login_hint": "alice"},
                           workload_name=WORKLOAD, user_id="alice-e2e",
                           client=client)
    def call(access_token=""):
        return access_token

    start = time.monotonic()
    try:
        tok = call()
    except Exception as e:      # noqa: BLE001 (reported, with the browser's)
        ok(False, "Python 3LO: requires_access_token ends with the token",
           "%r; browser: %r; visits: %r" % (e, landed, app.visits))
        return
    elapsed = time.monotonic() - start
    ok(len(urls) == 1 and urls[0].startswith(IDP.issuer) and
       "code_challenge_method=S256" in urls[0] and
       "login_hint=alice" in urls[0],
       "Python 3LO: on_auth_url got the provider's authorization URL once",
       urls)
    q = app.visits[-1][0] if app.visits else {}
    ok(q.get("session_id", "").startswith(
        "urn:ietf:params:oauth:request_uri:") and
       q.get("state") == "e2e-state-1" and app.visits[-1][1] == {},
       "Python 3LO: the browser landed on the return URL with session_id "
       "and the custom state; its server completed the session",
       app.visits)
    c = verified(tok, "Python 3LO")
    ok(c.get("sub") == "alice" and "read" in c.get("scope", "").split(),
       "Python 3LO: the polling ended with alice's token (%.1f s)" % elapsed,
       c)
    seen = []

    @requires_access_token(provider_name=PROVIDER, scopes=["read"],
                           on_auth_url=seen.append, callback_url=app.url,
                           workload_name=WORKLOAD, user_id="alice-e2e",
                           client=client)
    def again(access_token=""):
        return access_token
    ok(again() == tok and seen == [], "Python 3LO: the next call gets the "
       "stored token at once, no consent")


def run_cli_consent(app, user, extra=()):
    """token oauth2 USER_FEDERATION for user: (rc, session URI, URL)."""
    rc, out, err = cli("token", "oauth2", "--provider", PROVIDER, "--flow",
                       "USER_FEDERATION", "--scopes", "read",
                       "--workload", WORKLOAD, "--user-id", user,
                       "--return-url", app.url, *extra)
    fields = dict(line.split(": ", 1) for line in out.splitlines()
                  if ": " in line)
    return rc, fields.get("sessionUri"), fields.get("authorizationUrl"), err


def test_3lo_cli(app):
    app.user = None     # the CLI completes, not the application
    base = ["token", "oauth2", "--provider", PROVIDER, "--flow",
            "USER_FEDERATION", "--scopes", "read", "--workload",
            WORKLOAD, "--user-id", "bob-e2e", "--return-url", app.url]
    rc, session, url, err = run_cli_consent(app, "bob-e2e")
    ok(rc == 6 and session and url and url.startswith(IDP.issuer),
       "CLI 3LO: token oauth2 prints the URL and session URI, exit 6",
       (rc, err))
    if rc != 6 or not session or not url:
        return
    rc, out, _ = cli(*base, "--session-uri", session)
    ok(rc == 6 and "sessionStatus: IN_PROGRESS" in out, "CLI 3LO: asked "
       "again before the user consented: still exit 6", out)
    landed = []
    browser(url, landed)
    ok(landed and isinstance(landed[0], str) and
       landed[0].startswith(app.url) and app.visits and
       app.visits[-1][0].get("session_id") == session,
       "CLI 3LO: the browser consented and landed on the return URL",
       (landed, app.visits[-1:]))
    rc, out, err = cli("session", "complete", "--session-uri", session,
                       "--user-id", "bob-e2e")
    ok(rc == 0 and "completed session" in out, "CLI 3LO: session complete "
       "--user-id bob-e2e", (rc, out, err))
    rc, out, err = cli(*base, "--session-uri", session)
    tok = out.strip()
    ok(rc == 0 and out.count("\n") == 1 and tok.count(".") == 2 and
       err == "", "CLI 3LO: token oauth2 --session-uri prints the token "
       "alone", (rc, out[:80], err))
    c = verified(tok, "CLI 3LO")
    ok(c.get("sub") == "alice", "CLI 3LO: the token of the user who "
       "consented at the provider", c)

    # Another user completes someone else's session: refused, and the
    # session fails.
    rc, session, url, _ = run_cli_consent(app, "carol-e2e", ["--force"])
    if rc == 6 and url:
        browser(url, [])
        rc, _, err = cli("session", "complete", "--session-uri", session,
                         "--user-id", "mallory")
        ok(rc == 1 and "AccessDeniedException" in err, "CLI 3LO: a second "
           "user completing the session is refused (exit 1)", err)
        rc, out, err = cli(*base[:-4], "--user-id", "carol-e2e",
                           "--return-url", app.url, "--session-uri", session)
        ok(rc == 1 and out == "" and "AuthorizationError" in err,
           "CLI 3LO: the session has failed: exit 1", (rc, out, err))
    else:
        ok(False, "CLI 3LO: a second session starts", rc)

    # --wait: the URL on stderr, the token alone on stdout once the
    # return URL's server completes the session.
    app.user = "dave-e2e"
    p = subprocess.Popen(
        [CLI, "token", "oauth2", "--provider", PROVIDER, "--flow",
         "USER_FEDERATION", "--scopes", "read", "--workload",
         WORKLOAD, "--user-id", "dave-e2e", "--return-url", app.url,
         "--force", "--wait", "--wait-timeout", "90"],
        env=dict(os.environ, AGENTVAULT_RUN_DIR=RUN, AGENTVAULT_CA=CA),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = None
    for line in p.stderr:
        if line.startswith("authorizationUrl: "):
            url = line.split(": ", 1)[1].strip()
            break
    if url:
        browser(url, [])
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    ok(url and p.returncode == 0 and out.count("\n") == 1 and
       verified(out.strip(), "CLI --wait").get("sub") == "alice",
       "CLI 3LO: --wait polls until the return URL's server completed the "
       "session; the token alone on stdout", (p.returncode, err))


def main():
    global IDP, SPKI
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.chmod(td.TOKDIR, 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token"), 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token", "softhsm2.conf"), 0o644)
    subprocess.run(["chown", "-R", "nobody",
                    os.path.join(td.TOKDIR, "token", "tokens")])
    port = free_port()
    callback = "https://localhost:%d/identities/oauth2/callback" % port
    config = os.path.join(WORK, "agentvault.yaml")
    td.write_config(config, "outbound:\n  connect_timeout_ms: 5000\n"
                    "  timeout_ms: 10000\n  allow_http_loopback: true\n")
    with open(config) as f:
        text = f.read().replace(
            "hsm:\n", "listen:\n  tcp:\n    address: 127.0.0.1\n"
            "    port: %d\n    public_name: localhost\nhsm:\n" % port, 1)
    with open(config, "w") as f:
        f.write(text)
    IDP = harness.IdP(idp_config(callback),
                      workdir=os.path.join(WORK, "idp")).start()
    d = td.Daemon(config)
    if not ok(d.wait_ready(), "the daemon serves, with a TCP listener",
              td.log_text()):
        d.stop()
        IDP.stop()
        print("1..%d" % td.n)
        return 1
    admin = IdentityClient(socket=AGENT, admin_socket=ADMIN, ca=CA,
                           timeout=30)
    app = ReturnApp(admin)
    admin.create_workload_identity(WORKLOAD,
                                   allowed_resource_oauth2_return_urls=[
                                       app.url])
    p = admin.create_oauth2_credential_provider({
        "name": PROVIDER, "credentialProviderVendor": "CustomOauth2",
        "oauth2ProviderConfigInput": {"customOauth2ProviderConfig": {
            "clientId": "av-e2e", "clientSecret": SECRET,
            "oauthDiscovery": {"authorizationServerMetadata": {
                "issuer": IDP.issuer,
                "authorizationEndpoint": IDP.issuer + "/auth",
                "tokenEndpoint": IDP.issuer + "/token"}}}}})
    ok(p.get("callbackUrl") == callback, "the provider's callbackUrl is the "
       "one registered with the OpenID provider", p.get("callbackUrl"))
    try:
        landed = bool(admin.get_resource_oauth2_token(
            provider_name=PROVIDER, agent_identity_token="x",
            auth_flow="M2M"))
    except agentvault.OperationNotSupportedError:
        landed = False
    except (agentvault.AgentVaultError, agentvault.TransportError):
        landed = True
    if landed:
        test_m2m_cli()
        test_m2m_lib()
        test_m2m_decorator()
    else:
        skip("M2M end to end", "the daemon has no GetResourceOauth2Token")
    try:
        admin.complete_resource_token_auth(
            "urn:ietf:params:oauth:request_uri:none",
            agentvault.UserIdIdentifier("u"))
        has_3lo = True
    except agentvault.OperationNotSupportedError:
        has_3lo = False
    except (agentvault.AgentVaultError, agentvault.TransportError):
        has_3lo = True
    if not has_3lo:
        skip("USER_FEDERATION end to end", "the daemon has no "
             "CompleteResourceTokenAuth")
    elif harness.chromium() is None:
        skip("USER_FEDERATION end to end", "Chromium is not installed")
    else:
        SPKI = harness.spki_hash(TLS)
        test_3lo_decorator(app)
        test_3lo_cli(app)
    ok(d.proc.poll() is None and d.wait_ready(), "the daemon still serves")
    app.stop()
    d.stop()
    IDP.stop()
    print("1..%d" % td.n)
    return 1 if td.failed else 0


if __name__ == "__main__":
    sys.exit(main())
