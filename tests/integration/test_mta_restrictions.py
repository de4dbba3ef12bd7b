"""youju-mta restrictions (issue 4): every restriction stage with Postfix's
names, order and replies, access tables in text (hash:, texthash:),
cidr:, regexp: and pcre: form, reloaded when the file changes, the DNS
restrictions against a fake DNS server run by this module (and against the
machine's own resolver, offline), header_checks/body_checks,
header_size_limit, the error and client connection limits, and SIGHUP
reloads that keep the old policy when the new one is bad.

The instance is shared by every test module: each test changes the
parameters it needs through `youju conf -e` + SIGHUP and restores them in a
finally block.  Outside clients connect from 127.0.0.2 (mynetworks is
127.0.0.1/32 in this instance, see test_mta.CONFIG)."""
import contextlib
import os
import re
import smtplib
import socket
import struct
import subprocess
import threading
import time

import harness
import test_mta
from test_mta import HOST, OutsideSMTP, raw, smtp

OUT = "127.0.0.2"
# as test_mta: 127.0.0.2 is an outside client (also when run alone, -k)
CONFIG = dict(test_mta.CONFIG)


# ------------------------------------------------------------- helpers
def _reload(inst):
    # the first session loads the policy; make sure one happened
    s = smtp(inst)
    s.quit()
    since = inst.log_size()
    inst.reload("youju-mta")
    m = inst.wait_log(r"reload: .*(configuration reloaded|keeping the old "
                      r"configuration)", since=since)
    return m.group(0)


def _reload_authd(inst):
    since = inst.log_size()
    inst.reload("youju-authd")
    inst.wait_log(r"authd: (configuration reloaded|reload failed)",
                  since=since)


@contextlib.contextmanager
def settings(inst, authd=False, **params):
    """Sets parameters, reloads youju-mta (with authd youju-authd first),
    restores them afterwards."""
    old = {}
    for k in params:
        r = inst.youju("conf", "-h", k, check=True)
        old[k] = r.stdout.rstrip("\n")
    try:
        for k, v in params.items():
            inst.youju("conf", "-e", f"{k}={v}", check=True)
        if authd:
            _reload_authd(inst)
        res = _reload(inst)
        assert "configuration reloaded" in res, res
        yield
    finally:
        for k, v in old.items():
            inst.youju("conf", "-e", f"{k}={v}", check=True)
        if authd:
            _reload_authd(inst)
        _reload(inst)


def etc(inst, name, text):
    path = inst.path("etc", name)
    with open(path, "w") as f:
        f.write(text)
    return path


def outside(inst, helo="outside.example", port="smtp"):
    s = OutsideSMTP(inst, port)
    s.ehlo(helo)
    return s


def rcpt(inst, sender, to="postmaster@extmail.org", helo="outside.example"):
    """MAIL and RCPT from the outside client; returns (mail, rcpt) replies
    as "code text"."""
    s = outside(inst, helo)
    try:
        c1, t1 = s.docmd(f"MAIL FROM:<{sender}>")
        c2, t2 = s.docmd(f"RCPT TO:<{to}>")
        return f"{c1} {t1.decode()}", f"{c2} {t2.decode()}"
    finally:
        s.close()


def local_send(inst, msg, to="postmaster@extmail.org", sender="a@example.net"):
    """Sends from 127.0.0.1 (mynetworks); returns the DATA reply."""
    s = smtp(inst)
    try:
        s.ehlo("localhost")
        assert s.docmd(f"MAIL FROM:<{sender}>")[0] == 250
        assert s.docmd(f"RCPT TO:<{to}>")[0] == 250
        return data(s, msg)
    finally:
        s.close()


def data(s, msg):
    """DATA with smtplib; the final reply as "code text"."""
    try:
        code, text = s.data(msg.encode())
    except smtplib.SMTPDataError as e:
        code, text = e.smtp_code, e.smtp_error
    return f"{code} {text.decode()}"


def held_file(inst, qid, timeout=5):
    path = inst.path("spool", "hold", qid)
    deadline = time.time() + timeout
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)
    with open(path, "rb") as f:
        return test_mta.parse_queue_file(f.read())[1].decode()


# ------------------------------------------------------ access tables
def test_client_access_hash_map_delayed_to_rcpt_and_reloaded(inst):
    path = etc(inst, "client_access", "# clients\n127.0.0.2 REJECT\n")
    with settings(inst, smtpd_client_restrictions=f"check_client_access "
                  f"hash:{path}"):
        since = inst.log_size()
        m, r = rcpt(inst, "someone@example.net")
        # smtpd_delay_reject = yes: MAIL passes, RCPT carries the reject
        assert m.startswith("250"), m
        assert r == ("554 5.7.1 <unknown[127.0.0.2]>: Client host "
                     "rejected: Access denied"), r
        inst.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]: "
                      r"554 5\.7\.1 <unknown\[127\.0\.0\.2\]>: Client host "
                      r"rejected: Access denied; from=<someone@example\.net> "
                      r"to=<postmaster@extmail\.org> proto=ESMTP "
                      r"helo=<outside\.example>", since=since)
        # the file changes: the next lookup sees it (no postmap, no HUP);
        # an octet prefix matches, with a custom code and text
        time.sleep(0.01)
        etc(inst, "client_access", "127.0 550 5.7.0 Go away\n"
            "127.0.0.1 OK\n")
        m, r = rcpt(inst, "someone@example.net")
        assert r == ("550 5.7.0 <unknown[127.0.0.2]>: Client host "
                     "rejected: Go away"), r
        # 127.0.0.1 has its own entry; loopback relays as before
        s = smtp(inst)
        s.ehlo("localhost")
        assert s.docmd("MAIL FROM:<a@example.net>")[0] == 250
        assert s.docmd("RCPT TO:<x@example.com>")[0] == 250
        s.quit()


