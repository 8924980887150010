# SPDX-License-Identifier: Apache-2.0
"""HTTP/1.1 over TLS to the appliance, on a Unix socket or TCP.

A few hundred lines on purpose: the appliance speaks a small, strict
subset of HTTP (docs/api.md, section 1), so this client sends exactly
that and refuses anything else it gets back.  Keep-alive connections are
pooled per endpoint; every request has one deadline covering connect,
handshake, send and the whole reply; replies are bounded in size.

Reconnecting: an idle connection that the daemon closed (a restart, its
idle timeout) is noticed before it is used, and a fresh one is opened.
A connection that breaks while a request is in flight is retried once on
a fresh connection, but only for requests that are safe to repeat; for
the others the error says the operation may or may not have been
applied.
"""
import os
import select
import socket
import ssl
import threading
import time

from .errors import (ConfigurationError, ProtocolError, TLSVerificationError,
                     TransportError, TransportTimeout)

USER_AGENT = "agentvault-python/0.1.0"
MAX_HEAD_BYTES = 16384          # the daemon's heads are a few hundred bytes
DEFAULT_MAX_RESPONSE_BYTES = 1 << 20
MAX_IDLE_CONNECTIONS = 4



def _digits(text):
    """ASCII digits only (str.isdigit() also takes '\u00b2' and kin)."""
    return text.isascii() and text.isdigit()

class Endpoint:
    """Where the appliance listens: a Unix socket path, or tcp://HOST:PORT."""

    def __init__(self, text):
        if not isinstance(text, str) or not text:
            raise ConfigurationError("an appliance endpoint is a socket "
                                     "path or tcp://HOST:PORT, not %r"
                                     % (text,))
        self.text = text
        if text.startswith("tcp://"):
            hostport = text[len("tcp://"):]
            host, sep, port = hostport.rpartition(":")
            host = host[1:-1] if host.startswith("[") else host
            if not sep or not host or not port.isdigit() or \
                    not 0 < int(port) < 65536:
                raise ConfigurationError("bad TCP endpoint %r: use "
                                         "tcp://HOST:PORT" % text)
            self.is_unix = False
            self.address = (host, int(port))
        else:
            self.is_unix = True
            self.address = text[len("unix:"):] if text.startswith("unix:") \
                else text

    def __str__(self):
        return self.text


class _Broken(Exception):
    """The connection ended before a complete reply."""


def ssl_context(ca, client_cert=None, client_key=None):
    """A client context that trusts the appliance CA, and only it."""
    if not ca or not os.path.isfile(ca):
        raise ConfigurationError(
            "no CA certificate at %r: point AGENTVAULT_CA (or ca=) at the "
            "appliance CA, the ca.pem the key ceremony wrote (e.g. "
            "/var/lib/agentvault/ca.pem, var/ca.pem with make run)" % (ca,))
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_cert:
        try:
            ctx.load_cert_chain(client_cert, client_key)
        except (OSError, ssl.SSLError) as e:
            raise ConfigurationError("cannot load the client certificate "
                                     "%s: %s" % (client_cert, e)) from e
    return ctx


