#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_vendors_flows.py - the vendor presets' quirks end to end (suite
"oauth"): the real daemon reaches the presets' real host names through the
vendor emulator (vendors.mjs as its HTTPS proxy, trusted by its test CA),
a person consents at once at the emulated authorization endpoint, the
browser's way back goes through the appliance's callback (TLS on its TCP
listener) to the caller's return URL, then CompleteResourceTokenAuth and
the token.  One test per quirk: GitHub's form-encoded answers and errors
with status 200, Slack's user scopes and authed_user token, Google's and
Atlassian's authorization parameters and refresh, Salesforce's
instance_url, Microsoft's tenant endpoints, client credentials and AADSTS
errors.

Prints TAP.  Needs the test token (tests/setup-token.sh's variables) and
the node modules of tests/oauth.
"""
import http.client
import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import test_daemon as td  # noqa: E402

td.WORK = os.path.join(td.TOKDIR, "oauthvendors")
WL = "agent-vendors"
TENANT = "contoso.onmicrosoft.com"
TTL = 10        # the refreshed vendors' token lifetime: cached for 5 s
CLIENTS = {     # emulated vendor: (client_id, secret, more)
    "github": ("gh-app", "gh-secret", {"expiring": True}),
    "slack": ("sl-app", "sl-secret", {"rotation": True}),
    "google": ("gg-app", "gg-secret", {}),
    "atlassian": ("at-app", "at-secret", {}),
    "salesforce": ("sf-app", "sf-secret", {}),
    "microsoft": ("ms-app", "ms-secret", {}),
}


def ok(cond, name, detail=""):
    return td.ok(cond, name, detail)


def call(op, body):
    st, doc, _ = td.request("POST", "/identities/" + op, body)
    return st, doc


def query(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def query_all(url):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)


def daemon_log():
    with open(os.path.join(td.WORK, "daemon.log"), errors="replace") as f:
        return f.read()


def appliance_get(url):
    """A browser's GET at the appliance's TCP listener (its CA trusted):
    (status, Location)."""
    u = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(cafile=os.path.join(td.TOKDIR,
                                                         "ca.pem"))
    c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx,
                                    timeout=20 * td.SLOW)
    try:
        c.request("GET", u.path + "?" + u.query)
        r = c.getresponse()
        r.read()
        return r.status, r.getheader("Location") or ""
    finally:
        c.close()


def stored_extra(provider):
    """The extras the vault keeps with the provider's tokens."""
    db = os.path.join(td.WORK, "state", "agentvault.db")
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return [json.loads(r[0]) for r in con.execute(
            "SELECT extra FROM oauth_tokens WHERE provider = ?",
            (provider,))]
    finally:
        con.close()


class Flow:
    """An identity with a return URL on a ReturnServer, alice's workload
    access token, and the person at the emulated vendors."""

    def __init__(self, v, app):
        self.v, self.app = v, app
        self.ret = app.url("/back")
        st, doc = call("CreateWorkloadIdentity", {
            "name": WL, "allowedResourceOauth2ReturnUrls": [self.ret]})
        assert st == 200, doc
        st, doc = call("GetWorkloadAccessTokenForUserId", {
            "workloadName": WL, "userId": "alice"})
        self.alice = doc["workloadAccessToken"]
        st, doc = call("GetWorkloadAccessToken", {"workloadName": WL})
        self.app_token = doc["workloadAccessToken"]

    def ask(self, prov, scopes, **more):
        body = {"workloadIdentityToken": self.alice,
                "resourceCredentialProviderName": prov,
                "scopes": list(scopes), "oauth2Flow": "USER_FEDERATION",
                "resourceOauth2ReturnUrl": self.ret}
        body.update(more)
        return td.request("POST", "/identities/oauth2/token", body)[:2]

    def m2m(self, prov, scopes):
        return td.request("POST", "/identities/oauth2/token", {
            "workloadIdentityToken": self.app_token,
            "resourceCredentialProviderName": prov,
            "scopes": list(scopes), "oauth2Flow": "M2M"})[:2]

    def consent(self, prov, scopes, **more):
        """The whole three-legged flow: a session, the vendor's consent,
        the appliance's callback, the return URL, the binding and the
        token.  A dict of what happened on the way."""
        r = {"token": None}
        st, doc = self.ask(prov, scopes, forceAuthentication=True, **more)
        r["start"] = doc
        if st != 200 or "authorizationUrl" not in doc:
            return r
        r["url"], r["uri"] = doc["authorizationUrl"], doc["sessionUri"]
        st, loc = self.v.authorize(r["url"])
        r["authorize"] = (st, loc)
        if st != 302 or "/identities/oauth2/callback?" not in loc:
            return r
        st, back = appliance_get(loc)
        r["callback"], r["back"] = st, back
        if st != 302 or not back.startswith(self.ret + "?"):
            return r
        r["landed"] = harness.http("GET", back)[0]
        r["back_query"] = query(back)
        if "error" in r["back_query"]:
            return r
        r["complete"] = call("CompleteResourceTokenAuth", {
            "sessionUri": r["uri"], "userIdentifier": {"userId": "alice"}})
        st, doc = self.ask(prov, scopes, sessionUri=r["uri"])
        r["poll"] = doc
        r["token"] = doc.get("accessToken")
        return r

    def grants(self, vendor, grant_type=None):
        return [e for e in self.v.requests(vendor, "token")
                if grant_type in (None, e.get("grant_type"))]


def provider(name, vendor, secret=None, tenant=None):
    cid, sec, _ = CLIENTS[vendor]
    return call("CreateOauth2CredentialProvider", harness.vendor_provider(
        name, vendor, cid, secret or sec, tenant=tenant))


def failed_flow(f, vendor, prov, scopes, error, name):
    """The vendor's token endpoint answers error (its own format): the
    browser is sent back with error=<code>, the session is FAILED and
    the daemon's log names the code, never the vendor's whole answer."""
    f.v.fail(vendor, error)
    r = f.consent(prov, scopes)
    ok(r.get("back_query", {}).get("error") == error and
       r.get("back_query", {}).get("session_id") == r.get("uri"),
       "%s: back at the return URL with error=%s" % (name, error), r)
    st, poll = f.ask(prov, scopes, sessionUri=r.get("uri", ""))
    ok(st == 200 and poll.get("sessionStatus") == "FAILED" and
       "accessToken" not in poll, "%s: the session is FAILED" % name, poll)
    return r


def refreshed(f, vendor, prov, scopes, first):
    """After the token's lifetime a request gets a new one from exactly
    one refresh_token grant."""
    before = len(f.grants(vendor, "refresh_token"))
    time.sleep(TTL / 2 + 1)
    st, doc = f.ask(prov, scopes)
    tok = doc.get("accessToken")
    n = len(f.grants(vendor, "refresh_token")) - before
    return st == 200 and tok and tok != first and n == 1, tok, doc


def test_github(f):
    ok(provider("gh", "github")[0] == 200, "GitHub: a GithubOauth2 "
       "provider (the preset's real endpoints)")
    scopes = ["repo", "read:user"]
    r = f.consent("gh", scopes)
    u = urllib.parse.urlsplit(r.get("url", ""))
    ok(u.hostname == "github.com" and u.path == "/login/oauth/authorize"
       and query(r.get("url", "")).get("scope") == "repo read:user",
       "GitHub: the authorization URL is github.com's, scopes "
       "space-separated", r.get("url"))
    tok = r["token"]
    info = f.v.introspect(tok) if tok else {}
    ok(tok and tok.startswith("gho_") and info.get("user") == "alice" and
       info.get("kind") == "user", "GitHub: consent, callback, return URL, "
       "binding: alice's user token", r)
    g = f.grants("github", "authorization_code")
    ok(g and "application/json" in (g[-1].get("accept") or "") and
       g[-1]["auth_method"] == "client_secret_post" and
       g[-1]["status"] == 200,
       "GitHub: the code exchange asks for JSON (GitHub answers "
       "form-encoded otherwise), client_secret_post", g[-1:])
    st, doc = f.ask("gh", list(reversed(scopes)))
    ok(st == 200 and tok and doc.get("accessToken") == tok,
       "GitHub: its comma-separated granted scopes cover a new request",
       doc)
    failed_flow(f, "github", "gh", scopes, "bad_verification_code",
                "GitHub's error with status 200")
    ok("the identity provider answered bad_verification_code (HTTP 200)"
       in daemon_log(), "GitHub: the log names GitHub's error code")
    ok(provider("gh-wrong", "github", secret="not-it")[0] == 200,
       "GitHub: a provider with a wrong client secret")
    failed_flow(f, "github", "gh-wrong", scopes,
                "incorrect_client_credentials", "GitHub, wrong secret")
    f.v.ignore_accept("github")
    r = f.consent("gh", ["gist"])
    tok2 = r["token"]
    st, doc = f.ask("gh", ["gist"])
    ok(tok2 and tok2.startswith("gho_") and doc.get("accessToken") == tok2,
       "GitHub answering form-encoded (Accept ignored): the token and its "
       "comma-separated scopes parsed, stored and reused", r)
    failed_flow(f, "github", "gh", ["gist"], "bad_verification_code",
                "GitHub's form-encoded error with status 200")
    f.v.ignore_accept("github", False)
    good, new, doc = refreshed(f, "github", "gh", scopes, tok)
    ok(good and new.startswith("gho_"), "GitHub (expiring user tokens): "
       "expired, refreshed", doc)
    time.sleep(TTL / 2 + 1)
    f.v.fail("github", "bad_refresh_token")
    st, doc = f.ask("gh", scopes)
    ok(st == 200 and doc.get("sessionStatus") == "IN_PROGRESS" and
       "authorizationUrl" in doc, "GitHub: a refresh answered "
       "bad_refresh_token (status 200) starts consent again", doc)
    ok(call("DeleteOauth2CredentialProvider", {"name": "gh-wrong"})[0] ==
       200, "GitHub: deleted (the providers' quota)")


def test_slack(f):
    ok(provider("sl", "slack")[0] == 200, "Slack: a SlackOauth2 provider")
    scopes = ["chat:write", "users:read"]
    r = f.consent("sl", scopes)
    q = query_all(r.get("url", ""))
    ok(q.get("user_scope") == ["chat:write,users:read"] and
       not q.get("scope"),
       "Slack: the scopes are asked as user scopes (user_scope, "
       "comma-separated), no bot scope", r.get("url"))
    tok = r["token"]
    info = f.v.introspect(tok) if tok else {}
    ok(tok and tok.startswith("xoxp-") and info.get("kind") == "user" and
       info.get("user") == "alice" and
       info.get("scope") == "chat:write,users:read",
       "Slack: the agent gets alice's user token from authed_user, not a "
       "bot token", (r, info))
    g = f.grants("slack", "authorization_code")
    ok(g and g[-1]["auth_method"] == "client_secret_basic",
       "Slack: HTTP Basic client authentication, as Slack asks", g[-1:])
    st, doc = f.ask("sl", scopes)
    ok(st == 200 and tok and doc.get("accessToken") == tok,
       "Slack: the stored user token is reused", doc)
    good, new, doc = refreshed(f, "slack", "sl", scopes, tok)
    info = f.v.introspect(new) if new else {}
    ok(good and new.startswith("xoxp-") and info.get("kind") == "user" and
       info.get("active"), "Slack: expired, refreshed (token rotation): "
       "alice's new user token", (doc, info))
    good, newer, doc = refreshed(f, "slack", "sl", scopes, new)
    ok(good, "Slack: refreshed again with the rotated refresh token", doc)
    st, doc = f.ask("sl", scopes, forceAuthentication=True,
                    customParameters={"user_scope": "admin"})
    ok(st == 400 and "user_scope" in doc.get("message", ""),
       "Slack: a custom parameter may not replace user_scope", doc)
    time.sleep(TTL / 2 + 1)
    f.v.fail("slack", "invalid_refresh_token")
    st, doc = f.ask("sl", scopes)
    ok(st == 200 and doc.get("sessionStatus") == "IN_PROGRESS",
       "Slack: a refresh answered invalid_refresh_token starts consent "
       "again", doc)
    failed_flow(f, "slack", "sl", scopes, "invalid_code",
                "Slack's ok:false error")
    ok("the identity provider answered invalid_code (HTTP 200)" in
       daemon_log(), "Slack: the log names Slack's error code")


def test_google(f):
    ok(provider("gg", "google")[0] == 200, "Google: a GoogleOauth2 "
       "provider")
    scopes = ["openid", "https://www.googleapis.com/auth/drive.readonly"]
    r = f.consent("gg", scopes)
    q = query(r.get("url", ""))
    ok(q.get("access_type") == "offline" and q.get("prompt") == "consent"
       and urllib.parse.urlsplit(r.get("url", "")).hostname ==
       "accounts.google.com",
       "Google: access_type=offline and prompt=consent in the "
       "authorization URL", r.get("url"))
    tok = r["token"]
    ok(tok and tok.startswith("ya29.") and
       f.v.introspect(tok).get("user") == "alice",
       "Google: alice's token through the consent", r)
    good, new, doc = refreshed(f, "google", "gg", scopes, tok)
    ok(good, "Google: a refresh token came back; expired, the token is "
       "refreshed", doc)
    good, newer, doc = refreshed(f, "google", "gg", scopes, new)
    ok(good, "Google: and again (Google's refresh answer has no new "
       "refresh token: the first one is kept)", doc)


def test_atlassian(f):
    ok(provider("at", "atlassian")[0] == 200, "Atlassian: an "
       "AtlassianOauth2 provider")
    scopes = ["read:jira-work", "offline_access"]
    r = f.consent("at", scopes)
    q = query_all(r.get("url", ""))
    ok(q.get("audience") == ["api.atlassian.com"] and
       q.get("prompt") == ["consent"],
       "Atlassian: audience=api.atlassian.com and prompt=consent in the "
       "authorization URL (the emulator refuses it otherwise)",
       r.get("url"))
    tok = r["token"]
    ok(tok and tok.startswith("atl-"), "Atlassian: the token through the "
       "consent", r)
    good, new, doc = refreshed(f, "atlassian", "at", scopes, tok)
    ok(good, "Atlassian: expired, refreshed", doc)
    good, newer, doc = refreshed(f, "atlassian", "at", scopes, new)
    ok(good, "Atlassian: refreshed again with the rotated refresh token "
       "(the old one is invalid_grant)", doc)
    st, doc = f.ask("at", ["read:jira-user"], forceAuthentication=True,
                    audiences=["api.atlassian.com"])
    q = query_all(doc.get("authorizationUrl", ""))
    ok(q.get("audience") == ["api.atlassian.com"], "Atlassian: audiences "
       "given by the caller replace the preset's, not doubled", q)


def test_salesforce(f):
    ok(provider("sf", "salesforce")[0] == 200, "Salesforce: a "
       "SalesforceOauth2 provider")
    scopes = ["api", "refresh_token"]
    r = f.consent("sf", scopes)
    tok = r["token"]
    ok(tok and tok.startswith("00DEMULATED!") and set(r.get("poll", {}))
       == {"accessToken"}, "Salesforce: the token, and only it, in "
       "AgentCore's answer", r)
    extra = stored_extra("sf")
    ok(extra and extra[0].get("instance_url") ==
       "https://emulated.my.salesforce.com" and
       extra[0].get("id", "").startswith("https://login.salesforce.com/id/")
       and "access_token" not in extra[0],
       "Salesforce: instance_url (and the identity URL) kept in the vault "
       "with the token", extra)
    st, doc = f.ask("sf", scopes)
    ok(st == 200 and tok and doc.get("accessToken") == tok,
       "Salesforce: no expires_in; the token is reused", doc)
    st, doc = f.m2m("sf", ["api"])
    tok = doc.get("accessToken")
    ok(st == 200 and tok and f.v.introspect(tok).get("kind") == "app",
       "Salesforce: client credentials (M2M)", doc)
    ok(len([e for e in stored_extra("sf") if e.get("instance_url")]) == 2,
       "Salesforce: instance_url kept with the M2M token too",
       stored_extra("sf"))


def test_microsoft(f):
    ok(provider("ms", "microsoft", tenant=TENANT)[0] == 200 and
       provider("ms-common", "microsoft")[0] == 200,
       "Microsoft: providers for a tenant and for 'common'")
    scopes = ["openid", "offline_access", "User.Read"]
    r = f.consent("ms", scopes)
    u = urllib.parse.urlsplit(r.get("url", ""))
    tok = r["token"]
    info = f.v.introspect(tok) if tok else {}
    ok(u.path == "/%s/oauth2/v2.0/authorize" % TENANT and tok and
       info.get("tenant") == TENANT and info.get("user") == "alice",
       "Microsoft: 3LO on the tenant's /{tenant}/oauth2/v2.0 endpoints",
       (r, info))
    g = f.grants("microsoft", "authorization_code")
    ok(g and g[-1]["path"] == "/%s/oauth2/v2.0/token" % TENANT,
       "Microsoft: the code redeemed at the tenant's token endpoint",
       g[-1:])
    r = f.consent("ms-common", ["openid", "User.Read"])
    ok(urllib.parse.urlsplit(r.get("url", "")).path ==
       "/common/oauth2/v2.0/authorize" and r["token"],
       "Microsoft: without tenantId, the 'common' endpoints", r)
    failed_flow(f, "microsoft", "ms", scopes, "invalid_grant",
                "Microsoft's AADSTS error")
    log = daemon_log()
    ok("the identity provider answered invalid_grant (HTTP 400)" in log
       and "AADSTS" not in log and "Trace ID" not in log,
       "Microsoft: the error is mapped to its `error` code; the AADSTS "
       "description is not echoed")
    graph = "https://graph.microsoft.com/.default"
    st, doc = f.m2m("ms", [graph])
    tok = doc.get("accessToken")
    info = f.v.introspect(tok) if tok else {}
    g = f.grants("microsoft", "client_credentials")
    ok(st == 200 and info.get("kind") == "app" and
       info.get("tenant") == TENANT and g and
       g[-1]["params"].get("scope") == graph,
       "Microsoft: M2M with the tenant and RESOURCE/.default", (doc, info))
    st, doc = f.m2m("ms-common", [graph])
    ok(st == 400 and "invalid_request" in doc.get("message", "") and
       "AADSTS" not in doc.get("message", ""),
       "Microsoft: M2M on 'common' is refused naming the error code", doc)
    st, doc = f.m2m("ms", ["User.Read"])
    ok(st == 400 and "invalid_scope" in doc.get("message", ""),
       "Microsoft: M2M without /.default: invalid_scope", doc)
    ok(provider("ms-wrong", "microsoft", secret="nope", tenant=TENANT)[0]
       == 200, "Microsoft: a provider with a wrong client secret")
    st, doc = f.m2m("ms-wrong", [graph])
    msg = doc.get("message", "")
    ok(st >= 400 and "invalid_client" in msg and "AADSTS" not in msg and
       "nope" not in msg, "Microsoft: a wrong secret (AADSTS7000215) is "
       "invalid_client, nothing echoed", doc)


def daemon_config(port, ca_file):
    conf = os.path.join(td.WORK, "vendors.yaml")
    td.write_config(conf, "outbound:\n  ca_bundle: %s\n" % ca_file)
    with open(conf) as f:
        text = f.read()
    text = text.replace("hsm:\n", "listen:\n  tcp:\n    address: 127.0.0.1\n"
                        "    port: %d\n    public_name: localhost\nhsm:\n" %
                        port, 1)
    with open(conf, "w") as f:
        f.write(text)
    return conf


def main():
    shutil.rmtree(td.WORK, ignore_errors=True)
    os.makedirs(td.WORK)
    # The sandboxed worker runs as nobody and must reach the token files.
    os.chmod(td.TOKDIR, 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token"), 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token", "softhsm2.conf"), 0o644)
    subprocess.run(["chown", "-R", "nobody", os.path.join(
        td.TOKDIR, "token", "tokens")])
    port = td.free_port()
    callback = "https://localhost:%d/identities/oauth2/callback" % port
    clients = [dict(more, vendor=v, client_id=c, client_secret=s,
                    redirect_uris=[callback])
               for v, (c, s, more) in CLIENTS.items()]
    vdir = os.path.join(td.WORK, "vendors")
    os.makedirs(vdir)
    cfg = {"clients": clients, "tenants": [TENANT],
           "ttl": {"github": TTL, "slack": TTL, "google": TTL, "atlassian": TTL}}
    with harness.Vendors(cfg, workdir=vdir) as v, \
            harness.ReturnServer() as app:
        d = td.Daemon(daemon_config(port, v.ca_file), env=v.daemon_env())
        try:
            ok(d.wait_ready(), "the daemon serves with a TCP listener, the "
               "emulator as its HTTPS proxy")
            f = Flow(v, app)
            for t in (test_github, test_slack, test_google, test_atlassian,
                      test_salesforce, test_microsoft):
                t(f)
            ok(d.proc.poll() is None, "the daemon is still serving")
        finally:
            d.stop()
    print("1..%d" % td.n)
    return 1 if td.failed else 0


if __name__ == "__main__":
    sys.exit(main())
