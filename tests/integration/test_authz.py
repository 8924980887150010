#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_authz.py - policy enforcement against the real sandboxed daemon
(test_daemon.py's harness), docs/policy.md:

- the authorization matrix: every operation of daemon/api.c's route table
  (read at test time, so a new operation without a row fails here) times
  three callers: a principal allowed exactly that operation, one allowed
  everything else (an explicit Deny; an Allow of every other operation),
  and a uid that is no principal; the audit record of each call; the
  transport rule; a TCP (mTLS) caller matched by its certificate subject;
- the seed's three patterns (policy/examples/) loaded from policy.dir and
  attached to principals: one workload identity, a Deny unless the
  provider is named, tenant isolation by tags;
- SIGHUP: a changed policy file decides the next call, a broken one is
  refused (file:line:column in the log) and the old policies stay, the
  LoadPolicies audit record lists the files' hashes.

Callers other than root are this process with another effective uid
while it connects: SO_PEERCRED reports the euid and egid at connect().

Prints TAP.  Environment as test_daemon.py.
"""
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from urllib.parse import quote, urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_daemon as td  # noqa: E402

td.WORK = os.path.join(td.TOKDIR, "authz")
WORK = td.WORK
ok = td.ok
POLICY_DIR = os.path.join(WORK, "policies")
EXAMPLES = os.path.join(td.TOP, "policy", "examples")
AUDIT = os.path.join(WORK, "audit.log")

ACCOUNT = "123456789012"
PREFIX = "arn:aws:bedrock-agentcore:us-east-1:%s:" % ACCOUNT
VAULT = PREFIX + "token-vault/default"
DIRECTORY = PREFIX + "workload-identity-directory/default"


def wi_arn(name):
    return DIRECTORY + "/workload-identity/" + name


def key_arn(name):
    return VAULT + "/apikeycredentialprovider/" + name


def oauth2_arn(name):
    return VAULT + "/oauth2credentialprovider/" + name


def oauth2_body(name):
    return td.oauth2_body(name, "GithubOauth2", "githubOauth2ProviderConfig")


SOCKET_GID = 4200       # the sockets' group; no principal's gid
STRANGER = 5999         # a uid that is no principal
ROW_UID = 5000          # + the row's index: the matrix's principals
CHUNK = 28              # rows per configuration (32 principals at most,
                        # admin and agents included)
IMPLICIT = "ImplicitDeny (no statement allows it)"


# ---- callers -------------------------------------------------------------

class As:
    """Connect as uid and gid (in group SOCKET_GID too); None: as root."""

    def __init__(self, uid, gid=SOCKET_GID):
        self.uid, self.gid = uid, gid

    def __enter__(self):
        if self.uid is not None:
            self.groups = os.getgroups()
            os.setgroups([SOCKET_GID])
            os.setegid(self.gid)
            os.seteuid(self.uid)

    def __exit__(self, *exc):
        if self.uid is not None:
            os.seteuid(0)
            os.setegid(0)
            os.setgroups(self.groups)


def req(method, path, body=None, uid=None, sock="admin.sock",
        gid=SOCKET_GID):
    """One call: (status, document, request id)."""
    try:
        with As(uid, gid):
            # The token service's form (RFC 8693) comes as bytes.
            st, doc, hdr = td.request(method, path, body, sock_name=sock,
                                      ctype="application/x-www-form-"
                                      "urlencoded" if isinstance(body, bytes)
                                      else "application/json")
    except OSError as e:
        return 0, {"__type": "client error", "message": repr(e)}, ""
    return st, doc or {}, hdr.get("x-amzn-requestid", "")


def op(name, body, uid=None, sock="admin.sock"):
    return req("POST", "/identities/" + name, body, uid, sock)


def tags_path(arn, query=""):
    return "/tags/" + quote(arn, safe="") + query


def mint(workload, uid=None):
    """A workload access token (the admin's unless uid is given)."""
    st, doc, _ = op("GetWorkloadAccessToken", {"workloadName": workload},
                    uid, "agent.sock")
    return doc.get("workloadAccessToken", "")


def api_key(token, provider, uid, sock="agent.sock"):
    return op("api-key", {"workloadIdentityToken": token,
                          "resourceCredentialProviderName": provider},
              uid, sock)


def audit_calls():
    """The call records of the audit trail, by request id."""
    with open(AUDIT) as f:
        recs = [json.loads(line) for line in f if '"type":"call"' in line]
    return {r["request_id"]: r for r in recs}


def denied(st, doc):
    """Refused by policy: AccessDeniedException, or on the token service
    its RFC 6749 equivalents (unauthorized_client; invalid_client for a
    caller that is no principal)."""
    return (st == 403 and doc.get("__type") == "AccessDeniedException") or (
        st == 400 and doc.get("error") in ("unauthorized_client",
                                           "invalid_client"))


# ---- configuration -------------------------------------------------------

def principal(name, uids=(), policies=(), **more):
    p = {"name": name}
    if uids:
        p["uids"] = list(uids)
    p.update(more)
    p["policies"] = list(policies)
    return "  - " + json.dumps(p) + "\n"


def configure(path, principals, tcp_port, client_ca):
    td.write_config(path, more_principals="".join(principals), extra="""
appliance: {region: us-east-1, account: "%s"}
policy: {dir: %s}
""" % (ACCOUNT, POLICY_DIR))
    with open(path) as f:
        text = f.read()
    text = text.replace("api_key_providers: 5", "api_key_providers: 50")
    text = text.replace("hsm:\n", """listen:
  admin_socket: {mode: "0660", group: %d}
  agent_socket: {mode: "0660", group: %d}
  tcp: {address: 127.0.0.1, port: %d, client_ca: %s}
hsm:
""" % (SOCKET_GID, SOCKET_GID, tcp_port, client_ca), 1)
    with open(path, "w") as f:
        f.write(text)


def write_policy(name, text):
    path = os.path.join(POLICY_DIR, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def doc(*statements):
    return json.dumps({"Version": "2012-10-17",
                       "Statement": list(statements)}, indent=1) + "\n"


def stmt(sid, effect, actions, **more):
    s = {"Sid": sid, "Effect": effect,
         "Action": ["bedrock-agentcore:" + a for a in actions],
         "Resource": "*"}
    s.update(more)
    return s


# ---- the route table -----------------------------------------------------

ROUTE = re.compile(r'\{\s*"(GET|POST|PUT|DELETE)",\s*"([^"]+)",\s*"(\w+)",'
                   r'\s*(PLANE_\w+)')


def routes():
    """daemon/api.c's route table: [(method, path, operation, plane)]."""
    with open(os.path.join(td.TOP, "daemon", "api.c")) as f:
        text = f.read()
    # The table only (test hooks have routes of their own elsewhere).
    start = text.index("routes[] = {")
    return [m.groups() for m in ROUTE.finditer(
        text[start:text.index("\n};", start)])]


MWI = "matrix-wi"       # exists; the matrix's workload identity
MKEY = "matrix-key"     # exists; its API-key and OAuth2 providers
GONE = "matrix-gone"    # never exists
# A valid document for the policy operations' rows.
MDOC = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "bedrock-agentcore:GetTokenVault",
     "Resource": "*"}]})


