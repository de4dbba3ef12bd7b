"""youju-mra IMAP state and storage (issue 6) with imaplib: keywords kept
in Maildir file names through dovecot-keywords, subscriptions in Dovecot's
file, RENAME with children and of INBOX, QUOTA from maildirsize after a
real SMTP delivery, LIST-EXTENDED, IDLE pushed by inotify, and
LOGINDISABLED on a second youju-mra that requires TLS."""
import imaplib
import os
import pwd
import re
import smtplib
import socket
import subprocess
import time
import uuid

import harness

PASSWORD = "state-secret"
_made = set()


def _chown(path):
    if os.geteuid() == 0:
        pw = pwd.getpwnam("vmail")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def user(inst, local, quota="5242880S"):
    """A mailbox of its own per test, so tests don't see each other."""
    addr = f"{local}@extmail.org"
    if addr not in _made:
        inst.sql("INSERT INTO mailbox (username, uid, password, name, "
                 "maildir, homedir, quota, domain, uidnumber, gidnumber, "
                 f"active) VALUES ('{addr}', '{local}', "
                 f"'{{PLAIN}}{PASSWORD}', '{local}', "
                 f"'extmail.org/{local}/Maildir/', 'extmail.org/{local}', "
                 f"'{quota}', 'extmail.org', 1000, 1000, 1)")
        _made.add(addr)
    return addr


def maildir(inst, addr):
    local = addr.split("@")[0]
    return inst.path("mailbox", "extmail.org", local, "Maildir")


def twin_folder(inst, addr, name, files):
    """Makes folder name behind the server's back with the Inbox's
    UIDVALIDITY and the UIDs of files [(uid, bytes)], so that only the
    path and the files tell it from the Inbox.  Returns the UIDVALIDITY."""
    md = maildir(inst, addr)
    with open(os.path.join(md, "dovecot-uidlist")) as f:
        v = re.match(r"3 V(\d+) ", f.readline()).group(1)
    twin = os.path.join(md, "." + name)
    for sub in ("", "cur", "new", "tmp"):
        os.makedirs(os.path.join(twin, sub), exist_ok=True)
        _chown(os.path.join(twin, sub))
    names = []
    for uid, data in files:
        base = f"170000000{uid}.M{uid}P9.twin"
        path = os.path.join(twin, "cur", base + ":2,S")
        with open(path, "wb") as f:
            f.write(data)
        _chown(path)
        names.append(f"{uid} :{base}\n")
    with open(os.path.join(twin, "dovecot-uidlist"), "w") as f:
        f.write(f"3 V{v} N{max(u for u, _ in files) + 1}\n" + "".join(names))
    _chown(os.path.join(twin, "dovecot-uidlist"))
    return v


def login(inst, addr):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=20)
    m.login(addr, PASSWORD)
    return m


def smtp_deliver(inst, addr, subject):
    body = (f"From: a@example.com\r\nTo: {addr}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@test>\r\n\r\nhello\r\n")
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.sendmail("a@example.com", [addr], body)


def wait_files(path, count, timeout=30):
    deadline = time.time() + timeout
    while True:
        names = []
        for sub in ("new", "cur"):
            p = os.path.join(path, sub)
            if os.path.isdir(p):
                names += [n for n in os.listdir(p) if not n.startswith(".")]
        if len(names) >= count or time.time() > deadline:
            return names
        time.sleep(0.1)


def append(m, box, subject, flags=None):
    msg = (f"From: a@example.com\r\nSubject: {subject}\r\n\r\n"
           "body\r\n").encode()
    typ, data = m.append(box, flags, None, msg)
    assert typ == "OK", data


def cur_names(path):
    return sorted(os.listdir(os.path.join(path, "cur")))


def read(path):
    with open(path) as f:
        return f.read()


# ---- keywords -------------------------------------------------------------

