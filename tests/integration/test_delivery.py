"""youju-mta, delivery side (issue 5): the queue manager picks mail up at
once, delivers into Maildir++ (aliases, new mailboxes, quota), relays to a
remote sink through relayhost, sends RFC 3464 bounces, survives kill -9,
and `youju queue` shows the queue.  Real clients: smtplib and a small SMTP
sink written here (Python's smtpd module is gone)."""
import email
import glob
import mailbox
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import threading
import time
import uuid

import deliverylib
import harness
import smtpsink

HOST = "127.0.0.1"
PM = "postmaster@extmail.org"
SINK_PORT = harness.free_port()

CONFIG = {
    "relayhost": f"[127.0.0.1]:{SINK_PORT}",
    "minimal_backoff_time": "1s",
    "maximal_backoff_time": "2s",
    "queue_run_delay": "1s",
    "smtp_tls_security_level": "none",
}


# --- a minimal SMTP sink ------------------------------------------------------
class Sink(smtpsink.SmtpSink):
    """Accepts mail on SINK_PORT.  RCPT to an address starting with
    "reject" gets 550, "temp" gets 451 on its first try only."""
    EHLO_EXT = ("8BITMIME",)
    QUEUED = "SINK1"

    def __init__(self):
        self.tries = {}
        super().__init__(SINK_PORT)

    def rcpt_reply(self, addr):
        with self.lock:
            n = self.tries.get(addr, 0)
            self.tries[addr] = n + 1
        if addr.startswith("reject"):
            return "550 5.1.1 <%s>: no such user" % addr
        if addr.startswith("temp") and n == 0:
            return "451 4.3.0 try again later"
        return None

    def find(self, token, timeout=15):
        m = super().find(token, timeout)
        assert m is not None, f"sink never got {token}"
        return m


_sink = None


def sink():
    global _sink
    if _sink is None:
        _sink = Sink()
    return _sink


# --- helpers ------------------------------------------------------------------
def send(inst, rcpts, sender="someone@example.net", body="hello\n",
         subject=None, extra=""):
    token = uuid.uuid4().hex
    subject = subject or f"test {token}"
    msg = (f"From: <{sender}>\r\nTo: <{rcpts[0]}>\r\nSubject: {subject}\r\n"
           f"Message-Id: <{token}@example.net>\r\n{extra}\r\n{body}")
    with smtplib.SMTP(HOST, inst.ports["smtp"], timeout=20) as s:
        s.ehlo("client.example.net")
        code, reply = s.mail(sender)
        assert code == 250, reply
        for r in rcpts:
            code, reply = s.rcpt(r)
            assert code == 250, (r, code, reply)
        code, reply = s.data(msg.encode())
        assert code == 250, reply
        qid = re.search(rb"queued as ([0-9A-F]+)", reply).group(1).decode()
    return token, qid


def maildir_of(inst, address):
    local, dom = address.split("@")
    return inst.path("mailbox", dom, local, "Maildir")


def find_in_maildir(inst, address, token, timeout=15, count=1):
    new = os.path.join(maildir_of(inst, address), "new")
    return deliverylib.wait_token([new], token, timeout, count)


def add_mailbox(inst, user, quota="5242880S"):
    local, dom = user.split("@")
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{user}', '{local}', '', '{local}', '{dom}/{local}/Maildir/',"
             f" '{dom}/{local}', '{quota}', '{dom}', 1000, 1000, 1)")


def del_mailbox(inst, user):
    inst.sql(f"DELETE FROM mailbox WHERE username='{user}'")


def put(path, data):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("vmail")
        os.chown(path, pw.pw_uid, pw.pw_gid)


# --- tests ------------------------------------------------------------------
def test_delivered_to_maildir(inst):
    sink()
    since = inst.log_size()
    token, qid = send(inst, [PM])
    hits = find_in_maildir(inst, PM, token)
    assert len(hits) == 1, hits
    path, data = hits[0]
    assert data.startswith(b"Return-Path: <someone@example.net>\n"
                           b"Delivered-To: postmaster@extmail.org\n"), data
    m = re.search(r",S=(\d+)", os.path.basename(path))
    assert m and int(m.group(1)) == len(data), path
    # Python's mailbox reads it
    md = mailbox.Maildir(maildir_of(inst, PM), create=False)
    subjects = [msg["Subject"] for msg in md]
    assert f"test {token}" in subjects
    inst.wait_log(rf"{qid}: to=<postmaster@extmail.org>, relay=virtual, "
                  r"delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/0/[0-9.]+, "
                  r"dsn=2\.0\.0, status=sent \(delivered to maildir\)",
                  since=since)
    inst.wait_log(rf"{qid}: removed", since=since)
    assert not os.path.exists(inst.path("spool", "active", qid))


