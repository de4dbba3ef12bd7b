"""youju-mra and Dovecot on the same Maildir++ (issue 6, DESIGN §9: "a
mailbox moves between youju and Dovecot without conversion").

A private Debian Dovecot 2.3 (tests/integration/dovecot_peer.py) serves the
Maildir of one test mailbox on its own loopback ports, as vmail, with the
Maildir++ quota backend.  Mail delivered by youju-mta and flagged through
youju-mra must look the same from Dovecot (UIDs, UIDVALIDITY, flags, sizes);
mail appended, flagged and foldered through Dovecot must look the same from
youju-mra; the POP3 UIDLs of both servers agree; and the maildirsize usage
both keep agrees with Dovecot's own recount.  Real clients only: imaplib,
poplib, smtplib, doveadm.
"""
import atexit
import imaplib
import os
import poplib
import pwd
import re
import smtplib
import time

from dovecot_peer import Dovecot

USER = "interop@extmail.org"
PASSWORD = "interop-pw1"
LOCAL, DOMAIN = USER.split("@")

_dv = []


def _home(inst):
    return inst.path("mailbox", DOMAIN, LOCAL)


def _maildir(inst):
    return os.path.join(_home(inst), "Maildir")


def dovecot(inst):
    """The module's Dovecot, started at first use (and the mailbox row)."""
    if _dv:
        return _dv[0]
    inst.sql("DELETE FROM mailbox WHERE username='%s'" % USER)
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{USER}', '{LOCAL}', '{{PLAIN}}{PASSWORD}', 'Interop', "
             f"'{DOMAIN}/{LOCAL}/Maildir/', '{DOMAIN}/{LOCAL}', '5242880S', "
             f"'{DOMAIN}', 1000, 1000, 1)")
    pw = pwd.getpwnam("vmail")
    dv = Dovecot(inst.path("dovecot"),
                 [(USER, PASSWORD, pw.pw_uid, pw.pw_gid, _home(inst))])
    _dv.append(dv)
    atexit.register(dv.stop)
    dv.start()
    return dv


def yimap(inst):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=30)
    m.login(USER, PASSWORD)
    return m


def dimap(dv):
    m = imaplib.IMAP4("127.0.0.1", dv.ports["imap"], timeout=30)
    m.login(USER, PASSWORD)
    return m


def select(m, box="INBOX"):
    typ, data = m.select(box)
    assert typ == "OK", (box, data)
    typ, v = m.response("UIDVALIDITY")
    return int(data[0]), int(v[0])


