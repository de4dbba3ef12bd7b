"""youju-mra (issue 6): POP3 and IMAP with Python's poplib and imaplib on
the demo mailbox.  Delivery is simulated by dropping files into Maildir/new,
as an MTA would (tmp/ then rename)."""
import imaplib
import os
import poplib
import re
import socket
import ssl
import time

import harness

USER = "postmaster@extmail.org"
PASSWORD = "extmail"


def _ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _maildir(inst):
    return inst.path("mailbox", "extmail.org", "postmaster", "Maildir")


_seq = [0]


def deliver(inst, subject, body="hello\n", folder=""):
    """Writes a message into Maildir[/.folder]/new like a delivery agent."""
    md = _maildir(inst)
    d = os.path.join(md, "." + folder) if folder else md
    os.makedirs(md, exist_ok=True)
    owner = harness.vmail_owner()
    if owner:
        for p in (os.path.dirname(md), os.path.dirname(os.path.dirname(md))):
            os.chown(p, *owner)
    _seq[0] += 1
    data = (f"From: Alice <alice@example.com>\nTo: {USER}\n"
            f"Subject: {subject}\nMessage-ID: <m{_seq[0]}@test>\n"
            f"Date: Mon, 1 Jan 2024 10:00:00 +0000\n\n{body}").encode()
    name = f"{int(time.time())}.M{_seq[0]}P{os.getpid()}.test,S={len(data)}"
    harness.maildir_put(d, name, data)
    return name, data


def clear_inbox(inst):
    md = _maildir(inst)
    for sub in ("new", "cur"):
        p = os.path.join(md, sub)
        if os.path.isdir(p):
            for n in os.listdir(p):
                os.unlink(os.path.join(p, n))


def pop(inst):
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=15)
    p.user(USER)
    p.pass_(PASSWORD)
    return p


# ---- POP3 ------------------------------------------------------------------

def test_pop3_greeting_and_capa(inst):
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=15)
    assert p.getwelcome().startswith(b"+OK")
    caps = p.capa()
    for c in ("TOP", "UIDL", "USER", "SASL", "STLS", "RESP-CODES"):
        assert c in caps, caps
    assert caps["SASL"] == ["PLAIN"]
    p.quit()


def test_pop3_wrong_password(inst):
    since = inst.log_size()
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=15)
    p.user(USER)
    try:
        p.pass_("wrong")
        raise AssertionError("wrong password accepted")
    except poplib.error_proto as e:
        assert b"[AUTH]" in e.args[0], e
    p.quit()
    inst.wait_log(r"pop3-login: Disconnected \(auth failed, 1 attempts\): "
                  r"user=<postmaster@extmail\.org>, method=PLAIN, "
                  r"rip=127\.0\.0\.1", since=since)


def test_pop3_login_creates_maildir_and_logs(inst):
    since = inst.log_size()
    p = pop(inst)
    md = _maildir(inst)
    for sub in ("cur", "new", "tmp", ".Sent/cur", ".Drafts", ".Trash",
                ".Junk/maildirfolder"):
        assert os.path.exists(os.path.join(md, sub)), sub
    p.quit()
    inst.wait_log(r"pop3-login: Login: user=<postmaster@extmail\.org>, "
                  r"method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, "
                  r"mpid=\d+", since=since)


def test_pop3_stat_list_retr_top_uidl(inst):
    clear_inbox(inst)
    _, d1 = deliver(inst, "one", "line1\n.dotted\nline3\n")
    _, d2 = deliver(inst, "two", "x" * 100 + "\n")
    p = pop(inst)
    n, size = p.stat()
    assert n == 2
    crlf = [len(d.replace(b"\n", b"\r\n")) for d in (d1, d2)]
    assert size == sum(crlf), (size, crlf)
    resp, lst, _ = p.list()
    assert [int(x.split()[1]) for x in lst] == crlf
    resp, lines, octets = p.retr(1)
    assert b".dotted" in lines            # dot-unstuffed by poplib
    assert lines[-1] == b"line3"
    assert b"Subject: one" in lines
    resp, top, _ = p.top(1, 1)
    assert top[-1] == b"line1" and b"Subject: one" in top
    resp, uidl, _ = p.uidl()
    uids1 = [u.split()[1] for u in uidl]
    assert len(uids1) == 2 and all(re.fullmatch(rb"[0-9a-f]{16}", u)
                                   for u in uids1)
    assert uids1[0] != uids1[1]
    p.quit()
    # stable across sessions, and new mail gets a new one
    deliver(inst, "three")
    p = pop(inst)
    resp, uidl, _ = p.uidl()
    uids2 = [u.split()[1] for u in uidl]
    assert uids2[:2] == uids1 and len(uids2) == 3
    assert p.uidl(3).split()[2] == uids2[2]
    p.quit()
    # the uidlist is Dovecot's version 3
    with open(os.path.join(_maildir(inst), "dovecot-uidlist")) as f:
        assert re.match(r"3 V\d+ N\d+", f.readline())


