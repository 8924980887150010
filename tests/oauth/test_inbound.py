#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_inbound.py - the inbound JWT authorizer (suite "inbound"), the
real sandboxed daemon against the real OpenID provider (idp.mjs: JWT
access tokens for resource indicators, RS256 and ES256) and small
loopback issuers of our own (a discovery document and a JWKS whose keys
the test holds, rotates and takes down; they count every fetch):
GetWorkloadAccessTokenForJWT, each policy refusal, the JWKS cache
(single flight, unknown kid, rate limit, the identity provider down,
stale keys), the kept JWT sealed and erased, jwt: user ids reserved,
CheckJwt, the audit records.

Prints TAP.  Environment as tests/integration/test_daemon.py's.
"""
import base64
import glob
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import test_daemon as td  # noqa: E402
from jwtissuer import SUFFIX, Issuer, Key, b64u, user_key  # noqa: E402

ok = td.ok
SECRET = "inbound-client-secret-for-the-tests"
TTL, REFRESH_MIN, MAX_STALE = 4, 2, 12      # authorizer.jwks_*


def authorizer(discovery, **more):
    c = {"discoveryUrl": discovery}
    c.update(more)
    return {"customJWTAuthorizer": c}


def for_jwt(name, token):
    return td.call("GetWorkloadAccessTokenForJWT",
                   {"workloadName": name, "userToken": token},
                   sock_name="agent.sock")


def identity(name, authz):
    body = {"name": name}
    if authz is not None:
        body["authorizerConfiguration"] = authz
    return td.call("CreateWorkloadIdentity", body)


def database():
    return glob.glob(os.path.join(td.WORK, "state", "*.db"))[0]


def db_rows(sql, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % database(), uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def setup(default_discovery):
    shutil_rm(td.WORK)
    os.makedirs(td.WORK)
    os.chmod(td.TOKDIR, 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token"), 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token", "softhsm2.conf"), 0o644)
    subprocess.run(["chown", "-R", "nobody",
                    os.path.join(td.TOKDIR, "token", "tokens")])
    conf = os.path.join(td.WORK, "inbound.yaml")
    td.write_config(conf, "outbound:\n  connect_timeout_ms: %d\n"
                    "  timeout_ms: %d\n  allow_http_loopback: true\n"
                    "authorizer:\n  discovery_url: %s\n"
                    "  allowed_audiences: [agents]\n"
                    "  jwks_ttl_seconds: %d\n"
                    "  jwks_refresh_min_seconds: %d\n"
                    "  jwks_max_stale_seconds: %d\n" %
                    (1000 * td.SLOW, 3000 * td.SLOW, default_discovery,
                     TTL, REFRESH_MIN, MAX_STALE))
    with open(conf) as f:
        text = f.read().replace("max_connections: 16", "max_connections: 64")
    with open(conf, "w") as f:
        f.write(text)
    return conf


def shutil_rm(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def idp_config():
    common = {"grant_types": ["client_credentials"], "redirect_uris": [],
              "response_types": [], "token_endpoint_auth_method":
              "client_secret_basic"}
    return {
        "clients": [dict(common, client_id="web-app", client_secret=SECRET,
                         scope="agents:invoke agents:admin"),
                    dict(common, client_id="other-app",
                         client_secret=SECRET, scope="agents:invoke")],
        "resources": {
            "https://agents.rs256": {"scope": "agents:invoke agents:admin",
                                     "audience": "agents-rs",
                                     "accessTokenFormat": "jwt",
                                     "jwt": {"sign": {"alg": "RS256"}}},
            "https://agents.es256": {"scope": "agents:invoke agents:admin",
                                     "audience": "agents-es",
                                     "accessTokenFormat": "jwt",
                                     "jwt": {"sign": {"alg": "ES256"}}},
        },
    }


def idp_jwt(idp, resource, client="web-app", scope="agents:invoke"):
    """A JWT access token from oidc-provider (client credentials with a
    resource indicator)."""
    st, doc, raw = idp.token({"grant_type": "client_credentials",
                              "resource": resource, "scope": scope},
                             basic=(client, SECRET))
    if st != 200 or not doc or doc.get("access_token", "").count(".") != 2:
        raise harness.HarnessError("no JWT access token: %d %r" %
                                   (st, raw[:300]))
    return doc["access_token"]


def jwt_claims(token):
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def test_idp(idp, kept):
    """Real identity provider: RS256 and ES256 JWT access tokens."""
    disc = idp.issuer + SUFFIX
    for alg, res, aud in (("RS256", "https://agents.rs256", "agents-rs"),
                          ("ES256", "https://agents.es256", "agents-es")):
        name = "idp-" + alg.lower()
        st, doc = identity(name, authorizer(
            disc, allowedAudience=[aud], allowedClients=["web-app"],
            allowedScopes=["agents:invoke"]))
        ok(st == 200 and doc.get("authorizerConfiguration", {}).get(
            "customJWTAuthorizer", {}).get("discoveryUrl") == disc,
           "%s: an identity with an authorizer for the OpenID provider" %
           alg, doc)
        tok = idp_jwt(idp, res)
        kept.append(tok)
        st, doc = for_jwt(name, tok)
        wat = doc.get("workloadAccessToken", "")
        ok(st == 200 and wat.startswith("avwat1."),
           "%s: GetWorkloadAccessTokenForJWT with oidc-provider's JWT "
           "access token" % alg, doc)
        c = jwt_claims(tok)
        rows = db_rows("SELECT user, issuer, expires_at FROM user_jwts "
                       "WHERE workload = ?", (name,))
        ok(rows == [(user_key(c["iss"], c["sub"]), idp.issuer, c["exp"])],
           "%s: the JWT is kept for (workload, jwt:base64url(SHA-256(iss "
           "0 sub))) until its exp" % alg, (rows, c))
        st, doc = td.call("CheckJwt", {"token": tok,
                                       "authorizerConfiguration":
                                       authorizer(disc)})
        ok(st == 200 and doc.get("valid") is True and
           doc.get("algorithm") == alg and doc.get("subject") == c["sub"]
           and doc.get("issuer") == idp.issuer,
           "%s: CheckJwt says valid, with the claims" % alg, doc)
        st, doc = for_jwt(name, idp_jwt(idp, res, client="other-app"))
        ok(st == 403 and "client" in doc.get("message", ""),
           "%s: a token of another client is refused" % alg, doc)
        st, doc = for_jwt(name, idp_jwt(
            idp, "https://agents.rs256" if alg == "ES256" else
            "https://agents.es256"))
        ok(st == 403 and "aud" in doc.get("message", ""),
           "%s: a token for another audience is refused" % alg, doc)
        st, doc = for_jwt(name, idp_jwt(idp, res, scope="agents:admin"))
        ok(st == 403 and "scope" in doc.get("message", ""),
           "%s: a token without an allowed scope is refused" % alg, doc)
    return tok


def test_policy(iss, kept):
    """Every refusal of the policy, with our own issuer."""
    k = Key("k1")
    iss.keys = [k]
    st, doc = identity("pol", authorizer(
        iss.discovery, allowedAudience=["agents"],
        allowedClients=["web-app"], allowedScopes=["agents:invoke"],
        customClaims=[{
            "inboundTokenClaimName": "tenant",
            "inboundTokenClaimValueType": "STRING",
            "authorizingClaimMatchValue": {
                "claimMatchOperator": "EQUALS",
                "claimMatchValue": {"matchValueString": "acme"}}}]))
    ok(st == 200, "an identity with every kind of rule", doc)
    good = iss.token(tenant="acme")
    kept.append(good)
    st, doc = for_jwt("pol", good)
    ok(st == 200 and doc.get("workloadAccessToken"),
       "a token that meets every rule gets a workload access token", doc)
    now = int(time.time())
    for claims, want, what in (
            ({"iss": iss.issuer + "/other"}, "iss", "another issuer"),
            ({"aud": "someone-else"}, "aud", "another audience"),
            ({"client_id": "evil-app"}, "client", "another client"),
            ({"scope": "openid"}, "scope", "no allowed scope"),
            ({"tenant": "globex"}, "tenant", "a custom claim that differs"),
            ({"tenant": None}, "tenant", "a custom claim missing"),
            ({"exp": now - 3600, "iat": now - 7200}, "expired",
             "an expired token"),
            ({"nbf": now + 3600}, "", "a token not yet valid"),
            ({"sub": None}, "sub", "no sub")):
        c = {"tenant": "acme"}
        c.update(claims)
        st, doc = for_jwt("pol", iss.token(**c))
        ok(st == 403 and doc.get("__type") == "AccessDeniedException" and
           want in doc.get("message", ""),
           "refused: %s (%s)" % (what, doc.get("message")), doc)
    st, doc = for_jwt("pol", "not-a-jwt")
    ok(st == 400 and doc.get("__type") == "ValidationException",
       "a malformed token is ValidationException", doc)
    st, doc = for_jwt("pol", Key("k1", "RS256").sign({"iss": iss.issuer,
                                                      "sub": "x"}))
    ok(st == 403, "a token signed by another key of the same kid is "
       "refused", doc)
    hs = (b64u(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." +
          b64u(json.dumps({"iss": iss.issuer, "sub": "alice",
                           "exp": now + 60}).encode()) + ".")
    st, doc = for_jwt("pol", hs)
    ok(st in (400, 403) and "none" in doc.get("message", ""),
       "alg none is refused", doc)
    st, doc = for_jwt("nobody-here", good)
    ok(st == 404, "an unknown workload identity", doc)
    identity("no-authz", None)


def test_no_authorizer_default(iss):
    """An identity without its own authorizer uses the directory's."""
    st, doc = for_jwt("no-authz", iss.token(aud="agents"))
    ok(st == 200, "an identity without an authorizer uses the directory's "
       "default (authorizer: in the configuration)", doc)
    st, doc = for_jwt("no-authz", iss.token(aud="not-agents"))
    ok(st == 403 and "aud" in doc.get("message", ""),
       "... with its allowed audiences", doc)


