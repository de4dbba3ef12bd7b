"""OBJECTID (RFC 8474), SAVEDATE (RFC 8514), PREVIEW (RFC 8970) and STATUS
DELETED in youju-mra, over a raw socket: MAILBOXID in SELECT, CREATE and
STATUS, kept by RENAME and new after DELETE + CREATE, stored in the
folder's youju-mailboxid; EMAILID kept over flag changes, different per
message and for a COPY, found by SEARCH EMAILID; THREADID NIL; SAVEDATE
the time the file was made, not the APPEND date, with SEARCH SAVED*;
previews of plain, quoted, HTML, base64/Latin-1 and long messages."""
import datetime
import os
import re

from test_imap_modern import Raw, ok
from test_imap_state import maildir, user


def _mbid(lines):
    m = re.search(rb"MAILBOXID \((F[0-9a-f]{24})\)", b"\n".join(lines))
    assert m, lines
    return m.group(1)


def test_capabilities(inst):
    r = Raw(inst, user(inst, "oidcaps"))
    caps = r.cmd("CAPABILITY")[0].split()
    for c in (b"OBJECTID", b"SAVEDATE", b"PREVIEW"):
        assert c in caps, caps
    r.close()


def test_mailboxid(inst):
    addr = user(inst, "oidbox")
    md = maildir(inst, addr)
    r = Raw(inst, addr)
    created = _mbid(ok(r.cmd("CREATE Projects")))
    selected = _mbid(ok(r.cmd("SELECT Projects")))
    assert created == selected
    with open(os.path.join(md, ".Projects", "youju-mailboxid"), "rb") as f:
        assert f.read() == created + b"\n"
    inbox = _mbid(ok(r.cmd("STATUS INBOX (MESSAGES MAILBOXID)")))
    assert inbox != created
    # the same after a RENAME; a new one after DELETE and CREATE
    ok(r.cmd("UNSELECT"))
    ok(r.cmd("RENAME Projects Archive"))
    assert _mbid(ok(r.cmd("STATUS Archive (MAILBOXID)"))) == created
    ok(r.cmd("DELETE Archive"))
    again = _mbid(ok(r.cmd("CREATE Archive")))
    assert again not in (created, inbox)
    assert _mbid(ok(r.cmd("EXAMINE INBOX"))) == inbox
    r.close()


def _fetch(r, what):
    lines = ok(r.cmd(f"FETCH 1:* ({what})"))
    return [ln for ln in lines if b" FETCH " in ln]


def test_emailid_threadid_and_search(inst):
    addr = user(inst, "oidmsg")
    r = Raw(inst, addr)
    for k in range(2):
        ok(r.cmd("APPEND INBOX ",
                 f"Subject: m{k}\r\n\r\nbody {k}\r\n".encode()))
    ok(r.cmd("SELECT INBOX"))
    f = _fetch(r, "UID EMAILID THREADID")
    ids = [re.search(rb"EMAILID \((M[0-9a-f]{24})\)", x).group(1)
           for x in f]
    assert len(set(ids)) == 2, f
    assert all(b"THREADID NIL" in x for x in f), f
    # flags change the file name, not the EMAILID
    ok(r.cmd("STORE 1 +FLAGS (\\Flagged $Work)"))
    assert re.search(rb"EMAILID \(" + ids[0] + rb"\)",
                     _fetch(r, "EMAILID")[0])
    lines = ok(r.cmd(f"SEARCH EMAILID {ids[1].decode()}"))
    assert b"* SEARCH 2" in lines, lines
    lines = ok(r.cmd("SEARCH THREADID T1"))
    assert b"* SEARCH" in lines and b"* SEARCH 1" not in lines, lines
    # a COPY is a new file: a new EMAILID (docs/mra.md)
    ok(r.cmd("COPY 1 INBOX"))
    f = _fetch(r, "EMAILID")
    assert len(f) == 3 and ids[0] not in f[2] and ids[1] not in f[2], f
    r.close()


