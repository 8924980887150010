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


# ---- the vendor emulator (vendors.mjs) ----

VCB = "https://127.0.0.1:8443/identities/oauth2/callback"
VSECRET = "vendor-secret"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def vendors_config():
    clients = [{"vendor": v, "client_id": v + "-app",
                "client_secret": VSECRET, "redirect_uris": [VCB]}
               for v in harness.VENDORS]
    clients.append({"vendor": "github", "client_id": "github-expiring",
                    "client_secret": VSECRET, "redirect_uris": [VCB],
                    "expiring": True})
    return {"clients": clients, "user": "alice",
            "tenants": ["contoso.onmicrosoft.com"],
            "instance_url": "https://acme.my.salesforce.com"}


def q_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def vauth(v, endpoint, params, **kw):
    """Consent at endpoint (a vendor's https URL) with PKCE: (status, the
    redirect's query or the page, verifier)."""
    verifier, challenge = harness.pkce_pair()
    p = dict({"response_type": "code", "redirect_uri": VCB, "state": "st",
              "code_challenge": challenge, "code_challenge_method": "S256"},
             **params)
    status, loc = v.authorize(endpoint + "?" + urllib.parse.urlencode(p),
                              **kw)
    return status, (q_of(loc) if status == 302 else loc), verifier


def vtoken(v, url, params, headers=None, basic=None):
    """POST a form through the emulator as HTTPS proxy: (status, headers,
    body)."""
    h = dict(FORM, **(headers or {}))
    if basic:
        h["Authorization"] = "Basic " + base64.b64encode(
            ("%s:%s" % basic).encode()).decode()
    return v.https("POST", url, urllib.parse.urlencode(params).encode(), h)


def jbody(b):
    try:
        return json.loads(b)
    except ValueError:
        return {}


def test_vendor_github(v):
    tok = "https://github.com/login/oauth/access_token"
    st, q, ver = vauth(v, "https://github.com/login/oauth/authorize",
                       {"client_id": "github-app", "scope": "repo gist"})
    ok(st == 302 and q.get("code") and q.get("state") == "st",
       "github: the authorization endpoint consents and redirects", q)
    form = {"client_id": "github-app", "client_secret": VSECRET,
            "code": q.get("code", ""), "redirect_uri": VCB,
            "code_verifier": ver}
    status, h, body = vtoken(v, tok, form)
    f = dict(urllib.parse.parse_qsl(body.decode()))
    ok(status == 200 and h.get_content_type() ==
       "application/x-www-form-urlencoded" and
       f.get("access_token", "").startswith("gho_") and
       f.get("token_type") == "bearer" and f.get("scope") == "repo,gist",
       "github: without Accept JSON the token answer is form-encoded",
       body)
    status, h, body = vtoken(v, tok, form, {"Accept": "application/json"})
    j = jbody(body)
    ok(status == 200 and j.get("error") == "bad_verification_code" and
       "access_token" not in j,
       "github: a used code is status 200 with error "
       "bad_verification_code (JSON when asked)", body)
    status, _, body = vtoken(v, tok, dict(form, client_secret="wrong"))
    ok(status == 200 and dict(urllib.parse.parse_qsl(body.decode())).get(
        "error") == "incorrect_client_credentials",
       "github: a wrong secret is 200 incorrect_client_credentials", body)
    st, q, ver = vauth(v, "https://github.com/login/oauth/authorize",
                       {"client_id": "github-expiring", "scope": "repo"})
    status, _, body = vtoken(v, tok, {
        "client_id": "github-expiring", "client_secret": VSECRET,
        "code": q.get("code", ""), "code_verifier": ver},
        {"Accept": "application/json"})
    j = jbody(body)
    status, _, body2 = vtoken(v, tok, {
        "client_id": "github-expiring", "client_secret": VSECRET,
        "grant_type": "refresh_token",
        "refresh_token": j.get("refresh_token", "")},
        {"Accept": "application/json"})
    j2 = jbody(body2)
    ok(j.get("refresh_token", "").startswith("ghr_") and
       j.get("expires_in") == 28800 and j2.get("access_token") and
       j2.get("refresh_token") not in (None, j.get("refresh_token")),
       "github: an expiring-token app gets a refresh token, rotated on "
       "refresh", (body, body2))