class _Connection:
    def __init__(self, sock):
        self.sock = sock
        self.pid = os.getpid()

    def stale(self):
        """True when the peer closed (or sent something unasked): a
        reused connection must be idle and silent."""
        if self.sock.pending():
            return True
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Transport:
    """Requests to one endpoint over a small pool of keep-alive
    connections.  Thread-safe: each request holds a connection of its own
    until the reply is read."""

    def __init__(self, endpoint, context, server_hostname=None, timeout=10.0,
                 max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES):
        self.endpoint = endpoint if isinstance(endpoint, Endpoint) \
            else Endpoint(endpoint)
        self.context = context
        if server_hostname is None:
            server_hostname = "localhost" if self.endpoint.is_unix \
                else self.endpoint.address[0]
        self.server_hostname = server_hostname
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.connections_opened = 0
        self._idle = []
        self._lock = threading.Lock()

    # -- connections -----------------------------------------------------

    def _connect(self, deadline):
        ep = self.endpoint
        raw = None
        try:
            if ep.is_unix:
                raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                raw.settimeout(_remaining(deadline))
                raw.connect(ep.address)
            else:
                raw = socket.create_connection(ep.address,
                                               _remaining(deadline))
            raw.settimeout(_remaining(deadline))
            sock = self.context.wrap_socket(
                raw, server_hostname=self.server_hostname)
        except socket.timeout:
            _close(raw)
            raise TransportTimeout("no TLS connection to %s within %gs"
                                   % (ep, self.timeout), str(ep)) from None
        except ssl.SSLCertVerificationError as e:
            _close(raw)
            raise TLSVerificationError(
                "the certificate of %s was refused (%s): is AGENTVAULT_CA "
                "the appliance CA, and does the certificate name %r?"
                % (ep, e.verify_message or e.reason, self.server_hostname),
                str(ep)) from None
        except ssl.SSLError as e:
            _close(raw)
            raise TransportError("TLS handshake with %s failed: %s"
                                 % (ep, e.reason or e), str(ep)) from None
        except FileNotFoundError:
            _close(raw)
            raise TransportError(
                "no appliance socket at %s: is agentvaultd running, and is "
                "AGENTVAULT_SOCKET (or AGENTVAULT_ADMIN_SOCKET) right?" % ep,
                str(ep)) from None
        except PermissionError:
            _close(raw)
            raise TransportError(
                "not allowed to connect to %s: the socket's mode and group "
                "decide who may (listen.*_socket in the daemon's "
                "configuration)" % ep, str(ep)) from None
        except OSError as e:
            _close(raw)
            raise TransportError("cannot connect to %s: %s"
                                 % (ep, e.strerror or e), str(ep)) from None
        with self._lock:
            self.connections_opened += 1
        return _Connection(sock)

    def _take(self, deadline):
        """(connection, reused): an idle connection still good to use, or
        a new one."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect(deadline), False
            if conn.pid != os.getpid() or conn.stale():
                # Closed by the daemon, or inherited over fork(): a TLS
                # session must not be shared between processes.
                conn.close()
                continue
            return conn, True

    def _give(self, conn):
        with self._lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        conn.close()

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- requests --------------------------------------------------------

    def request(self, method, target, body=None, idempotent=False,
                content_type="application/json"):
        """Send one request; return (status, headers, body bytes).
        headers has lower-case names."""
        deadline = time.monotonic() + self.timeout
        head = ("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
                "Accept: application/json\r\n" % (
                    method, target, self.server_hostname, USER_AGENT))
        if body:
            head += "Content-Type: %s\r\n" % content_type
        head += "Content-Length: %d\r\n\r\n" % len(body or b"")
        data = bytearray(head.encode("ascii"))
        data += body or b""
        try:
            for attempt in (1, 2):
                conn, reused = self._take(deadline)
                try:
                    try:
                        self._send(conn, data, deadline)
                    except _Broken:
                        # The appliance may have answered before reading
                        # it all (413) and closed: the reply says.
                        pass
                    status, headers, payload, keep = self._read(conn,
                                                                deadline)
                except _Broken as e:
                    conn.close()
                    # As libagentvault: once, and only a reused connection
                    # (one the daemon may have dropped while idle); a new
                    # one that breaks is not helped by another try.
                    if attempt == 1 and idempotent and reused:
                        continue
                    if idempotent:
                        raise TransportError(
                            "the connection to %s broke %sbefore the "
                            "reply (%s)" % (self.endpoint, "twice " if
                                            attempt == 2 else "", e),
                            str(self.endpoint)) from None
                    raise TransportError(
                        "the connection to %s broke before the reply (%s): "
                        "%s %s may or may not have been applied; check "
                        "before repeating it" % (self.endpoint, e, method,
                                                 target.split("?")[0]),
                        str(self.endpoint)) from None
                except BaseException:
                    conn.close()
                    raise
                if keep:
                    self._give(conn)
                else:
                    conn.close()
                return status, headers, payload
        finally:
            # The body may hold a secret (an API key being stored).
            data[:] = bytes(len(data))

    def _send(self, conn, data, deadline):
        self._io(conn, deadline, conn.sock.sendall, data)

    def _recv(self, conn, deadline):
        chunk = self._io(conn, deadline, conn.sock.recv, 65536)
        if not chunk:
            raise _Broken("closed by the appliance")
        return chunk

    def _io(self, conn, deadline, fn, arg):
        """fn(arg) on the connection's socket within the deadline, its
        errors turned into ours."""
        try:
            conn.sock.settimeout(_remaining(deadline))
            return fn(arg)
        except socket.timeout:
            raise TransportTimeout("no reply from %s within %gs" % (
                self.endpoint, self.timeout), str(self.endpoint)) from None
        except (ConnectionError, ssl.SSLEOFError) as e:
            raise _Broken(e.__class__.__name__) from None
        except ssl.SSLError as e:
            raise TransportError("TLS error from %s: %s" % (
                self.endpoint, e.reason or e), str(self.endpoint)) from None
        except OSError as e:
            raise TransportError("I/O error with %s: %s" % (
                self.endpoint, e.strerror or e), str(self.endpoint)) from None

    def _read(self, conn, deadline):
        buf = bytearray()
        try:
            while True:
                end = buf.find(b"\r\n\r\n")
                if end >= 0:
                    break
                if len(buf) > MAX_HEAD_BYTES:
                    raise self._protocol("a reply head over %d bytes"
                                         % MAX_HEAD_BYTES)
                buf += self._recv(conn, deadline)
            if end > MAX_HEAD_BYTES:
                raise self._protocol("a reply head over %d bytes"
                                     % MAX_HEAD_BYTES)
            status, headers, version = self._parse_head(bytes(buf[:end]))
            length = headers.get("content-length")
            if "transfer-encoding" in headers:
                raise self._protocol("a reply with Transfer-Encoding")
            if length is None or not _digits(length) or len(length) > 10:
                raise self._protocol("a reply without a valid "
                                     "Content-Length")
            length = int(length)
            if length > self.max_response_bytes:
                raise self._protocol(
                    "a reply of %d bytes, over the limit of %d "
                    "(max_response_bytes)" % (length,
                                              self.max_response_bytes))
            del buf[:end + 4]
            while len(buf) < length:
                buf += self._recv(conn, deadline)
            if len(buf) > length:
                raise self._protocol("bytes after the reply")
            payload = bytes(buf)
        finally:
            buf[:] = bytes(len(buf))
        conn_hdr = headers.get("connection", "").lower()
        keep = conn_hdr != "close" if version == "HTTP/1.1" \
            else conn_hdr == "keep-alive"
        return status, headers, payload, keep

    def _parse_head(self, head):
        try:
            lines = head.decode("iso-8859-1").split("\r\n")
        except UnicodeDecodeError:
            raise self._protocol("an undecodable reply head") from None
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or parts[0] not in ("HTTP/1.1", "HTTP/1.0") or \
                len(parts[1]) != 3 or not _digits(parts[1]):
            raise self._protocol("a malformed status line")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise self._protocol("a malformed header line")
            name = name.lower()
            if name in headers and name in ("content-length", "connection"):
                raise self._protocol("a repeated %s header" % name)
            headers[name] = value.strip()
        return int(parts[1]), headers, parts[0]

    def _protocol(self, what):
        return ProtocolError("%s sent %s" % (self.endpoint, what),
                             str(self.endpoint))


def _remaining(deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("deadline passed")
    return left


def _close(sock):
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass
