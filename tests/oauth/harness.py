# SPDX-License-Identifier: Apache-2.0
"""harness.py - the OAuth test harness for the Python integration tests:
a real OpenID provider (idp.mjs, npm oidc-provider) on loopback and a
person at a headless Chromium (browser.mjs).  Standard library only.

    from harness import IdP, browser_login
    with IdP({"clients": [...], "ttl": {...}}) as idp:
        idp.issuer, idp.discovery(), idp.token({...}, basic=(id, secret))
        idp.mode("500", times=1); idp.requests(); idp.revoke(token)
        url = browser_login(auth_url, "alice", "pw", stop_at_prefix=cb)

The node modules come from tests/oauth/package-lock.json (npm ci; run.sh
installs them before the suites that need them).  Environment: NODE (the
node program), CHROMIUM (default /usr/bin/chromium).  docs/testing.md has
the configuration keys and the knobs.
"""
import atexit
import base64
import hashlib
import json
import os
import secrets
import selectors
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (its Location), never followed."""

    def redirect_request(self, *args):
        return None


# Loopback only: never through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                      _NoRedirect)
_running = set()
# The oldest Node.js major the pinned modules run on (also node-version.mjs).
NODE_MIN = 18
_node_ok = None


class HarnessError(Exception):
    pass


class BrowserError(HarnessError):
    """browser.mjs failed: .status is its exit status (1 the provider
    showed an error, 3 timed out, 4 Chromium could not start)."""

    def __init__(self, status, message):
        super().__init__("browser.mjs exited %d: %s" % (status, message))
        self.status = status


def node():
    """The node program, or HarnessError when it is missing or older than
    NODE_MIN (the pinned node modules need it)."""
    global _node_ok
    n = os.environ.get("NODE") or shutil.which("node")
    if not n:
        raise HarnessError("node not found (make deps installs nodejs)")
    if _node_ok != n:
        try:
            v = subprocess.run([n, "-p", "process.versions.node"],
                               capture_output=True, timeout=20,
                               env=_node_env()).stdout.decode().strip()
        except (OSError, subprocess.TimeoutExpired) as e:
            raise HarnessError("%s does not run: %s" % (n, e))
        major = v.split(".")[0]
        if not major.isdigit() or int(major) < NODE_MIN:
            raise HarnessError("%s is Node.js %s: the OAuth harness needs "
                               "%d or later (Debian 12's nodejs is 18)" %
                               (n, v or "of no known version", NODE_MIN))
        _node_ok = n
    return n


def chromium():
    """The Chromium program, or None when it is not installed."""
    c = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    return c if os.access(c, os.X_OK) else None


def _modules():
    if not os.path.isdir(os.path.join(HERE, "node_modules", "oidc-provider")):
        raise HarnessError("%s/node_modules missing: run 'npm ci' there "
                           "(tests/run.sh does)" % HERE)


def _node_env():
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    env.pop("NODE_OPTIONS", None)
    return env


def http(method, url, body=None, headers=None, timeout=10):
    """One request; returns (status, headers, body bytes).  An HTTP error
    status or a redirect is an answer, not an exception nor followed; a
    timeout raises OSError."""
    req = urllib.request.Request(url, data=body, method=method,
                                 headers=headers or {})
    try:
        with _opener.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


def discovery(issuer):
    """The provider's /.well-known/openid-configuration."""
    status, _, body = http("GET", issuer + "/.well-known/openid-configuration")
    if status != 200:
        raise HarnessError("discovery: %d" % status)
    return json.loads(body)


def _json(body):
    try:
        return json.loads(body)
    except ValueError:
        return None


