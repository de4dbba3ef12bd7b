"""THREAD with a search that reads no text is answered from youju-mra's
per-worker cache of the last such answer (mra/imap_thread.c) while the
folder's matching messages are the same: each answer here is checked
against the expected tree and against a THREAD whose search reads the
files (never cached), on one connection (so one worker), while another
connection appends, messages are expunged, flags change what a search
matches, sequence numbers shift, and a folder with the same UIDVALIDITY
and UIDs but other messages is threaded in between."""

from test_imap_modern import Raw
from test_imap_state import twin_folder, user
from test_imap_threadinc import day, mail


def thread(r, search="ALL", uid=True, algo="REFERENCES"):
    def one(s):
        lines = r.cmd(f"{'UID ' if uid else ''}THREAD {algo} UTF-8 {s}")
        assert b" OK " in lines[-1], lines
        got = [ln for ln in lines if ln.startswith(b"* THREAD")]
        assert len(got) == 1, lines
        return got[0][len(b"* THREAD"):].strip().decode()
    got = one(search)
    # the same search plus a text key that matches everything: the files
    # (or youju.index) are read, the cache is neither used nor filled
    assert one(f'SUBJECT "" {search}') == got
    return got


def test_thread_cache_follows_changes(inst):
    addr = user(inst, "thrcache")
    r = Raw(inst, addr)
    other = Raw(inst, addr)
    assert b" OK " in r.cmd("CREATE Other")[-1]
    a = r.append_seen("INBOX", mail(day(1), "a", "a"))
    b = r.append_seen("INBOX", mail(day(3), "Re: a", "b", "a"))
    c = r.append_seen("INBOX", mail(day(5), "c", "c"))
    assert b" OK " in r.cmd("SELECT INBOX")[-1]
    for _ in range(2):  # the first fills the cache, the second uses it
        assert thread(r) == f"({a} {b})({c})"
        assert thread(r, uid=False) == "(1 2)(3)"
    # ORDEREDSUBJECT is another answer for the same messages
    assert thread(r, algo="ORDEREDSUBJECT") == f"({a} {b})({c})"
    # a reply appended by another connection, dated before b
    d = other.append_seen("INBOX", mail(day(2), "Re: a", "d", "a"))
    assert b" OK " in r.cmd("NOOP")[-1]
    assert thread(r) == f"({a} ({d})({b}))({c})"
    assert thread(r) == f"({a} ({d})({b}))({c})"
    # b expunged
    lines = r.cmd(f"UID STORE {b} +FLAGS.SILENT (\\Deleted)")
    assert b" OK " in lines[-1], lines
    assert b" OK " in r.cmd("EXPUNGE")[-1]
    assert thread(r) == f"({a} {d})({c})"
    # the sequence numbers moved down: the same tree, other ids
    assert thread(r, uid=False) == "(1 3)(2)"
    # flags change what a search matches, not the tree of the matches
    assert thread(r, "UNSEEN") == ""
    lines = r.cmd(f"UID STORE {a} -FLAGS.SILENT (\\Seen)")
    assert b" OK " in lines[-1], lines
    assert thread(r, "UNSEEN") == f"({a})"
    assert thread(r, "SEEN") == f"({d})({c})"
    assert thread(r) == f"({a} {d})({c})"
    # the other connection appends one and expunges another: as many
    # messages as before, other ones
    lines = other.cmd("SELECT INBOX")
    assert b" OK " in lines[-1], lines
    e = other.append_seen("INBOX", mail(day(6), "Re: c", "e", "c"))
    lines = other.cmd(f"UID STORE {d} +FLAGS.SILENT (\\Deleted)")
    assert b" OK " in lines[-1], lines
    assert b" OK " in other.cmd("EXPUNGE")[-1]
    assert b" OK " in r.cmd("NOOP")[-1]
    assert thread(r) == f"({a})({c} {e})"
    # an expunge by the other connection, below every match
    lines = other.cmd(f"UID STORE {a} +FLAGS.SILENT (\\Deleted)")
    assert b" OK " in lines[-1], lines
    assert b" OK " in other.cmd("EXPUNGE")[-1]
    assert b" OK " in r.cmd("NOOP")[-1]
    assert thread(r, uid=False) == "(1 2)"
    assert thread(r) == f"({c} {e})"
    # a folder made behind the server's back with INBOX's UIDVALIDITY and
    # UIDs but other messages: only the path and the files tell them apart
    v = twin_folder(inst, addr, "Twin", [
        (uid, mail(day(dd), f"t{uid}", f"t{uid}"))
        for uid, dd in ((c, 9), (e, 1))])
    lines = r.cmd("SELECT Twin")
    assert b" OK " in lines[-1], lines
    assert f"[UIDVALIDITY {v}]".encode() in b"".join(lines), lines
    got = thread(r)
    assert got == f"({e})({c})", (got, c, e)
    assert b" OK " in r.cmd("SELECT INBOX")[-1]
    assert thread(r) == f"({c} {e})"
    other.close()
    r.close()
