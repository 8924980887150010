#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_client.py - libagentvault and the agentvault CLI against the real
sandboxed daemon (test_daemon.py's harness) and against fake servers that
misbehave on purpose: a certificate from another CA, a listener that never
answers, connections dropped mid-call, malformed replies, a scripted OAuth
consent.  The library's side is tests/client/test_libagentvault.c, run
once per scenario; its TAP lines are passed on.

Prints TAP.  Environment as test_daemon.py; under valgrind (AV_TEST_WRAP)
the client programs run under it, the daemon does not (the daemon suite
covers it).
"""
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_daemon as td  # noqa: E402

td.WORK = os.path.join(td.TOKDIR, "client")
WORK = td.WORK
WRAP = td.WRAP
td.WRAP = []
ok = td.ok
CLI = os.path.join(td.TOP, td.BUILD, "agentvault")
LIBTEST = os.path.join(td.TOP, td.BUILD, "tests", "test_libagentvault")
SO = os.path.join(td.TOP, td.BUILD, "libagentvault.so")
CA = os.path.join(td.TOKDIR, "ca.pem")
RUN = os.path.join(WORK, "run")
ADMIN = os.path.join(RUN, "admin.sock")
AGENT = os.path.join(RUN, "agent.sock")
AUDIT = os.path.join(WORK, "audit.log")
ARN = td.ARN_PREFIX


# ---- fake servers --------------------------------------------------------

def make_fake_ca():
    """Another CA and a 'localhost' certificate it issued."""
    d = os.path.join(WORK, "fake")
    os.makedirs(d, exist_ok=True)
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    crt, key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
    td.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
               "-out", ca, "-subj", "/CN=Another CA", "-days", "1")
    td.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", key, "-out", crt + ".csr", "-subj",
               "/CN=localhost", "-addext", "subjectAltName=DNS:localhost")
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    td.openssl("x509", "-req", "-in", crt + ".csr", "-CA", ca, "-CAkey",
               ca_key, "-CAcreateserial", "-out", crt, "-days", "1",
               "-extfile", ext)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ca, ctx


def http(status, body, extra=""):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    body = body.encode() if isinstance(body, str) else body
    return ("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n%s\r\n" % (status, len(body), extra)
            ).encode() + body


def read_request(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
    while len(body) < length:
        body += s.recv(4096)
    method, target, _ = lines[0].split(" ", 2)
    return method, target, json.loads(body) if body else None


# The protocol scenario's replies, one per connection.
GARBAGE = [
    http(200, "{}", "Transfer-Encoding: chunked\r\n"),
    b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}",
    b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\n{}",
    http(200, "hello"),
    http(500, "oops"),
    http(200, "{}") + b"extra",
    b"HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\n{}",
    http(200, '["apiKey"]'),
]


def hostile(target):
    """The evil scenario: secrets that are not UTF-8, escape sequences."""
    if target == "/identities/GetWorkloadAccessToken":
        return http(200, b'{"workloadAccessToken":"avwat1.\xff"}')
    if target == "/identities/api-key":
        return http(200, b'{"apiKey":"sk-\xff"}')
    if target == "/identities/GetWorkloadIdentity":
        return http(200, {"name": "a\x1b[2Jb", "allowedResourceOauth2"
                          "ReturnUrls": ["x\x1b]8;;http://evil\x07y"]})
    if target.startswith("/tags/"):
        return http(200, {"tags": {"k\x1b[1m": "v\x9b2J\x7f"}})
    return http(400, {"__type": "ValidationException",
                      "message": "no\x1b]0;pwned\x07"},
                "x-amzn-RequestId: 12ab-\x1b[31m\r\n")


class Fake:
    """A TLS server on a Unix socket; mode decides how it misbehaves."""

    def __init__(self, path, mode, ctx):
        self.path, self.mode, self.ctx = path, mode, ctx
        self.requests = []
        self.conns = 0
        self.held = []
        self.polls = {}
        self.ends = []
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns += 1
            if self.mode == "silent":
                self.held.append(c)     # never a byte back
                continue
            threading.Thread(target=self.serve, args=(c, self.conns),
                             daemon=True).start()

    def serve(self, raw, conn):
        try:
            s = self.ctx.wrap_socket(raw, server_side=True,
                                     suppress_ragged_eofs=False)
            n = 0
            while True:
                req = read_request(s)
                if req is None:
                    break
                self.requests.append(req)
                n += 1
                reply = self.reply(req, n, conn)
                if reply is None:
                    if self.mode == "noreply":
                        self.held.append(s)
                        self.ends.append(self.ending(s))
                        return
                    break
                s.sendall(reply)
                if self.mode in ("close-idle", "protocol"):
                    break
            s.close()
        except (OSError, ssl.SSLError, ValueError):
            raw.close()

    @staticmethod
    def ending(s):
        """How the client left: a TLS close_notify, or just EOF."""
        try:
            return "close_notify" if s.recv(1) == b"" else "data"
        except ssl.SSLEOFError:
            return "eof"
        except (OSError, ssl.SSLError):
            return "error"

    def reply(self, req, n, conn):
        method, target, body = req
        if self.mode == "noreply" or (self.mode == "drop-second" and n > 1):
            return None
        if self.mode == "protocol":
            return GARBAGE[min(conn, len(GARBAGE)) - 1]
        if self.mode == "oauth":
            return self.oauth(body)
        if self.mode == "evil":
            return hostile(target)
        return http(200, {"name": "x", "status": "ok"})

    def oauth(self, body):
        provider, session = body["resourceCredentialProviderName"], \
            body.get("sessionUri")
        if provider == "m2m":
            return http(200, {"accessToken": "m2m-token"})
        if provider == "fails":
            return http(200, {"sessionUri": "urn:ietf:params:oauth:"
                              "request_uri:f", "sessionStatus": "FAILED"})
        if session is None:
            return http(200, {"authorizationUrl":
                              "https://idp.example/authorize?s=1",
                              "sessionUri": "urn:ietf:params:oauth:"
                              "request_uri:s1",
                              "sessionStatus": "IN_PROGRESS"})
        self.polls[session] = self.polls.get(session, 0) + 1
        if provider == "consent" and self.polls[session] >= 2:
            return http(200, '{"sessionStatus":"COMPLETED",'
                        '"accessToken":"gho_\\u00e9t","expiresIn":3600}')
        return http(200, {"sessionUri": session,
                          "sessionStatus": "IN_PROGRESS"})

    def close(self):
        self.sock.close()
        for s in self.held:
            s.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


# ---- the C test program --------------------------------------------------

def run_lib(scenario, env=None, on_restart=None):
    """Run one scenario of test_libagentvault; pass its TAP lines on."""
    e = dict(os.environ, ADMIN=ADMIN, AGENT=AGENT, CA=CA, AUDIT=AUDIT)
    e.update(env or {})
    p = subprocess.Popen(WRAP + [LIBTEST, scenario], env=e, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    for line in p.stdout:
        line = line.rstrip("\n")
        if line.startswith("ok ") or line.startswith("not ok "):
            name = line.split(" - ", 1)[1] if " - " in line else line
            ok(line.startswith("ok "), "%s: %s" % (scenario, name))
        elif line.startswith("# restart "):
            on_restart(line.split()[2])
            p.stdin.write("go\n")
            p.stdin.flush()
        elif line.startswith("#") or line.strip():
            if not line.startswith("1.."):
                print("# " + line.lstrip("# "))
    rc = p.wait()
    ok(rc == 0, "%s: test_libagentvault exits 0 (no leak, no valgrind "
       "report)" % scenario, "status %d" % rc)


# ---- the CLI ---------------------------------------------------------------

def cli(*args, stdin=None, env=None, sock_env=True):
    e = dict(os.environ)
    for k in ("AGENTVAULT_SOCKET", "AGENTVAULT_RUN_DIR", "AGENTVAULT_CA"):
        e.pop(k, None)
    if sock_env:
        e.update(AGENTVAULT_RUN_DIR=RUN, AGENTVAULT_CA=CA)
    e.update(env or {})
    r = subprocess.run(WRAP + [CLI] + list(args), input=stdin, env=e,
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def cli_full(*args):
    """The CLI with its standard output on /dev/full."""
    e = dict(os.environ, AGENTVAULT_RUN_DIR=RUN, AGENTVAULT_CA=CA)
    with open("/dev/full", "w") as full:
        r = subprocess.run(WRAP + [CLI] + list(args), env=e, stdout=full,
                           stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stderr


def cli_json(*args, **kw):
    rc, out, err = cli("--output", "json", *args, **kw)
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, err + out


def audit_ops(op):
    with open(AUDIT) as f:
        return sum('"operation":"%s"' % op in l for l in f)


def test_cli_help():
    rc, out, _ = cli("--help")
    ok(rc == 0 and "usage: agentvault" in out and "Exit status" in out,
       "CLI: --help describes commands, options and exit statuses")
    rc, _, err = cli()
    ok(rc == 2 and "usage:" in err, "CLI: no command is a usage error (2)")
    for group in ("identity", "credential", "add", "tag", "token", "vault"):
        rc, out, _ = cli(group, "--help")
        ok(rc == 0 and "usage: agentvault %s" % group in out,
           "CLI: %s --help" % group)
    for cmd in ("ping", "vault show", "identity create", "identity get",
                "identity list", "identity update", "identity delete",
                "add credential", "credential get", "credential list",
                "credential update", "credential delete", "tag add",
                "tag remove", "tag list", "token workload", "token api-key"):
        rc, out, _ = cli(*cmd.split(), "--help")
        ok(rc == 0 and out.startswith("usage: agentvault " + cmd),
           "CLI: %s --help" % cmd, out)
    rc, out, _ = cli("audit", "--help")
    ok(rc == 0 and "audit verify" in out, "CLI: audit --help")
    rc, out, _ = cli("--help", "audit")
    ok(rc == 0 and "audit verify" in out, "CLI: --help audit")
    rc, _, err = cli("-")
    ok(rc == 2 and "unknown command" in err, "CLI: a bare '-' is an unknown "
       "command", err)
    rc, out, _ = cli("audit", "verify", "--help")
    ok(rc == 0 and "--strict" in out, "CLI: audit verify --help is the "
       "verifier's")
    rc, out, _ = cli("--version")
    ok(rc == 0 and out.startswith("agentvault 0."), "CLI: --version")
    for args, what in ((["frobnicate"], "an unknown command"),
                       (["identity", "frob"], "an unknown subcommand"),
                       (["--frob", "ping"], "an unknown option"),
                       (["ping", "--provider", "x"], "an option of another "
                        "command"),
                       (["-o", "yaml", "ping"], "--output yaml"),
                       (["identity", "get"], "a missing NAME"),
                       (["identity", "get", "a", "b"], "too many arguments"),
                       (["identity", "get", "abc", "--name", "abc"],
                        "a name given twice"),
                       (["--timeout", "0", "ping"], "--timeout 0"),
                       (["--port", "70000", "ping"], "a bad port"),
                       (["tag", "add", ARN + "x", "novalue"],
                        "a tag without '='"),
                       (["identity", "create", "abc", "--tag", "=v"],
                        "--tag without a key"),
                       (["--host", "127.0.0.1", "ping"], "--host without "
                        "--port"),
                       (["--host", "h", "--port", "1", "--socket", "s",
                         "ping"], "--host and --socket")):
        rc, _, err = cli(*args)
        ok(rc == 2 and "agentvault" in err, "CLI: %s is a usage error (2)"
           % what, err)


def test_cli_secrets_on_argv():
    before = audit_ops("CreateApiKeyCredentialProvider")
    for args in (["add", "credential", "--type", "api-key", "--name", "p",
                  "--api-key", "sk-live-123"],
                 ["add", "credential", "--type", "api-key", "--name", "p",
                  "--api-key=sk-live-123"],
                 ["credential", "update", "p", "--apikey", "x"],
                 ["add", "credential", "--type", "oauth", "--name", "gh",
                  "--client-secret", "s3cret"],
                 ["token", "api-key", "--provider", "p", "--token",
                  "avwat1.x.y"],
                 ["token", "api-key", "--provider", "p", "avwat1.abc.def"]):
        rc, out, err = cli(*args)
        ok(rc == 2 and "refusing" in err and "command line" in err and
           "sk-live" not in err + out,
           "CLI: a secret on argv is refused: %s" % " ".join(
               a for a in args if "sk-" not in a and "avwat1" not in a), err)
    rc, _, err = cli("add", "credential", "--type", "api-key", "--name", "p",
                     "--api-key", "x")
    ok("--api-key-file" in err and "--api-key-stdin" in err,
       "CLI: the refusal says what to use instead")
    for args in (["--tok", "sk-live-123"], ["--tok=sk-live-123"],
                 ["--token-f", "sk-live-123"]):
        rc, out, err = cli("token", "api-key", "--provider", "p", *args)
        ok(rc == 2 and "--token-file" in err and "sk-live" not in err + out,
           "CLI: an abbreviated option is refused, its value not echoed: "
           "%s" % args[0].split("=")[0], err)
    rc, out, err = cli("add", "credential", "--type", "api-key", "--name",
                       "p", "--api-key-file", "sk-live-123")
    ok(rc == 2 and "API key file" in err and "sk-live" not in err + out,
       "CLI: a secret file that cannot be read: its name is not echoed", err)
    ok(audit_ops("CreateApiKeyCredentialProvider") == before,
       "CLI: nothing reached the appliance")


def test_cli_operations():
    rc, out, _ = cli("ping")
    ok(rc == 0 and out.startswith("agentvault ") and out.rstrip().endswith(
        ": ok"), "CLI: ping", out)
    rc, doc, _ = cli_json("ping")
    ok(rc == 0 and doc["status"] == "ok", "CLI: ping -o json")
    rc, out, _ = cli("vault", "show")
    ok(rc == 0 and "tokenVaultId: default" in out and "keyCheckValue:" in out
       and "UTC" in out, "CLI: vault show (dates readable)", out)
    rc, doc, _ = cli_json("vault", "show")
    ok(rc == 0 and doc["tokenVaultId"] == "default", "CLI: vault show -o "
       "json is the API's JSON")
    rc, doc, _ = cli_json("vault", "show", "--vault-id", "nope")
    ok(rc == 1, "CLI: vault show --vault-id nope exits 1")

    rc, out, _ = cli("identity", "create", "cli-agent", "--return-url",
                     "https://a.example/cb", "--return-url", "myapp://cb",
                     "--tag", "team=agents", "--tag", "cost center=4 2")
    ok(rc == 0 and "name: cli-agent" in out and "  - myapp://cb" in out,
       "CLI: identity create with URLs and tags", out)
    rc, doc, _ = cli_json("identity", "create", "--name", "cli-agent-2")
    ok(rc == 0 and doc["workloadIdentityArn"] == ARN + "cli-agent-2",
       "CLI: identity create --name, -o json")
    rc, _, err = cli("identity", "create", "cli-agent")
    ok(rc == 1 and "ConflictException" in err and "request " in err,
       "CLI: a taken name exits 1 with the API's error and request id", err)
    rc, out, _ = cli("identity", "get", "cli-agent")
    ok(rc == 0 and "createdTime:" in out, "CLI: identity get")
    rc, doc, _ = cli_json("identity", "update", "cli-agent", "--return-url",
                          "https://b.example/cb")
    ok(rc == 0 and doc["allowedResourceOauth2ReturnUrls"] ==
       ["https://b.example/cb"], "CLI: identity update replaces the URLs")
    rc, out, _ = cli("identity", "update", "cli-agent")
    ok(rc == 0 and "allowedResourceOauth2ReturnUrls: (none)" in out,
       "CLI: identity update without URLs empties them", out)
    rc, out, err = cli("identity", "list", "--max-results", "1")
    ok(rc == 0 and len(out.split()) == 1 and "--next-token" in err,
       "CLI: identity list, one page, says how to get more")
    rc, doc, _ = cli_json("identity", "list", "--all")
    names = [w["name"] for w in doc["workloadIdentities"]] if doc else []
    ok(rc == 0 and "cli-agent" in names and "cli-agent-2" in names and
       "nextToken" not in doc, "CLI: identity list --all -o json")
    rc, _, err = cli("identity", "list", "--all", "--max-results", "2")
    ok(rc == 2, "CLI: --all with --max-results is a usage error")
    rc, out, _ = cli("identity", "delete", "cli-agent-2")
    ok(rc == 0 and "deleted" in out, "CLI: identity delete")
    rc, _, err = cli("identity", "delete", "cli-agent-2")
    ok(rc == 1 and "ResourceNotFoundException" in err,
       "CLI: deleting it again exits 1")

    keyfile = os.path.join(WORK, "key.txt")
    with open(keyfile, "w") as f:
        f.write("sk-from-file\n")
    rc, out, _ = cli("add", "credential", "--type", "api-key", "--name",
                     "cli-file", "--api-key-file", keyfile, "--tag", "v=1")
    ok(rc == 0 and "credentialProviderArn:" in out and "sk-from" not in out,
       "CLI: add credential --api-key-file", out)
    rc, out, _ = cli("add", "credential", "--type", "api-key", "--name",
                     "cli-env", "--api-key-env", "MY_KEY",
                     env={"MY_KEY": "sk-from-env"})
    ok(rc == 0, "CLI: add credential --api-key-env")
    rc, out, _ = cli("add", "credential", "--type", "api-key", "cli-stdin",
                     "--api-key-stdin", stdin="sk-from-stdin\n")
    ok(rc == 0, "CLI: add credential --api-key-stdin")
    for args, code, what in (
            (["--type", "oauth", "--name", "gh"], 4, "--type oauth is not "
             "supported yet (4)"),
            (["--type", "ftp", "--name", "x", "--api-key-stdin"], 2,
             "--type ftp"),
            (["--name", "x", "--api-key-stdin"], 2, "no --type"),
            (["--type", "api-key", "--name", "x"], 2, "no key source"),
            (["--type", "api-key", "--name", "x", "--api-key-stdin",
              "--api-key-file", keyfile], 2, "two key sources"),
            (["--type", "api-key", "--name", "x", "--api-key-file",
              "/nonexistent"], 2, "a missing key file"),
            (["--type", "api-key", "--name", "x", "--api-key-env",
              "AV_UNSET_VAR"], 2, "an unset variable"),
            (["--type", "api-key", "--name", "x", "--api-key-file",
              "/dev/null"], 2, "an empty key")):
        rc, _, err = cli("add", "credential", *args, stdin="")
        ok(rc == code, "CLI: add credential, %s" % what, err)
    rc, _, err = cli("add", "credential", "--type", "oauth", "--name", "gh")
    ok("not supported" in err, "CLI: the oauth refusal says why")
    rc, out, _ = cli("credential", "get", "cli-file")
    ok(rc == 0 and "createdTime:" in out and "sk-" not in out,
       "CLI: credential get, without the key")
    rc, out, _ = cli("credential", "list")
    ok(rc == 0 and {"cli-env", "cli-file", "cli-stdin"} <= set(out.split()),
       "CLI: credential list", out)
    rc, doc, _ = cli_json("credential", "list", "--all")
    ok(rc == 0 and len(doc["credentialProviders"]) == len(out.split()),
       "CLI: credential list --all -o json")
    rc, out, _ = cli("credential", "update", "cli-stdin", "--api-key-stdin",
                     stdin="sk-updated")
    ok(rc == 0, "CLI: credential update --api-key-stdin")
    rc, out, _ = cli("credential", "delete", "cli-env")
    ok(rc == 0 and "deleted" in out, "CLI: credential delete")
    rc, _, _ = cli("credential", "delete", "cli-env")
    ok(rc == 1, "CLI: deleting it again exits 1")

    rc, out, _ = cli("tag", "add", ARN + "cli-agent", "env=prod",
                     "a b=c d")
    ok(rc == 0 and "tagged" in out, "CLI: tag add")
    rc, out, _ = cli("tag", "list", ARN + "cli-agent")
    ok(rc == 0 and sorted(out.splitlines()) == ["a b=c d", "cost center=4 2",
                                                "env=prod", "team=agents"],
       "CLI: tag list prints KEY=VALUE lines", out)
    rc, out, _ = cli("tag", "remove", ARN + "cli-agent", "a b", "env")
    ok(rc == 0 and "untagged" in out, "CLI: tag remove")
    rc, doc, _ = cli_json("tag", "list", ARN + "cli-agent")
    ok(rc == 0 and doc == {"tags": {"cost center": "4 2", "team": "agents"}},
       "CLI: tag list -o json", doc)
    rc, _, err = cli("tag", "list", ARN + "nobody-here")
    ok(rc == 1 and "ResourceNotFoundException" in err,
       "CLI: tags of a missing resource exit 1")

    rc, out, _ = cli("token", "workload", "--workload", "cli-agent")
    ok(rc == 0 and out.startswith("avwat1."), "CLI: token workload")
    rc, doc, _ = cli_json("token", "workload", "--workload", "cli-agent",
                          "--user-id", "cognito+u1")
    tok = (doc or {}).get("workloadAccessToken", "")
    ok(rc == 0 and tok.startswith("avwat1."), "CLI: token workload "
       "--user-id -o json")
    rc, _, err = cli("token", "workload", "--workload", "nobody-here")
    ok(rc == 1 and "ResourceNotFoundException" in err,
       "CLI: a token for a missing identity exits 1")
    rc, _, _ = cli("token", "workload")
    ok(rc == 2, "CLI: token workload without --workload is a usage error")
    for json_out in ([], ["-o", "json"]):
        rc, err = cli_full(*json_out, "token", "workload", "--workload",
                           "cli-agent")
        ok(rc == 3 and "cannot write the output" in err, "CLI: a token "
           "that could not be written exits 3 %s" % " ".join(json_out), err)
    rc, err = cli_full("--output=json", "identity", "list")
    ok(rc == 3 and "No space left" in err, "CLI: any output that could not "
       "be written exits 3", err)
    rc, out, _ = cli("token", "api-key", "--provider", "cli-file",
                     "--workload", "cli-agent", "--user-id", "cognito+u1")
    ok(rc == 0 and out == "sk-from-file\n", "CLI: token api-key --workload "
       "--user-id prints the key", out)
    tokfile = os.path.join(WORK, "token")
    with open(tokfile, "w") as f:
        f.write(tok + "\n")
    rc, doc, _ = cli_json("token", "api-key", "--provider", "cli-stdin",
                          "--token-file", tokfile)
    ok(rc == 0 and doc == {"apiKey": "sk-updated"}, "CLI: token api-key "
       "--token-file -o json", doc)
    rc, _, err = cli("token", "api-key", "--provider", "cli-none",
                     "--token-file", tokfile)
    ok(rc == 1 and "ResourceNotFoundException" in err,
       "CLI: an unknown provider exits 1")
    for args, what in ((["--provider", "p"], "neither --workload nor "
                        "--token-file"),
                       (["--provider", "p", "--workload", "w",
                         "--token-file", tokfile], "both"),
                       (["--workload", "w"], "no --provider"),
                       (["--provider", "p", "--token-file", tokfile,
                         "--user-id", "u"], "--user-id with --token-file")):
        rc, _, _ = cli("token", "api-key", *args)
        ok(rc == 2, "CLI: token api-key with %s is a usage error" % what)


def test_cli_sockets():
    rc, out, _ = cli("vault", "show", env={"AGENTVAULT_SOCKET": AGENT})
    ok(rc == 1, "CLI: AGENTVAULT_SOCKET is used (the agent socket refuses "
       "vault show)")
    rc, out, err = cli("--socket", ADMIN, "vault", "show",
                       env={"AGENTVAULT_SOCKET": AGENT})
    ok(rc == 0, "CLI: --socket beats AGENTVAULT_SOCKET", err)
    rc, out, _ = cli("--run-dir", RUN, "vault", "show",
                     env={"AGENTVAULT_SOCKET": AGENT})
    ok(rc == 0, "CLI: --run-dir beats AGENTVAULT_SOCKET")
    rc, out, _ = cli("--ca", CA, "--run-dir", RUN, "ping", sock_env=False)
    ok(rc == 0, "CLI: --ca and --run-dir instead of the environment")
    rc, _, err = cli("ping", sock_env=False)
    ok(rc == 3 and "TlsError" in err, "CLI: the default CA path, absent "
       "here, is a TLS error (3)", err)
    rc, _, err = cli("--socket", "/nonexistent.sock", "ping")
    ok(rc == 3 and "TransportError" in err and "/nonexistent.sock" in err,
       "CLI: a missing socket exits 3", err)


def test_cli_transport(fake_ca, ctx):
    rc, _, err = cli("--ca", fake_ca, "ping")
    ok(rc == 3 and "not trusted" in err, "CLI: another CA exits 3, 'not "
       "trusted'", err)
    silent = Fake(os.path.join(WORK, "cli-silent.sock"), "silent", None)
    t0 = time.time()
    rc, _, err = cli("--socket", silent.path, "--timeout", "0.3", "ping")
    ok(rc == 3 and "TimeoutError" in err and time.time() - t0 < 5 * td.SLOW,
       "CLI: --timeout against a silent listener exits 3 (TimeoutError)",
       err)
    silent.close()
    evil = Fake(os.path.join(WORK, "cli-evil.sock"), "evil", ctx)
    base = ["--socket", evil.path, "--ca", fake_ca]
    rc, out, err = cli(*base, "-o", "json", "token", "workload",
                       "--workload", "w")
    ok(rc == 3 and out == "" and "UTF-8" in err, "CLI: a token that is not "
       "UTF-8 cannot be JSON: exit 3 and why", err + out)
    tokfile = os.path.join(WORK, "evil-token")
    with open(tokfile, "w") as f:
        f.write("avwat1.x.y\n")
    rc, out, err = cli(*base, "-o", "json", "token", "api-key", "--provider",
                       "p", "--token-file", tokfile)
    ok(rc == 3 and out == "" and "UTF-8" in err, "CLI: an API key that is "
       "not UTF-8 cannot be JSON: exit 3 and why", err + out)
    for args, want in ((["identity", "get", "abc"], "a?[2Jb"),
                       (["tag", "list", ARN + "abc"], "k?[1m=v?2J?"),
                       (["identity", "delete", "abc"], "(request 12ab-)")):
        rc, out, err = cli(*base, *args)
        ok(want in out + err and not any(c in out + err for c in
                                         "\x1b\x07\x7f\x9b"),
           "CLI: no control character from the appliance reaches the "
           "terminal: %s" % " ".join(args[:2]), repr(out + err))
    evil.close()


def test_cli_audit():
    key = os.path.join(td.TOKDIR, "audit-key.pem")
    rc, out, _ = cli("audit", "verify", "--key", key, AUDIT)
    ok(rc == 0 and out.startswith("OK"), "CLI: audit verify runs the "
       "verifier", out)
    rc, out, _ = cli("--socket=x", "-o", "text", "audit", "verify", "--key",
                     key, AUDIT)
    ok(rc == 0 and out.startswith("OK"), "CLI: options before 'audit' are "
       "parsed as getopt parses them", out)
    with open(AUDIT) as f:
        lines = f.readlines()
    lines[3] = lines[3].replace('"outcome":"', '"outcome":"x', 1)
    bad = os.path.join(WORK, "audit-tampered.log")
    with open(bad, "w") as f:
        f.writelines(lines)
    rc, out, _ = cli("audit", "verify", "--key", key, bad)
    ok(rc == 1 and "FAIL line 4" in out, "CLI: audit verify finds a "
       "tampered line (exit 1)", out)
    rc, _, _ = cli("audit")
    ok(rc == 2, "CLI: audit without verify is a usage error")
    rc, _, _ = cli("--output", "json", "audit", "verify")
    ok(rc == 2, "CLI: audit verify without a file is a usage error")


def test_doc_example():
    """docs/client.md's complete C example, compiled and run as it is."""
    with open(os.path.join(td.TOP, "docs", "client.md")) as f:
        doc = f.read()
    src = doc.split("### 1.10", 1)[1].split("```c\n", 1)[1].split("```")[0]
    path = os.path.join(WORK, "agent.c")
    with open(path, "w") as f:
        f.write(src)
    exe = os.path.join(WORK, "agent")
    san = ["-fsanitize=address,undefined"] if os.environ.get("SAN") == "1" \
        else []
    r = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror",
                        "-Iclient", "-o", exe, path,
                        os.path.join(td.BUILD, "libagentvault.a"),
                        "-lmbedtls", "-lmbedx509", "-lmbedcrypto",
                        "-ljansson"] + san, capture_output=True, text=True)
    if not ok(r.returncode == 0, "docs/client.md's example compiles with "
              "the command it gives", r.stderr):
        return
    td.call("CreateWorkloadIdentity", {"name": "weather-agent"})
    td.call("CreateApiKeyCredentialProvider", {"name": "weather-svc",
                                               "apiKey": "wk-test-key"})
    before = audit_ops("GetWorkloadAccessTokenForUserId")
    r = subprocess.run(WRAP + [exe, "bob"], capture_output=True, text=True,
                       env=dict(os.environ, AGENTVAULT_SOCKET=AGENT,
                                AGENTVAULT_CA=CA))
    ok(r.returncode == 0 and r.stdout ==
       "agent: got an API key of 11 bytes for bob\n" * 2,
       "the example reads the API key twice", r.stdout + r.stderr)
    ok(audit_ops("GetWorkloadAccessTokenForUserId") == before + 1,
       "with one workload token, cached")