def test_savedate(inst):
    addr = user(inst, "oidsave")
    r = Raw(inst, addr)
    ok(r.cmd('APPEND INBOX "01-Jan-2001 10:00:00 +0000" ',
             b"Subject: old\r\n\r\nx\r\n"))
    ok(r.cmd("SELECT INBOX"))
    [line] = _fetch(r, "INTERNALDATE SAVEDATE")
    assert b'INTERNALDATE "01-Jan-2001 10:00:00 +0000"' in line, line
    now = datetime.datetime.now(datetime.timezone.utc)
    m = re.search(rb'SAVEDATE "(\d\d-\w\w\w-\d{4} \d\d:\d\d:\d\d) \+0000"',
                  line)
    assert m, line
    saved = datetime.datetime.strptime(m.group(1).decode(),
                                       "%d-%b-%Y %H:%M:%S").replace(
                                           tzinfo=datetime.timezone.utc)
    assert abs((now - saved).total_seconds()) < 600, (now, saved)
    today = now.strftime("%d-%b-%Y")
    assert b"* SEARCH 1" in ok(r.cmd(f"SEARCH SAVEDON {today}"))
    assert b"* SEARCH 1" in ok(r.cmd("SEARCH SAVEDSINCE 1-Jan-2002"))
    assert b"* SEARCH 1" not in ok(r.cmd("SEARCH SAVEDBEFORE 1-Jan-2002"))
    assert b"* SEARCH 1" in ok(r.cmd("SEARCH SAVEDATESUPPORTED"))
    assert b"* SEARCH 1" in ok(r.cmd("SEARCH BEFORE 1-Jan-2002"))
    r.close()


PREVIEWS = [
    (b"Subject: a\r\n\r\nHello   there,\r\n\r\n> quoted old text\r\n"
     b"  >> more quote\r\nsee you\r\n",
     "Hello there, see you"),
    (b"Subject: h\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
     b"<html><head><title>T</title><style>p{}</style></head><body>"
     b"<p>Caf&#233; &amp; <b>bar</b>&#x21; &lt;ok&gt;&nbsp;x</p>"
     b"<p>next<br>line</p>"
     b"<!-- hidden --><script>evil()</script></body></html>\r\n",
     "Caf\u00e9 & bar! <ok> x next line"),
    (b"Subject: m\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
     b"Content-Type: text/plain; charset=iso-8859-1\r\n"
     b"Content-Transfer-Encoding: base64\r\n\r\nR3L832U=\r\n--b\r\n"
     b"Content-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\n"
     b"not this\r\n--b--\r\n",
     "Grüße"),
    (b"Subject: n\r\nContent-Type: image/png\r\n\r\nxxxx\r\n", ""),
    (b"Subject: l\r\n\r\n" + b"word " * 100 + b"\r\n",
     ("word " * 40).strip()),
]


def test_preview(inst):
    addr = user(inst, "oidprev")
    r = Raw(inst, addr)
    for msg, _ in PREVIEWS:
        ok(r.cmd("APPEND INBOX ", msg))
    ok(r.cmd("SELECT INBOX"))
    for lazy in ("PREVIEW", "PREVIEW (LAZY)"):
        f = _fetch(r, f"UID {lazy}")
        assert len(f) == len(PREVIEWS), f
        for line, (_, want) in zip(f, PREVIEWS):
            m = re.search(rb'PREVIEW (?:"([^"]*)"|\{\d+\}\r\n(.*))\)$',
                          line, re.S)
            assert m, line
            got = (m.group(1) if m.group(1) is not None
                   else m.group(2)).decode()
            assert got == want, (got, want)
    # PREVIEW reads the message but sets no \Seen
    assert b"\\Seen" not in b"".join(_fetch(r, "FLAGS"))
    r.close()


def test_status_deleted(inst):
    addr = user(inst, "oiddel")
    r = Raw(inst, addr)
    for k in range(3):
        ok(r.cmd("APPEND INBOX ", f"Subject: {k}\r\n\r\nx\r\n".encode()))
    ok(r.cmd("SELECT INBOX"))
    ok(r.cmd("STORE 1,3 +FLAGS (\\Deleted)"))
    lines = ok(r.cmd("STATUS INBOX (DELETED MESSAGES)"))
    assert b"(DELETED 2 MESSAGES 3)" in lines[0], lines
    r.close()
