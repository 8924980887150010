#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_obo.py - on-behalf-of token exchange (suite "obo"): the
providers' onBehalfOfTokenExchangeConfig (validated, stored, returned,
updated), and the real OpenID provider's (idp.mjs) token-exchange and
jwt-bearer grants with the downstream API that takes their tokens.

Prints TAP.  Environment as tests/integration/test_daemon.py's.
"""
import json
import os
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import test_daemon as td  # noqa: E402

ok = td.ok
SECRET = "obo-client-secret-for-the-tests"
SLOW = td.SLOW
APP = "urn:agentvault:test:appliance"     # the audience of users' JWTs
DOWN = "urn:agentvault:test:downstream"   # the downstream API's
CB = "http://127.0.0.1:1/cb"              # the app's redirect (never reached)
TE = "urn:ietf:params:oauth:grant-type:token-exchange"
JB = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TT = "urn:ietf:params:oauth:token-type:"


def idp_config(exchange_ttl=300, **more):
    """The users' identity provider: "app" signs users in (JWT access
    tokens for APP); the obo-* clients are the appliance's."""
    obo = {"grant_types": ["client_credentials", TE, JB],
           "redirect_uris": [], "response_types": [],
           "scope": "read write actor.read"}
    return dict({
        "clients": [
            {"client_id": "app", "client_secret": SECRET,
             "grant_types": ["authorization_code"], "redirect_uris": [CB],
             "response_types": ["code"], "scope": "openid read",
             "token_endpoint_auth_method": "client_secret_basic"},
            dict(obo, client_id="obo-basic", client_secret=SECRET,
                 token_endpoint_auth_method="client_secret_basic"),
            dict(obo, client_id="obo-post", client_secret=SECRET,
                 token_endpoint_auth_method="client_secret_post"),
            dict(obo, client_id="no-obo", client_secret=SECRET,
                 grant_types=["client_credentials"],
                 token_endpoint_auth_method="client_secret_basic"),
        ],
        "resources": {APP: {"scope": "read", "accessTokenFormat": "jwt",
                            "audience": APP,
                            "jwt": {"sign": {"alg": "ES256"}}}},
        "ttl": {"AccessToken": 600, "ClientCredentials": 600},
        "exchange_ttl": exchange_ttl,
    }, **more)


def user_jwt(idp, user="alice"):
    """A user signs in at the provider (headless Chromium) through the
    app, which gets a JWT access token for the appliance's audience."""
    verifier, challenge = harness.pkce_pair()
    q = urllib.parse.urlencode({
        "client_id": "app", "response_type": "code", "redirect_uri": CB,
        "scope": "openid read", "state": "s", "resource": APP,
        "code_challenge": challenge, "code_challenge_method": "S256"})
    final = harness.browser_login(idp.issuer + "/auth?" + q, user=user,
                                  stop_at_prefix=CB)
    code = dict(urllib.parse.parse_qsl(
        urllib.parse.urlsplit(final).query)).get("code")
    st, doc, raw = idp.token({"grant_type": "authorization_code",
                              "code": code, "redirect_uri": CB,
                              "code_verifier": verifier, "resource": APP},
                             basic=("app", SECRET))
    if st != 200:
        raise harness.HarnessError("code exchange: %d %s" % (st, raw[:200]))
    return doc["access_token"]


def custom(name, issuer, obo=None, client="obo-basic", secret=SECRET,
           method="CLIENT_SECRET_BASIC"):
    c = {"clientId": client, "clientSecret": secret,
         "clientAuthenticationMethod": method,
         "oauthDiscovery": {"authorizationServerMetadata": {
             "issuer": issuer, "authorizationEndpoint": issuer + "/auth",
             "tokenEndpoint": issuer + "/token"}}}
    if obo is not None:
        c["onBehalfOfTokenExchangeConfig"] = obo
    return {"name": name, "credentialProviderVendor": "CustomOauth2",
            "oauth2ProviderConfigInput": {"customOauth2ProviderConfig": c}}