def test_tcp(fake_ca):
    """The TCP listener with client certificates, as test_tcp_mtls."""
    d0 = os.path.join(WORK, "clients")
    os.makedirs(d0, exist_ok=True)
    ca, ca_key = os.path.join(d0, "ca.pem"), os.path.join(d0, "ca.key")
    cert, key = os.path.join(d0, "client.pem"), os.path.join(d0, "client.key")
    td.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
               "-out", ca, "-subj", "/CN=Test clients CA", "-days", "1")
    td.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", key, "-out", cert + ".csr", "-subj",
               "/O=Agents/CN=remote-agent-1")
    td.openssl("x509", "-req", "-in", cert + ".csr", "-CA", ca, "-CAkey",
               ca_key, "-CAcreateserial", "-out", cert, "-days", "1")
    port = td.free_port()
    conf = os.path.join(WORK, "tcp.yaml")
    td.write_config(conf)
    with open(conf) as f:
        text = f.read().replace("hsm:\n", "listen:\n  tcp:\n    address: "
                                "127.0.0.1\n    port: %d\n    client_ca: %s\n"
                                "hsm:\n" % (port, ca), 1)
    with open(conf, "w") as f:
        f.write(text)
    d = td.Daemon(conf)
    if ok(d.wait_ready(), "the daemon serves with a TCP listener"):
        run_lib("tcp", {"PORT": str(port), "CERT": cert, "KEY": key})
        rc, out, err = cli("--host", "127.0.0.1", "--port", str(port),
                           "--cert", cert, "--key", key, "ping")
        ok(rc == 0 and "ok" in out, "CLI: ping over TCP with a client "
           "certificate", err)
        rc, _, err = cli("--host", "127.0.0.1", "--port", str(port),
                         "ping")
        ok(rc == 3, "CLI: over TCP without a certificate exits 3", err)
    d.stop()


