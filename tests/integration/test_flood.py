"""No client can stall others (issue 10): while 500 slow connections are
held open (sockets that connect and send nothing, from 127.0.0.1 and from
the 20 addresses 127.0.0.2-21), a fresh client from yet another address
(127.0.0.22) is greeted within a second on SMTP, SMTPS, IMAP, IMAPS, POP3
and POP3S; one address over smtpd_client_connection_count_limit is refused
before any name lookup, with Postfix's anvil reply.  The connect-time name lookup
goes to a fake DNS server that never answers the flood's addresses, so a
lookup that held a worker or the greeting would show."""
import contextlib
import re
import resource
import socket
import ssl
import time

import test_mta
from test_mta_restrictions import FakeDNS, settings

HOST = "127.0.0.1"
FRESH = "127.0.0.22"
CONFIG = dict(test_mta.CONFIG)
# the TLS ports: a second for the greeting plus one for a handshake by an
# ASan build on a loaded machine (a greeting stuck behind the flood takes
# the 5 s lookup deadline or far longer)
TLS_BOUND = 2.0


class SilentDNS(FakeDNS):
    """FakeDNS that drops queries about the flood's addresses (a slow or
    hostile PTR zone) and answers the rest (FakeDNS.run sends nothing for
    None)."""

    def answer(self, q):
        if b"\x03127\x07in-addr\x04arpa" in q and b"\x0222\x010\x010" \
                not in q:
            return None
        return super().answer(q)


RECORDS = [("22.0.0.127.in-addr.arpa", ("PTR", "fresh.example")),
           ("fresh.example", ("A", FRESH))]


def _nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


@contextlib.contextmanager
def flood(port, n=500, addrs=21, first=1):
    """n idle connections to port, spread over addrs addresses from
    127.0.0.<first> on."""
    _nofile(4 * n + 256)
    socks = []
    try:
        for i in range(n):
            s = socket.socket()
            socks.append(s)
            s.bind((f"127.0.0.{first + i % addrs}", 0))
            s.settimeout(5)
            s.connect((HOST, port))
        yield socks
    finally:
        for s in socks:
            s.close()


def greeting(port, src=FRESH, timeout=10, tls=False):
    """Seconds until the first line from port (after the TLS handshake
    with tls), and the line."""
    with socket.create_connection((HOST, port), timeout=timeout,
                                  source_address=(src, 0)) as s:
        t0 = time.monotonic()
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s)
        data = b""
        while b"\n" not in data:
            d = s.recv(4096)
            if not d:
                break
            data += d
        return time.monotonic() - t0, data.decode(errors="replace")


@contextlib.contextmanager
def silent_dns(inst, limit):
    """youju-mta asks SilentDNS, with a connection count limit that
    applies to loopback clients too."""
    dns = SilentDNS(RECORDS)
    try:
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      smtpd_client_connection_count_limit=str(limit),
                      smtpd_client_event_limit_exceptions=""):
            yield
    finally:
        dns.close()


def test_smtp_greets_under_flood(inst):
    with silent_dns(inst, 30):
        port = inst.ports["smtp"]
        with flood(port) as socks:
            time.sleep(0.5)
            t, line = greeting(port)
            assert line.startswith("220 "), line
            assert t < 1.0, (t, line)
            # the flood's own lookups end at the deadline (5 s): then
            # they are greeted as "unknown"
            socks[4].settimeout(8)
            assert socks[4].recv(512).startswith(b"220 ")
            # the fresh client's name was looked up (its PTR answers)
            since = inst.log_size()
            t, line = greeting(port)
            assert t < 1.0, (t, line)
            inst.wait_log(r"connect from fresh\.example\[127\.0\.0\.22\]",
                          since=since)


def test_smtp_greets_under_flood_from_one_address(inst):
    """500 from 127.0.0.2 alone: 30 wait for their lookup, the rest are
    refused at once without one; a fresh client is greeted meanwhile."""
    with silent_dns(inst, 30):
        port = inst.ports["smtp"]
        since = inst.log_size()
        with flood(port, addrs=1, first=2) as socks:
            time.sleep(0.5)
            t, line = greeting(port)
            assert line.startswith("220 "), line
            assert t < 1.0, (t, line)
            socks[-1].settimeout(5)
            assert socks[-1].recv(512).startswith(b"421 4.7.0 ")
        log = inst.maillog()[since:]
        n = len(re.findall(r"Connection concurrency limit exceeded: "
                           r"\d+ from unknown\[127\.0\.0\.2\]", log))
        assert n == 470, n
        # let the 30 held sessions reach their deadline
        time.sleep(5.5)


def test_smtp_count_limit_before_lookup(inst):
    with silent_dns(inst, 5):
        port = inst.ports["smtp"]
        since = inst.log_size()
        with flood(port, n=5, addrs=1):
            t, line = greeting(port, src="127.0.0.1")
            assert t < 1.0, (t, line)
            assert re.fullmatch(r"421 4\.7\.0 \S+ Error: too many "
                                r"connections from 127\.0\.0\.1",
                                line.rstrip()), line
        inst.wait_log(r"warning: Connection concurrency limit exceeded: "
                      r"6 from unknown\[127\.0\.0\.1\] for service smtp",
                      since=since)
        # the held sessions end at their lookup deadline (5 s), then
        # 127.0.0.1 is welcome again
        deadline = time.monotonic() + 15
        while True:
            t, line = greeting(port, src="127.0.0.1")
            if line.startswith("220 ") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert line.startswith("220 "), line


def test_imap_pop3_greet_under_flood(inst):
    """The flood holds connections that never send a byte: on the TLS
    ports, handshakes that never start."""
    for svc, want in (("imap", "* OK"), ("pop3", "+OK"), ("imaps", "* OK"),
                      ("pop3s", "+OK")):
        port = inst.ports[svc]
        for addrs in (21, 1):
            with flood(port, addrs=addrs):
                time.sleep(0.5)
                tls = svc.endswith("s")
                t, line = greeting(port, tls=tls)
                assert line.startswith(want), (svc, line)
                assert t < (TLS_BOUND if tls else 1.0), (svc, addrs, t, line)


def test_smtps_greets_under_flood(inst):
    with silent_dns(inst, 30):
        port = inst.ports["smtps"]
        with flood(port):
            time.sleep(0.5)
            t, line = greeting(port, tls=True)
            assert line.startswith("220 "), line
            assert t < TLS_BOUND, (t, line)
        time.sleep(5.5)  # the held sessions end at their deadline