MRET = "https://m.example/cb"     # the matrix identity's return URL


def matrix_rows(token, session, user_token):
    """Operation -> (path suffix or query, body, expected status when
    allowed, the resource its audit record names).  session is a 3LO
    session of the matrix identity, not called back; user_token a
    workload access token of it for a user."""
    wi = wi_arn(MWI)
    return {
        "GetAgentAccessToken": ("", urlencode({
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": user_token, "subject_token_type":
            "urn:agentvault:params:oauth:token-type:workload_access_token",
            "audience": "https://m.example"}).encode(), 200, wi),
        "CompleteResourceTokenAuth": ("", {
            "sessionUri": session, "userIdentifier": {"userId": "user-1"}},
            400, wi),
        "GetTokenVault": ("", {}, 200, VAULT),
        "CreateWorkloadIdentity": ("", {"name": MWI}, 409, wi),
        "GetWorkloadIdentity": ("", {"name": MWI}, 200, wi),
        "UpdateWorkloadIdentity": ("", {
            "name": MWI,
            "allowedResourceOauth2ReturnUrls": ["https://m.example/cb"]},
            200, wi),
        "DeleteWorkloadIdentity": ("", {"name": GONE}, 404, wi_arn(GONE)),
        "ListWorkloadIdentities": ("", {}, 200, DIRECTORY),
        "GetWorkloadAccessToken": ("", {"workloadName": MWI}, 200, wi),
        "GetWorkloadAccessTokenForUserId": ("", {"workloadName": MWI,
                                                 "userId": "user-1"},
                                            200, wi),
        # No authorizer for the identity, no default: refused after
        # authorization, with no outbound call.
        "GetWorkloadAccessTokenForJWT": ("", {"workloadName": MWI,
                                              "userToken": "a.b.c"},
                                         400, wi),
        # A malformed token: "valid": false without a fetch.
        "CheckJwt": ("", {"token": "a.b.c", "authorizerConfiguration": {
            "customJWTAuthorizer": {"discoveryUrl": "https://idp.invalid"
                                    "/.well-known/openid-configuration"}}},
                     200, DIRECTORY),
        "GetResourceApiKey": ("", {"workloadIdentityToken": token,
                                   "resourceCredentialProviderName": MKEY},
                              200, key_arn(MKEY)),
        # Refused after authorization (issue 8's flow): no outbound call.
        "GetResourceOauth2Token": ("", {
            "workloadIdentityToken": token,
            "resourceCredentialProviderName": MKEY, "scopes": [],
            "oauth2Flow": "ON_BEHALF_OF_TOKEN_EXCHANGE"}, 400,
            oauth2_arn(MKEY)),
        "CreateApiKeyCredentialProvider": ("", {"name": MKEY,
                                                "apiKey": "x"},
                                           409, key_arn(MKEY)),
        "GetApiKeyCredentialProvider": ("", {"name": MKEY}, 200,
                                        key_arn(MKEY)),
        "UpdateApiKeyCredentialProvider": ("", {
            "name": MKEY, "apiKey": "matrix-key-value"}, 200, key_arn(MKEY)),
        "DeleteApiKeyCredentialProvider": ("", {"name": GONE}, 404,
                                           key_arn(GONE)),
        "ListApiKeyCredentialProviders": ("", {}, 200, VAULT),
        "CreateOauth2CredentialProvider": ("", oauth2_body(MKEY), 409,
                                           oauth2_arn(MKEY)),
        "GetOauth2CredentialProvider": ("", {"name": MKEY}, 200,
                                        oauth2_arn(MKEY)),
        "UpdateOauth2CredentialProvider": ("", oauth2_body(MKEY), 200,
                                           oauth2_arn(MKEY)),
        "DeleteOauth2CredentialProvider": ("", {"name": GONE}, 404,
                                           oauth2_arn(GONE)),
        "ListOauth2CredentialProviders": ("", {}, 200, VAULT),
        "TagResource": (quote(wi, safe=""), {"tags": {"matrix": "yes"}},
                        200, wi),
        "UntagResource": (quote(wi, safe="") + "?tagKeys=matrix", None,
                          200, wi),
        "ListTagsForResource": (quote(wi, safe=""), None, 200, wi),
        "CreatePolicy": ("", {"name": "AgentVaultFullAccess",
                              "document": MDOC}, 409,
                         PREFIX + "policy/AgentVaultFullAccess"),
        "GetPolicy": ("", {"name": "AgentVaultReadOnlyAccess"}, 200,
                      PREFIX + "policy/AgentVaultReadOnlyAccess"),
        "UpdatePolicy": ("", {"name": GONE, "document": MDOC}, 404,
                         PREFIX + "policy/" + GONE),
        "DeletePolicy": ("", {"name": GONE}, 404, PREFIX + "policy/" + GONE),
        "ListPolicies": ("", {}, 200, PREFIX + "policy"),
        "AttachPrincipalPolicy": ("", {
            "principalName": GONE,
            "policyName": "AgentVaultReadOnlyAccess"}, 404,
            PREFIX + "principal/" + GONE),
        "DetachPrincipalPolicy": ("", {
            "principalName": GONE,
            "policyName": "AgentVaultReadOnlyAccess"}, 404,
            PREFIX + "principal/" + GONE),
        "GetPrincipal": ("", {"name": "agents"}, 200,
                         PREFIX + "principal/agents"),
        "ListPrincipals": ("", {}, 200, PREFIX + "principal"),
        "SimulatePrincipalPolicy": ("", {
            "principalName": "agents", "action": "GetTokenVault",
            "resource": VAULT}, 200, PREFIX + "principal/agents"),
    }