def test_sender_access_lookup_order(inst):
    path = etc(inst, "sender_access",
               "spammer@bad.example REJECT\n"
               "bad.example 550 5.7.1 Domain refused\n"
               "friend@bad.example DUNNO\n"
               "parent.example DEFER\n"
               "postmaster@ OK\n"
               "<> REJECT no bounces here\n")
    with settings(inst, smtpd_sender_restrictions=f"check_sender_access "
                  f"texthash:{path}"):
        cases = [
            ("spammer@bad.example", "554 5.7.1 <spammer@bad.example>: "
             "Sender address rejected: Access denied"),
            ("other@bad.example", "550 5.7.1 <other@bad.example>: "
             "Sender address rejected: Domain refused"),
            # DUNNO on the full address stops the partial lookups
            ("friend@bad.example", "250"),
            # parent_domain_matches_subdomains has smtpd_access_maps
            ("x@sub.parent.example", "450 4.7.1 <x@sub.parent.example>: "
             "Sender address rejected: Access denied"),
            # full address, then domain, before user@
            ("postmaster@bad.example", "550 5.7.1 <postmaster@bad.example>"),
            ("postmaster@elsewhere.example", "250"),  # user@ is OK
            ("", "554 5.7.1 <>: Sender address rejected: no bounces here"),
        ]
        for sender, want in cases:
            _, r = rcpt(inst, sender)
            assert r.startswith(want), (sender, r)


def test_recipient_and_helo_access(inst):
    rpath = etc(inst, "rcpt_access", "extmail.org REJECT closed for now\n")
    hpath = etc(inst, "helo_access", "evil.example 554 Go away\n")
    with settings(inst,
                  smtpd_helo_restrictions=f"check_helo_access hash:{hpath}",
                  smtpd_recipient_restrictions="check_recipient_access "
                  f"hash:{rpath}, permit_mynetworks, "
                  "reject_unauth_destination"):
        _, r = rcpt(inst, "a@example.net")
        assert r == ("554 5.7.1 <postmaster@extmail.org>: Recipient "
                     "address rejected: closed for now"), r
        _, r = rcpt(inst, "a@example.net", helo="mx.evil.example",
                    to="x@example.com")
        assert r == ("554 5.7.1 <mx.evil.example>: Helo command rejected: "
                     "Go away"), r


def test_cidr_regexp_pcre_maps(inst):
    cpath = etc(inst, "clients.cidr", "# cidr\n10.0.0.0/8 OK\n"
                "127.0.0.0/30 REJECT cidr says no\n")
    rpath = etc(inst, "senders.regexp", "/^spam[0-9]+@/ REJECT regexp\n"
                "!/@example\\.net$/ DUNNO\n/^/ DUNNO\n")
    ppath = etc(inst, "senders.pcre",
                "/^(\\w+)@evil\\.example$/ 550 5.7.1 user $1 refused\n"
                "/^CASE@/ REJECT case-insensitive by default\n")
    with settings(inst,
                  smtpd_client_restrictions=f"check_client_access "
                  f"cidr:{cpath}"):
        _, r = rcpt(inst, "a@example.net")
        assert r == ("554 5.7.1 <unknown[127.0.0.2]>: Client host "
                     "rejected: cidr says no"), r
    with settings(inst,
                  smtpd_sender_restrictions=f"check_sender_access "
                  f"regexp:{rpath}, check_sender_access pcre:{ppath}"):
        _, r = rcpt(inst, "spam42@example.net")
        assert r.startswith("554 5.7.1 <spam42@example.net>: Sender address "
                            "rejected: regexp"), r
        _, r = rcpt(inst, "joe@evil.example")
        assert r == ("550 5.7.1 <joe@evil.example>: Sender address "
                     "rejected: user joe refused"), r
        _, r = rcpt(inst, "case@x.example")
        assert r.startswith("554 5.7.1 <case@x.example>: Sender address "
                            "rejected: case-insensitive"), r
        _, r = rcpt(inst, "fine@example.net")
        assert r.startswith("250"), r


def test_access_actions_hold_prepend_discard(inst):
    spath = etc(inst, "sender_actions", "holdme@example.net HOLD\n"
                "dropme@example.net DISCARD\n")
    rpath = etc(inst, "rcpt_actions",
                "postmaster@extmail.org PREPEND X-Access: tagged\n")
    with settings(inst, smtpd_sender_restrictions="check_sender_access "
                  f"hash:{spath}",
                  smtpd_recipient_restrictions="check_recipient_"
                  f"access hash:{rpath}, permit_mynetworks, "
                  "reject_unauth_destination"):
        since = inst.log_size()
        r = local_send(inst, "Subject: held\n\nbody", sender="holdme@example.net")
        assert r.startswith("250 2.0.0 Ok: queued as"), r
        qid = test_mta.queued_id(r)
        msg = held_file(inst, qid)
        assert msg.startswith("X-Access: tagged\nReceived: "), msg
        inst.wait_log(r"NOQUEUE: hold: RCPT from localhost\[127\.0\.0\.1\]: "
                      r"<holdme@example\.net>: Sender address triggers "
                      r"HOLD action; from=<holdme@example\.net> "
                      r"to=<postmaster@extmail\.org> proto=ESMTP "
                      r"helo=<localhost>", since=since)
        inst.wait_log(rf"{qid}: from=<holdme@example\.net>, size=\d+, "
                      rf"nrcpt=1 \(queue hold\)", since=since)
        # DISCARD: 250 like Postfix, nothing queued
        r = local_send(inst, "Subject: gone\n\nbody", sender="dropme@example.net")
        assert r.startswith("250 2.0.0 Ok: queued as"), r
        qid = test_mta.queued_id(r)
        inst.wait_log(rf"{qid}: from=<dropme@example\.net>, size=\d+, "
                      rf"nrcpt=1 \(discarded\)", since=since)
        for q in ("incoming", "active", "hold", "deferred"):
            assert not os.path.exists(inst.path("spool", q, qid)), q


