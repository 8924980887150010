# SPDX-License-Identifier: Apache-2.0
"""jwtissuer.py - a user JWT issuer of the tests' own on loopback: a
discovery document and a JWKS whose keys the test holds, rotates and
takes down, counting every fetch; and keys that sign JWTs (RS256,
ES256).  Used by test_inbound.py, test_3lo.py, tests/python/test_sdk.py
and the bench (tests/bench/run.sh).  Needs the cryptography package.

    iss = Issuer(); iss.keys = [Key("k1", "RS256")]
    iss.discovery, iss.issuer, iss.token(sub="alice", aud="agents")
    iss.down = True; iss.count("/jwks"); iss.shutdown()
"""
import base64
import hashlib
import http.server
import json
import os
import sys
import threading
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import \
    decode_dss_signature

SUFFIX = "/.well-known/openid-configuration"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_int(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Key:
    """A signing key of ours: RS256 or ES256, with its public JWK."""

    def __init__(self, kid, alg="ES256"):
        self.kid, self.alg = kid, alg
        if alg == "RS256":
            self.priv = rsa.generate_private_key(65537, 2048)
            n = self.priv.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "n": b64u_int(n.n),
                        "e": b64u_int(n.e)}
        else:
            self.priv = ec.generate_private_key(ec.SECP256R1())
            n = self.priv.public_key().public_numbers()
            self.jwk = {"kty": "EC", "crv": "P-256",
                        "x": b64u(n.x.to_bytes(32, "big")),
                        "y": b64u(n.y.to_bytes(32, "big"))}
        self.jwk.update(kid=kid, alg=alg, use="sig")

    def sign(self, claims, header=None):
        h = {"alg": self.alg, "typ": "JWT", "kid": self.kid}
        h.update(header or {})
        msg = (b64u(json.dumps(h).encode()) + "." +
               b64u(json.dumps(claims).encode())).encode()
        if self.alg == "RS256":
            sig = self.priv.sign(msg, padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s = decode_dss_signature(self.priv.sign(
                msg, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return msg.decode() + "." + b64u(sig)


class Issuer(http.server.ThreadingHTTPServer):
    """A loopback identity provider: /t/.well-known/openid-configuration
    and /t/jwks; .issuer, .keys (served), .down (answer 503), .fetches
    (paths requested, in order)."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), IssuerHandler)
        self.issuer = "http://127.0.0.1:%d/t" % self.server_address[1]
        self.discovery = self.issuer + SUFFIX
        self.keys = []
        self.down = False
        self.doc_issuer = self.issuer
        self.fetches = []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def count(self, what):
        with self.lock:
            return sum(1 for p in self.fetches if p.endswith(what))

    def token(self, key=None, **claims):
        now = int(time.time())
        c = {"iss": self.issuer, "sub": "alice", "aud": "agents",
             "client_id": "web-app", "scope": "openid agents:invoke",
             "iat": now, "exp": now + 300}
        c.update(claims)
        c = {k: v for k, v in c.items() if v is not None}
        return (key or self.keys[0]).sign(c)


class IssuerHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        srv = self.server
        with srv.lock:
            srv.fetches.append(self.path)
        if srv.down:
            body, status = b'{"error":"down"}', 503
        elif self.path == "/t" + SUFFIX:
            body, status = json.dumps({
                "issuer": srv.doc_issuer,
                "jwks_uri": srv.issuer + "/jwks"}).encode(), 200
        elif self.path == "/t/jwks":
            body, status = json.dumps({"keys": [k.jwk for k in
                                                srv.keys]}).encode(), 200
        else:
            body, status = b"{}", 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def user_key(iss, sub):
    return "jwt:" + b64u(hashlib.sha256(iss.encode() + b"\0" +
                                        sub.encode()).digest())


def main():
    """For the bench: serve one issuer with an RS256 and an ES256 key;
    write PORTFILE (its discovery URL) and, into DIR, rs256.jwt and
    es256.jwt (sub bench-user, aud agents, an hour); run until killed."""
    portfile, out = sys.argv[1], sys.argv[2]
    iss = Issuer()
    rs, es = Key("bench-rs", "RS256"), Key("bench-es", "ES256")
    iss.keys = [rs, es]
    for name, k in (("rs256", rs), ("es256", es)):
        with open("%s/%s.jwt" % (out, name), "w") as f:
            f.write(iss.token(key=k, sub="bench-user",
                              exp=int(time.time()) + 3600))
    with open(portfile + ".tmp", "w") as f:
        f.write(iss.discovery)
    os.rename(portfile + ".tmp", portfile)
    threading.Event().wait()


if __name__ == "__main__":
    main()
