"""IDLE past 128 connections (issue 10): all sessions of a youju-mra
process share one inotify instance (Linux allows 128 per user, and all of
youju-mra runs as vmail), so 300 IDLE sessions on one folder are all told
of a new message (EXISTS), a flag change (FETCH) and an expunge (EXPUNGE)
within a second, with no fallback to polling.  The 300
sessions come from 30 loopback addresses (mra_max_userip_connections is 10
per user and address)."""
import os
import pwd
import re
import resource
import selectors
import socket
import time

import test_imap_state
from test_imap_state import PASSWORD, maildir, smtp_deliver, user, wait_files

N = 300
PER_IP = 10


def _nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


class Conns:
    """N raw IMAP connections read together through one selector."""

    def __init__(self, port, n):
        self.sel = selectors.DefaultSelector()
        self.socks, self.buf, self.closed = [], {}, set()
        for i in range(n):
            s = socket.socket()
            self.socks.append(s)
            s.bind((f"127.0.0.{30 + i // PER_IP}", 0))
            s.settimeout(10)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            self.buf[s] = b""
            self.sel.register(s, selectors.EVENT_READ)

    def send_all(self, fmt, socks=None):
        for s in socks or self.socks:
            s.setblocking(True)
            s.sendall(fmt)
            s.setblocking(False)

    def wait_all(self, pattern, timeout=60, socks=None):
        """Seconds until every connection (of socks) has sent a line
        matching pattern; the unmatched lines are dropped."""
        t0 = time.monotonic()
        left = set(socks or self.socks)
        rx = re.compile(pattern)
        while left:
            rest = t0 + timeout - time.monotonic()
            if rest <= 0:
                raise AssertionError(
                    f"{len(left)} of {len(self.socks)} connections sent "
                    f"no {pattern!r}; one has {self.buf[next(iter(left))]!r}")
            for key, _ in self.sel.select(min(rest, 1.0)):
                s = key.fileobj
                d = s.recv(65536)
                if not d:
                    if s in left:
                        raise AssertionError(f"closed: {self.buf[s]!r}")
                    self.sel.unregister(s)
                    self.closed.add(s)
                    continue
                self.buf[s] += d
                while b"\n" in self.buf[s]:
                    line, self.buf[s] = self.buf[s].split(b"\n", 1)
                    if s in left and rx.search(line):
                        left.discard(s)
        return time.monotonic() - t0

    def close(self):
        for s in self.socks:
            if s not in self.closed:
                self.sel.unregister(s)
            s.close()
        self.sel.close()


def _deliver_file(md, name, body):
    """A delivery as any MDA makes it: write in tmp/, rename into new/."""
    tmp = os.path.join(md, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(body)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("vmail")
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    os.rename(tmp, os.path.join(md, "new", name))


def test_idle_300_connections_pushed(inst):
    _nofile(4 * N + 256)
    addr = user(inst, "idle300")
    smtp_deliver(inst, addr, "first")
    md = maildir(inst, addr)
    assert len(wait_files(md, 1)) == 1
    since = inst.log_size()
    c = Conns(inst.ports["imap"], N)
    try:
        c.wait_all(rb"^\* OK")
        # in groups: youju-mra runs at most 64 logins at once per process
        for i in range(0, N, 32):
            group = c.socks[i:i + 32]
            c.send_all(f"a LOGIN {addr} {PASSWORD}\r\n".encode(), group)
            c.wait_all(rb"^a OK", socks=group)
        c.send_all(b"b SELECT INBOX\r\n")
        c.wait_all(rb"^b OK")
        c.send_all(b"c IDLE\r\n")
        c.wait_all(rb"^\+ ")
        time.sleep(0.5)
        _deliver_file(md, f"{int(time.time())}.M1P1.idle300", (
            b"From: a@example.com\r\nSubject: pushed\r\n\r\nhello\r\n"))
        t = c.wait_all(rb"^\* 2 EXISTS", timeout=10)
        assert t < 1.0, f"the last of {N} IDLE sessions was told after {t}s"
        # a flag change by another agent (a rename in cur/) as FETCH
        time.sleep(0.3)
        [(sub, name)] = [(d, f) for d in ("new", "cur")
                         for f in os.listdir(os.path.join(md, d))
                         if "idle300" in f]
        os.rename(os.path.join(md, sub, name),
                  os.path.join(md, "cur", name.split(":")[0] + ":2,S"))
        t = c.wait_all(rb"^\* 2 FETCH \(FLAGS \([^)]*\\Seen", timeout=10)
        assert t < 1.0, f"FETCH told after {t}s"
        # an expunge by one session reaches the 299 others
        c.send_all(b"DONE\r\n")
        c.wait_all(rb"^c OK")
        c.send_all(b"d IDLE\r\n")
        c.wait_all(rb"^\+ ")
        for f in os.listdir(os.path.join(md, "cur")) + \
                os.listdir(os.path.join(md, "new")):
            if "idle300" in f:
                for sub in ("cur", "new"):
                    p = os.path.join(md, sub, f)
                    if os.path.exists(p):
                        os.unlink(p)
        t = c.wait_all(rb"^\* 2 EXPUNGE", timeout=10)
        assert t < 1.0, f"EXPUNGE told after {t}s"
        c.send_all(b"DONE\r\ne LOGOUT\r\n")
        c.wait_all(rb"^e OK")
    finally:
        c.close()
    log = inst.maillog()[since:]
    assert "inotify" not in log, re.findall(r".*inotify.*", log)[:3]