def test_keywords_round_trip(inst):
    addr = user(inst, "kw")
    md = None
    m = login(inst, addr)
    md = maildir(inst, addr)
    typ, _ = m.select("INBOX")
    assert typ == "OK"
    # PERMANENTFLAGS offers \* (new keywords allowed)
    perm = m.untagged_responses.get("PERMANENTFLAGS", [b""])[0]
    assert b"\\*" in perm, perm
    append(m, "INBOX", "one", "(\\Seen $Label1)")
    append(m, "INBOX", "two")
    m.select("INBOX")
    flags = m.untagged_responses["FLAGS"][0]
    assert b"$Label1" in flags, flags
    typ, data = m.store("2", "+FLAGS", "(Work $Junk)")
    assert typ == "OK", data
    assert b"Work" in data[0] and b"$Junk" in data[0], data
    # the keywords file is Dovecot's: "<index> <name>" in letter order
    assert read(os.path.join(md, "dovecot-keywords")) == \
        "0 $Label1\n1 Work\n2 $Junk\n"
    names = cur_names(md)
    assert any(n.endswith(":2,Sa") for n in names), names
    assert any(n.endswith(":2,bc") for n in names), names
    typ, data = m.fetch("1:2", "(FLAGS)")
    text = b" ".join(d for d in data if isinstance(d, bytes))
    assert re.search(rb"1 \(FLAGS \(\\Seen \$Label1\)\)", text), text
    assert re.search(rb"2 \(FLAGS \(Work \$Junk\)\)", text), text
    # -FLAGS removes one letter; a keyword unknown here changes nothing
    typ, data = m.store("2", "-FLAGS", "(work Nope)")
    assert typ == "OK" and b"Work" not in data[0], data
    assert any(n.endswith(":2,c") for n in cur_names(md))
    assert "Nope" not in read(os.path.join(md, "dovecot-keywords"))
    # SEARCH KEYWORD / UNKEYWORD go through the same letters
    typ, data = m.search(None, "KEYWORD", "$junk")
    assert typ == "OK" and data[0].split() == [b"2"], data
    typ, data = m.search(None, "UNKEYWORD", "$Label1")
    assert typ == "OK" and data[0].split() == [b"2"], data
    typ, data = m.search(None, "KEYWORD", "Nope")
    assert typ == "OK" and data[0].split() == [], data
    # a second session sees the new keyword and flags
    m2 = login(inst, addr)
    m2.select("INBOX")
    typ, data = m2.fetch("2", "(FLAGS)")
    assert b"$Junk" in data[0], data
    m2.logout()

    # COPY to a folder whose dovecot-keywords maps letters differently
    m.create("Kept")
    kd = os.path.join(md, ".Kept")
    with open(os.path.join(kd, "dovecot-keywords"), "w") as f:
        f.write("0 Other\n1 $Junk\n")
    _chown(os.path.join(kd, "dovecot-keywords"))
    typ, _ = m.copy("1:2", "Kept")
    assert typ == "OK"
    assert read(os.path.join(kd, "dovecot-keywords")) == \
        "0 Other\n1 $Junk\n2 $Label1\n"
    kn = cur_names(kd)
    assert any(n.endswith(":2,Sc") for n in kn), kn   # \Seen $Label1
    assert any(n.endswith(":2,b") for n in kn), kn    # $Junk
    # MOVE keeps them too
    m.create("Moved")
    typ, _ = m.uid("MOVE", "1:*", "Moved")
    assert typ == "OK"
    m.select("Moved")
    typ, data = m.fetch("1:*", "(FLAGS)")
    text = b" ".join(d for d in data if isinstance(d, bytes))
    assert b"$Label1" in text and b"$Junk" in text, text
    m.logout()


def test_keywords_limit_26(inst):
    addr = user(inst, "kwmax")
    m = login(inst, addr)
    append(m, "INBOX", "x")
    m.select("INBOX")
    for i in range(26):
        typ, data = m.store("1", "+FLAGS", f"(k{i})")
        assert typ == "OK", (i, data)
    typ, data = m.store("1", "+FLAGS", "(k26)")
    assert typ == "NO" and b"LIMIT" in data[0], data
    m.select("INBOX")
    perm = m.untagged_responses.get("PERMANENTFLAGS", [b""])[0]
    assert b"\\*" not in perm and b"k25" in perm, perm
    name = cur_names(maildir(inst, addr))[0]
    assert name.endswith(":2," + "abcdefghijklmnopqrstuvwxyz"), name
    m.logout()


# ---- subscriptions ---------------------------------------------------------

def test_subscriptions_persist(inst):
    addr = user(inst, "subs")
    m = login(inst, addr)
    md = maildir(inst, addr)
    # a new Maildir has INBOX and the default folders subscribed
    typ, data = m.lsub('""', "*")
    got = {d.decode().split(' "." ')[1].strip('"') for d in data}
    assert got == {"INBOX", "Sent", "Drafts", "Trash", "Junk"}, data
    m.create("Archive")
    m.create("Archive.2024")
    assert m.subscribe("Archive.2024")[0] == "OK"
    assert m.unsubscribe("Junk")[0] == "OK"
    typ, data = m.subscribe("NoSuchBox")
    assert typ == "NO", data
    m.logout()
    text = read(os.path.join(md, "subscriptions"))
    assert text.startswith("V\t2\n\n"), text
    assert "Archive\t2024\n" in text and "Junk" not in text, text
    m = login(inst, addr)
    typ, data = m.lsub('""', "*")
    got = {d.decode().split(' "." ')[1].strip('"') for d in data}
    assert "Archive.2024" in got and "Junk" not in got, data
    assert "Archive" not in got
    # '%' shows the unsubscribed parent as \Noselect (RFC 3501 6.3.9)
    typ, data = m.lsub('""', "%")
    assert any(b"\\Noselect" in d and b'"Archive"' in d for d in data), data
    # LIST (SUBSCRIBED) and RECURSIVEMATCH with CHILDINFO
    typ, data = m._simple_command("LIST", "(SUBSCRIBED)", '""', '"*"')
    lines = m.untagged_responses.pop("LIST", [])
    assert typ == "OK"
    assert any(b"\\Subscribed" in d and b"Archive.2024" in d
               for d in lines), lines
    typ, _ = m._simple_command("LIST", "(SUBSCRIBED RECURSIVEMATCH)",
                               '""', '"%"')
    lines = m.untagged_responses.pop("LIST", [])
    assert any(b'"Archive"' in d and b"CHILDINFO" in d for d in lines), lines
    m.logout()


def _names(data):
    return {d.decode().split(' "." ')[1].strip('"') for d in data}


def test_delivery_makes_inbox_login_makes_folders(inst):
    """A first delivery makes the Maildir as Postfix's virtual(8) does
    (tmp/ new/ cur/, no folders, no subscriptions); the first login makes
    ExtMail's four folders and subscribes them with INBOX (Thunderbird
    shows only subscribed folders); a default folder that the user
    unsubscribes stays unsubscribed at the next login."""
    addr = user(inst, "dlvfirst")
    md = maildir(inst, addr)
    assert not os.path.exists(md)
    smtp_deliver(inst, addr, "first")
    assert len(wait_files(md, 1)) == 1
    left = sorted(n for n in os.listdir(md)
                  if n.startswith(".") or n == "subscriptions")
    assert left == [], left
    m = login(inst, addr)
    typ, data = m.list('""', "*")
    assert _names(data) == {"INBOX", "Sent", "Drafts", "Trash", "Junk"}, data
    typ, data = m.lsub('""', "*")
    assert _names(data) == {"INBOX", "Sent", "Drafts", "Trash", "Junk"}, data
    assert m.unsubscribe("Drafts")[0] == "OK"
    m.logout()
    m = login(inst, addr)
    typ, data = m.lsub('""', "*")
    assert _names(data) == {"INBOX", "Sent", "Trash", "Junk"}, data
    typ, data = m.list('""', "*")
    assert "Drafts" in _names(data), data
    m.logout()


def test_login_after_crash_before_subscriptions(inst):
    """A first login that made the folders but whose subscriptions file
    never reached the disk (a crash; it is written without fsync): the
    next login subscribes the defaults."""
    addr = user(inst, "subcrash")
    m = login(inst, addr)
    m.logout()
    md = maildir(inst, addr)
    os.unlink(os.path.join(md, "subscriptions"))
    m = login(inst, addr)
    typ, data = m.lsub('""', "*")
    assert _names(data) == {"INBOX", "Sent", "Drafts", "Trash", "Junk"}, data
    m.logout()


# ---- RENAME / DELETE ---------------------------------------------------------

