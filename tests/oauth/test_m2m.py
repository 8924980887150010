#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_m2m.py - GetResourceOauth2Token with oauth2Flow M2M (suite
"oauth"), the real daemon against the real OpenID provider (idp.mjs):
the client-credentials grant with each client authentication method
(private_key_jwt with a key the ceremony made in the HSM among them),
the token cache (reuse, expiry, one entry per scope set), the single
flight (20 concurrent calls on a cold cache, one token request), each
failure with a clear error while the daemon keeps serving, erasure with
the provider and the identity, and no token in the audit trail.

Prints TAP.  Environment as tests/integration/test_daemon.py's.
"""
import json
import os
import sqlite3
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import test_daemon as td  # noqa: E402

ok = td.ok
SECRET = "m2m-client-secret-for-the-tests"
SLOW = td.SLOW
KEY_LABEL = "agentvault-oauth-client-m2m"


def client_key(label):
    """The public JWK of the OAuth client key label, made in the test
    token by the ceremony (shown again when an earlier run made it)."""
    import subprocess
    opts = ["--module", os.environ["AV_TEST_MODULE"], "--token",
            os.environ["AV_TEST_TOKEN"], "--pin", os.environ["AV_TEST_PIN"],
            "--label", label]
    r = subprocess.run([td.CEREMONY, "new-oauth-client-key"] + opts,
                       capture_output=True, text=True)
    if r.returncode != 0:
        r = subprocess.run([td.CEREMONY, "show-oauth-client-key"] + opts,
                           capture_output=True, text=True)
    jwk = [l for l in r.stdout.splitlines() if l.startswith('{"kty"')]
    ok(r.returncode == 0 and len(jwk) == 1,
       "agentvault-ceremony new-oauth-client-key prints the key's JWK",
       r.stdout + r.stderr)
    return json.loads(jwk[0]) if jwk else {}


def idp_config(ttl, jwk=None, stranger=None):
    common = {"grant_types": ["client_credentials"], "redirect_uris": [],
              "response_types": [], "scope": "read write admin"}
    clients = [
        dict(common, client_id="basic", client_secret=SECRET,
             token_endpoint_auth_method="client_secret_basic"),
        dict(common, client_id="post", client_secret=SECRET,
             token_endpoint_auth_method="client_secret_post"),
    ]
    # private_key_jwt: one client registered with the HSM key's JWK, one
    # with a key the appliance does not have.
    for cid, key in (("pkjwt", jwk), ("stranger", stranger)):
        if key:
            clients.append(dict(common, client_id=cid, jwks={"keys": [key]},
                                token_endpoint_auth_method="private_key_jwt",
                                token_endpoint_auth_signing_alg="ES256"))
    return {"clients": clients, "ttl": {"ClientCredentials": ttl}}


def provider(name, idp, client, secret=SECRET):
    method = "CLIENT_SECRET_POST" if client == "post" else \
        "CLIENT_SECRET_BASIC"
    return {"name": name, "credentialProviderVendor": "CustomOauth2",
            "oauth2ProviderConfigInput": {"customOauth2ProviderConfig": {
                "clientId": client, "clientSecret": secret,
                "clientAuthenticationMethod": method,
                "oauthDiscovery": {"authorizationServerMetadata": {
                    "issuer": idp.issuer,
                    "authorizationEndpoint": idp.issuer + "/auth",
                    "tokenEndpoint": idp.issuer + "/token"}}}}}


def pkj_provider(name, idp, client, label=KEY_LABEL, discovery=False,
                 **more):
    c = {"clientId": client, "clientAuthenticationMethod": "PRIVATE_KEY_JWT",
         "privateKeyJwtConfig": dict({"privateKeySource": {
             "hsmKeySource": {"keyLabel": label}}}, **more)}
    if discovery:
        c["oauthDiscovery"] = {"discoveryUrl": idp.issuer +
                               "/.well-known/openid-configuration"}
    else:
        c["oauthDiscovery"] = {"authorizationServerMetadata": {
            "issuer": idp.issuer, "authorizationEndpoint": idp.issuer +
            "/auth", "tokenEndpoint": idp.issuer + "/token"}}
    return {"name": name, "credentialProviderVendor": "CustomOauth2",
            "oauth2ProviderConfigInput": {"customOauth2ProviderConfig": c}}


def token_call(wat, prov, scopes, **more):
    body = dict({"workloadIdentityToken": wat,
                 "resourceCredentialProviderName": prov, "scopes": scopes,
                 "oauth2Flow": "M2M"}, **more)
    return td.call("oauth2/token", body, sock_name="agent.sock")


def mint(name):
    st, doc = td.call("GetWorkloadAccessToken", {"workloadName": name},
                      sock_name="agent.sock")
    return doc.get("workloadAccessToken", "")


def cc_requests(idp):
    return [r for r in idp.requests()
            if r.get("grant_type") == "client_credentials"]


def setup():
    shutil_rm(td.WORK)
    os.makedirs(td.WORK)
    jwk = client_key(KEY_LABEL)
    os.chmod(td.TOKDIR, 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token"), 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token", "softhsm2.conf"), 0o644)
    import subprocess
    subprocess.run(["chown", "-R", "nobody",
                    os.path.join(td.TOKDIR, "token", "tokens")])
    conf = os.path.join(td.WORK, "m2m.yaml")
    td.write_config(conf, "outbound:\n  connect_timeout_ms: %d\n"
                    "  timeout_ms: %d\n  allow_http_loopback: true\n" %
                    (1000 * SLOW, 3000 * SLOW))
    with open(conf) as f:
        text = f.read().replace("max_connections: 16", "max_connections: 64")
    with open(conf, "w") as f:
        f.write(text)
    return conf, jwk


def shutil_rm(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def test_success(idp, wat, tokens):
    st, doc = token_call(wat, "idp-basic", ["read"])
    ok(st == 200 and doc.get("accessToken"),
       "M2M: a token through client_secret_basic", doc)
    tokens.append(doc.get("accessToken", ""))
    reqs = cc_requests(idp)
    ok(len(reqs) == 1 and reqs[0]["auth_method"] == "client_secret_basic"
       and reqs[0]["client_id"] == "basic" and
       reqs[0]["params"].get("scope") == "read",
       "... one client_credentials request, basic auth, scope read", reqs)
    st, doc2 = token_call(wat, "idp-basic", ["read"])
    ok(st == 200 and doc2.get("accessToken") == doc.get("accessToken") and
       len(cc_requests(idp)) == 1,
       "a second call is served from the cache (no new request)", doc2)
    st, doc = token_call(wat, "idp-post", ["read", "write"])
    tokens.append(doc.get("accessToken", ""))
    reqs = cc_requests(idp)
    ok(st == 200 and doc.get("accessToken") and len(reqs) == 2 and
       reqs[-1]["auth_method"] == "client_secret_post" and
       reqs[-1]["client_id"] == "post",
       "M2M through client_secret_post", (doc, reqs[-1:]))
    st, doc = token_call(wat, "idp-basic", ["write", "read", "read"])
    tokens.append(doc.get("accessToken", ""))
    reqs = cc_requests(idp)
    ok(st == 200 and len(reqs) == 3 and
       reqs[-1]["params"].get("scope") == "read write",
       "another scope set is another token (scope sent sorted, unique)",
       reqs[-1:])
    st, doc2 = token_call(wat, "idp-basic", ["read", "write"])
    ok(st == 200 and doc2.get("accessToken") == doc.get("accessToken") and
       len(cc_requests(idp)) == 3,
       "... and the same set in another order is the same cache entry")
    st, doc = token_call(wat, "idp-basic", [])
    tokens.append(doc.get("accessToken", ""))
    reqs = cc_requests(idp)
    ok(st == 200 and doc.get("accessToken") and
       "scope" not in reqs[-1]["params"],
       "no scopes: no scope parameter", reqs[-1:])


def test_single_flight(idp, wat, tokens):
    idp.clear_requests()
    results = []

    def one():
        results.append(token_call(wat, "idp-basic", ["admin"]))
    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    toks = set(d.get("accessToken") for st, d in results if st == 200)
    tokens.extend(toks)
    ok(len(results) == 20 and all(st == 200 for st, _ in results) and
       len(toks) == 1,
       "20 concurrent calls on a cold cache all get the token",
       [r for r in results if r[0] != 200][:3])
    ok(len(cc_requests(idp)) == 1,
       "... from exactly one token request (single flight)",
       len(cc_requests(idp)))


def test_secret_on_miss_only(idp, wat):
    """The client secret is decrypted for a token request only: with its
    sealed copy damaged, a cache hit still answers, a miss fails."""
    db = os.path.join(td.WORK, "state", "agentvault.db")
    st, doc = token_call(wat, "idp-post", ["read", "write"])
    n = len(cc_requests(idp))
    con = sqlite3.connect(db, timeout=10)
    with con:
        (sealed,) = con.execute("SELECT sealed FROM secrets WHERE type = "
                                "'oauth2' AND name = 'idp-post'").fetchone()
        bad = bytes([sealed[0] ^ 1]) + sealed[1:]
        con.execute("UPDATE secrets SET sealed = ? WHERE type = 'oauth2' "
                    "AND name = 'idp-post'", (bad,))
    st2, doc2 = token_call(wat, "idp-post", ["read", "write"])
    ok(st == 200 and st2 == 200 and
       doc2.get("accessToken") == doc.get("accessToken") and
       len(cc_requests(idp)) == n,
       "a cache hit does not read the client secret (its sealed copy "
       "damaged, the token is served)", doc2)
    st, doc = token_call(wat, "idp-post", ["admin", "write"])
    ok(st != 200 and doc.get("__type") == "DecryptionFailure" and
       len(cc_requests(idp)) == n,
       "... a miss needs it and fails (DecryptionFailure) before any "
       "request", doc)
    with con:
        con.execute("UPDATE secrets SET sealed = ? WHERE type = 'oauth2' "
                    "AND name = 'idp-post'", (sealed,))
    con.close()
    st, doc = token_call(wat, "idp-post", ["admin", "write"])
    ok(st == 200 and len(cc_requests(idp)) == n + 1,
       "... and works again with the secret restored", doc)


class BadDiscovery:
    """A loopback server of discovery documents, one per path prefix:
    /CASE/.well-known/openid-configuration."""

    def __init__(self):
        import http.server

        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                case = self.path.split("/")[1]
                status, body = outer.doc(case)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass    # the daemon stops reading a huge one
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.base = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, case):
        return "%s/%s/.well-known/openid-configuration" % (self.base, case)

    def doc(self, case):
        iss = "%s/%s" % (self.base, case)
        good = {"issuer": iss, "authorization_endpoint": iss + "/auth",
                "token_endpoint": iss + "/token",
                "response_types_supported": ["code"]}
        docs = {
            "issuer": dict(good, issuer=self.base + "/other"),
            "garbage": b"{not json",
            "array": [good],
            "huge": b"{\"issuer\": \"" + b"x" * (10 << 20) + b"\"}",
            "notoken": dict((k, v) for k, v in good.items()
                            if k != "token_endpoint"),
            "plainhttp": dict(good,
                              token_endpoint="http://idp.example.com/t"),
            "methods": dict(good, token_endpoint_auth_methods_supported=[
                "client_secret_post"]),
        }
        if case not in docs:
            return 404, b"{}"
        d = docs[case]
        return 200, d if isinstance(d, bytes) else json.dumps(d).encode()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def disc_provider(name, url, client="basic", method=None):
    c = {"clientId": client, "clientSecret": SECRET,
         "oauthDiscovery": {"discoveryUrl": url}}
    if method:
        c["clientAuthenticationMethod"] = method
    return {"name": name, "credentialProviderVendor": "CustomOauth2",
            "oauth2ProviderConfigInput": {"customOauth2ProviderConfig": c}}


def test_discovery(idp, wat):
    url = idp.issuer + "/.well-known/openid-configuration"
    want = idp.discovery()
    st, doc = td.call("CreateOauth2CredentialProvider",
                      disc_provider("idp-disc", url, "post",
                                    "CLIENT_SECRET_POST"))
    out = doc.get("oauth2ProviderConfigOutput", {}).get(
        "customOauth2ProviderConfig", {})
    md = out.get("oauthDiscovery", {}).get("authorizationServerMetadata", {})
    ok(st == 200 and md.get("issuer") == want["issuer"] and
       md.get("tokenEndpoint") == want["token_endpoint"] and
       md.get("authorizationEndpoint") == want["authorization_endpoint"] and
       "code" in md.get("responseTypes", []) and
       "client_secret_post" in md.get("tokenEndpointAuthMethods", []),
       "CustomOauth2 with a discoveryUrl: the document fetched, its "
       "metadata in the response", doc)
    st, got = td.call("GetOauth2CredentialProvider", {"name": "idp-disc"})
    ok(st == 200 and got.get("oauth2ProviderConfigOutput") ==
       doc.get("oauth2ProviderConfigOutput"),
       "... and in GetOauth2CredentialProvider's", got)
    n = len(cc_requests(idp))
    st, tok = token_call(wat, "idp-disc", ["read"])
    reqs = cc_requests(idp)
    ok(st == 200 and tok.get("accessToken") and len(reqs) == n + 1 and
       reqs[-1]["client_id"] == "post" and
       reqs[-1]["auth_method"] == "client_secret_post",
       "an M2M token through the discovered token endpoint", tok)
    st, doc = td.call("UpdateOauth2CredentialProvider",
                      disc_provider("idp-disc", url, "basic"))
    md = doc.get("oauth2ProviderConfigOutput", {}).get(
        "customOauth2ProviderConfig", {}).get("oauthDiscovery", {}).get(
            "authorizationServerMetadata", {})
    ok(st == 200 and md.get("tokenEndpoint") == want["token_endpoint"],
       "UpdateOauth2CredentialProvider fetches the document again", doc)
    st, tok = token_call(wat, "idp-disc", ["read"])
    ok(st == 200 and cc_requests(idp)[-1]["client_id"] == "basic",
       "... and the new client is used", tok)

    bad = BadDiscovery()
    try:
        for case, want_text, what in (
                ("issuer", "issuer is not " + bad.base + "/issuer",
                 "another issuer than the URL names"),
                ("garbage", "not a JSON object", "malformed JSON"),
                ("array", "not a JSON object", "a JSON array"),
                ("huge", "too large", "a 10 MiB document"),
                ("notoken", "token_endpoint is missing",
                 "no token_endpoint"),
                ("plainhttp", "token_endpoint must be an https:// URL",
                 "an http:// token endpoint (not loopback)"),
                ("methods", "does not list the client authentication "
                 "method client_secret_basic", "the method not listed"),
                ("missing", "answered HTTP 404", "a 404")):
            st, doc = td.call("CreateOauth2CredentialProvider",
                              disc_provider("bad-" + case, bad.url(case)))
            st2, _ = td.call("GetOauth2CredentialProvider",
                             {"name": "bad-" + case})
            ok(st == 400 and doc.get("__type") == "ValidationException" and
               doc.get("message", "").startswith("discoveryUrl: ") and
               want_text in doc.get("message", "") and st2 == 404,
               "discovery: %s is refused (%s), nothing created" %
               (what, want_text), doc)
        st, doc = td.call("UpdateOauth2CredentialProvider",
                          disc_provider("idp-disc", bad.url("issuer")))
        st2, tok = token_call(wat, "idp-disc", ["read"])
        ok(st == 400 and "issuer" in doc.get("message", "") and
           st2 == 200 and tok.get("accessToken"),
           "an update to a bad document is refused, the provider kept",
           doc)
    finally:
        bad.close()
    # Nothing listens there: the fetch fails at once.
    st, doc = td.call("CreateOauth2CredentialProvider", disc_provider(
        "bad-conn", "http://127.0.0.1:9/.well-known/openid-configuration"))
    ok(st == 400 and "cannot be fetched (connect)" in
       doc.get("message", ""), "discovery: an unreachable server", doc)
    st, _ = td.call("get-token-vault", {})
    ok(st == 200, "... and the daemon keeps serving")


def secret_stored(name):
    db = os.path.join(td.WORK, "state", "agentvault.db")
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute("SELECT count(*) FROM secrets WHERE type = "
                           "'oauth2' AND name = ?", (name,)).fetchone()[0]
    finally:
        con.close()


def test_private_key_jwt(idp, wat, jwk, tokens):
    """private_key_jwt: the client authenticates with an assertion signed
    in the HSM by the key the ceremony made; no secret anywhere."""
    ok("1 OAuth client key(s) for private_key_jwt" in td.log_text(),
       "the worker loaded the OAuth client key from the HSM")
    st, doc = td.call("CreateOauth2CredentialProvider",
                      pkj_provider("idp-pkj", idp, "pkjwt"))
    out = doc.get("oauth2ProviderConfigOutput", {}).get(
        "customOauth2ProviderConfig", {})
    want = {"signingAlgorithm": "ES256", "privateKeySource": {
        "hsmKeySource": {"keyLabel": KEY_LABEL}}}
    ok(st == 200 and out.get("clientAuthenticationMethod") ==
       "PRIVATE_KEY_JWT" and out.get("privateKeyJwtConfig") == want,
       "a PRIVATE_KEY_JWT provider without a client secret", doc)
    st, got = td.call("GetOauth2CredentialProvider", {"name": "idp-pkj"})
    ok(st == 200 and got.get("oauth2ProviderConfigOutput") ==
       doc.get("oauth2ProviderConfigOutput"),
       "... GetOauth2CredentialProvider returns its privateKeyJwtConfig",
       got)
    ok(secret_stored("idp-pkj") == 0, "... and no secret is stored")

    jtis = []
    for scopes in (["read"], ["write"]):
        t0 = int(time.time())
        st, tok = token_call(wat, "idp-pkj", scopes)
        tokens.append(tok.get("accessToken", ""))
        r = cc_requests(idp)[-1]
        a = r.get("assertion") or {}
        c = a.get("claims", {})
        jtis.append(c.get("jti"))
        ok(st == 200 and tok.get("accessToken") and r["status"] == 200 and
           r["auth_method"] == "private_key_jwt" and
           r["client_id"] == "pkjwt" and "client_secret" not in r["params"],
           "M2M through private_key_jwt (%s): the IdP verified the "
           "assertion" % scopes[0], (tok, r))
        ok(a.get("alg") == "ES256" and a.get("kid") == jwk.get("kid") and
           c.get("iss") == "pkjwt" and c.get("sub") == "pkjwt" and
           c.get("aud") == idp.issuer + "/token" and
           c.get("exp", 0) - c.get("iat", 0) == 60 and
           abs(c.get("iat", 0) - t0) <= 2 and len(c.get("jti", "")) >= 22,
           "... ES256 with the ceremony's kid; iss = sub = client_id, aud "
           "the token endpoint, exp = iat + 60, a jti of 16 bytes", a)
    ok(len(set(jtis)) == 2, "... a fresh jti per request", jtis)
    st, tok = token_call(wat, "idp-pkj", ["read"])
    ok(st == 200 and tok.get("accessToken") == tokens[-2],
       "... and the token is cached like any other")

    # Discovery: the real IdP lists private_key_jwt.
    st, doc = td.call("CreateOauth2CredentialProvider",
                      pkj_provider("idp-pkj-disc", idp, "pkjwt",
                                   discovery=True, additionalPayloadClaims={
                                       "tenant": "t-1"},
                                   additionalHeaderClaims={"x5t": "abc"}))
    md = doc.get("oauth2ProviderConfigOutput", {}).get(
        "customOauth2ProviderConfig", {}).get("oauthDiscovery", {}).get(
            "authorizationServerMetadata", {})
    ok(st == 200 and "private_key_jwt" in md.get("tokenEndpointAuthMethods",
                                                 []),
       "with a discoveryUrl: private_key_jwt among the server's methods",
       doc)
    pkc = doc.get("oauth2ProviderConfigOutput", {}).get(
        "customOauth2ProviderConfig", {}).get("privateKeyJwtConfig", {})
    ok(pkc.get("additionalPayloadClaims") == {"tenant": "t-1"} and
       pkc.get("additionalHeaderClaims") == {"x5t": "abc"},
       "... its additional header and payload claims kept", pkc)
    st, tok = token_call(wat, "idp-pkj-disc", ["admin"])
    tokens.append(tok.get("accessToken", ""))
    r = cc_requests(idp)[-1]
    c = (r.get("assertion") or {}).get("claims", {})
    ok(st == 200 and tok.get("accessToken") and
       r["auth_method"] == "private_key_jwt" and c.get("tenant") == "t-1"
       and c.get("iss") == "pkjwt",
       "... and a token through it, the assertion with the added claim",
       (tok, r))

    # A key the IdP does not know for this client.
    td.call("CreateOauth2CredentialProvider",
            pkj_provider("idp-pkj-stranger", idp, "stranger"))
    st, doc = token_call(wat, "idp-pkj-stranger", ["read"])
    ok(st == 400 and doc.get("__type") == "ValidationException" and
       "answered invalid_client" in doc.get("message", "") and
       "accessToken" not in doc,
       "a key the IdP does not know: invalid_client, a clear error", doc)

    # Refusals at Create and Update.
    st, doc = td.call("CreateOauth2CredentialProvider", pkj_provider(
        "idp-pkj-x", idp, "pkjwt", label="agentvault-oauth-client-nope"))
    st2, _ = td.call("GetOauth2CredentialProvider", {"name": "idp-pkj-x"})
    ok(st == 400 and doc.get("__type") == "ValidationException" and
       "agentvault-oauth-client-nope" in doc.get("message", "") and
       st2 == 404, "an unknown key label: ValidationException naming it",
       doc)
    body = pkj_provider("idp-pkj", idp, "pkjwt")
    body["oauth2ProviderConfigInput"]["customOauth2ProviderConfig"][
        "clientSecret"] = SECRET
    st, doc = td.call("UpdateOauth2CredentialProvider", body)
    ok(st == 400 and "not a secret" in doc.get("message", ""),
       "PRIVATE_KEY_JWT with a clientSecret is refused", doc)
    back = provider("idp-pkj", idp, "basic")
    del back["oauth2ProviderConfigInput"]["customOauth2ProviderConfig"][
        "clientSecret"]
    st, doc = td.call("UpdateOauth2CredentialProvider", back)
    ok(st == 400 and "clientSecret is required" in doc.get("message", ""),
       "back to CLIENT_SECRET_BASIC without a secret is refused", doc)
    st, doc = td.call("UpdateOauth2CredentialProvider",
                      provider("idp-pkj", idp, "basic"))
    st2, tok = token_call(wat, "idp-pkj", ["read"])
    ok(st == 200 and secret_stored("idp-pkj") == 1 and st2 == 200 and
       cc_requests(idp)[-1]["auth_method"] == "client_secret_basic",
       "... with one it works, through the secret", (doc, tok))
    st, doc = td.call("UpdateOauth2CredentialProvider",
                      pkj_provider("idp-pkj", idp, "pkjwt"))
    st2, tok = token_call(wat, "idp-pkj", ["read"])
    ok(st == 200 and secret_stored("idp-pkj") == 0 and st2 == 200 and
       cc_requests(idp)[-1]["auth_method"] == "private_key_jwt",
       "updated to PRIVATE_KEY_JWT again: the secret is erased, the key "
       "signs", (doc, tok))


def test_expiry(short, wat, tokens):
    st, doc = token_call(wat, "idp-short", ["read"])
    tokens.append(doc.get("accessToken", ""))
    st2, doc2 = token_call(wat, "idp-short", ["read"])
    ok(st == 200 and doc2.get("accessToken") == doc.get("accessToken") and
       len(cc_requests(short)) == 1,
       "a 4 s token is reused at first (cached for half its life)", doc2)
    time.sleep(2.5)
    st, doc3 = token_call(wat, "idp-short", ["read"])
    tokens.append(doc3.get("accessToken", ""))
    ok(st == 200 and doc3.get("accessToken") != doc.get("accessToken") and
       len(cc_requests(short)) == 2,
       "... and fetched anew once it is near expiry", doc3)


def failure(idp, wat, prov, scopes, mode, want_status, want_text, name,
            **more):
    if mode:
        idp.mode(mode, times=1)
    t0 = time.time()
    st, doc = token_call(wat, prov, scopes, **more)
    took = time.time() - t0
    ok(st == want_status and want_text in doc.get("message", "") and
       "accessToken" not in doc, "%s: %s (%.1f s)" % (name, want_text,
                                                      took), doc)
    st, _ = td.call("get-token-vault", {})
    ok(st == 200, "... and the daemon keeps serving")
    return doc


def test_failures(idp, wat):
    doc = failure(idp, wat, "idp-wrong", ["read"], None, 400,
                  "answered invalid_client", "a wrong client secret")
    ok(SECRET not in json.dumps(doc) and "wrong-secret" not in
       json.dumps(doc), "... no secret in the message")
    # oidc-provider drops scopes a client may not have; a resource
    # indicator it does not know is its grant error (RFC 8707).
    failure(idp, wat, "idp-basic", ["read"], None, 400,
            "answered invalid_target", "an unknown resource indicator",
            resources=["https://unknown.example/"])
    failure(idp, wat, "idp-basic", ["read", "x1"], "500", 500,
            "server_error (HTTP 500)", "a 500 from the provider")
    failure(idp, wat, "idp-basic", ["read", "x2"], "503", 500,
            "(HTTP 503)", "a 503 from the provider")
    failure(idp, wat, "idp-basic", ["read", "x3"], "garbage", 500,
            "malformed", "malformed JSON")
    failure(idp, wat, "idp-basic", ["read", "x4"], "huge", 500,
            "too large", "a 10 MiB answer")

    # A provider that never answers: a timeout, and meanwhile other
    # calls (a cached token, the control plane) are served at once.
    idp.mode("hang", times=1)
    res = []
    th = threading.Thread(target=lambda: res.append(
        token_call(wat, "idp-basic", ["read", "x5"])))
    t0 = time.time()
    th.start()
    time.sleep(0.5)
    t1 = time.time()
    st1, doc1 = token_call(wat, "idp-basic", ["read"])
    st2, _ = td.call("get-token-vault", {})
    t2 = time.time()
    ok(st1 == 200 and doc1.get("accessToken") and st2 == 200 and
       t2 - t1 < 1.0 * SLOW and not res,
       "while a token request hangs, other calls are served (%.0f ms)" %
       ((t2 - t1) * 1000))
    th.join()
    st, doc = res[0] if res else (0, {})
    ok(st == 500 and "did not answer in time" in doc.get("message", "") and
       time.time() - t0 < 10 * SLOW,
       "the hanging request ends in a timeout", doc)


def test_erase(idp, wat):
    st, _ = token_call(wat, "idp-basic", ["read"])
    n = len(cc_requests(idp))
    st, _ = token_call(wat, "idp-basic", ["read"])
    ok(len(cc_requests(idp)) == n, "(cached before the delete)")
    td.call("DeleteOauth2CredentialProvider", {"name": "idp-basic"})
    st, doc = token_call(wat, "idp-basic", ["read"])
    ok(st == 404 and doc.get("__type") == "ResourceNotFoundException",
       "a deleted provider: ResourceNotFoundException", doc)
    td.call("CreateOauth2CredentialProvider",
            provider("idp-basic", idp, "basic"))
    st, _ = token_call(wat, "idp-basic", ["read"])
    ok(st == 200 and len(cc_requests(idp)) == n + 1,
       "deleting the provider erased its tokens (fetched anew)")
    # A new secret or configuration erases them too.
    td.call("UpdateOauth2CredentialProvider",
            provider("idp-basic", idp, "basic"))
    st, _ = token_call(wat, "idp-basic", ["read"])
    ok(st == 200 and len(cc_requests(idp)) == n + 2,
       "updating the provider's secret erased its tokens")
    td.call("DeleteWorkloadIdentity", {"name": "m2m-agent"})
    td.call("CreateWorkloadIdentity", {"name": "m2m-agent"})
    time.sleep(1.1)     # a token of the same second as the re-creation
    wat2 = mint("m2m-agent")
    st, _ = token_call(wat2, "idp-basic", ["read"])
    ok(st == 200 and len(cc_requests(idp)) == n + 3,
       "deleting the identity erased its tokens (fetched anew)")
    return wat2


def test_validation(wat):
    for body, what in (
            ({"scopes": ["a b"]}, "a scope with a space"),
            ({"scopes": "read"}, "scopes not a list"),
            ({"scopes": ["x"] * 101}, "101 scopes"),
            ({"oauth2Flow": "CODE"}, "an unknown flow"),
            ({"sessionUri": "urn:x"}, "sessionUri with M2M"),
            ({"forceAuthentication": True}, "forceAuthentication with M2M"),
            ({"resources": ["not a uri"]}, "a resource that is no URI"),
            ({"customParameters": {"a": 1}}, "a non-string parameter"),
            ({"nope": 1}, "an unknown field")):
        b = {"workloadIdentityToken": wat,
             "resourceCredentialProviderName": "idp-basic",
             "scopes": ["read"], "oauth2Flow": "M2M"}
        b.update(body)
        st, doc = td.call("oauth2/token", b, sock_name="agent.sock")
        ok(st == 400 and doc.get("__type") == "ValidationException",
           "refused: %s" % what, doc)
    st, doc = token_call(wat, "idp-basic", ["read"],
                         oauth2Flow="ON_BEHALF_OF_TOKEN_EXCHANGE")
    ok(st == 400 and "needs a workload access token from GetWorkloadAcces"
       "sTokenForJWT (this one is for no user)" in doc.get("message", ""),
       "ON_BEHALF_OF_TOKEN_EXCHANGE with a token for no user: refused",
       doc)
    st, doc = token_call(wat, "no-such", ["read"])
    ok(st == 404 and "no OAuth2 credential provider named no-such" in
       doc.get("message", ""), "an unknown provider", doc)
    td.call("CreateApiKeyCredentialProvider", {"name": "a-key",
                                               "apiKey": "k"})
    st, doc = token_call(wat, "a-key", ["read"])
    ok(st == 404, "an API-key provider is no OAuth2 provider", doc)
    st, doc = token_call("not-a-token", "idp-basic", ["read"])
    ok(st in (400, 403), "a bad workload token is refused", doc)


def main():
    conf, jwk = setup()
    stranger = harness.EcKey(os.path.join(td.WORK, "stranger.pem"),
                             kid=jwk.get("kid", "k")).jwk
    with harness.IdP(idp_config(3600, jwk, stranger)) as idp, \
            harness.IdP(idp_config(4)) as short:
        d = td.Daemon(conf)
        if not ok(d.wait_ready(), "the daemon starts", td.log_text()):
            d.stop()
            print("1..%d" % td.n)
            return 1
        tokens = []
        try:
            td.call("CreateWorkloadIdentity", {"name": "m2m-agent"})
            for name, i, client, secret in (
                    ("idp-basic", idp, "basic", SECRET),
                    ("idp-post", idp, "post", SECRET),
                    ("idp-wrong", idp, "basic", "wrong-secret"),
                    ("idp-short", short, "basic", SECRET)):
                st, doc = td.call("CreateOauth2CredentialProvider",
                                  provider(name, i, client, secret))
                ok(st == 200, "provider %s" % name, doc)
            wat = mint("m2m-agent")
            test_success(idp, wat, tokens)
            test_single_flight(idp, wat, tokens)
            test_secret_on_miss_only(idp, wat)
            test_discovery(idp, wat)
            test_private_key_jwt(idp, wat, jwk, tokens)
            test_expiry(short, wat, tokens)
            test_failures(idp, wat)
            test_validation(wat)
            wat = test_erase(idp, wat)
        finally:
            d.stop()
        with open(os.path.join(td.WORK, "audit.log")) as f:
            audit = f.read()
        calls = [json.loads(l) for l in audit.splitlines()
                 if '"type":"call"' in l]
        leaked = [t for t in tokens if t and t in audit]
        ok(tokens and not leaked and SECRET not in audit,
           "no access token or client secret in the audit trail (%d "
           "tokens checked)" % len(tokens), leaked[:1])
        ok(any(c["operation"] == "GetResourceOauth2Token" and
               c["outcome"] == "allowed" and
               c["resource"].endswith("/oauth2credentialprovider/idp-basic")
               for c in calls) and
           any(c["operation"] == "GetResourceOauth2Token" and
               c["outcome"] == "error" for c in calls),
           "GetResourceOauth2Token calls are audited (allowed, errors)")
        text = td.log_text()
        bad = [l for l in text.splitlines() if "Sanitizer" in l or
               "runtime error" in l]
        ok(not bad, "no sanitizer report from the daemon", bad[:5])
    print("1..%d" % td.n)
    return 1 if td.failed else 0


if __name__ == "__main__":
    sys.exit(main())