def preset(name, vendor, key, obo, **more):
    c = dict({"clientId": "x", "clientSecret": "y",
              "onBehalfOfTokenExchangeConfig": obo}, **more)
    return {"name": name, "credentialProviderVendor": vendor,
            "oauth2ProviderConfigInput": {key: c}}


def te(actor=None, scopes=None):
    """A TOKEN_EXCHANGE configuration."""
    o = {"grantType": "TOKEN_EXCHANGE"}
    if actor is not None or scopes is not None:
        o["tokenExchangeGrantTypeConfig"] = {}
        if actor is not None:
            o["tokenExchangeGrantTypeConfig"]["actorTokenContent"] = actor
        if scopes is not None:
            o["tokenExchangeGrantTypeConfig"]["actorTokenScopes"] = scopes
    return o


def obo_out(doc, key="customOauth2ProviderConfig"):
    return doc.get("oauth2ProviderConfigOutput", {}).get(key, {}).get(
        "onBehalfOfTokenExchangeConfig")


def setup():
    import shutil
    import subprocess
    shutil.rmtree(td.WORK, ignore_errors=True)
    os.makedirs(td.WORK)
    os.chmod(td.TOKDIR, 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token"), 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token", "softhsm2.conf"), 0o644)
    subprocess.run(["chown", "-R", "nobody",
                    os.path.join(td.TOKDIR, "token", "tokens")])
    conf = os.path.join(td.WORK, "obo.yaml")
    td.write_config(conf, "outbound:\n  connect_timeout_ms: %d\n"
                    "  timeout_ms: %d\n  allow_http_loopback: true\n" %
                    (1000 * SLOW, 3000 * SLOW))
    return conf


def test_config(issuer):
    """onBehalfOfTokenExchangeConfig: each valid shape stored and shown,
    updated and removed by an update; every wrong one refused."""
    for name, obo in (
            ("obo-te-none", te()),
            ("obo-te-m2m", te("M2M", ["actor.read", "actor.write"])),
            ("obo-te-wi", te("WORKLOAD_IDENTITY_JWT")),
            ("obo-te-alias", te("AWS_IAM_ID_TOKEN_JWT", ["a"])),
            ("obo-te-explicit-none", te("NONE")),
            ("obo-jb", {"grantType": "JWT_AUTHORIZATION_GRANT"})):
        st, doc = td.call("CreateOauth2CredentialProvider",
                          custom(name, issuer, obo))
        ok(st == 200 and obo_out(doc) == obo,
           "%s: created, the configuration in the answer" % name, doc)
        st, doc = td.call("GetOauth2CredentialProvider", {"name": name})
        ok(st == 200 and obo_out(doc) == obo, "... and in Get's", doc)
    st, doc = td.call("UpdateOauth2CredentialProvider",
                      custom("obo-te-none", issuer, te("M2M", ["x"])))
    ok(st == 200 and obo_out(doc) == te("M2M", ["x"]),
       "an update changes it", doc)
    st, doc = td.call("UpdateOauth2CredentialProvider",
                      custom("obo-te-none", issuer))
    ok(st == 200 and obo_out(doc) is None, "an update without it removes it",
       doc)
    st, doc = td.call("UpdateOauth2CredentialProvider",
                      custom("obo-te-none", issuer, te()))
    ok(st == 200 and obo_out(doc) == te(), "... and one with it adds it")
    st, doc = td.call("CreateOauth2CredentialProvider", preset(
        "obo-ms", "MicrosoftOauth2", "microsoftOauth2ProviderConfig",
        {"grantType": "JWT_AUTHORIZATION_GRANT"}, tenantId="contoso"))
    ok(st == 200 and obo_out(doc, "microsoftOauth2ProviderConfig") ==
       {"grantType": "JWT_AUTHORIZATION_GRANT"},
       "MicrosoftOauth2 takes JWT_AUTHORIZATION_GRANT (Entra ID's OBO)",
       doc)
    for body, want, what in (
            (custom("b1", issuer, []), "must be an object", "not an object"),
            (custom("b2", issuer, {}), "grantType must be", "no grantType"),
            (custom("b3", issuer, {"grantType": "CLIENT_CREDENTIALS"}),
             "grantType must be", "an unknown grantType"),
            (custom("b4", issuer, dict(te(), extra=1)), "extra",
             "an unknown field"),
            (custom("b5", issuer, te("ROOT")), "actorTokenContent must be",
             "an unknown actorTokenContent"),
            (custom("b6", issuer, te("NONE", ["a"])), "needs an actor token",
             "actorTokenScopes without an actor"),
            (custom("b7", issuer, te("M2M", ["a b"])), "without spaces",
             "a scope with a space"),
            (custom("b8", issuer, te("M2M", [])), "actorTokenScopes must "
             "be a list of 1 to 100", "no actorTokenScopes"),
            (custom("b9", issuer, te("M2M", ["s"] * 101)), "1 to 100",
             "101 actorTokenScopes"),
            (custom("b10", issuer, {"grantType": "JWT_AUTHORIZATION_GRANT",
                                    "tokenExchangeGrantTypeConfig": {}}),
             "TOKEN_EXCHANGE only", "an actor with JWT_AUTHORIZATION_GRANT"),
            (custom("b11", issuer, dict(te(), tokenExchangeGrantTypeConfig={
                "actorTokenContent": "M2M", "x": 1})), "x",
             "an unknown field of tokenExchangeGrantTypeConfig"),
            (preset("b12", "MicrosoftOauth2", "microsoftOauth2ProviderConfig",
                    te()), "grantType must be JWT_AUTHORIZATION_GRANT",
             "MicrosoftOauth2 with TOKEN_EXCHANGE"),
            (preset("b13", "GithubOauth2", "githubOauth2ProviderConfig",
                    te()), "GithubOauth2 has no on-behalf-of",
             "a preset without on-behalf-of")):
        st, doc = td.call("CreateOauth2CredentialProvider", body)
        ok(st == 400 and doc.get("__type") == "ValidationException" and
           want in doc.get("message", ""), "refused: %s" % what, doc)
        st, _ = td.call("GetOauth2CredentialProvider", {"name": body["name"]})
        ok(st == 404, "... and not created")


