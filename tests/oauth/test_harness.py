#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_harness.py - the OAuth test harness itself (suite "oauth"): the
OpenID provider on loopback serves discovery and JWKS, client_credentials
with each client authentication method, the authorization code flow with
PKCE through a real headless Chromium, refresh, and each of the token
endpoint's failure knobs as a plain HTTP client sees it.

Prints TAP.  Runs alone too: python3 tests/oauth/test_harness.py (after
npm ci in tests/oauth).  The browser tests are skipped only when Chromium
is not installed.
"""
import base64
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import IdP, browser_login  # noqa: E402

n = 0
failed = 0
CB = "http://127.0.0.1:9/callback"     # nothing listens: the browser stops
API = "https://api.test.example/"
SECRET = "s3cret-for-the-tests"


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


def skip(name, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, name, why))


def claims(jwt):
    p = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def config(key):
    grants = ["client_credentials", "authorization_code", "refresh_token"]
    common = {"grant_types": grants, "redirect_uris": [CB],
              "response_types": ["code"], "scope": "openid read write"}
    return {
        "clients": [
            dict(common, client_id="basic", client_secret=SECRET,
                 token_endpoint_auth_method="client_secret_basic"),
            dict(common, client_id="post", client_secret=SECRET,
                 token_endpoint_auth_method="client_secret_post"),
            dict(common, client_id="pkjwt", jwks={"keys": [key.jwk]},
                 token_endpoint_auth_method="private_key_jwt"),
        ],
        "resources": {API: {"scope": "read write", "accessTokenFormat": "jwt",
                            "accessTokenTTL": 30}},
        "ttl": {"AccessToken": 20, "ClientCredentials": 30,
                "RefreshToken": 120, "AuthorizationCode": 30},
        "accounts": {"alice": {"email": "alice@example.test"}},
    }


def test_discovery(idp):
    d = idp.discovery()
    ok(d.get("issuer") == idp.issuer and
       d.get("token_endpoint") == idp.url("/token"),
       "discovery names the issuer and its token endpoint", d)
    methods = set(d.get("token_endpoint_auth_methods_supported", []))
    ok({"client_secret_basic", "client_secret_post",
        "private_key_jwt"} <= methods,
       "discovery offers the three client authentication methods", methods)
    ok("S256" in d.get("code_challenge_methods_supported", []),
       "discovery offers PKCE S256", d)
    status, _, body = harness.http("GET", d["jwks_uri"])
    kids = {k.get("kid") for k in json.loads(body).get("keys", [])} \
        if status == 200 else set()
    ok(kids == {"test-rs256", "test-es256"} and
       b'"d"' not in body, "the JWKS serves the two public signing keys",
       body[:300])


def test_client_credentials(idp, key):
    cc = {"grant_type": "client_credentials", "resource": API,
          "scope": "read"}
    status, j, raw = idp.token(cc, basic=("basic", SECRET))
    ok(status == 200 and j.get("token_type") == "Bearer" and
       j.get("expires_in") == 30,
       "client_credentials with client_secret_basic: a 30 s token", raw)
    if status == 200:
        try:
            c = harness.verify_jwt(j["access_token"], idp.issuer, API)
            ok(c.get("client_id") == "basic" and c.get("scope") == "read",
               "the access token is a JWT for the resource that jose "
               "verifies against the JWKS", c)
        except harness.HarnessError as e:
            ok(False, "jose verifies the access token", e)
    status, j, raw = idp.token(dict(cc, client_id="post",
                                    client_secret=SECRET))
    ok(status == 200 and "access_token" in j,
       "client_credentials with client_secret_post", raw)
    status, j, raw = idp.token(dict(
        cc, client_assertion_type="urn:ietf:params:oauth:client-assertion-"
        "type:jwt-bearer", client_assertion=key.assertion("pkjwt",
                                                          idp.issuer)))
    ok(status == 200 and "access_token" in j,
       "client_credentials with private_key_jwt (ES256, openssl)", raw)
    status, j, raw = idp.token(cc, basic=("basic", "wrong"))
    ok(status == 401 and j and j.get("error") == "invalid_client",
       "a wrong client secret: 401 invalid_client", raw)
    log = idp.requests()[-4:]
    ok([(e["client_id"], e["auth_method"], e["status"]) for e in log] ==
       [("basic", "client_secret_basic", 200),
        ("post", "client_secret_post", 200),
        ("pkjwt", "private_key_jwt", 200),
        ("basic", "client_secret_basic", 401)],
       "the request log tells each client and authentication method", log)
    text = json.dumps(log)
    ok(SECRET not in text and "client_secret" in log[1]["params"] and
       log[2]["assertion"]["claims"].get("aud") == idp.issuer,
       "the log keeps no secret, and the assertion's claims", text[:600])


def auth_url(idp, client, challenge, state):
    return idp.url("/auth?" + urllib.parse.urlencode({
        "client_id": client, "response_type": "code", "redirect_uri": CB,
        "scope": "openid read", "state": state,
        "code_challenge": challenge, "code_challenge_method": "S256"}))


def test_browser(idp):
    name = "headless Chromium signs in, consents and lands on the redirect"
    if harness.chromium() is None:
        for t in (name, "the code and PKCE verifier give tokens",
                  "the refresh token gives a new access token",
                  "a refresh token revoked through the knob",
                  "pressing Cancel gives access_denied"):
            skip(t, "Chromium is not installed (make deps)")
        return
    verifier, challenge = harness.pkce_pair()
    t0 = time.monotonic()
    try:
        final = browser_login(auth_url(idp, "basic", challenge, "st-1"),
                              "alice", "any password", stop_at_prefix=CB)
    except harness.BrowserError as e:
        final = str(e)
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(final).query))
    ok(final.startswith(CB + "?") and q.get("state") == "st-1" and
       q.get("iss") == idp.issuer and q.get("code"),
       name + " (%.1f s)" % (time.monotonic() - t0), final)
    status, j, raw = idp.token({
        "grant_type": "authorization_code", "code": q.get("code", ""),
        "redirect_uri": CB, "code_verifier": verifier},
        basic=("basic", SECRET))
    j = j or {}
    ok(status == 200 and j.get("refresh_token") and j.get("id_token") and
       j.get("expires_in") == 20 and claims(j["id_token"]).get("sub") ==
       "alice", "the code and PKCE verifier give access, ID and refresh "
       "tokens", raw)
    status, j2, raw = idp.token({"grant_type": "refresh_token",
                                 "refresh_token": j.get("refresh_token", "")},
                                basic=("basic", SECRET))
    j2 = j2 or {}
    ok(status == 200 and j2.get("access_token") and
       j2["access_token"] != j.get("access_token"),
       "the refresh token gives a new access token", raw)
    rt = j2.get("refresh_token", "")
    revoked = idp.revoke(rt)
    status, j3, raw = idp.token({"grant_type": "refresh_token",
                                 "refresh_token": rt},
                                basic=("basic", SECRET))
    ok(revoked == 1 and status == 400 and j3 and
       j3.get("error") == "invalid_grant",
       "a refresh token revoked through the knob: invalid_grant", raw)
    try:
        final = browser_login(auth_url(idp, "basic", challenge, "st-2"),
                              stop_at_prefix=CB, deny=True)
    except harness.BrowserError as e:
        final = str(e)
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(final).query))
    ok(q.get("error") == "access_denied" and q.get("state") == "st-2",
       "pressing Cancel lands on the redirect with access_denied", final)


def test_knobs(idp):
    cc = {"grant_type": "client_credentials", "scope": "read",
          "resource": API}
    idp.mode("503")
    status, j, raw = idp.token(cc, basic=("basic", SECRET))
    ok(status == 503 and j and j.get("error") == "server_error",
       "mode 503: the token endpoint answers 503", raw)
    idp.mode("garbage")
    status, j, raw = idp.token(cc, basic=("basic", SECRET))
    ok(status == 200 and j is None and raw.startswith(b"{"),
       "mode garbage: a 200 whose JSON is cut short", raw)
    idp.mode("huge")
    status, j, raw = idp.token(cc, basic=("basic", SECRET))
    ok(status == 200 and len(raw) == 10 * 1024 * 1024 and j is not None,
       "mode huge: a 10 MiB JSON answer", len(raw))
    idp.mode("hang")
    t0 = time.monotonic()
    try:
        status = idp.token(cc, basic=("basic", SECRET), timeout=1)[0]
    except OSError as e:
        status = type(e).__name__
    took = time.monotonic() - t0
    ok(status in ("timeout", "TimeoutError") and took < 3,
       "mode hang: no answer, the client times out (%.1f s)" % took, status)
    idp.mode("500", times=1)
    s1 = idp.token(cc, basic=("basic", SECRET))[0]
    s2 = idp.token(cc, basic=("basic", SECRET))[0]
    ok((s1, s2) == (500, 200), "mode 500 once: then normal again", (s1, s2))
    modes = [e["mode"] for e in idp.requests()[-6:]]
    ok(modes == ["503", "garbage", "huge", "hang", "500", "normal"],
       "the request log records the mode of each answer", modes)
    status, _, body = harness.http("POST", idp.url("/__test/mode"),
                                   b'{"token": "sometimes"}')
    ok(status == 400, "an unknown mode is refused", body)


def main():
    # Under run.sh, in its test directory; alone, in one removed after a
    # clean run.
    top = os.environ.get("AV_TEST_DIR")
    own = top is None
    if own:
        top = tempfile.mkdtemp(prefix="oauth-test.")
    work = os.path.join(top, "oauth")
    os.makedirs(work, exist_ok=True)
    key = harness.EcKey(os.path.join(work, "client-key.pem"))
    idp = IdP(config(key), workdir=os.path.join(work, "idp"))
    try:
        idp.start()
    except harness.HarnessError as e:
        ok(False, "the OpenID provider starts", e)
        print("1..%d" % n)
        return 1
    ok(idp.issuer.startswith("http://127.0.0.1:"),
       "the OpenID provider starts on loopback", idp.issuer)
    try:
        test_discovery(idp)
        test_client_credentials(idp, key)
        test_browser(idp)
        test_knobs(idp)
    finally:
        idp.stop()
    if failed:
        print("# provider log (%s):\n# " % work +
              idp.log_tail().replace("\n", "\n# "))
    elif own:
        shutil.rmtree(top, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
