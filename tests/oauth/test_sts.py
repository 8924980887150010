#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_sts.py - agent access tokens (suite "sts"): the appliance as an
RFC 8693 token service, against the real sandboxed daemon and SoftHSM2.
A workload access token bound to a user is exchanged at POST
/oauth2/token for a JWT that npm jose (verify_token.mjs) verifies
independently against the JWKS the appliance publishes over TLS; every
malformed request gets its RFC 6749 / RFC 8693 error; a policy refusal
is unauthorized_client; a rotated token-signing key stays in the JWKS
until its last token has expired; the audit trail records each call and
never a token.

Prints TAP.  Environment as tests/integration/test_daemon.py's.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from urllib.parse import urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import test_daemon as td  # noqa: E402
from jwtissuer import Issuer, Key  # noqa: E402

td.WORK = os.path.join(td.TOKDIR, "sts")
WORK = td.WORK
ok = td.ok
AUDIT = os.path.join(WORK, "audit.log")
SOCKET_GID = 4200       # the sockets' group
READER = 5001           # a principal without GetAgentAccessToken
STRANGER = 5999         # no principal

GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
WAT_TYPE = "urn:agentvault:params:oauth:token-type:workload_access_token"
AT_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
AUD = "https://api.example.com"
ARN = ("arn:aws:bedrock-agentcore:us-east-1:000000000000:"
       "workload-identity-directory/default/workload-identity/")
FORM = "application/x-www-form-urlencoded"
WAT_TTL = 60


def configure(path, port, agent_ttl, key_uri=None):
    td.write_config(path, """outbound:
  allow_http_loopback: true
tokens:
  ttl_seconds: %d
agent_tokens:
  ttl_seconds: %d
  audiences: ["%s", "urn:example:inventory"]
""" % (WAT_TTL, agent_ttl, AUD), more_principals="""  - name: readers
    uids: [%d]
    policies: [AgentVaultReadOnlyAccess]
""" % READER)
    with open(path) as f:
        text = f.read()
    text = text.replace("hsm:\n", """listen:
  admin_socket: {mode: "0660", group: %d}
  agent_socket: {mode: "0660", group: %d}
  tcp: {address: 127.0.0.1, port: %d}
hsm:
""" % (SOCKET_GID, SOCKET_GID, port), 1)
    if key_uri:
        text = text.replace("  ca_cert:", "  token_signing_key: \"%s\"\n"
                            "  ca_cert:" % key_uri)
    with open(path, "w") as f:
        f.write(text)


class As:
    """Connect as uid (in group SOCKET_GID); None: as root."""

    def __init__(self, uid):
        self.uid = uid

    def __enter__(self):
        if self.uid is not None:
            self.groups = os.getgroups()
            os.setgroups([SOCKET_GID])
            os.setegid(SOCKET_GID)
            os.seteuid(self.uid)

    def __exit__(self, *exc):
        if self.uid is not None:
            os.seteuid(0)
            os.setegid(0)
            os.setgroups(self.groups)


def exchange(params, uid=None, ctype=FORM, raw=None):
    """POST /oauth2/token: (status, document, headers)."""
    body = raw if raw is not None else urlencode(params).encode()
    with As(uid):
        return td.request("POST", "/oauth2/token", body,
                          sock_name="agent.sock", ctype=ctype)


def params(wat, **more):
    p = {"grant_type": GRANT, "subject_token": wat,
         "subject_token_type": WAT_TYPE, "audience": AUD}
    p.update(more)
    return dict((k, v) for k, v in p.items() if v is not None)


def wat_for(name, user):
    if user is None:
        st, doc = td.call("GetWorkloadAccessToken", {"workloadName": name},
                          sock_name="agent.sock")
    else:
        st, doc = td.call("GetWorkloadAccessTokenForUserId",
                          {"workloadName": name, "userId": user},
                          sock_name="agent.sock")
    return doc.get("workloadAccessToken", "")


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def part(token, i):
    p = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def thumbprint(jwk):
    """RFC 7638, computed here independently of the daemon."""
    canon = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"],
                        "y": jwk["y"]}, separators=(",", ":"),
                       sort_keys=True)
    return b64u(hashlib.sha256(canon.encode()).digest())