def test_alias_delivers_once(inst):
    since = inst.log_size()
    # the alias and the mailbox it points at: one copy
    token, qid = send(inst, ["support@extmail.org", PM])
    hits = find_in_maildir(inst, PM, token)
    assert len(hits) == 1
    time.sleep(0.5)
    assert len(find_in_maildir(inst, PM, token, timeout=0)) == 1
    inst.wait_log(rf"{qid}: removed", since=since)
    log = inst.maillog()[since:]
    assert len(re.findall(rf"{qid}: to=<postmaster@extmail.org>", log)) == 1


def test_new_mailbox_by_sql_receives(inst):
    user = "fresh-dlv@extmail.org"
    add_mailbox(inst, user)
    try:
        token, _ = send(inst, [user])
        hits = find_in_maildir(inst, user, token)
        assert len(hits) == 1
        # made as Postfix's virtual(8) makes it: ExtMail's folders and
        # the subscriptions come at the first login (test_imap_state)
        md = maildir_of(inst, user)
        for sub in ("cur", "new", "tmp"):
            assert os.path.isdir(os.path.join(md, sub)), sub
        left = [n for n in os.listdir(md)
                if n.startswith(".") or n == "subscriptions"]
        assert left == [], left
    finally:
        del_mailbox(inst, user)


def test_spam_to_new_mailbox_lands_in_junk(inst):
    """A spam verdict for a mailbox whose Maildir delivery makes (or that
    no login has seen) makes the default folders, as that login would,
    and files the message into Junk; a Junk that the user deleted stays
    deleted (the inbox then)."""
    user = "fresh-spam@extmail.org"
    add_mailbox(inst, user)
    try:
        since = inst.log_size()
        token, qid = send(inst, [user], extra="X-Spam-Flag: YES\r\n")
        md = maildir_of(inst, user)
        hits = deliverylib.wait_token([os.path.join(md, ".Junk", "new")],
                                      token, 15, 1)
        assert len(hits) == 1, hits
        inst.wait_log(rf"{qid}: to=<{user}>, relay=virtual, .*"
                      r"status=sent \(delivered to maildir folder Junk\)",
                      since=since)
        for f in (".Sent", ".Drafts", ".Trash"):
            assert os.path.isdir(os.path.join(md, f, "cur")), f
        with open(os.path.join(md, "subscriptions")) as f:
            assert f.read() == "V\t2\n\nINBOX\nSent\nDrafts\nTrash\nJunk\n"
        assert find_in_maildir(inst, user, token, timeout=0) == []
        # the user deletes Junk: spam goes to the inbox
        shutil.rmtree(os.path.join(md, ".Junk"))
        token, qid = send(inst, [user], extra="X-Spam-Flag: YES\r\n")
        assert len(find_in_maildir(inst, user, token)) == 1
        assert not os.path.exists(os.path.join(md, ".Junk"))
    finally:
        del_mailbox(inst, user)


def _bounce_for(inst, token, timeout=15):
    """The DSN in the postmaster's Maildir that mentions token."""
    hits = find_in_maildir(inst, PM, token, timeout=timeout)
    for p, data in hits:
        if b"multipart/report" in data:
            return data
    raise AssertionError("no bounce for " + token)


def test_over_quota_bounces_to_sender(inst):
    user = "full-dlv@extmail.org"
    add_mailbox(inst, user, quota="1000S")
    try:
        since = inst.log_size()
        token, qid = send(inst, [user], sender=PM, body="x" * 3000 + "\n")
        data = _bounce_for(inst, token)
        msg = email.message_from_bytes(data)
        assert msg["From"].startswith("MAILER-DAEMON@")
        assert data.startswith(b"Return-Path: <>\n"), data[:60]
        assert msg.get_content_type() == "multipart/report"
        parts = [p.get_content_type() for p in msg.walk()]
        assert "message/delivery-status" in parts, parts
        assert b"Status: 5.2.2" in data
        assert b"Final-Recipient: rfc822; full-dlv@extmail.org" in data
        assert b"overdrawn his diskspace quota" in data
        inst.wait_log(rf"{qid}: to=<full-dlv@extmail.org>, relay=virtual, "
                      r".*dsn=5\.2\.2, status=bounced", since=since)
        inst.wait_log(rf"{qid}: sender non-delivery notification: "
                      r"[0-9A-F]{16}", since=since)
        assert not glob.glob(os.path.join(maildir_of(inst, user), "new",
                                          "*"))
    finally:
        del_mailbox(inst, user)


def test_unknown_alias_target_bounces(inst):
    inst.sql("INSERT INTO alias (address, goto, domain, active) VALUES "
             "('ghost-dlv@extmail.org', 'nobody-dlv@extmail.org', "
             "'extmail.org', 1)")
    try:
        since = inst.log_size()
        token, qid = send(inst, ["ghost-dlv@extmail.org"], sender=PM)
        data = _bounce_for(inst, token)
        assert b"Status: 5.1.1" in data
        inst.wait_log(rf"{qid}: to=<nobody-dlv@extmail.org>, "
                      r"orig_to=<ghost-dlv@extmail.org>, relay=virtual, "
                      r".*status=bounced", since=since)
    finally:
        inst.sql("DELETE FROM alias WHERE address='ghost-dlv@extmail.org'")


