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
import os
import re
import time

from test_imap_modern import Raw
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


def ok(lines):
    assert b" OK " in lines[-1], lines
    return lines


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
    ok(r.cmd("LOGOUT"))
    r.close()
    if os.path.exists(index):
        os.unlink(index)
    n, _ = login_on(inst, addr, w)
    ok(n.cmd("SELECT INBOX"))
    assert thread(n) == f"({a})({c} {b})"
    n.close()