def verify(port, tokens, audience=AUD):
    """npm jose's verdict on each token, with the JWKS fetched over TLS
    from the appliance's jwks_uri."""
    issuer = "https://127.0.0.1:%d" % port
    r = subprocess.run(
        ["node", os.path.join(HERE, "verify_token.mjs"),
         issuer + "/.well-known/jwks.json", issuer, audience],
        input="\n".join(tokens) + "\n", capture_output=True, text=True,
        timeout=60, cwd=HERE,
        env=dict(os.environ, NODE_EXTRA_CA_CERTS=os.path.join(td.TOKDIR,
                                                              "ca.pem")))
    out = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    if len(out) != len(tokens):
        return [{"ok": False, "message": r.stderr[-2000:]}] * len(tokens)
    return out


def test_documents(port):
    st, doc, hdr = td.request("GET", "/.well-known/openid-configuration",
                              sock_name="agent.sock")
    iss = "https://127.0.0.1:%d" % port
    ok(st == 200 and doc.get("issuer") == iss and
       doc.get("jwks_uri") == iss + "/.well-known/jwks.json" and
       doc.get("token_endpoint") == iss + "/oauth2/token" and
       doc.get("grant_types_supported") == [GRANT],
       "the discovery document names the issuer (from the TCP listener), "
       "jwks_uri and token_endpoint", doc)
    ok(hdr.get("cache-control") == "public, max-age=300",
       "it may be cached for 5 minutes", hdr)
    with As(STRANGER):
        st, jwks, hdr = td.request("GET", "/.well-known/jwks.json",
                                   sock_name="agent.sock")
    keys = (jwks or {}).get("keys", [])
    ok(st == 200 and len(keys) == 1 and keys[0].get("kty") == "EC" and
       keys[0].get("crv") == "P-256" and keys[0].get("alg") == "ES256" and
       keys[0].get("use") == "sig" and "d" not in keys[0],
       "the JWKS, to a caller that is no principal: one public P-256 key",
       jwks)
    ok(keys and keys[0].get("kid") == thumbprint(keys[0]),
       "its kid is the key's RFC 7638 thumbprint", keys)
    st, doc, _ = td.request("POST", "/.well-known/jwks.json", {},
                            sock_name="agent.sock")
    ok(st == 400, "the documents are GET only", doc)
    return keys[0]["kid"] if keys else ""


def test_exchange(port, kid):
    st, doc = td.call("CreateWorkloadIdentity", {"name": "sts-agent"})
    ok(st == 200, "a workload identity", doc)
    wat = wat_for("sts-agent", "alice@example.com")
    st, doc, hdr = exchange(params(wat, scope="orders:read orders:write"))
    tok = (doc or {}).get("access_token", "")
    ok(st == 200 and doc.get("token_type") == "Bearer" and
       doc.get("issued_token_type") == AT_TYPE and
       doc.get("scope") == "orders:read orders:write" and
       WAT_TTL - 10 <= doc.get("expires_in", 0) <= WAT_TTL,
       "a workload access token for a user is exchanged for an agent "
       "access token (RFC 8693 section 2.2.1)", doc)
    ok(hdr.get("cache-control") == "no-store" and
       hdr.get("pragma") == "no-cache", "the answer is not cached", hdr)
    h, c = part(tok, 0), part(tok, 1)
    ok(h == {"alg": "ES256", "typ": "at+jwt", "kid": kid},
       "header: ES256, typ at+jwt (RFC 9068), the JWKS key's kid", h)
    ok(c.get("exp") - c.get("iat") == doc.get("expires_in") and
       c.get("exp") - c.get("iat") <= WAT_TTL,
       "its lifetime never goes beyond the subject token's expiry "
       "(agent_tokens.ttl_seconds is longer here)", c)
    v = verify(port, [tok])[0]
    p = v.get("payload", {})
    ok(v.get("ok") and p.get("sub") == "alice@example.com" and
       p.get("act") == {"sub": ARN + "sts-agent"} and p.get("aud") == AUD
       and p.get("iss") == "https://127.0.0.1:%d" % port and
       p.get("client_id") == ARN + "sts-agent" and
       p.get("scope") == "orders:read orders:write" and
       len(p.get("jti", "")) == 22 and p.get("exp") > time.time(),
       "npm jose verifies it against the published JWKS: sub is the user, "
       "act.sub the workload, aud, iss, exp, client_id, scope", v)
    v = verify(port, [tok], audience="https://other.example")
    ok(not v[0].get("ok") and v[0].get("code") ==
       "ERR_JWT_CLAIM_VALIDATION_FAILED", "jose refuses it for another "
       "audience", v)
    forged = tok.split(".")
    claims = part(tok, 1)
    claims["sub"] = "mallory"
    forged[1] = b64u(json.dumps(claims).encode())
    v = verify(port, [".".join(forged)])
    ok(not v[0].get("ok") and v[0].get("code") ==
       "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
       "and with a claim changed", v)
    st, doc, _ = exchange(params(wat, requested_token_type=JWT_TYPE,
                                 audience="urn:example:inventory"))
    t2 = (doc or {}).get("access_token", "")
    ok(st == 200 and doc.get("issued_token_type") == JWT_TYPE and
       "scope" not in doc and part(t2, 1).get("jti") != c.get("jti") and
       "scope" not in part(t2, 1),
       "requested_token_type jwt: issued as a JWT; no scope asked, none "
       "given; a fresh jti", doc)
    v = verify(port, [t2], audience="urn:example:inventory")
    ok(v[0].get("ok"), "jose verifies the second audience's token too", v)
    st, doc, _ = exchange(params(wat), uid=READER)
    ok(st == 400 and doc == {
        "error": "unauthorized_client", "error_description":
        doc.get("error_description")} and "not authorized" in
       doc.get("error_description", ""), "a principal whose policy does "
       "not allow GetAgentAccessToken: unauthorized_client", doc)
    st, doc, _ = exchange(params(wat), uid=STRANGER)
    ok(st == 400 and doc.get("error") == "invalid_client",
       "a caller that is no principal: invalid_client", doc)
    return tok, wat


