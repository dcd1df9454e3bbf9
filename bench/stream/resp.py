"""A minimal Redis client (RESP2 over a socket, standard library only) for the stream benches
and failure tests: commands as argument lists, pipelining, replies as Python values."""
import socket


class RedisError(Exception):
    """An error reply ("-ERR ...")."""


class Redis:
    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = None
        self.buf = b""

    def connect(self):
        self.close()
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    @staticmethod
    def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ConnectionError("bad reply %r" % line)

    def pipeline(self, commands):
        """Sends every command, returns every reply (error replies as RedisError values)."""
        if self.sock is None:
            self.connect()
        try:
            self.sock.sendall(b"".join(self.encode(c) for c in commands))
            return [self._reply() for _ in commands]
        except (OSError, ConnectionError):
            self.close()
            raise

    def call(self, *args):
        reply = self.pipeline([list(args)])[0]
        if isinstance(reply, RedisError):
            raise reply
        return reply