def call_row(route, row, uid, sock=None):
    method, path, name, plane = route
    suffix, body, _, _ = row
    if sock is None:
        sock = "agent.sock" if plane == "PLANE_DATA" else "admin.sock"
    return req(method, path + suffix, body, uid, sock)


def test_matrix(d, conf, tcp, ca):
    table = routes()
    ok(len(table) >= 18 and table[0][2] == "Ping",
       "api.c's route table is read (%d routes)" % len(table), table)
    # Ping and the token service's documents are open to anybody; the
    # OAuth callback's browser has no principal (its session's state
    # decides): no policy governs them.
    ops = [r for r in table if r[3] not in ("PLANE_OPEN", "PLANE_BROWSER")]
    st, _, _ = op("CreateWorkloadIdentity", {"name": MWI})
    st2, _, _ = op("CreateApiKeyCredentialProvider",
                   {"name": MKEY, "apiKey": "matrix-key-value"})
    st3, _, _ = op("CreateOauth2CredentialProvider", oauth2_body(MKEY))
    token = mint(MWI)
    op("UpdateWorkloadIdentity", {"name": MWI,
                                  "allowedResourceOauth2ReturnUrls": [MRET]})
    _, wat, _ = op("GetWorkloadAccessTokenForUserId",
                   {"workloadName": MWI, "userId": "user-1"}, None,
                   "agent.sock")
    _, started, _ = req("POST", "/identities/oauth2/token", {
        "workloadIdentityToken": wat.get("workloadAccessToken"),
        "resourceCredentialProviderName": MKEY, "scopes": ["repo"],
        "oauth2Flow": "USER_FEDERATION", "resourceOauth2ReturnUrl": MRET},
        None, "agent.sock")
    session = started.get("sessionUri")
    ok(st == 200 and st2 == 200 and st3 == 200 and token and session,
       "the matrix's identity, providers, token and 3LO session exist",
       started)
    rows = matrix_rows(token, session, wat.get("workloadAccessToken"))
    missing = [r[2] for r in ops if r[2] not in rows]
    ok(not missing, "every operation of the route table has a matrix row "
       "(%d operations)" % len(ops), "no row for: %s" % missing)
    ops = [r for r in ops if r[2] in rows]
    names = [r[2] for r in ops]

    # The policies: exactly this operation; everything but it (an
    # explicit Deny beside full access; an Allow of every other one).
    for name in names:
        write_policy("mx-only-%s.yaml" % name,
                     doc(stmt("OnlyThis", "Allow", [name])))
        write_policy("mx-deny-%s.yaml" % name,
                     doc(stmt("DenyThis", "Deny", [name])))
        write_policy("mx-others-%s.yaml" % name,
                     doc(stmt("AllOthers", "Allow",
                              [n for n in names if n != name])))
    variants = [
        ("allowed", lambda n: ["mx-only-" + n],
         lambda n: "Allow by mx-only-%s statement OnlyThis" % n),
        ("denied explicitly", lambda n: ["AgentVaultFullAccess",
                                         "mx-deny-" + n],
         lambda n: "ExplicitDeny by mx-deny-%s statement DenyThis" % n),
        ("denied implicitly", lambda n: ["mx-others-" + n],
         lambda n: IMPLICIT),
    ]
    cells = [(v, r) for v in variants for r in ops]
    results = []
    for start in range(0, len(cells), CHUNK):
        chunk = cells[start:start + CHUNK]
        configure(conf, [principal("mx-%d" % (start + i),
                                   [ROW_UID + start + i], v[1](r[2]))
                         for i, (v, r) in enumerate(chunk)], tcp, ca)
        if not ok(td.reload_worker(d), "SIGHUP puts matrix principals "
                  "%d-%d in force" % (start, start + len(chunk) - 1),
                  td.log_text()[-2000:]):
            return
        for i, (v, r) in enumerate(chunk):
            st, body, rid = call_row(r, rows[r[2]], ROW_UID + start + i)
            results.append((v, r, st, body, rid))
    stranger = [(r, call_row(r, rows[r[2]], STRANGER)) for r in ops]
    audit = audit_calls()

    print("# authorization matrix: %d operations x 4 callers (allowed "
          "exactly it, explicit deny, implicit deny, no principal) = %d "
          "calls" % (len(ops), len(results) + len(stranger)))
    for (v, f, why), r, st, body, rid in results:
        name = r[2]
        rec = audit.get(rid, {})
        want_st, want_res = rows[name][2], rows[name][3]
        if v == "allowed":
            ok(st == want_st and not denied(st, body) and
               rec.get("decision") == why(name) and
               rec.get("outcome") == ("allowed" if st == 200 else "error")
               and rec.get("resource") == want_res and
               rec.get("caller", {}).get("principal") is not None,
               "%s: allowed by a policy of exactly this operation (%d), "
               "on %s" % (name, st, want_res), (st, body, rec))
        else:
            ok(denied(st, body) and rec.get("outcome") == "denied" and
               rec.get("decision") == why(name) and
               rec.get("resource") == want_res and
               "statement" not in body.get("message", ""),
               "%s: %s (%s)" % (name, v, rec.get("decision")),
               (st, body, rec))
    for r, (st, body, rid) in stranger:
        rec = audit.get(rid, {})
        ok(denied(st, body) and rec.get("outcome") == "denied" and
           rec.get("decision") == "no principal" and
           "principal" not in rec.get("caller", {}),
           "%s: a uid that is no principal is refused (no principal)" %
           r[2], (st, body, rec))
    allowed = sum(1 for (v, _, _), _, st, body, _ in results
                  if not denied(st, body))
    ok(allowed == len(ops), "no unexpected allow: %d of %d calls allowed, "
       "one per operation" % (allowed, len(results) + len(stranger)))

    # The transport rule comes before any policy: the admin (full access)
    # on the agent socket has no control plane and no directory.
    refused = []
    for r in ops:
        if r[3] == "PLANE_DATA":
            continue
        st, body, rid = call_row(r, rows[r[2]], None, "agent.sock")
        rec = audit_calls().get(rid, {})
        if not (denied(st, body) and rec.get("outcome") == "denied" and
                rec.get("decision", "").startswith("transport:")):
            refused.append((r[2], st, body, rec))
    ok(not refused, "the control plane and the directory are refused on "
       "the agent socket even with AgentVaultFullAccess (transport rule, "
       "%d operations)" % sum(1 for r in ops if r[3] != "PLANE_DATA"),
       refused)


