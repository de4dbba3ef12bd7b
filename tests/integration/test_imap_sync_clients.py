"""Real synchronisation clients against youju-mra (issue 17): mbsync
(isync) and OfflineIMAP copy a mailbox into local Maildirs; then a
private Dovecot 2.3 on the very same Maildir changes it the way another
server would (flags set and cleared, new messages, expunges, a keyword),
and a second run of each client must leave its local copy equal to the
server: the same messages (by Message-ID) with the same system flags.

The mailbox has YOUJU_SYNC_MESSAGES messages (300 in `make test`;
`YOUJU_SYNC_MESSAGES=10000 python3 tests/integration/run.py ... -k
test_imap_sync_clients` is the 10,000-message run docs/mra.md reports),
written straight into cur/ as any MDA would."""
import atexit
import email
import imaplib
import os
import pwd
import re
import subprocess
import tempfile
import time

from dovecot_peer import Dovecot

N = int(os.environ.get("YOUJU_SYNC_MESSAGES", "300"))
USER = "syncer@extmail.org"
PASSWORD = "sync-pw-1"
LOCAL, DOMAIN = USER.split("@")
FLAGS = {"\\Seen": "S", "\\Answered": "R", "\\Flagged": "F",
         "\\Draft": "D", "\\Deleted": "T"}


def _home(inst):
    return inst.path("mailbox", DOMAIN, LOCAL)


def _setup(inst):
    """The account, N messages in cur/ (a third seen), and a Dovecot on
    the same Maildir."""
    inst.sql(f"DELETE FROM mailbox WHERE username='{USER}'")
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{USER}', '{LOCAL}', '{{PLAIN}}{PASSWORD}', 'Sync', "
             f"'{DOMAIN}/{LOCAL}/Maildir/', '{DOMAIN}/{LOCAL}', '0S', "
             f"'{DOMAIN}', 1000, 1000, 1)")
    pw = pwd.getpwnam("vmail")
    md = os.path.join(_home(inst), "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    t0 = int(time.time()) - N
    for i in range(N):
        body = (f"From: sender{i % 37}@example.com\r\nTo: {USER}\r\n"
                f"Subject: message {i}\r\nMessage-ID: <sync{i}@test>\r\n"
                f"Date: Mon, 7 Dec 2026 00:00:00 +0000\r\n\r\n"
                f"body of message {i}\r\n" + "filler text\r\n" * (i % 20))
        name = f"{t0 + i}.M{i}P1.synctest:2,{'S' if i % 3 == 0 else ''}"
        p = os.path.join(md, "cur", name)
        with open(p, "w") as f:
            f.write(body)
        os.utime(p, (t0 + i, t0 + i))
    if os.geteuid() == 0:
        for root, dirs, files in os.walk(_home(inst)):
            for x in dirs + files:
                os.chown(os.path.join(root, x), pw.pw_uid, pw.pw_gid)
        os.chown(_home(inst), pw.pw_uid, pw.pw_gid)
    dv = Dovecot(inst.path("dovecot-sync"),
                 [(USER, PASSWORD, pw.pw_uid, pw.pw_gid, _home(inst))])
    atexit.register(dv.stop)
    dv.start()
    return dv


def _server_view(inst):
    """{message-id: set of flag letters} as youju-mra sees INBOX."""
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=60)
    m.login(USER, PASSWORD)
    m.select("INBOX", readonly=True)
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS "
                        "(MESSAGE-ID)])")
    assert typ == "OK", data
    view = {}
    for d in data:
        if not isinstance(d, tuple):
            continue
        flags = re.search(rb"FLAGS \(([^)]*)\)", d[0]).group(1).decode()
        mid = email.message_from_bytes(d[1])["Message-ID"].strip()
        view[mid] = {FLAGS[f] for f in flags.split() if f in FLAGS}
    m.logout()
    return view


def _local_view(box):
    """The same for a local Maildir written by a client."""
    view = {}
    for sub in ("cur", "new"):
        d = os.path.join(box, sub)
        for name in os.listdir(d):
            with open(os.path.join(d, name), "rb") as f:
                mid = email.message_from_binary_file(f)["Message-ID"]
            info = name.split(":2,", 1)[1] if ":2," in name else ""
            letters = {c for c in info if c in "SRFDT"}
            if "T" in letters:
                continue  # marked deleted locally: gone from the server
            view[mid.strip()] = letters
    return view


