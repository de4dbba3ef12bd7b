"""IMAP conformance (issue 10): Dovecot's imaptest scripted groups against
this instance, and one test per defect imaptest found, with imaplib and
raw sockets: \\Recent given to exactly one session (SELECT, STATUS,
SEARCH NEW/OLD/RECENT), '[' in unquoted mailbox names, SEARCH SUBJECT NIL,
RFC 5322 addresses in ENVELOPE and SEARCH (compared with a private Dovecot
2.3 on the same machine), UIDVALIDITY never reused by DELETE + CREATE,
LIST-EXTENDED CHILDINFO as Dovecot, LIST with 30 wildcards answered in
under 50 ms, and STATUS item checking."""
import atexit
import contextlib
import imaplib
import os
import pwd
import re
import shutil
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))

import imaptest as conformance  # noqa: E402
from dovecot_peer import Dovecot  # noqa: E402

PASSWORD = "conf-secret1"
_made = set()
_dv = []

# imaptest groups allowed to fail (none since the mailbox layer brought
# COPYUID and atomic STORE).  A group listed here that passes is reported,
# so the list can only shrink.
KNOWN_FAILING = set()


def user(inst, local):
    addr = f"{local}@extmail.org"
    if addr not in _made:
        inst.sql(f"DELETE FROM mailbox WHERE username='{addr}'")
        inst.sql("INSERT INTO mailbox (username, uid, password, name, "
                 "maildir, homedir, quota, domain, uidnumber, gidnumber, "
                 f"active) VALUES ('{addr}', '{local}', "
                 f"'{{PLAIN}}{PASSWORD}', '{local}', "
                 f"'extmail.org/{local}/Maildir/', 'extmail.org/{local}', "
                 "'0S', 'extmail.org', 1000, 1000, 1)")
        _made.add(addr)
    return addr


def login(inst, addr):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=20)
    m.login(addr, PASSWORD)
    return m


def ok(r):
    typ, data = r
    assert typ == "OK", data
    return data


class Raw:
    """A raw IMAP connection: commands sent exactly as written."""

    def __init__(self, port, addr):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""
        self.n = 0
        self.line()  # greeting
        self.cmd(f'LOGIN "{addr}" "{PASSWORD}"')

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode("utf-8", "replace")

    def cmd(self, text, expect="OK"):
        """(untagged lines, tagged line); asserts the tagged status."""
        self.n += 1
        tag = f"c{self.n}"
        self.s.sendall(f"{tag} {text}\r\n".encode())
        untagged = []
        while True:
            ln = self.line()
            if ln.startswith(tag + " "):
                st = ln.split(" ", 2)[1]
                assert expect is None or st == expect, (text, ln,
                                                        untagged)
                return untagged, ln
            untagged.append(ln)

    def close(self):
        try:
            self.cmd("LOGOUT", None)
        except (OSError, EOFError):
            pass
        self.s.close()


def append(m, box, text, flags=None):
    ok(m.append(box, flags, None, text.replace("\n", "\r\n").encode()))


def recent_of(untagged):
    for ln in untagged:
        mm = re.match(r"\* (\d+) RECENT", ln)
        if mm:
            return int(mm.group(1))
    return None


# ---- imaptest ---------------------------------------------------------------

def test_imaptest_scripted_groups(inst):
    """Every scripted group of Dovecot's imaptest (tests/conformance)."""
    srcdir = os.path.abspath(inst.srcdir)
    binary = conformance.build_imaptest(srcdir,
                                        os.path.join(srcdir, "build"))
    users = (user(inst, "imaptest1"), user(inst, "imaptest2"))
    res = conformance.run_groups(binary, inst.ports["imap"], users,
                                 PASSWORD)
    p, f, s = conformance.counts(res)
    print(f"imaptest: {p} pass, {f} fail, {s} skip")
    failed = {n for n, (r, _) in res.items() if r == "fail"}
    unexpected = failed - KNOWN_FAILING
    for n in sorted(unexpected):
        print(f"--- {n}\n{res[n][1]}")
    fixed = KNOWN_FAILING - failed
    if fixed:
        print(f"imaptest: now passing, drop from KNOWN_FAILING: "
              f"{sorted(fixed)}")
    assert not unexpected, sorted(unexpected)
    # every group youju does not skip passes; the skipped ones are the
    # extensions not offered (docs/mra.md)
    assert p >= 71 and s == 0, (p, f, s)


# ---- \Recent ----------------------------------------------------------------

def test_recent_given_to_one_session(inst):
    addr = user(inst, "conf-recent")
    a, b = Raw(inst.ports["imap"], addr), Raw(inst.ports["imap"], addr)
    m = login(inst, addr)
    try:
        ok(m.create("R"))
        for i in range(3):
            append(m, "R", f"Subject: r{i}\n\nbody\n")
        # STATUS does not take them
        u, _ = a.cmd("STATUS R (MESSAGES RECENT UNSEEN)")
        assert u == ["* STATUS \"R\" (MESSAGES 3 RECENT 3 UNSEEN 3)"], u
        # EXAMINE shows them recent but leaves them for a SELECT
        u, t = a.cmd("EXAMINE R")
        assert recent_of(u) == 3 and "[READ-ONLY]" in t, u
        u, _ = a.cmd("SEARCH RECENT")
        assert u == ["* SEARCH 1 2 3"], u
        a.cmd("CLOSE")
        u, _ = a.cmd("SELECT R")
        assert recent_of(u) == 3, u
        u, _ = a.cmd("FETCH 1 FLAGS")
        assert "\\Recent" in u[0], u
        u, _ = a.cmd("SEARCH NEW")
        assert u == ["* SEARCH 1 2 3"], u
        u, _ = a.cmd("SEARCH OLD")
        assert u == ["* SEARCH"], u
        # the second session sees none of them recent
        u, _ = b.cmd("SELECT R")
        assert recent_of(u) == 0, u
        u, _ = b.cmd("SEARCH RECENT")
        assert u == ["* SEARCH"], u
        # a new message goes to the first session to see it (b here:
        # NOOP), and is not recent for a (whose RECENT still counts its
        # own three)
        append(m, "R", "Subject: r3\n\nbody\n")
        u, _ = b.cmd("NOOP")
        assert "* 4 EXISTS" in u and recent_of(u) == 1, u
        u, _ = a.cmd("NOOP")
        assert "* 4 EXISTS" in u and recent_of(u) == 3, u
        u, _ = a.cmd("SEARCH RECENT")
        assert u == ["* SEARCH 1 2 3"], u
        u, _ = b.cmd("SEARCH RECENT")
        assert u == ["* SEARCH 4"], u
        # after both closed, nothing is recent any more
        a.cmd("CLOSE")
        b.cmd("CLOSE")
        u, _ = a.cmd("STATUS R (RECENT)")
        assert u == ["* STATUS \"R\" (RECENT 0)"], u
        u, _ = a.cmd("SELECT R")
        assert recent_of(u) == 0, u
    finally:
        a.close()
        b.close()
        m.logout()


def test_recent_delivery_and_parallel_selects(inst):
    """Many sessions SELECT at once: each new message is recent in
    exactly one of them."""
    addr = user(inst, "conf-recent2")
    m = login(inst, addr)
    ok(m.create("P"))
    for i in range(5):
        append(m, "P", f"Subject: p{i}\n\nbody\n")
    conns = [Raw(inst.ports["imap"], addr) for _ in range(6)]
    try:
        for c in conns:  # pipelined: all SELECTs in flight together
            c.n += 1
            c.s.sendall(f"c{c.n} SELECT P\r\n".encode())
        total = 0
        for c in conns:
            u = []
            while True:
                ln = c.line()
                if ln.startswith(f"c{c.n} "):
                    assert " OK " in ln, ln
                    break
                u.append(ln)
            total += recent_of(u)
        assert total == 5, total
    finally:
        for c in conns:
            c.close()
        m.logout()


# ---- parser -----------------------------------------------------------------