# ---- TCP (mTLS) ----------------------------------------------------------

def make_clients():
    """A client CA and the certificates it issued."""
    d0 = os.path.join(WORK, "clients")
    os.makedirs(d0, exist_ok=True)
    ca, ca_key = os.path.join(d0, "ca.pem"), os.path.join(d0, "ca.key")
    td.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
               "-out", ca, "-subj", "/CN=Test clients CA", "-days", "1")
    certs = {}
    # The last, without an O: printed unescaped it would be the first's.
    for cn, subj in (("remote-agent-1", "/O=Agents/CN=remote-agent-1"),
                     ("remote-admin", "/O=Agents/CN=remote-admin"),
                     ("remote-stranger", "/O=Agents/CN=remote-stranger"),
                     ("remote-agent-1,O=Agents",
                      "/CN=remote-agent-1,O=Agents")):
        cert = os.path.join(d0, cn.replace(",", "_") + ".pem")
        key = os.path.join(d0, cn.replace(",", "_") + ".key")
        td.openssl("req", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                   "-out", cert + ".csr", "-subj", subj)
        td.openssl("x509", "-req", "-in", cert + ".csr", "-CA", ca, "-CAkey",
                   ca_key, "-CAcreateserial", "-out", cert, "-days", "1")
        certs[cn] = (cert, key)
    return ca, certs


def tcp_op(port, cert, name, body):
    ctx = ssl.create_default_context(cafile=os.path.join(td.TOKDIR, "ca.pem"))
    ctx.load_cert_chain(*cert)
    raw = socket.create_connection(("127.0.0.1", port), 10 * td.SLOW)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    try:
        data = json.dumps(body).encode()
        s.sendall(("POST /identities/%s HTTP/1.1\r\nHost: localhost\r\n"
                   "Content-Type: application/json\r\nContent-Length: %d\r\n"
                   "Connection: close\r\n\r\n" % (name, len(data))).encode()
                  + data)
        st, hdr, payload = td.read_response(s)
    finally:
        s.close()
    return st, json.loads(payload), hdr.get("x-amzn-requestid", "")


def test_tcp(port, certs):
    remote, admin, stranger = (certs["remote-agent-1"],
                               certs["remote-admin"],
                               certs["remote-stranger"])
    st, body, rid = tcp_op(port, remote, "GetWorkloadAccessToken",
                           {"workloadName": "support-agent"})
    rec = audit_calls().get(rid, {})
    ok(st == 200 and body.get("workloadAccessToken") and
       rec.get("caller", {}).get("principal") == "remote" and
       rec.get("caller", {}).get("subject") == "CN=remote-agent-1,O=Agents"
       and rec.get("decision") == "Allow by remote-agent statement MintOnly",
       "a TCP caller is the principal its certificate subject names "
       "(RFC 2253), allowed by that principal's policy", (st, body, rec))
    tok = body.get("workloadAccessToken", "")
    st, body, rid = tcp_op(port, remote, "api-key", {
        "workloadIdentityToken": tok,
        "resourceCredentialProviderName": "github-provider"})
    rec = audit_calls().get(rid, {})
    ok(denied(st, body) and rec.get("decision") == IMPLICIT,
       "... and denied what its policy does not allow (GetResourceApiKey)",
       (st, body, rec))
    st, body, rid = tcp_op(port, admin, "api-key", {
        "workloadIdentityToken": tok,
        "resourceCredentialProviderName": "github-provider"})
    ok(st == 200 and body.get("apiKey") == "github-provider-value",
       "another subject, another principal: full access vends the key",
       body)
    st, body, rid = tcp_op(port, admin, "get-token-vault", {})
    rec = audit_calls().get(rid, {})
    ok(denied(st, body) and rec.get("decision", "").startswith("transport:"),
       "... but has no control plane over TCP (transport rule)",
       (st, body, rec))
    st, body, rid = tcp_op(port, stranger, "GetWorkloadAccessToken",
                           {"workloadName": "support-agent"})
    rec = audit_calls().get(rid, {})
    ok(denied(st, body) and rec.get("decision") == "no principal",
       "a certificate whose subject is no principal's is refused",
       (st, body, rec))
    # A CN of "remote-agent-1,O=Agents" is CN=remote-agent-1\,O=Agents.
    st, body, rid = tcp_op(port, certs["remote-agent-1,O=Agents"],
                           "GetWorkloadAccessToken",
                           {"workloadName": "support-agent"})
    rec = audit_calls().get(rid, {})
    ok(denied(st, body) and rec.get("decision") == "no principal" and
       rec.get("caller", {}).get("subject") ==
       "CN=remote-agent-1\\,O=Agents",
       "a CN with a comma is escaped (RFC 2253), not taken for another "
       "subject", (st, body, rec))


# ---- the seed's patterns -------------------------------------------------

SUPPORT, VEND, VEND_KEYS, PAYROLL = 5101, 5102, 5103, 5104
TENANTS, TENANTS_LAX, ACME, RELOADER, RUNTIME = 5105, 5106, 5107, 5108, 5109
MINTER, SELF, GROUP_GID = 5110, 5111, 4300


def pattern_principals():
    return [
        principal("support", [SUPPORT], ["one-workload"]),
        principal("vend", [VEND], ["deny-provider"]),
        principal("vend-keys", [VEND_KEYS], ["deny-apikey"]),
        principal("payroll", [PAYROLL], ["AgentVaultAgentAccess",
                                         "payroll-guard"]),
        principal("tenants", [TENANTS], ["tenant-abac", "mint-tokens"]),
        principal("tenants-lax", [TENANTS_LAX], ["tenant-abac",
                                                 "AgentVaultAgentAccess"]),
        principal("acme", [ACME], ["tenant-abac", "tenant-mint"],
                  tags={"tenant": "acme"}),
        principal("minter", [MINTER], ["tenant-mint"]),
        principal("self", [SELF], ["self-named"]),
        principal("group", (), ["group-vault"], gids=[GROUP_GID]),
        principal("reloader", [RELOADER], ["reloadable"]),
        principal("runtime-x", [RUNTIME],
                  ["mx-only-ListWorkloadIdentities"], kind="runtime"),
        principal("remote", (), ["remote-agent"],
                  subjects=["CN=remote-agent-1,O=Agents"]),
        principal("remote-admin", (), ["AgentVaultFullAccess"],
                  subjects=["CN=remote-admin,O=Agents"]),
    ]


