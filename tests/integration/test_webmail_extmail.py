"""A Maildir that ExtMail used opens in youju's webmail and IMAP with the
right flags and is not damaged (issue 12, docs/webmail.md "Moving from
ExtMail").

The fixture is what ExtMail (extmail/libs/Ext/Storage/Maildir.pm,
App/*.pm; /work/shared/reference/extmail-compat.md §5) leaves in a
Maildir, written here by hand: maildrop's file names; the ":2,A" letter
ExtMail adds when it moves a message with an attachment from new/ to
cur/ (a capital that is not a Maildir flag, kept by every rename); the
per-folder caches extmail-curcache.db (Berkeley DB) and extmail-curcnt
("size seen new"); user.cf, signature.cf, abook.cf, group.cf,
pop3config.cf, pop3uidl.cf, whitelist.cf, blacklist.cf and quotawarn in
the Maildir; the system folders with their maildirfolder marker; a user
folder in IMAP's modified UTF-7; fileman/ with its filesize; maildrop's
.mailfilter in the home directory; a Maildir++ maildirsize.  Then the
mailbox is used through webmail and IMAP, and every ExtMail file must
still hold its bytes and every message its letters."""
import base64
import hashlib
import os
import pwd
import re

from test_imap_state import maildir, user
from test_webmail_api import Client, imap, ok

HOST = "mail.example.com"
ATT = ("From: Zhang San <zs@example.cn>\r\nTo: em@extmail.org\r\n"
       "Subject: =?GB2312?B?uL28/g==?=\r\n"
       "Date: Mon, 02 Mar 2026 10:00:00 +0800\r\nMIME-Version: 1.0\r\n"
       "Content-Type: multipart/mixed; boundary=\"=_ext\"\r\n\r\n"
       "--=_ext\r\nContent-Type: text/plain; charset=GB2312\r\n\r\n"
       "\xc4\xe3\xba\xc3\r\n"
       "--=_ext\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\n"
       "Content-Disposition: attachment; filename=\"a.bin\"\r\n"
       "Content-Transfer-Encoding: base64\r\n\r\n"
       + base64.b64encode(b"\x00\x01extmail\xff").decode() + "\r\n"
       "--=_ext--\r\n").encode("latin-1")


def plain(subject, n):
    return (f"From: Li Si <ls@example.cn>\r\nTo: em@extmail.org\r\n"
            f"Subject: {subject}\r\n"
            f"Date: Tue, 0{n} Mar 2026 10:00:00 +0800\r\n"
            f"Message-ID: <ext{n}@example.cn>\r\n\r\nbody {n}\r\n").encode()


def utf7(name):
    """IMAP's modified UTF-7 (RFC 3501 §5.1.3) of a non-ASCII name."""
    b = base64.b64encode(name.encode("utf-16-be")).decode().rstrip("=")
    return "&" + b.replace("/", ",") + "-"


def mdname(i, data, info):
    base = (f"117{i}012345.M{i}23456P2345V000000000000FD01I0023456{i}_0."
            f"{HOST},S={len(data)}")
    return base + (":2," + info if info is not None else "")


