"""COMPRESS=DEFLATE (RFC 4978) in youju-mra, driven by Python's imaplib
with the socket wrapped in zlib by the test (raw deflate both ways, as the
RFC asks): after login on plain IMAP and inside IMAPS; big FETCH replies
and an APPEND literal arrive whole; a session that stays quiet long
enough for the server to put its zlib state to sleep goes on, with the
client's compressor still referring back to what it sent before; and the
refusals (before login, twice, an unknown mechanism, a garbled stream)."""
import imaplib
import socket
import ssl
import time
import zlib

from test_imap_state import PASSWORD, user

imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))


class Z:
    """imaplib's I/O through raw deflate once compress() succeeded."""

    def compress(self, flush=zlib.Z_SYNC_FLUSH):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        assert typ == "OK", data
        self._zd = zlib.compressobj(6, zlib.DEFLATED, -15)
        self._zi = zlib.decompressobj(-15)
        self._zbuf = b""
        self._zflush = flush
        self.zsent = self.zwire = 0
        return typ, data

    def _zfill(self):
        d = self.sock.recv(65536)
        if not d:
            raise imaplib.IMAP4.abort("socket closed")
        self.zwire += len(d)
        self._zbuf += self._zi.decompress(d)

    def send(self, data):
        if not hasattr(self, "_zd"):
            return super().send(data)
        self.zsent += len(data)
        self.sock.sendall(self._zd.compress(data) +
                          self._zd.flush(self._zflush))

    def read(self, size):
        if not hasattr(self, "_zd"):
            return super().read(size)
        while len(self._zbuf) < size:
            self._zfill()
        out, self._zbuf = self._zbuf[:size], self._zbuf[size:]
        return out

    def readline(self):
        if not hasattr(self, "_zd"):
            return super().readline()
        while b"\n" not in self._zbuf:
            self._zfill()
        i = self._zbuf.index(b"\n") + 1
        out, self._zbuf = self._zbuf[:i], self._zbuf[i:]
        return out


class ZIMAP(Z, imaplib.IMAP4):
    pass


class ZIMAPS(Z, imaplib.IMAP4_SSL):
    pass


def _ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _big_message(n):
    lines = [f"line {i}: the quick brown fox jumps over the lazy dog"
             for i in range(n)]
    return ("From: a@example.com\r\nSubject: big\r\n\r\n" +
            "\r\n".join(lines) + "\r\n").encode()


def _exercise(m):
    """LIST, APPEND a 300 KB message, FETCH it back whole, many small
    replies; returns the message."""
    assert b"COMPRESS=DEFLATE" in m.capability()[1][0]
    m.compress()
    typ, data = m.list()
    assert typ == "OK" and any(b'"INBOX"' in d or b" INBOX" in d
                               for d in data), data
    big = _big_message(6000)
    typ, data = m.append("INBOX", None, None, big)
    assert typ == "OK", data
    for k in range(30):
        typ, data = m.append("INBOX", "(\\Seen)", None,
                             f"Subject: small {k}\r\n\r\nx\r\n".encode())
        assert typ == "OK", data
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"31"], data
    typ, data = m.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and data[0][1] == big, data[0][0]
    typ, data = m.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS "
                        "(SUBJECT)])")
    assert typ == "OK" and len([d for d in data if isinstance(d, tuple)]) \
        == 31, data
    assert b"small 29" in data[-2][1], data[-2:]
    return big


def test_compress_plain_imap(inst):
    addr = user(inst, "zplain")
    m = ZIMAP("127.0.0.1", inst.ports["imap"], timeout=30)
    # not before login (post-login capability, as Dovecot)
    assert b"COMPRESS=DEFLATE" not in m.capability()[1][0]
    tag = m._new_tag()
    m.send(tag + b" COMPRESS DEFLATE\r\n")
    assert m.readline().startswith(tag + b" BAD"), "COMPRESS before login"
    m.login(addr, PASSWORD)
    # an unknown mechanism is refused, the session goes on uncompressed
    tag = m._new_tag()
    m.send(tag + b" COMPRESS LZ4\r\n")
    assert m.readline().startswith(tag + b" BAD")
    big = _exercise(m)
    # the wire carried less than the text (the FETCH of `big` alone is
    # 300 KB of repetitive lines)
    assert m.zwire < len(big) / 3, (m.zwire, len(big))
    # a second COMPRESS: NO [COMPRESSIONACTIVE], compressed like the rest
    typ, data = m._simple_command("COMPRESS", "DEFLATE")
    assert typ == "NO" and data[0].startswith(b"[COMPRESSIONACTIVE]"), data
    assert m.noop()[0] == "OK"
    m.logout()


def test_compress_inside_tls(inst):
    addr = user(inst, "ztls")
    m = ZIMAPS("127.0.0.1", inst.ports["imaps"], ssl_context=_ctx(),
               timeout=30)
    m.login(addr, PASSWORD)
    _exercise(m)
    m.logout()


def test_compress_sleep_and_wake(inst):
    """Quiet for longer than the sweep (1 s, twice): the server frees its
    zlib state in between; the client's compressor keeps its history, so
    the commands after the pause refer back into the ones before."""
    addr = user(inst, "zsleep")
    for flush in (zlib.Z_SYNC_FLUSH, zlib.Z_PARTIAL_FLUSH):
        m = ZIMAP("127.0.0.1", inst.ports["imap"], timeout=30)
        m.login(addr, PASSWORD)
        m.compress(flush)
        for k in range(2):
            typ, data = m.select("INBOX")
            assert typ == "OK", data
            typ, data = m.search(None, "SUBJECT", "sleeping-beauty")
            assert typ == "OK", data
            typ, data = m.status("INBOX", "(MESSAGES UIDNEXT)")
            assert typ == "OK" and b"MESSAGES" in data[0], data
            time.sleep(2.2)
        m.logout()


def test_compress_garbage_closes(inst):
    addr = user(inst, "zbad")
    since = inst.log_size()
    m = ZIMAP("127.0.0.1", inst.ports["imap"], timeout=30)
    m.login(addr, PASSWORD)
    m.compress()
    # not a deflate stream (block type 3): the server hangs up
    m.sock.sendall(b"\xff\xff\xff\xff")
    m.sock.settimeout(10)
    got = b""
    try:
        while True:
            d = m.sock.recv(4096)
            if not d:
                break
            got += d
    except (ConnectionResetError, socket.timeout) as e:
        assert isinstance(e, ConnectionResetError), "still open"
    inst.wait_log(r"imap\(zbad@extmail.org\): Disconnected: compressed "
                  r"input", since=since)
