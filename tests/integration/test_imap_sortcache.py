"""SORT by ARRIVAL, DATE and SIZE with a search that reads no text takes
each message's Date: and size from youju-mra's per-worker cache of the
last folder sorted (mra/imap_sort.c): the answers must stay those of a
SORT that reads every file, on one connection (so one worker) while
messages are appended, expunged, and while another folder with the same
UIDs is sorted in between."""

import os

from test_imap_modern import Raw
from test_imap_state import maildir, twin_folder, user
from test_imap_threadinc import login_on, ok, relogin


def mail(date, subject, body="x"):
    hdr = f"From: a@example.com\r\nSubject: {subject}\r\n"
    if date is not None:
        hdr += f"Date: {date}\r\n"
    return f"{hdr}\r\n{body}\r\n".encode()


def sort(r, crit, search="ALL"):
    lines = r.cmd(f"UID SORT {crit} UTF-8 {search}")
    assert b" OK " in lines[-1], lines
    got = [ln for ln in lines if ln.startswith(b"* SORT")]
    assert len(got) == 1, lines
    return [int(x) for x in got[0].split()[2:]]



def test_sort_date_size_cache_follows_changes(inst):
    r = Raw(inst, user(inst, "sortcache"))
    r.addr = user(inst, "sortcache")
    assert b" OK " in r.cmd("CREATE Other")[-1]
    # INBOX: uid 1..4; the third has no Date: (its internal date counts)
    u1 = r.append_seen("INBOX",
                       mail("Tue, 3 Mar 2026 10:00:00 +0000", "b", "xx"))
    u2 = r.append_seen("INBOX", mail("Mon, 2 Mar 2026 10:00:00 +0100", "a"))
    u3 = r.append_seen("INBOX", mail(None, "c", "y" * 50),
                       internal="04-Mar-2026 09:00:00 +0000")
    u4 = r.append_seen("INBOX", mail("Sun, 1 Mar 2026 23:30:00 -0500", "d"))
    # Other: the same UIDs, the opposite dates
    o = [r.append_seen("Other",
                       mail(f"Mon, {d} Mar 2026 10:00:00 +0000", "o"))
         for d in (9, 8, 7, 6)]
    assert o == [u1, u2, u3, u4]
    assert b" OK " in r.cmd("SELECT INBOX")[-1]
    # 4 is 2 Mar 04:30 UTC, 2 is 2 Mar 09:00 UTC
    want_date = [u4, u2, u1, u3]
    for _ in range(2):  # the first fills the cache, the second uses it
        assert sort(r, "(DATE)") == want_date
        assert sort(r, "(REVERSE DATE)") == want_date[::-1]
        # a text key reads the files: the same order
        assert sort(r, "(DATE)", 'SUBJECT ""') == want_date
        assert sort(r, "(SIZE DATE)") == [u4, u2, u1, u3]
        assert sort(r, "(ARRIVAL)") == [u3, u1, u2, u4]
    # another folder with the same UIDs in between
    assert b" OK " in r.cmd("SELECT Other")[-1]
    assert sort(r, "(DATE)") == o[::-1]
    assert b" OK " in r.cmd("SELECT INBOX")[-1]
    assert sort(r, "(DATE)") == want_date
    # a folder made behind the server's back with INBOX's UIDVALIDITY and
    # UIDs but other files: only the path and the files tell them apart
    v = twin_folder(inst, r.addr, "Twin", [
        (uid, mail(f"Mon, {day} Mar 2026 10:00:00 +0000", "t"))
        for uid, day in zip((u1, u2, u3, u4), (5, 9, 7, 6))])
    lines = r.cmd("SELECT Twin")
    assert b" OK " in lines[-1], lines
    assert f"[UIDVALIDITY {v}]".encode() in b"".join(lines), lines
    assert sort(r, "(DATE)") == [u1, u4, u3, u2]
    assert b" OK " in r.cmd("SELECT INBOX")[-1]
    assert sort(r, "(DATE)") == want_date
    # a new message, earliest of all; then one expunged
    u5 = r.append_seen("INBOX", mail("Sat, 28 Feb 2026 10:00:00 +0000", "e"))
    assert b" OK " in r.cmd("NOOP")[-1]
    assert sort(r, "(DATE)") == [u5] + want_date
    lines = r.cmd(f"UID STORE {u2} +FLAGS.SILENT (\\Deleted)")
    assert b" OK " in lines[-1], lines
    assert b" OK " in r.cmd("EXPUNGE")[-1]
    assert sort(r, "(DATE)") == [u5, u4, u1, u3]
    # a search on flags only still goes through the cache
    assert sort(r, "(REVERSE DATE)", "UNSEEN") == []
    assert sort(r, "(REVERSE DATE)", f"UID {u1}:{u4}") == [u3, u1, u4]
    r.close()


def test_sort_cache_freed_with_folder(inst):
    """The cache goes when no session of the worker has its folder
    selected any more (the thread cache's rule, mra/imap.c).  Made
    visible as in test_imap_threadinc: a Date: rewritten in place (same
    name, same size) is a change neither the cache nor youju.index sees,
    so a SORT from a cache still there gives the old order, and one that
    reads the files again (youju.index removed) the new one."""
    addr = user(inst, "sortfree")
    md = maildir(inst, addr)
    r, w = login_on(inst, addr)
    u = [r.append_seen("INBOX", mail(f"Mon, {d:02d} Mar 2026 10:00:00 +0000",
                                     s)) for d, s in ((1, "a"), (3, "b"),
                                                      (5, "c"))]
    ok(r.cmd("SELECT INBOX"))
    assert sort(r, "(DATE)") == u
    cur = os.path.join(md, "cur")
    bpath = [os.path.join(cur, n) for n in os.listdir(cur)
             if b"Subject: b\r\n" in open(os.path.join(cur, n), "rb").read()]
    assert len(bpath) == 1
    index = os.path.join(md, "youju.index")

    def redate(to):
        """b's Date: the 7th (after c) when to == 7, else the 3rd."""
        frm = 3 if to == 7 else 7
        with open(bpath[0], "r+b") as f:
            data = f.read()
            old = f"Mon, {frm:02d} Mar".encode()
            assert data.count(old) == 1, data
            f.seek(0)
            f.write(data.replace(old, f"Mon, {to:02d} Mar".encode()))

    def reselect(s):
        ok(s.cmd("CLOSE"))
        if os.path.exists(index):
            os.unlink(index)
        ok(s.cmd("SELECT INBOX"))

    # the selected folder's cache does not see the new date (the
    # precondition that makes the cache visible here)
    redate(7)
    ok(r.cmd("NOOP"))
    assert sort(r, "(DATE)") == u
    # CLOSE: no session of the worker has INBOX selected, the cache goes
    reselect(r)
    assert sort(r, "(DATE)") == [u[0], u[2], u[1]]
    # another session of the same worker with INBOX selected keeps it
    o, _ = login_on(inst, addr, w)
    ok(o.cmd("EXAMINE INBOX"))
    redate(3)
    reselect(r)
    assert sort(r, "(DATE)") == [u[0], u[2], u[1]]  # the cached answer
    # the end of o's and then r's connection frees it
    ok(o.cmd("LOGOUT"))
    o.close()
    n = relogin(inst, addr, w, r, index)
    assert sort(n, "(DATE)") == u
    n.close()