def build(md, home):
    """ExtMail's Maildir; returns {path: bytes} of its own files."""
    own = {}

    def put(path, data, record=True):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        if record:
            own[path] = data
    # INBOX: attachment unread (A), attachment read (AS), answered (RS),
    # answered and flagged (AFRS), and one still in new/
    msgs = [("A", ATT), ("AS", ATT), ("RS", plain("answered", 3)),
            ("AFRS", plain("important", 4))]
    files = []
    for i, (info, data) in enumerate(msgs, 1):
        p = os.path.join(md, "cur", mdname(i, data, info))
        put(p, data, record=False)
        files.append(p)
    put(os.path.join(md, "new", mdname(5, plain("fresh", 5), None)),
        plain("fresh", 5), record=False)
    os.makedirs(os.path.join(md, "tmp"), exist_ok=True)
    put(os.path.join(md, "extmail-curcache.db"),
        b"\x00\x06\x15\x61" + bytes(range(256)) * 16)
    put(os.path.join(md, "extmail-curcnt"), b"2048 3 2\n")
    sent = plain("sent by extmail", 6)
    for box in ("Sent", "Drafts", "Trash", "Junk", utf7("工作")):
        d = os.path.join(md, "." + box)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        put(os.path.join(d, "maildirfolder"), b"")
        put(os.path.join(d, "extmail-curcnt"), b"0 0 0\n")
    put(os.path.join(md, ".Sent", "cur", mdname(6, sent, "S")), sent,
        record=False)
    work = plain("filed by maildrop", 7)
    put(os.path.join(md, "." + utf7("工作"), "cur", mdname(7, work, "AS")),
        work, record=False)
    put(os.path.join(md, ".Sent", "extmail-curcache.db"), b"\x00\x06BTREE")
    put(os.path.join(md, "user.cf"),
        b"nick_name = Old Zhang\npage_size = 20\nsort = Dt\n"
        b"timezone = +0800\nlang = zh_CN\ntrylocal = 1\nshow_html = 1\n"
        b"delmode = delete\nccsent = 1\n")
    put(os.path.join(md, "signature.cf"), "-- \n老张\n".encode())
    put(os.path.join(md, "abook.cf"),
        "王五,ww@example.cn,,,13800000000,friends\n".encode())
    put(os.path.join(md, "group.cf"), b"friends\n")
    put(os.path.join(md, "pop3config.cf"), b"pop.example.cn:110:u:p\n")
    put(os.path.join(md, "pop3uidl.cf"), b"abc123\n")
    put(os.path.join(md, "whitelist.cf"), b"boss@example.cn\n")
    put(os.path.join(md, "blacklist.cf"), b"spam@example.net\n")
    put(os.path.join(md, "quotawarn"), b"")
    put(os.path.join(md, "fileman", "notes.txt"), b"kept in netdisk\n")
    put(os.path.join(md, "fileman", "filesize"),
        b"10485760S\n16 1\n", record=False)
    put(os.path.join(home, ".mailfilter"),
        b"# Generated by ExtMail\nif (/^Subject:.*SPAM/)\n"
        b"{\n  to \"$HOME/Maildir/.Junk/\"\n}\n")
    total = sum(os.path.getsize(p) for p in files) + len(plain("fresh", 5)) \
        + len(sent) + len(work)
    put(os.path.join(md, "maildirsize"),
        f"5242880S\n{total} 7\n".encode(), record=False)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("vmail")
        # the domain directory too: makedirs made it as root when this is
        # the first module of a run, and later mailboxes are created in it
        os.chown(os.path.dirname(home), pw.pw_uid, pw.pw_gid)
        for root, dirs, fs in os.walk(home):
            os.chown(root, pw.pw_uid, pw.pw_gid)
            for f in fs:
                os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)
    return own


def infos(d):
    """{subject-less base name: info letters} of the files in d/cur."""
    out = {}
    for n in os.listdir(os.path.join(d, "cur")):
        base, _, info = n.partition(":2,")
        out[base] = info
    return out


def imap_flags(m, box):
    typ, _ = m.select(box)
    assert typ == "OK", box
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    out = {}
    for line in data:
        if not line:
            continue
        s = line.decode() if isinstance(line, bytes) else line[0].decode()
        mm = re.search(r"UID (\d+) FLAGS \(([^)]*)\)", s) or \
            re.search(r"FLAGS \(([^)]*)\) UID (\d+)", s)
        if mm and s.find("UID") < s.find("FLAGS"):
            out[int(mm.group(1))] = sorted(
                f for f in mm.group(2).split() if f != "\\Recent")
        elif mm:
            out[int(mm.group(2))] = sorted(
                f for f in mm.group(1).split() if f != "\\Recent")
    return out


def web_flags(c, box):
    j = ok(c.call("GET", "/api/messages", query={"folder": box}))
    return {x["uid"]: sorted(x["flags"]) for x in j["messages"]}, j