def test_pop3_dele_rset_quit(inst):
    clear_inbox(inst)
    deliver(inst, "a")
    deliver(inst, "b")
    p = pop(inst)
    p.dele(1)
    try:
        p.retr(1)
        raise AssertionError("deleted message retrieved")
    except poplib.error_proto:
        pass
    p.rset()
    assert p.stat()[0] == 2
    p.dele(2)
    # a dropped connection deletes nothing (UPDATE only after QUIT)
    p.sock.close()
    p = pop(inst)
    assert p.stat()[0] == 2
    p.dele(2)
    p.quit()
    p = pop(inst)
    assert p.stat()[0] == 1
    assert b"Subject: a" in p.retr(1)[1]
    p.quit()
    cur = os.listdir(os.path.join(_maildir(inst), "cur"))
    assert len(cur) == 1 and cur[0].endswith(":2,S"), cur


def test_pop3_auth_plain_and_errors(inst):
    import base64
    s = socket.create_connection(("127.0.0.1", inst.ports["pop3"]), 15)
    f = s.makefile("rwb")
    assert f.readline().startswith(b"+OK")
    f.write(b"BOGUS\r\n" + b"X" * 10000 + b"\r\n")
    f.flush()
    assert f.readline().startswith(b"-ERR")
    assert f.readline().startswith(b"-ERR")
    tok = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode())
    f.write(b"AUTH PLAIN\r\n")
    f.flush()
    assert f.readline().startswith(b"+")
    f.write(tok + b"\r\n")
    f.flush()
    assert f.readline().startswith(b"+OK"), "AUTH PLAIN failed"
    f.write(b"STAT\r\nQUIT\r\n")
    f.flush()
    assert f.readline().startswith(b"+OK ")
    assert f.readline().startswith(b"+OK")
    s.close()


def test_pop3s_and_stls(inst):
    p = poplib.POP3_SSL("127.0.0.1", inst.ports["pop3s"], context=_ctx(),
                        timeout=15)
    p.user(USER)
    p.pass_(PASSWORD)
    p.stat()
    p.quit()
    since = inst.log_size()
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=15)
    p.stls(context=_ctx())
    assert "STLS" not in p.capa()
    p.user(USER)
    p.pass_(PASSWORD)
    p.quit()
    inst.wait_log(r"pop3-login: Login: user=<postmaster@extmail\.org>.*, "
                  r"TLS", since=since)


def test_pop3_disabled_by_sql(inst):
    inst.sql("UPDATE mailbox SET disablepop3='1' "
             "WHERE username='postmaster@extmail.org'")
    try:
        time.sleep(6)  # authd_cache_ttl
        p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=15)
        p.user(USER)
        try:
            p.pass_(PASSWORD)
            raise AssertionError("login with disablepop3")
        except poplib.error_proto as e:
            assert b"-ERR" in e.args[0]
        p.quit()
        # IMAP still works for the same account
        m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=15)
        m.login(USER, PASSWORD)
        m.logout()
    finally:
        inst.sql("UPDATE mailbox SET disablepop3='0' "
                 "WHERE username='postmaster@extmail.org'")
        time.sleep(6)


# ---- IMAP ------------------------------------------------------------------

def imap(inst):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=15)
    m.login(USER, PASSWORD)
    return m


def test_imap_capability_and_login(inst):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=15)
    for c in ("IMAP4REV1", "STARTTLS", "AUTH=PLAIN", "IDLE", "LITERAL+",
              "UIDPLUS", "SPECIAL-USE", "NAMESPACE", "ID"):
        assert c in m.capabilities, m.capabilities
    since = inst.log_size()
    try:
        m.login(USER, "wrong")
        raise AssertionError("wrong password accepted")
    except imaplib.IMAP4.error as e:
        assert "AUTHENTICATIONFAILED" in str(e), e
    m.login(USER, PASSWORD)
    m.logout()
    inst.wait_log(r"imap-login: Login: user=<postmaster@extmail\.org>, "
                  r"method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1",
                  since=since)
    inst.wait_log(r"imap-login: Disconnected \(auth failed, 1 attempts\)"
                  r"|imap\(postmaster@extmail\.org\): Disconnected",
                  since=since)


def test_imap_authenticate_plain(inst):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=15)
    typ, _ = m.authenticate("PLAIN",
                            lambda _: f"\0{USER}\0{PASSWORD}".encode())
    assert typ == "OK"
    m.logout()


def test_imap_list_select_fetch(inst):
    clear_inbox(inst)
    _, d1 = deliver(inst, "first", "body one\n")
    deliver(inst, "second", "body two\n")
    m = imap(inst)
    typ, lst = m.list()
    text = b"\n".join(lst)
    assert b'"." INBOX' in text
    assert rb'\Sent) "." "Sent"' in text and rb'\Trash) "." "Trash"' in text
    assert b'"Junk"' in text and b'"Drafts"' in text
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"2"]
    assert m.untagged_responses.get("RECENT") == [b"2"]
    typ, data = m.fetch("1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)")
    assert typ == "OK" and len(data) == 2
    assert re.search(rb"RFC822\.SIZE %d" % len(d1.replace(b"\n", b"\r\n")),
                     data[0]), data
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == b"Subject: first\r\n\r\n", data
    typ, data = m.fetch("1", "(BODY.PEEK[TEXT])")
    assert data[0][1] == b"body one\r\n"
    typ, data = m.fetch("1", "(BODY.PEEK[]<0.5>)")
    assert data[0][1] == b"From:"
    typ, data = m.fetch("1", "(ENVELOPE)")
    assert b'"first"' in data[0] and b'"alice" "example.com"' in data[0]
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Seen" not in data[0]
    typ, data = m.fetch("1", "(RFC822)")
    assert data[0][1] == d1.replace(b"\n", b"\r\n")
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Seen" in data[0]
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK" and len(data) == 2
    typ, data = m.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)")
    assert b"MESSAGES 2" in data[0] and b"UNSEEN 1" in data[0]
    m.logout()


def test_imap_store_expunge_append(inst):
    clear_inbox(inst)
    deliver(inst, "keep")
    deliver(inst, "drop")
    m = imap(inst)
    m.select("INBOX")
    typ, data = m.store("2", "+FLAGS", "(\\Deleted \\Flagged)")
    assert typ == "OK" and b"\\Deleted" in data[0]
    typ, data = m.expunge()
    assert typ == "OK" and data == [b"2"], data
    typ, data = m.search(None, "ALL")
    assert data == [b"1"]
    msg = b"From: a@b\r\nSubject: appended\r\n\r\nhi\r\n"
    typ, data = m.append("Drafts", "(\\Draft \\Seen)", None, msg)
    assert typ == "OK" and b"APPENDUID" in data[0], data
    m.select("Drafts")
    typ, data = m.fetch("1", "(FLAGS BODY.PEEK[])")
    assert data[0][1] == msg
    assert b"\\Draft" in data[0][0] and b"\\Seen" in data[0][0]
    names = os.listdir(os.path.join(_maildir(inst), ".Drafts", "cur"))
    assert len(names) == 1 and names[0].endswith(":2,DS"), names
    assert ",S=%d" % (len(msg)) in names[0]
    m.logout()


def test_imap_create_rename_delete_and_bad(inst):
    m = imap(inst)
    assert m.create("Projects")[0] == "OK"
    assert m.create("Projects")[0] == "NO"
    assert os.path.exists(os.path.join(_maildir(inst), ".Projects",
                                       "maildirfolder"))
    assert m.rename("Projects", "Archive")[0] == "OK"
    assert m.delete("Archive")[0] == "OK"
    assert not os.path.exists(os.path.join(_maildir(inst), ".Archive"))
    assert m.select("Nope")[0] == "NO"
    # malformed commands get BAD and the session goes on
    for bad in (b"a1 FETCH", b'a2 LOGIN "unterminated', b"a3 (((",
                b"a4 BOGUS x"):
        tag = bad.split()[0]
        m.send(bad + b"\r\n")
        while True:
            line = m.readline()
            if line.startswith(tag):
                break
        assert line.split()[1] in (b"BAD", b"NO"), line
    assert m.noop()[0] == "OK"
    m.logout()