def test_remote_through_relayhost(inst):
    s = sink()
    since = inst.log_size()
    token, qid = send(inst, ["friend@remote.example"], sender=PM)
    mail_from, rcpts, data = s.find(token)
    assert mail_from == PM and rcpts == ["friend@remote.example"]
    assert b"\r\nSubject: test " + token.encode() in data
    inst.wait_log(rf"{qid}: to=<friend@remote.example>, "
                  rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{SINK_PORT}, .*"
                  r"dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as "
                  r"SINK1\)", since=since)


def test_remote_5xx_bounces(inst):
    sink()
    since = inst.log_size()
    token, qid = send(inst, ["reject-me@remote.example"], sender=PM)
    data = _bounce_for(inst, token)
    assert b"Status: 5.1.1" in data
    assert b"Diagnostic-Code: X-Youju; host 127.0.0.1" in data
    inst.wait_log(rf"{qid}: to=<reject-me@remote.example>, .*dsn=5\.1\.1, "
                  r"status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: "
                  r"550 5\.1\.1", since=since)


def test_remote_4xx_then_sent(inst):
    s = sink()
    since = inst.log_size()
    token, qid = send(inst, ["temp-dlv@remote.example"], sender=PM)
    inst.wait_log(rf"{qid}: to=<temp-dlv@remote.example>, .*dsn=4\.3\.0, "
                  r"status=deferred", since=since)
    s.find(token, timeout=20)
    inst.wait_log(rf"{qid}: to=<temp-dlv@remote.example>, .*"
                  r"status=sent", since=since, timeout=20)
    inst.wait_log(rf"{qid}: removed", since=since)


def test_queue_list_hold_release(inst):
    r = inst.youju("queue", "list")
    assert r.returncode == 0, r.stderr
    # a held message shows with "!", release delivers it.  Holding a
    # message the queue manager already has is racy, so a queue file is
    # written into hold/ by hand (owned by the mail user, as youju-mta's).
    src = inst.path("spool", "hold")
    token = uuid.uuid4().hex
    qid = "0000000100000" + "ABC"
    body = f"Subject: {token}\n\nx\n".encode()
    data = (b"YOUJU-QUEUE 1\nI " + qid.encode() + b"\nT 1.0\n"
            b"S a@example.net\nR postmaster@extmail.org\nM "
            + b"%020d" % len(body) + b"\n" + body + b"\nE\n")
    put(os.path.join(src, qid), data)
    r = inst.youju("queue", "list")
    assert re.search(rf"^{qid}! +{len(body)} .* a@example\.net$",
                     r.stdout, re.M), r.stdout
    assert re.search(r"^ +postmaster@extmail\.org$", r.stdout, re.M)
    assert "Request" in r.stdout
    r = inst.youju("queue", "cat", qid)
    assert "*** MESSAGE CONTENTS" in r.stdout and token in r.stdout
    r = inst.youju("queue", "release", qid)
    assert "Released from hold: 1 message" in r.stderr, r.stderr
    assert len(find_in_maildir(inst, PM, token)) == 1
    deadline = time.time() + 10
    while time.time() < deadline:
        r = inst.youju("queue", "list")
        if qid not in r.stdout:
            break
        time.sleep(0.1)
    assert qid not in r.stdout
    # delete
    put(os.path.join(src, qid), data)
    r = inst.youju("queue", "delete", qid)
    assert "Deleted: 1 message" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(src, qid))


def test_kill9_loses_nothing(inst):
    """Every message answered 250 is delivered after kill -9 + restart."""
    tokens = []
    stop = threading.Event()

    def sender():
        while not stop.is_set():
            try:
                t, _ = send(inst, [PM])
                tokens.append(t)
            except (OSError, smtplib.SMTPException, AssertionError):
                time.sleep(0.05)

    th = threading.Thread(target=sender)
    th.start()
    time.sleep(1.5)
    since = inst.log_size()
    pid = inst.daemon_pid("youju-mta")
    assert pid > 0
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    stop.set()
    th.join()
    assert tokens, "no message was accepted"
    # the queue manager dies with its parent; wait until the pid is gone
    harness.wait_gone(pid)
    r = inst.start()
    assert inst.daemon_pid("youju-mta") not in (0, pid), r.stdout
    inst.wait_log(r"queue manager started", since=since)
    missing = [t for t in tokens
               if not find_in_maildir(inst, PM, t, timeout=20)]
    assert not missing, f"{len(missing)} of {len(tokens)} lost"
    dups = [t for t in tokens if len(find_in_maildir(inst, PM, t,
                                                     timeout=0)) > 1]
    print(f"kill -9: {len(tokens)} accepted, {len(dups)} duplicated")
