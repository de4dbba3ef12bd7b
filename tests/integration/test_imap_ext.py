"""youju-mra's later IMAP extensions, over raw sockets: SEARCHRES (RFC
5182: SEARCH RETURN (SAVE) and "$" in FETCH, STORE, COPY, MOVE, SEARCH
and the UID forms; reset by a failed search and by leaving the folder;
expunges taken out), and URLFETCH of another user's URL answered after
youju-authd's lookup on the login pool, with pipelined commands behind it
still answered in order."""
import re

from test_imap_modern import Raw, msg, ok  # noqa: E402
from test_imap_state import user  # noqa: E402


def nums(lines, word=b"SEARCH"):
    """The numbers of the "* SEARCH" line of lines."""
    for ln in lines:
        if ln.startswith(b"* " + word):
            return [int(v) for v in ln.split()[2:]]
    raise AssertionError(lines)


def fetched(lines):
    """(seq, uid) of each "* n FETCH (UID u ...)" line."""
    out = []
    for ln in lines:
        m = re.match(rb"\* (\d+) FETCH \(.*UID (\d+)", ln)
        if m:
            out.append((int(m.group(1)), int(m.group(2))))
    return out


def test_searchres_save_and_dollar(inst):
    r = Raw(inst, user(inst, "sres1"))
    assert b"SEARCHRES" in ok(r.cmd("CAPABILITY"))[0]
    ok(r.cmd("CREATE Other"))
    for k in range(8):
        ok(r.cmd("APPEND INBOX ", msg(f"{'odd' if k % 2 else 'even'} {k}")))
    ok(r.cmd("SELECT INBOX"))
    # SAVE alone: no SEARCH, no ESEARCH
    lines = ok(r.cmd("SEARCH RETURN (SAVE) SUBJECT odd"))
    assert len(lines) == 1, lines
    assert fetched(ok(r.cmd("FETCH $ (UID)"))) == \
        [(2, 2), (4, 4), (6, 6), (8, 8)]
    assert nums(ok(r.cmd("SEARCH $"))) == [2, 4, 6, 8]
    assert nums(ok(r.cmd("UID SEARCH UID $ NOT 4"))) == [2, 6, 8]
    assert nums(ok(r.cmd("SEARCH OR $ 1"))) == [1, 2, 4, 6, 8]
    # STORE and COPY
    ok(r.cmd("STORE $ +FLAGS.SILENT (\\Flagged)"))
    assert nums(ok(r.cmd("SEARCH FLAGGED"))) == [2, 4, 6, 8]
    lines = ok(r.cmd("COPY $ Other"))
    assert b"[COPYUID " in lines[-1] and b" 2,4,6,8 1:4]" in lines[-1], \
        lines
    # expunge 4 (in the result) and 1 (not): $ follows
    ok(r.cmd("STORE 1,4 +FLAGS.SILENT (\\Deleted)"))
    ok(r.cmd("EXPUNGE"))
    assert fetched(ok(r.cmd("FETCH $ (UID)"))) == [(1, 2), (4, 6), (6, 8)]
    assert fetched(ok(r.cmd("UID FETCH $ (UID)"))) == \
        [(1, 2), (4, 6), (6, 8)]
    # a UID SEARCH saves UIDs; a later non-UID command gets numbers
    ok(r.cmd("UID SEARCH RETURN (SAVE) SUBJECT even"))
    assert fetched(ok(r.cmd("FETCH $ (UID)"))) == [(2, 3), (3, 5), (5, 7)]
    # MOVE and UID EXPUNGE
    lines = ok(r.cmd("UID MOVE $ Other"))
    assert b"COPYUID" in b"".join(lines), lines
    assert nums(ok(r.cmd("SEARCH ALL"))) == [1, 2, 3]
    assert nums(ok(r.cmd("SEARCH $"))) == []
    r.close()