def test_bracket_in_mailbox_name_and_nil_string(inst):
    addr = user(inst, "conf-parse")
    r = Raw(inst.ports["imap"], addr)
    try:
        r.cmd("CREATE foo[bar")
        u, _ = r.cmd('LIST "" foo[*')
        assert u == ['* LIST (\\HasNoChildren) "." "foo[bar"'], u
        u, t = r.cmd("SELECT foo[bar")
        assert "[READ-WRITE]" in t, (u, t)
        r.cmd("SELECT nosuch[box", "NO")
        # the fetch-att sections still parse
        r.cmd("SELECT INBOX")
        m = login(inst, addr)
        append(m, "INBOX", "Subject: nil\nX-A: 1\n\nNIL body\n")
        append(m, "INBOX", "Subject: other\n\nbody\n")
        m.logout()
        r.cmd("NOOP")
        u, _ = r.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (X-A)])")
        assert "X-A: 1" in "\n".join(u), u
        # an unquoted NIL is the string "NIL" (RFC 3501 astring)
        u, _ = r.cmd("SEARCH SUBJECT NIL")
        assert u == ["* SEARCH 1"], u
        u, _ = r.cmd("SEARCH BODY nil")
        assert u == ["* SEARCH 1"], u
        r.cmd("STORE 2 +FLAGS NIL")
        u, _ = r.cmd("FETCH 2 FLAGS")
        assert "NIL" in u[0], u
    finally:
        r.close()


# ---- addresses --------------------------------------------------------------

# header fields whose ENVELOPE must equal Dovecot's
ADDR_CASES = [
    "From: From Real <fromuser@fromdomain.org>",
    "From: user@domain (Real Name)",
    "From: user@domain (Real (nested) Name)",
    "From: <@route:user@domain>",
    "From: <@r1,@r2:user@domain>",
    "From: \"Doe, John\" <john@example.com>",
    "From: John Q. Public <jqp@example.com>",
    "From: =?UTF-8?B?w6TDtg==?= <a@example.com>",
    "From: a@example.com, b@example.com (B), C <c@example.com>",
    "From: <user (c)@ (c) example.com>",
    "From: user@[127.0.0.1]",
    "To: group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;",
    "To: group:;, group2: (foo) ;",
    "To: undisclosed-recipients:;",
    "From: root",
    "From: \"john doe\"@example.com",
    "From: \"abc\"@example.com",
    "From: <>",
    "From: a@b, , c@d",
    "From: Name <a@b> (comment)",
    "From: \"Quoted \\\"Name\\\"\" <a@b>",
    "From: a@b (x) (y)",
    "To: a@b;",
    "To: g: a@b",
    "Cc: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
    "From: \"One \\\"q\" <a@b>",
    "From: \"Back\\\\slash\" <a@b>",
    "Subject: say \"hi\"",
    "From: a@b,",
    "From: ,a@b",
    "To: g:a@b,,c@d;",
    "From: \"a@b\" <c@d>",
    "From: a@",
]


def dovecot(inst):
    if _dv:
        return _dv[0]
    pw = pwd.getpwnam("vmail")
    root = inst.path("conf-dovecot")
    home = os.path.join(root, "home")
    os.makedirs(home, exist_ok=True)
    os.chmod(root, 0o755)
    os.chown(home, pw.pw_uid, pw.pw_gid)
    dv = Dovecot(os.path.join(root, "dv"),
                 [("dv@extmail.org", PASSWORD, pw.pw_uid, pw.pw_gid, home)])
    _dv.append(dv)
    atexit.register(dv.stop)
    dv.start()
    return dv


def envelopes(m, box, headers):
    """ENVELOPE of one message per header field, appended to box, each
    as the response's bytes (literals inline)."""
    m.create(box)
    ok(m.select(box))
    for h in headers:
        append(m, box, f"Date: Thu, 15 Feb 2007 01:02:03 +0200\n{h}\n\nx\n")
    ok(m.select(box))
    out = []
    for i in range(1, len(headers) + 1):
        data = ok(m.fetch(str(i), "(ENVELOPE)"))
        raw = b"".join(d if isinstance(d, bytes) else d[0] + d[1]
                       for d in data)
        out.append(raw.decode("utf-8", "replace"))
    return out