def test_imap_literal_cap_and_literal_plus(inst):
    s = socket.create_connection(("127.0.0.1", inst.ports["imap"]), 15)
    f = s.makefile("rwb")
    f.readline()
    f.write(f"a LOGIN {{{len(USER)}+}}\r\n{USER} {PASSWORD}\r\n".encode())
    f.flush()
    assert f.readline().startswith(b"a OK"), "LITERAL+ login failed"
    f.write(b"b CREATE {99999999999}\r\n")
    f.flush()
    assert b"BAD" in f.readline()
    f.write(b"c NOOP\r\n")
    f.flush()
    while True:
        line = f.readline()
        if line.startswith(b"c "):
            break
    assert line.startswith(b"c OK")
    s.close()


def test_imap_idle_sees_delivery(inst):
    clear_inbox(inst)
    m = imap(inst)
    m.select("INBOX")
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    assert m.readline().startswith(b"+")
    deliver(inst, "while idle")
    line = m.readline()
    assert re.match(rb"\* 1 EXISTS", line), line
    m.send(b"DONE\r\n")
    while True:
        line = m.readline()
        if line.startswith(tag):
            break
    assert b"OK" in line
    m.logout()


def test_imap_two_sessions_see_expunge(inst):
    clear_inbox(inst)
    deliver(inst, "shared")
    a = imap(inst)
    b = imap(inst)
    a.select("INBOX")
    b.select("INBOX")
    a.store("1", "+FLAGS", "\\Deleted")
    a.expunge()
    typ, _ = b.noop()
    assert b.untagged_responses.get("EXPUNGE") == [b"1"], \
        b.untagged_responses
    a.logout()
    b.logout()


def test_imaps_and_starttls(inst):
    m = imaplib.IMAP4_SSL("127.0.0.1", inst.ports["imaps"],
                          ssl_context=_ctx(), timeout=15)
    m.login(USER, PASSWORD)
    m.select("INBOX")
    m.logout()
    since = inst.log_size()
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=15)
    m.starttls(ssl_context=_ctx())
    assert "STARTTLS" not in m.capabilities
    m.login(USER, PASSWORD)
    m.logout()
    inst.wait_log(r"imap-login: Login: user=<postmaster@extmail\.org>.*, "
                  r"TLS", since=since)


def test_imap_disabled_by_sql(inst):
    inst.sql("UPDATE mailbox SET disableimap='1' "
             "WHERE username='postmaster@extmail.org'")
    try:
        time.sleep(6)  # authd_cache_ttl
        m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=15)
        try:
            m.login(USER, PASSWORD)
            raise AssertionError("login with disableimap")
        except imaplib.IMAP4.error as e:
            # authd may refuse the service itself (FAIL) or return
            # OPTIONS=disableimap=1 for us to enforce: both are a NO
            assert "AUTHENTICATIONFAILED" in str(e) or \
                "AUTHORIZATIONFAILED" in str(e), e
        m.logout()
        p = pop(inst)
        p.quit()
    finally:
        inst.sql("UPDATE mailbox SET disableimap='0' "
                 "WHERE username='postmaster@extmail.org'")
        time.sleep(6)


def test_authd_down_is_tempfail(inst):
    """A directory outage is a temporary failure, never a wrong password."""
    pid = inst.daemon_pid("youju-authd")
    assert pid > 0
    os.kill(pid, 15)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    try:
        p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=15)
        p.user(USER)
        try:
            p.pass_(PASSWORD)
            raise AssertionError("login without authd")
        except poplib.error_proto as e:
            assert b"[SYS/TEMP]" in e.args[0], e
        p.quit()
        m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=15)
        try:
            m.login(USER, PASSWORD)
            raise AssertionError("login without authd")
        except imaplib.IMAP4.error as e:
            assert "UNAVAILABLE" in str(e), e
        m.logout()
    finally:
        inst.start()
    pop(inst).quit()