def test_vendor_slack(v):
    tok = "https://slack.com/api/oauth.v2.access"
    st, q, ver = vauth(v, "https://slack.com/oauth/v2/authorize",
                       {"client_id": "slack-app", "scope": "chat:write",
                        "user_scope": "search:read,users:read"})
    status, _, body = vtoken(v, tok, {"code": q.get("code", ""),
                                      "redirect_uri": VCB,
                                      "code_verifier": ver},
                             basic=("slack-app", VSECRET))
    j = jbody(body)
    u = j.get("authed_user", {})
    ok(status == 200 and j.get("ok") is True and
       j.get("access_token", "").startswith("xoxb-") and
       j.get("token_type") == "bot" and
       u.get("access_token", "").startswith("xoxp-") and
       u.get("scope") == "search:read,users:read" and
       u.get("token_type") == "user",
       "slack: ok true, the bot token at the top, the user's under "
       "authed_user", body)
    info = v.introspect(u.get("access_token", "")) if u else {}
    ok(info.get("active") and info.get("user") == "alice" and
       info.get("kind") == "user", "slack: the emulator tells whose "
       "token it is (introspect)", info)
    status, _, body = vtoken(v, tok, {"code": q.get("code", ""),
                                      "redirect_uri": VCB},
                             basic=("slack-app", VSECRET))
    ok(status == 200 and jbody(body) == {"ok": False,
                                         "error": "invalid_code"},
       "slack: a used code is status 200, ok false, invalid_code", body)
    status, _, body = vtoken(v, tok, {"code": "x"},
                             basic=("slack-app", "wrong"))
    ok(jbody(body) == {"ok": False, "error": "bad_client_secret"},
       "slack: a wrong secret is ok false, bad_client_secret", body)
    st, q, _ = vauth(v, "https://slack.com/oauth/v2/authorize",
                     {"client_id": "slack-app"})
    ok(st == 302 and q.get("error") == "invalid_request",
       "slack: neither scope nor user_scope: redirected with an error", q)
    log = v.requests("slack", "token")
    ok([e["auth_method"] for e in log] == ["client_secret_basic"] * 3 and
       VSECRET not in json.dumps(log),
       "slack: the log tells the client authentication, hashes secrets",
       log)


def test_vendor_google(v):
    tok = "https://oauth2.googleapis.com/token"
    auth = "https://accounts.google.com/o/oauth2/v2/auth"
    got = {}
    for name, extra in (("offline+consent", {"access_type": "offline",
                                             "prompt": "consent"}),
                        ("offline", {"access_type": "offline"}),
                        ("consent", {"prompt": "consent"})):
        st, q, ver = vauth(v, auth, dict({"client_id": "google-app",
                                          "scope": "openid email"}, **extra))
        status, _, body = vtoken(v, tok, {
            "grant_type": "authorization_code", "code": q.get("code", ""),
            "redirect_uri": VCB, "code_verifier": ver,
            "client_id": "google-app", "client_secret": VSECRET})
        got[name] = jbody(body)
    ok(got["offline+consent"].get("refresh_token", "").startswith("1//")
       and "refresh_token" not in got["offline"] and
       "refresh_token" not in got["consent"] and
       got["offline"].get("expires_in") == 3599,
       "google: a refresh token only with access_type=offline and "
       "prompt=consent", got)
    status, _, body = vtoken(v, tok, {
        "grant_type": "refresh_token", "client_id": "google-app",
        "client_secret": VSECRET,
        "refresh_token": got["offline+consent"].get("refresh_token", "")})
    j = jbody(body)
    ok(status == 200 and j.get("access_token") and "refresh_token" not in j,
       "google: refreshing gives no new refresh token", body)
    status, _, body = vtoken(v, tok, {
        "grant_type": "refresh_token", "client_id": "google-app",
        "client_secret": VSECRET, "refresh_token": "1//nope"})
    ok(status == 400 and jbody(body).get("error") == "invalid_grant",
       "google: an unknown refresh token is 400 invalid_grant", body)


