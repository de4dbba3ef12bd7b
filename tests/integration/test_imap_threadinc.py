"""youju-mra's per-worker THREAD cache (mra/imap_thread.c): it is freed
when no session of the worker has its folder selected any more, and a
THREAD after appended messages extends the cached threads instead of
building them again, with the answers of a full rebuild.

The cache cannot be seen from outside when it works, so the first test
makes it visible: a message file rewritten in place with the same name
and size (other References) is a change neither the cache nor
youju.index notices, so a THREAD answered from a cache that is still
there gives the old tree, and one built again (youju.index removed) the
new one."""
import imaplib
import os
import pwd
import re
import time

from test_imap_modern import Raw, ok
from test_imap_state import maildir, user


def mail(date, subject, msgid, parent=None):
    hdr = f"From: a@example.com\r\nSubject: {subject}\r\n"
    hdr += f"Message-ID: <{msgid}@example.com>\r\n"
    if parent:
        hdr += (f"In-Reply-To: <{parent}@example.com>\r\n"
                f"References: <{parent}@example.com>\r\n")
    if date is not None:
        hdr += f"Date: {date}\r\n"
    return f"{hdr}\r\nbody\r\n".encode()


def day(d):
    return f"Mon, {d:02d} Mar 2026 10:00:00 +0000"


def thread(r, algo="REFERENCES", search="ALL"):
    lines = ok(r.cmd(f"UID THREAD {algo} UTF-8 {search}"))
    got = [ln for ln in lines if ln.startswith(b"* THREAD")]
    assert len(got) == 1, lines
    return got[0][len(b"* THREAD"):].strip().decode()


def append(r, box, data):
    lines = ok(r.cmd(f"APPEND {box} (\\Seen) ", data))
    return int(re.search(rb"APPENDUID \d+ (\d+)", lines[-1]).group(1))


def login_on(inst, addr, worker=None, tries=12):
    """A Raw session of addr and the pid of the worker that took it; with
    worker, sessions are opened until one lands on that worker."""
    for _ in range(tries):
        since = len(inst.maillog())
        r = Raw(inst, addr)
        pid = None
        for _ in range(100):
            m = re.findall(rf"imap-login: Login: user=<{re.escape(addr)}>"
                           r".*?mpid=(\d+)", inst.maillog()[since:])
            if m:
                pid = m[-1]
                break
            time.sleep(0.05)
        assert pid, inst.maillog()[since:]
        if worker is None or pid == worker:
            return r, pid
        r.close()
    raise AssertionError(f"no session on worker {worker}")


def relogin(inst, addr, worker, r, index):
    """Ends session r, removes youju.index at index, and returns a new
    session of addr on the same worker with INBOX selected."""
    ok(r.cmd("LOGOUT"))
    r.close()
    if os.path.exists(index):
        os.unlink(index)
    n, _ = login_on(inst, addr, worker)
    ok(n.cmd("SELECT INBOX"))
    return n


def rewrite(path, old, new):
    """The file at path with old replaced by new (same length) in place:
    same name, same size."""
    assert len(old) == len(new)
    with open(path, "r+b") as f:
        data = f.read()
        assert data.count(old) == 2, data
        f.seek(0)
        f.write(data.replace(old, new))


