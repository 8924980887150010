#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_obo.py - on-behalf-of token exchange (suite "obo"): the
providers' onBehalfOfTokenExchangeConfig (validated, stored, returned,
updated); the real OpenID provider's (idp.mjs) token-exchange and
jwt-bearer grants with the downstream API that takes their tokens; and
the whole chain against real parts: a user signs in through headless
Chromium, the app gets the user's JWT, the agent a workload access token
for it (GetWorkloadAccessTokenForJWT), then GetResourceOauth2Token
ON_BEHALF_OF_TOKEN_EXCHANGE with each grant and actor, and the
downstream API accepts the token.  Caching, a refused exchange, an
expired JWT, a token for a user id; the agent never sees the user's JWT
nor the secret.  The Python client and the CLI do it too.

Prints TAP.  Environment as tests/integration/test_daemon.py's.
"""
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "client", "python"))
import harness  # noqa: E402
import test_daemon as td  # noqa: E402
import agentvault  # noqa: E402

ok = td.ok
SECRET = "obo-client-secret-for-the-tests"
SLOW = td.SLOW
APP = "urn:agentvault:test:appliance"     # the audience of users' JWTs
APP_SHORT = "urn:agentvault:test:appliance-short"   # ... living 15 s
DOWN = "urn:agentvault:test:downstream"   # the downstream API's
CB = "http://127.0.0.1:1/cb"              # the app's redirect (never reached)
TE = "urn:ietf:params:oauth:grant-type:token-exchange"
JB = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TT = "urn:ietf:params:oauth:token-type:"


# test_m2m's key: the token then holds one OAuth client key whichever of
# the two suites runs first (test_m2m counts the keys the worker loads).
KEY_LABEL = "agentvault-oauth-client-m2m"


def client_key():
    """The JWK of the OAuth client key KEY_LABEL, made by the ceremony in
    the test token (private_key_jwt)."""
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


def idp_config(exchange_ttl=300, jwk=None, **more):
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
            dict(obo, client_id="obo-pkj", jwks={"keys": [jwk] if jwk
                                                 else []},
                 token_endpoint_auth_method="private_key_jwt"),
            dict(obo, client_id="no-obo", client_secret=SECRET,
                 grant_types=["client_credentials"],
                 token_endpoint_auth_method="client_secret_basic"),
        ],
        "resources": {
            APP: {"scope": "read", "accessTokenFormat": "jwt",
                  "audience": APP, "accessTokenTTL": 1800,
                  "jwt": {"sign": {"alg": "ES256"}}},
            APP_SHORT: {"scope": "read", "accessTokenFormat": "jwt",
                        "audience": APP_SHORT, "accessTokenTTL": 15,
                        "jwt": {"sign": {"alg": "ES256"}}}},
        # AccessToken's TTL is the resource's accessTokenTTL.
        "ttl": {"ClientCredentials": 600},
        "exchange_ttl": exchange_ttl,
    }, **more)


def user_jwt(idp, user="alice", resource=APP, id_token=False):
    """A user signs in at the provider (headless Chromium) through the
    app, which gets a JWT access token for the appliance's audience (or,
    id_token=True, the ID token: for the app)."""
    verifier, challenge = harness.pkce_pair()
    q = urllib.parse.urlencode({
        "client_id": "app", "response_type": "code", "redirect_uri": CB,
        "scope": "openid read", "state": "s", "resource": resource,
        "code_challenge": challenge, "code_challenge_method": "S256"})
    final = harness.browser_login(idp.issuer + "/auth?" + q, user=user,
                                  stop_at_prefix=CB)
    code = dict(urllib.parse.parse_qsl(
        urllib.parse.urlsplit(final).query)).get("code")
    st, doc, raw = idp.token({"grant_type": "authorization_code",
                              "code": code, "redirect_uri": CB,
                              "code_verifier": verifier,
                              "resource": resource},
                             basic=("app", SECRET))
    if st != 200:
        raise harness.HarnessError("code exchange: %d %s" % (st, raw[:200]))
    return doc["id_token" if id_token else "access_token"]


def custom(name, issuer, obo=None, client="obo-basic", secret=SECRET,
           method="CLIENT_SECRET_BASIC"):
    c = {"clientId": client, "clientAuthenticationMethod": method,
         "oauthDiscovery": {"authorizationServerMetadata": {
             "issuer": issuer, "authorizationEndpoint": issuer + "/auth",
             "tokenEndpoint": issuer + "/token"}}}
    if method == "PRIVATE_KEY_JWT":
        c["privateKeyJwtConfig"] = {"privateKeySource": {
            "hsmKeySource": {"keyLabel": KEY_LABEL}}}
    else:
        c["clientSecret"] = secret
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


APPLIANCE = "https://agentvault.test"    # agent_tokens.issuer
TENANT = "contoso.onmicrosoft.com"
MS_CLIENT = "11111111-2222-3333-4444-555555555555"


def vendors_config():
    """The Microsoft emulator (vendors.mjs): the appliance's Entra app,
    which takes users' tokens for the appliance's audience."""
    return {"clients": [{"vendor": "microsoft", "client_id": MS_CLIENT,
                         "client_secret": SECRET, "redirect_uris": [],
                         "assertion_audience": APP}],
            "tenants": [TENANT]}


def setup(issuer, ca_file):
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
                    "  timeout_ms: %d\n  allow_http_loopback: true\n"
                    "  ca_bundle: %s\n"
                    "agent_tokens:\n  issuer: %s\n"
                    "authorizer:\n  discovery_url: %s/.well-known/"
                    "openid-configuration\n  allowed_audiences: [%s, %s, app]\n" %
                    (1000 * SLOW, 3000 * SLOW, ca_file, APPLIANCE, issuer,
                     APP, APP_SHORT))
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
    for name in ("obo-te-none", "obo-te-m2m", "obo-te-wi", "obo-te-alias",
                 "obo-te-explicit-none", "obo-jb", "obo-ms"):
        td.call("DeleteOauth2CredentialProvider", {"name": name})


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


def token_call(wat, prov, scopes, **more):
    body = dict({"workloadIdentityToken": wat,
                 "resourceCredentialProviderName": prov, "scopes": scopes,
                 "oauth2Flow": "ON_BEHALF_OF_TOKEN_EXCHANGE"}, **more)
    return td.call("oauth2/token", body, sock_name="agent.sock")


def wat_for_jwt(name, jwt):
    st, doc = td.call("GetWorkloadAccessTokenForJWT",
                      {"workloadName": name, "userToken": jwt},
                      sock_name="agent.sock")
    ok(st == 200 and doc.get("workloadAccessToken"),
       "GetWorkloadAccessTokenForJWT: a workload access token for the "
       "user's JWT", doc)
    return doc.get("workloadAccessToken", "")


def chain_providers(issuer):
    for name, obo, client, method in (
            ("c-te-none", te(), "obo-basic", "CLIENT_SECRET_BASIC"),
            ("c-te-m2m", te("M2M", ["actor.read"]), "obo-post",
             "CLIENT_SECRET_POST"),
            ("c-te-wi", te("WORKLOAD_IDENTITY_JWT", ["agent.act"]),
             "obo-basic", "CLIENT_SECRET_BASIC"),
            ("c-jb", {"grantType": "JWT_AUTHORIZATION_GRANT"}, "obo-basic",
             "CLIENT_SECRET_BASIC"),
            ("c-pkj", te(), "obo-pkj", "PRIVATE_KEY_JWT"),
            ("c-plain", None, "obo-basic", "CLIENT_SECRET_BASIC")):
        st, doc = td.call("CreateOauth2CredentialProvider", custom(
            name, issuer, obo, client=client, method=method))
        ok(st == 200, "provider %s" % name, doc)


def trust_appliance(idp):
    """The provider trusts the appliance's workload JWTs: its issuer and
    the JWKS it publishes."""
    st, jwks, _ = td.request("GET", "/.well-known/jwks.json",
                             sock_name="agent.sock")
    ok(st == 200 and jwks.get("keys"), "the appliance's JWKS", jwks)
    idp.trust_actor_issuer(APPLIANCE, jwks)
    st, doc = td.call("GetWorkloadIdentity", {"name": "obo-agent"})
    return doc.get("workloadIdentityArn", "")


def test_chain(idp, wat, tokens, arn):
    """Each grant and actor: the exchange the provider saw, the token the
    downstream API accepts, the cache."""
    for prov, grant, actor, auth, act in (
            ("c-te-wi", TE, "jwt", "client_secret_basic", {"sub": arn}),
            ("c-te-none", TE, None, "client_secret_basic", None),
            ("c-te-m2m", TE, "access_token", "client_secret_post",
             {"sub": "obo-post"}),
            ("c-jb", JB, None, "client_secret_basic", None),
            ("c-pkj", TE, None, "private_key_jwt", None)):
        idp.clear_exchanges()
        st, doc = token_call(wat, prov, ["read"], audiences=[DOWN])
        tok = doc.get("accessToken", "")
        tokens.append(tok)
        ok(st == 200 and tok and set(doc) == {"accessToken"},
           "%s: ON_BEHALF_OF_TOKEN_EXCHANGE answers a token (only)" % prov,
           doc)
        ex = idp.exchanges()
        e = ex[-1] if ex else {}
        ok(len(ex) == 1 and e["grant_type"] == grant and
           e["subject"]["sub"] == "alice" and e["error"] is None and
           e["auth_method"] == auth and e["scope"] == "read" and
           e["audience"] == DOWN and
           (e["actor"] or {}).get("type") == actor,
           "%s: the provider got the user's JWT as %s, actor %s, client "
           "authenticated (%s)" % (prov, "subject" if grant == TE else
                                   "assertion", actor, auth), ex)
        if actor == "jwt":
            a = e.get("actor") or {}
            ok(a.get("iss") == APPLIANCE and a.get("sub") == arn and
               a.get("aud") == idp.issuer + "/token" and
               a.get("scope") == "agent.act" and a.get("alg") == "ES256",
               "%s: the actor JWT: signed by the appliance (its JWKS), sub "
               "the workload's ARN, aud the token endpoint, scope "
               "actorTokenScopes" % prov, a)
        if grant == TE:
            ok(e["subject_token_type"] == TT + "access_token" and
               e["requested_token_type"] == TT + "access_token",
               "%s: token types: access_token (the JWT is RFC 9068's)" %
               prov, e)
        else:
            ok(e["subject_token_type"] is None and
               e["requested_token_use"] is None,
               "%s: jwt-bearer, no requested_token_use (not Microsoft)" %
               prov, e)
        st, who = idp.call_downstream(tok)
        ok(st == 200 and who.get("sub") == "alice" and
           who.get("act") == act,
           "%s: the downstream API accepts it: alice, act %s" % (prov, act),
           who)
        st, doc2 = token_call(wat, prov, ["read"], audiences=[DOWN])
        ok(st == 200 and doc2.get("accessToken") == tok and
           len(idp.exchanges()) == 1,
           "%s: asked again, the cached token (no new exchange)" % prov)
    m2m = [r for r in idp.requests() if r["grant_type"] ==
           "client_credentials" and r["client_id"] == "obo-post"]
    ok(len(m2m) == 1 and m2m[0]["params"].get("scope") == "actor.read",
       "the M2M actor token: one client-credentials grant for "
       "actorTokenScopes", m2m)
    idp.clear_exchanges()
    st, doc = token_call(wat, "c-te-m2m", ["write"], audiences=[DOWN])
    m2m2 = [r for r in idp.requests() if r["grant_type"] ==
            "client_credentials" and r["client_id"] == "obo-post"]
    ok(st == 200 and len(idp.exchanges()) == 1 and len(m2m2) == 1,
       "other scopes: a new exchange, the actor token from the cache", doc)
    tokens.append(doc.get("accessToken", ""))


def test_microsoft(v, wat, tokens):
    """MicrosoftOauth2: Entra ID's on-behalf-of through the emulator, the
    JWT bearer grant with requested_token_use=on_behalf_of."""
    body = harness.vendor_provider("ms-obo", "microsoft", MS_CLIENT, SECRET,
                                   tenant=TENANT)
    body["oauth2ProviderConfigInput"]["microsoftOauth2ProviderConfig"][
        "onBehalfOfTokenExchangeConfig"] = {
            "grantType": "JWT_AUTHORIZATION_GRANT"}
    st, doc = td.call("CreateOauth2CredentialProvider", body)
    ok(st == 200, "MicrosoftOauth2 provider with on-behalf-of", doc)
    v.clear_requests()
    graph = "https://graph.microsoft.com/User.Read"
    st, doc = token_call(wat, "ms-obo", [graph])
    tokens.append(doc.get("accessToken", ""))
    reqs = v.requests("microsoft", "token")
    r = reqs[-1] if reqs else {}
    ok(st == 200 and doc.get("accessToken", "").startswith("eyJ0eXAi") and
       len(reqs) == 1 and r.get("grant_type") == JB and
       r.get("obo", {}).get("requested_token_use") == "on_behalf_of" and
       r.get("obo", {}).get("assertion_sub") == "alice" and
       r.get("auth_method") == "client_secret_post" and
       r["params"].get("scope") == graph,
       "MicrosoftOauth2: jwt-bearer with requested_token_use=on_behalf_of, "
       "the user's JWT as assertion, client_secret_post: Entra's token",
       (st, doc, reqs))
    got = v.introspect(doc.get("accessToken", ""))
    ok(got.get("user") == "alice" and got.get("client_id") == MS_CLIENT,
       "... a token for alice, of the appliance's app", got)


def test_id_token(idp, id_token, tokens):
    """An ID token (aud: the app) as the user's JWT: sent as a JWT."""
    wat = wat_for_jwt("obo-agent", id_token)
    idp.clear_exchanges()
    st, doc = token_call(wat, "c-te-none", ["openid"], audiences=[DOWN])
    tokens.append(doc.get("accessToken", ""))
    ex = idp.exchanges()
    ok(st == 200 and len(ex) == 1 and
       ex[0]["subject_token_type"] == TT + "jwt" and
       ex[0]["subject"]["sub"] == "alice" and
       idp.call_downstream(doc.get("accessToken", ""))[0] == 200,
       "an ID token kept: subject_token_type jwt, a downstream token", ex)