def test_envelope_addresses_as_dovecot(inst):
    addr = user(inst, "conf-env")
    dv = dovecot(inst)
    y = login(inst, addr)
    d = imaplib.IMAP4("127.0.0.1", dv.ports["imap"], timeout=20)
    d.login("dv@extmail.org", PASSWORD)
    try:
        ye = envelopes(y, "Env", ADDR_CASES)
        de = envelopes(d, "Env", ADDR_CASES)
    finally:
        y.logout()
        d.logout()
    assert len(ye) == len(ADDR_CASES) == len(de), (ye, de)
    diff = [(h, a, b) for h, a, b in zip(ADDR_CASES, ye, de) if a != b]
    assert not diff, "\n".join(f"{h}\n  youju:   {a}\n  dovecot: {b}"
                               for h, a, b in diff)
    # spot checks of what RFC 3501 §7.4.2 asks for
    assert '(("Real Name" NIL "user" "domain"))' in ye[1], ye[1]
    assert '((NIL "@route" "user" "domain"))' in ye[3], ye[3]
    assert ('((NIL NIL "group" NIL)(NIL NIL "g1" "d1.org")'
            '(NIL NIL "g2" "d2.org")(NIL NIL NIL NIL)') in ye[11], ye[11]


def test_search_addresses(inst):
    addr = user(inst, "conf-search")
    m = login(inst, addr)
    try:
        for h in ("From: <user-from (comment)@ (comment) domain.org>",
                  "From: user-from@domain.org (RealFrom)",
                  "From: RealFrom <user-from1@domain.org>",
                  "To: groupname: groupuser1@domain.org;"):
            append(m, "INBOX", f"{h}\nSubject: s\n\nbody\n")
        ok(m.select("INBOX"))
        assert ok(m.search(None, "FROM", "user-from@domain.org")) == \
            [b"1 2"]
        assert ok(m.search(None, "FROM", "realfrom")) == [b"2 3"]
        assert ok(m.search(None, "FROM", "comment")) == [b""]
        assert ok(m.search(None, "TO", "groupname")) == [b"4"]
        # HEADER matches the field text, comments included
        assert ok(m.search(None, "HEADER", "FROM", "comment")) == [b"1"]
    finally:
        m.logout()


# ---- UIDVALIDITY ------------------------------------------------------------

def test_uidvalidity_never_reused(inst):
    addr = user(inst, "conf-uidv")
    m = login(inst, addr)
    seen = []
    try:
        t0 = time.time()
        for _ in range(4):  # well within a second or two
            ok(m.create("U"))
            append(m, "U", "Subject: u\n\nbody\n")
            data = ok(m.status("U", "(UIDVALIDITY UIDNEXT)"))
            v = int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
            seen.append(v)
            ok(m.delete("U"))
        assert len(set(seen)) == len(seen), seen
        assert seen == sorted(seen), seen
        assert seen[-1] - seen[0] <= int(time.time() - t0) + 4, seen
    finally:
        m.logout()


# ---- LIST -------------------------------------------------------------------

def _norm_list(lines):
    """LIST lines with the mailbox name unquoted, sorted."""
    out = []
    for ln in lines:
        mm = re.match(r'(\* LIST \([^)]*\) "\." )"?([^" ]*)"?(.*)', ln)
        out.append(mm.group(1) + mm.group(2) + mm.group(3) if mm else ln)
    return sorted(out)


LIST_CASES = [
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" (cl.b cl.b.c)',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" (cl.b)',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" cl*e',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" cl.%',
    'LIST (SUBSCRIBED) "" cl*',
    'LIST "" cl.% RETURN (CHILDREN SUBSCRIBED)',
    'LIST "" (cl.b cl.d.*)',
]


