"""youju-mra's per-folder cache youju.index (issue 6 item 3): FETCH
ENVELOPE / BODYSTRUCTURE / BODY / RFC822.SIZE and header SEARCH answer the
same with and without it, it follows changes made behind youju's back
(a file unlinked in cur/, a file dropped into new/ as maildrop does, a file
rewritten with another size), and a corrupt file is ignored and replaced.

To prove that an answer came from the cache and not from the file, the
message files are made unreadable (mode 000) while youju-mra (running as
mail_owner, or as our non-root user) keeps them listed: a message whose
file cannot be read is left out of FETCH and SEARCH answers, so only the
cache can produce them.  Messages live in a folder of their own
("Indexed") of the demo mailbox."""
import imaplib
import os
import time

import harness

USER = "postmaster@extmail.org"
PASSWORD = "extmail"
FOLDER = "Indexed"

MESSAGES = [
    # plain, LF
    b"From: Alice Martin <alice@example.com>\n"
    b"To: Bob <bob@example.org>, postmaster@extmail.org\n"
    b"Subject: budget report\n"
    b"Date: Mon, 01 Jan 2024 10:00:00 +0000\n"
    b"Message-ID: <idx1@test>\n\nplain body one\n",
    # CR LF line ends, encoded subject, Cc, Reply-To
    b"From: =?ISO-8859-1?Q?Ren=E9e?= <renee@example.net>\r\n"
    b"To: postmaster@extmail.org\r\n"
    b"Cc: Carol <carol@example.net>, dave@example.com\r\n"
    b"Reply-To: list@example.net\r\n"
    b"Subject: =?UTF-8?B?Q2Fmw6kgbWVldGluZw==?=\r\n"
    b"Date: Tue, 2 Jan 2024 23:30:00 -0800\r\n"
    b"Message-ID: <idx2@test>\r\n\r\nbody two\r\n",
    # multipart with an attachment and an embedded message
    b"From: Grace <grace@example.com>\n"
    b"To: postmaster@extmail.org\n"
    b"Subject: quarterly numbers\n"
    b"Date: Wed, 15 Feb 2023 08:00:00 +0100\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"b1\"\n\n"
    b"--b1\nContent-Type: text/plain; charset=utf-8\n"
    b"Content-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9 text\n"
    b"--b1\nContent-Type: application/pdf; name=\"a.pdf\"\n"
    b"Content-Disposition: attachment; filename=\"a.pdf\"\n"
    b"Content-Transfer-Encoding: base64\n\naGVsbG8gcGRm\n"
    b"--b1\nContent-Type: message/rfc822\n\n"
    b"From: Inner <inner@example.com>\nSubject: inner\n"
    b"Date: Thu, 04 Jan 2024 10:00:00 +0000\n\ninner body\n"
    b"--b1--\n",
    # no Date, no Message-ID, two To fields, Bcc
    b"From: heidi@example.org\nTo: one@example.com\n"
    b"To: two@example.com\nBcc: secret@example.com\n"
    b"Subject: no date here\n\nbody four\n",
    # unreadable Date, folded Subject, NUL in the body
    b"From: \"Ivan, Petrov\" <ivan@example.com>\n"
    b"To: postmaster@extmail.org\nDate: yesterday\n"
    b"Subject: a folded\n  subject line\n\nnul \x00 byte\n",
]

