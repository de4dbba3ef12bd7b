"""IMAP4rev2 (RFC 9051) beside IMAP4rev1 in youju-mra: both advertised;
`ENABLE IMAP4rev2` switches one session to no \\Recent (no RECENT or
UNSEEN at SELECT, none in FETCH FLAGS or after new mail, and an
IMAP4rev1 session still gets the message as recent), SEARCH answered as
ESEARCH; STATUS DELETED and SIZE; LIST's \\NonExistent."""
import re

from test_imap_modern import Raw, ok
from test_imap_state import user


def test_rev2_session(inst):
    addr = user(inst, "rev2")
    r = Raw(inst, addr)
    caps = r.cmd("CAPABILITY")[0].split()
    assert b"IMAP4rev1" in caps and b"IMAP4rev2" in caps, caps
    for k in range(3):
        ok(r.cmd("APPEND INBOX ", f"Subject: s{k}\r\n\r\nhello {k}\r\n"
                 .encode()))
    # before ENABLE: IMAP4rev1 answers
    ok(r.cmd("EXAMINE INBOX"))
    lines = ok(r.cmd("SEARCH ALL"))
    assert b"* SEARCH 1 2 3" in lines, lines
    ok(r.cmd("UNSELECT"))
    lines = ok(r.cmd("ENABLE IMAP4rev2"))
    assert b"* ENABLED IMAP4rev2" in lines, lines
    lines = ok(r.cmd("ENABLE IMAP4rev2"))  # a second time: nothing new
    assert b"* ENABLED" in lines and b"IMAP4rev2" not in lines[0], lines
    lines = ok(r.cmd("SELECT INBOX"))
    text = b"\n".join(lines)
    assert b"* 3 EXISTS" in lines, lines
    assert b"RECENT" not in text and b"[UNSEEN" not in text, lines
    lines = ok(r.cmd("FETCH 1:* (FLAGS)"))
    assert b"\\Recent" not in b"".join(lines), lines
    # SEARCH gives ESEARCH (RETURN () is ALL)
    lines = ok(r.cmd("SEARCH SUBJECT s"))
    assert any(re.fullmatch(rb'\* ESEARCH \(TAG "r\d+"\) ALL 1:3', ln)
               for ln in lines), lines
    lines = ok(r.cmd("UID SEARCH SUBJECT s1"))
    assert any(re.fullmatch(rb'\* ESEARCH \(TAG "r\d+"\) UID ALL 2', ln)
               for ln in lines), lines
    lines = ok(r.cmd("SEARCH SUBJECT nothing-like-it"))
    assert any(re.fullmatch(rb'\* ESEARCH \(TAG "r\d+"\)', ln)
               for ln in lines), lines
    lines = ok(r.cmd("SEARCH RETURN (COUNT) ALL"))
    assert any(ln.endswith(b"COUNT 3") for ln in lines), lines
    # new mail: EXISTS, no RECENT; an IMAP4rev1 session still gets
    # \Recent for it
    r1 = Raw(inst, addr)
    ok(r1.cmd("APPEND INBOX ", b"Subject: s3\r\n\r\nnew\r\n"))
    lines = ok(r.cmd("NOOP"))
    assert b"* 4 EXISTS" in lines and b"RECENT" not in b"".join(lines), \
        lines
    lines = ok(r1.cmd("SELECT INBOX"))
    assert b"* 4 RECENT" in lines, lines
    # STATUS DELETED and SIZE
    ok(r.cmd("STORE 2 +FLAGS (\\Deleted)"))
    lines = ok(r.cmd("STATUS INBOX (DELETED SIZE MESSAGES)"))
    assert re.search(rb"\(DELETED 1 SIZE \d+ MESSAGES 4\)", lines[0]), \
        lines
    # LIST: a subscribed name that does not exist is \NonExistent
    ok(r.cmd("CREATE Gone"))
    ok(r.cmd("SUBSCRIBE Gone"))
    ok(r.cmd("DELETE Gone"))
    lines = ok(r.cmd('LIST (SUBSCRIBED) "" "Gone"'))
    assert any(b"\\NonExistent" in ln and b"Gone" in ln for ln in lines), \
        lines
    r.close()
    r1.close()