def test_refusals(idp, wat, jwt_short):
    idp.exchange_fail("invalid_grant", times=1)
    st, doc = token_call(wat, "c-jb", ["write"])
    msg = doc.get("message", "")
    ok(st == 400 and doc.get("__type") == "ValidationException" and
       "on-behalf-of token exchange at c-jb failed" in msg and
       "invalid_grant" in msg and "refused by the test" not in msg,
       "a refused exchange: ValidationException naming the provider and "
       "its error code (not its description)", doc)
    st, doc = token_call(wat, "c-plain", ["read"])
    ok(st == 400 and "has no onBehalfOfTokenExchangeConfig" in
       doc.get("message", ""), "a provider without on-behalf-of", doc)
    st, doc = token_call(wat, "c-jb", ["read"], sessionUri="urn:x")
    ok(st == 400 and "sessionUri is not used with oauth2Flow ON_BEHALF_OF"
       in doc.get("message", ""), "sessionUri is 3LO's", doc)
    st, doc = td.call("GetWorkloadAccessTokenForUserId",
                      {"workloadName": "obo-agent", "userId": "alice"},
                      sock_name="agent.sock")
    st, doc = token_call(doc.get("workloadAccessToken", ""), "c-jb", ["read"])
    ok(st == 400 and "needs a workload access token from GetWorkloadAccess"
       "TokenForJWT (this one is for a user id)" in doc.get("message", ""),
       "a token for a user id is refused: no JWT to exchange", doc)
    st, doc = td.call("GetWorkloadAccessToken", {"workloadName": "obo-agent"},
                      sock_name="agent.sock")
    st, doc = token_call(doc.get("workloadAccessToken", ""), "c-jb", ["read"])
    ok(st == 400 and "(this one is for no user)" in doc.get("message", ""),
       "... and a token for no user", doc)
    # A JWT living 15 s for the same user: kept in place of the first one
    # (one JWT per workload and user), exchanged while valid, cached no
    # longer than it.
    wat_s = wat_for_jwt("obo-agent", jwt_short)
    idp.clear_exchanges()
    st, doc = token_call(wat_s, "c-te-none", ["read"])
    ok(st == 200 and len(idp.exchanges()) == 1,
       "a JWT living 15 s: exchanged", doc)
    exp = harness.verify_jwt(jwt_short, idp.issuer, APP_SHORT)["exp"]
    con = sqlite3.connect(os.path.join(td.WORK, "state", "agentvault.db"),
                          timeout=10)
    rows = dict(con.execute(
        "SELECT scope_key, expires_at FROM oauth_tokens WHERE provider = "
        "'c-te-none' AND user LIKE 'jwt:%'").fetchall())
    con.close()
    ok(rows and all(k.startswith("obo:") for k in rows) and
       rows.get("obo:read") == exp,
       "exchanged tokens are kept under obo: keys; the one from the short "
       "JWT until the JWT's exp, not its own 300 s", (rows, exp))
    time.sleep(max(0, exp - time.time()) + 1)
    st, doc = token_call(wat_s, "c-te-none", ["read"])
    ok(st == 403 and doc.get("__type") == "AccessDeniedException" and
       len(idp.exchanges()) == 1,
       "once the JWT expired: AccessDeniedException (the workload access "
       "token ends with it), no exchange", doc)
    st, doc = token_call(wat, "c-te-none", ["read", "openid"])
    ok(st == 403 and doc.get("__type") == "AccessDeniedException" and
       "the user's JWT has expired" in doc.get("message", "") and
       len(idp.exchanges()) == 1,
       "the older workload access token, whose kept JWT was replaced by "
       "the expired one: AccessDeniedException 'the user's JWT has "
       "expired', no exchange", doc)


