"""youju-mra IMAP content (issue 6): FETCH BODYSTRUCTURE / BODY / BODY[part]
and SEARCH, driven by Python's imaplib and checked against Python's `email`
parser on the same messages.  The messages are APPENDed into a folder of
their own ("Content") of the demo mailbox, so the INBOX tests in
test_mra.py are not disturbed."""
import email
import email.policy
import imaplib
import re

USER = "postmaster@extmail.org"
PASSWORD = "extmail"
FOLDER = "Content"

M_MIXED = b"""From: Alice <alice@example.com>
To: Bob <bob@example.org>
Cc: Carol <carol@example.net>
Subject: quarterly numbers
Date: Mon, 01 Jan 2024 10:00:00 +0000
Message-ID: <mixed@test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_outer"

This is a multi-part message in MIME format.
--=_outer
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

The numbers are attached. Caf=C3=A9 meeting at noon.
--=_outer
Content-Type: application/octet-stream; name="numbers.bin"
Content-Disposition: attachment; filename="numbers.bin"
Content-Transfer-Encoding: base64
Content-ID: <att1@test>
Content-Description: raw numbers

AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
--=_outer--
"""

M_ALT = b"""From: Dave <dave@example.com>
To: postmaster@extmail.org
Subject: newsletter
Date: Thu, 15 Feb 2024 08:00:00 +0100
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=alt42

--alt42
Content-Type: text/plain; charset=us-ascii

Plain version of the newsletter.
--alt42
Content-Type: text/html; charset=us-ascii
Content-Language: en
Content-Location: http://example.com/news.html

<html><body><p>HTML version of the newsletter.</p></body></html>

--alt42--
"""

M_NESTED = b"""From: Erin <erin@example.com>
To: postmaster@extmail.org
Subject: Fwd: the original
Date: Wed, 20 Mar 2024 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=fwd

--fwd
Content-Type: text/plain

See the forwarded message below.
--fwd
Content-Type: message/rfc822
Content-Disposition: inline

From: Frank <frank@example.com>
To: Erin <erin@example.com>
Subject: the original
Date: Tue, 19 Mar 2024 09:00:00 +0000
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

zebra crossing plans
--inner
Content-Type: text/html

<b>zebra crossing plans</b>
--inner--

--fwd--
"""

M_UTF8 = ("From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <jm@example.de>\n"
          "To: postmaster@extmail.org\n"
          "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\n"
          "Date: Sat, 06 Apr 2024 18:00:00 +0200\n"
          "MIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=utf-8\n"
          "Content-Transfer-Encoding: base64\n"
          "\n"
          "RWluZSDDnGJlcnJhc2NodW5nIGbDvHIgZGljaCEK\n").encode()

MESSAGES = [
    # (message, INTERNALDATE, flags)
    (M_MIXED, "01-Jan-2024 10:00:00 +0000", r"(\Seen)"),
    (M_ALT, "15-Feb-2024 08:00:00 +0000", r"(\Flagged)"),
    (M_NESTED, "20-Mar-2024 12:00:00 +0000", r"(\Seen \Answered)"),
    (M_UTF8, "06-Apr-2024 18:00:00 +0000", None),
]


def _crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _session(inst):
    """Logs in, fills FOLDER afresh, selects it; returns the connection."""
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=30)
    m.login(USER, PASSWORD)
    m.delete(FOLDER)
    typ, _ = m.create(FOLDER)
    assert typ == "OK"
    for msg, date, flags in MESSAGES:
        typ, data = m.append(FOLDER, flags, f'"{date}"', msg)
        assert typ == "OK", data
    typ, data = m.select(FOLDER)
    assert typ == "OK" and data == [b"4"], data
    return m


# ---- a small reader for IMAP response syntax ------------------------------

def _tokens(b):
    i = 0
    while i < len(b):
        c = b[i:i + 1]
        if c in b" \r\n":
            i += 1
        elif c in b"()":
            yield c
            i += 1
        elif c == b'"':
            j, out = i + 1, bytearray()
            while b[j:j + 1] != b'"':
                if b[j:j + 1] == b"\\":
                    j += 1
                out += b[j:j + 1]
                j += 1
            yield bytes(out)
            i = j + 1
        else:
            j = i
            while j < len(b) and b[j:j + 1] not in b' ()"\r\n':
                j += 1
            atom = b[i:j]
            yield None if atom == b"NIL" else (int(atom) if atom.isdigit()
                                               else ("ATOM", atom))
            i = j