def test_listext_childinfo_as_dovecot(inst):
    with beside_dovecot(inst, "conf-list") as (addr, y, d, m, dm):
        for r in (y, d):
            for b in ("cl", "cl.b", "cl.b.c", "cl.d", "cl.d.e", "cl.d.f"):
                r.cmd(f"CREATE {b}")
            r.cmd("SUBSCRIBE cl.b.c")
            r.cmd("SUBSCRIBE cl.d.e")
        diff = []
        for c in LIST_CASES:
            yu, _ = y.cmd(c)
            du, _ = d.cmd(c)
            if _norm_list(yu) != _norm_list(du):
                diff.append(f"{c}\n  youju:   {yu}\n  dovecot: {du}")
        assert not diff, "\n".join(diff)
        # the case: no CHILDINFO line for a listed child
        yu, _ = y.cmd(LIST_CASES[0])
        assert not [ln for ln in yu if "CHILDINFO" in ln], yu
        yu, _ = y.cmd(LIST_CASES[1])
        assert [ln for ln in yu if "CHILDINFO" in ln], yu


def test_list_thirty_stars_fast(inst):
    addr = user(inst, "conf-stars")
    r = Raw(inst.ports["imap"], addr)
    try:
        for i in range(8):
            r.cmd(f"CREATE f{i}.sub{i}.leaf{i}")
        for pat in ("*" * 30 + "Z", "%*" * 15 + "Z", "*a" * 15 + "Z",
                    "*" * 30 + "leaf7"):
            t0 = time.monotonic()
            u, _ = r.cmd(f'LIST "" "{pat}"')
            ms = (time.monotonic() - t0) * 1000
            assert ms < 50, (pat, ms)
            if pat.endswith("leaf7"):
                assert u == ['* LIST (\\HasNoChildren) "." '
                             '"f7.sub7.leaf7"'], u
            else:
                assert u == [], u
        # a new client is greeted at once right after
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", inst.ports["imap"]),
                                      timeout=5) as s:
            assert s.recv(100).startswith(b"* OK")
        assert time.monotonic() - t0 < 1
    finally:
        r.close()


# ---- BINARY (RFC 3516) -------------------------------------------------------

def test_binary_fetch_and_literal8_append(inst):
    addr = user(inst, "conf-binary")
    r = Raw(inst.ports["imap"], addr)
    try:
        u, _ = r.cmd("CAPABILITY")
        assert " BINARY" in u[0], u
        r.cmd("CREATE B")
        # a literal8 with NULs: stored with that part in base64
        body = b"\x00-\xe4\r\n\r\n"
        msg = (b"From: a@b\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: binary\r\n\r\n" + body)
        r.n += 1
        r.s.sendall(f"c{r.n} APPEND B ~{{{len(msg)}+}}\r\n".encode()
                    + msg + b"\r\n")
        while True:
            ln = r.line()
            if ln.startswith(f"c{r.n} "):
                assert " OK " in ln, ln
                break
        m = login(inst, addr)
        qp = ("Content-Type: text/plain\nContent-Transfer-Encoding: "
              "quoted-printable\n\nhello  \nfoo=\n bar=3D=\n\n")
        append(m, "B", "Subject: q\n" + qp)
        m.logout()
        r.cmd("SELECT B")
        # the stored part is base64 text: BODY[1] has no NUL
        r.n += 1
        r.s.sendall(f"c{r.n} FETCH 1 (BODY.PEEK[1] BINARY.SIZE[1] "
                    f"BINARY.PEEK[1])\r\n".encode())
        data = b""
        while f"c{r.n} OK".encode() not in data:
            chunk = r.s.recv(65536)
            assert chunk, data
            data += chunk
        data, r.buf = r.buf + data, b""
        assert b"BINARY.SIZE[1] 7" in data, data
        head, lit = data.split(b"BINARY[1] ~{7}\r\n", 1)
        assert lit.startswith(body), data
        assert b"\x00" not in head, head
        # quoted-printable decoded ("hello\r\nfoo bar=\r\n"), the
        # trailing white space dropped
        u, _ = r.cmd("FETCH 2 (BINARY.SIZE[1] BINARY.PEEK[1]<0.5>)")
        assert u[0] == "* 2 FETCH (BINARY.SIZE[1] 17 BINARY[1]<0> {5}", u
        assert u[1] == "hello)", u
        r.cmd("FETCH 2 (BINARY.SIZE[1]<0.5>)", "BAD")
        r.cmd("FETCH 2 (BINARY[HEADER])", "BAD")
    finally:
        r.close()


# ---- ESEARCH (RFC 4731) ------------------------------------------------------