# -------------------------------------------- built-in restrictions
def test_relay_restrictions_and_the_relay_guard(inst):
    with settings(inst, smtpd_relay_restrictions="permit_mynetworks, "
                  "permit_sasl_authenticated, reject_unauth_destination",
                  smtpd_recipient_restrictions="permit"):
        _, r = rcpt(inst, "a@example.net", to="victim@example.com")
        assert r == "554 5.7.1 <victim@example.com>: Relay access denied", r
        _, r = rcpt(inst, "a@example.net")
        assert r.startswith("250"), r
    # neither list guards against relaying: the reload is refused and the
    # running policy stays (still no open relay)
    old = inst.youju("conf", "-h", "smtpd_recipient_restrictions").stdout
    try:
        inst.youju("conf", "-e", "smtpd_recipient_restrictions=permit",
                   check=True)
        res = _reload(inst)
        assert "keeping the old configuration" in res, res
        assert "specify at least one working instance" in res, res
        _, r = rcpt(inst, "a@example.net", to="victim@example.com")
        assert r.startswith("554 5.7.1 <victim@example.com>: Relay"), r
    finally:
        inst.youju("conf", "-e",
                   "smtpd_recipient_restrictions=" + old.strip(), check=True)
        _reload(inst)


def test_helo_sender_recipient_syntax_restrictions(inst):
    with settings(inst,
                  smtpd_helo_required="yes",
                  smtpd_helo_restrictions="reject_invalid_helo_hostname, "
                  "reject_non_fqdn_helo_hostname",
                  smtpd_sender_restrictions="reject_non_fqdn_sender",
                  smtpd_recipient_restrictions="reject_non_fqdn_recipient,"
                  " permit_mynetworks, reject_unauth_destination"):
        _, r = rcpt(inst, "a@example.net", helo="bad_host!")
        assert r == ("501 5.5.2 <bad_host!>: Helo command rejected: "
                     "Invalid name"), r
        _, r = rcpt(inst, "a@example.net", helo="shortname")
        assert r == ("504 5.5.2 <shortname>: Helo command rejected: need "
                     "fully-qualified hostname"), r
        _, r = rcpt(inst, "a@localhost")
        assert r == ("504 5.5.2 <a@localhost>: Sender address rejected: "
                     "need fully-qualified address"), r
        _, r = rcpt(inst, "a@example.net", to="bob")
        assert r.startswith("504 5.5.2 <bob>: Recipient address "
                            "rejected: need fully-qualified address"), r
        # RFC 5321 4.5.1 (issue 10): <postmaster> alone is accepted, as
        # Postfix does, without the recipient restrictions
        _, r = rcpt(inst, "a@example.net", to="postmaster")
        assert r.startswith("250 "), r
        _, out = raw(inst, b"MAIL FROM:<a@example.net>\r\nQUIT\r\n")
        assert out.startswith(b"503 5.5.1 Error: send HELO/EHLO first"), out


def test_warn_if_reject_logs_and_continues(inst):
    with settings(inst, smtpd_client_restrictions="warn_if_reject "
                  "reject_non_fqdn_helo_hostname"):
        since = inst.log_size()
        _, r = rcpt(inst, "a@example.net", helo="shortname")
        assert r.startswith("250"), r
        inst.wait_log(r"NOQUEUE: reject_warning: RCPT from unknown\[127\.0\."
                      r"0\.2\]: 504 5\.5\.2 <shortname>: Helo command "
                      r"rejected: need fully-qualified hostname; "
                      r"from=<a@example\.net> to=<postmaster@extmail\.org> "
                      r"proto=ESMTP helo=<shortname>", since=since)


def test_reject_unauth_pipelining(inst):
    with settings(inst, smtpd_data_restrictions="reject_unauth_pipelining"):
        _, out = raw(inst, b"HELO client.example\r\n"
                     b"MAIL FROM:<a@example.net>\r\n"
                     b"RCPT TO:<postmaster@extmail.org>\r\nDATA\r\n"
                     b"QUIT\r\n")
        assert (b"503 5.5.0 <DATA>: Data command rejected: Improper use "
                b"of SMTP command pipelining") in out, out
        # the same commands one by one pass
        s = smtp(inst)
        s.helo("client.example")
        assert s.docmd("MAIL FROM:<a@example.net>")[0] == 250
        assert s.docmd("RCPT TO:<postmaster@extmail.org>")[0] == 250
        assert data(s, "Subject: ok\n\nok\n").startswith("250"), s
        s.quit()