def test_clients(idp, wat, tokens):
    """The Python client and the CLI do on-behalf-of."""
    run = os.path.join(td.WORK, "run")
    client = agentvault.IdentityClient(
        socket=os.path.join(run, "agent.sock"),
        admin_socket=os.path.join(run, "admin.sock"),
        ca=os.path.join(td.TOKDIR, "ca.pem"), timeout=30)
    idp.clear_exchanges()
    try:
        doc = client.get_resource_oauth2_token(
            provider_name="c-te-none", agent_identity_token=wat,
            scopes=["read", "write"], auth_flow="ON_BEHALF_OF_TOKEN_EXCHANGE",
            audiences=[DOWN])
    except agentvault.AgentVaultError as e:
        doc = {"error": str(e)}
    tok = doc.get("accessToken", "")
    tokens.append(tok)
    ok(tok and idp.call_downstream(tok)[0] == 200 and
       len(idp.exchanges()) == 1,
       "Python: get_resource_oauth2_token(auth_flow=ON_BEHALF_OF_TOKEN_"
       "EXCHANGE): a downstream token", doc)
    f = os.path.join(td.WORK, "wat")
    with open(f, "w") as fh:
        fh.write(wat)
    env = dict(os.environ, AGENTVAULT_RUN_DIR=run,
               AGENTVAULT_CA=os.path.join(td.TOKDIR, "ca.pem"))
    env.pop("AGENTVAULT_SOCKET", None)
    r = subprocess.run([os.path.join(td.TOP, td.BUILD, "agentvault"),
                        "token", "oauth2", "--provider", "c-jb", "--flow",
                        "ON_BEHALF_OF_TOKEN_EXCHANGE", "--scopes",
                        "read,write", "--token-file", f, "--audience", DOWN],
                       env=env, capture_output=True, text=True, timeout=60)
    tok = r.stdout.strip()
    tokens.append(tok)
    ok(r.returncode == 0 and tok and r.stderr == "" and
       idp.call_downstream(tok)[1].get("sub") == "alice",
       "CLI: token oauth2 --flow ON_BEHALF_OF_TOKEN_EXCHANGE --token-file: "
       "a downstream token for alice", (r.returncode, r.stderr))


