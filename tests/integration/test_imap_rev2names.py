"""IMAP4rev2 (RFC 9051) after `ENABLE IMAP4rev2` alone, without
UTF8=ACCEPT: mailbox names are UTF-8 both ways (§5.1; the folders on
disk keep Dovecot's modified UTF-7 names), and the other differences of
Appendix E are on too: no \\Recent, ESEARCH answers, `* OK [CLOSED]`,
STATUS SIZE and DELETED, LIST's \\NonExistent; SEARCH CHARSET is still
allowed (only UTF8=ACCEPT refuses it).  And CATENATE with `UTF8
(literal8)` parts (RFC 6855 §4) once UTF8=ACCEPT is enabled."""
import os
import re

from test_imap_modern import Raw, ok
from test_imap_state import maildir, user


def bad(lines):
    assert b" BAD " in lines[-1], lines
    return lines


def test_rev2_alone_has_utf8_names(inst):
    addr = user(inst, "rev2names")
    md = maildir(inst, addr)
    # a rev1 session makes the folder with its modified UTF-7 name
    r1 = Raw(inst, addr)
    ok(r1.cmd('CREATE "R&AOk-sum&AOk-"'))
    ok(r1.cmd('APPEND "R&AOk-sum&AOk-" (\\Deleted) ',
              b"Subject: x\r\n\r\nhello\r\n"))
    assert os.path.isdir(os.path.join(md, ".R&AOk-sum&AOk-"))
    lines = ok(r1.cmd('LIST "" "R*"'))
    assert b'* LIST (\\HasNoChildren) "." "R&AOk-sum&AOk-"' in lines, lines

    r = Raw(inst, addr)
    lines = ok(r.cmd("ENABLE IMAP4rev2"))
    assert b"* ENABLED IMAP4rev2" in lines, lines
    # names out: LIST, LSUB, STATUS in UTF-8
    lines = ok(r.cmd('LIST "" "R*"'))
    assert '* LIST (\\HasNoChildren) "." "Résumé"'.encode() in lines, lines
    ok(r.cmd('SUBSCRIBE "Résumé"'))
    lines = ok(r.cmd('LSUB "" "R*"'))
    assert '"." "Résumé"'.encode() in lines[0], lines
    lines = ok(r.cmd('STATUS "Résumé" (MESSAGES SIZE DELETED)'))
    assert re.fullmatch(r'\* STATUS "Résumé" \(MESSAGES 1 SIZE \d+ '
                        r'DELETED 1\)'.encode(), lines[0]), lines
    # names in: SELECT, CREATE, RENAME, APPEND, COPY take UTF-8
    lines = ok(r.cmd('SELECT "Résumé"'))
    assert b"RECENT" not in b"".join(lines), lines
    ok(r.cmd('CREATE "日本"'))
    assert os.path.isdir(os.path.join(md, ".&ZeVnLA-"))
    ok(r.cmd('COPY 1 "日本"'))
    ok(r.cmd('RENAME "日本" "Ünï"'))
    assert os.path.isdir(os.path.join(md, ".&ANw-n&AO8-"))
    ok(r.cmd('APPEND "Ünï" ', b"Subject: y\r\n\r\nhi\r\n"))
    # a name the rev1 session would use is a name of its own here: "&"
    # is a plain character in UTF-8 names
    ok(r.cmd('CREATE "A&B"'))
    assert os.path.isdir(os.path.join(md, ".A&-B"))
    lines = ok(r1.cmd('STATUS "&ANw-n&AO8-" (MESSAGES)'))
    assert b"MESSAGES 2" in lines[0], lines
    lines = ok(r1.cmd('LIST "" "A*"'))
    assert b'"." "A&-B"' in lines[0], lines
    lines = ok(r.cmd('LIST "" "A*"'))
    assert lines[0].endswith(b'"." "A&B"'), lines
    # a name that is not UTF-8
    bad(r.cmd("SELECT ", b"\xff"))
    # SELECT of another folder: the previous one is CLOSED (RFC 9051
    # §7.1)
    lines = ok(r.cmd("SELECT INBOX"))
    assert b"* OK [CLOSED]" in lines[0], lines
    # LIST-EXTENDED: a subscribed name that is gone is \NonExistent
    ok(r1.cmd('SUBSCRIBE "A&-B"'))
    ok(r1.cmd('DELETE "A&-B"'))
    lines = ok(r.cmd('LIST (SUBSCRIBED) "" "A*"'))
    assert lines[0].endswith(b'"." "A&B"'), lines
    assert b"\\Subscribed" in lines[0] and b"\\NonExistent" in lines[0], \
        lines
    # SEARCH: ESEARCH, and CHARSET still allowed in IMAP4rev2
    ok(r.cmd('APPEND INBOX ', b"Subject: z\r\n\r\nhi\r\n"))
    ok(r.cmd("NOOP"))
    lines = ok(r.cmd("SEARCH CHARSET UTF-8 SUBJECT z"))
    assert any(re.fullmatch(rb'\* ESEARCH \(TAG "r\d+"\) ALL \d+', ln)
               for ln in lines), lines
    # APPEND's UTF8 item is UTF8=ACCEPT's, not IMAP4rev2's
    bad(r.cmd('APPEND INBOX UTF8 (~', b"Subject: u\r\n\r\nu\r\n", ")"))
    # the rev1 session is unchanged
    lines = ok(r1.cmd('LIST "" "*"'))
    assert not any("Ünï".encode() in ln for ln in lines), lines
    r.close()
    r1.close()


def test_catenate_utf8_parts(inst):
    addr = user(inst, "catutf8")
    r = Raw(inst, addr)
    ok(r.cmd("APPEND INBOX ", b"Subject: base\r\n\r\nthe base body\r\n"))
    lines = ok(r.cmd("STATUS INBOX (UIDVALIDITY)"))
    v = int(re.search(rb"UIDVALIDITY (\d+)", lines[0]).group(1))
    hdr = "Subject: héllo\r\nFrom: ü@例え.jp\r\n\r\n".encode()
    body = "grüße 你好\r\n".encode()
    url = f'"/INBOX;UIDVALIDITY={v}/;UID=1/;SECTION=TEXT"'
    # without UTF8=ACCEPT a UTF8 part is BAD, nothing is stored
    bad(r.cmd("APPEND INBOX CATENATE (UTF8 (~", hdr, "))"))
    lines = ok(r.cmd("ENABLE UTF8=ACCEPT"))
    assert b"UTF8=ACCEPT" in lines[0], lines
    # UTF8 (literal8) parts between TEXT and URL parts
    lines = ok(r.cmd("APPEND INBOX CATENATE (UTF8 (~", hdr, ") TEXT ",
                     body, " URL " + url + " UTF8 (~", body, "))"))
    uid = int(re.search(rb"APPENDUID \d+ (\d+)", lines[-1]).group(1))
    assert uid == 2, lines
    # a UTF8 part must hold one literal8
    bad(r.cmd("APPEND INBOX CATENATE (UTF8 (", b"x", "))"))
    bad(r.cmd('APPEND INBOX CATENATE (UTF8 "x")'))
    ok(r.cmd("EXAMINE INBOX"))
    lines = ok(r.cmd("UID FETCH 2 BODY.PEEK[]"))
    got = re.search(rb"\{(\d+)\}\r\n", lines[0])
    data = lines[0][got.end():got.end() + int(got.group(1))]
    assert data == hdr + body + b"the base body\r\n" + body, data
    lines = ok(r.cmd("SELECT INBOX"))
    assert b"* 2 EXISTS" in lines, lines
    r.close()
