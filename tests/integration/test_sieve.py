"""Sieve at delivery (issue 15): a mailbox's active script (Pigeonhole's
layout, HOME/.dovecot.sieve -> sieve/NAME.sieve) files into folders
(with :create and :flags), redirects to another mailbox, answers with
vacation once per sender (never to a List-Id or Precedence: bulk message),
rejects with a DSN, discards, and a broken script keeps the mail, logs and
tells the user once.  Mail goes in over SMTP (smtplib), results are read
from the Maildirs and the maillog."""
import os
import pwd
import re
import smtplib
import time
import uuid

import deliverylib

HOST = "127.0.0.1"
DOM = "extmail.org"


def _vmail(path):
    if os.geteuid() == 0:
        pw = pwd.getpwnam("vmail")
        os.lchown(path, pw.pw_uid, pw.pw_gid)


def add_mailbox(inst, local):
    user = f"{local}@{DOM}"
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{user}', '{local}', '', '{local}', "
             f"'{DOM}/{local}/Maildir/', '{DOM}/{local}', '5242880S', "
             f"'{DOM}', 1000, 1000, 1)")
    return user


def home_of(inst, local, dom=DOM):
    return inst.path("mailbox", dom, local)


def set_script(inst, local, text, name="main", dom=DOM):
    """Writes HOME/sieve/NAME.sieve and points .dovecot.sieve at it, as
    Pigeonhole (and youju's ManageSieve) lay them out."""
    home = home_of(inst, local, dom)
    for d in (os.path.dirname(home), home, os.path.join(home, "sieve")):
        os.makedirs(d, exist_ok=True)
        _vmail(d)
    path = os.path.join(home, "sieve", f"{name}.sieve")
    with open(path, "w") as f:
        f.write(text)
    _vmail(path)
    link = os.path.join(home, ".dovecot.sieve")
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(f"sieve/{name}.sieve", link)
    _vmail(link)


def send(inst, rcpt, sender="someone@example.net", subject="hello",
         extra="", body="hello\n"):
    token = uuid.uuid4().hex
    msg = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: {subject} "
           f"{token}\r\nMessage-Id: <{token}@example.net>\r\n{extra}\r\n"
           f"{body}")
    with smtplib.SMTP(HOST, inst.ports["smtp"], timeout=20) as s:
        s.sendmail(sender, [rcpt], msg.encode())
    return token


def find(inst, local, token, folder="", timeout=15, count=1):
    """Messages holding token in a folder ("" = INBOX, else ".Name") of
    local's Maildir, new/ and cur/."""
    base = os.path.join(home_of(inst, local), "Maildir", folder)
    return deliverylib.wait_token([os.path.join(base, "new"),
                                   os.path.join(base, "cur")],
                                  token, timeout, count)


def test_sieve_fileinto(inst):
    add_mailbox(inst, "sv-file")
    set_script(inst, "sv-file",
               'require ["fileinto", "imap4flags"];\n'
               'if header :contains "subject" "report" {\n'
               '    fileinto :flags "\\\\Flagged" "Junk";\n'
               '}\n')
    t1 = send(inst, f"sv-file@{DOM}", subject="weekly report")
    hits = find(inst, "sv-file", t1, ".Junk")
    assert len(hits) == 1, hits
    path, data = hits[0]
    assert re.search(r":2,[A-Z]*F", os.path.basename(path)), path
    assert data.startswith(b"Return-Path: <someone@example.net>\n"
                           b"Delivered-To: sv-file@extmail.org\n"), data[:200]
    assert find(inst, "sv-file", t1, timeout=0) == []
    # a message the script does not file stays in INBOX
    t2 = send(inst, f"sv-file@{DOM}", subject="lunch")
    assert len(find(inst, "sv-file", t2)) == 1
    assert find(inst, "sv-file", t2, ".Junk", timeout=0) == []