def test_never_seen(jwt, tokens):
    """Neither the user's JWT nor the client secret nor a token reaches
    the audit trail or the log."""
    with open(os.path.join(td.WORK, "audit.log")) as f:
        audit = f.read()
    text = td.log_text()
    leaked = [t for t in [jwt, SECRET] + tokens if t and (t in audit or
                                                         t in text)]
    ok(tokens and not leaked, "no user JWT, client secret or exchanged "
       "token in the audit trail or the log (%d tokens)" % len(tokens),
       [x[:20] for x in leaked])
    calls = [json.loads(l) for l in audit.splitlines()
             if '"type":"call"' in l]
    ok(any(c["operation"] == "GetResourceOauth2Token" and
           c["outcome"] == "allowed" and
           c["resource"].endswith("/oauth2credentialprovider/c-jb")
           for c in calls), "the exchanges are audited")


def main():
    try:
        idp = harness.IdP(idp_config(jwk=client_key())).start()
        jwt = user_jwt(idp)
        jwt_short = None
    except harness.HarnessError as e:
        ok(False, "the identity provider and a user's sign-in", str(e))
        print("1..%d" % td.n)
        return 1
    test_idp_grants(idp, jwt)
    vdir = os.path.join(td.TOKDIR, "obo-vendors")
    import shutil
    shutil.rmtree(vdir, ignore_errors=True)
    os.makedirs(vdir)
    v = harness.Vendors(vendors_config(), workdir=vdir).start()
    conf = setup(idp.issuer, v.ca_file)
    d = td.Daemon(conf, env=v.daemon_env())
    if not ok(d.wait_ready(), "the daemon starts", td.log_text()):
        d.stop()
        print("1..%d" % td.n)
        return 1
    tokens = []
    try:
        test_config("http://127.0.0.1:9")
        td.call("CreateWorkloadIdentity", {"name": "obo-agent"})
        chain_providers(idp.issuer)
        wat = wat_for_jwt("obo-agent", jwt)
        test_chain(idp, wat, tokens, trust_appliance(idp))
        test_clients(idp, wat, tokens)
        test_microsoft(v, wat, tokens)
        test_id_token(idp, user_jwt(idp, id_token=True), tokens)
        jwt_short = user_jwt(idp, resource=APP_SHORT)
        test_refusals(idp, wat, jwt_short)
        test_never_seen(jwt, tokens)
    finally:
        d.stop()
        idp.stop()
        v.stop()
    text = td.log_text()
    bad = [l for l in text.splitlines() if "Sanitizer" in l or
           "runtime error" in l]
    ok(not bad, "no sanitizer report from the daemon", bad[:5])
    print("1..%d" % td.n)
    return 1 if td.failed else 0


if __name__ == "__main__":
    sys.exit(main())