def test_vendor_atlassian(v):
    auth = "https://auth.atlassian.com/authorize"
    tok = "https://auth.atlassian.com/oauth/token"
    base = {"client_id": "atlassian-app",
            "scope": "read:jira-work offline_access"}
    st, q, _ = vauth(v, auth, dict(base, prompt="consent"))
    st2, q2, _ = vauth(v, auth, dict(base, audience="api.atlassian.com"))
    ok(st == st2 == 302 and q.get("error") == q2.get("error") ==
       "invalid_request" and "audience" in q.get("error_description", "")
       and "prompt" in q2.get("error_description", ""),
       "atlassian: without audience=api.atlassian.com or prompt=consent "
       "the authorization is refused", (q, q2))
    st, q, ver = vauth(v, auth, dict(base, audience="api.atlassian.com",
                                     prompt="consent"))
    status, _, body = v.https("POST", tok, json.dumps({
        "grant_type": "authorization_code", "client_id": "atlassian-app",
        "client_secret": VSECRET, "code": q.get("code", ""),
        "redirect_uri": VCB, "code_verifier": ver}).encode(),
        {"Content-Type": "application/json"})
    j = jbody(body)
    rt = j.get("refresh_token", "")
    ok(status == 200 and rt and j.get("expires_in") == 3600,
       "atlassian: JSON token request; offline_access gives a refresh "
       "token", body)
    refresh = {"grant_type": "refresh_token", "client_id": "atlassian-app",
               "client_secret": VSECRET, "refresh_token": rt}
    s1, _, b1 = vtoken(v, tok, refresh)
    s2, _, b2 = vtoken(v, tok, refresh)
    ok(s1 == 200 and jbody(b1).get("refresh_token") not in (None, rt) and
       s2 == 400 and jbody(b2).get("error") == "invalid_grant",
       "atlassian: refresh tokens rotate (the old one is then "
       "invalid_grant)", (b1, b2))


def test_vendor_salesforce(v):
    tok = "https://login.salesforce.com/services/oauth2/token"
    st, q, ver = vauth(v, "https://login.salesforce.com/services/oauth2/"
                       "authorize", {"client_id": "salesforce-app",
                                     "scope": "api refresh_token"})
    status, _, body = vtoken(v, tok, {
        "grant_type": "authorization_code", "code": q.get("code", ""),
        "redirect_uri": VCB, "code_verifier": ver,
        "client_id": "salesforce-app", "client_secret": VSECRET})
    j = jbody(body)
    ok(status == 200 and j.get("instance_url") ==
       "https://acme.my.salesforce.com" and j.get("refresh_token") and
       j.get("issued_at") and j.get("signature") and
       "expires_in" not in j,
       "salesforce: instance_url, issued_at, signature, no expires_in",
       body)
    status, _, body = vtoken(v, tok, {"grant_type": "client_credentials"},
                             basic=("salesforce-app", VSECRET))
    j = jbody(body)
    ok(status == 200 and j.get("instance_url") and
       "refresh_token" not in j,
       "salesforce: client credentials, with instance_url", body)


def test_vendor_microsoft(v):
    t = "contoso.onmicrosoft.com"
    base = "https://login.microsoftonline.com/%s/oauth2/v2.0/"
    st, q, ver = vauth(v, base % t + "authorize", {
        "client_id": "microsoft-app", "scope": "User.Read offline_access"})
    ok(st == 302 and q.get("code"),
       "microsoft: the tenant's authorization endpoint", q)
    form = {"grant_type": "authorization_code", "code": q.get("code", ""),
            "redirect_uri": VCB, "client_id": "microsoft-app",
            "client_secret": VSECRET}
    status, _, body = vtoken(v, base % t + "token",
                             dict(form, code_verifier="x" * 43))
    j = jbody(body)
    ok(status == 400 and j.get("error") == "invalid_grant" and
       j.get("error_codes") == [501481] and
       j.get("error_description", "").startswith("AADSTS501481:") and
       j.get("trace_id") and j.get("correlation_id"),
       "microsoft: a wrong PKCE verifier, an AADSTS error body", body)
    st, q, ver = vauth(v, base % t + "authorize", {
        "client_id": "microsoft-app", "scope": "User.Read offline_access"})
    s_other, _, b_other = vtoken(v, base % "common" + "token", dict(
        form, code=q.get("code", ""), code_verifier=ver))
    st, q, ver = vauth(v, base % t + "authorize", {
        "client_id": "microsoft-app", "scope": "User.Read offline_access"})
    status, _, body = vtoken(v, base % t + "token", dict(
        form, code=q.get("code", ""), code_verifier=ver))
    j = jbody(body)
    ok(s_other == 400 and status == 200 and j.get("refresh_token") and
       j.get("ext_expires_in") == 3599,
       "microsoft: a code is redeemed at its own tenant only", b_other)
    st, page, _ = vauth(v, base % "nowhere.example" + "authorize",
                        {"client_id": "microsoft-app", "scope": "openid"})
    status, _, body = vtoken(v, base % "nowhere.example" + "token",
                             {"grant_type": "client_credentials",
                              "scope": "https://graph.microsoft.com/"
                              ".default"}, basic=("microsoft-app", VSECRET))
    ok(st == 400 and "90002" in page and
       jbody(body).get("error_codes") == [90002],
       "microsoft: an unknown tenant, AADSTS90002", (page, body))
    cc = {"grant_type": "client_credentials",
          "scope": "https://graph.microsoft.com/.default"}
    s1, _, b1 = vtoken(v, base % t + "token", cc,
                       basic=("microsoft-app", VSECRET))
    s2, _, b2 = vtoken(v, base % "common" + "token", cc,
                       basic=("microsoft-app", VSECRET))
    s3, _, b3 = vtoken(v, base % t + "token", dict(cc, scope="User.Read"),
                       basic=("microsoft-app", VSECRET))
    ok(s1 == 200 and "refresh_token" not in jbody(b1) and s2 == 400 and
       s3 == 400 and jbody(b3).get("error") == "invalid_scope",
       "microsoft: client credentials need a tenant and RESOURCE/.default",
       (b1, b2, b3))