def test_sieve_fileinto_create(inst):
    add_mailbox(inst, "sv-create")
    set_script(inst, "sv-create",
               'require ["fileinto", "mailbox", "variables"];\n'
               'if header :matches "subject" "[*] *" {\n'
               '    fileinto :create "lists/${1}";\n'
               '}\n'
               'if header :contains "subject" "nocreate" {\n'
               '    fileinto "Missing";\n'
               '}\n')
    t1 = send(inst, f"sv-create@{DOM}", subject="[ietf] draft")
    hits = find(inst, "sv-create", t1, ".lists.ietf")
    assert len(hits) == 1, os.listdir(os.path.join(home_of(inst, "sv-create"),
                                                   "Maildir"))
    assert os.path.exists(os.path.join(home_of(inst, "sv-create"), "Maildir",
                                       ".lists.ietf", "maildirfolder"))
    # without :create a missing folder is not made: the mail is kept
    since = inst.log_size()
    t2 = send(inst, f"sv-create@{DOM}", subject="nocreate")
    assert len(find(inst, "sv-create", t2)) == 1
    assert not os.path.exists(os.path.join(home_of(inst, "sv-create"),
                                           "Maildir", ".Missing"))
    inst.wait_log(r"sieve: to=<sv-create@extmail.org>, no folder Missing",
                  since=since)


def test_sieve_redirect(inst):
    add_mailbox(inst, "sv-redir")
    add_mailbox(inst, "sv-target")
    set_script(inst, "sv-redir", f'redirect "sv-target@{DOM}";\n')
    since = inst.log_size()
    t = send(inst, f"sv-redir@{DOM}", sender="orig@example.net")
    hits = find(inst, "sv-target", t)
    assert len(hits) == 1
    data = hits[0][1]
    # the original envelope sender is kept; Delivered-To of the first
    # mailbox travels with the message (loop detection)
    assert data.startswith(b"Return-Path: <orig@example.net>\n"
                           b"Delivered-To: sv-target@extmail.org\n"), data[:300]
    assert b"Delivered-To: sv-redir@extmail.org\n" in data
    assert find(inst, "sv-redir", t, timeout=0) == []
    inst.wait_log(r"sieve: to=<sv-redir@extmail.org>, redirected to "
                  r"<sv-target@extmail.org>", since=since)
    # :copy keeps one here too
    set_script(inst, "sv-redir",
               f'require "copy"; redirect :copy "sv-target@{DOM}";\n')
    t = send(inst, f"sv-redir@{DOM}")
    assert len(find(inst, "sv-target", t)) == 1
    assert len(find(inst, "sv-redir", t)) == 1


def test_sieve_redirect_loop(inst):
    """Two mailboxes redirecting to each other: the message comes back
    with the first one's Delivered-To and bounces as a loop."""
    add_mailbox(inst, "sv-loopa")
    add_mailbox(inst, "sv-loopb")
    add_mailbox(inst, "sv-loopsender")
    set_script(inst, "sv-loopa", f'redirect "sv-loopb@{DOM}";\n')
    set_script(inst, "sv-loopb", f'redirect "sv-loopa@{DOM}";\n')
    since = inst.log_size()
    t = send(inst, f"sv-loopa@{DOM}", sender=f"sv-loopsender@{DOM}")
    inst.wait_log(r"5\.4\.6", since=since, timeout=20)
    bounce = find(inst, "sv-loopsender", t, timeout=20)
    assert len(bounce) == 1
    assert b"mail forwarding loop" in bounce[0][1]


VACATION = ('require "vacation";\n'
            'vacation :days 1 :subject "Away" "I am away until Monday.";\n')


def test_sieve_vacation(inst):
    add_mailbox(inst, "sv-away")
    friend = add_mailbox(inst, "sv-friend")
    set_script(inst, "sv-away", VACATION)
    since = inst.log_size()
    t1 = send(inst, f"sv-away@{DOM}", sender=friend)
    assert len(find(inst, "sv-away", t1)) == 1  # vacation keeps
    reply = find(inst, "sv-friend", "I am away until Monday", timeout=20)
    assert len(reply) == 1, reply
    data = reply[0][1]
    assert data.startswith(b"Return-Path: <>\n"), data[:200]
    assert b"Subject: Away\n" in data
    assert b"Auto-Submitted: auto-replied" in data
    assert f"In-Reply-To: <{t1}@example.net>".encode() in data
    # the same sender again within the period: no second reply
    t2 = send(inst, f"sv-away@{DOM}", sender=friend)
    assert len(find(inst, "sv-away", t2)) == 1
    inst.wait_log(r"sieve: to=<sv-away@extmail.org>, vacation not sent: "
                  r"already answered", since=since)
    assert len(find(inst, "sv-friend", "I am away until Monday",
                    timeout=1)) == 1