def test_extmail_maildir(inst):
    addr = user(inst, "wmextmail")
    md = maildir(inst, addr)
    home = os.path.dirname(md)
    own = build(md, home)
    before = infos(md)

    # webmail first, as an ExtMail user coming over would
    c = Client(inst)
    ok(c.login(addr))
    names = [f["name"] for f in ok(c.call("GET", "/api/folders"))]
    assert names[0] == "INBOX" and sorted(names[1:]) == sorted(
        ["Sent", "Drafts", "Trash", "Junk", "工作"]), names
    folders = {f["name"]: f for f in ok(c.call("GET", "/api/folders"))}
    assert folders["INBOX"]["total"] == 5, folders["INBOX"]
    assert folders["INBOX"]["unseen"] == 2, folders["INBOX"]  # A, new/
    assert folders["工作"]["total"] == 1 and folders["Sent"]["total"] == 1
    wf, j = web_flags(c, "INBOX")
    by_subj = {x["subject"]: x for x in j["messages"]}
    assert sorted(x["subject"] for x in j["messages"]) == [
        "answered", "fresh", "important", "附件", "附件"], j
    got = sorted(sorted(x["flags"]) for x in j["messages"])
    assert got == sorted([[], ["\\Seen"], ["\\Answered", "\\Seen"],
                          ["\\Answered", "\\Flagged", "\\Seen"], []]), got
    assert by_subj["附件"]["attachments"] is True
    # no ExtMail cache shows up as mail, the letters are as they were
    assert infos(md) == before

    # IMAP sees the same UIDs and flags
    m = imap(inst, addr)
    assert imap_flags(m, "INBOX") == wf, (imap_flags(m, "INBOX"), wf)
    assert imap_flags(m, utf7("工作")) == web_flags(c, "工作")[0]

    # reading: GB2312 subject and text, the attachment's bytes
    att_uid = [x["uid"] for x in j["messages"]
               if x["subject"] == "附件" and x["flags"] == []][0]
    j = ok(c.call("GET", "/api/message", query={"folder": "INBOX",
                                                 "uid": att_uid}))
    assert j["text"].strip() == "你好", j["text"]
    st, body, _ = c.call("GET", j["attachments"][0]["url"])
    assert st == 200 and body == b"\x00\x01extmail\xff"

    # flags set in webmail keep ExtMail's A; set over IMAP, seen in webmail
    ok(c.call("POST", "/api/flags", {"folder": "INBOX", "uids": [att_uid],
                                     "add": ["\\Seen"]}))
    assert sorted(infos(md).values()).count("AS") == 2, infos(md)
    m.select("INBOX")
    seen_att = [u for u, f in wf.items() if f == ["\\Seen"]][0]
    typ, _ = m.uid("STORE", str(seen_att), "+FLAGS", "(\\Flagged)")
    assert typ == "OK"
    assert "AFS" in infos(md).values(), infos(md)
    wf2, _ = web_flags(c, "INBOX")
    assert wf2[seen_att] == ["\\Flagged", "\\Seen"], wf2
    assert imap_flags(m, "INBOX") == wf2

    # move to Trash keeps the letters
    ok(c.call("POST", "/api/delete", {"folder": "INBOX",
                                      "uids": [seen_att]}))
    assert list(infos(os.path.join(md, ".Trash")).values()) == ["AFS"]

    # ExtMail's settings, signature, address book and NetDisk are read
    p = ok(c.call("GET", "/api/prefs"))
    assert p["name"] == "Old Zhang" and p["page_size"] == 20, p
    assert p["lang"] == "zh_CN" and p["signature"] == "-- \n老张\n", p
    assert p["local_charset"] == "GB18030", p
    ab = ok(c.call("GET", "/api/contacts"))
    assert [x["email"] for x in ab["contacts"]] == ["ww@example.cn"], ab
    nd = ok(c.call("GET", "/api/netdisk"))
    assert [e["name"] for e in nd["entries"]] == ["notes.txt"], nd
    st, body, _ = c.call("GET", "/api/netdisk/file",
                         query={"path": "notes.txt"})
    assert body == b"kept in netdisk\n"
    m.logout()

    # nothing of ExtMail's was changed or removed
    for path, data in own.items():
        with open(path, "rb") as f:
            assert f.read() == data, path
    # ExtMail's filesize is rewritten in its own format
    fs = open(os.path.join(md, "fileman", "filesize")).read()
    assert re.fullmatch(r"10485760S\n16 1\n", fs), fs
    # and every message file is still a message with its bytes
    for box in ("", ".Trash", "." + utf7("工作"), ".Sent"):
        for sub in ("cur", "new"):
            for n in os.listdir(os.path.join(md, box, sub)):
                data = open(os.path.join(md, box, sub, n), "rb").read()
                size = int(re.search(r",S=(\d+)", n).group(1))
                assert len(data) == size, n