class _Server:
    """A node program of the harness (SCRIPT) with a configuration (a
    dict, see docs/testing.md), in a work directory of its own
    (config.json, NAME.log); .base is the URL it printed when ready."""
    SCRIPT = None
    NAME = None

    def __init__(self, config, workdir=None):
        self.config = config
        self.workdir = workdir
        self.proc = None
        self.base = None
        self._log = None
        self._own_dir = False

    def _prepare(self):
        """Before start: write what the configuration refers to."""

    def start(self, timeout=20):
        _modules()
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="oauth-%s." % self.NAME)
            self._own_dir = True
        os.makedirs(self.workdir, exist_ok=True)
        self._prepare()
        cfg = os.path.join(self.workdir, "config.json")
        with open(cfg, "w") as f:
            json.dump(self.config, f, indent=1)
        self._log = open(os.path.join(self.workdir, self.NAME + ".log"),
                         "ab")
        # stdin is a pipe the server watches: it ends with this process.
        self.proc = subprocess.Popen(
            [node(), os.path.join(HERE, self.SCRIPT), "--stdin", cfg],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._log, env=_node_env())
        _running.add(self)
        line = self._readline(timeout)
        if not line.startswith("ready "):
            self.stop()
            raise HarnessError("%s did not start (%r); log:\n%s" %
                               (self.SCRIPT, line, self.log_tail()))
        self.base = line.split(" ", 1)[1]
        return self

    def _readline(self, timeout):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
        sel.close()
        return buf.split(b"\n")[0].decode(errors="replace")

    def stop(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc = None
        self._log.close()
        _running.discard(self)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log_tail(self, lines=20):
        try:
            with open(os.path.join(self.workdir, self.NAME + ".log"),
                      "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def url(self, path):
        return self.base + path

    def _admin(self, method, path, obj=None):
        body = json.dumps(obj).encode() if obj is not None else None
        status, _, data = http(method, self.url(path), body,
                               {"Content-Type": "application/json"})
        if status != 200:
            raise HarnessError("%s %s: %d %s" % (method, path, status,
                                                 data[:200]))
        return json.loads(data)


class IdP(_Server):
    """idp.mjs (oidc-provider): .issuer is its issuer."""
    SCRIPT = "idp.mjs"
    NAME = "idp"

    @property
    def issuer(self):
        return self.base

    def mode(self, token, times=None):
        """The token endpoint's answers from now on: "normal", "500" (any
        5xx), "hang", "garbage" or "huge"; after `times` requests, normal
        again."""
        m = {"token": token}
        if times is not None:
            m["times"] = times
        return self._admin("POST", "/__test/mode", m)

    def requests(self):
        """The token requests so far (credentials hashed)."""
        return self._admin("GET", "/__test/requests")

    def clear_requests(self):
        self._admin("DELETE", "/__test/requests")

    def revoke(self, refresh_token=None, all=False):
        """Revoke one refresh token, or every one issued; returns how many
        were revoked."""
        b = {"all": True} if all else {"refresh_token": refresh_token}
        return self._admin("POST", "/__test/revoke", b)["revoked"]

    def exchanges(self):
        """The on-behalf-of grants so far (token-exchange, jwt-bearer),
        each with what the provider checked: subject, actor, issued."""
        return self._admin("GET", "/__test/exchanges")

    def clear_exchanges(self):
        self._admin("DELETE", "/__test/exchanges")

    def exchange_fail(self, error, times=None):
        """Refuse the next on-behalf-of grants with this OAuth error code
        (None: stop refusing); after `times` of them, grant again."""
        b = {"error": error}
        if times is not None:
            b["times"] = times
        return self._admin("POST", "/__test/exchange-fail", b)

    def trust_actor_issuer(self, issuer, jwks):
        """Accept actor JWTs of this issuer, signed with a key of jwks."""
        return self._admin("POST", "/__test/actor-issuer",
                           {"issuer": issuer, "jwks": jwks})

    def downstream(self):
        """The downstream API: {"url", "audience", "seen"}."""
        return self._admin("GET", "/__test/downstream")

    def call_downstream(self, token):
        """GET /whoami at the downstream API with a bearer token; returns
        (status, JSON)."""
        status, _, data = http("GET", self.downstream()["url"] + "/whoami",
                               headers={"Authorization": "Bearer " + token})
        return status, _json(data)

    def discovery(self):
        return discovery(self.issuer)

    def token(self, params, basic=None, timeout=10):
        """POST params to the token endpoint (client_secret_basic when
        basic=(id, secret)); returns (status, JSON or None, raw body)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if basic:
            q = urllib.parse.quote
            cred = "%s:%s" % (q(basic[0], safe=""), q(basic[1], safe=""))
            headers["Authorization"] = "Basic " + \
                base64.b64encode(cred.encode()).decode()
        body = urllib.parse.urlencode(params).encode()
        status, _, data = http("POST", self.url("/token"), body, headers,
                               timeout)
        return status, _json(data), data


# The emulated vendors (vendors.mjs): the preset each one emulates, and the
# host names it answers for.
VENDORS = {
    "github": ("GithubOauth2", "githubOauth2ProviderConfig",
               ["github.com"]),
    "slack": ("SlackOauth2", "slackOauth2ProviderConfig", ["slack.com"]),
    "google": ("GoogleOauth2", "googleOauth2ProviderConfig",
               ["accounts.google.com", "oauth2.googleapis.com"]),
    "atlassian": ("AtlassianOauth2", "atlassianOauth2ProviderConfig",
                  ["auth.atlassian.com"]),
    "salesforce": ("SalesforceOauth2", "salesforceOauth2ProviderConfig",
                   ["login.salesforce.com"]),
    "microsoft": ("MicrosoftOauth2", "microsoftOauth2ProviderConfig",
                  ["login.microsoftonline.com"]),
}


def test_ca(workdir, hosts):
    """A throwaway CA (ca.pem) and a server certificate for hosts
    (cert.pem, key.pem) in workdir, made with the openssl CLI; returns the
    three paths."""
    def run(*a):
        subprocess.run(["openssl"] + list(a), check=True,
                       capture_output=True, cwd=workdir)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "7", "-subj", "/CN=Agent Vault test vendor CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-new", *ec, "-keyout", "key.pem", "-out", "cert.csr",
        "-subj", "/CN=vendors.mjs")
    with open(os.path.join(workdir, "cert.ext"), "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n" %
                ",".join("DNS:" + h for h in hosts))
    run("x509", "-req", "-in", "cert.csr", "-CA", "ca.pem", "-CAkey",
        "ca.key", "-set_serial", "0x" + secrets.token_hex(8), "-days", "7",
        "-extfile", "cert.ext", "-out", "cert.pem")
    return tuple(os.path.join(workdir, n)
                 for n in ("ca.pem", "cert.pem", "key.pem"))


class Vendors(_Server):
    """vendors.mjs: GitHub, Slack, Google, Atlassian, Salesforce and
    Microsoft emulated on loopback.  .base is both its plain HTTP address
    and an HTTPS proxy (CONNECT to a vendor's host gets TLS with a
    certificate from .ca_file's CA); daemon_env() and ca_file point the
    daemon at it with the presets' real URLs."""
    SCRIPT = "vendors.mjs"
    NAME = "vendors"

    def __init__(self, config, workdir=None):
        super().__init__(config, workdir)
        self.ca_file = None

    def _prepare(self):
        if "tls" not in self.config:
            hosts = [h for v in VENDORS.values() for h in v[2]]
            self.ca_file, cert, key = test_ca(self.workdir, hosts)
            self.config = dict(self.config, tls={"cert": cert, "key": key})

    def daemon_env(self):
        """The daemon's environment: the emulator as its HTTPS proxy,
        loopback reached directly."""
        return {"https_proxy": self.base, "NO_PROXY": "127.0.0.1,localhost"}

    def direct(self, url):
        """A vendor's https:// URL as the emulator serves it on plain
        HTTP (the host becomes the first path segment)."""
        u = urllib.parse.urlsplit(url)
        return self.base + "/" + u.hostname + u.path + \
            ("?" + u.query if u.query else "")

    def requests(self, vendor=None, endpoint=None):
        """The requests so far, oldest first (credentials hashed); only
        one vendor's and one endpoint's ("authorize", "token",
        "connect") when given."""
        return [e for e in self._admin("GET", "/__test/requests")
                if vendor in (None, e.get("vendor")) and
                endpoint in (None, e.get("endpoint"))]

    def clear_requests(self):
        self._admin("DELETE", "/__test/requests")

    def fail(self, vendor, error, times=1):
        """The vendor's next `times` token requests fail with `error`, in
        its own format (GitHub: 200 and an error field, Slack: ok false,
        Microsoft: AADSTS)."""
        return self._admin("POST", "/__test/fail", {
            "vendor": vendor, "error": error, "times": times})

    def ignore_accept(self, vendor, on=True):
        """The vendor answers in its default format whatever the request
        accepts (GitHub: form-encoded, as when it ignores Accept)."""
        return self._admin("POST", "/__test/options", {
            "vendor": vendor, "ignoreAccept": on})

    def add_client(self, client):
        """Register (or replace) a client: {vendor, client_id,
        client_secret, redirect_uris, ...}."""
        return self._admin("POST", "/__test/clients", client)

    def introspect(self, access_token):
        """What the emulator issued that token as: {active, vendor,
        client_id, user, scope, tenant, kind ("user", "bot", "app")}."""
        return self._admin("POST", "/__test/token", {"token": access_token})

    def authorize(self, auth_url, user=None, deny=False):
        """A person who consents (or refuses, deny=True) at an
        authorization URL of an emulated vendor; returns (status,
        Location or the error page)."""
        h = {}
        if user:
            h["X-Test-User"] = user
        if deny:
            h["X-Test-Deny"] = "1"
        status, headers, body = http("GET", self.direct(auth_url),
                                     headers=h)
        return status, headers.get("Location") or \
            body.decode(errors="replace")

    def https(self, method, url, body=None, headers=None, timeout=10):
        """A request to a vendor's real https:// URL through the emulator
        as an HTTPS proxy, trusting its CA (as the daemon does); returns
        (status, headers, body)."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"https": self.base}),
            urllib.request.HTTPSHandler(context=ctx), _NoRedirect)
        req = urllib.request.Request(url, data=body, method=method,
                                     headers=headers or {})
        try:
            with opener.open(req, timeout=timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.headers, e.read()


def vendor_provider(name, vendor, client_id, client_secret, tenant=None):
    """The CreateOauth2CredentialProvider request for an emulated
    vendor's preset (tenant: Microsoft's tenantId)."""
    preset, key, _ = VENDORS[vendor]
    c = {"clientId": client_id, "clientSecret": client_secret}
    if tenant is not None:
        c["tenantId"] = tenant
    return {"name": name, "credentialProviderVendor": preset,
            "oauth2ProviderConfigInput": {key: c}}


@atexit.register
def _stop_all():
    for i in list(_running):
        i.stop()


def browser_login(url, user="alice", password="password",
                  stop_at_prefix=None, deny=False, timeout=30,
                  trust_spki=None):
    """Open url in headless Chromium, sign in and consent (or press Cancel
    with deny=True); returns the URL it ended on, the first one starting
    with stop_at_prefix if given.  trust_spki: a server key's
    spki_hash() that Chromium accepts without a trusted chain (the
    appliance's).  Raises BrowserError."""
    _modules()
    args = [node(), os.path.join(HERE, "browser.mjs"), "--user", user,
            "--password", password, "--timeout", str(timeout)]
    if stop_at_prefix:
        args += ["--stop-at", stop_at_prefix]
    if trust_spki:
        args += ["--trust-spki", trust_spki]
    if deny:
        args.append("--deny")
    try:
        r = subprocess.run(args + [url], capture_output=True,
                           timeout=timeout + 15, env=_node_env(),
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BrowserError(3, "no answer in %d s" % (timeout + 15))
    if r.returncode != 0:
        raise BrowserError(r.returncode, r.stderr.decode(errors="replace")
                           .strip())
    return r.stdout.decode().strip()


def spki_hash(cert_pem):
    """base64(SHA-256(DER SubjectPublicKeyInfo)) of the first certificate
    in a PEM file: what Chromium's --ignore-certificate-errors-spki-list
    takes."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_pem, "-noout",
                          "-pubkey"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                         input=pub, check=True, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class ReturnServer:
    """The caller's application at its return URL: a plain HTTP server on
    127.0.0.1 that answers every GET with a short page and records the
    paths (with their queries) it was asked for.  .url(path) is an
    address on it."""

    def __init__(self):
        import http.server
        import threading
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                body = b"<!DOCTYPE html><title>back</title>back\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def consent_through(auth_url, trust_spki, user="alice", deny=False,
                    timeout=30):
    """A person at the browser for the three-legged flow: open the
    authorization URL, sign in and consent at the provider (or refuse),
    follow its redirect to the appliance's callback (whose certificate
    has the hash trust_spki) and on wherever that sends it (the caller's
    return URL, a ReturnServer); returns the URL it ended on, query
    included: the return URL, or the callback when it showed an error
    page."""
    return browser_login(auth_url, user=user, deny=deny, timeout=timeout,
                         trust_spki=trust_spki)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def pkce_pair():
    """(code_verifier, S256 code_challenge)."""
    v = b64url(secrets.token_bytes(32))
    return v, b64url(hashlib.sha256(v.encode()).digest())


def verify_jwt(token, issuer, audience=None):
    """Check a JWT against the issuer's JWKS with npm jose; returns its
    claims, or raises HarnessError with jose's reason."""
    _modules()
    script = """
import { createRemoteJWKSet, jwtVerify } from 'jose';
const [token, issuer, audience, jwks] = process.argv.slice(1);
const opts = { issuer };
if (audience) opts.audience = audience;
jwtVerify(token, createRemoteJWKSet(new URL(jwks)), opts).then(
    (r) => console.log(JSON.stringify(r.payload)),
    (e) => { console.error(e.code + ': ' + e.message); process.exit(1); });
"""
    jwks = discovery(issuer)["jwks_uri"]
    r = subprocess.run([node(), "--input-type=module", "-e", script, token,
                        issuer, audience or "", jwks], cwd=HERE,
                       capture_output=True, timeout=20, env=_node_env())
    if r.returncode != 0:
        raise HarnessError(r.stderr.decode(errors="replace").strip())
    return json.loads(r.stdout)


class EcKey:
    """A P-256 key made with the openssl CLI, for private_key_jwt: .jwk is
    the public key to register, assertion() a signed client assertion."""

    def __init__(self, path, kid="test-client-key"):
        self.path = path
        self.kid = kid
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout",
                              "-outform", "DER"], check=True,
                             capture_output=True).stdout
        point = der[-65:]           # 04 || x || y ends the SPKI
        self.jwk = {"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
                    "use": "sig", "x": b64url(point[1:33]),
                    "y": b64url(point[33:])}

    def sign(self, claims):
        """A compact ES256 JWS over claims."""
        head = {"alg": "ES256", "typ": "JWT", "kid": self.kid}
        si = (b64url(json.dumps(head).encode()) + "." +
              b64url(json.dumps(claims).encode()))
        der = subprocess.run(["openssl", "dgst", "-sha256", "-sign",
                              self.path], input=si.encode(), check=True,
                             capture_output=True).stdout
        return si + "." + b64url(_der_to_raw(der))

    def assertion(self, client_id, audience, lifetime=60):
        now = int(time.time())
        return self.sign({"iss": client_id, "sub": client_id,
                          "aud": audience, "jti": secrets.token_hex(16),
                          "iat": now, "exp": now + lifetime})


def _der_to_raw(der):
    # SEQUENCE { INTEGER r, INTEGER s }, each as 32 big-endian bytes.
    i = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\0")
        out += v.rjust(32, b"\0")
        i += 2 + n
    return out