def pattern_policies():
    for f in ("one-workload.yaml", "deny-provider.json", "tenant-abac.yaml"):
        with open(os.path.join(EXAMPLES, f)) as src:
            write_policy(f, src.read())
    # Seed pattern 2's Deny, on what exists: GetResourceApiKey.
    write_policy("deny-apikey.yaml", """Version: "2012-10-17"
Statement:
  - Sid: VendKeys
    Effect: Allow
    Action: bedrock-agentcore:GetResourceApiKey
    Resource: "*"
  - Sid: OnlyGithubKeys
    Effect: Deny
    Action: bedrock-agentcore:GetResourceApiKey
    Resource: "*"
    Condition:
      StringNotEquals:
        bedrock-agentcore:resourceCredentialProvider: github-provider
""")
    # docs/policy.md's variant: a sensitive provider from nowhere but
    # its designated workload.
    write_policy("payroll-guard.yaml", """Version: "2012-10-17"
Statement:
  - Sid: PayrollOnlyForPayrollAgent
    Effect: Deny
    Action: bedrock-agentcore:GetResourceApiKey
    Resource: "*"
    Condition:
      StringEquals:
        bedrock-agentcore:resourceCredentialProvider: payroll
      ArnNotEquals:
        bedrock-agentcore:workloadIdentityArn: %s
""" % wi_arn("payroll-agent"))
    write_policy("mint-tokens.yaml", doc(stmt(
        "MintTokens", "Allow", ["GetWorkloadAccessToken",
                                "GetWorkloadAccessTokenForUserId"])))
    write_policy("tenant-mint.yaml", doc(stmt(
        "MintOwnTenant", "Allow", ["GetWorkloadAccessToken",
                                   "GetWorkloadAccessTokenForUserId"],
        Condition={"StringEquals": {
            "aws:ResourceTag/tenant": "${aws:PrincipalTag/tenant}"}})))
    write_policy("remote-agent.yaml", doc(stmt(
        "MintOnly", "Allow", ["GetWorkloadAccessToken"],
        Condition={"StringEquals": {
            "agentvault:subject": "CN=remote-agent-1,O=Agents"}})))
    write_policy("self-named.yaml", doc(stmt(
        "OwnIdentity", "Allow", ["GetWorkloadAccessToken"],
        Resource=wi_arn("agent-${agentvault:uid}"))))
    write_policy("group-vault.yaml", doc(stmt(
        "ByGroup", "Allow", ["GetTokenVault"],
        Condition={"StringEquals": {"agentvault:gid": str(GROUP_GID)},
                   "NumericGreaterThanEquals": {"agentvault:uid": "6000"}})))
    write_policy("reloadable.yaml", RELOAD_V1)


def setup_resources():
    """Identities and providers of the patterns, made by the admin."""
    made = []
    for name, tags in (("support-agent", None), ("support-agent-2", None),
                       ("chat-agent", None), ("payroll-agent", None),
                       ("acme-agent", {"tenant": "acme"}),
                       ("globex-agent", None), ("plain-agent", None),
                       ("agent-%d" % SELF, None),
                       ("agent-%d" % (SELF + 1), None)):
        body = {"name": name}
        if tags:
            body["tags"] = tags
        made.append(op("CreateWorkloadIdentity", body)[0])
    for name, tags in (("github-provider", None), ("slack", None),
                       ("payroll", None), ("acme-key", {"tenant": "acme"}),
                       ("globex-key", None), ("plain-key", None)):
        body = {"name": name, "apiKey": name + "-value"}
        if tags:
            body["tags"] = tags
        made.append(op("CreateApiKeyCredentialProvider", body)[0])
    # globex's tags come afterwards, through TagResource.
    for arn in (wi_arn("globex-agent"), key_arn("globex-key")):
        made.append(req("POST", tags_path(arn),
                        {"tags": {"tenant": "globex"}})[0])
    ok(made == [200] * len(made), "the patterns' identities and providers "
       "exist, tagged tenant=acme at creation or tenant=globex afterwards",
       made)


def check(result, want, what):
    """want: ("allow", decision) or ("deny", decision)."""
    st, body, rid = result
    rec = audit_calls().get(rid, {})
    kind, why = want
    if kind == "allow":
        good = st == 200 and rec.get("outcome") == "allowed"
    else:
        good = denied(st, body) and rec.get("outcome") == "denied"
    ok(good and rec.get("decision") == why, "%s (%s)" % (what, why),
       (st, body, rec))
    return body


def allow(doc_name, sid):
    return ("allow", "Allow by %s statement %s" % (doc_name, sid))


def explicit(doc_name, sid):
    return ("deny", "ExplicitDeny by %s statement %s" % (doc_name, sid))


NONE = ("deny", IMPLICIT)


def test_one_workload():
    """Seed pattern 1: only support-agent's calls are allowed."""
    print("# seed pattern 1: one-workload.yaml")
    a = allow("one-workload", "SupportAgentEverything")
    body = check(op("GetWorkloadAccessToken", {"workloadName":
                                               "support-agent"},
                    SUPPORT, "agent.sock"), a,
                 "one-workload: support-agent's token is minted")
    tok = body.get("workloadAccessToken", "")
    body = check(api_key(tok, "github-provider", SUPPORT), a,
                 "one-workload: support-agent's token gets an API key")
    ok(body.get("apiKey") == "github-provider-value", "... the key", body)
    check(api_key(tok, "slack", SUPPORT), a,
          "one-workload: ... any provider's")
    check(op("GetWorkloadAccessTokenForUserId",
             {"workloadName": "support-agent", "userId": "u-1"},
             SUPPORT, "agent.sock"), a,
          "one-workload: ... and any operation that names it "
          "(a token for a user)")
    for other in ("chat-agent", "support-agent-2"):
        check(op("GetWorkloadAccessToken", {"workloadName": other},
                 SUPPORT, "agent.sock"), NONE,
              "one-workload: no token for %s" % other)
        check(api_key(mint(other), "github-provider", SUPPORT), NONE,
              "one-workload: %s's token (minted by the admin) gets no key"
              % other)
    check(op("get-token-vault", {}, SUPPORT), NONE,
          "one-workload: a call that carries no workload identity is "
          "denied (GetTokenVault)")
    check(op("ListApiKeyCredentialProviders", {}, SUPPORT), NONE,
          "one-workload: ... (ListApiKeyCredentialProviders)")