# ------------------------------------------------------------------ DNS
class FakeDNS:
    """A UDP DNS server with fixed answers: A, MX, PTR, TXT; names
    containing "servfail" or with a ("SERVFAIL",) record get SERVFAIL,
    everything else NXDOMAIN.  `records` may be replaced between queries."""
    TYPES = {1: "A", 12: "PTR", 15: "MX", 28: "AAAA", 16: "TXT"}

    def __init__(self, records):
        self.records = records
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    @staticmethod
    def _name(n):
        return b"".join(bytes([len(p)]) + p.encode()
                        for p in n.rstrip(".").split(".")) + b"\0"

    def answer(self, q):
        qid, _, qd = struct.unpack("!HHH", q[:6])
        pos, labels = 12, []
        while q[pos]:
            labels.append(q[pos + 1:pos + 1 + q[pos]].decode().lower())
            pos += 1 + q[pos]
        qtype = struct.unpack("!H", q[pos + 1:pos + 3])[0]
        question = q[12:pos + 5]
        name = ".".join(labels)
        rcode, rrs = 0, []
        if "servfail" in name or (name, ("SERVFAIL",)) in self.records:
            rcode = 2
        elif not any(k == name for k, _ in self.records):
            rcode = 3
        else:
            for k, v in self.records:
                if k != name or self.TYPES.get(qtype) != v[0]:
                    continue
                if v[0] == "A":
                    rd = socket.inet_aton(v[1])
                elif v[0] == "MX":
                    rd = struct.pack("!H", 10) + self._name(v[1])
                elif v[0] == "TXT":  # one or more <character-string>s
                    rd = b"".join(bytes([len(t)]) + t.encode()
                                  for t in v[1:])
                else:
                    rd = self._name(v[1])
                rrs.append(struct.pack("!HHHIH", 0xC00C, qtype, 1, 60,
                                       len(rd)) + rd)
        hdr = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(rrs), 0, 0)
        return hdr + question + b"".join(rrs)

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                q, addr = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.sock.sendto(self.answer(q), addr)
            except Exception:
                pass

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


DNS_RECORDS = [
    ("good.example", ("MX", "mx.good.example")),
    ("mx.good.example", ("A", "192.0.2.10")),
    ("a-only.example", ("A", "192.0.2.11")),
    ("2.0.0.127.rbl.test", ("A", "127.0.0.2")),
    ("2.0.0.127.rbl.test", ("A", "127.0.0.10")),
    ("2.0.0.127.rbl.test", ("TXT", "Listed; see ", "http://rbl.test/")),
    ("2.0.0.127.plain.test", ("A", "127.0.0.4")),
    ("bad.example.dbl.test", ("A", "127.0.0.2")),
    ("2.0.0.127.in-addr.arpa", ("PTR", "host.good.example")),
    ("host.good.example", ("A", "127.0.0.2")),
]


def test_dns_unknown_domains_with_fake_server(inst):
    dns = FakeDNS(DNS_RECORDS)
    try:
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      smtpd_sender_restrictions="reject_unknown_sender_"
                      "domain",
                      smtpd_recipient_restrictions="permit_mynetworks, "
                      "reject_unauth_destination, "
                      "reject_unknown_recipient_domain",
                      smtpd_client_restrictions="reject_unknown_client_"
                      "hostname",
                      smtpd_helo_restrictions="reject_unknown_helo_"
                      "hostname"):
            # the client 127.0.0.2 has a forward-confirmed name, the HELO
            # name an A record, the sender domain an MX or an A record
            for sender in ("a@good.example", "a@a-only.example"):
                _, r = rcpt(inst, sender, helo="host.good.example")
                assert r.startswith("250"), (sender, r)
            _, r = rcpt(inst, "a@nx.example", helo="host.good.example")
            assert r == ("450 4.1.8 <a@nx.example>: Sender address "
                         "rejected: Domain not found"), r
            _, r = rcpt(inst, "a@servfail.example", helo="host.good.example")
            assert r == ("450 4.1.8 <a@servfail.example>: Sender address "
                         "rejected: Domain not found"), r
            _, r = rcpt(inst, "a@good.example", helo="nohost.example")
            assert r == ("450 4.7.1 <nohost.example>: Helo command "
                         "rejected: Host not found"), r
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      unknown_address_reject_code="550",
                      smtpd_sender_restrictions="reject_unknown_sender_"
                      "domain"):
            _, r = rcpt(inst, "a@nx.example")
            assert r == ("550 5.1.8 <a@nx.example>: Sender address "
                         "rejected: Domain not found"), r
            # a temporary failure stays 450 whatever the code says
            _, r = rcpt(inst, "a@servfail.example")
            assert r.startswith("450 4.1.8"), r
        # a recipient domain that does not exist (relay from mynetworks)
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      smtpd_recipient_restrictions="reject_unknown_"
                      "recipient_domain, permit_mynetworks, "
                      "reject_unauth_destination"):
            s = smtp(inst)
            s.ehlo("localhost")
            assert s.docmd("MAIL FROM:<a@example.net>")[0] == 250
            c, t = s.docmd("RCPT TO:<x@nx.example>")
            assert (c, t.decode()) == (450, "4.1.2 <x@nx.example>: Recipient "
                                       "address rejected: Domain not "
                                       "found"), (c, t)
            s.quit()
    finally:
        dns.close()