def test_idp_grants(idp, jwt):
    """The provider's own grants, driven directly: what they check, what
    they record and issue, and the downstream API's verdict."""
    claims = harness.verify_jwt(jwt, idp.issuer, APP)
    ok(claims.get("sub") == "alice", "the user's JWT (for the appliance, "
       "signed by the provider) names alice", claims)
    idp.clear_exchanges()
    cc = idp.token({"grant_type": "client_credentials",
                    "scope": "actor.read"}, basic=("obo-basic", SECRET))[1]
    st, doc, raw = idp.token({
        "grant_type": TE, "subject_token": jwt,
        "subject_token_type": TT + "access_token",
        "actor_token": cc["access_token"],
        "actor_token_type": TT + "access_token",
        "requested_token_type": TT + "access_token", "scope": "read",
        "audience": DOWN}, basic=("obo-basic", SECRET))
    ok(st == 200 and doc.get("issued_token_type") == TT + "access_token" and
       doc.get("token_type") == "Bearer",
       "token exchange with an M2M actor: a downstream access token", raw)
    ex = idp.exchanges()
    ok(len(ex) == 1 and ex[0]["subject"]["sub"] == "alice" and
       ex[0]["actor"]["type"] == "access_token" and
       ex[0]["actor"]["client_id"] == "obo-basic" and
       ex[0]["auth_method"] == "client_secret_basic" and
       ex[0]["issued"]["act"] == {"sub": "obo-basic"},
       "... the provider checked and recorded subject, actor and client",
       ex)
    st, who = idp.call_downstream(doc.get("access_token", ""))
    ok(st == 200 and who.get("sub") == "alice" and
       who.get("act") == {"sub": "obo-basic"} and who.get("scope") == "read",
       "the downstream API takes it: alice, acted for by the client", who)
    st, who = idp.call_downstream(jwt)
    ok(st == 401, "the downstream API refuses the user's JWT (another "
       "audience)", who)
    st, doc, raw = idp.token({"grant_type": JB, "assertion": jwt,
                              "scope": "read",
                              "requested_token_use": "on_behalf_of"},
                             basic=("obo-basic", SECRET))
    ok(st == 200 and "issued_token_type" not in doc and
       idp.call_downstream(doc["access_token"])[0] == 200,
       "jwt-bearer: the assertion gives a downstream token", raw)
    ok(idp.exchanges()[-1]["requested_token_use"] == "on_behalf_of",
       "... requested_token_use recorded")
    for params, basic, want, what in (
            ({"subject_token": jwt + "x"}, ("obo-basic", SECRET),
             "invalid_grant", "a subject token with a bad signature"),
            ({"subject_token_type": TT + "saml2"}, ("obo-basic", SECRET),
             "invalid_request", "an unknown subject token type"),
            ({"actor_token": "nope", "actor_token_type": TT + "access_token"},
             ("obo-basic", SECRET), "invalid_grant", "an unknown actor token"),
            ({"actor_token": cc["access_token"]}, ("obo-basic", SECRET),
             "invalid_request", "an actor token without its type"),
            ({"actor_token": cc["access_token"],
              "actor_token_type": TT + "access_token"}, ("obo-post", SECRET),
             "invalid_grant", "another client's actor token"),
            ({"actor_token": jwt, "actor_token_type": TT + "jwt"},
             ("obo-basic", SECRET), "invalid_grant",
             "an actor JWT of an untrusted issuer"),
            ({}, ("obo-basic", "wrong"), "invalid_client", "a wrong secret"),
            # oidc-provider 8 says invalid_request, not RFC 6749's
            # unauthorized_client.
            ({}, ("no-obo", SECRET), "invalid_request",
             "a client without the grant")):
        body = {"grant_type": TE, "subject_token": jwt,
                "subject_token_type": TT + "access_token"}
        body.update(params)
        if basic[0] == "obo-post":
            body.update(client_id="obo-post", client_secret=SECRET)
            st, doc, raw = idp.token(body)
        else:
            st, doc, raw = idp.token(body, basic=basic)
        ok(st in (400, 401) and doc and doc.get("error") == want,
           "the provider refuses %s: %s" % (what, want), raw)
    idp.exchange_fail("invalid_grant", times=1)
    st1 = idp.token({"grant_type": JB, "assertion": jwt},
                    basic=("obo-basic", SECRET))
    st2 = idp.token({"grant_type": JB, "assertion": jwt},
                    basic=("obo-basic", SECRET))
    ok(st1[0] == 400 and st1[1].get("error") == "invalid_grant" and
       st2[0] == 200, "an injected refusal, once", (st1[2], st2[2]))
    reqs = [r for r in idp.requests() if r["grant_type"] in (TE, JB)]
    ok(len(reqs) >= 12 and all(
        r["params"].get(k, "<redacted").startswith("<redacted")
        for r in reqs for k in ("subject_token", "assertion",
                                "actor_token")),
       "the request log hashes subject tokens and assertions")


def main():
    conf = setup()
    try:
        idp = harness.IdP(idp_config()).start()
        jwt = user_jwt(idp)
    except harness.HarnessError as e:
        ok(False, "the identity provider and a user's sign-in", str(e))
        print("1..%d" % td.n)
        return 1
    test_idp_grants(idp, jwt)
    d = td.Daemon(conf)
    if not ok(d.wait_ready(), "the daemon starts", td.log_text()):
        d.stop()
        print("1..%d" % td.n)
        return 1
    try:
        test_config("http://127.0.0.1:9")
    finally:
        d.stop()
        idp.stop()
    text = td.log_text()
    bad = [l for l in text.splitlines() if "Sanitizer" in l or
           "runtime error" in l]
    ok(not bad, "no sanitizer report from the daemon", bad[:5])
    print("1..%d" % td.n)
    return 1 if td.failed else 0


if __name__ == "__main__":
    sys.exit(main())