def test_esearch(inst):
    addr = user(inst, "conf-esearch")
    m = login(inst, addr)
    ok(m.create("E"))
    for i in range(6):
        append(m, "E", f"Subject: e{i}\n\nbody\n")
    m.logout()
    r = Raw(inst.ports["imap"], addr)
    try:
        u, _ = r.cmd("CAPABILITY")
        assert " ESEARCH" in u[0], u
        r.cmd("SELECT E")
        r.cmd("STORE 4 +FLAGS \\Deleted")
        r.cmd("EXPUNGE")
        tag = f"c{r.n + 1}"
        u, _ = r.cmd("SEARCH RETURN () ALL")
        assert u == [f'* ESEARCH (TAG "{tag}") ALL 1:5'], u
        tag = f"c{r.n + 1}"
        u, _ = r.cmd("UID SEARCH RETURN (MIN MAX COUNT ALL) ALL")
        assert u == [f'* ESEARCH (TAG "{tag}") UID MIN 1 MAX 6 '
                     'ALL 1:3,5:6 COUNT 5'], u
        tag = f"c{r.n + 1}"
        u, _ = r.cmd("SEARCH RETURN (MIN COUNT) 1000")
        assert u == [f'* ESEARCH (TAG "{tag}") COUNT 0'], u
        u, _ = r.cmd("SEARCH 2:3")
        assert u == ["* SEARCH 2 3"], u
        # SEARCHRES (RFC 5182): SAVE alone answers nothing untagged
        u, _ = r.cmd("SEARCH RETURN (SAVE) ALL")
        assert u == [], u
        r.cmd("SEARCH RETURN (NOSUCH) ALL", "BAD")
        r.cmd("SEARCH RETURN ALL", "BAD")
    finally:
        r.close()


# ---- SORT (RFC 5256, RFC 5957) ----------------------------------------------

SORT_MSGS = [
    ("Re: [list] hello", "Zed <z@x.org>", "Mon, 1 Jan 2024 10:00:00 +0000"),
    ("hello (fwd)", "al@x.org", "Mon, 1 Jan 2024 12:00:00 +0300"),
    ("[xyz]", "=?UTF-8?Q?B=C3=A9a?= <b@x.org>",
     "Sun, 31 Dec 2023 23:00:00 -0500"),
    ("Fwd: Apple", "grp: c@x.org;", "bogus date"),
    ("_under", "\"Quoted\" <q@x.org>", "1 Jan 2024 09:00 +0000"),
    ("apple", "", "Tue, 2 Jan 2024 00:00:00 +0000"),
]

SORT_CMDS = [
    "SORT (SUBJECT) UTF-8 ALL",
    "SORT (REVERSE SUBJECT) UTF-8 ALL",
    "SORT (DATE) UTF-8 ALL",
    "SORT (REVERSE DATE) UTF-8 ALL",
    "SORT (FROM) UTF-8 ALL",
    "SORT (DISPLAYFROM) UTF-8 ALL",
    "SORT (SIZE SUBJECT) US-ASCII ALL",
    "SORT (ARRIVAL) UTF-8 NOT SUBJECT apple",
    "UID SORT (SUBJECT REVERSE ARRIVAL) UTF-8 2:*",
    "SORT RETURN (MIN MAX COUNT ALL) (REVERSE SUBJECT) UTF-8 ALL",
    "UID SORT RETURN () (DATE) UTF-8 ALL",
    "SORT RETURN (COUNT) (FROM) UTF-8 1000",
]


def _untag(lines):
    return [re.sub(r'\(TAG "[^"]*"\)', "(TAG)", ln) for ln in lines]


def _index_saved(inst, r, addr, folder):
    """Closes and reopens folder on r (which saves its youju.index) and
    checks that the file is version 4, the one with sort keys."""
    name = folder.lstrip(".")
    r.cmd("UNSELECT")
    local, domain = addr.split("@")
    ix = inst.path("mailbox", domain, local, "Maildir", folder,
                   "youju.index")
    with open(ix, "rb") as f:
        head = f.read(12)
    assert head[:8] == b"youjuidx" and head[8] == 4, head
    r.cmd(f"SELECT {name}")