def _mbsync(inst, d):
    cfg = os.path.join(d, "mbsyncrc")
    if not os.path.exists(cfg):
        os.makedirs(os.path.join(d, "mb"))
        with open(cfg, "w") as f:
            f.write(f"""IMAPAccount youju
Host 127.0.0.1
Port {inst.ports['imap']}
User {USER}
Pass {PASSWORD}
SSLType None
Timeout 300
AuthMechs LOGIN

IMAPStore remote
Account youju

MaildirStore local
Path {d}/mb/
Inbox {d}/mb/INBOX

Channel inbox
Far :remote:INBOX
Near :local:INBOX
Create Near
Sync Pull
Expunge Near
SyncState *
""")
    r = subprocess.run(["mbsync", "-c", cfg, "inbox"], capture_output=True,
                       text=True, timeout=600, env=dict(os.environ, HOME=d))
    assert r.returncode == 0, r.stdout + r.stderr
    return os.path.join(d, "mb", "INBOX")


def _offlineimap(inst, d):
    cfg = os.path.join(d, "offlineimaprc")
    if not os.path.exists(cfg):
        os.makedirs(os.path.join(d, "oi"))
        with open(cfg, "w") as f:
            f.write(f"""[general]
accounts = youju
metadata = {d}/oi-meta
ui = basic

[Account youju]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {d}/oi

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {inst.ports['imap']}
remoteuser = {USER}
remotepass = {PASSWORD}
ssl = no
starttls = no
folderfilter = lambda name: name == 'INBOX'
""")
    r = subprocess.run(["offlineimap", "-c", cfg, "-o", "-u", "basic"],
                       capture_output=True, text=True, timeout=900,
                       env=dict(os.environ, HOME=d))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "ERROR" not in r.stdout + r.stderr, r.stdout[-3000:] + r.stderr
    return os.path.join(d, "oi", "INBOX")


def _dovecot_changes(dv):
    """Another server changes the Maildir: flags on and off, a keyword,
    new mail, expunges."""
    m = imaplib.IMAP4("127.0.0.1", dv.ports["imap"], timeout=120)
    m.login(USER, PASSWORD)
    typ, data = m.select("INBOX")
    assert typ == "OK" and int(data[0]) == N, data
    for seq in range(1, N + 1, max(1, N // 40)):
        m.store(str(seq), "+FLAGS", "(\\Flagged \\Answered)")
    m.store("1", "-FLAGS", "(\\Seen)")  # message 0 was seen
    m.store("2", "+FLAGS", "($Label1)")
    m.store("3:12", "+FLAGS", "(\\Deleted)")
    m.expunge()
    for k in range(15):
        typ, data = m.append("INBOX", "(\\Seen)" if k % 2 else None, None,
                             f"Subject: new {k}\r\nMessage-ID: "
                             f"<synced-new{k}@test>\r\n\r\nnew\r\n"
                             .encode())
        assert typ == "OK", data
    m.logout()


def test_mbsync_and_offlineimap_resync_after_dovecot(inst):
    dv = _setup(inst)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.monotonic()
        mb = _mbsync(inst, d)
        t1 = time.monotonic()
        oi = _offlineimap(inst, d)
        t2 = time.monotonic()
        print(f"first sync of {N} messages: mbsync {t1 - t0:.1f} s, "
              f"offlineimap {t2 - t1:.1f} s")
        server = _server_view(inst)
        assert len(server) == N
        assert _local_view(mb) == server
        assert _local_view(oi) == server
        _dovecot_changes(dv)
        server = _server_view(inst)
        assert len(server) == N - 10 + 15
        assert "<sync2@test>" not in server
        assert server["<sync0@test>"] == {"F", "R"}, server["<sync0@test>"]
        assert server["<synced-new1@test>"] == {"S"}
        t0 = time.monotonic()
        _mbsync(inst, d)
        t1 = time.monotonic()
        _offlineimap(inst, d)
        t2 = time.monotonic()
        print(f"resync: mbsync {t1 - t0:.1f} s, offlineimap "
              f"{t2 - t1:.1f} s")
        assert _local_view(mb) == server
        assert _local_view(oi) == server
    dv.stop()