def test_refusals(wat):
    def refused(p, code, name, why=None, **kw):
        st, doc, hdr = exchange(p, **kw)
        ok(st == 400 and (doc or {}).get("error") == code and
           set(doc) == {"error", "error_description"} and
           (why is None or why in doc.get("error_description", "")) and
           hdr.get("cache-control") == "no-store",
           "%s: %s" % (name, code), doc)

    refused(params(wat, grant_type="client_credentials"),
            "unsupported_grant_type", "another grant_type")
    refused(params(wat, grant_type=None), "invalid_request",
            "no grant_type", "grant_type")
    refused(params(wat, audience=None), "invalid_request", "no audience",
            "audience is required")
    refused(params(wat, audience="https://evil.example"), "invalid_target",
            "an audience not in agent_tokens.audiences")
    refused(params(wat, audience="a b"), "invalid_target",
            "an audience with a space")
    refused(params(wat, resource="https://api.example.com"),
            "invalid_target", "resource instead of audience")
    refused(params(wat, subject_token=None), "invalid_request",
            "no subject_token")
    refused(params(wat, subject_token_type=AT_TYPE), "invalid_request",
            "a subject_token_type other than the workload access token's",
            WAT_TYPE)
    refused(params(wat, actor_token="x", actor_token_type=JWT_TYPE),
            "invalid_request", "an actor_token (the workload is the actor)")
    refused(params(wat, requested_token_type="urn:ietf:params:oauth:"
                   "token-type:id_token"), "invalid_request",
            "an id_token asked for")
    refused(params(wat, scope="a  b"), "invalid_scope", "a scope with two "
            "spaces")
    refused(params(wat, scope='a"b'), "invalid_scope", "a scope with a "
            "quote")
    forged = wat[:-3] + ("AAA" if not wat.endswith("AAA") else "BBB")
    refused(params(forged), "invalid_request", "a forged workload access "
            "token", "not valid")
    refused(params("avwat1.garbage"), "invalid_request", "a malformed one")
    refused(params(wat_for("sts-agent", None)), "invalid_request",
            "a workload access token for no user", "no user")
    td.call("CreateWorkloadIdentity", {"name": "sts-gone"})
    gone = wat_for("sts-gone", "bob")
    td.call("DeleteWorkloadIdentity", {"name": "sts-gone"})
    refused(params(gone), "invalid_request", "the token of a deleted "
            "identity", "not valid")
    body = urlencode(params(wat)).encode()
    refused(None, "invalid_request", "a JSON body",
            "x-www-form-urlencoded", ctype="application/json",
            raw=json.dumps(params(wat)).encode())
    refused(None, "invalid_request", "a parameter given twice", "twice",
            raw=body + b"&audience=" + AUD.encode())
    refused(None, "invalid_request", "17 parameters", "more than 16",
            raw=body + b"".join(b"&x%d=1" % i for i in range(13)))
    refused(None, "invalid_request", "bad percent-encoding",
            "percent-encoded", raw=body + b"&scope=%zz")
    refused(None, "invalid_request", "a parameter without '='",
            raw=body + b"&scope")
    refused(None, "invalid_request", "a trailing '&'", raw=body + b"&")
    refused(None, "invalid_request", "a %00", raw=body + b"&x=%00")
    refused(None, "invalid_request", "a body over 16 KiB", "larger",
            raw=body + b"&pad=" + b"a" * 16384)
    st, doc, _ = exchange(params(wat, foo="bar"))
    ok(st == 200, "an unknown parameter is ignored (RFC 6749 section 3.2)",
       doc)
    st, doc, _ = td.request("GET", "/oauth2/token", sock_name="agent.sock")
    ok(st == 400 and doc.get("message") == "method not allowed",
       "GET /oauth2/token: method not allowed", doc)


