#!/usr/bin/env python3
# oauth_load.py - the OAuth2 side of `make bench` (tests/bench/run.sh).
#
#   oauth_load.py serve PORTFILE
#       A token endpoint on loopback: POST /token answers a client-
#       credentials grant at once, POST /slow-token after 2 seconds.
#       Writes its port to PORTFILE, serves until killed.
#   oauth_load.py flood SOCKET CA TOKEN PROVIDER N SECONDS READYFILE
#       Opens N keep-alive connections to the daemon's SOCKET, makes
#       READYFILE, then keeps N GetResourceOauth2Token (M2M) calls in
#       flight for SECONDS, each with
#       a scope never asked before (so each is a token request the
#       appliance must make, none shares another's single flight);
#       prints "calls errors first-error" when done.
#
# Measures nothing itself: run.sh times cache hits while a flood waits.
import http.server
import json
import os
import secrets
import socket
import socketserver
import ssl
import sys
import threading
import time

SLOW_SECONDS = 2.0


class TokenHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        if self.path == "/slow-token":
            time.sleep(SLOW_SECONDS)
        elif self.path != "/token":
            self.send_error(404)
            return
        body = json.dumps({"access_token": "bench-" + secrets.token_hex(16),
                           "token_type": "Bearer",
                           "expires_in": 3600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def serve(portfile):
    srv = Server(("127.0.0.1", 0), TokenHandler)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, portfile)
    srv.serve_forever()


class Conn:
    """A keep-alive TLS connection to the daemon's Unix socket."""

    def __init__(self, sock_path, ctx):
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.settimeout(30)
        raw.connect(sock_path)
        self.s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.buf = b""

    def call(self, body):
        """One GetResourceOauth2Token; (status, body)."""
        data = json.dumps(body).encode()
        self.s.sendall(b"POST /identities/oauth2/token HTTP/1.1\r\n"
                       b"Host: localhost\r\nContent-Type: application/json"
                       b"\r\nContent-Length: %d\r\n\r\n%s"
                       % (len(data), data))
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
        while len(self.buf) < n:
            self._more()
        reply, self.buf = self.buf[:n], self.buf[n:]
        return int(head.split(b" ", 2)[1]), reply

    def _more(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise OSError("the daemon closed the connection")
        self.buf += chunk

    def close(self):
        self.s.close()


def flood(sock_path, ca, token, provider, n, seconds, ready):
    """n keep-alive connections, each with one call in flight at a time:
    once connected, only the calls themselves load the daemon.  The
    SECONDS count from when all are connected (the file ready made)."""
    ctx = ssl.create_default_context(cafile=ca)
    counts = {"calls": 0, "errors": 0, "first": ""}
    lock = threading.Lock()
    barrier = threading.Barrier(n + 1)
    deadline = [0.0]

    def worker(i):
        j = 0
        try:
            conn = Conn(sock_path, ctx)
        except OSError:
            conn = None
        barrier.wait()
        while time.monotonic() < deadline[0]:
            try:
                conn = conn or Conn(sock_path, ctx)
                status, reply = conn.call({
                    "workloadIdentityToken": token,
                    "resourceCredentialProviderName": provider,
                    "scopes": ["flood-%d-%d" % (i, j)],
                    "oauth2Flow": "M2M"})
            except (OSError, ValueError, IndexError) as e:
                status, reply = 0, str(e).encode()
                conn = None
            j += 1
            with lock:
                counts["calls"] += 1
                if status != 200:
                    counts["errors"] += 1
                    counts["first"] = counts["first"] or "%d %s" % (
                        status, reply[:160].decode(errors="replace"))
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(n)]
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + 3600
    barrier.wait()
    deadline[0] = time.monotonic() + seconds
    with open(ready, "w"):
        pass
    for t in threads:
        t.join()
    print(counts["calls"], counts["errors"], counts["first"])


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif len(sys.argv) == 9 and sys.argv[1] == "flood":
        flood(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
              int(sys.argv[6]), float(sys.argv[7]), sys.argv[8])
    else:
        sys.exit("usage: oauth_load.py serve PORTFILE | flood SOCKET CA "
                 "TOKEN PROVIDER N SECONDS READYFILE")


if __name__ == "__main__":
    main()