def test_searchres_min_max_and_resets(inst):
    r = Raw(inst, user(inst, "sres2"))
    for k in range(5):
        ok(r.cmd("APPEND INBOX ", msg(f"m{k}")))
    ok(r.cmd("SELECT INBOX"))
    # MIN alone with SAVE: the MIN is answered and saved (RFC 5182 §2.4)
    lines = ok(r.cmd("SEARCH RETURN (SAVE MIN) 2:5"))
    assert any(ln.endswith(b" MIN 2") for ln in lines), lines
    assert nums(ok(r.cmd("SEARCH $"))) == [2]
    ok(r.cmd("SEARCH RETURN (MIN SAVE MAX) 2:4"))
    assert nums(ok(r.cmd("SEARCH $"))) == [2, 4]
    # with ALL or COUNT the whole result
    lines = ok(r.cmd("SEARCH RETURN (SAVE COUNT MIN) 2:4"))
    assert any(b"COUNT 3" in ln for ln in lines), lines
    assert nums(ok(r.cmd("SEARCH $"))) == [2, 3, 4]
    # pipelined: the FETCH uses what the SEARCH before it saved
    r.n += 1
    r.s.sendall(b"p1 SEARCH RETURN (SAVE) 5\r\np2 FETCH $ (UID)\r\n")
    got = []
    while not got or not got[-1].startswith(b"p2 "):
        got.append(r.f.readline().rstrip(b"\r\n"))
    assert got[0] == b"p1 OK Search completed.", got
    assert fetched(got) == [(5, 5)], got
    # a failed SEARCH with SAVE empties it (§2.1)
    lines = r.cmd("SEARCH RETURN (SAVE) NOSUCHKEY")
    assert re.match(rb"r\d+ BAD", lines[-1]), lines
    assert nums(ok(r.cmd("SEARCH $"))) == []
    # leaving the folder resets it
    ok(r.cmd("SEARCH RETURN (SAVE) 1:2"))
    ok(r.cmd("UNSELECT"))
    ok(r.cmd("SELECT INBOX"))
    assert fetched(ok(r.cmd("FETCH $ (UID)"))) == []
    ok(r.cmd("SEARCH RETURN (SAVE) 1:2"))
    ok(r.cmd("EXAMINE INBOX"))
    assert nums(ok(r.cmd("SEARCH $"))) == []
    # SORT does not save
    lines = r.cmd("SORT RETURN (SAVE) (DATE) UTF-8 ALL")
    assert re.match(rb"r\d+ BAD", lines[-1]), lines
    r.close()


def test_urlfetch_other_user_on_the_pool(inst):
    """Another user's URL needs an authd lookup: the session waits for it
    without blocking the process, and what was pipelined behind it is
    answered after it, in order."""
    owner = user(inst, "uapool1")
    other = user(inst, "uapool2")
    o = Raw(inst, owner)
    ok(o.cmd("APPEND INBOX ", msg("pooled", "the pooled body")))
    base = "imap://uapool1@extmail.org/INBOX/;uid=1"
    lines = ok(o.cmd(f'GENURLAUTH "{base};urlauth=authuser" INTERNAL'))
    url = re.match(rb'\* GENURLAUTH "([^"]+)"', lines[0]).group(1)
    x = Raw(inst, other)
    ok(x.cmd("SELECT INBOX"))
    nobody = url.replace(b"uapool1@", b"nobody-here@")
    x.s.sendall(b"q1 URLFETCH \"" + url + b"\" \"" + nobody + b"\"\r\n"
                b"q2 NOOP\r\nq3 URLFETCH \"" + url + b"\"\r\n")
    got = []
    while not got or not got[-1].startswith(b"q3 "):
        line = x.f.readline()
        m = re.search(rb"\{(\d+)\}\r\n$", line)
        if m:
            line += x.f.read(int(m.group(1))) + x.f.readline()
        got.append(line.rstrip(b"\r\n"))
    tagged = [ln.split()[0] for ln in got if ln[:1] == b"q"]
    assert tagged == [b"q1", b"q2", b"q3"], got
    assert b"the pooled body" in got[0], got
    assert got[1].endswith(b" NIL"), got
    assert b"the pooled body" in got[4], got
    # meanwhile the owner's session on the same process was answered
    ok(o.cmd("NOOP"))
    o.close()
    x.close()


def test_notify_messagenew_fetch_atts(inst):
    """MessageNew (fetch-atts) of the selected mailbox: the new message's
    EXISTS, then its FETCH with those attributes, with no command."""
    addr = user(inst, "notifyf1")
    a = Raw(inst, addr)
    b = Raw(inst, addr)
    ok(a.cmd("APPEND INBOX ", msg("first")))
    ok(a.cmd("SELECT INBOX"))
    ok(a.cmd("NOTIFY SET (SELECTED (MessageNew (UID FLAGS ENVELOPE) "
             "MessageExpunge FlagChange))"))
    ok(b.cmd("APPEND INBOX ", msg("second news")))
    seen = a.read_until(lambda ln: ln.startswith(b"* 2 FETCH"))
    assert b"* 2 EXISTS" in seen, seen
    f = seen[-1]
    assert b"UID 2" in f and b"FLAGS (" in f and b'"second news"' in f, f
    # a bad fetch-att is BAD
    lines = a.cmd("NOTIFY SET (SELECTED (MessageNew (NOSUCH) "
                  "MessageExpunge))")
    assert re.match(rb"r\d+ BAD", lines[-1]), lines
    a.close()
    b.close()


