"""Modern IMAP extensions of youju-mra (issue 17) over a raw socket:
MULTIAPPEND (RFC 3502) with its APPENDUID set and all-or-nothing storage
(a keyword that finds no letter, or the quota, refuses every message of
the command and leaves the folder and maildirsize as they were), CATENATE
(RFC 4469) from TEXT literals and URLs into the user's own mailboxes
(section, partial, a wrong UIDVALIDITY refused), LIST-STATUS (RFC 5819)
and STATUS=SIZE."""
import os
import re
import socket

from test_imap_mailbox import usage  # noqa: E402
from test_imap_state import PASSWORD, maildir, user  # noqa: E402


class Raw:
    """A line-level IMAP client that sends literals as LITERAL+."""

    def __init__(self, inst, addr):
        self.s = socket.create_connection(("127.0.0.1", inst.ports["imap"]),
                                          timeout=20)
        self.f = self.s.makefile("rb")
        self.caps = self.f.readline()
        self.n = 0
        lines = self.cmd(f'LOGIN "{addr}" "{PASSWORD}"')
        assert b" OK " in lines[-1], lines

    def cmd(self, *parts):
        """parts: str pieces sent as they are, bytes as literals."""
        self.n += 1
        tag = f"r{self.n}"
        out = f"{tag} ".encode()
        for p in parts:
            if isinstance(p, bytes):
                out += b"{%d+}\r\n" % len(p) + p
            else:
                out += p.encode()
        self.s.sendall(out + b"\r\n")
        lines = []
        while True:
            line = self.f.readline()
            assert line, lines
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                line += self.f.read(int(m.group(1)))
                line += self.f.readline()
            lines.append(line.rstrip(b"\r\n"))
            if line.startswith(tag.encode() + b" "):
                return lines

    def read_until(self, pred):
        """Unsolicited lines (no command sent) until pred(line) holds."""
        seen = []
        while True:
            line = self.f.readline()
            assert line, seen
            seen.append(line.rstrip(b"\r\n"))
            if pred(seen[-1]):
                return seen

    def append_seen(self, box, data, internal=None):
        """APPEND data to box, \\Seen; returns its UID (APPENDUID)."""
        when = f' "{internal}"' if internal else ""
        lines = self.cmd(f"APPEND {box} (\\Seen){when} ", data)
        assert b" OK " in lines[-1], lines
        return int(re.search(rb"APPENDUID \d+ (\d+)", lines[-1]).group(1))

    def close(self):
        self.s.close()


def ok(lines):
    """lines, a command's answer from Raw.cmd, once its tagged reply is
    OK."""
    assert re.match(rb"r\d+ OK", lines[-1]), lines
    return lines


def msg(subject, body="body"):
    return (f"From: a@example.com\r\nSubject: {subject}\r\n\r\n"
            f"{body}\r\n").encode()


def bodies(r, box):
    lines = r.cmd(f"EXAMINE {box}")
    assert b" OK " in lines[-1], lines
    lines = r.cmd("FETCH 1:* (UID BODY.PEEK[])")
    assert b" OK " in lines[-1], lines
    return [re.sub(rb"^.*?\{\d+\}\r\n", b"", ln, flags=re.S)[:-1]
            for ln in lines if b" FETCH " in ln]


def test_capabilities_advertised(inst):
    r = Raw(inst, user(inst, "modcaps"))
    caps = r.cmd("CAPABILITY")[0].split()
    for c in (b"MULTIAPPEND", b"CATENATE", b"LIST-STATUS", b"CONTEXT=SEARCH",
              b"STATUS=SIZE"):
        assert c in caps, caps
    r.close()