@contextlib.contextmanager
def beside_dovecot(inst, local):
    """A raw session and an imaplib one on youju (mailbox local) and on
    the Dovecot peer, in that order: (addr, y, d, m, dm)."""
    addr = user(inst, local)
    dv = dovecot(inst)
    y = Raw(inst.ports["imap"], addr)
    d = Raw(dv.ports["imap"], "dv@extmail.org")
    m = login(inst, addr)
    dm = imaplib.IMAP4("127.0.0.1", dv.ports["imap"], timeout=20)
    dm.login("dv@extmail.org", PASSWORD)
    try:
        yield addr, y, d, m, dm
    finally:
        m.logout()
        dm.logout()
        y.close()
        d.close()


def answers_unlike_dovecot(inst, y, d, addr, folder, cmds, norm=None):
    """Each of cmds on both servers, with folder selected, twice: from the
    files, then (the folder closed and opened again, which saves
    youju.index) from the index.  The differences, as lines to show."""
    for r in (y, d):
        r.cmd(f"SELECT {folder}")
    diff = []
    for rnd in ("files", "youju.index"):
        if rnd != "files":
            _index_saved(inst, y, addr, "." + folder)
        for c in cmds:
            yu, _ = y.cmd(c)
            du, _ = d.cmd(c)
            if norm is not None:
                yu, du = norm(yu), norm(du)
            if yu != du:
                diff.append(f"{rnd}: {c}\n  youju:   {yu}\n"
                            f"  dovecot: {du}")
    return diff


def test_sort_as_dovecot(inst):
    with beside_dovecot(inst, "conf-sort") as (addr, y, d, m, dm):
        u, _ = y.cmd("CAPABILITY")
        assert " SORT " in u[0] and "SORT=DISPLAY" in u[0], u
        for mm in (m, dm):
            ok(mm.create("S"))
            for i, (subj, frm, date) in enumerate(SORT_MSGS):
                # distinct internal dates, not in append order: ARRIVAL
                # must not depend on whether two APPENDs fell in the same
                # second, nor coincide with the sequence numbers
                text = (f"Subject: {subj}\r\nFrom: {frm}\r\n"
                        f"Date: {date}\r\n\r\n" + "x" * (10 * (i % 3))
                        + "\r\n")
                ok(mm.append("S", None,
                             f'"0{i * 4 % 7 + 1}-Feb-2024 10:00:00 +0000"',
                             text.encode()))
        diff = answers_unlike_dovecot(inst, y, d, addr, "S", SORT_CMDS,
                                      _untag)
        assert not diff, "\n".join(diff)
        y.cmd("SORT (BOGUS) UTF-8 ALL", "BAD")
        y.cmd("SORT (SUBJECT REVERSE) UTF-8 ALL", "BAD")
        y.cmd("SORT (SUBJECT) KOI8-R ALL", "NO")


# ---- THREAD (RFC 5256) ---------------------------------------------------------

# (Message-ID, References, In-Reply-To, Subject, Date): chains, a missing
# parent (dummy), a loop, a duplicate id, replies joined by subject only,
# and messages without any id
THREAD_MSGS = [
    ("<a@x>", "", "", "topic", "Mon, 1 Jan 2024 10:00:00 +0000"),
    ("<b@x>", "<a@x>", "", "Re: topic", "Mon, 1 Jan 2024 11:00:00 +0000"),
    ("<c@x>", "<a@x> <b@x>", "", "Re: topic", "Mon, 1 Jan 2024 09:00:00"
     " +0000"),
    ("<d@x>", "<missing@x>", "", "other", "Tue, 2 Jan 2024 10:00:00 +0000"),
    ("<e@x>", "<missing@x>", "", "Re: other", "Tue, 2 Jan 2024 08:00:00"
     " +0000"),
    ("<f@x>", "<g@x>", "", "loop", "Wed, 3 Jan 2024 10:00:00 +0000"),
    ("<g@x>", "<f@x>", "", "loop", "Wed, 3 Jan 2024 11:00:00 +0000"),
    ("<a@x>", "", "", "dup", "Thu, 4 Jan 2024 10:00:00 +0000"),
    ("", "", "<d@x>", "Re: other", "Thu, 4 Jan 2024 11:00:00 +0000"),
    ("<h@x>", "", "", "Fwd: topic", "Fri, 5 Jan 2024 10:00:00 +0000"),
    ("<i@x>", "", "", "lonely", ""),
    ("", "", "", "Re: lonely", "Sat, 6 Jan 2024 10:00:00 +0000"),
]