def test_deny_provider(table):
    """Seed pattern 2: a Deny unless the provider is github-provider."""
    print("# seed pattern 2: deny-provider.json, deny-apikey.yaml, "
          "payroll-guard.yaml")
    tok = mint("support-agent")
    v = allow("deny-provider", "VendCredentials")
    for prov in ("github-provider", "slack"):
        body = check(api_key(tok, prov, VEND), v, "deny-provider: "
                     "GetResourceApiKey for %s is allowed (the Deny is on "
                     "OAuth2 tokens)" % prov)
    method, path = [(r[0], r[1]) for r in table
                    if r[2] == "GetResourceOauth2Token"][0]
    for prov, want in (("github-provider", None),
                       ("slack", explicit("deny-provider",
                                          "OnlyGithubTokens")),
                       ("GitHub-Provider", explicit("deny-provider",
                                                    "OnlyGithubTokens"))):
        st, body, rid = req(method, path, {
            "workloadIdentityToken": tok,
            "resourceCredentialProviderName": prov,
            "scopes": ["repo"], "oauth2Flow": "M2M"}, VEND, "agent.sock")
        rec = audit_calls().get(rid, {})
        if want is None:
            ok(not denied(st, body) and rec.get("outcome") != "denied",
               "deny-provider: GetResourceOauth2Token for %s is not "
               "denied (%s)" % (prov, body.get("__type")), (st, body, rec))
        else:
            ok(denied(st, body) and rec.get("decision") == want[1],
               "deny-provider: GetResourceOauth2Token for %s (%s)" %
               (prov, want[1]), (st, body, rec))

    # The same Deny's shape on GetResourceApiKey, end to end.
    body = check(api_key(tok, "github-provider", VEND_KEYS),
                 allow("deny-apikey", "VendKeys"),
                 "deny-apikey: github-provider's key is vended")
    ok(body.get("apiKey") == "github-provider-value", "... the key", body)
    d = explicit("deny-apikey", "OnlyGithubKeys")
    check(api_key(tok, "slack", VEND_KEYS), d,
          "deny-apikey: slack's key is explicitly denied")
    check(api_key(tok, "GitHub-Provider", VEND_KEYS), d,
          "deny-apikey: ... and GitHub-Provider's (values are "
          "case-sensitive; refused before the name is looked up)")
    check(api_key(tok, "no-such-provider", VEND_KEYS), d,
          "deny-apikey: ... and a provider that does not exist (no "
          "existence oracle)")

    # The variant: a sensitive provider from its designated workload only.
    body = check(api_key(mint("payroll-agent"), "payroll", PAYROLL),
                 allow("AgentVaultAgentAccess", "AgentDataPlane"),
                 "payroll-guard: payroll-agent gets the payroll key")
    ok(body.get("apiKey") == "payroll-value", "... the key", body)
    check(api_key(tok, "payroll", PAYROLL),
          explicit("payroll-guard", "PayrollOnlyForPayrollAgent"),
          "payroll-guard: support-agent does not")
    check(api_key(tok, "slack", PAYROLL),
          allow("AgentVaultAgentAccess", "AgentDataPlane"),
          "payroll-guard: ... but gets other providers' keys")


def test_tenant_abac():
    """Seed pattern 3: tenant isolation by tags."""
    print("# seed pattern 3: tenant-abac.yaml")
    same = allow("tenant-abac", "SameTenant")
    mt = allow("mint-tokens", "MintTokens")
    acme = check(op("GetWorkloadAccessToken", {"workloadName": "acme-agent"},
                    TENANTS, "agent.sock"), mt,
                 "tenant-abac: the shared principal mints acme-agent's "
                 "token").get("workloadAccessToken", "")
    globex = check(op("GetWorkloadAccessToken",
                      {"workloadName": "globex-agent"}, TENANTS,
                      "agent.sock"), mt,
                   "tenant-abac: ... and globex-agent's").get(
                       "workloadAccessToken", "")
    plain = mint("plain-agent")
    body = check(api_key(acme, "acme-key", TENANTS), same,
                 "tenant-abac: acme's token gets acme's key")
    ok(body.get("apiKey") == "acme-key-value", "... the key", body)
    check(api_key(acme, "globex-key", TENANTS), NONE,
          "tenant-abac: acme's token is denied globex's key")
    body = check(api_key(globex, "globex-key", TENANTS), same,
                 "tenant-abac: globex's token gets globex's key (tags set "
                 "by TagResource)")
    ok(body.get("apiKey") == "globex-key-value", "... the key", body)
    check(api_key(globex, "acme-key", TENANTS), NONE,
          "tenant-abac: globex's token is denied acme's key")
    check(api_key(acme, "plain-key", TENANTS), NONE,
          "tenant-abac: an untagged provider is nobody's")
    check(api_key(plain, "acme-key", TENANTS), NONE,
          "tenant-abac: an untagged identity's token gets nothing (the "
          "variable has no value)")
    check(op("get-token-vault", {}, TENANTS), NONE,
          "tenant-abac: nothing else is allowed")

    # Tags are read at call time: re-tagging moves globex-agent to acme.
    st = req("POST", tags_path(wi_arn("globex-agent")),
             {"tags": {"tenant": "acme"}})[0]
    check(api_key(globex, "acme-key", TENANTS), same,
          "tenant-abac: once globex-agent is tagged tenant=acme (st %d), "
          "its token gets acme's key" % st)
    req("POST", tags_path(wi_arn("globex-agent")),
        {"tags": {"tenant": "globex"}})
    check(api_key(globex, "acme-key", TENANTS), NONE,
          "tenant-abac: ... and loses it when tagged back")

    # A principal's own tag wins over its workload identity's.
    check(api_key(globex, "acme-key", ACME), same,
          "tenant-abac: a principal tagged tenant=acme uses acme's key, "
          "whatever identity its token names")
    check(api_key(globex, "globex-key", ACME), NONE,
          "tenant-abac: ... and not globex's, even with globex's token")

    # Allows are a union: an unconditional vend beside ABAC defeats it.
    check(api_key(acme, "globex-key", TENANTS_LAX),
          allow("AgentVaultAgentAccess", "AgentDataPlane"),
          "tenant-abac beside AgentVaultAgentAccess: its unconditional "
          "Allow lets acme's token get globex's key (attach the agents' "
          "built-in policy only where no isolation is wanted)")

    # Minting a token is not acting as its identity: the identity's tags
    # are the resource's, never the caller's (aws:PrincipalTag).
    mint_own = allow("tenant-mint", "MintOwnTenant")
    check(op("GetWorkloadAccessToken", {"workloadName": "acme-agent"}, ACME,
             "agent.sock"), mint_own,
          "tenant-mint: a principal tagged tenant=acme mints acme-agent's "
          "token")
    check(op("GetWorkloadAccessToken", {"workloadName": "globex-agent"},
             ACME, "agent.sock"), NONE,
          "tenant-mint: ... and not globex-agent's")
    for name in ("acme-agent", "globex-agent"):
        for body in ({"workloadName": name},
                     {"workloadName": name, "userId": "u-1"}):
            what = "GetWorkloadAccessToken" + ("ForUserId" if "userId" in
                                               body else "")
            check(op(what, body, MINTER, "agent.sock"), NONE,
                  "tenant-mint: an untagged principal mints no token for "
                  "%s (%s): the identity's tags are not the caller's" %
                  (name, what))

    # Creating for one's own tenant, with no other tag keys.
    create = allow("tenant-abac", "CreateForOwnTenant")
    check(op("CreateApiKeyCredentialProvider", {
        "name": "acme-new", "apiKey": "k",
        "tags": {"tenant": "acme", "owner": "x"}}, ACME), create,
        "tenant-abac: an acme principal creates a provider tagged "
        "{tenant: acme, owner: x}")
    for tags, what in (({"tenant": "globex"}, "{tenant: globex}"),
                       ({"tenant": "acme", "cost": "1"},
                        "{tenant: acme, cost: 1}"),
                       (None, "no tags")):
        body = {"name": "acme-bad", "apiKey": "k"}
        if tags is not None:
            body["tags"] = tags
        check(op("CreateApiKeyCredentialProvider", body, ACME), NONE,
              "tenant-abac: ... but not one tagged %s" % what)
    ok(op("GetApiKeyCredentialProvider", {"name": "acme-bad"})[0] == 404,
       "tenant-abac: a denied create creates nothing")
    check(op("CreateWorkloadIdentity", {"name": "acme-wi",
                                        "tags": {"tenant": "acme"}}, ACME),
          NONE, "tenant-abac: Create*CredentialProvider does not match "
          "CreateWorkloadIdentity")