def test_cache(kept):
    """Single flight, unknown kid, rotation, rate limit, IdP down."""
    iss = Issuer()
    k1, k2 = Key("r1", "RS256"), Key("r2")
    iss.keys = [k1]
    identity("cache", authorizer(iss.discovery))
    good = iss.token()
    kept.append(good)
    res = []

    def one():
        res.append(for_jwt("cache", good)[0])
    threads = [threading.Thread(target=one) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok(res == [200] * 12 and iss.count(SUFFIX) == 1 and
       iss.count("/jwks") == 1,
       "12 concurrent calls on a cold cache: one discovery fetch, one "
       "JWKS fetch (%d, %d)" % (iss.count(SUFFIX), iss.count("/jwks")),
       res)
    st, _ = for_jwt("cache", good)
    ok(st == 200 and iss.count("/jwks") == 1, "a second call uses the "
       "cached keys")
    time.sleep(REFRESH_MIN + 0.3)
    st, doc = for_jwt("cache", iss.token(key=k2))
    ok(st == 403 and "kid" in doc.get("message", "") and
       iss.count("/jwks") == 2,
       "an unknown kid: one JWKS refresh, then refused", doc)
    st, doc = for_jwt("cache", iss.token(key=k2))
    ok(st == 403 and iss.count("/jwks") == 2,
       "the same again at once: refused without a refresh (rate limit)",
       doc)
    iss.keys = [k1, k2]
    st, doc = for_jwt("cache", iss.token(key=k2))
    ok(st == 403 and iss.count("/jwks") == 2,
       "keys rotated at the provider: still within the rate limit", doc)
    time.sleep(REFRESH_MIN + 0.3)
    st, doc = for_jwt("cache", iss.token(key=k2))
    ok(st == 200 and iss.count("/jwks") == 3,
       "after the rate limit, the rotated key is fetched and accepted",
       doc)
    last_ok = time.time()
    iss.down = True
    time.sleep(TTL + 0.3)
    n = len(iss.fetches)
    st, doc = for_jwt("cache", iss.token(key=k1))
    ok(st == 200 and len(iss.fetches) == n + 1,
       "identity provider down after the keys' TTL: one fetch tried, the "
       "cached keys still used", doc)
    st, doc = for_jwt("cache", iss.token(key=k1))
    ok(st == 200 and len(iss.fetches) == n + 1,
       "... and at once again without a fetch (rate limit)", doc)
    # Whole seconds on both sides: a margin of more than one.
    time.sleep(max(0, last_ok + MAX_STALE + 1.5 - time.time()))
    st, doc = for_jwt("cache", iss.token(key=k1))
    ok(st == 403 and "jwks_max_stale_seconds" in doc.get("message", ""),
       "past authorizer.jwks_max_stale_seconds: refused", doc)
    iss.down = False
    time.sleep(REFRESH_MIN + 0.3)
    st, doc = for_jwt("cache", iss.token(key=k1))
    ok(st == 200, "the provider back: keys fetched again", doc)
    iss.shutdown()
    # A document naming another issuer is refused whoever serves it.
    bad = Issuer()
    bad.keys = [k1]
    bad.doc_issuer = "http://127.0.0.1:1/t"
    identity("bad-doc", authorizer(bad.discovery))
    st, doc = for_jwt("bad-doc", bad.token(key=k1))
    ok(st == 403 and "issuer" in doc.get("message", ""),
       "a discovery document naming another issuer is refused", doc)
    bad.shutdown()


def test_kept(iss, kept):
    """The kept JWT: sealed, not rewritten, replaced, erased."""
    k = iss.keys[0]
    identity("keep", authorizer(iss.discovery))
    t1 = iss.token(key=k, sub="bob", jti="1")
    kept.append(t1)
    for_jwt("keep", t1)
    u = user_key(iss.issuer, "bob")
    before = db_rows("SELECT u.updated, s.version, s.dek_id FROM user_jwts "
                     "u JOIN secrets s ON s.type = 'user-jwt' AND s.name = "
                     "u.user AND s.owner = u.workload WHERE u.workload = "
                     "'keep'")
    time.sleep(1.1)
    st, _ = for_jwt("keep", t1)
    after = db_rows("SELECT u.updated, s.version, s.dek_id FROM user_jwts "
                    "u JOIN secrets s ON s.type = 'user-jwt' AND s.name = "
                    "u.user AND s.owner = u.workload WHERE u.workload = "
                    "'keep'")
    ok(st == 200 and len(before) == 1 and before == after,
       "the same JWT again: the kept row is not rewritten", (before,
                                                             after))
    t2 = iss.token(key=k, sub="bob", jti="2")
    kept.append(t2)
    st, _ = for_jwt("keep", t2)
    again = db_rows("SELECT s.version, u.jwt_hash FROM user_jwts u JOIN "
                    "secrets s ON s.type = 'user-jwt' AND s.name = u.user "
                    "AND s.owner = u.workload WHERE u.workload = 'keep'")
    ok(st == 200 and len(again) == 1 and again[0][0] == before[0][1] + 1
       and again[0][1] == hashlib.sha256(t2.encode()).hexdigest(),
       "a newer JWT of the same user replaces it (one row, a new "
       "version)", again)
    t3 = iss.token(key=k, sub="carol", exp=int(time.time()) + 2)
    kept.append(t3)
    for_jwt("keep", t3)
    n = db_rows("SELECT count(*) FROM user_jwts WHERE workload = 'keep'")
    ok(n == [(2,)], "another user of the same workload: a row of its own")
    time.sleep(2.5)
    for_jwt("keep", iss.token(key=k, sub="dave"))
    left = [r[0] for r in db_rows("SELECT user FROM user_jwts WHERE "
                                  "workload = 'keep'")]
    ok(user_key(iss.issuer, "carol") not in left and u in left,
       "an expired JWT is purged (with its sealed copy)", left)
    blobs = b""
    for f in glob.glob(database() + "*"):
        with open(f, "rb") as fh:
            blobs += fh.read()
    leaked = [t for t in kept if t.encode() in blobs or
              t.split(".")[2].encode() in blobs]
    ok(kept and not leaked, "no kept JWT is in the database files in clear "
       "(%d tokens, the .db and its WAL grepped)" % len(kept), leaked[:1])
    st, _ = td.call("DeleteWorkloadIdentity", {"name": "keep"})
    rows = db_rows("SELECT count(*) FROM user_jwts WHERE workload = 'keep'")
    secrets = db_rows("SELECT count(*) FROM secrets WHERE owner = 'keep'")
    ok(st == 200 and rows == [(0,)] and secrets == [(0,)],
       "deleting the identity erases its kept JWTs", (rows, secrets))


def test_user_ids(iss):
    st, doc = td.call("GetWorkloadAccessTokenForUserId",
                      {"workloadName": "no-authz",
                       "userId": user_key(iss.issuer, "alice")},
                      sock_name="agent.sock")
    ok(st == 400 and "reserved" in doc.get("message", ""),
       "GetWorkloadAccessTokenForUserId refuses user ids starting with "
       "jwt:", doc)
    identity("bare", None)


def test_validation(iss):
    bad = [
        ({"customJWTAuthorizer": {}}, "no discoveryUrl"),
        ({"customJWTAuthorizer": {"discoveryUrl": "https://x.example/"}},
         "a discovery URL without the well-known suffix"),
        ({"customJWTAuthorizer": {"discoveryUrl": "http://idp.example" +
                                  SUFFIX}}, "http to a non-loopback host"),
        (authorizer(iss.discovery, allowedAudience=[]), "an empty list"),
        (authorizer(iss.discovery, allowedScopes=["a b"]),
         "a scope with a space"),
        (authorizer(iss.discovery, allowedClients=["x" * 256]),
         "a client id over 255 bytes"),
        (authorizer(iss.discovery, customClaims=[{
            "inboundTokenClaimName": "g",
            "inboundTokenClaimValueType": "STRING",
            "authorizingClaimMatchValue": {
                "claimMatchOperator": "CONTAINS",
                "claimMatchValue": {"matchValueString": "x"}}}]),
         "CONTAINS with a STRING claim"),
        (authorizer(iss.discovery, privateEndpoint={}), "an unknown field"),
        ({"customJWTAuthorizer": {"discoveryUrl": iss.discovery},
          "other": 1}, "another authorizer type"),
    ]
    for body, what in bad:
        st, doc = identity("v-bad", body)
        ok(st == 400 and doc.get("__type") == "ValidationException",
           "authorizerConfiguration refused: %s" % what, doc)
    st, doc = td.call("UpdateWorkloadIdentity", {
        "name": "bare", "authorizerConfiguration": authorizer(
            iss.discovery, allowedAudience=["x"])})
    ok(st == 200 and doc["authorizerConfiguration"]["customJWTAuthorizer"][
        "allowedAudience"] == ["x"], "UpdateWorkloadIdentity sets one", doc)
    st, doc = td.call("GetWorkloadIdentity", {"name": "bare"})
    ok(st == 200 and "authorizerConfiguration" in doc,
       "GetWorkloadIdentity shows it", doc)
    st, doc = td.call("UpdateWorkloadIdentity", {"name": "bare"})
    ok(st == 200 and "authorizerConfiguration" not in doc,
       "an update without it removes it (the update replaces)", doc)


def test_check_cli(iss):
    cli = os.path.join(td.TOP, td.BUILD, "agentvault")
    if not os.access(cli, os.X_OK):
        ok(False, "the agentvault CLI is built", cli)
        return
    env = dict(os.environ, AGENTVAULT_SOCKET=os.path.join(td.WORK, "run",
                                                         "admin.sock"),
               AGENTVAULT_CA=os.path.join(td.TOKDIR, "ca.pem"))
    good = iss.token(aud="agents")
    r = subprocess.run([cli, "jwt", "check", "--discovery-url",
                        iss.discovery, "--audience", "agents", good],
                       capture_output=True, text=True, env=env, timeout=30)
    ok(r.returncode == 0 and r.stdout.startswith("valid") and
       "sub: alice" in r.stdout and "iss: " + iss.issuer in r.stdout,
       "agentvault jwt check: valid, with iss, sub, aud, exp", (r.stdout,
                                                                r.stderr))
    r = subprocess.run([cli, "jwt", "check", "--discovery-url",
                        iss.discovery, "--audience", "other", "-"],
                       input=good + "\n", capture_output=True, text=True,
                       env=env, timeout=30)
    ok(r.returncode != 0 and "aud" in r.stdout + r.stderr and
       "refused" in r.stdout + r.stderr,
       "agentvault jwt check (token on stdin): refused, with the reason",
       (r.returncode, r.stdout, r.stderr))


def test_audit(kept):
    with open(os.path.join(td.WORK, "audit.log")) as f:
        audit = f.read()
    calls = [json.loads(l) for l in audit.splitlines()
             if '"type":"call"' in l]
    leaked = [t for t in kept if t and (t in audit or
                                        t.split(".")[2] in audit)]
    ok(kept and not leaked, "no user JWT in the audit trail (%d checked)" %
       len(kept), leaked[:1])
    mine = [c for c in calls if c["operation"] ==
            "GetWorkloadAccessTokenForJWT" and c["outcome"] == "allowed"]
    ok(mine and all(c.get("detail", {}).get("userIssuer") and
                    len(c["detail"].get("userSubjectSha256", "")) == 64
                    for c in mine),
       "GetWorkloadAccessTokenForJWT records carry the issuer and the "
       "subject's SHA-256 (%d records)" % len(mine), mine[:1])
    r = subprocess.run([td.VERIFY, "--key", os.path.join(
        td.TOKDIR, "audit-key.pem"), os.path.join(td.WORK, "audit.log")],
        capture_output=True, text=True)
    ok(r.returncode == 0 and r.stdout.startswith("OK"),
       "the audit trail, with those details, verifies", r.stdout + r.stderr)
    ok(any(c["operation"] == "GetWorkloadAccessTokenForJWT" and
           c["outcome"] == "denied" for c in calls) and
       any(c["operation"] == "CheckJwt" for c in calls),
       "refusals and CheckJwt are audited too")


def main():
    default = Issuer()
    default.keys = [Key("d1")]
    conf = setup(default.discovery)
    kept = []
    with harness.IdP(idp_config(), workdir=os.path.join(td.WORK,
                                                       "idp")) as idp:
        d = td.Daemon(conf)
        if not ok(d.wait_ready(), "the daemon starts", td.log_text()):
            d.stop()
            print("1..%d" % td.n)
            return 1
        try:
            iss = Issuer()
            test_idp(idp, kept)
            test_policy(iss, kept)
            test_no_authorizer_default(default)
            test_user_ids(iss)
            test_validation(iss)
            test_kept(iss, kept)
            test_cache(kept)
            test_check_cli(iss)
            st, doc = for_jwt("bare", default.token())
            ok(st == 200, "an identity whose authorizer was removed uses "
               "the directory's default again", doc)
            identity("purge", authorizer(iss.discovery))
            st, _ = for_jwt("purge", iss.token(sub="erin", exp=int(
                time.time()) + 2))
            time.sleep(2.5)
        finally:
            d.stop()
        d = td.Daemon(conf)
        try:
            ok(d.wait_ready(), "the daemon starts again")
            rows = db_rows("SELECT count(*) FROM user_jwts WHERE workload "
                           "= 'purge'")
            left = db_rows("SELECT count(*) FROM secrets WHERE type = "
                           "'user-jwt' AND owner = 'purge'")
            ok(st == 200 and rows == [(0,)] and left == [(0,)],
               "a JWT that expired while the daemon was down is erased "
               "when it starts", (rows, left))
        finally:
            d.stop()
        test_audit(kept)
        text = td.log_text()
        bad = [l for l in text.splitlines() if "Sanitizer" in l or
               "runtime error" in l]
        ok(not bad, "no sanitizer report from the daemon", bad[:5])
    print("1..%d" % td.n)
    return 1 if td.failed else 0


if __name__ == "__main__":
    sys.exit(main())