THREAD_CMDS = [
    "THREAD REFERENCES UTF-8 ALL",
    "THREAD ORDEREDSUBJECT UTF-8 ALL",
    "UID THREAD REFERENCES UTF-8 NOT SUBJECT other",
    "THREAD REFERENCES US-ASCII 1:5",
]


def test_thread_as_dovecot(inst):
    with beside_dovecot(inst, "conf-thread") as (addr, y, d, m, dm):
        u, _ = y.cmd("CAPABILITY")
        assert "THREAD=REFERENCES" in u[0], u
        for mm in (m, dm):
            ok(mm.create("T"))
            for mid, refs, irt, subj, date in THREAD_MSGS:
                h = f"Subject: {subj}\n"
                h += f"Message-ID: {mid}\n" if mid else ""
                h += f"References: {refs}\n" if refs else ""
                h += f"In-Reply-To: {irt}\n" if irt else ""
                h += f"Date: {date}\n" if date else ""
                append(mm, "T", h + "\nbody\n")
        diff = answers_unlike_dovecot(inst, y, d, addr, "T", THREAD_CMDS)
        assert not diff, "\n".join(diff)
        yu, _ = y.cmd(THREAD_CMDS[0])
        print(f"thread: {yu}")
        assert yu[0].count("(") >= 6 and " (" in yu[0], yu
        y.cmd("THREAD BOGUS UTF-8 ALL", "BAD")


def test_thread_long_chain(inst):
    """A reply chain deeper than IMAP_THREAD_DEPTH_MAX (10000) is answered,
    without recursion that deep, and the worker keeps serving."""
    addr = user(inst, "conf-chain")
    m = login(inst, addr)
    ok(m.create("Chain"))
    m.logout()
    cur = inst.path("mailbox", "extmail.org", "conf-chain", "Maildir",
                    ".Chain", "cur")
    pw = pwd.getpwnam("vmail")
    n = 10200
    for i in range(n):
        refs = f"References: <m{i - 1}@x>\n" if i else ""
        path = os.path.join(cur, f"{1700000000 + i}.M{i}P1.host:2,S")
        with open(path, "w") as f:
            f.write(f"Message-ID: <m{i}@x>\n{refs}Subject: c\n"
                    f"Date: Mon, 1 Jan 2024 10:00:00 +0000\n\nx\n")
        os.chown(path, pw.pw_uid, pw.pw_gid)
    r = Raw(inst.ports["imap"], addr)
    try:
        r.s.settimeout(120)
        r.cmd("SELECT Chain")
        t0 = time.monotonic()
        u, _ = r.cmd("THREAD REFERENCES UTF-8 ALL")
        assert u[0].startswith("* THREAD (1 2 3 "), u[0][:80]
        assert u[0].endswith(f" {n})"), u[0][-80:]
        print(f"thread of {n}: {time.monotonic() - t0:.1f}s")
        r.cmd("NOOP")
    finally:
        r.close()


# ---- STATUS -----------------------------------------------------------------

def test_status_items(inst):
    addr = user(inst, "conf-status")
    r = Raw(inst.ports["imap"], addr)
    try:
        u, _ = r.cmd("STATUS INBOX (uidnext messages)")
        assert re.fullmatch(r'\* STATUS INBOX \(UIDNEXT \d+ MESSAGES 0\)'
                            r'|\* STATUS "INBOX" \(UIDNEXT \d+ MESSAGES 0\)',
                            u[0]), u
        r.cmd("STATUS INBOX (MESSAGES BOGUS)", "BAD")
    finally:
        r.close()


def test_zz_cleanup(inst):
    for dv in _dv:
        dv.stop()
        shutil.rmtree(dv.root, ignore_errors=True)
    _dv.clear()