# (query, needs the files: BODY/TEXT and HEADER of uncached fields)
SEARCHES = [
    (("FROM", "alice"), False),
    (("FROM", "ren\u00e9e".encode()), False),
    (("SUBJECT", "caf\u00e9".encode()), False),
    (("SUBJECT", "CAF\u00c9".encode()), False),
    (("SUBJECT", "folded subject"), False),
    (("TO", "two@example"), False),
    (("TO", "postmaster"), False),
    (("CC", "carol"), False),
    (("BCC", "secret"), False),
    (("HEADER", "Message-ID", "idx2"), False),
    (("HEADER", "Reply-To", "list@"), False),
    (("HEADER", "Subject", ""), False),
    (("SENTSINCE", "1-Jan-2024"), False),
    (("SENTBEFORE", "2-Jan-2024"), False),
    (("SENTON", "2-Jan-2024"), False),
    (("NOT", "SENTON", "2-Jan-2024"), False),
    (("OR", "FROM", "grace", "SUBJECT", "budget"), False),
    (("LARGER", "150"), False),
    (("SMALLER", "150"), False),
    (("SINCE", "1-Jan-2000"), False),
    (("BODY", "caf\u00e9".encode()), True),
    (("TEXT", "inner"), True),
    (("HEADER", "MIME-Version", "1.0"), True),
    (("HEADER", "Content-Type", "mixed"), True),
]

FETCH_ITEMS = "(UID RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)"


def _maildir(inst):
    return inst.path("mailbox", "extmail.org", "postmaster", "Maildir")


def _folder(inst):
    return os.path.join(_maildir(inst), "." + FOLDER)


def _index(inst):
    return os.path.join(_folder(inst), "youju.index")


_seq = [0]


def _put(inst, data, sub="cur", size_in_name=True, name=None):
    """Writes a message file directly, as Dovecot or maildrop would."""
    if name is None:
        _seq[0] += 1
        name = f"{1700000000 + _seq[0]}.M{_seq[0]}P{os.getpid()}.idx"
        if size_in_name:
            name += f",S={len(data)}"
        if sub == "cur":
            name += ":2,"
    return harness.maildir_put(_folder(inst), name, data, sub)


def _files(inst):
    out = []
    for s in ("new", "cur"):
        d = os.path.join(_folder(inst), s)
        out += [os.path.join(d, n) for n in sorted(os.listdir(d))]
    return out


def _login(inst):
    im = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=30)
    im.login(USER, PASSWORD)
    return im


def _fetch_all(im):
    typ, data = im.select(FOLDER)
    assert typ == "OK", data
    n = int(data[0])
    if n == 0:
        return []
    typ, data = im.uid("FETCH", "1:*", FETCH_ITEMS)
    assert typ == "OK", data
    # one FETCH response per message: a bytes line, or a tuple for literals
    return sorted(repr(d) for d in data if d is not None and d != b")")


def _search(im, q):
    """UID SEARCH q; a bytes string (UTF-8) goes last, as a literal after
    CHARSET UTF-8, the way imaplib sends it."""
    args = [f'"{a}"' if a == "" or " " in a else a for a in q
            if not isinstance(a, bytes)]
    if isinstance(q[-1], bytes):
        im.literal = q[-1]
        args = ["CHARSET", "UTF-8"] + args
    typ, data = im.uid("SEARCH", *args)
    assert typ == "OK", (q, data)
    return data[0]


def _unreadable(inst, on):
    for p in _files(inst):
        os.chmod(p, 0 if on else 0o600)


def _setup(inst):
    im = _login(inst)
    im.create(FOLDER)
    im.logout()
    for p in _files(inst):
        os.unlink(p)
    if os.path.exists(_index(inst)):
        os.unlink(_index(inst))
    for i, m in enumerate(MESSAGES):
        # every other one without ",S=": its size comes from stat
        _put(inst, m, size_in_name=i % 2 == 0)


def test_index_fetch_same_with_cache(inst):
    _setup(inst)
    im = _login(inst)
    before = _fetch_all(im)  # from the files; builds the index
    assert len(before) == len(MESSAGES)
    im.logout()
    with open(_index(inst), "rb") as f:
        assert f.read(8) == b"youjuidx"
    # the index answers alone: the files cannot be read now
    _unreadable(inst, True)
    try:
        im = _login(inst)
        after = _fetch_all(im)
        im.logout()
    finally:
        _unreadable(inst, False)
    assert after == before
    # and with the files readable again, still the same
    im = _login(inst)
    assert _fetch_all(im) == before
    im.logout()