def test_notify_selected_delayed(inst):
    """SELECTED-DELAYED (RFC 5465 §5.2): new mail and flag changes are
    told at once; an expunge waits for a command that may report it, so a
    FETCH still sees the old numbers, and NOOP then tells it."""
    addr = user(inst, "notifyd1")
    a = Raw(inst, addr)
    b = Raw(inst, addr)
    c = Raw(inst, addr)
    for k in range(3):
        ok(a.cmd("APPEND INBOX ", msg(f"d{k}")))
    ok(a.cmd("SELECT INBOX"))
    ok(a.cmd("NOTIFY SET (SELECTED-DELAYED (MessageNew (UID) "
             "MessageExpunge FlagChange))"))
    ok(c.cmd("SELECT INBOX"))
    ok(c.cmd("NOTIFY SET (SELECTED (MessageNew MessageExpunge "
             "FlagChange))"))
    ok(b.cmd("SELECT INBOX"))
    ok(b.cmd("APPEND INBOX ", msg("d3")))
    seen = a.read_until(lambda ln: ln.startswith(b"* 4 FETCH"))
    assert b"* 4 EXISTS" in seen and b"UID 4" in seen[-1], seen
    ok(b.cmd("STORE 2 +FLAGS (\\Flagged)"))
    seen = a.read_until(lambda ln: ln.startswith(b"* 2 FETCH"))
    assert b"\\Flagged" in seen[-1], seen
    c.read_until(lambda ln: ln.startswith(b"* 2 FETCH"))
    ok(b.cmd("STORE 1 +FLAGS (\\Deleted)"))
    ok(b.cmd("EXPUNGE"))
    # SELECTED tells c at once ...
    c.read_until(lambda ln: ln == b"* 1 EXPUNGE")
    # ... SELECTED-DELAYED keeps a's numbers until a command allows it
    lines = ok(a.cmd("FETCH 1:* (UID)"))
    assert not any(b"EXPUNGE" in ln for ln in lines), lines
    assert fetched(lines)[0] == (1, 1), lines
    lines = ok(a.cmd("NOOP"))
    assert b"* 1 EXPUNGE" in lines, lines
    lines = ok(a.cmd("FETCH 1 (UID)"))
    assert fetched(lines) == [(1, 2)], lines
    for r in (a, b, c):
        r.close()


def test_utf8_accept(inst):
    """UTF8=ACCEPT (RFC 6855): after ENABLE, mailbox names in UTF-8 both
    ways (modified UTF-7 on disk, as Dovecot keeps them, and for sessions
    that did not enable it), APPEND's UTF8 (literal8) item, and SEARCH
    without CHARSET on UTF-8 strings (with one: BAD)."""
    import os
    from test_imap_state import maildir
    addr = user(inst, "utf8acc")
    u = Raw(inst, addr)
    plain = Raw(inst, addr)
    assert b"UTF8=ACCEPT" in ok(u.cmd("CAPABILITY"))[0]
    # before ENABLE the UTF8 item is refused
    lines = u.cmd('APPEND INBOX UTF8 (~', b"Subject: x\r\n\r\nx\r\n", ")")
    assert re.match(rb"r\d+ BAD", lines[-1]), lines
    assert b"* ENABLED UTF8=ACCEPT" in ok(u.cmd("ENABLE UTF8=ACCEPT"))
    ok(u.cmd('CREATE "Résumé"'))
    ok(u.cmd('CREATE "A&B"'))
    md = maildir(inst, addr)
    assert os.path.isdir(os.path.join(md, ".R&AOk-sum&AOk-")), \
        os.listdir(md)
    assert os.path.isdir(os.path.join(md, ".A&-B")), os.listdir(md)
    lines = ok(u.cmd('LIST "" "*"'))
    assert '* LIST (\\HasNoChildren) "." "Résumé"'.encode() in lines, lines
    assert b'* LIST (\\HasNoChildren) "." "A&B"' in lines, lines
    lines = ok(plain.cmd('LIST "" "*"'))
    assert b'"R&AOk-sum&AOk-"' in b"".join(lines), lines
    # APPEND UTF8 (literal8) with UTF-8 header fields (RFC 6532)
    body = "From: José <jose@example.com>\r\nSubject: Grüße aus Köln\r\n" \
           "\r\nhallo\r\n"
    lines = ok(u.cmd('APPEND "Résumé" UTF8 (~', body.encode(), ")"))
    assert b"APPENDUID" in lines[-1], lines
    lines = ok(u.cmd('STATUS "Résumé" (MESSAGES)'))
    assert '* STATUS "Résumé" (MESSAGES 1)'.encode() in lines, lines
    ok(u.cmd('SELECT "Résumé"'))
    lines = ok(u.cmd("FETCH 1 BODY.PEEK[]"))
    assert body.encode() in b"".join(lines), lines
    assert nums(ok(u.cmd('SEARCH SUBJECT "Grüße"'))) == [1]
    lines = u.cmd('SEARCH CHARSET UTF-8 SUBJECT "Grüße"')
    assert re.match(rb"r\d+ BAD", lines[-1]), lines
    ok(u.cmd('COPY 1 "A&B"'))
    lines = ok(plain.cmd('STATUS "A&-B" (MESSAGES)'))
    assert b'* STATUS "A&-B" (MESSAGES 1)' in lines, lines
    # not UTF-8: BAD
    u.n += 1
    u.s.sendall(b'x1 SELECT "\xff\xfe"\r\n')
    line = u.f.readline()
    assert line.startswith(b"x1 BAD"), line
    u.close()
    plain.close()