def test_dns_block_lists_with_fake_server(inst):
    dns = FakeDNS(DNS_RECORDS)
    try:
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      smtpd_client_restrictions="reject_rbl_client "
                      "rbl.test"):
            # the TXT record is the reason (Postfix's default_rbl_reply);
            # the client's name comes from its PTR record
            since = inst.log_size()
            _, r = rcpt(inst, "a@good.example")
            assert r == ("554 5.7.1 Service unavailable; Client host "
                         "[127.0.0.2] blocked using rbl.test; Listed; see "
                         "http://rbl.test/"), r
            inst.wait_log(r"NOQUEUE: reject: RCPT from host\.good\.example"
                          r"\[127\.0\.0\.2\]: 554 5\.7\.1 Service "
                          r"unavailable; Client host \[127\.0\.0\.2\] "
                          r"blocked using rbl\.test; Listed; see http://"
                          r"rbl\.test/; from=<a@good\.example>", since=since)
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      smtpd_client_restrictions="reject_rbl_client "
                      "other.test, reject_rbl_client rbl.test=127.0.0.9, "
                      "reject_rbl_client rbl.test=127.0.[1;2].[3;5..9]",
                      smtpd_sender_restrictions="reject_rhsbl_sender "
                      "dbl.test"):
            _, r = rcpt(inst, "a@good.example")  # not listed / filtered
            assert r.startswith("250"), r
            _, r = rcpt(inst, "a@bad.example")
            assert r == ("554 5.7.1 Service unavailable; Sender address "
                         "[bad.example] blocked using dbl.test"), r
        # a filter matches any of the A records: 127.0.0.10 is in [9..11];
        # a list without TXT gives the reply without a reason
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      smtpd_client_restrictions="reject_rbl_client "
                      "rbl.test=127.0.0.[9..11]"):
            _, r = rcpt(inst, "a@good.example")
            assert r == ("554 5.7.1 Service unavailable; Client host "
                         "[127.0.0.2] blocked using rbl.test; Listed; see "
                         "http://rbl.test/"), r
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      smtpd_client_restrictions="reject_rbl_client "
                      "plain.test=127.0.0.4"):
            _, r = rcpt(inst, "a@good.example")
            assert r == ("554 5.7.1 Service unavailable; Client host "
                         "[127.0.0.2] blocked using plain.test"), r
        # a bad filter is a configuration error: the old policy stays
        old = inst.youju("conf", "-h", "smtpd_client_restrictions").stdout
        try:
            inst.youju("conf", "-e", "smtpd_client_restrictions="
                       "reject_rbl_client rbl.test=127.0.0.[2..x]",
                       check=True)
            res = _reload(inst)
            assert "keeping the old configuration" in res, res
            assert "bad reply filter" in res, res
        finally:
            inst.youju("conf", "-e",
                       "smtpd_client_restrictions=" + old.strip(), check=True)
            _reload(inst)
    finally:
        dns.close()


def test_dns_with_the_system_resolver(inst):
    """Without smtpd_dns_server the machine's resolver answers.  Offline it
    says NXDOMAIN (or fails): either way reject_unknown_sender_domain must
    not accept a name under .invalid (RFC 2606)."""
    with settings(inst, smtpd_sender_restrictions="reject_unknown_sender_"
                  "domain", smtpd_client_restrictions="reject_unknown_"
                  "client_hostname"):
        _, r = rcpt(inst, "a@nonexistent.invalid")
        assert r.startswith("450 4."), r
        assert r.endswith("rejected: cannot find your hostname, "
                          "[127.0.0.2]") or "Domain not found" in r, r
        # 127.0.0.1 is "localhost" in /etc/hosts: it passes the client
        # check; the sender's domain still fails
        s = smtp(inst)
        s.ehlo("localhost")
        assert s.docmd("MAIL FROM:<a@nonexistent.invalid>")[0] == 250
        c, t = s.docmd("RCPT TO:<postmaster@extmail.org>")
        assert c == 450 and t.decode() == (
            "4.1.8 <a@nonexistent.invalid>: Sender address rejected: "
            "Domain not found"), (c, t)
        s.quit()