def test_sieve_vacation_not_to_lists(inst):
    add_mailbox(inst, "sv-away2")
    friend = add_mailbox(inst, "sv-friend2")
    set_script(inst, "sv-away2", VACATION)
    since = inst.log_size()
    t1 = send(inst, f"sv-away2@{DOM}", sender=friend,
              extra="List-Id: <devel.lists.example.net>\r\n")
    assert len(find(inst, "sv-away2", t1)) == 1
    inst.wait_log(r"vacation not sent: mailing list", since=since)
    t2 = send(inst, f"sv-away2@{DOM}", sender=friend,
              extra="Precedence: bulk\r\n")
    assert len(find(inst, "sv-away2", t2)) == 1
    inst.wait_log(r"vacation not sent: Precedence", since=since)
    # mail that does not name the user in To/Cc (a Bcc) is not answered
    token = uuid.uuid4().hex
    msg = (f"From: <{friend}>\r\nTo: <someone@example.net>\r\n"
           f"Subject: bcc {token}\r\n\r\nhi\r\n")
    with smtplib.SMTP(HOST, inst.ports["smtp"], timeout=20) as s:
        s.sendmail(friend, [f"sv-away2@{DOM}"], msg.encode())
    assert len(find(inst, "sv-away2", token)) == 1
    inst.wait_log(r"vacation not sent: none of the user's addresses",
                  since=since)
    assert find(inst, "sv-friend2", "I am away", timeout=1) == []


def test_sieve_reject(inst):
    add_mailbox(inst, "sv-reject")
    friend = add_mailbox(inst, "sv-rsender")
    set_script(inst, "sv-reject",
               'require "reject";\n'
               'if header :contains "subject" "buy" {\n'
               '    reject "I do not want this.";\n'
               '}\n')
    since = inst.log_size()
    t = send(inst, f"sv-reject@{DOM}", sender=friend, subject="buy now")
    inst.wait_log(r"status=bounced \(rejected by the recipient's filter: "
                  r"I do not want this\.\)", since=since, timeout=20)
    dsn = find(inst, "sv-rsender", t, timeout=20)
    assert len(dsn) == 1
    assert b"5.7.1" in dsn[0][1]
    assert find(inst, "sv-reject", t, timeout=0) == []


def test_sieve_discard(inst):
    add_mailbox(inst, "sv-discard")
    set_script(inst, "sv-discard",
               'if address :is "from" "spam@example.net" { discard; }\n')
    since = inst.log_size()
    t = send(inst, f"sv-discard@{DOM}", sender="spam@example.net")
    inst.wait_log(r"to=<sv-discard@extmail.org>.*status=sent "
                  r"\(discarded by sieve\)", since=since, timeout=20)
    assert find(inst, "sv-discard", t, timeout=0) == []
    t2 = send(inst, f"sv-discard@{DOM}", sender="friend@example.net")
    assert len(find(inst, "sv-discard", t2)) == 1


def test_sieve_syntax_error_keeps_mail(inst):
    add_mailbox(inst, "sv-broken")
    set_script(inst, "sv-broken",
               'require "fileinto";\nif header :contains "subject" "x"\n'
               '    fileinto "Junk";\n')
    since = inst.log_size()
    t1 = send(inst, f"sv-broken@{DOM}")
    assert len(find(inst, "sv-broken", t1)) == 1
    inst.wait_log(r"sieve: to=<sv-broken@extmail.org>, script .* failed, "
                  r"message kept: line 2: 'if' needs a block", since=since)
    t2 = send(inst, f"sv-broken@{DOM}")
    assert len(find(inst, "sv-broken", t2)) == 1
    # the user is told once, not per message
    notices = find(inst, "sv-broken", "Your mail filter (Sieve script) has "
                   "an error", timeout=2, count=2)
    assert len(notices) == 1, notices
    assert b"line 2: 'if' needs a block" in notices[0][1]


def test_sieve_cli_check(inst):
    good = inst.path("good.sieve")
    bad = inst.path("bad.sieve")
    with open(good, "w") as f:
        f.write('require ["fileinto"];\nfileinto "x";\n')
    with open(bad, "w") as f:
        f.write('require ["regex"];\n')
    r = inst.youju("sieve", "check", good)
    assert r.returncode == 0 and r.stdout == f"{good}: ok\n", r
    r = inst.youju("sieve", "check", good, bad)
    assert r.returncode == 1, r
    assert f'{bad}: line 1: unsupported extension "regex"' in r.stdout, r
    r = inst.youju("sieve", "extensions")
    assert r.returncode == 0 and "vacation-seconds" in r.stdout, r