def main():
    import shutil
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.chmod(td.TOKDIR, 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token"), 0o711)
    os.chmod(os.path.join(td.TOKDIR, "token", "softhsm2.conf"), 0o644)
    subprocess.run(["chown", "-R", "nobody",
                    os.path.join(td.TOKDIR, "token", "tokens")])
    fake_ca, ctx = make_fake_ca()
    config = os.path.join(WORK, "agentvault.yaml")
    td.write_config(config)
    with open(config) as f:
        text = f.read().replace("api_key_providers: 5",
                                "api_key_providers: 20")
    with open(config, "w") as f:
        f.write(text)
    d = td.Daemon(config)
    if not ok(d.wait_ready(), "the daemon starts and serves",
              td.log_text()):
        d.stop()
        print("1..%d" % td.n)
        return 1

    r = subprocess.run(["nm", "-D", "--defined-only", SO],
                       capture_output=True, text=True)
    syms = [l.split()[-1] for l in r.stdout.splitlines()]
    ok(r.returncode == 0 and syms and all(s.startswith("av_") for s in
                                          syms),
       "libagentvault.so exports only the header's av_* functions",
       [s for s in syms if not s.startswith("av_")])

    run_lib("unit")
    run_lib("api")
    run_lib("decorate")

    def restart(what):
        nonlocal d
        if what == "daemon":
            d.stop()
            d = td.Daemon(config)
            d.wait_ready()
        else:
            pid = d.worker_pid()
            os.kill(pid, 9)
            deadline = time.time() + 20 * td.SLOW
            while time.time() < deadline and d.worker_pid() in (pid, None):
                time.sleep(0.1)
            d.wait_ready()
            time.sleep(0.2)
    run_lib("restart", on_restart=restart)

    fake = Fake(os.path.join(WORK, "fake.sock"), "close-idle", ctx)
    run_lib("badca", {"FAKE": fake.path, "FAKE_CA": fake_ca})
    fake.close()
    silent = Fake(os.path.join(WORK, "silent.sock"), "silent", ctx)
    noreply = Fake(os.path.join(WORK, "noreply.sock"), "noreply", ctx)
    run_lib("timeout", {"FAKE": silent.path, "FAKE2": noreply.path,
                        "FAKE_CA": fake_ca})
    ok(len(noreply.requests) == 2, "the timed-out write was sent once, "
       "not repeated (%d requests)" % len(noreply.requests))
    for _ in range(50):
        if len(noreply.ends) == 2:
            break
        time.sleep(0.1)
    ok(noreply.ends == ["eof", "eof"], "after a timeout the connection is "
       "closed without close_notify (which would flush the rest of a "
       "request)", noreply.ends)
    silent.close()
    noreply.close()
    drop = Fake(os.path.join(WORK, "drop.sock"), "drop-second", ctx)
    idle = Fake(os.path.join(WORK, "idle.sock"), "close-idle", ctx)
    run_lib("retry", {"FAKE": drop.path, "FAKE2": idle.path,
                      "FAKE_CA": fake_ca})
    creates = [r for r in drop.requests if
               r[1] == "/identities/CreateWorkloadIdentity"]
    gets = [r[2]["name"] for r in drop.requests if
            r[1] == "/identities/GetWorkloadIdentity"]
    ok(len(creates) == 1, "the dropped write reached the server once "
       "(%d)" % len(creates))
    ok(gets == ["r-one", "r-two", "r-two", "r-four"], "the dropped read "
       "was sent again, once", gets)
    policies = [r[1] for r in drop.requests if r[1].startswith("/policies/")]
    ok(policies == ["/policies/GetPolicy"] * 2 + ["/policies/CreatePolicy"],
       "av_call: the dropped read was sent again, the dropped write once",
       policies)
    ok(idle.conns == 2 and len(idle.requests) == 2, "after an idle close "
       "the write went out once, on a new connection")
    drop.close()
    idle.close()
    proto = Fake(os.path.join(WORK, "proto.sock"), "protocol", ctx)
    run_lib("protocol", {"FAKE": proto.path, "FAKE_CA": fake_ca})
    proto.close()
    oauth = Fake(os.path.join(WORK, "oauth.sock"), "oauth", ctx)
    run_lib("oauth", {"FAKE": oauth.path, "FAKE_CA": fake_ca})
    first = [r[2] for r in oauth.requests if
             r[2]["resourceCredentialProviderName"] == "consent"][:3]
    ok(len(first) == 3 and first[0].get("forceAuthentication") is True and
       "sessionUri" not in first[0] and
       all("forceAuthentication" not in b for b in first[1:]) and
       all(b.get("sessionUri") == "urn:ietf:params:oauth:request_uri:s1"
           for b in first[1:]) and
       first[0]["scopes"] == ["repo", "user"] and
       first[0]["oauth2Flow"] == "USER_FEDERATION" and
       first[0]["resourceOauth2ReturnUrl"] == "https://app.example.com/cb"
       and first[0]["workloadIdentityToken"] == "avwat1.fake.token",
       "GetResourceOauth2Token requests: force once, then poll the session",
       first)
    oauth.close()

    test_cli_help()
    test_cli_secrets_on_argv()
    test_cli_operations()
    test_cli_sockets()
    test_cli_transport(fake_ca, ctx)
    test_doc_example()
    d.stop()
    test_cli_audit()
    test_tcp(fake_ca)
    print("1..%d" % td.n)
    return 1 if td.failed else 0


if __name__ == "__main__":
    sys.exit(main())