def test_caller_keys():
    """agentvault:uid and agentvault:gid, in a Resource's variable and in
    conditions (agentvault:subject: test_tcp)."""
    own = allow("self-named", "OwnIdentity")
    check(op("GetWorkloadAccessToken", {"workloadName": "agent-%d" % SELF},
             SELF, "agent.sock"), own,
          "agentvault:uid: a Resource of workload-identity/agent-"
          "${agentvault:uid} lets uid %d mint agent-%d's token" %
          (SELF, SELF))
    check(op("GetWorkloadAccessToken",
             {"workloadName": "agent-%d" % (SELF + 1)}, SELF, "agent.sock"),
          NONE, "agentvault:uid: ... and not agent-%d's" % (SELF + 1))
    st, body, rid = req("POST", "/identities/get-token-vault", {}, 6001,
                        gid=GROUP_GID)
    rec = audit_calls().get(rid, {})
    ok(st == 200 and rec.get("decision") ==
       "Allow by group-vault statement ByGroup" and
       rec.get("caller", {}).get("principal") == "group",
       "agentvault:gid and agentvault:uid: a caller matched by its group is "
       "allowed on its gid and uid", (st, body, rec))
    st, body, rid = req("POST", "/identities/get-token-vault", {}, 5999,
                        gid=GROUP_GID)
    rec = audit_calls().get(rid, {})
    ok(denied(st, body) and rec.get("decision") == IMPLICIT and
       rec.get("caller", {}).get("principal") == "group",
       "... and denied on a uid under 6000", (st, body, rec))


def test_runtime_kind():
    """A runtime principal passes the transport rule for the directory on
    the agent socket; its policy decides the rest."""
    a = allow("mx-only-ListWorkloadIdentities", "OnlyThis")
    check(op("ListWorkloadIdentities", {}, RUNTIME, "agent.sock"), a,
          "a runtime principal lists its identities on the agent socket")
    check(op("GetWorkloadIdentity", {"name": "support-agent"}, RUNTIME,
             "agent.sock"), NONE,
          "... and is denied by its policy what it does not allow")
    st, body, rid = op("get-token-vault", {}, RUNTIME, "agent.sock")
    rec = audit_calls().get(rid, {})
    ok(denied(st, body) and rec.get("decision", "").startswith("transport:"),
       "... and has no control plane on the agent socket", (st, body, rec))


# ---- SIGHUP --------------------------------------------------------------

RELOAD_V1 = """Version: "2012-10-17"
Statement:
  - Sid: VaultV1
    Effect: Allow
    Action: bedrock-agentcore:GetTokenVault
    Resource: "*"
"""
RELOAD_V2 = """Version: "2012-10-17"
Statement:
  - Sid: ListV2
    Effect: Allow
    Action: bedrock-agentcore:ListApiKeyCredentialProviders
    Resource: "*"
  - Sid: NoVaultV2
    Effect: Deny
    Action: bedrock-agentcore:GetTokenVault
    Resource: "*"
"""
RELOAD_BROKEN = """Version: "2012-10-17"
Statement:
  - Sid: Broken
    Effect: Maybe
    Action: bedrock-agentcore:GetTokenVault
    Resource: "*"
"""


def load_policies_records():
    with open(AUDIT) as f:
        return [json.loads(line) for line in f
                if '"operation":"LoadPolicies"' in line]


def file_hashes():
    out = {}
    for f in os.listdir(POLICY_DIR):
        stem, ext = os.path.splitext(f)
        if ext in (".yaml", ".yml", ".json"):
            with open(os.path.join(POLICY_DIR, f), "rb") as fh:
                out[stem] = hashlib.sha256(fh.read()).hexdigest()
    return out


def kill_worker(d):
    """kill -9 the worker; True when another one serves."""
    pid = d.worker_pid()
    if pid is None:
        return False
    os.kill(pid, td.signal.SIGKILL)
    deadline = time.time() + 20 * td.SLOW
    while time.time() < deadline and d.worker_pid() in (pid, None):
        time.sleep(0.1)
    return d.wait_ready() and d.worker_pid() not in (pid, None)