def rotate(conf, port):
    opts = ["--module", os.environ["AV_TEST_MODULE"], "--token",
            os.environ["AV_TEST_TOKEN"], "--pin", os.environ["AV_TEST_PIN"]]
    r = subprocess.run([td.CEREMONY, "rotate-token-key"] + opts +
                       ["--label", "agentvault-token-signing-sts"],
                       capture_output=True, text=True)
    m = re.search(r'token_signing_key: "(.*)"', r.stdout)
    ok(r.returncode == 0 and m, "agentvault-ceremony rotate-token-key",
       r.stdout + r.stderr)
    subprocess.run(["chown", "-R", "nobody", os.path.join(
        td.TOKDIR, "token", "tokens")])
    configure(conf, port, 30, m.group(1) if m else None)


def test_rotation(d, conf, port, old_tok, old_kid, wat):
    t0 = int(time.time())
    rotate(conf, port)
    ok(td.reload_worker(d), "SIGHUP with the new token-signing key")
    t1 = int(time.time())
    st, jwks, _ = td.request("GET", "/.well-known/jwks.json",
                             sock_name="agent.sock")
    kids = [k.get("kid") for k in (jwks or {}).get("keys", [])]
    ok(len(kids) == 2 and kids[1] == old_kid and kids[0] != old_kid and
       all(k.get("kid") == thumbprint(k) for k in jwks["keys"]),
       "the JWKS has the new key first and the retired one", jwks)
    st, doc, _ = exchange(params(wat))
    new = (doc or {}).get("access_token", "")
    ok(st == 200 and part(new, 0).get("kid") == kids[0] and
       doc.get("expires_in") == 30,
       "new tokens carry the new key's kid, with the new lifetime "
       "(agent_tokens.ttl_seconds 30)", doc)
    v = verify(port, [old_tok, new])
    ok(v[0].get("ok") and v[1].get("ok"), "jose verifies the token of the "
       "retired key and the new one against the published JWKS", v)
    con = sqlite3.connect(os.path.join(WORK, "state", "agentvault.db"))
    rows = dict((k, (a, n)) for k, a, n in con.execute(
        "SELECT kid, max_age, not_after FROM token_keys"))
    con.close()
    old = [v for k, v in rows.items() if v[1] is not None]
    ok(len(rows) == 2 and len(old) == 1 and old[0][0] == 90 + 60 and
       t0 + 150 <= old[0][1] <= t1 + 150,
       "the retired key is kept until the rotation + the longer of the "
       "two lifetimes (agent tokens 90 s, workload tokens 60 s) + 60 s",
       rows)
    # As it would be 2.5 minutes later.
    d.stop()
    con = sqlite3.connect(os.path.join(WORK, "state", "agentvault.db"))
    with con:
        con.execute("UPDATE token_keys SET not_after = ? WHERE not_after "
                    "IS NOT NULL", (int(time.time()) - 1,))
    con.close()
    d = td.Daemon(conf)
    ok(d.wait_ready(), "the daemon restarts")
    st, jwks, _ = td.request("GET", "/.well-known/jwks.json",
                             sock_name="agent.sock")
    ok([k.get("kid") for k in (jwks or {}).get("keys", [])] == kids[:1],
       "a retired key past its not_after leaves the JWKS", jwks)
    v = verify(port, [old_tok])
    ok(not v[0].get("ok") and v[0].get("code") == "ERR_JWKS_NO_MATCHING_KEY",
       "and jose no longer finds a key for its tokens", v)
    return d


