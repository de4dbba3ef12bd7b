"""SORT by ARRIVAL, DATE and SIZE with a search that reads no text takes
each message's Date: and size from youju-mra's per-worker cache of the
last folder sorted (mra/imap_sort.c): the answers must stay those of a
SORT that reads every file, on one connection (so one worker) while
messages are appended, expunged, and while another folder with the same
UIDs is sorted in between."""

from test_imap_modern import Raw
from test_imap_state import twin_folder, user


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