def test_reload(d, conf):
    print("# SIGHUP")
    check(op("get-token-vault", {}, RELOADER), allow("reloadable", "VaultV1"),
          "reload: version 1 of reloadable.yaml allows GetTokenVault")
    check(op("ListApiKeyCredentialProviders", {}, RELOADER), NONE,
          "reload: ... and nothing else")
    write_policy("reloadable.yaml", RELOAD_V2)
    ok(td.reload_worker(d), "reload: SIGHUP after changing the file")
    check(op("get-token-vault", {}, RELOADER),
          explicit("reloadable", "NoVaultV2"),
          "reload: the next call follows version 2 (an explicit deny)")
    check(op("ListApiKeyCredentialProviders", {}, RELOADER),
          allow("reloadable", "ListV2"),
          "reload: ... which allows what version 1 did not")
    loads = load_policies_records()
    last = loads[-1] if loads else {}
    ok(last.get("caller") == {"listener": "configuration",
                              "event": "SIGHUP"} and
       last.get("resource") == POLICY_DIR and
       last.get("detail", {}).get("policyFiles") == file_hashes() and
       last["detail"]["policyFiles"]["reloadable"] ==
       hashlib.sha256(RELOAD_V2.encode()).hexdigest() and
       last["detail"]["principals"].get("reloader") == ["reloadable"],
       "reload: a LoadPolicies record (event SIGHUP) lists every file's "
       "SHA-256 and each principal's policies",
       json.dumps(last)[:1500])

    nloads = len(loads)
    before = d.worker_pid()
    mark = len(td.log_text())
    write_policy("reloadable.yaml", RELOAD_BROKEN)
    d.proc.send_signal(td.signal.SIGHUP)
    deadline = time.time() + 20 * td.SLOW
    text = ""
    while time.time() < deadline:
        text = td.log_text()[mark:]
        if "reload refused" in text:
            break
        time.sleep(0.1)
    where = os.path.join(POLICY_DIR, "reloadable.yaml") + ":4:13: "
    ok("reload refused" in text and where in text and
       "Effect must be Allow or Deny" in text,
       "reload: a broken file is refused, the log names it with line and "
       "column", text[-1500:])
    ok(d.worker_pid() == before, "reload: ... the worker keeps serving")
    check(op("get-token-vault", {}, RELOADER),
          explicit("reloadable", "NoVaultV2"),
          "reload: ... with the policies it had (version 2)")
    ok(len(load_policies_records()) == nloads,
       "reload: ... and no LoadPolicies record for the refused reload")

    # A worker started later (a crash) gets what the parent accepted, not
    # what the files now say: neither the broken file nor, without SIGHUP,
    # valid edits of a policy or of the configuration.
    ok(kill_worker(d), "reload: a worker killed after the refused reload "
       "is restarted (the broken file does not stop the appliance)")
    check(op("get-token-vault", {}, RELOADER),
          explicit("reloadable", "NoVaultV2"),
          "reload: ... and enforces version 2")
    write_policy("reloadable.yaml", RELOAD_V1)
    with open(conf) as f:
        text = f.read()
    edited = text.replace('"name": "reloader", "uids": [%d], "policies": '
                          '["reloadable"]' % RELOADER,
                          '"name": "reloader", "uids": [%d], "policies": '
                          '["AgentVaultFullAccess"]' % RELOADER)
    with open(conf, "w") as f:
        f.write(edited)
    ok(edited != text and kill_worker(d), "reload: a worker killed after "
       "the files were edited without SIGHUP is restarted")
    check(op("get-token-vault", {}, RELOADER),
          explicit("reloadable", "NoVaultV2"),
          "reload: ... and enforces what was last accepted and audited, "
          "not the edited policy file or principals")
    ok(len(load_policies_records()) == nloads,
       "reload: ... and no LoadPolicies record for the edits")
    with open(conf, "w") as f:
        f.write(text)
    ok(td.reload_worker(d), "reload: SIGHUP after fixing the file")
    check(op("get-token-vault", {}, RELOADER), allow("reloadable", "VaultV1"),
          "reload: version 1 is in force again")
    last = load_policies_records()[-1]
    ok(last["detail"]["policyFiles"]["reloadable"] ==
       hashlib.sha256(RELOAD_V1.encode()).hexdigest(),
       "reload: ... and audited with its hash")


# ---- main ----------------------------------------------------------------

def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.makedirs(POLICY_DIR)
    os.chmod(POLICY_DIR, 0o755)
    os.chmod(td.TOKDIR, 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token"), 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token", "softhsm2.conf"), 0o644)
    subprocess.run(["chown", "-R", "nobody",
                    os.path.join(td.TOKDIR, "token", "tokens")])
    ca, certs = make_clients()
    port = td.free_port()
    pattern_policies()
    conf = os.path.join(WORK, "agentvault.yaml")
    configure(conf, [], port, ca)
    d = td.Daemon(conf)
    if not ok(d.wait_ready(), "the daemon starts with a policy directory",
              td.log_text()):
        d.stop()
        print("1..%d" % td.n)
        return 1
    try:
        test_matrix(d, conf, port, ca)
        configure(conf, pattern_principals(), port, ca)
        ok(td.reload_worker(d), "SIGHUP puts the patterns' principals in "
           "force", td.log_text()[-2000:])
        setup_resources()
        test_one_workload()
        test_deny_provider(routes())
        test_tenant_abac()
        test_caller_keys()
        test_runtime_kind()
        test_tcp(port, certs)
        test_reload(d, conf)
    finally:
        rc = d.stop()
    ok(rc == 0, "the daemon stops cleanly (%s)" % rc)
    r = subprocess.run([td.VERIFY, "--key", os.path.join(td.TOKDIR,
                                                          "audit-key.pem"),
                        AUDIT], capture_output=True, text=True)
    ok(r.returncode == 0 and r.stdout.startswith("OK"),
       "the audit trail verifies", r.stdout + r.stderr)
    text = td.log_text()
    bad = [line for line in text.splitlines() if "Sanitizer" in line or
           "runtime error" in line or ("ERROR SUMMARY" in line and
                                       "ERROR SUMMARY: 0 " not in line)]
    ok(not bad, "no sanitizer or valgrind report from the daemon", bad[:5])
    print("1..%d" % td.n)
    return 1 if td.failed else 0


if __name__ == "__main__":
    sys.exit(main())