def _sexp(b):
    """Parses one parenthesised IMAP value into nested lists."""
    stack = [[]]
    for t in _tokens(b):
        if t == b"(":
            stack.append([])
        elif t == b")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(t)
    return stack[0]


def _fetch_item(m, seq, item):
    """The value of one FETCH item (no literals inside) as a tree."""
    typ, data = m.fetch(seq, f"({item})")
    assert typ == "OK", data
    raw = data[0] if isinstance(data[0], bytes) else data[0][0]
    top = _sexp(raw)
    # [seq, [NAME, value, ...]]
    items = top[1]
    for k in range(0, len(items), 2):
        if items[k] == ("ATOM", item.encode()):
            return items[k + 1], raw
    raise AssertionError(f"{item} not in {raw!r}")


def _params(lst):
    if lst is None:
        return {}
    return {lst[i].decode().lower(): lst[i + 1].decode()
            for i in range(0, len(lst), 2)}


def _check_structure(bs, part, ext):
    """Compares a BODYSTRUCTURE tree with an email.message part."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        kids = part.get_payload()
        n = len(kids)
        assert len(bs) >= n + 1, bs
        for k in range(n):
            _check_structure(bs[k], kids[k], ext)
        assert bs[n].decode().lower() == part.get_content_subtype()
        if ext:
            assert _params(bs[n + 1])["boundary"] == part.get_boundary()
            assert len(bs) == n + 5  # params dsp lang loc
        else:
            assert len(bs) == n + 1
        return
    assert bs[0].decode().lower() == part.get_content_maintype(), bs
    assert bs[1].decode().lower() == part.get_content_subtype(), bs
    ps = _params(bs[2])
    for k, v in part.get_params()[1:] if part.get_params() else []:
        assert ps.get(k.lower()) == v, (ps, k, v)
    assert bs[3] == (part["Content-ID"].encode() if part["Content-ID"]
                     else None)
    assert bs[4] == (part["Content-Description"].encode()
                     if part["Content-Description"] else None)
    cte = part["Content-Transfer-Encoding"]
    assert bs[5].decode().lower() == (cte.lower() if cte else "7bit")
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()[0]
        env, body, lines = bs[7], bs[8], bs[9]
        assert env[1] == inner["Subject"].encode()
        _check_structure(body, inner, ext)
        assert isinstance(lines, int)
        rest = bs[10:]
    else:
        payload = _crlf(part.get_payload(decode=False).encode())
        # the line end before a boundary belongs to the boundary
        assert bs[6] in (len(payload), len(payload.rstrip(b"\r\n"))), \
            (bs[6], payload)
        if part.get_content_maintype() == "text":
            assert bs[7] == payload.count(b"\n") or \
                bs[7] == payload.rstrip(b"\r\n").count(b"\n"), bs
            rest = bs[8:]
        else:
            rest = bs[7:]
    if ext:
        assert len(rest) == 4, rest  # md5 dsp lang loc
        md5, dsp, lang, loc = rest
        assert md5 is None
        cd = part["Content-Disposition"]
        if cd:
            assert dsp[0].decode().lower() == cd.split(";")[0].strip()
        else:
            assert dsp is None
        cl = part["Content-Language"]
        assert (lang is None) == (cl is None)
        assert loc == (part["Content-Location"].encode()
                       if part["Content-Location"] else None)
    else:
        assert rest == [], rest


def test_bodystructure_matches_email_module(inst):
    m = _session(inst)
    for i, (msg, _, _) in enumerate(MESSAGES, 1):
        parsed = email.message_from_bytes(msg, policy=email.policy.compat32)
        bs, raw = _fetch_item(m, str(i), "BODYSTRUCTURE")
        _check_structure(bs, parsed, True)
        body, _ = _fetch_item(m, str(i), "BODY")
        _check_structure(body, parsed, False)
    # exact text for the single-part message, as Dovecot writes it
    typ, data = m.fetch("4", "(BODYSTRUCTURE)")
    assert b'BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL ' \
        b'"base64" 42 1 NIL NIL NIL NIL)' in data[0], data
    typ, data = m.fetch("2", "(BODYSTRUCTURE)")
    assert b'"alternative" ("boundary" "alt42") NIL NIL NIL)' in data[0]
    assert b'NIL NIL "en" "http://example.com/news.html")' in data[0] or \
        b'NIL NIL ("en") "http://example.com/news.html")' in data[0]
    m.logout()


def test_body_sections(inst):
    m = _session(inst)
    alt = email.message_from_bytes(M_ALT)
    html = alt.get_payload()[1].get_payload().encode()
    typ, data = m.fetch("2", "(BODY.PEEK[2])")
    assert data[0][1] == _crlf(html).rstrip(b"\r\n") + b"\r\n", data
    typ, data = m.fetch("2", "(BODY.PEEK[1] BODY.PEEK[2.MIME])")
    assert data[0][1] == b"Plain version of the newsletter."
    assert data[1][1].startswith(b"Content-Type: text/html")
    assert data[1][1].endswith(b"\r\n\r\n")

    # message/rfc822 part 2 of M_NESTED
    typ, data = m.fetch("3", "(BODY.PEEK[2.HEADER])")
    inner = email.message_from_bytes(data[0][1])
    assert inner["Subject"] == "the original"
    assert inner["From"] == "Frank <frank@example.com>"
    typ, data = m.fetch("3", "(BODY.PEEK[2.HEADER.FIELDS (SUBJECT DATE)])")
    assert data[0][1] == (b"Subject: the original\r\n"
                          b"Date: Tue, 19 Mar 2024 09:00:00 +0000\r\n\r\n")
    assert b"BODY[2.HEADER.FIELDS (SUBJECT DATE)]" in data[0][0]
    typ, data = m.fetch("3", "(BODY.PEEK[2.1] BODY.PEEK[2.2.MIME])")
    assert data[0][1] == b"zebra crossing plans"
    assert data[1][1] == b"Content-Type: text/html\r\n\r\n"
    typ, data = m.fetch("3", "(BODY.PEEK[2.TEXT])")
    assert data[0][1].startswith(b"--inner\r\n")
    assert data[0][1].endswith(b"--inner--\r\n")
    typ, data = m.fetch("3", "(BODY.PEEK[2])")
    whole = email.message_from_bytes(data[0][1])
    assert whole.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in whole.walk()] == \
        ["multipart/alternative", "text/plain", "text/html"]
    typ, data = m.fetch("3", "(BODY.PEEK[2.1]<2.4>)")
    assert data[0][1] == b"bra " and b"BODY[2.1]<2>" in data[0][0]
    # parts that do not exist are empty
    typ, data = m.fetch("3", "(BODY.PEEK[7] BODY.PEEK[1.HEADER])")
    assert data[0][1] == b"" and data[1][1] == b""
    # single-part: 1 is the body, 1.MIME the header
    typ, data = m.fetch("4", "(BODY.PEEK[1])")
    assert data[0][1] == b"RWluZSDDnGJlcnJhc2NodW5nIGbDvHIgZGljaCEK\r\n"
    # the decoded attachment survives a round trip
    typ, data = m.fetch("1", "(BODY.PEEK[2])")
    import base64
    assert base64.b64decode(data[0][1]) == bytes(range(32))
    # invalid sections are BAD
    for bad in ("BODY[0]", "BODY[1.MIME.TEXT]", "BODY[MIME]", "BODY[1..2]"):
        try:
            m.fetch("1", f"({bad})")
            raise AssertionError(f"{bad} accepted")
        except imaplib.IMAP4.error:
            pass
    # BODY[1] without PEEK sets \Seen
    typ, data = m.fetch("4", "(FLAGS)")
    assert b"\\Seen" not in data[0]
    typ, data = m.fetch("4", "(BODY[1.MIME])")
    assert data[0][1].startswith(b"From: =?UTF-8?Q?J")
    typ, data = m.fetch("4", "(FLAGS)")
    assert b"\\Seen" in data[0]
    m.logout()


def _search(m, *keys, uid=False, charset=None):
    if uid:
        typ, data = m.uid("SEARCH", *(["CHARSET", charset] if charset
                                      else []), *keys)
    else:
        typ, data = m.search(charset, *keys)
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


def test_search_keys(inst):
    m = _session(inst)
    s = lambda *k: _search(m, *k)  # noqa: E731
    assert s("ALL") == [1, 2, 3, 4]
    assert s("SEEN") == [1, 3] and s("UNSEEN") == [2, 4]
    assert s("FLAGGED") == [2] and s("UNFLAGGED") == [1, 3, 4]
    assert s("ANSWERED") == [3] and s("UNANSWERED") == [1, 2, 4]
    assert s("DELETED") == [] and s("UNDELETED") == [1, 2, 3, 4]
    assert s("DRAFT") == [] and s("UNDRAFT") == [1, 2, 3, 4]
    recent = s("RECENT")
    assert sorted(recent + s("OLD")) == [1, 2, 3, 4]
    assert s("NEW") == [i for i in recent if i in (2, 4)]
    assert s("KEYWORD", "$Label1") == []
    assert s("UNKEYWORD", "$Label1") == [1, 2, 3, 4]
    assert s("2:3") == [2, 3] and s("*") == [4] and s("1,4") == [1, 4]
    assert s("SUBJECT", "NEWSLETTER") == [2]
    assert s("SUBJECT", '"the original"') == [3]
    assert s("FROM", "alice@example.com") == [1]
    assert s("FROM", "Frank") == []  # only the outer header counts
    assert s("TO", "bob") == [1] and s("CC", "carol") == [1]
    assert s("BCC", "anyone") == []
    assert s("HEADER", "Message-ID", "<mixed@test>") == [1]
    assert s("HEADER", "MIME-Version", '""') == [1, 2, 3, 4]
    assert s("BODY", "zebra") == [3]  # inside the forwarded message
    assert s("BODY", "cafe") == [] and s("BODY", "numbers") == [1]
    assert s("BODY", "AAECAwQF") == []  # attachments are not searched
    assert s("TEXT", "quarterly") == [1] and s("BODY", "quarterly") == []
    assert s("LARGER", "600") == [1, 3] and s("SMALLER", "600") == [2, 4]
    assert s("SINCE", "15-Feb-2024") == [2, 3, 4]
    assert s("BEFORE", "15-Feb-2024") == [1]
    assert s("ON", "20-Mar-2024") == [3]
    assert s("SENTON", "15-Feb-2024") == [2]
    assert s("SENTBEFORE", "1-Mar-2024") == [1, 2]
    assert s("SENTSINCE", "6-Apr-2024") == [4]
    assert s("NOT", "SEEN") == [2, 4]
    assert s("OR", "FLAGGED", "ANSWERED") == [2, 3]
    assert s("OR", "(SEEN LARGER 10000)", "SUBJECT", "newsletter") == [2]
    assert s("(OR SEEN FLAGGED)", "NOT", "BODY", "zebra") == [1, 2]
    assert s("NOT", "OR", "SEEN", "FLAGGED", "SINCE", "1-Jan-2024") == [4]
    m.logout()


def test_search_charset_and_uid(inst):
    m = _session(inst)
    # UTF-8 strings as imaplib sends them: a literal after CHARSET
    m.literal = "GRÜßE".encode()
    assert _search(m, "SUBJECT", charset="UTF-8") == [4]
    m.literal = "köln".encode()
    assert _search(m, "SUBJECT", charset="UTF-8") == [4]
    m.literal = "MÜLLER".encode()
    assert _search(m, "FROM", charset="UTF-8") == [4]
    m.literal = "überraschung".encode()  # inside the base64 body
    assert _search(m, "BODY", charset="UTF-8") == [4]
    m.literal = "café".encode()  # quoted-printable body
    assert _search(m, "TEXT", charset="UTF-8") == [1]
    assert _search(m, "SUBJECT", "numbers", charset="US-ASCII") == [1]
    typ, data = m.search("KOI8-R", "ALL")
    assert typ == "NO" and b"[BADCHARSET (UTF-8 US-ASCII)]" in data[0], data
    # UID SEARCH answers UIDs
    typ, data = m.fetch("1:*", "(UID)")
    uids = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data]
    assert _search(m, "ALL", uid=True) == uids
    assert _search(m, "SEEN", uid=True) == [uids[0], uids[2]]
    assert _search(m, "UID", f"{uids[1]}:*", "UNSEEN") == [2, 4]
    m.literal = "zebra".encode()
    assert _search(m, "BODY", uid=True, charset="UTF-8") == [uids[2]]
    for bad in (("FOO",), ("BEFORE", "2024-01-01"), ("LARGER", "x"),
                ("OR", "SEEN")):
        try:
            m.search(None, *bad)
            raise AssertionError(f"{bad} accepted")
        except imaplib.IMAP4.error as e:
            assert "BAD" in str(e) or "rror" in str(e), e
    # the session goes on after errors
    assert _search(m, "ALL") == [1, 2, 3, 4]
    m.logout()