def test_jwt_user(port):
    """A workload access token minted for a user's JWT: sub is the JWT's
    own sub (the appliance's user key jwt:... never leaves it)."""
    iss = Issuer()
    iss.keys = [Key("u1")]
    try:
        st, doc = td.call("CreateWorkloadIdentity", {
            "name": "sts-jwt", "authorizerConfiguration": {
                "customJWTAuthorizer": {"discoveryUrl": iss.discovery,
                                        "allowedAudience": ["agents"]}}})
        ok(st == 200, "an identity with an inbound authorizer", doc)
        st, doc = td.call("GetWorkloadAccessTokenForJWT", {
            "workloadName": "sts-jwt",
            "userToken": iss.token(sub="carol-7f3a", exp=int(time.time()) +
                                   8)}, sock_name="agent.sock")
        wat = doc.get("workloadAccessToken", "")
        ok(st == 200 and wat, "a workload access token for a user JWT",
           doc)
        st, doc, _ = exchange(params(wat))
        tok = (doc or {}).get("access_token", "")
        v = verify(port, [tok])[0] if tok else {}
        ok(st == 200 and v.get("ok") and
           v["payload"].get("sub") == "carol-7f3a" and
           v["payload"].get("act") == {"sub": ARN + "sts-jwt"},
           "exchanged: sub is the user JWT's sub, act.sub the workload; "
           "jose verifies it", (doc, v))
        time.sleep(max(0, part(tok, 1).get("exp", 0) + 1 - time.time())
                   if tok else 0)
        ok(part(tok, 1).get("exp", 1e12) <= int(time.time()) + 8,
           "its lifetime ends no later than the user JWT's", part(tok, 1))
        st, doc, _ = exchange(params(wat))
        ok(st == 400 and doc.get("error") == "invalid_request",
           "once the user JWT has expired: invalid_request", doc)
    finally:
        iss.shutdown()


def test_clients(port):
    """libagentvault through the CLI, and the Python client."""
    cli = os.path.join(td.TOP, td.BUILD, "agentvault")
    env = dict(os.environ, AGENTVAULT_RUN_DIR=os.path.join(WORK, "run"),
               AGENTVAULT_CA=os.path.join(td.TOKDIR, "ca.pem"))
    for k in ("AGENTVAULT_SOCKET",):
        env.pop(k, None)

    def run(*args, stdin=None):
        r = subprocess.run(td.WRAP + [cli] + list(args), env=env,
                           input=stdin, capture_output=True, text=True)
        return r.returncode, r.stdout, r.stderr

    rc, out, err = run("token", "agent", "--workload", "sts-agent",
                       "--user-id", "dave", "--audience", AUD, "--scope",
                       "orders:read", "--scope", "orders:write")
    tok = out.strip()
    v = verify(port, [tok])[0] if tok.count(".") == 2 else {}
    ok(rc == 0 and v.get("ok") and v["payload"].get("sub") == "dave" and
       v["payload"].get("scope") == "orders:read orders:write",
       "CLI: token agent --workload --user-id --audience --scope (twice): "
       "the token alone, which jose verifies", (rc, err, v))
    wat_file = os.path.join(WORK, "wat")
    with open(wat_file, "w") as f:
        f.write(wat_for("sts-agent", "erin") + "\n")
    rc, out, err = run("--output", "json", "token", "agent", "--token-file",
                       wat_file, "--audience", "urn:example:inventory")
    doc = json.loads(out) if rc == 0 else {}
    ok(rc == 0 and part(doc.get("accessToken", "a.e30.c"), 1).get("sub") ==
       "erin", "CLI: token agent --token-file, JSON output", (rc, out,
                                                              err))
    rc, out, err = run("token", "agent", "--workload", "sts-agent",
                       "--user-id", "dave", "--audience",
                       "https://evil.example")
    ok(rc == 1 and "invalid_target" in err and out == "",
       "CLI: a refusal names its RFC 6749 code (exit 1)", (rc, err))
    rc, out, err = run("token", "agent", "--workload", "sts-agent",
                       "--audience", AUD)
    ok(rc == 2 and out == "", "CLI: token agent without a user is a "
       "usage error", (rc, err))
    rc, out, _ = run("token", "agent", "--help")
    ok(rc == 0 and out.startswith("usage: agentvault token agent"),
       "CLI: token agent --help", out)

    sys.path.insert(0, os.path.join(td.TOP, "client", "python"))
    from agentvault import IdentityClient
    from agentvault.errors import AgentVaultError
    c = IdentityClient(socket=os.path.join(WORK, "run", "agent.sock"),
                       admin_socket=os.path.join(WORK, "run",
                                                 "admin.sock"),
                       ca=os.path.join(td.TOKDIR, "ca.pem"),
                       timeout=10 * td.SLOW)
    wat = c.get_workload_access_token("sts-agent",
                                      user_id="frank")["workloadAccessToken"]
    doc = c.get_agent_access_token(wat, AUD, scope=["a", "b"])
    v = verify(port, [doc.get("access_token", "")])[0]
    ok(doc.get("token_type") == "Bearer" and doc.get("scope") == "a b" and
       v.get("ok") and v["payload"].get("sub") == "frank",
       "Python: get_agent_access_token (scope as a list); jose verifies "
       "the token", (doc, v))
    try:
        c.get_agent_access_token(wat, "https://evil.example")
        ok(False, "Python: a refusal raises")
    except AgentVaultError as e:
        ok(e.error_type == "invalid_target" and e.status == 400 and
           "audiences" in e.message, "Python: a refusal raises "
           "AgentVaultError with the RFC 6749 code", vars(e))
    c.close()


