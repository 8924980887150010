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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import test_daemon as td  # noqa: E402

ok = td.ok
SECRET = "obo-client-secret-for-the-tests"
SLOW = td.SLOW


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


def main():
    conf = setup()
    d = td.Daemon(conf)
    if not ok(d.wait_ready(), "the daemon starts", td.log_text()):
        d.stop()
        print("1..%d" % td.n)
        return 1
    try:
        test_config("http://127.0.0.1:9")
    finally:
        d.stop()
    text = td.log_text()
    bad = [l for l in text.splitlines() if "Sanitizer" in l or
           "runtime error" in l]
    ok(not bad, "no sanitizer report from the daemon", bad[:5])
    print("1..%d" % td.n)
    return 1 if td.failed else 0


if __name__ == "__main__":
    sys.exit(main())
