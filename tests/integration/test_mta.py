"""youju-mta, receive side (issue 4): ESMTP with Postfix's replies, relay
control, recipient checks through youju-authd, SMTP AUTH through Cyrus
SASL over STARTTLS, SMTPS, the queue file written before "250 queued", and
the Postfix-shaped log lines.  Real clients: smtplib, swaks, openssl."""
import glob
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import harness

HOST = "127.0.0.1"
USER = "postmaster@extmail.org"
PASSWORD = "extmail"


def _ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def smtp(inst, port="smtp"):
    s = smtplib.SMTP(HOST, inst.ports[port], timeout=20)
    return s


def raw(inst, lines, port="smtp", wait=1.0):
    """Sends raw bytes (one write) and returns everything read until the
    server closes or `wait` seconds pass without data."""
    with socket.create_connection((HOST, inst.ports[port]), timeout=10) as s:
        s.settimeout(wait)
        banner = s.recv(4096)
        s.sendall(lines)
        return banner, harness.read_all(s, wait)


def _descendants(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                         text=True).stdout.split()
    kids = [int(p) for p in out]
    for k in list(kids):
        kids += _descendants(k)
    return kids


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


class qmgr_paused:
    """Stops youju-mta's queue manager processes (SIGSTOP) so that a test
    can read a queue file exactly as the SMTP server committed it before
    its 250; delivery resumes on exit."""

    def __init__(self, inst):
        self.pids = [p for p in _descendants(inst.daemon_pid("youju-mta"))
                     if _comm(p) == "youju-qmgr"]

    def __enter__(self):
        for p in self.pids:
            _signal(p, signal.SIGSTOP)
        return self

    def __exit__(self, *exc):
        for p in self.pids:
            _signal(p, signal.SIGCONT)