def test_audit(secrets):
    with open(AUDIT) as f:
        text = f.read()
    recs = [json.loads(l) for l in text.splitlines() if '"type":"call"' in l]
    mine = [r for r in recs if r.get("operation") == "GetAgentAccessToken"]
    outcomes = set(r.get("outcome") for r in mine)
    ok(len(mine) >= 25 and outcomes == {"allowed", "denied", "error"} and
       any(r.get("resource") == ARN + "sts-agent" and
           r.get("outcome") == "allowed" for r in mine),
       "every exchange is audited (GetAgentAccessToken on the workload "
       "identity; allowed, denied, error)", outcomes)
    ok(not [r for r in recs if r.get("operation") in
            ("GetOpenIdConfiguration", "GetJwks")],
       "the published documents are not audited")
    leaked = [s[:12] for s in secrets if s and s in text]
    ok(not leaked, "no token in the audit trail (%d checked)" %
       len(secrets), leaked)


def test_no_issuer(conf):
    """Without agent_tokens.issuer and without a TCP listener: none."""
    td.write_config(conf)
    d = td.Daemon(conf)
    ok(d.wait_ready(), "the daemon starts without a TCP listener")
    try:
        st, doc, _ = td.request("GET", "/.well-known/openid-configuration",
                                sock_name="agent.sock")
        ok(st == 404 and "agent_tokens.issuer" in doc.get("message", ""),
           "no issuer: no discovery document, and the message says what "
           "to set", doc)
        wat = wat_for("sts-agent", "alice")
        st, doc, _ = exchange(params(wat))
        ok(st == 400 and doc.get("error") == "invalid_request" and
           "agent_tokens.issuer" in doc.get("error_description", ""),
           "and no agent access token", doc)
    finally:
        d.stop()


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.chmod(td.TOKDIR, 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token"), 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token", "softhsm2.conf"), 0o644)
    subprocess.run(["chown", "-R", "nobody",
                    os.path.join(td.TOKDIR, "token", "tokens")])
    port = td.free_port()
    conf = os.path.join(WORK, "sts.yaml")
    configure(conf, port, 90)
    d = td.Daemon(conf)
    if not ok(d.wait_ready(), "the daemon starts", td.log_text()):
        d.stop()
        print("1..%d" % td.n)
        return 1
    secrets = []
    try:
        kid = test_documents(port)
        tok, wat = test_exchange(port, kid)
        secrets += [tok, wat]
        test_refusals(wat)
        test_jwt_user(port)
        test_clients(port)
        d = test_rotation(d, conf, port, tok, kid, wat)
    finally:
        rc = d.stop()
    ok(rc == 0, "the daemon stops cleanly (%s)" % rc)
    test_audit(secrets)
    test_no_issuer(os.path.join(WORK, "bare.yaml"))
    text = td.log_text()
    bad = [l for l in text.splitlines() if "Sanitizer" in l or
           "runtime error" in l]
    ok(not bad, "no sanitizer report in the daemon's log", bad[:5])
    print("1..%d" % td.n)
    return 0 if td.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