def test_preview_cache(inst):
    """PREVIEW (RFC 8970) from youju-preview: PREVIEW (LAZY) is NIL until
    a plain PREVIEW computed it; the file keeps it across sessions, is
    what later FETCHes answer from (a line edited by hand shows), is
    checked by the file size, and drops expunged UIDs."""
    import os
    from test_imap_state import maildir
    addr = user(inst, "pvcache")
    r = Raw(inst, addr)
    for k in range(3):
        ok(r.cmd("APPEND INBOX ", msg(f"p{k}", f"preview text number {k}")))
    ok(r.cmd("SELECT INBOX"))
    lines = ok(r.cmd("FETCH 1:3 (PREVIEW (LAZY))"))
    assert sum(b"PREVIEW NIL" in ln for ln in lines) == 3, lines
    lines = ok(r.cmd("FETCH 1:3 (PREVIEW)"))
    assert b'* 2 FETCH (PREVIEW "preview text number 1")' in lines, lines
    lines = ok(r.cmd("FETCH 1:3 (UID PREVIEW (LAZY))"))
    assert b'* 3 FETCH (UID 3 PREVIEW "preview text number 2")' in lines, \
        lines
    ok(r.cmd("UNSELECT"))  # saves the file
    path = os.path.join(maildir(inst, addr), "youju-preview")
    with open(path) as f:
        text = f.read()
    head, *rows = text.splitlines()
    assert re.fullmatch(r"youju-preview 1 \d+", head), text
    assert [row.split(" ", 2)[0] for row in rows] == ["1", "2", "3"], text
    assert rows[1].endswith(" preview text number 1"), text
    # answered from the file: an edited line shows; a wrong size does not
    rows[1] = rows[1].replace("number 1", "edited 1")
    f3 = rows[2].split(" ", 2)
    rows[2] = f"{f3[0]} {int(f3[1]) + 1} stale"
    with open(path, "w") as f:
        f.write(head + "\n" + "\n".join(rows) + "\n")
    r2 = Raw(inst, addr)
    ok(r2.cmd("SELECT INBOX"))
    lines = ok(r2.cmd("FETCH 2:3 (PREVIEW (LAZY))"))
    assert b'* 2 FETCH (PREVIEW "preview text edited 1")' in lines, lines
    assert b"* 3 FETCH (PREVIEW NIL)" in lines, lines
    lines = ok(r2.cmd("FETCH 3 (PREVIEW)"))
    assert b'* 3 FETCH (PREVIEW "preview text number 2")' in lines, lines
    # an expunged message leaves the file at the next save
    ok(r2.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)"))
    ok(r2.cmd("EXPUNGE"))
    ok(r2.cmd("CLOSE"))
    with open(path) as f:
        uids = [row.split(" ", 1)[0] for row in f.read().splitlines()[1:]]
    assert uids == ["2", "3"], uids
    r.close()
    r2.close()