def raw_out(inst, lines, port="smtp", wait=1.0):
    """raw() from the outside address 127.0.0.2: (banner, replies)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.bind((OUT, 0))
        s.connect((HOST, inst.ports[port]))
        banner = s.recv(4096)
        s.sendall(lines)
        return banner, harness.read_all(s, wait)


PTR = "2.0.0.127.in-addr.arpa"


def test_client_name_from_reverse_dns(inst):
    """The client's name: PTR plus forward confirmation, looked up at
    connect in a worker, shown in the connect line, the reject lines and
    Received:, and tested by reject_unknown_(reverse_)client_hostname."""
    dns = FakeDNS(DNS_RECORDS)
    hold = etc(inst, "client_hold", "127.0.0.2 HOLD\n")
    try:
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      smtpd_client_restrictions="reject_unknown_client_"
                      f"hostname, check_client_access hash:{hold}"):
            since = inst.log_size()
            s = outside(inst, helo="outside.example")
            assert s.docmd("MAIL FROM:<a@good.example>")[0] == 250
            assert s.docmd("RCPT TO:<postmaster@extmail.org>")[0] == 250
            r = data(s, "Subject: named\r\n\r\nbody\r\n")
            s.quit()
            assert r.startswith("250 2.0.0 Ok: queued as"), r
            inst.wait_log(r"connect from host\.good\.example\[127\.0\.0\.2\]",
                          since=since)
            qid = test_mta.queued_id(r)
            inst.wait_log(rf"{qid}: client=host\.good\.example\[127\.0\.0\."
                          r"2\]", since=since)
            msg = held_file(inst, qid)
            assert ("Received: from outside.example (host.good.example "
                    "[127.0.0.2])") in msg, msg
            # a PTR name whose address is another: not forward-confirmed
            dns.records = DNS_RECORDS[:-2] + [
                (PTR, ("PTR", "liar.example")),
                ("liar.example", ("A", "192.0.2.99"))]
            since = inst.log_size()
            _, r = rcpt(inst, "a@good.example")
            assert r == ("450 4.7.25 Client host rejected: cannot find your "
                         "hostname, [127.0.0.2]"), r
            inst.wait_log(r"connect from unknown\[127\.0\.0\.2\]",
                          since=since)
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      unknown_client_reject_code="550",
                      smtpd_client_restrictions="reject_unknown_reverse_"
                      "client_hostname, reject_unknown_client_hostname"):
            # the PTR name exists (reverse passes); the name does not
            # confirm: unknown_client_reject_code
            _, r = rcpt(inst, "a@good.example")
            assert r == ("550 5.7.25 Client host rejected: cannot find your "
                         "hostname, [127.0.0.2]"), r
            dns.records = [r_ for r_ in DNS_RECORDS if r_[0] != PTR]
            _, r = rcpt(inst, "a@good.example")
            assert r == ("550 5.7.1 Client host rejected: cannot find your "
                         "reverse hostname, [127.0.0.2]"), r
            # a temporary DNS failure is 450 whatever the code says
            dns.records = DNS_RECORDS + [(PTR, ("SERVFAIL",))]
            dns.records = [r_ for r_ in dns.records if r_[1][0] != "PTR"]
            _, r = rcpt(inst, "a@good.example")
            assert r == ("450 4.7.1 Client host rejected: cannot find your "
                         "reverse hostname, [127.0.0.2]"), r
        # smtpd_peername_lookup = no: every client is unknown
        dns.records = DNS_RECORDS
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      smtpd_peername_lookup="no"):
            since = inst.log_size()
            _, r = rcpt(inst, "a@good.example")
            assert r.startswith("250"), r
            inst.wait_log(r"connect from unknown\[127\.0\.0\.2\]",
                          since=since)
    finally:
        dns.close()


def test_delay_reject_no_client_at_connect(inst):
    """smtpd_delay_reject = no: a client reject replaces the banner and
    every later command but QUIT gets 503 (Postfix's smtpd)."""
    path = etc(inst, "client_early", "127.0.0.2 REJECT\n")
    with settings(inst, smtpd_delay_reject="no",
                  smtpd_client_restrictions=f"check_client_access "
                  f"hash:{path}"):
        since = inst.log_size()
        banner, out = raw_out(inst, b"EHLO x.example\r\n"
                              b"MAIL FROM:<a@example.net>\r\nQUIT\r\n")
        assert banner == (b"554 5.7.1 <unknown[127.0.0.2]>: Client host "
                          b"rejected: Access denied\r\n"), banner
        lines = out.split(b"\r\n")
        deny = b"503 5.7.0 Error: access denied for unknown[127.0.0.2]"
        assert lines[:2] == [deny, deny], out
        assert lines[2].startswith(b"221 2.0.0"), out
        inst.wait_log(r"NOQUEUE: reject: CONNECT from unknown\[127\.0\.0\.2"
                      r"\]: 554 5\.7\.1 <unknown\[127\.0\.0\.2\]>: Client "
                      r"host rejected: Access denied; proto=SMTP\n",
                      since=since)
        # SMTPS: the reject comes after the TLS handshake
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as raw_s:
            raw_s.settimeout(10)
            raw_s.bind((OUT, 0))
            raw_s.connect((HOST, inst.ports["smtps"]))
            with ctx.wrap_socket(raw_s) as t:
                b = t.recv(4096)
                assert b.startswith(b"554 5.7.1 <unknown[127.0.0.2]>"), b
        # mynetworks' 127.0.0.1 is not listed: business as usual
        assert local_send(inst, "Subject: ok\n\nok\n").startswith("250")


def test_delay_reject_no_helo_and_sender(inst):
    hpath = etc(inst, "helo_early", "bad.helo.example REJECT bad helo\n"
                "tag.helo.example PREPEND X-Helo-Tag: yes\n")
    spath = etc(inst, "sender_early", "bad@example.net REJECT no\n"
                "later@example.net DEFER_IF_PERMIT not yet\n")
    with settings(inst, smtpd_delay_reject="no",
                  smtpd_helo_restrictions=f"check_helo_access hash:{hpath}",
                  smtpd_sender_restrictions=f"check_sender_access "
                  f"hash:{spath}"):
        since = inst.log_size()
        s = OutsideSMTP(inst)
        c, t = s.ehlo("bad.helo.example")
        assert (c, t) == (554, b"5.7.1 <bad.helo.example>: Helo command "
                          b"rejected: bad helo"), (c, t)
        inst.wait_log(r"NOQUEUE: reject: EHLO from unknown\[127\.0\.0\.2\]: "
                      r"554 5\.7\.1 <bad\.helo\.example>: Helo command "
                      r"rejected: bad helo; proto=SMTP "
                      r"helo=<bad\.helo\.example>", since=since)
        assert s.docmd("EHLO good.example")[0] == 250
        c, t = s.docmd("MAIL FROM:<bad@example.net>")
        assert (c, t) == (554, b"5.7.1 <bad@example.net>: Sender address "
                          b"rejected: no"), (c, t)
        inst.wait_log(r"NOQUEUE: reject: MAIL from unknown\[127\.0\.0\.2\]: "
                      r"554 5\.7\.1 <bad@example\.net>: Sender address "
                      r"rejected: no; from=<bad@example\.net> proto=ESMTP "
                      r"helo=<good\.example>", since=since)
        # the MAIL was refused: a new one is not nested
        assert s.docmd("MAIL FROM:<later@example.net>")[0] == 250
        # the sender's defer_if_permit waits for the recipient's permit
        c, t = s.docmd("RCPT TO:<postmaster@extmail.org>")
        assert (c, t) == (450, b"4.7.1 <later@example.net>: Sender address "
                          b"rejected: not yet"), (c, t)
        s.rset()
        assert s.docmd("MAIL FROM:<ok@example.net>")[0] == 250
        assert s.docmd("RCPT TO:<postmaster@extmail.org>")[0] == 250
        s.quit()
        # a HELO stage PREPEND holds for the session's messages
        s = smtp(inst)
        s.ehlo("tag.helo.example")
        assert s.docmd("MAIL FROM:<a@example.net>")[0] == 250
        assert s.docmd("RCPT TO:<postmaster@extmail.org>")[0] == 250
        r = data(s, "Subject: tagged\n\nbody\n")
        s.quit()
        assert r.startswith("250"), r


def test_directory_down_is_451_not_5xx(inst):
    """youju-authd unreachable at RCPT: 451 4.3.0, never a 5xx, for hosted
    and outside recipients alike (a remote recipient from mynetworks too
    needs the directory to know it is remote)."""
    sock = inst.path("run", "authdaemon", "socket")
    moved = sock + ".away"
    os.rename(sock, moved)
    try:
        since = inst.log_size()
        for to in ("postmaster@extmail.org", "nobody@extmail.org"):
            _, r = rcpt(inst, "a@example.net", to=to)
            assert r == f"451 4.3.0 <{to}>: Temporary lookup failure", r
        s = smtp(inst)
        s.ehlo("localhost")
        assert s.docmd("MAIL FROM:<a@example.net>")[0] == 250
        c, t = s.docmd("RCPT TO:<someone@example.com>")
        assert c == 451 and t.startswith(b"4.3.0"), (c, t)
        s.quit()
        inst.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]: "
                      r"451 4\.3\.0 <postmaster@extmail\.org>: Temporary "
                      r"lookup failure", since=since)
    finally:
        os.rename(moved, sock)
    _, r = rcpt(inst, "a@example.net", to="nobody@extmail.org")
    assert r.startswith("550 5.1.1 <nobody@extmail.org>"), r