def view(m, box="INBOX"):
    """{uid: (frozenset of flags without \\Recent, RFC822.SIZE, subject)}
    and UIDVALIDITY of box, as the server m reports them."""
    n, uidvalidity = select(m, box)
    out = {}
    if n == 0:
        return out, uidvalidity
    typ, data = m.uid("FETCH", "1:*", "(FLAGS RFC822.SIZE "
                      "BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK", data
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta = item[0].decode()
        uid = int(re.search(r"UID (\d+)", meta).group(1))
        flags = re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split()
        size = int(re.search(r"RFC822\.SIZE (\d+)", meta).group(1))
        subj = item[1].decode().strip()
        out[uid] = (frozenset(f for f in flags if f != "\\Recent"), size,
                    subj)
    return out, uidvalidity


def keywords_supported(m):
    """True when the server keeps keywords (PERMANENTFLAGS has \\*)."""
    typ, v = m.response("PERMANENTFLAGS")
    return bool(v and v[0] and b"\\*" in v[0])


def system_only(v):
    return {u: (frozenset(f for f in fl if f.startswith("\\")), sz, s)
            for u, (fl, sz, s) in v.items()}


def wait_files(path, n, timeout=30):
    deadline = time.time() + timeout
    while True:
        got = 0
        for sub in ("new", "cur"):
            p = os.path.join(path, sub)
            if os.path.isdir(p):
                got += len([x for x in os.listdir(p) if not
                            x.startswith(".")])
        if got >= n:
            return got
        if time.time() > deadline:
            raise AssertionError(f"{path}: {got} of {n} messages")
        time.sleep(0.1)


# ---- youju writes, Dovecot reads -------------------------------------------

def test_interop_youju_delivery_and_flags_seen_by_dovecot(inst):
    dv = dovecot(inst)
    # the first login creates the Maildir: parallel first deliveries into
    # a missing Maildir race in youju-mta (deferred, retried later)
    yimap(inst).logout()
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        for i in range(1, 5):
            s.sendmail("alice@example.com", [USER],
                       f"From: alice@example.com\r\nTo: {USER}\r\n"
                       f"Subject: interop {i}\r\n\r\nbody {i}\r\n"
                       + "line\r\n" * (i * 20))
    wait_files(_maildir(inst), 4)
    m = yimap(inst)
    # CONDSTORE on: youju-modseq is written beside dovecot-uidlist, and
    # Dovecot must find nothing wrong with it (test_interop_dovecot_log_clean)
    typ, data = m._simple_command("ENABLE", "CONDSTORE")
    assert typ == "OK", data
    v, _ = view(m)
    assert len(v) == 4, v
    uids = sorted(v)
    m.uid("STORE", str(uids[0]), "+FLAGS", r"(\Seen \Flagged)")
    m.uid("STORE", str(uids[1]), "+FLAGS", r"(\Answered \Seen)")
    m.uid("STORE", str(uids[2]), "+FLAGS", r"(\Deleted)")
    typ, _ = m.create("FromYouju")
    assert typ == "OK"
    typ, data = m.append("FromYouju", r"(\Draft \Seen)", None,
                         b"Subject: draft by youju\r\n\r\ntext\r\n")
    assert typ == "OK", data
    ymine, yvalidity = view(m)
    yfolder, yfvalidity = view(m, "FromYouju")
    m.logout()
    assert os.path.exists(os.path.join(_maildir(inst), "youju-modseq"))
    assert ymine[uids[0]][0] == {"\\Seen", "\\Flagged"}
    assert ymine[uids[2]][0] == {"\\Deleted"}

    d = dimap(dv)
    dmine, dvalidity = view(d)
    dfolder, dfvalidity = view(d, "FromYouju")
    d.logout()
    assert dvalidity == yvalidity and dfvalidity == yfvalidity
    assert dmine == ymine, (dmine, ymine)
    assert dfolder == yfolder, (dfolder, yfolder)
    assert dfolder[min(dfolder)][0] == {"\\Draft", "\\Seen"}


# ---- Dovecot writes, youju reads -------------------------------------------

def test_interop_dovecot_append_flags_folders_seen_by_youju(inst):
    dv = dovecot(inst)
    d = dimap(dv)
    select(d)
    typ, data = d.append("INBOX", r"(\Seen)", None,
                         b"Subject: by dovecot 1\r\n\r\nhello\r\n")
    assert typ == "OK", data
    d.append("INBOX", r"(\Flagged $Label1)", None,
             b"Subject: by dovecot 2\r\n\r\nhello again\r\n")
    assert d.create("FromDovecot")[0] == "OK"
    assert d.create("FromDovecot.Sub")[0] == "OK"
    d.append("FromDovecot", r"(\Answered)", None,
             b"Subject: in a dovecot folder\r\n\r\nx\r\n")
    d.append("FromDovecot.Sub", None, None,
             b"Subject: in a dovecot subfolder\r\n\r\ny\r\n")
    n, _ = select(d)
    typ, data = d.uid("SEARCH", "ALL")
    uids = [int(x) for x in data[0].split()]
    # change flags youju set, and expunge the message youju \Deleted
    d.uid("STORE", str(uids[0]), "-FLAGS", r"(\Flagged)")
    d.uid("STORE", str(uids[1]), "+FLAGS", r"(\Draft)")
    d.expunge()
    dmine, dvalidity = view(d)
    dkw = keywords_supported(d)
    dsub, dsubvalidity = view(d, "FromDovecot")
    dsub2, _ = view(d, "FromDovecot.Sub")
    d.logout()
    assert dkw
    assert n == 6 and len(dmine) == 5, dmine

    m = yimap(inst)
    ymine, yvalidity = view(m)
    ykw = keywords_supported(m)
    typ, lst = m.list()
    names = [x.decode() for x in lst]
    ysub, ysubvalidity = view(m, "FromDovecot")
    ysub2, _ = view(m, "FromDovecot.Sub")
    m.logout()
    assert any(x.endswith(' "FromDovecot"') or x.endswith(" FromDovecot")
               for x in names), names
    assert yvalidity == dvalidity and ysubvalidity == dsubvalidity
    if ykw:
        assert ymine == dmine, (ymine, dmine)
    else:
        # youju without keywords (yet): system flags must still agree
        assert system_only(ymine) == system_only(dmine), (ymine, dmine)
    assert ysub == dsub and ysub2 == dsub2, (ysub, dsub, ysub2, dsub2)


def test_interop_youju_flags_back_to_dovecot_keep_keywords(inst):
    """youju changing the system flags of a message with a Dovecot keyword
    letter keeps the letter (reference/maildir.md §3)."""
    dv = dovecot(inst)
    m = yimap(inst)
    ymine, _ = view(m)
    kw_uid = [u for u, (_, _, s) in ymine.items()
              if s.endswith("by dovecot 2")][0]
    m.uid("STORE", str(kw_uid), "+FLAGS", r"(\Seen)")
    m.logout()
    d = dimap(dv)
    dmine, _ = view(d)
    d.logout()
    assert dmine[kw_uid][0] == {"\\Flagged", "\\Seen", "$Label1"}, dmine


# ---- POP3 ------------------------------------------------------------------

def _pop_view(port):
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    p.user(USER)
    p.pass_(PASSWORD)
    _, uidl, _ = p.uidl()
    _, lst, _ = p.list()
    stat = p.stat()
    p.quit()
    return [u.split()[1] for u in uidl], [int(x.split()[1]) for x in lst], \
        stat


def test_interop_pop3_uidl_and_sizes_agree(inst):
    dv = dovecot(inst)
    yuidl, ysizes, ystat = _pop_view(inst.ports["pop3"])
    duidl, dsizes, dstat = _pop_view(dv.ports["pop3"])
    assert len(yuidl) == 5
    assert yuidl == duidl, (yuidl, duidl)
    assert ysizes == dsizes and ystat == dstat, (ysizes, dsizes)
    # and both match the IMAP UIDs: Dovecot's default %08Xu%08Xv, which
    # Dovecot 2.3 expands in lower case
    m = yimap(inst)
    v, validity = view(m)
    m.logout()
    assert yuidl == [f"{u:08x}{validity:08x}".encode() for u in sorted(v)]


# ---- quota -----------------------------------------------------------------

def _maildirsize(inst):
    with open(os.path.join(_maildir(inst), "maildirsize")) as f:
        lines = f.read().splitlines()
    b = c = 0
    for line in lines[1:]:
        x, y = line.split()
        b += int(x)
        c += int(y)
    return lines[0], b, c


def _disk_usage(inst):
    """Bytes and count of every message file of every folder, from ,S=."""
    b = c = 0
    md = _maildir(inst)
    dirs = [md] + [os.path.join(md, x) for x in os.listdir(md)
                   if x.startswith(".") and x not in (".", "..")]
    for d in dirs:
        for sub in ("new", "cur"):
            p = os.path.join(d, sub)
            if not os.path.isdir(p):
                continue
            for name in os.listdir(p):
                if name.startswith("."):
                    continue
                s = re.search(r",S=(\d+)", name)
                b += int(s.group(1)) if s else \
                    os.path.getsize(os.path.join(p, name))
                c += 1
    return b, c


def test_interop_quota_usage_agrees(inst):
    dv = dovecot(inst)
    # one more of each writer, and an expunge through youju
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.sendmail("alice@example.com", [USER],
                   f"Subject: quota\r\nTo: {USER}\r\n\r\n" + "q" * 3000)
    wait_files(_maildir(inst), 6)
    # the MTA adds to maildirsize after it links the file into new/
    # (Maildir++ order): wait for that step, not only for the file
    deadline = time.time() + 30
    while _maildirsize(inst)[1:] != _disk_usage(inst) and \
            time.time() < deadline:
        time.sleep(0.1)
    m = yimap(inst)
    select(m)
    m.store("1", "+FLAGS", r"(\Deleted)")
    m.expunge()
    m.logout()
    definition, ybytes, ycount = _maildirsize(inst)
    assert definition == "5242880S", definition
    assert (ybytes, ycount) == _disk_usage(inst), \
        ((ybytes, ycount), _disk_usage(inst))
    q = dv.quota(USER)
    assert q["MESSAGE"][0] == ycount, (q, ycount)
    assert q["STORAGE"] == ((ybytes + 1023) // 1024, 5120) or \
        q["STORAGE"] == (ybytes // 1024, 5120), (q, ybytes)
    # Dovecot's recount finds what youju (and Dovecot) kept incrementally
    dv.doveadm("quota", "recalc", "-u", USER)
    _, rbytes, rcount = _maildirsize(inst)
    assert (rbytes, rcount) == (ybytes, ycount)
    # youju's QUOTA extension, when it has one, reports the same
    m = yimap(inst)
    caps = m.capabilities
    if "QUOTA" in caps:
        typ, data = m.getquotaroot("INBOX")
        assert typ == "OK", data
        text = b" ".join(x for x in data[1] if x).decode()
        mm = re.search(r"STORAGE (\d+) (\d+)", text)
        assert mm and int(mm.group(1)) == q["STORAGE"][0], (text, q)
    m.logout()


def test_interop_qresync_after_dovecot_changes(inst):
    """QRESYNC (RFC 7162 §3.2) stays right when Dovecot changes the folder
    between two youju sessions: its flag change, its expunge and a
    message it appended and expunged before youju looked."""
    dv = dovecot(inst)
    y = yimap(inst)
    assert y.create("Qr")[0] == "OK"
    for i in range(3):
        assert y.append("Qr", None, None,
                        f"Subject: q{i}\r\n\r\nx\r\n".encode())[0] == "OK"
    assert y.enable("QRESYNC")[0] == "OK"
    typ, _ = y.select("Qr")
    assert typ == "OK"
    val = int(y.untagged_responses["UIDVALIDITY"][0])
    hms = int(y.untagged_responses["HIGHESTMODSEQ"][0])
    # a URLAUTH key beside Dovecot's files too (the log check below)
    typ, _ = y.xatom("GENURLAUTH",
                     f'"imap://{USER}/Qr/;uid=1;urlauth=authuser"',
                     "INTERNAL")
    assert typ == "OK"
    y.logout()
    d = dimap(dv)
    select(d, "Qr")
    assert d.uid("STORE", "2", "+FLAGS", "(\\Flagged)")[0] == "OK"
    assert d.uid("STORE", "3", "+FLAGS", "(\\Deleted)")[0] == "OK"
    assert d.expunge()[0] == "OK"
    assert d.append("Qr", None, None, b"Subject: q3\r\n\r\nx\r\n")[0] \
        == "OK"
    select(d, "Qr")
    assert d.uid("STORE", "4", "+FLAGS", "(\\Deleted)")[0] == "OK"
    assert d.expunge()[0] == "OK"
    d.logout()
    y = yimap(inst)
    assert y.enable("QRESYNC")[0] == "OK"
    typ, data = y._simple_command("SELECT", "Qr",
                                  f"(QRESYNC ({val} {hms}))")
    assert typ == "OK", data
    assert y.untagged_responses.get("VANISHED") == [b"(EARLIER) 3:4"], \
        y.untagged_responses
    fetch = y.untagged_responses.get("FETCH")
    assert len(fetch) == 1 and b"UID 2 " in fetch[0] and \
        b"\\Flagged" in fetch[0], fetch
    y.logout()


def _uid_of(folder):
    """{base name: uid} from dovecot-uidlist."""
    out = {}
    with open(os.path.join(folder, "dovecot-uidlist")) as f:
        next(f)
        for line in f:
            uid, _, name = line.rstrip("\n").partition(":")
            out[name.split(":")[0]] = int(uid.split()[0])
    return out


def _cur_names(folder):
    return sorted(os.listdir(os.path.join(folder, "cur")))


def _flags(m):
    """{uid: system flags without \\Recent} of the selected folder."""
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK", data
    out = {}
    for item in data:
        if not item:
            continue
        s = (item[0] if isinstance(item, tuple) else item).decode()
        uid = int(re.search(r"UID (\d+)", s).group(1))
        fl = re.search(r"FLAGS \(([^)]*)\)", s).group(1).split()
        out[uid] = frozenset(f for f in fl
                             if f.startswith("\\") and f != "\\Recent")
    return out


def test_interop_scan_cache_behind_the_workers_back(inst):
    """youju-mra's workers keep the last scan of a folder (lib/
    maildir_scan): one connection stays open, so every SELECT below is
    answered by the same worker through its cache, while another process
    renames files (within the same second, and once putting cur/'s mtime
    back), Dovecot flags, expunges and appends, and files are added to
    new/ and removed by hand.  Each QRESYNC resync names exactly the
    changed and vanished UIDs, and the folder looks as it does to
    Dovecot."""
    dv = dovecot(inst)
    vm = pwd.getpwnam("vmail")
    y = yimap(inst)
    assert y.create("Cached")[0] == "OK"
    for i in range(40):
        assert y.append("Cached", None, None,
                        f"Subject: c{i}\r\n\r\nx\r\n".encode())[0] == "OK"
    assert y.enable("QRESYNC")[0] == "OK"
    folder = os.path.join(_maildir(inst), ".Cached")
    y.untagged_responses.clear()
    typ, _ = y.select("Cached")
    assert typ == "OK"
    val = int(y.untagged_responses["UIDVALIDITY"][0])
    state = {"hms": int(y.untagged_responses["HIGHESTMODSEQ"][0])}

    def resync():
        """(UIDs in FETCH, VANISHED text) of a QRESYNC SELECT on y."""
        y.untagged_responses.clear()
        typ, data = y._simple_command(
            "SELECT", "Cached", f"(QRESYNC ({val} {state['hms']}))")
        assert typ == "OK", data
        fetched = sorted(int(re.search(rb"UID (\d+)", f).group(1))
                         for f in y.untagged_responses.get("FETCH", []))
        vanished = y.untagged_responses.get("VANISHED", [])
        state["hms"] = int(y.untagged_responses["HIGHESTMODSEQ"][-1])
        y.state = "SELECTED"
        mine = _flags(y)
        d = dimap(dv)
        select(d, "Cached")
        theirs = _flags(d)
        d.logout()
        assert mine == theirs, (mine, theirs)
        return fetched, vanished, mine

    def flag_by_hand(name, letters):
        uid = _uid_of(folder)[name.split(":")[0]]
        os.rename(os.path.join(folder, "cur", name),
                  os.path.join(folder, "cur",
                               name.split(":")[0] + ":2," + letters))
        return uid

    # another process flags five messages, then (the same second) one more
    names = _cur_names(folder)
    uids = sorted(flag_by_hand(n, "F") for n in names[:5])
    fetched, vanished, mine = resync()
    assert fetched == uids and vanished == [], (fetched, vanished)
    assert all(mine[u] == {"\\Flagged"} for u in uids)
    u = flag_by_hand(_cur_names(folder)[10], "S")
    assert resync()[:2] == ([u], [])
    # a rename that puts cur/'s mtime back where it was
    cur = os.path.join(folder, "cur")
    st = os.stat(cur)
    u = flag_by_hand(_cur_names(folder)[20], "R")
    os.utime(cur, ns=(st.st_atime_ns, st.st_mtime_ns))
    fetched, vanished, mine = resync()
    assert (fetched, vanished) == ([u], []) and mine[u] == {"\\Answered"}
    # Dovecot flags one, expunges one and appends one (numbering it)
    before = set(mine)
    d = dimap(dv)
    select(d, "Cached")
    flag_uid, gone_uid = sorted(before)[30], sorted(before)[31]
    assert d.uid("STORE", str(flag_uid), "+FLAGS", "(\\Draft)")[0] == "OK"
    assert d.uid("STORE", str(gone_uid), "+FLAGS", "(\\Deleted)")[0] \
        == "OK"
    assert d.expunge()[0] == "OK"
    assert d.append("Cached", None, None, b"Subject: dv\r\n\r\nx\r\n")[0] \
        == "OK"
    d.logout()
    fetched, vanished, mine = resync()
    new_uid = max(mine)
    assert new_uid not in before
    assert fetched == sorted([flag_uid, new_uid]), fetched
    assert vanished == [f"(EARLIER) {gone_uid}".encode()], vanished
    # by hand, as the MTA and another reader would: one file into new/,
    # one removed
    victim = _cur_names(folder)[0]
    victim_uid = _uid_of(folder)[victim.split(":")[0]]
    os.unlink(os.path.join(folder, "cur", victim))
    data = b"Subject: by hand\r\n\r\nx\r\n"
    path = os.path.join(folder, "new",
                        f"{int(time.time())}.M1P1.byhand,S={len(data)}")
    with open(path, "wb") as f:
        f.write(data)
    os.chown(path, vm.pw_uid, vm.pw_gid)
    fetched, vanished, mine = resync()
    assert vanished == [f"(EARLIER) {victim_uid}".encode()], vanished
    assert fetched == [max(mine)] and max(mine) > new_uid, (fetched, mine)
    assert len(mine) == 40, len(mine)
    y.logout()


def test_interop_dovecot_log_clean(inst):
    """Dovecot found nothing to complain about in what youju wrote."""
    dv = dovecot(inst)
    bad = [line for line in dv.logtext().splitlines()
           if re.search(r"\b(Error|Panic|Fatal|Warning):", line)]
    assert not bad, "\n".join(bad)
    dv.stop()