def _signal(pid, sig):
    """A queue manager listed just after a reload may be the old one
    exiting: gone is fine, and must not leave the others stopped."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def queued_file(inst, qid, timeout=5):
    """The committed queue file; call it inside `with qmgr_paused(inst)`."""
    path = inst.path("spool", "active", qid)
    deadline = time.time() + timeout
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)
    with open(path, "rb") as f:
        return f.read()


def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82f63b78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff


def parse_queue_file(data):
    """Reads the format documented in docs/queue.md."""
    assert data.startswith(b"YOUJU-QUEUE 1\n"), data[:40]
    pos = len(b"YOUJU-QUEUE 1\n")
    recs = []
    while True:
        nl = data.index(b"\n", pos)
        line = data[pos:nl]
        pos = nl + 1
        if line.startswith(b"M "):
            size = int(line[2:])
            msg = data[pos:pos + size]
            tail = data[pos + size:]
            if ("K", "crc32c") in recs:
                # the checksum record (docs/queue.md): CRC-32C of the
                # file as first written, the size field all zeros
                assert re.fullmatch(rb"\nE\nC [0-9a-f]{8}\n", tail), tail
                first = (data[:pos - 21] + b"0" * 20 + b"\n"
                         + data[pos:pos + size + 3])
                assert int(tail[5:13], 16) == crc32c(first), tail
            else:
                assert tail == b"\nE\n", tail
            return recs, msg
        recs.append((line[:1].decode(), line[2:].decode()))


def queued_id(reply):
    m = re.search(r"queued as ([0-9A-F]+)", reply)
    assert m, reply
    return m.group(1)


def test_banner_and_ehlo(inst):
    s = smtp(inst)
    code, msg = s.ehlo("client.example.com")
    assert code == 250, msg
    text = msg.decode()
    lines = text.splitlines()
    for kw in ("PIPELINING", "SIZE 10240000", "VRFY", "STARTTLS",
               "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8"):
        assert kw in lines, (kw, lines)
    # AUTH only after TLS (smtpd_tls_auth_only = yes)
    assert not any(x.startswith("AUTH") for x in lines), lines
    assert "CHUNKING" not in lines and "ETRN" not in lines
    s.quit()
    b, _ = raw(inst, b"QUIT\r\n")
    assert re.match(rb"220 \S+ ESMTP\r\n$", b), b


def test_bad_commands_and_sequence(inst):
    _, out = raw(inst, b"FOO\r\nMAIL FROM:<a@b.example>\r\n"
                       b"RCPT TO:<x@extmail.org>\r\nDATA\r\n"
                       b"EHLO x\r\nMAIL FROM:<a@b c>\r\nMAIL FROM <x>\r\n"
                       b"RCPT TO:<x@extmail.org>\r\n"
                       b"MAIL FROM:<a@b.example> FOO=1\r\n"
                       b"MAIL FROM:<a@b.example>\r\n"
                       b"MAIL FROM:<a@b.example>\r\n"
                       b"DATA\r\nVRFY\r\nVRFY someone\r\nNOOP\r\nRSET\r\n"
                       b"\r\nQUIT\r\n", wait=3)
    # from the 10th error on (smtpd_soft_error_limit), each error reply
    # waits smtpd_error_sleep_time (1s): hence the longer wait
    t = out.decode()
    lines = t.split("\r\n")
    assert lines[0] == "502 5.5.2 Error: command not recognized", lines
    assert lines[1] == "250 2.1.0 Ok", lines          # MAIL before EHLO ok
    assert lines[2].startswith("550 5.1.1 <x@extmail.org>"), lines
    assert lines[3] == "554 5.5.1 Error: no valid recipients", lines
    assert "503 5.5.1 Error: need MAIL command" in t, t
    assert "501 5.1.7 Bad sender address syntax" in t, t
    assert "501 5.5.4 Syntax: MAIL FROM:<address>" in t, t
    assert "555 5.5.4 Unsupported option: FOO=1" in t, t
    assert "503 5.5.1 Error: nested MAIL command" in t, t
    assert "554 5.5.1 Error: no valid recipients" in t, t
    assert "501 5.5.4 Syntax: VRFY address" in t, t
    assert "252 2.0.0 someone" in t, t
    assert "500 5.5.2 Error: bad syntax" in t, t
    assert t.endswith("221 2.0.0 Bye\r\n"), t


def test_rcpt_needs_mail(inst):
    _, out = raw(inst, b"EHLO x\r\nRCPT TO:<postmaster@extmail.org>\r\n"
                       b"QUIT\r\n")
    assert b"503 5.5.1 Error: need MAIL command" in out, out


def test_known_user_and_alias_accepted_and_queued(inst):
    with qmgr_paused(inst):
        since = inst.log_size()
        s = smtp(inst)
        s.ehlo("client.example.com")
        assert s.mail("sender@example.net")[0] == 250
        code, msg = s.rcpt("postmaster@extmail.org")
        assert (code, msg) == (250, b"2.1.5 Ok"), (code, msg)
        code, msg = s.rcpt("support@extmail.org")
        assert code == 250, msg
        body = (b"Subject: hello\r\nFrom: sender@example.net\r\n\r\n"
                b"line one\r\n.starts with a dot\r\n..two dots\r\nend\r\n")
        code, msg = s.data(body)
        assert code == 250, msg
        assert msg.startswith(b"2.0.0 Ok: queued as "), msg
        qid = queued_id(msg.decode())
        s.quit()
        # the file is complete as soon as 250 was sent
        recs, message = parse_queue_file(queued_file(inst, qid, timeout=0.1))
        d = dict(recs)
        assert d["I"] == qid and d["S"] == "sender@example.net", recs
        rcpts = [v for k, v in recs if k == "R"]
        assert rcpts == ["postmaster@extmail.org", "support@extmail.org"]
        assert ("A", "client_address=127.0.0.1") in recs, recs
        assert message.startswith(b"Received: from client.example.com "
                                  b"(localhost [127.0.0.1])\n"), message
        assert b"\n\tby " in message and b"with ESMTP id " + qid.encode() \
            in message, message
        # dot-unstuffing (smtplib stuffed the leading dots), LF line ends; a
        # local client gets Date and Message-Id
        assert message.endswith(b"\nline one\n.starts with a dot\n"
                                b"..two dots\nend\n"), message
        assert b"\nDate: " in message and b"\nMessage-Id: <" in message
        assert not os.path.exists(inst.path("spool", "incoming", qid))
        inst.wait_log(qid + r": client=localhost\[127\.0\.0\.1\]", since=since)
        inst.wait_log(qid + r": message-id=<", since=since)
        inst.wait_log(qid + r": from=<sender@example\.net>, size=\d+, nrcpt=2 "
                      r"\(queue active\)", since=since)
        inst.wait_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 "
                      r"rcpt=2 data=1 quit=1 commands=6", since=since)


def test_unknown_user_550(inst):
    since = inst.log_size()
    s = smtp(inst)
    s.ehlo("client.example.com")
    s.mail("sender@example.net")
    code, msg = s.rcpt("nobody-here@extmail.org")
    assert code == 550, (code, msg)
    assert msg == (b"5.1.1 <nobody-here@extmail.org>: Recipient address "
                   b"rejected: User unknown in virtual mailbox table"), msg
    s.quit()
    inst.wait_log(r"NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: "
                  r"550 5\.1\.1 <nobody-here@extmail\.org>: Recipient address"
                  r" rejected: User unknown in virtual mailbox table; "
                  r"from=<sender@example\.net> to=<nobody-here@extmail\.org>"
                  r" proto=ESMTP helo=<client\.example\.com>", since=since)


def test_relay_from_mynetworks_allowed(inst):
    # 127.0.0.1 is in the default mynetworks: permit_mynetworks relays
    s = smtp(inst)
    s.ehlo("client.example.com")
    s.mail("postmaster@extmail.org")
    code, msg = s.rcpt("someone@example.com")
    assert code == 250, msg
    s.rset()
    s.quit()


def test_relay_denied_via_submission_unauthenticated(inst):
    # submission without TLS refuses MAIL; swaks shows the reply
    r = subprocess.run(["swaks", "--server", HOST, "--port",
                        str(inst.ports["submission"]), "--to",
                        "someone@example.com", "--from", "a@example.net",
                        "--helo", "client.example.com"],
                       capture_output=True, text=True, timeout=60)
    assert "530 5.7.0 Must issue a STARTTLS command first" in r.stdout, \
        r.stdout


def test_size_limits(inst):
    s = smtp(inst)
    s.ehlo("x.example")
    code, msg = s.mail("a@example.net", ["SIZE=99999999999"])
    assert (code, msg) == (552, b"5.3.4 Message size exceeds fixed limit")
    s.quit()
    # the body itself over the limit: read to the end, then 552
    s = smtp(inst)
    s.ehlo("x.example")
    s.mail("a@example.net")
    s.rcpt("postmaster@extmail.org")
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 10500
    code, msg = s.data(big)
    assert (code, msg) == (552, b"5.3.4 Message size exceeds fixed limit")
    assert s.noop()[0] == 250
    s.quit()


def test_long_lines(inst):
    with qmgr_paused(inst):
        # a command line over the limit
        _, out = raw(inst, b"EHLO " + b"a" * 20000 + b"\r\nNOOP\r\nQUIT\r\n")
        assert b"500 5.5.2 Error: line too long" in out, out
        assert out.endswith(b"250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n"), out[-200:]
        # a message line over line_length_limit is kept whole
        s = smtp(inst)
        s.ehlo("x.example")
        s.mail("a@example.net")
        s.rcpt("postmaster@extmail.org")
        long = b"y" * 5000
        # smtplib stuffs the leading dot: "..." on the wire, ".." stored
        code, msg = s.data(b"Subject: long\r\n\r\n" + long + b"\r\n.." + long
                           + b"\r\n")
        assert code == 250, msg
        s.quit()
        _, message = parse_queue_file(queued_file(inst, queued_id(msg.decode())))
        assert message.endswith(b"\n" + long + b"\n.." + long + b"\n"), \
            message[-100:]


def test_data_only_crlf_dot_crlf_ends(inst):
    """SMTP smuggling: <LF>.<LF> and <LF>.<CR><LF> never end DATA."""
    with qmgr_paused(inst):
        _, out = raw(inst, b"EHLO x\r\nMAIL FROM:<a@example.net>\r\n"
                           b"RCPT TO:<postmaster@extmail.org>\r\nDATA\r\n"
                           b"Subject: s\r\n\r\nbody\r\n.\rX\r\n"
                           b"not.end\r\n.\r\nQUIT\r\n")
        t = out.decode()
        assert t.count("250 2.0.0 Ok: queued as") == 1, t
        qid = queued_id(t)
        _, message = parse_queue_file(queued_file(inst, qid))
        assert message.endswith(b"body\n\rX\nnot.end\n"), message


def test_pipelining(inst):
    _, out = raw(inst, b"EHLO x\r\nMAIL FROM:<a@example.net>\r\n"
                       b"RCPT TO:<postmaster@extmail.org>\r\n"
                       b"RCPT TO:<nobody-here@extmail.org>\r\n"
                       b"DATA\r\nSubject: p\r\n\r\nhi\r\n.\r\nQUIT\r\n")
    t = out.decode()
    codes = [ln[:3] for ln in t.split("\r\n") if ln and ln[3:4] == " "]
    assert codes == ["250", "250", "250", "550", "354", "250", "221"], t


def test_starttls_auth_submission(inst):
    with qmgr_paused(inst):
        since = inst.log_size()
        s = smtp(inst, "submission")
        s.ehlo("client.example.com")
        assert s.has_extn("starttls") and not s.has_extn("auth")
        s.starttls(context=_ctx())
        s.ehlo("client.example.com")
        assert "PLAIN" in s.esmtp_features["auth"], s.esmtp_features
        assert "LOGIN" in s.esmtp_features["auth"]
        code, msg = s.login(USER, PASSWORD)
        assert (code, msg) == (235, b"2.7.0 Authentication successful")
        s.mail(USER)
        code, msg = s.rcpt("friend@example.com")      # relay after AUTH
        assert code == 250, msg
        code, msg = s.data(b"Subject: from a MUA\r\n\r\nhello\r\n")
        assert code == 250, msg
        qid = queued_id(msg.decode())
        s.quit()
        recs, message = parse_queue_file(queued_file(inst, qid))
        assert ("A", "sasl_username=" + USER) in recs, recs
        assert b"with ESMTPSA id " + qid.encode() in message
        assert b"(using TLSv1." in message
        inst.wait_log(qid + r": client=localhost\[127\.0\.0\.1\], "
                      r"sasl_method=(PLAIN|LOGIN), sasl_username=" +
                      re.escape(USER), since=since)


def test_submission_requires_auth_after_tls(inst):
    s = smtp(inst, "submission")
    s.ehlo("c.example")
    s.starttls(context=_ctx())
    s.ehlo("c.example")
    code, msg = s.mail("a@example.net")
    assert (code, msg) == (530, b"5.7.0 Authentication required"), msg
    s.quit()


def test_auth_wrong_password_535(inst):
    since = inst.log_size()
    s = smtp(inst, "submission")
    s.ehlo("c.example")
    s.starttls(context=_ctx())
    s.ehlo("c.example")
    try:
        s.login(USER, "wrong-password")
        assert False, "login succeeded"
    except smtplib.SMTPAuthenticationError as e:
        assert e.smtp_code == 535, e
        assert e.smtp_error == (b"5.7.8 Error: authentication failed: "
                                b"authentication failure"), e
    s.quit()
    # fail2ban's postfix-sasl filter matches this line
    inst.wait_log(r"warning: localhost\[127\.0\.0\.1\]: SASL (LOGIN|PLAIN) "
                  r"authentication failed: authentication failure",
                  since=since)


def test_swaks_auth_login_and_plain(inst):
    for mech in ("PLAIN", "LOGIN"):
        r = subprocess.run(["swaks", "--server", HOST, "--port",
                            str(inst.ports["submission"]), "-tls",
                            "--auth", mech, "--auth-user", USER,
                            "--auth-password", PASSWORD, "--from", USER,
                            "--to", "postmaster@extmail.org"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "235 2.7.0 Authentication successful" in r.stdout
        assert "250 2.0.0 Ok: queued as" in r.stdout


def test_smtps_implicit_tls(inst):
    with socket.create_connection((HOST, inst.ports["smtps"]),
                                  timeout=10) as raw_s:
        with _ctx().wrap_socket(raw_s) as t:
            f = t.makefile("rb")
            assert re.match(rb"220 \S+ ESMTP", f.readline())
            t.sendall(b"EHLO x\r\n")
            lines = []
            while True:
                ln = f.readline()
                lines.append(ln)
                if ln[3:4] == b" ":
                    break
            assert b"250-STARTTLS\r\n" not in lines
            assert any(ln.startswith(b"250-AUTH ") for ln in lines), lines
            t.sendall(b"QUIT\r\n")
            assert f.readline().startswith(b"221")


def test_starttls_s_client_and_injection(inst):
    r = subprocess.run(["openssl", "s_client", "-connect",
                        f"{HOST}:{inst.ports['smtp']}", "-starttls", "smtp",
                        "-quiet"], input="EHLO x\nQUIT\n",
                       capture_output=True, text=True, timeout=30)
    assert "250-ENHANCEDSTATUSCODES" in r.stdout, r.stdout + r.stderr
    assert "221 2.0.0 Bye" in r.stdout
    # plaintext pipelined after STARTTLS is discarded (CVE-2011-0411)
    with socket.create_connection((HOST, inst.ports["smtp"]),
                                  timeout=10) as s:
        s.recv(1024)
        s.sendall(b"EHLO x\r\n")
        time.sleep(0.3)
        s.recv(4096)
        s.sendall(b"STARTTLS\r\nRSET\r\n")
        f = s.makefile("rb")
        assert f.readline() == b"220 2.0.0 Ready to start TLS\r\n"
        with _ctx().wrap_socket(s) as t:
            t.settimeout(1.0)
            try:
                got = t.recv(1024)
            except socket.timeout:
                got = b""
            assert got == b"", got     # the RSET was not answered
            t.sendall(b"NOOP\r\n")
            t.settimeout(5)
            assert t.recv(1024) == b"250 2.0.0 Ok\r\n"


def test_bare_lf_tolerated_from_mynetworks(inst):
    _, out = raw(inst, b"EHLO x\nNOOP\r\nQUIT\r\n")
    assert out.startswith(b"250-"), out
    assert b"221 2.0.0 Bye" in out


def _queue_files_containing(inst, needle):
    hits = []
    for q in ("incoming", "active", "deferred", "hold"):
        for f in glob.glob(inst.path("spool", q, "*")):
            try:
                with open(f, "rb") as fh:
                    if needle in fh.read():
                        hits.append(f)
            except FileNotFoundError:
                pass  # delivered and removed meanwhile
    return hits


def test_disconnect_mid_data_queues_nothing(inst):
    # the queue manager and other tests' mail move files through incoming/
    # and active/ meanwhile, so look for this message's own bytes
    token = b"cut-%d" % os.getpid()
    with socket.create_connection((HOST, inst.ports["smtp"]),
                                  timeout=10) as s:
        s.recv(1024)
        s.sendall(b"EHLO x\r\nMAIL FROM:<a@example.net>\r\n"
                  b"RCPT TO:<postmaster@extmail.org>\r\nDATA\r\n"
                  b"Subject: " + token + b"\r\n\r\npartial\r\n")
        time.sleep(0.5)
    inst.wait_log(r"lost connection after DATA \(\d+ bytes\) from "
                  r"localhost\[127\.0\.0\.1\]")
    time.sleep(0.5)
    assert _queue_files_containing(inst, token) == []


def test_queue_ids_sortable_unique(inst):
    ids = []
    s = smtp(inst)
    s.ehlo("x.example")
    for i in range(5):
        s.mail("a@example.net")
        s.rcpt("postmaster@extmail.org")
        code, msg = s.data(b"Subject: %d\r\n\r\nx\r\n" % i)
        assert code == 250
        ids.append(queued_id(msg.decode()))
    s.quit()
    assert ids == sorted(ids) and len(set(ids)) == 5, ids


# The instance trusts only 127.0.0.1 (see CONFIG), so a connection from
# another loopback address, which every Linux machine has, is an outside
# client: no dependency on the machine's network setup.
CONFIG = {"mynetworks": "127.0.0.1/32 [::1]/128"}


def _outside_ip():
    """A source address outside mynetworks from which 127.0.0.1 is reachable."""
    return "127.0.0.2"


class OutsideSMTP(smtplib.SMTP):
    def __init__(self, inst, port="smtp"):
        ip = _outside_ip()
        assert ip, "this test needs a non-loopback IPv4 address"
        super().__init__(HOST, inst.ports[port], timeout=20,
                         source_address=(ip, 0))


def test_relay_denied_outside_then_allowed_after_auth(inst):
    """The seed transcript: an outside client may not relay to an outside
    recipient (554 Relay access denied), may deliver to a hosted domain,
    and may relay after AUTH."""
    since = inst.log_size()
    ip = _outside_ip()
    s = OutsideSMTP(inst)
    s.ehlo("outside.example")
    s.mail("someone@example.net")
    code, msg = s.rcpt("victim@example.com")
    assert (code, msg) == (554, b"5.7.1 <victim@example.com>: Relay access "
                                b"denied"), (code, msg)
    assert s.rcpt("postmaster@extmail.org")[0] == 250
    s.rset()
    s.starttls(context=_ctx())
    s.ehlo("outside.example")
    assert s.login(USER, PASSWORD)[0] == 235
    s.mail(USER)
    assert s.rcpt("victim@example.com")[0] == 250
    s.rset()
    s.quit()
    inst.wait_log(r"NOQUEUE: reject: RCPT from unknown\[" + re.escape(ip) +
                  r"\]: 554 5\.7\.1 <victim@example\.com>: Relay access "
                  r"denied; from=<someone@example\.net> "
                  r"to=<victim@example\.com> proto=ESMTP "
                  r"helo=<outside\.example>", since=since)


def test_bare_lf_rejected_from_outside(inst):
    ip = _outside_ip()
    assert ip
    with socket.socket() as s:
        s.bind((ip, 0))
        s.settimeout(5)
        s.connect((HOST, inst.ports["smtp"]))
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO x\r\nMAIL FROM:<a@example.net>\r\n"
                  b"RCPT TO:<postmaster@extmail.org>\r\nDATA\r\n")
        while not f.readline().startswith(b"354"):
            pass
        # the smuggling shape: <LF>.<LF> must not end the message
        s.sendall(b"Subject: x\r\n\r\nbody\n.\nMAIL FROM:<evil@x>\r\n")
        line = f.readline()
        assert re.match(rb"521 5\.5\.2 \S+ Error: bare <LF> received",
                        line), line
        assert f.readline() == b""      # disconnected