def test_rcpt_over_quota_with_smtpd_reject_over_quota(inst):
    """smtpd_reject_over_quota = yes: a hosted mailbox whose maildirsize
    says full is refused at RCPT with 552 5.2.2 (default: accepted, and
    delivery bounces it as Postfix + VDA)."""
    import test_delivery
    user = "full-rcpt@extmail.org"
    test_delivery.add_mailbox(inst, user, quota="1000S,10C")
    md = test_delivery.maildir_of(inst, user)
    try:
        os.makedirs(os.path.join(md, "new"), exist_ok=True)
        with open(os.path.join(md, "maildirsize"), "w") as f:
            f.write("1000S,10C\n900 3\n")
        # not full yet: 100 bytes left
        with settings(inst, smtpd_reject_over_quota="yes"):
            _, r = rcpt(inst, "a@example.net", to=user)
            assert r.startswith("250"), r
            # SIZE= says it would not fit
            s = outside(inst)
            assert s.docmd("MAIL FROM:<a@example.net> SIZE=200")[0] == 250
            c, t = s.docmd(f"RCPT TO:<{user}>")
            s.close()
            assert (c, t.decode()) == (552, f"5.2.2 <{user}>: Recipient "
                                       "address rejected: Mailbox full")
            with open(os.path.join(md, "maildirsize"), "a") as f:
                f.write("100 1\n")
            since = inst.log_size()
            _, r = rcpt(inst, "a@example.net", to=user)
            assert r == (f"552 5.2.2 <{user}>: Recipient address rejected: "
                         "Mailbox full"), r
            inst.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2"
                          r"\]: 552 5\.2\.2 <full-rcpt@extmail\.org>: "
                          r"Recipient address rejected: Mailbox full;",
                          since=since)
            # the message count limit counts too
            with open(os.path.join(md, "maildirsize"), "w") as f:
                f.write("1000S,10C\n10 10\n")
            _, r = rcpt(inst, "a@example.net", to=user)
            assert r.startswith("552 5.2.2"), r
        # the default: accepted at RCPT
        _, r = rcpt(inst, "a@example.net", to=user)
        assert r.startswith("250"), r
    finally:
        test_delivery.del_mailbox(inst, user)


# ------------------------------------------------------------- cleanup
def test_header_and_body_checks(inst):
    hpath = etc(inst, "header_checks",
                "/^Subject:.*viagra/ REJECT spam subject\n"
                "/^X-Drop:/ IGNORE\n"
                "/^X-Warn:/ WARN suspicious header\n"
                "/^X-Hold:/ HOLD\n"
                "/^Subject: tag me/ PREPEND X-Tagged: yes\n")
    bpath = etc(inst, "body_checks",
                "/forbidden phrase/ DISCARD\n"
                "/^reject this line$/ REJECT 5.7.2 Body refused\n")
    with settings(inst, header_checks=f"regexp:{hpath}",
                  body_checks=f"pcre:{bpath}"):
        since = inst.log_size()
        r = local_send(inst, "Subject: buy viagra now\n\nhello")
        assert r == "550 5.7.1 spam subject", r
        inst.wait_log(r": reject: header Subject: buy viagra now from "
                      r"localhost\[127\.0\.0\.1\]; from=<a@example\.net> "
                      r"to=<postmaster@extmail\.org> proto=ESMTP "
                      r"helo=<localhost>: 5\.7\.1 spam subject", since=since)
        r = local_send(inst, "Subject: x\n\nreject this line\n")
        assert r == "550 5.7.2 Body refused", r
        r = local_send(inst, "Subject: x\n\nthe forbidden phrase\n")
        assert r.startswith("250 2.0.0 Ok: queued as"), r
        inst.wait_log(rf"{test_mta.queued_id(r)}: .*\(discarded\)",
                      since=since)
        r = local_send(inst, "Subject: tag me\nX-Drop: 1\nX-Warn: 2\n"
                       "X-Hold: 3\n\nbody\n")
        assert r.startswith("250"), r
        msg = held_file(inst, test_mta.queued_id(r))
        assert "X-Tagged: yes\nSubject: tag me\n" in msg, msg
        assert "X-Drop" not in msg and "X-Warn: 2" in msg, msg
        inst.wait_log(r": warning: header X-Warn: 2 from localhost\[127\.0"
                      r"\.0\.1\];.*: suspicious header", since=since)