def test_thread_cache_freed_with_folder(inst):
    addr = user(inst, "thrfree")
    md = maildir(inst, addr)
    r, w = login_on(inst, addr)
    a = append(r, "INBOX", mail(day(1), "a", "a"))
    b = append(r, "INBOX", mail(day(3), "b", "b", "a"))
    c = append(r, "INBOX", mail(day(5), "c", "c"))
    ok(r.cmd("SELECT INBOX"))
    assert thread(r) == f"({a} {b})({c})"
    bpath = [os.path.join(md, "cur", n) for n in os.listdir(
        os.path.join(md, "cur")) if b"<b@example.com>\r\n" in open(
            os.path.join(md, "cur", n), "rb").read()][0]
    index = os.path.join(md, "youju.index")

    def flip(to_c):
        """b's In-Reply-To and References: c when to_c, else a."""
        old, new = b"<a@example.com>", b"<c@example.com>"
        rewrite(bpath, *((old, new) if to_c else (new, old)))

    # b now replies to c; the cache of the selected folder does not see it
    # (the precondition that makes the cache visible here)
    flip(True)
    ok(r.cmd("NOOP"))
    assert thread(r) == f"({a} {b})({c})"
    # CLOSE: no session of the worker has INBOX selected, the cache goes;
    # without youju.index the THREAD reads the files again
    ok(r.cmd("CLOSE"))
    os.unlink(index)
    ok(r.cmd("SELECT INBOX"))
    assert thread(r) == f"({a})({c} {b})"

    # another session of the same worker with INBOX selected keeps it
    o, _ = login_on(inst, addr, w)
    ok(o.cmd("EXAMINE INBOX"))
    flip(False)
    ok(r.cmd("CLOSE"))
    if os.path.exists(index):
        os.unlink(index)
    ok(r.cmd("SELECT INBOX"))
    assert thread(r) == f"({a})({c} {b})"  # still the cached answer
    # SELECT of another folder closes INBOX, but o still has it
    ok(r.cmd("SELECT Drafts"))
    ok(r.cmd("SELECT INBOX"))
    assert thread(r) == f"({a})({c} {b})"
    # o's connection ends; then r's SELECT of another folder is the last
    ok(o.cmd("LOGOUT"))
    o.close()
    ok(r.cmd("SELECT Drafts"))
    if os.path.exists(index):
        os.unlink(index)
    ok(r.cmd("SELECT INBOX"))
    assert thread(r) == f"({a} {b})({c})"

    # the end of the connection frees it too
    flip(True)
    n = relogin(inst, addr, w, r, index)
    assert thread(n) == f"({a})({c} {b})"
    n.close()


# (Message-ID, References, In-Reply-To, Subject, Date) appended in rounds
# after the first THREAD: each round's THREAD extends the cached threads
INC_BASE = [
    ("<a@x>", "", "", "topic", "Mon, 1 Jan 2024 10:00:00 +0000"),
    ("<b@x>", "<a@x>", "", "Re: topic", "Mon, 1 Jan 2024 11:00:00 +0000"),
    ("<d@x>", "<missing@x>", "", "other", "Tue, 2 Jan 2024 10:00:00 +0000"),
    ("<e@x>", "<missing@x>", "", "Re: other", "Tue, 2 Jan 2024 08:00:00"
     " +0000"),
    ("<f@x>", "<g@x>", "", "loop", "Wed, 3 Jan 2024 10:00:00 +0000"),
    ("<i@x>", "", "", "lonely", ""),
]
INC_ROUNDS = [
    # the missing parent of d and e: it fills their dummy
    [("<missing@x>", "", "", "other", "Mon, 1 Jan 2024 07:00:00 +0000")],
    # a reply to an existing root, dated before its sibling; a reply
    # by subject only, before its original
    [("<j@x>", "<a@x>", "", "Re: topic", "Sun, 31 Dec 2023 10:00:00 +0000"),
     ("<k@x>", "", "", "Re: fresh", "Thu, 4 Jan 2024 12:00:00 +0000")],
    # the original: the subject gathering puts the reply under it
    [("<l@x>", "", "", "fresh", "Thu, 4 Jan 2024 09:00:00 +0000")],
    # a reply to a message that comes later, and the loop's other half
    [("<m@x>", "<late@x>", "<late@x>", "Re: late", "Fri, 5 Jan 2024"
      " 10:00:00 +0000"),
     ("<g@x>", "<f@x>", "", "loop", "Wed, 3 Jan 2024 11:00:00 +0000")],
    [("<late@x>", "", "", "late", "Fri, 5 Jan 2024 09:00:00 +0000"),
     ("<b@x>", "", "", "dup", "Sat, 6 Jan 2024 10:00:00 +0000"),
     ("", "", "<i@x>", "Re: lonely", "Sat, 6 Jan 2024 11:00:00 +0000"),
     ("<n@x>", "<a@x> <b@x> <j@x>", "<j@x>", "Re: topic", "")],
]
INC_CMDS = [
    "UID THREAD REFERENCES UTF-8 ALL",
    "THREAD REFERENCES UTF-8 ALL",
    "THREAD ORDEREDSUBJECT UTF-8 ALL",
    "UID THREAD REFERENCES UTF-8 UNDELETED",
]