def test_rename_with_children_and_inbox(inst):
    addr = user(inst, "ren")
    m = login(inst, addr)
    md = maildir(inst, addr)
    for box in ("A", "A.x", "A.x.y"):
        assert m.create(box)[0] == "OK"
    append(m, "A.x", "in child")
    m.subscribe("A.x")
    typ, data = m.rename("A", "B")
    assert typ == "OK", data
    for box in ("B", "B.x", "B.x.y"):
        assert os.path.isdir(os.path.join(md, "." + box)), box
    assert not os.path.exists(os.path.join(md, ".A.x"))
    typ, data = m.select("B.x")
    assert typ == "OK" and data == [b"1"], data
    assert "B\tx" in read(os.path.join(md, "subscriptions"))
    # target exists -> NO [ALREADYEXISTS]
    m.create("C")
    typ, data = m.rename("B", "C")
    assert typ == "NO" and b"ALREADYEXISTS" in data[0], data
    # RENAME INBOX moves the messages; INBOX stays, empty
    append(m, "INBOX", "first")
    append(m, "INBOX", "second")
    typ, data = m.rename("INBOX", "Old")
    assert typ == "OK", data
    typ, data = m.select("Old")
    assert data == [b"2"], data
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"0"], data
    # DELETE of a parent keeps its children (Maildir++ as Dovecot)
    typ, data = m.delete("B")
    assert typ == "OK", data
    assert os.path.isdir(os.path.join(md, ".B.x"))
    typ, data = m.list('""', "%")
    assert any(b"\\Noselect" in d and d.endswith(b' "B"') for d in data), data
    m.logout()


# ---- QUOTA -------------------------------------------------------------------

def test_quota_from_maildirsize(inst):
    addr = user(inst, "quo", quota="10485760S,100C")
    m = login(inst, addr)      # creates the Maildir
    md = maildir(inst, addr)
    smtp_deliver(inst, addr, "q1")
    smtp_deliver(inst, addr, "q2")
    assert len(wait_files(md, 2)) == 2
    # youju-mta appends the maildirsize delta after linking the file
    deadline = time.time() + 30
    while time.time() < deadline:
        lines = read(os.path.join(md, "maildirsize")).splitlines()
        if sum(int(x.split()[1]) for x in lines[1:]) >= 2:
            break
        time.sleep(0.1)
    assert "QUOTA" in m.capabilities
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK", data
    roots, quotas = data
    assert roots == [b'INBOX "User quota"'], roots
    lines = read(os.path.join(md, "maildirsize")).splitlines()
    assert lines[0] == "10485760S,100C", lines
    used = sum(int(x.split()[0]) for x in lines[1:])
    count = sum(int(x.split()[1]) for x in lines[1:])
    assert count == 2, lines
    kib = (used + 1023) // 1024
    want = f'"User quota" (STORAGE {kib} 10240 MESSAGE 2 100)'.encode()
    assert quotas == [want], (quotas, want)
    typ, data = m.getquota('"User quota"')
    assert typ == "OK" and data == [want], data
    typ, data = m.setquota('"User quota"', "(STORAGE 1)")
    assert typ == "NO", data
    typ, data = m.getquotaroot("NoSuchBox")
    assert typ == "NO", data
    m.logout()


# ---- LIST-EXTENDED -------------------------------------------------------------

def test_list_extended(inst):
    addr = user(inst, "lx")
    m = login(inst, addr)
    assert "LIST-EXTENDED" in m.capabilities
    m.create("P")
    m.create("P.c")
    typ, data = m.list('""', "*")
    assert any(b"\\HasChildren" in d and d.endswith(b' "P"') for d in data), data
    assert any(b"\\HasNoChildren" in d and d.endswith(b' "P.c"') for d in data)
    assert any(b"\\Sent" in d for d in data), data
    typ, data = m.list('""', '""')
    assert data == [b'(\\Noselect) "." ""'], data
    typ, _ = m._simple_command("LIST", "(SPECIAL-USE)", '""', '"*"',
                               "RETURN", "(SPECIAL-USE)")
    lines = m.untagged_responses.pop("LIST", [])
    assert typ == "OK"
    got = {d.split(b" ")[-1].strip(b'"'): d for d in lines}
    assert set(got) == {b"Sent", b"Drafts", b"Trash", b"Junk"}, lines
    assert b"\\Trash" in got[b"Trash"] and b"\\Junk" in got[b"Junk"]
    typ, _ = m._simple_command("LIST", '""', '("P" "P.*")', "RETURN",
                               "(CHILDREN SUBSCRIBED)")
    lines = m.untagged_responses.pop("LIST", [])
    assert typ == "OK" and len(lines) == 2, lines
    assert b"\\HasChildren" in lines[0] and b"\\Subscribed" not in lines[0]
    try:  # RFC 5258 3: RECURSIVEMATCH alone is BAD
        m._simple_command("LIST", "(RECURSIVEMATCH)", '""', '"*"')
        raise AssertionError("RECURSIVEMATCH alone accepted")
    except imaplib.IMAP4.error as e:
        assert "RECURSIVEMATCH" in str(e), e
    m.logout()


# ---- IDLE -----------------------------------------------------------------

