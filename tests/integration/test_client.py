#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""test_client.py - libagentvault against the real
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


class Fake:
    """A TLS server on a Unix socket; mode decides how it misbehaves."""

    def __init__(self, path, mode, ctx):
        self.path, self.mode, self.ctx = path, mode, ctx
        self.requests = []
        self.conns = 0
        self.held = []
        self.polls = {}
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
            s = self.ctx.wrap_socket(raw, server_side=True)
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
                        return
                    break
                s.sendall(reply)
                if self.mode in ("close-idle", "protocol"):
                    break
            s.close()
        except (OSError, ssl.SSLError, ValueError):
            raw.close()

    def reply(self, req, n, conn):
        method, target, body = req
        if self.mode == "noreply" or (self.mode == "drop-second" and n > 1):
            return None
        if self.mode == "protocol":
            return GARBAGE[min(conn, len(GARBAGE)) - 1]
        if self.mode == "oauth":
            return self.oauth(body)
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
        text = f.read().replace("api_key_providers: 5", "api_key_providers: 20")
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

    d.stop()
    test_tcp(fake_ca)
    print("1..%d" % td.n)
    return 1 if td.failed else 0


if __name__ == "__main__":
    sys.exit(main())