def test_vendor_knobs(v):
    v.fail("github", "bad_verification_code")
    v.fail("slack", "invalid_code", times=2)
    s1, _, b1 = vtoken(v, "https://github.com/login/oauth/access_token",
                       {"code": "x"}, {"Accept": "application/json"})
    s2, _, b2 = vtoken(v, "https://slack.com/api/oauth.v2.access",
                       {"code": "x"})
    ok(s1 == 200 and jbody(b1).get("error") == "bad_verification_code" and
       s2 == 200 and jbody(b2) == {"ok": False, "error": "invalid_code"},
       "fail: the next token answer is that error in the vendor's format",
       (b1, b2))
    st, loc = v.authorize(
        "https://github.com/login/oauth/authorize?" + urllib.parse.urlencode(
            {"client_id": "github-app", "redirect_uri": VCB, "state": "s"}),
        user="bob", deny=True)
    ok(st == 302 and q_of(loc).get("error") == "access_denied",
       "X-Test-Deny: the person refuses (access_denied)", loc)
    st, page = v.authorize("https://github.com/login/oauth/authorize?" +
                           urllib.parse.urlencode({
                               "client_id": "github-app",
                               "redirect_uri": "https://evil.example/cb"}))
    ok(st == 400 and "redirect_uri" in page,
       "a redirect_uri not registered: an error page, no redirect", page)
    try:
        s_bad = v.https("GET", "https://example.com/")[0]
    except OSError as e:
        s_bad = str(e)
    ok("403" in str(s_bad), "CONNECT to a host no vendor has: 403", s_bad)
    body = harness.vendor_provider("gh", "github", "id", "sec")
    ok(body["credentialProviderVendor"] == "GithubOauth2" and
       body["oauth2ProviderConfigInput"] == {"githubOauth2ProviderConfig": {
           "clientId": "id", "clientSecret": "sec"}} and
       harness.vendor_provider("ms", "microsoft", "i", "s", tenant="t")[
           "oauth2ProviderConfigInput"]["microsoftOauth2ProviderConfig"][
           "tenantId"] == "t", "vendor_provider: the preset's request", body)


def test_vendors(work):
    v = harness.Vendors(vendors_config(), workdir=os.path.join(work,
                                                               "vendors"))
    try:
        v.start()
    except harness.HarnessError as e:
        ok(False, "the vendor emulator starts", e)
        return
    ok(v.base.startswith("http://127.0.0.1:") and
       os.path.exists(v.ca_file), "the vendor emulator starts on loopback, "
       "with its test CA", v.base)
    try:
        for t in (test_vendor_github, test_vendor_slack, test_vendor_google,
                  test_vendor_atlassian, test_vendor_salesforce,
                  test_vendor_microsoft, test_vendor_knobs):
            t(v)
    finally:
        v.stop()
        if failed:
            print("# vendors log:\n# " + v.log_tail().replace("\n", "\n# "))


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
    test_vendors(work)
    if failed:
        print("# provider log (%s):\n# " % work +
              idp.log_tail().replace("\n", "\n# "))
    elif own:
        shutil.rmtree(top, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