def test_sieve_import_extmail(inst):
    """`youju sieve import` turns ExtMail's .mailfilter (its ## blocks)
    and blacklist.cf into an active script that delivery then runs."""
    add_mailbox(inst, "sv-extmail")
    home = home_of(inst, "sv-extmail")
    md = os.path.join(home, "Maildir")
    os.makedirs(md, exist_ok=True)
    with open(os.path.join(home, ".mailfilter"), "w") as f:
        f.write("#MFMAILDROP=2\n#*blacklist\n"
                "##Name:reports\n##From:\n##Recipient:\n"
                "##Subject:quarterly\n##Folder:.Reports\n\n"
                "if (($SUBJECT =~/.*quarterly.*/))\n{\n"
                "  to \"$HOME/Maildir/.Reports/.\"\n}\n")
    with open(os.path.join(md, "blacklist.cf"), "w") as f:
        f.write("pest@example.com\n")
    for d, _, files in os.walk(os.path.dirname(home)):
        _vmail(d)
        for n in files:
            _vmail(os.path.join(d, n))
    r = inst.youju("sieve", "import", home)
    assert r.returncode == 0, r
    assert "2 rules imported into sieve/extmail.sieve (active)" in r.stdout
    assert os.readlink(os.path.join(home, ".dovecot.sieve")) == \
        "sieve/extmail.sieve"
    # the folder exists in ExtMail's Maildir already
    os.makedirs(os.path.join(md, ".Reports", "new"), exist_ok=True)
    for sub in ("", "new", "cur", "tmp"):
        p = os.path.join(md, ".Reports", sub)
        os.makedirs(p, exist_ok=True)
        _vmail(p)
    t1 = send(inst, f"sv-extmail@{DOM}", subject="quarterly numbers")
    assert len(find(inst, "sv-extmail", t1, ".Reports")) == 1
    since = inst.log_size()
    t2 = send(inst, f"sv-extmail@{DOM}", sender="pest@example.com")
    inst.wait_log(r"to=<sv-extmail@extmail.org>.*discarded by sieve",
                  since=since)
    assert find(inst, "sv-extmail", t2, timeout=0) == []


def test_sieve_xloop_skips_script(inst):
    """A message whose X-Loop: names the mailbox (it came back through a
    forward) is delivered without running the script again."""
    add_mailbox(inst, "sv-xloop")
    set_script(inst, "sv-xloop", 'redirect "elsewhere@example.net";\n')
    since = inst.log_size()
    t = send(inst, f"sv-xloop@{DOM}",
             extra=f"X-Loop: sv-xloop@{DOM}\r\n")
    assert len(find(inst, "sv-xloop", t)) == 1
    inst.wait_log(r"sieve: to=<sv-xloop@extmail.org>, X-Loop names the "
                  r"mailbox, script not run", since=since)


def test_sieve_compile_cache_sees_edits(inst):
    """The delivery keeps compiled scripts (mta/sieve_cache.c): a script
    old enough to be kept is used for several deliveries, and an edit in
    place of the same size (same inode) is seen at the next one."""
    add_mailbox(inst, "sv-cache")
    a = ('require ["fileinto", "mailbox"];\n'
         'fileinto :create "AAAA";\n')
    b = a.replace("AAAA", "BBBB")
    set_script(inst, "sv-cache", a)
    path = os.path.join(home_of(inst, "sv-cache"), "sieve", "main.sieve")
    old = time.time() - 60
    os.utime(path, (old, old))
    for _ in range(2):
        t = send(inst, f"sv-cache@{DOM}")
        assert len(find(inst, "sv-cache", t, ".AAAA")) == 1
    ino = os.stat(path).st_ino
    with open(path, "r+") as f:
        f.write(b)
    assert os.stat(path).st_ino == ino and os.path.getsize(path) == len(a)
    t = send(inst, f"sv-cache@{DOM}")
    assert len(find(inst, "sv-cache", t, ".BBBB")) == 1, \
        "the edited script was not used"
