#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_3lo.py - the three-legged flow (USER_FEDERATION) end to end (suite
"oauth"): the real daemon with its TCP listener, the real OpenID provider
(idp.mjs) and a person at headless Chromium (browser.mjs) who signs in,
consents, comes back through the appliance's callback and lands on the
caller's return URL (a loopback server here); then session binding with
CompleteResourceTokenAuth, stored-token reuse, refresh (with a client
secret, and with private_key_jwt and a key in the HSM) and the failure
cases.

Prints TAP.  Needs the test token (tests/setup-token.sh's variables) and
the node modules of tests/oauth; the browser tests are skipped only when
Chromium is missing.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import test_daemon as td  # noqa: E402

td.WORK = os.path.join(td.TOKDIR, "oauth3lo")
CLIENT, SECRET = "vault-3lo", "s3cret-3lo"
API = "https://api.test.example/"
KEY_LABEL = "agentvault-oauth-client-3lo"


def ok(cond, name, detail=""):
    return td.ok(cond, name, detail)


def call(op, body):
    st, doc, _ = td.request("POST", "/identities/" + op, body)
    return st, doc


def token_op(body):
    return td.request("POST", "/identities/oauth2/token", body)[:2]


def idp_config(callback, jwk=None):
    common = {"grant_types": ["authorization_code", "refresh_token"],
              "redirect_uris": [callback], "response_types": ["code"],
              "scope": "openid read write admin",
              "token_endpoint_auth_method": "client_secret_basic"}
    pkj = dict(common, client_id="pkjwt", jwks={"keys": [jwk]},
               token_endpoint_auth_method="private_key_jwt",
               token_endpoint_auth_signing_alg="ES256")
    return {
        "clients": [dict(common, client_id=CLIENT, client_secret=SECRET),
                    dict(common, client_id="short", client_secret=SECRET)] +
        ([pkj] if jwk else []),
        "resources": {API: {"scope": "read write admin",
                            "accessTokenFormat": "opaque",
                            "accessTokenTTL": 3600}},
        "ttl": {"AccessToken": 3600, "RefreshToken": 3600,
                "AuthorizationCode": 60},
        "accounts": {"alice": {}, "bob": {}},
        "rotate_refresh_tokens": False,
    }


def daemon_config(port):
    conf = os.path.join(td.WORK, "3lo.yaml")
    td.write_config(conf, "outbound:\n  allow_http_loopback: true\n"
                    "oauth:\n  session_ttl_seconds: 60\n")
    with open(conf) as f:
        text = f.read()
    text = text.replace("hsm:\n", "listen:\n  tcp:\n    address: 127.0.0.1\n"
                        "    port: %d\n    public_name: localhost\nhsm:\n" %
                        port, 1)
    with open(conf, "w") as f:
        f.write(text)
    return conf


def provider(name, idp, client=CLIENT):
    d = idp.discovery()
    return call("CreateOauth2CredentialProvider", {
        "name": name, "credentialProviderVendor": "CustomOauth2",
        "oauth2ProviderConfigInput": {"customOauth2ProviderConfig": {
            "clientId": client, "clientSecret": SECRET,
            "oauthDiscovery": {"authorizationServerMetadata": {
                "issuer": d["issuer"],
                "authorizationEndpoint": d["authorization_endpoint"],
                "tokenEndpoint": d["token_endpoint"]}}}}})


def pkj_provider(name, idp):
    d = idp.discovery()
    return call("CreateOauth2CredentialProvider", {
        "name": name, "credentialProviderVendor": "CustomOauth2",
        "oauth2ProviderConfigInput": {"customOauth2ProviderConfig": {
            "clientId": "pkjwt", "clientAuthenticationMethod":
            "PRIVATE_KEY_JWT", "privateKeyJwtConfig": {"privateKeySource": {
                "hsmKeySource": {"keyLabel": KEY_LABEL}}},
            "oauthDiscovery": {"authorizationServerMetadata": {
                "issuer": d["issuer"],
                "authorizationEndpoint": d["authorization_endpoint"],
                "tokenEndpoint": d["token_endpoint"]}}}}})


def query(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def audit_lines(word):
    with open(os.path.join(td.WORK, "audit.log")) as f:
        return [json.loads(line) for line in f if word in line]


class Flow:
    """One identity with a return URL on the ReturnServer, its tokens for
    alice (and none), and the browser's trusted key."""

    def __init__(self, app, spki, prov="idp"):
        self.app, self.spki, self.prov = app, spki, prov
        self.ret = app.url("/back")
        st, doc = call("CreateWorkloadIdentity", {
            "name": "agent-3lo", "allowedResourceOauth2ReturnUrls":
            [self.ret, app.url("/other")]})
        assert st == 200, doc
        self.alice = self.wat("alice")
        self.bob = self.wat("bob")
        st, doc = call("GetWorkloadAccessToken", {"workloadName":
                                                  "agent-3lo"})
        self.nouser = doc["workloadAccessToken"]

    def wat(self, user):
        st, doc = call("GetWorkloadAccessTokenForUserId", {
            "workloadName": "agent-3lo", "userId": user})
        return doc["workloadAccessToken"]

    def ask(self, tok=None, scopes=("openid", "read"), **more):
        body = {"workloadIdentityToken": tok or self.alice,
                "resourceCredentialProviderName": more.pop("prov",
                                                           self.prov),
                "scopes": list(scopes), "oauth2Flow": "USER_FEDERATION",
                "resourceOauth2ReturnUrl": self.ret}
        body.update(more)
        return token_op(body)

    def browse(self, url, user="alice", deny=False):
        return harness.consent_through(url, self.spki, user=user,
                                       deny=deny)

    def complete(self, uri, user="alice"):
        return call("CompleteResourceTokenAuth", {
            "sessionUri": uri, "userIdentifier": {"userId": user}})


def test_full_flow(f, idp):
    st, doc = f.ask(customState="app-state-42")
    ok(st == 200 and doc.get("sessionStatus") == "IN_PROGRESS" and
       doc.get("sessionUri", "").startswith(
           "urn:ietf:params:oauth:request_uri:") and
       len(doc["sessionUri"]) == 34 + 43 and "authorizationUrl" in doc,
       "USER_FEDERATION without a token: an authorization URL and a "
       "session URI of AgentCore's form", doc)
    url, uri = doc["authorizationUrl"], doc["sessionUri"]
    q = query(url)
    ok(q.get("response_type") == "code" and q.get("client_id") == CLIENT
       and q.get("code_challenge_method") == "S256" and
       len(q.get("state", "")) == 43 and len(q.get("code_challenge", ""))
       == 43 and q.get("scope") == "openid read" and
       q.get("redirect_uri", "").endswith("/identities/oauth2/callback"),
       "the authorization URL has the standard parameters, PKCE S256 and "
       "a 32-byte state", url)
    st, poll = f.ask(sessionUri=uri)
    ok(st == 200 and poll.get("sessionStatus") == "IN_PROGRESS" and
       poll.get("authorizationUrl") == url,
       "polling before the user came back: IN_PROGRESS and the URL", poll)
    st, doc = f.complete(uri)
    ok(st == 400 and "not completed" in doc.get("message", ""),
       "CompleteResourceTokenAuth before the callback is refused", doc)
    end = f.browse(url)
    back = query(end)
    ok(end.startswith(f.ret + "?") and back.get("session_id") == uri and
       back.get("state") == "app-state-42" and
       any(h.startswith("/back?") for h in f.app.hits),
       "the browser signs in, consents, goes through the callback and "
       "lands on the return URL with session_id and customState", end)
    grants = [r for r in idp.requests()
              if r["grant_type"] == "authorization_code"]
    ok(grants and grants[-1]["params"].get("code_verifier", "")
       .startswith("<redacted") and grants[-1]["auth_method"] ==
       "client_secret_basic",
       "the appliance exchanged the code with its PKCE verifier", grants)
    st, poll = f.ask(sessionUri=uri)
    ok(st == 200 and "accessToken" not in poll and
       poll.get("sessionStatus") == "IN_PROGRESS",
       "the token is not handed out before the user is bound", poll)
    st, doc = f.ask()
    ok(st == 200 and "accessToken" not in doc,
       "nor to a new request: the stored token is unbound", doc)
    st, doc = f.complete(uri)
    ok(st == 200 and doc == {}, "CompleteResourceTokenAuth with the "
       "session's user binds the token", doc)
    st, poll = f.ask(sessionUri=uri)
    ok(st == 200 and poll.get("accessToken"), "polling the session now "
       "gives the access token", poll)
    token = poll.get("accessToken")
    st, doc = f.ask()
    ok(st == 200 and doc.get("accessToken") == token,
       "a new request for the same scopes reuses the stored token", doc)
    st, doc = f.ask(scopes=["read"])
    ok(st == 200 and doc.get("accessToken") == token,
       "a request for fewer scopes reuses it too", doc)
    st, doc = f.ask(scopes=["openid", "read", "write"])
    ok(st == 200 and "accessToken" not in doc and
       doc.get("sessionStatus") == "IN_PROGRESS",
       "a request for a scope it lacks starts consent again", doc)
    st, doc = f.ask(forceAuthentication=True)
    ok(st == 200 and "accessToken" not in doc and "authorizationUrl" in doc,
       "forceAuthentication starts a new session despite the token", doc)
    end = f.browse(url)
    ok(end.startswith("https://localhost:%d/identities/oauth2/callback" %
                      PORT),
       "the used authorization URL again: the appliance's callback refuses "
       "its used state with its error page", end)
    recs = [r for r in audit_lines("OAuth2Callback")]
    ok(recs and all("principal" not in r or r["principal"] in (None, "")
                    for r in recs) and
       not any(token in json.dumps(r) for r in recs),
       "callbacks are audited as OAuth2Callback, without a principal or a "
       "token", recs[-1:] if recs else "none")
    return token


def test_refused(f, idp):
    st, doc = f.ask(resourceOauth2ReturnUrl=f.app.url("/not-listed"))
    ok(st == 400 and "allowedResourceOauth2ReturnUrls" in
       doc.get("message", ""), "a return URL not on the allow list is "
       "refused", doc)
    st, doc = f.ask(tok=f.nouser)
    ok(st == 400 and doc["__type"] == "ValidationException",
       "a workload token without a user is refused for USER_FEDERATION",
       doc)
    st, doc = f.ask(customParameters={"state": "mine"})
    ok(st == 400 and "state" in doc.get("message", ""),
       "a custom parameter naming a standard one is refused", doc)
    body = {"workloadIdentityToken": f.alice,
            "resourceCredentialProviderName": f.prov, "scopes": ["read"],
            "oauth2Flow": "USER_FEDERATION"}
    st, doc = token_op(body)
    ok(st == 400 and "resourceOauth2ReturnUrl" in doc.get("message", ""),
       "USER_FEDERATION needs a return URL", doc)
    st, doc = f.ask(sessionUri="urn:ietf:params:oauth:request_uri:" +
                    "A" * 43)
    ok(st == 404, "an unknown session URI is not found", doc)
    st, doc = f.complete("urn:ietf:params:oauth:request_uri:" + "B" * 43)
    ok(st == 404, "CompleteResourceTokenAuth of an unknown session: not "
       "found", doc)


def test_custom_and_resources(f, idp):
    idp.clear_requests()
    st, doc = f.ask(scopes=["read"], customParameters={"login_hint":
                                                       "alice"},
                    resources=[API], forceAuthentication=True)
    q = query(doc.get("authorizationUrl", ""))
    ok(q.get("login_hint") == "alice" and q.get("resource") == API,
       "custom parameters and resources are in the authorization URL",
       doc)
    end = f.browse(doc["authorizationUrl"])
    ok(query(end).get("session_id") == doc["sessionUri"],
       "the provider accepts the resource indicator; back at the return "
       "URL", end)
    ok(f.complete(doc["sessionUri"])[0] == 200, "bound")
    st, poll = f.ask(scopes=["read"], sessionUri=doc["sessionUri"])
    tok = poll.get("accessToken", "")
    st2, _, body = harness.http("POST", idp.url("/token/introspection"),
                                ("token=" + tok).encode(), {
                                    "Content-Type":
                                    "application/x-www-form-urlencoded",
                                    "Authorization": "Basic " +
                                    __import__("base64").b64encode(
                                        ("%s:%s" % (CLIENT, SECRET))
                                        .encode()).decode()})
    info = json.loads(body) if st2 == 200 else {}
    ok(info.get("active") and info.get("aud") == API,
       "the token is for the resource asked for (RFC 8707)", info)


def test_denied_and_replay(f, idp):
    st, doc = f.ask(forceAuthentication=True)
    end = f.browse(doc["authorizationUrl"], deny=True)
    q = query(end)
    ok(end.startswith(f.ret) and q.get("error") == "access_denied" and
       q.get("session_id") == doc["sessionUri"],
       "the user refuses: back at the return URL with error=access_denied",
       end)
    st, poll = f.ask(sessionUri=doc["sessionUri"])
    ok(poll.get("sessionStatus") == "FAILED", "the session is FAILED",
       poll)
    # A replayed state: the callback URL the provider sent once.
    st, doc = f.ask(forceAuthentication=True)
    state = query(doc["authorizationUrl"])["state"]
    end = f.browse(doc["authorizationUrl"])
    ok(query(end).get("session_id") == doc["sessionUri"], "first use")
    cb = "https://localhost:%d/identities/oauth2/callback?code=x&state=%s" \
        % (PORT, state)
    try:
        end2 = f.browse(cb)
    except harness.BrowserError as e:
        end2 = str(e)
    ok(end2.startswith("https://localhost") and not end2.startswith(f.ret),
       "a replayed state gets the error page, never the return URL", end2)
    recs = [r for r in audit_lines("OAuth2Callback")
            if r.get("outcome") == "error"]
    ok(recs, "the replay is audited as an OAuth2Callback error")
    return doc["sessionUri"]


def test_binding(f, idp):
    st, doc = f.ask(forceAuthentication=True)
    uri = doc["sessionUri"]
    end = f.browse(doc["authorizationUrl"], user="bob")
    ok(query(end).get("session_id") == uri, "bob comes back through "
       "alice's session")
    st, doc = f.complete(uri, user="bob")
    ok(st == 403 and doc.get("message") == "the user does not match the "
       "session", "CompleteResourceTokenAuth for another user is refused",
       doc)
    st, poll = f.ask(sessionUri=uri)
    ok(poll.get("sessionStatus") == "FAILED" and "accessToken" not in poll,
       "the session is FAILED", poll)
    st, doc = f.complete(uri, user="alice")
    ok(st == 400 and "accessToken" not in doc,
       "and cannot be completed afterwards", doc)
    recs = [r for r in audit_lines("CompleteResourceTokenAuth")
            if r.get("outcome") == "denied"]
    ok(recs and "session binding" in (recs[-1].get("decision") or ""),
       "the refusal is audited with its reason", recs[-1:])


def test_expiry(f, idp):
    st, doc = f.ask(forceAuthentication=True)
    uri = doc["sessionUri"]
    time.sleep(62)
    st, poll = f.ask(sessionUri=uri)
    ok(poll.get("sessionStatus") == "FAILED", "an expired session is "
       "FAILED", poll)
    try:
        end = f.browse(doc["authorizationUrl"])
    except harness.BrowserError as e:
        end = str(e)
    ok(not end.startswith(f.ret), "its callback no longer reaches the "
       "return URL", end)
    st, doc = f.complete(uri)
    ok(st == 404, "nor can it be completed", doc)


def test_refresh(f, short):
    """A provider whose access tokens live 4 s (cached for 2)."""
    st, doc = f.ask(prov="short")
    uri = doc.get("sessionUri")
    end = f.browse(doc["authorizationUrl"])
    ok(query(end).get("session_id") == uri and f.complete(uri)[0] == 200,
       "a token from the short-lived provider, bound")
    st, poll = f.ask(prov="short", sessionUri=uri)
    first = poll.get("accessToken")
    ok(first, "handed out", poll)
    short.clear_requests()
    time.sleep(3)
    got = [None, None]

    def ask(i):
        got[i] = f.ask(prov="short")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    toks = [g[1].get("accessToken") for g in got]
    grants = [r for r in short.requests()
              if r["grant_type"] == "refresh_token"]
    ok(toks[0] and toks[0] == toks[1] and toks[0] != first,
       "expired: both concurrent callers get one new token", got)
    ok(len(grants) == 1, "from exactly one refresh at the provider (%d)" %
       len(grants), grants)
    # The refresh token revoked at the provider: consent again.
    ok(short.revoke(all=True) >= 1, "the provider revokes the refresh "
       "token")
    time.sleep(3)
    st, doc = f.ask(prov="short")
    ok(st == 200 and "accessToken" not in doc and
       doc.get("sessionStatus") == "IN_PROGRESS" and
       "authorizationUrl" in doc,
       "a revoked refresh token starts consent again", doc)
    grants = [r for r in short.requests()
              if r["grant_type"] == "refresh_token"]
    ok(grants and grants[-1].get("error") == "invalid_grant",
       "after the provider said invalid_grant", grants[-1:])


def test_private_key_jwt(f, short, kid):
    """The code exchange and the refresh authenticate with assertions
    signed in the HSM (a 4 s token: refreshed after 2)."""
    st, doc = f.ask(prov="short-pkj")
    uri = doc.get("sessionUri")
    end = f.browse(doc["authorizationUrl"])
    ok(query(end).get("session_id") == uri and f.complete(uri)[0] == 200,
       "private_key_jwt: consent, callback, bound")
    st, poll = f.ask(prov="short-pkj", sessionUri=uri)
    first = poll.get("accessToken")
    time.sleep(3)
    st, doc = f.ask(prov="short-pkj")
    grants = [r for r in short.requests() if r["client_id"] == "pkjwt"]
    ok(first and doc.get("accessToken") and doc["accessToken"] != first and
       [g["grant_type"] for g in grants] == ["authorization_code",
                                             "refresh_token"] and
       all(g["status"] == 200 and g["auth_method"] == "private_key_jwt" and
           "client_secret" not in g["params"] and
           g["assertion"]["kid"] == kid and
           g["assertion"]["claims"]["aud"] == short.issuer + "/token"
           for g in grants) and
       grants[0]["assertion"]["claims"]["jti"] !=
       grants[1]["assertion"]["claims"]["jti"],
       "the code exchange and the refresh each carry a fresh assertion "
       "from the HSM key", grants)


def test_jwt_user(f, alice_token):
    """A user of a validated JWT (GetWorkloadAccessTokenForJWT): its own
    tokens, never those of a userId user; CompleteResourceTokenAuth with
    its JWT as userToken."""
    import test_inbound as inbound
    iss = inbound.Issuer()
    iss.keys = [inbound.Key("3lo-1")]
    st, doc = call("UpdateWorkloadIdentity", {
        "name": "agent-3lo", "allowedResourceOauth2ReturnUrls":
        [f.ret, f.app.url("/other")], "authorizerConfiguration": {
            "customJWTAuthorizer": {"discoveryUrl": iss.discovery,
                                    "allowedAudience": ["agents"]}}})
    ok(st == 200, "the identity accepts JWTs of an issuer", doc)
    st, doc = call("GetWorkloadAccessTokenForJWT", {
        "workloadName": "agent-3lo", "userToken": iss.token(sub="alice")})
    wat = doc.get("workloadAccessToken")
    ok(st == 200 and wat, "a workload token for the JWT user alice", doc)
    st, doc = f.ask(tok=wat)
    ok(st == 200 and "accessToken" not in doc and
       doc.get("sessionStatus") == "IN_PROGRESS",
       "the JWT user alice does not get the token of the userId user "
       "alice: consent starts", doc)
    uri = doc.get("sessionUri")
    end = f.browse(doc.get("authorizationUrl"))
    ok(query(end).get("session_id") == uri, "consent for the JWT user",
       end)
    user = inbound.user_key(iss.issuer, "alice")
    st, doc = call("CompleteResourceTokenAuth", {
        "sessionUri": uri, "userIdentifier": {"userId": user}})
    ok(st == 400 and "reserved" in doc.get("message", ""),
       "CompleteResourceTokenAuth refuses a jwt: userId", doc)
    st, doc = call("CompleteResourceTokenAuth", {
        "sessionUri": uri, "userIdentifier": {"userToken": iss.token(
            sub="alice", aud="other")}})
    ok(st == 403 and "aud" in doc.get("message", ""),
       "a userToken the authorizer refuses is refused", doc)
    st, doc = call("CompleteResourceTokenAuth", {
        "sessionUri": uri, "userIdentifier": {"userToken": iss.token(
            sub="alice")}})
    ok(st == 200, "CompleteResourceTokenAuth with the JWT user's token "
       "binds the session", doc)
    st, poll = f.ask(tok=wat, sessionUri=uri)
    token = poll.get("accessToken")
    ok(st == 200 and token and token != alice_token,
       "the JWT user gets a token of its own", poll)
    st, doc = f.ask()
    ok(st == 200 and doc.get("accessToken") == alice_token,
       "... and the userId user alice still gets hers", doc)
    st, doc = f.ask(tok=wat, forceAuthentication=True)
    uri = doc.get("sessionUri")
    f.browse(doc.get("authorizationUrl"))
    st, doc = call("CompleteResourceTokenAuth", {
        "sessionUri": uri, "userIdentifier": {"userToken": iss.token(
            sub="mallory")}})
    ok(st == 403 and "does not match" in doc.get("message", ""),
       "the JWT of another user does not complete the JWT user's session",
       doc)
    st, doc = call("UpdateWorkloadIdentity", {
        "name": "agent-3lo", "allowedResourceOauth2ReturnUrls":
        [f.ret, f.app.url("/other")]})
    iss.shutdown()


def run_browser_tests(idp, short, kid):
    spki = harness.spki_hash(os.path.join(td.TOKDIR, "tls.pem"))
    with harness.ReturnServer() as app:
        f = Flow(app, spki)
        test_jwt_user(f, test_full_flow(f, idp))
        test_refused(f, idp)
        test_custom_and_resources(f, idp)
        test_denied_and_replay(f, idp)
        test_binding(f, idp)
        test_refresh(f, short)
        test_private_key_jwt(f, short, kid)
        test_expiry(f, idp)


PORT = None


def client_key():
    """The JWK of the OAuth client key KEY_LABEL, made by the ceremony."""
    opts = ["--module", os.environ["AV_TEST_MODULE"], "--token",
            os.environ["AV_TEST_TOKEN"], "--pin", os.environ["AV_TEST_PIN"],
            "--label", KEY_LABEL]
    r = subprocess.run([td.CEREMONY, "new-oauth-client-key"] + opts,
                       capture_output=True, text=True)
    if r.returncode != 0:
        r = subprocess.run([td.CEREMONY, "show-oauth-client-key"] + opts,
                           capture_output=True, text=True)
    jwk = [l for l in r.stdout.splitlines() if l.startswith('{"kty"')]
    return json.loads(jwk[0]) if jwk else None


def main():
    global PORT
    shutil.rmtree(td.WORK, ignore_errors=True)
    os.makedirs(td.WORK)
    jwk = client_key()
    # The sandboxed worker runs as nobody and must reach the token files.
    os.chmod(td.TOKDIR, 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token"), 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token", "softhsm2.conf"), 0o644)
    subprocess.run(["chown", "-R", "nobody", os.path.join(
        td.TOKDIR, "token", "tokens")])
    PORT = td.free_port()
    callback = "https://localhost:%d/identities/oauth2/callback" % PORT
    short_cfg = idp_config(callback, jwk)
    short_cfg["ttl"] = {"AccessToken": 4, "RefreshToken": 3600,
                        "AuthorizationCode": 60}
    with harness.IdP(idp_config(callback),
                     workdir=os.path.join(td.WORK, "idp")) as idp, \
            harness.IdP(short_cfg, workdir=os.path.join(td.WORK,
                                                         "idp-short")) as short:
        d = td.Daemon(daemon_config(PORT))
        try:
            ok(d.wait_ready(), "the daemon serves with a TCP listener")
            st, doc = provider("idp", idp)
            ok(st == 200 and doc.get("callbackUrl") == callback,
               "an OAuth2 provider for the OpenID provider", doc)
            ok(provider("short", short)[0] == 200, "and one for a provider "
               "of short-lived tokens")
            ok(pkj_provider("short-pkj", short)[0] == 200, "and one "
               "authenticating with private_key_jwt")
            if harness.chromium() is None:
                print("ok %d - browser tests # SKIP no Chromium" %
                      (td.n + 1))
            else:
                run_browser_tests(idp, short, jwk.get("kid"))
        finally:
            d.stop()
    print("1..%d" % td.n)
    return 1 if td.failed else 0


if __name__ == "__main__":
    sys.exit(main())