def test_thread_incremental_as_dovecot_and_rebuild(inst):
    """Each round appends messages (through both servers) and asks every
    THREAD again: youju answers from its cache extended by the new
    messages; the answer must be Dovecot's and youju's own answer built
    from scratch (the same search plus `SUBJECT ""`, which reads the
    messages and never uses the cache)."""
    from test_imap_conformance import PASSWORD
    from test_imap_conformance import Raw as CRaw
    from test_imap_conformance import append as capp
    from test_imap_conformance import login
    from test_imap_conformance import user as cuser
    from dovecot_peer import Dovecot
    addr = cuser(inst, "thrinc")
    # a private Dovecot of its own (test_imap_conformance's is another
    # module's state)
    pw = pwd.getpwnam("vmail")
    root = inst.path("dovecot-threadinc")
    home = os.path.join(root, "home")
    os.makedirs(home, exist_ok=True)
    os.chmod(root, 0o755)
    os.chown(home, pw.pw_uid, pw.pw_gid)
    dv = Dovecot(os.path.join(root, "dv"),
                 [("dv@extmail.org", PASSWORD, pw.pw_uid, pw.pw_gid, home)])
    dv.start()
    y = CRaw(inst.ports["imap"], addr)
    d = CRaw(dv.ports["imap"], "dv@extmail.org")
    m = login(inst, addr)
    dm = imaplib.IMAP4("127.0.0.1", dv.ports["imap"], timeout=20)
    dm.login("dv@extmail.org", PASSWORD)

    def put(msgs):
        for mm in (m, dm):
            for mid, refs, irt, subj, date in msgs:
                h = f"Subject: {subj}\n"
                h += f"Message-ID: {mid}\n" if mid else ""
                h += f"References: {refs}\n" if refs else ""
                h += f"In-Reply-To: {irt}\n" if irt else ""
                h += f"Date: {date}\n" if date else ""
                capp(mm, "TI", h + "\nbody\n")

    try:
        for mm in (m, dm):
            assert mm.create("TI")[0] == "OK"
        put(INC_BASE)
        for r in (y, d):
            r.cmd("SELECT TI")
        diff = []
        for rnd, msgs in enumerate([[]] + INC_ROUNDS):
            put(msgs)
            for r in (y, d):
                r.cmd("NOOP")
            for c in INC_CMDS:
                for _ in range(2):  # extended, then the cached answer
                    yu, _ = y.cmd(c)
                    du, _ = d.cmd(c)
                    full, _ = y.cmd(c + ' SUBJECT ""')
                    # Dovecot 2.3's ORDEREDSUBJECT after appends puts
                    # the new messages last in their group, as if they
                    # had no Date: ((1 2)(4 (3)(7)) where 7, dated
                    # before 1 and 4, must lead: (7 (4)(3))(1 2)), and
                    # not always; it is compared before the appends
                    if "ORDEREDSUBJECT" in c and rnd > 0:
                        du = yu
                    if not (yu == du == full):
                        diff.append(f"round {rnd}: {c}\n  youju:   {yu}\n"
                                    f"  rebuilt: {full}\n  dovecot: {du}")
        assert not diff, "\n".join(diff)
        yu, _ = y.cmd(INC_CMDS[0])
        print(f"thread after {len(INC_ROUNDS)} rounds: {yu[0]}")
        assert yu[0].count("(") >= 8, yu
    finally:
        m.logout()
        dm.logout()
        y.close()
        d.close()
        dv.stop()