def _idle_until(sock_file, pattern, timeout=20):
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        try:
            line = sock_file.readline()
        except socket.timeout:
            continue
        if not line:
            break
        seen.append(line)
        if re.search(pattern, line):
            return seen
    raise AssertionError(f"no {pattern!r} in {seen!r}")


def test_idle_push_delivery_and_expunge(inst):
    addr = user(inst, "idler")
    m = login(inst, addr)
    m.select("INBOX")
    md = maildir(inst, addr)
    # low level: imaplib has no IDLE before Python 3.14
    s = socket.create_connection(("127.0.0.1", inst.ports["imap"]), 20)
    f = s.makefile("rb")
    f.readline()
    s.sendall(f"a LOGIN {addr} {PASSWORD}\r\n".encode())
    _idle_until(f, rb"^a OK")
    s.sendall(b"b SELECT INBOX\r\n")
    _idle_until(f, rb"^b OK")
    s.sendall(b"c IDLE\r\n")
    _idle_until(f, rb"^\+ ")
    smtp_deliver(inst, addr, "pushed")
    _idle_until(f, rb"^\* 1 EXISTS")
    # another session's flag change and expunge arrive too
    m.noop()
    m.store("1", "+FLAGS", "\\Flagged")
    _idle_until(f, rb"^\* 1 FETCH \(FLAGS \(.*\\Flagged")
    m.store("1", "+FLAGS", "\\Deleted")
    m.expunge()
    _idle_until(f, rb"^\* 1 EXPUNGE")
    s.sendall(b"DONE\r\n")
    _idle_until(f, rb"^c OK")
    s.sendall(b"d LOGOUT\r\n")
    s.close()
    m.logout()
    assert wait_files(md, 0) == []


# ---- LOGINDISABLED ------------------------------------------------------------

def test_logindisabled_without_tls(inst):
    """A second youju-mra on the same instance with
    imap_login_disabled_without_tls = yes on its own port."""
    home = inst.path("mra-tls-only")
    os.makedirs(os.path.join(home, "etc"), exist_ok=True)
    os.makedirs(os.path.join(home, "run"), exist_ok=True)
    port = harness.free_port()
    with open(inst.conf_path) as f:
        conf = [line for line in f.read().splitlines()
                if not re.match(r"(imap|imaps|pop3|pop3s)_listen\b", line)]
    conf += [f"imap_listen = 127.0.0.1:{port}", "imaps_listen =",
             "pop3_listen =", "pop3s_listen =",
             f"run_directory = {home}/run",
             f"authd_socket = {inst.authd_socket}",
             f"log_file = {home}/maillog",
             f"config_directory = {inst.path('etc')}",
             "imap_login_disabled_without_tls = yes"]
    with open(os.path.join(home, "etc", "youju.cf"), "w") as f:
        f.write("\n".join(conf) + "\n")
    env = dict(inst.env, YOUJU_HOME=home)
    p = subprocess.Popen([inst.bin("youju-mra"), "-f"], env=env,
                         stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while True:
            try:
                # from another address: the server's own address counts
                # as secure, as in Dovecot
                m = _FromIMAP4("127.0.0.4", port)
                break
            except OSError:
                if time.time() > deadline or p.poll() is not None:
                    raise
                time.sleep(0.2)
        assert "LOGINDISABLED" in m.capabilities, m.capabilities
        assert "STARTTLS" in m.capabilities
        assert "AUTH=PLAIN" not in m.capabilities
        typ, data = m._simple_command("LOGIN", "x@extmail.org", "pw")
        assert typ == "NO", data
        assert data[0] == (b"[PRIVACYREQUIRED] Plaintext authentication "
                           b"disallowed on non-secure (SSL/TLS) "
                           b"connections."), data
        m.starttls(harness_ctx())
        assert "LOGINDISABLED" not in m.capabilities
        addr = user(inst, "tlsonly")
        m.login(addr, PASSWORD)
        m.logout()
    finally:
        p.terminate()
        p.wait(timeout=20)


class _FromIMAP4(imaplib.IMAP4):
    def __init__(self, src, port):
        self._src = src
        super().__init__("127.0.0.1", port, timeout=10)

    def _create_socket(self, timeout=None):
        import socket
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self._src, 0))


def harness_ctx():
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_pop3_does_not_offer_apop(inst):
    import poplib
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=15)
    assert b"<" not in p.getwelcome()   # no APOP timestamp (RFC 1939 7)
    assert "APOP" not in p.capa()
    p.quit()