def test_index_search_same_with_cache(inst):
    _setup(inst)
    im = _login(inst)
    want = {}
    # without youju.index: each query in a fresh SELECT with no file
    for q, _ in SEARCHES:
        im.unselect() if im.state == "SELECTED" else None
        if os.path.exists(_index(inst)):
            os.unlink(_index(inst))
        typ, _ = im.select(FOLDER)
        assert typ == "OK"
        want[q] = _search(im, q)
    im.unselect()
    # make sure every message has an entry, then search from the cache
    _fetch_all(im)
    im.logout()
    assert os.path.exists(_index(inst))
    im = _login(inst)
    typ, _ = im.select(FOLDER)
    for q, _ in SEARCHES:
        assert _search(im, q) == want[q], q
    im.logout()
    # header keys of cached fields work with the files unreadable
    _unreadable(inst, True)
    try:
        im = _login(inst)
        typ, _ = im.select(FOLDER)
        for q, needs_file in SEARCHES:
            if not needs_file:
                assert _search(im, q) == want[q], q
        im.logout()
    finally:
        _unreadable(inst, False)
    # sanity: the queries are not all trivially empty or full
    counts = {len(v.split()) for v in want.values()}
    assert len(counts) > 2, want


def test_index_follows_changes_behind_our_back(inst):
    _setup(inst)
    im = _login(inst)
    before = _fetch_all(im)
    im.logout()
    assert os.path.exists(_index(inst))
    files = _files(inst)
    # expunged by another program
    os.unlink(files[0])
    # delivered by maildrop into new/
    _put(inst, b"From: Judy <judy@example.com>\nTo: postmaster@extmail.org"
         b"\nSubject: freshly delivered\nMessage-ID: <idx-new@test>\n"
         b"Date: Fri, 05 Jan 2024 10:00:00 +0000\n\nnew\n", sub="new")
    # rewritten in place under the same name, another size (no S=)
    victim = [p for p in files if ",S=" not in os.path.basename(p)][0]
    with open(victim, "wb") as f:
        f.write(b"From: Mallory <mallory@example.com>\n"
                b"Subject: replaced content\n\nother body, longer\n")
    im = _login(inst)
    after = _fetch_all(im)
    assert len(after) == len(before)  # one gone, one new
    text = "\n".join(after)
    assert "freshly delivered" in text
    assert "budget report" not in text  # files[0] was message 1
    assert "replaced content" in text
    assert any(b"Mallory" in x for x in [t.encode() for t in after])
    assert _search(im, ("SUBJECT", "freshly")) != b""
    assert _search(im, ("SUBJECT", "replaced")) != b""
    assert _search(im, ("FROM", "alice")) == b""
    im.logout()
    # the same answers from the files alone
    os.unlink(_index(inst))
    im = _login(inst)
    assert _fetch_all(im) == after
    im.logout()


def test_index_corrupt_file_is_rebuilt(inst):
    _setup(inst)
    im = _login(inst)
    want = _fetch_all(im)
    im.logout()
    size = os.path.getsize(_index(inst))
    for garbage in (os.urandom(size), b"youjuidx" + os.urandom(200), b""):
        with open(_index(inst), "wb") as f:
            f.write(garbage)
        mark = inst.log_size()
        im = _login(inst)
        assert _fetch_all(im) == want
        im.logout()
        if garbage:
            inst.wait_log(r"youju\.index unusable", since=mark)
        # rewritten, whole again
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(_index(inst), "rb") as f:
                head = f.read(8)
            if head == b"youjuidx" and os.path.getsize(_index(inst)) == \
                    size:
                break
            time.sleep(0.1)
        assert head == b"youjuidx"
        assert os.path.getsize(_index(inst)) == size
    # Dovecot's own index files are never created
    assert not [n for n in os.listdir(_folder(inst))
                if n.startswith("dovecot.index")]