def test_multiappend_stores_all_with_uid_set(inst):
    addr = user(inst, "multiapp")
    r = Raw(inst, addr)
    assert b" OK " in r.cmd("CREATE Box")[-1]
    lines = r.cmd("APPEND Box (\\Seen) ", msg("m1"), " ",
                  '"24-Mar-2007 23:00:00 +0200" ', msg("m2"), " ",
                  "(\\Flagged $Work) ", msg("m3"))
    m = re.match(rb"r\d+ OK \[APPENDUID (\d+) 1:3\] ", lines[-1])
    assert m, lines
    lines = r.cmd("SELECT Box")
    assert b"* 3 EXISTS" in lines, lines
    lines = r.cmd("FETCH 1:3 (UID FLAGS INTERNALDATE "
                  "BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    f = [ln for ln in lines if b" FETCH " in ln]
    assert len(f) == 3, lines
    assert b"UID 1 " in f[0] and b"\\Seen" in f[0] and b"m1" in f[0], f
    assert b"24-Mar-2007 21:00:00 +0000" in f[1] and b"m2" in f[1], f
    assert b"\\Flagged" in f[2] and b"$Work" in f[2], f
    # a second one goes on from the next UID
    lines = r.cmd("APPEND Box ", msg("m4"), " ", msg("m5"))
    assert re.match(rb"r\d+ OK \[APPENDUID \d+ 4:5\] ", lines[-1]), lines
    r.close()


def test_multiappend_all_or_nothing(inst):
    addr = user(inst, "multiatom", quota="2000S")
    md = maildir(inst, addr)
    r = Raw(inst, addr)
    assert b" OK " in r.cmd("APPEND INBOX ", msg("base"))[-1]
    assert b" OK " in r.cmd("SELECT INBOX")[-1]
    kws = " ".join(f"k{i}" for i in range(26))
    assert b" OK " in r.cmd(f"STORE 1 +FLAGS ({kws})")[-1]
    before = sorted(os.listdir(os.path.join(md, "cur")))
    quota = usage(md)
    # the second message needs a 27th keyword: the first is not kept
    lines = r.cmd("APPEND INBOX (\\Seen) ", msg("a1"), " (k99) ",
                  msg("a2"))
    assert re.match(rb"r\d+ NO \[LIMIT\]", lines[-1]), lines
    assert sorted(os.listdir(os.path.join(md, "cur"))) == before
    assert usage(md) == quota
    # together over the quota though each would fit: nothing stored
    big = msg("big", "x" * 700)
    lines = r.cmd("APPEND INBOX ", big, " ", big, " ", big)
    assert re.match(rb"r\d+ NO \[OVERQUOTA\]", lines[-1]), lines
    assert sorted(os.listdir(os.path.join(md, "cur"))) == before
    assert usage(md) == quota
    lines = r.cmd("NOOP")
    assert not any(b"EXISTS" in ln for ln in lines), lines
    # a bad argument after good messages: nothing stored either
    lines = r.cmd("APPEND INBOX ", msg("ok"), " (\\Bogus")
    assert b" BAD " in lines[-1], lines
    assert sorted(os.listdir(os.path.join(md, "cur"))) == before
    r.close()


def test_catenate_text_and_urls(inst):
    addr = user(inst, "catenate")
    r = Raw(inst, addr)
    assert b" OK " in r.cmd("CREATE Src")[-1]
    src = (b"From: s@example.com\r\nSubject: src\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=xx\r\n\r\n"
           b"--xx\r\nContent-Type: text/plain\r\n\r\npart one\r\n"
           b"--xx\r\nContent-Type: text/plain\r\n\r\npart two\r\n"
           b"--xx--\r\n")
    lines = r.cmd("APPEND Src ", src)
    m = re.match(rb"r\d+ OK \[APPENDUID (\d+) (\d+)\]", lines[-1])
    assert m, lines
    v, u = int(m.group(1)), int(m.group(2))
    lines = r.cmd("APPEND INBOX (\\Seen) CATENATE (TEXT ",
                  b"From: new@example.com\r\nSubject: cat\r\n\r\n",
                  f' URL "/Src/;UID={u}/;SECTION=2" TEXT ', b"\r\ntail\r\n",
                  ")")
    assert re.match(rb"r\d+ OK \[APPENDUID \d+ 1\]", lines[-1]), lines
    lines = r.cmd(f'APPEND INBOX CATENATE (URL "/Src;UIDVALIDITY={v}/;'
                  f'UID={u}/;SECTION=HEADER" URL "/Src/;UID={u}/;'
                  f'SECTION=1/;PARTIAL=5.3")')
    assert b" OK " in lines[-1], lines
    # the whole message by URL, then a plain literal: MULTIAPPEND too
    lines = r.cmd(f'APPEND INBOX CATENATE (URL "/Src/;UID={u}") ',
                  msg("plain"))
    assert re.match(rb"r\d+ OK \[APPENDUID \d+ 3:4\]", lines[-1]), lines
    got = bodies(r, "INBOX")
    assert got[0] == (b"From: new@example.com\r\nSubject: cat\r\n\r\n"
                      b"part two\r\ntail\r\n"), got[0]
    hdr = src[:src.index(b"\r\n\r\n") + 4]
    assert got[1] == hdr + b"one", got[1]
    assert got[2] == src, got[2]
    assert got[3] == msg("plain"), got[3]
    # a wrong UIDVALIDITY, a missing UID, a foreign URL: refused, and
    # nothing of the command is stored
    for url in (f"/Src;UIDVALIDITY={v + 1}/;UID={u}", f"/Src/;UID={u + 9}",
                f"imap://other@host/Src/;UID={u}", "/Nope/;UID=1"):
        lines = r.cmd("APPEND INBOX ", msg("first"), " CATENATE (TEXT ",
                      b"x: y\r\n\r\n", f' URL "{url}")')
        assert re.match(rb"r\d+ NO \[BADURL\]", lines[-1]), (url, lines)
    lines = r.cmd(f'APPEND Missing CATENATE (URL "/Src/;UID={u}")')
    assert re.match(rb"r\d+ NO \[TRYCREATE\]", lines[-1]), lines
    assert len(bodies(r, "INBOX")) == 4
    r.close()


def test_status_size_and_list_status(inst):
    addr = user(inst, "liststatus")
    md = maildir(inst, addr)
    r = Raw(inst, addr)
    assert b" OK " in r.cmd("CREATE Work")[-1]
    assert b" OK " in r.cmd("CREATE Work.Sub")[-1]
    m1, m2 = msg("s1"), msg("s2", "y" * 100)
    assert b" OK " in r.cmd("APPEND Work (\\Seen) ", m1, " ", m2)[-1]
    # a file without W= (as an MDA writes it) with bare LF line ends:
    # SIZE counts it as RFC822.SIZE does, CR LF
    raw = b"From: a@example.com\nSubject: lf\n\nline\n"
    with open(os.path.join(md, ".Work", "new", "1.M1P1.host"), "wb") as f:
        f.write(raw)
    size = len(m1) + len(m2) + len(raw) + raw.count(b"\n")
    lines = r.cmd("STATUS Work (MESSAGES SIZE UNSEEN UIDNEXT)")
    assert lines[0] == (b'* STATUS "Work" (MESSAGES 3 SIZE %d UNSEEN 2 '
                        b"UIDNEXT 4)" % size), lines
    lines = r.cmd('LIST "" "*" RETURN (STATUS (MESSAGES SIZE))')
    assert b" OK " in lines[-1], lines
    # each STATUS right after its LIST line, none for INBOX's absence
    i = lines.index(b'* LIST () "." "Work"')
    assert lines[i + 1] == b'* STATUS "Work" (MESSAGES 3 SIZE %d)' % size
    i = lines.index(b'* LIST () "." "Work.Sub"')
    assert lines[i + 1] == b'* STATUS "Work.Sub" (MESSAGES 0 SIZE 0)'
    i = lines.index(b'* LIST () "." INBOX')
    assert lines[i + 1] == b'* STATUS "INBOX" (MESSAGES 0 SIZE 0)'
    # RETURN (CHILDREN STATUS (...)) combine; a bad item is BAD
    lines = r.cmd('LIST "" "Work" RETURN (CHILDREN STATUS (UNSEEN))')
    assert lines[:2] == [b'* LIST (\\HasChildren) "." "Work"',
                         b'* STATUS "Work" (UNSEEN 2)'], lines
    assert b" BAD " in r.cmd('LIST "" "*" RETURN (STATUS (BOGUS))')[-1]
    assert b" BAD " in r.cmd("STATUS Work (SIZE BOGUS)")[-1]
    lines = r.cmd("STATUS Nope (SIZE)")
    assert re.match(rb"r\d+ NO \[NONEXISTENT\]", lines[-1]), lines
    # the sum equals what FETCH RFC822.SIZE reports
    lines = r.cmd("EXAMINE Work")
    lines = r.cmd("FETCH 1:* RFC822.SIZE")
    sizes = [int(x) for x in re.findall(rb"RFC822.SIZE (\d+)",
                                        b"\n".join(lines))]
    assert sum(sizes) == size, (sizes, size)
    r.close()


def test_context_search_partial_and_update(inst):
    addr = user(inst, "ctxsearch")
    r = Raw(inst, addr)
    for i in range(6):
        assert b" OK " in r.cmd("APPEND INBOX ", msg(f"c{i}"))[-1]
    assert b" OK " in r.cmd("SELECT INBOX")[-1]
    lines = r.cmd("SEARCH RETURN (PARTIAL 2:4) ALL")
    assert re.match(rb'\* ESEARCH \(TAG "r\d+"\) PARTIAL \(2:4 2:4\)$',
                    lines[0]), lines
    lines = r.cmd("UID SEARCH RETURN (COUNT PARTIAL 5:3) 2,4:6")
    assert re.match(rb'\* ESEARCH \(TAG "r\d+"\) UID COUNT 4 '
                    rb'PARTIAL \(3:5 5:6\)$', lines[0]), lines
    lines = r.cmd("SEARCH RETURN (PARTIAL 7:9) ALL")
    assert lines[0].endswith(b"PARTIAL (7:9 NIL)"), lines
    for bad in ("1", "1:*", "0:2", "-1:-2"):
        lines = r.cmd(f"SEARCH RETURN (PARTIAL {bad}) ALL")
        assert b" BAD " in lines[-1], (bad, lines)
    # UPDATE: a flag change, an expunge and a new message are told
    lines = r.cmd("SEARCH RETURN (UPDATE ALL) SEEN")
    tag = lines[-1].split()[0].decode()
    assert lines[0] == b'* ESEARCH (TAG "%s")' % tag.encode(), lines
    lines = r.cmd("STORE 2,4 +FLAGS \\Seen")
    assert b'* ESEARCH (TAG "%s") ADDTO (0 2,4)' % tag.encode() in lines, \
        lines
    lines = r.cmd("STORE 4 -FLAGS \\Seen")
    assert b'* ESEARCH (TAG "%s") REMOVEFROM (0 4)' % tag.encode() in \
        lines, lines
    lines = r.cmd("STORE 1:2 +FLAGS (\\Deleted)")
    lines = r.cmd("EXPUNGE")
    # 1 goes first, so 2 is then number 1: told just before its EXPUNGE
    i = lines.index(b'* ESEARCH (TAG "%s") REMOVEFROM (0 1)' % tag.encode())
    assert lines[i + 1] == b"* 1 EXPUNGE" and lines[i - 1] == \
        b"* 1 EXPUNGE", lines
    # another session's change shows at the next command
    r2 = Raw(inst, addr)
    assert b" OK " in r2.cmd("APPEND INBOX (\\Seen) ", msg("new"))[-1]
    r2.close()
    lines = r.cmd("NOOP")
    assert b"* 5 EXISTS" in lines and \
        b'* ESEARCH (TAG "%s") ADDTO (0 5)' % tag.encode() in lines, lines
    # a UID one and CANCELUPDATE
    lines = r.cmd("UID SEARCH RETURN (UPDATE) UNSEEN")
    utag = lines[-1].split()[0].decode()
    lines = r.cmd("STORE 1 +FLAGS \\Seen")
    uid1 = int(re.search(rb"UID (\d+)", b"".join(
        r.cmd("FETCH 1 UID"))).group(1))
    assert b'* ESEARCH (TAG "%s") UID REMOVEFROM (0 %d)' % (
        utag.encode(), uid1) in lines, lines
    assert b" OK " in r.cmd(f'CANCELUPDATE "{tag}" "{utag}"')[-1]
    lines = r.cmd("STORE 1:* -FLAGS \\Seen")
    assert not any(b"ESEARCH" in ln for ln in lines), lines
    assert b" BAD " in r.cmd(f'CANCELUPDATE "{tag}"')[-1]
    # at most 8 at once; leaving the folder ends them
    for i in range(8):
        assert b" OK " in r.cmd("SEARCH RETURN (UPDATE) ALL")[-1]
    lines = r.cmd("SEARCH RETURN (UPDATE) ALL")
    assert re.match(rb"r\d+ NO \[NOUPDATE", lines[-1]), lines
    assert b" OK " in r.cmd("SELECT INBOX")[-1]
    assert b" OK " in r.cmd("SEARCH RETURN (UPDATE) ALL")[-1]
    # SORT keeps one too (CONTEXT=SORT, test_imap_qresync.py)
    assert b" OK " in r.cmd("SORT RETURN (UPDATE) (ARRIVAL) UTF-8 ALL")[-1]
    r.close()


def modseqs(lines):
    return {int(m.group(1)): int(m.group(2)) for m in (
        re.match(rb"\* (\d+) FETCH \(.*MODSEQ \((\d+)\)", ln)
        for ln in lines) if m}


def test_condstore(inst):
    addr = user(inst, "condstore")
    md = maildir(inst, addr)
    r = Raw(inst, addr)
    assert b"CONDSTORE" in r.cmd("CAPABILITY")[0].split()
    for i in range(3):
        assert b" OK " in r.cmd("APPEND INBOX ", msg(f"m{i}"))[-1]
    assert r.cmd("ENABLE CONDSTORE")[0] == b"* ENABLED CONDSTORE"
    lines = r.cmd("SELECT INBOX")
    h0 = int(re.search(rb"\[HIGHESTMODSEQ (\d+)\]", b"\n".join(lines))
             .group(1))
    ms0 = modseqs(r.cmd("FETCH 1:* (UID MODSEQ)"))
    assert sorted(ms0) == [1, 2, 3] and max(ms0.values()) == h0, ms0
    # our STORE: the FETCH says the new modseq, above the old highest
    lines = r.cmd("STORE 2 +FLAGS (\\Seen)")
    ms1 = modseqs(lines)
    assert list(ms1) == [2] and ms1[2] > h0, lines
    # a change behind our back (a rename, as Dovecot makes it) shows with
    # a modseq of its own at the next command
    cur = os.path.join(md, "cur")
    # message 1 is the oldest: order by the name's seconds and then its
    # microseconds (M<usec> is not zero-padded, so not by plain name)
    def arrival(n):
        usec = re.search(r"\.M(\d+)", n)
        return (int(n.split(".")[0]), int(usec.group(1)) if usec else 0)
    name = min(os.listdir(cur), key=arrival)
    assert name.endswith(":2,"), name
    os.rename(os.path.join(cur, name), os.path.join(cur, name + "F"))
    lines = r.cmd("NOOP")
    ms2 = modseqs(lines)
    assert list(ms2) == [1] and ms2[1] > ms1[2], lines
    # CHANGEDSINCE: only what changed after h0
    lines = r.cmd(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {h0})")
    assert sorted(modseqs(lines)) == [1, 2], lines
    # UNCHANGEDSINCE: message 1 changed after h0, so it is not stored
    lines = r.cmd(f"STORE 1:3 (UNCHANGEDSINCE {h0}) +FLAGS (\\Answered)")
    assert re.match(rb"r\d+ OK \[MODIFIED 1,2\]", lines[-1]), lines
    assert list(modseqs(lines)) == [3], lines
    # SEARCH MODSEQ, plain and ESEARCH
    lines = r.cmd(f"SEARCH MODSEQ {ms2[1]}")
    h = max(modseqs(r.cmd("FETCH 1:* MODSEQ")).values())
    assert lines[0] == b"* SEARCH 1 3 (MODSEQ %d)" % h, lines
    lines = r.cmd(f'SEARCH RETURN (MIN) MODSEQ "/flags/\\\\seen" all {h0}')
    assert lines[0].endswith(b"MIN 1 MODSEQ %d" % ms2[1]), lines
    # STATUS and a new session: the same numbers (kept in youju-modseq)
    lines = r.cmd("STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
    assert lines[0] == b'* STATUS "INBOX" (HIGHESTMODSEQ %d MESSAGES 3)' % h
    r.close()
    with open(os.path.join(md, "youju-modseq"), "rb") as f:
        assert f.readline().startswith(b"youju-modseq 2 ")
    r = Raw(inst, addr)
    lines = r.cmd("SELECT INBOX (CONDSTORE)")
    assert b"* OK [HIGHESTMODSEQ %d] Highest" % h in lines, lines
    ms3 = modseqs(r.cmd("FETCH 1:* (MODSEQ)"))
    assert ms3[1] == ms2[1] and ms3[2] == ms1[2], (ms3, ms1, ms2)
    # an expunge raises HIGHESTMODSEQ
    r.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)")
    r.cmd("EXPUNGE")
    lines = r.cmd("STATUS INBOX (HIGHESTMODSEQ)")
    h2 = int(re.search(rb"HIGHESTMODSEQ (\d+)", lines[0]).group(1))
    assert h2 > h, lines
    # without CONDSTORE a session sees no MODSEQ
    r.close()
    r = Raw(inst, addr)
    lines = r.cmd("SELECT INBOX")
    assert not any(b"HIGHESTMODSEQ" in ln for ln in lines), lines
    lines = r.cmd("STORE 1 -FLAGS (\\Flagged)")
    assert not any(b"MODSEQ" in ln for ln in lines), lines
    r.close()