def test_header_size_limit(inst):
    hpath = etc(inst, "hold_all", "/^X-Big:/ HOLD\n")
    with settings(inst, header_size_limit="300",
                  header_checks=f"regexp:{hpath}"):
        big = "X-Big: start\n" + "".join(f"\tline{i:03d} " + "x" * 40 + "\n"
                                         for i in range(20))
        r = local_send(inst, "Subject: big\n" + big + "\nbody\n")
        assert r.startswith("250"), r
        msg = held_file(inst, test_mta.queued_id(r))
        hdr = msg[msg.index("X-Big:"):]
        hdr = hdr[:re.search(r"\n(?![ \t])", hdr).start()]
        assert len(hdr) <= 300, len(hdr)
        assert "line000" in hdr and "line019" not in hdr, hdr
        assert "\n\nbody\n" in msg, msg


# -------------------------------------------------------------- limits
def test_error_sleep_and_hard_limit(inst):
    with settings(inst, smtpd_soft_error_limit="2",
                  smtpd_error_sleep_time="1s", smtpd_hard_error_limit="4"):
        with socket.create_connection((HOST, inst.ports["smtp"]),
                                      timeout=10) as s:
            f = s.makefile("rb")
            assert f.readline().startswith(b"220")
            times = []
            for _ in range(4):
                t0 = time.time()
                s.sendall(b"BOGUS\r\n")
                line = f.readline()
                times.append(time.time() - t0)
                assert line.startswith(b"502 5.5.2"), line
            last = f.readline()
            assert last.startswith(b"421 4.7.0 ") and \
                b"Error: too many errors" in last, last
            assert times[0] < 0.5, times   # 1st error: no delay
            assert times[1] >= 0.9, times  # from the soft limit on
            assert times[2] >= 0.9, times


def test_client_connection_count_and_rate_limits(inst):
    with settings(inst, smtpd_client_connection_count_limit="2"):
        a, b = OutsideSMTP(inst), OutsideSMTP(inst)
        since = inst.log_size()
        with socket.create_connection((HOST, inst.ports["smtp"]),
                                      source_address=(OUT, 0),
                                      timeout=10) as s:
            banner = s.recv(4096)
        assert banner.startswith(b"421 4.7.0 ") and banner.endswith(
            b" Error: too many connections from 127.0.0.2\r\n"), banner
        inst.wait_log(r"warning: Connection concurrency limit exceeded: 3 "
                      r"from unknown\[127\.0\.0\.2\] for service smtp",
                      since=since)
        # mynetworks is exempt (smtpd_client_event_limit_exceptions)
        c, d, e = smtp(inst), smtp(inst), smtp(inst)
        for x in (a, b, c, d, e):
            x.quit()
    with settings(inst, smtpd_client_connection_rate_limit="3",
                  anvil_rate_time_unit="5s"):
        time.sleep(5.1)  # a fresh rate window
        replies = []
        for _ in range(4):
            with socket.create_connection((HOST, inst.ports["smtp"]),
                                          source_address=(OUT, 0),
                                          timeout=10) as s:
                replies.append(s.recv(4096))
                s.sendall(b"QUIT\r\n")
        assert all(r.startswith(b"220") for r in replies[:3]), replies
        assert replies[3].startswith(b"421 4.7.0") and \
            b"too many connections from 127.0.0.2" in replies[3], replies


# -------------------------------------------------------------- reload
def test_sighup_reload_keeps_old_policy_when_bad(inst):
    path = etc(inst, "client_reload", "127.0.0.2 REJECT\n")
    with settings(inst, smtpd_client_restrictions=f"check_client_access "
                  f"hash:{path}"):
        old = inst.youju("conf", "-h", "smtpd_helo_restrictions").stdout
        try:
            inst.youju("conf", "-e",
                       "smtpd_helo_restrictions=reject_bogus_thing",
                       check=True)
            res = _reload(inst)
            assert "keeping the old configuration" in res, res
            assert "unknown restriction: reject_bogus_thing" in res, res
            _, r = rcpt(inst, "a@example.net")
            assert r.startswith("554 5.7.1 <unknown[127.0.0.2]>"), r
            # a missing table is refused the same way
            inst.youju("conf", "-e", "smtpd_helo_restrictions="
                       "check_helo_access hash:/nonexistent/table",
                       check=True)
            res = _reload(inst)
            assert "keeping the old configuration" in res, res
            # pgsql: tables are refused (no database access in
            # youju-mta; mysql: goes through youju-authd), with a
            # pointer to what to do instead
            inst.youju("conf", "-e", "smtpd_helo_restrictions="
                       "check_helo_access pgsql:/etc/x.cf", check=True)
            res = _reload(inst)
            assert "unsupported map type pgsql" in res, res
            assert "SQL access tables" in res, res
        finally:
            inst.youju("conf", "-e",
                       "smtpd_helo_restrictions=" + old.strip(), check=True)
    # back to the defaults: the outside client reaches its mailbox
    _, r = rcpt(inst, "a@example.net")
    assert r.startswith("250"), r


def test_swaks_outside_sender_reject(inst):
    path = etc(inst, "swaks_sender", "blocked.example REJECT\n")
    with settings(inst, smtpd_sender_restrictions=f"check_sender_access "
                  f"hash:{path}"):
        r = subprocess.run(["swaks", "--server", HOST, "--port",
                            str(inst.ports["smtp"]), "--local-interface",
                            OUT, "--from", "x@blocked.example", "--to",
                            "postmaster@extmail.org", "--helo",
                            "outside.example", "--timeout", "10"],
                           capture_output=True, text=True, timeout=30)
        assert ("<** 554 5.7.1 <x@blocked.example>: Sender address "
                "rejected: Access denied") in r.stdout, r.stdout
