"""youju-webmail's search, folder rename/delete, drafts, replies and
forwards, conversations and charset override (issue 12, docs/webmail.md),
over real HTTP, checked against the same mailbox over IMAP."""
import email
import email.header
import email.policy
import os
import time

from test_imap_state import maildir, user  # noqa: E402
from test_webmail_api import Client, append, imap, login_user, msg, ok


def uids_of(j):
    return sorted((m["folder"], m["uid"]) for m in j["messages"])


def test_search(inst):
    addr, m, c = login_user(inst, "wmsearch")
    m.create("Work")
    a = append(m, "INBOX", msg("Quarterly report", "Alice <alice@a.example>",
                               "Mon, 02 Mar 2026 10:00:00 +0000",
                               body="the numbers are in\r\n"))
    b = append(m, "INBOX", msg("=?UTF-8?B?5L2g5aW9IHJlcG9ydA==?=",
                               "Bob <bob@b.example>",
                               "Tue, 10 Mar 2026 10:00:00 +0000",
                               body="nothing here\r\n"))
    w = append(m, "Work", msg("lunch", "Carol <carol@c.example>",
                              "Wed, 18 Mar 2026 10:00:00 +0000",
                              body="Let us discuss the REPORT at noon\r\n"))
    att = append(m, "Work", (
        "From: Dan <dan@d.example>\r\nTo: x@extmail.org\r\n"
        "Subject: files\r\nDate: Thu, 19 Mar 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename=\"r.pdf\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
        "--b--\r\n").encode())
    # subject, any folder (default: subject, from, to), decoded
    # RFC 2047 words, case-folded
    j = ok(c.call("GET", "/api/search", query={"q": "REPORT"}))
    assert uids_of(j) == [("INBOX", a), ("INBOX", b)], j
    assert j["total"] == 2 and not j["limited"], j
    assert j["messages"][0]["uid"] == b  # newest first
    assert j["messages"][0]["subject"] == "你好 report"
    j = ok(c.call("GET", "/api/search", query={"q": "你好"}))
    assert uids_of(j) == [("INBOX", b)], j
    # the body too: over all folders, or one folder
    j = ok(c.call("GET", "/api/search", query={"q": "report", "in": "all"}))
    assert uids_of(j) == [("INBOX", a), ("INBOX", b), ("Work", w)], j
    j = ok(c.call("GET", "/api/search",
                  query={"q": "report", "in": "body", "folder": "Work"}))
    assert uids_of(j) == [("Work", w)], j
    j = ok(c.call("GET", "/api/search",
                  query={"q": "numbers", "in": "body", "folder": "INBOX"}))
    assert uids_of(j) == [("INBOX", a)], j
    # from: the address and the name
    j = ok(c.call("GET", "/api/search", query={"q": "bob@b.ex", "in": "from"}))
    assert uids_of(j) == [("INBOX", b)], j
    j = ok(c.call("GET", "/api/search", query={"q": "carol", "in": "from"}))
    assert uids_of(j) == [("Work", w)], j
    j = ok(c.call("GET", "/api/search", query={"q": "carol", "in": "subject"}))
    assert j["total"] == 0, j
    # dates: an inclusive range of days
    j = ok(c.call("GET", "/api/search",
                  query={"since": "2026-03-10", "before": "2026-03-18"}))
    assert uids_of(j) == [("INBOX", b), ("Work", w)], j
    # attachments
    j = ok(c.call("GET", "/api/search", query={"attachment": "1"}))
    assert uids_of(j) == [("Work", att)], j
    assert j["messages"][0]["attachments"] is True
    j = ok(c.call("GET", "/api/search",
                  query={"attachment": "0", "folder": "Work"}))
    assert uids_of(j) == [("Work", w)], j
    # the same answers when youju.index has the entries (after an IMAP
    # FETCH of the envelopes) as when the files are read
    m.select("INBOX")
    m.uid("FETCH", "1:*", "(ENVELOPE BODYSTRUCTURE)")
    m.select("Work")
    m.uid("FETCH", "1:*", "(ENVELOPE BODYSTRUCTURE)")
    m.select("INBOX")
    assert os.path.exists(os.path.join(maildir(inst, addr), "youju.index"))
    j = ok(c.call("GET", "/api/search", query={"q": "REPORT"}))
    assert uids_of(j) == [("INBOX", a), ("INBOX", b)], j
    j = ok(c.call("GET", "/api/search", query={"q": "bob@b.ex", "in": "from"}))
    assert uids_of(j) == [("INBOX", b)], j
    # IMAP SEARCH agrees (the same matcher)
    typ, d = m.uid("SEARCH", "CHARSET", "UTF-8", "TEXT", "report")
    assert sorted(int(x) for x in d[0].split()) == [a, b], d
    # bad input
    for q in ({"q": "x", "in": "nope"}, {"since": "2026-3-1"},
              {"attachment": "2"}, {}, {"q": "x" * 501},
              {"q": "x", "folder": "../x"}):
        st, j, _ = c.call("GET", "/api/search", query=q)
        assert st == 400, (q, st, j)
    st, j, _ = c.call("GET", "/api/search", query={"q": "x", "folder": "No"})
    assert st == 404, (st, j)
    # another user's words stay theirs
    other, m2, c2 = login_user(inst, "wmsearch2")
    assert ok(c2.call("GET", "/api/search",
                      query={"q": "report", "in": "all"}))["total"] == 0
    m2.logout()
    m.logout()


def test_folder_rename_delete(inst):
    addr, m, c = login_user(inst, "wmfolders")
    ok(c.call("POST", "/api/folders", {"name": "项目"}))
    ok(c.call("POST", "/api/folders", {"name": "项目.2026"}))
    u = append(m, "&mHl27g-", msg("in a folder", "a@b.example",
                                  "Mon, 02 Mar 2026 10:00:00 +0000"))
    # rename: children follow, UTF-8 names, seen over IMAP
    j = ok(c.call("POST", "/api/folders/rename",
                  {"name": "项目", "to": "Projects"}))
    assert j["name"] == "Projects"
    names = [f["name"] for f in ok(c.call("GET", "/api/folders"))]
    assert "Projects" in names and "Projects.2026" in names, names
    assert "项目" not in names
    typ, d = m.list()
    assert any(b'"Projects.2026"' in x or b" Projects.2026" in x
               for x in d), d
    typ, d = m.select("Projects")
    assert typ == "OK" and int(d[0]) == 1
    typ, d = m.uid("SEARCH", None, "ALL")
    assert [int(x) for x in d[0].split()] == [u]
    typ, d = m.lsub()
    assert any(b"Projects" in x for x in d), d
    m.close()
    # system folders and INBOX refused, as names and as targets
    for body in ({"name": "Sent", "to": "X"}, {"name": "INBOX", "to": "X"},
                 {"name": "Projects", "to": "Trash"},
                 {"name": "Projects", "to": "a/b"},
                 {"name": "Projects", "to": "../x"}):
        st, j, _ = c.call("POST", "/api/folders/rename", body)
        assert st == 400, (body, st, j)
    st, j, _ = c.call("POST", "/api/folders/rename",
                      {"name": "Nope", "to": "Other"})
    assert st == 404, (st, j)
    st, j, _ = c.call("POST", "/api/folders/rename",
                      {"name": "Projects.2026", "to": "Projects"})
    assert st == 409, (st, j)
    st, j, _ = c.call("POST", "/api/folders/rename",
                      {"name": "Projects", "to": "X"}, csrf=False)
    assert st == 403, (st, j)
    # delete: messages expunged (quota), children stay, system refused
    for name in ("Drafts", "Junk", "inbox"):
        st, j, _ = c.call("POST", "/api/folders/delete", {"name": name})
        assert st == 400, (name, st, j)
    q0 = ok(c.call("GET", "/api/session"))["quota"]
    j = ok(c.call("POST", "/api/folders/delete", {"name": "Projects"}))
    assert j["expunged"] == 1, j
    names = [f["name"] for f in ok(c.call("GET", "/api/folders"))]
    assert "Projects" not in names and "Projects.2026" in names, names
    q1 = ok(c.call("GET", "/api/session"))["quota"]
    if q0 is not None:
        assert q1["count"] == q0["count"] - 1, (q0, q1)
    assert not os.path.exists(os.path.join(maildir(inst, addr), ".Projects"))
    typ, d = m.select("Projects")
    assert typ == "NO", d
    st, j, _ = c.call("POST", "/api/folders/delete", {"name": "Projects"})
    assert st == 404, (st, j)
    m.logout()


def wait_imap(inst, m, token, box="INBOX", timeout=30):
    """The raw message of box whose text contains token, over IMAP."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m.select(box)
        typ, d = m.uid("SEARCH", None, "TEXT", token)
        if typ == "OK" and d[0].split():
            uid = d[0].split()[-1]
            typ, d = m.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
            return d[0][1], d[0][0]
        time.sleep(0.3)
    raise AssertionError(f"{token} not found in {box}")


def test_drafts_reply_forward(inst):
    addr, m, c = login_user(inst, "wmdraft")
    rcpt = user(inst, "wmdraftrcpt")
    mr = imap(inst, rcpt)
    orig = append(m, "INBOX", msg(
        "plans", "Ann <ann@a.example>", "Mon, 02 Mar 2026 10:00:00 +0000",
        body="Shall we meet?\r\n",
        extra="References: <r1@a.example> <r2@a.example>\r\n"
              "In-Reply-To: <r2@a.example>\r\n").replace(
        b"Message-ID: <", b"Message-ID: <orig-", 1))
    j = ok(c.call("GET", "/api/message",
                  query={"folder": "INBOX", "uid": orig}))
    hd = j["headers"]
    parent = hd["message_id"]
    refs = hd["references"] + " " + parent
    # a draft: no recipient needed, Bcc kept, \Draft \Seen
    d1 = ok(c.call("POST", "/api/draft", {
        "to": [], "bcc": ["hidden@example.net"], "subject": "Re: plans",
        "text": "first words", "in_reply_to": parent,
        "references": refs}))
    m.select("Drafts")
    typ, d = m.uid("FETCH", str(d1["uid"]), "(FLAGS BODY.PEEK[])")
    assert b"\\Draft" in d[0][0] and b"\\Seen" in d[0][0], d
    assert b"Bcc: hidden@example.net" in d[0][1], d[0][1]
    # saved again: the earlier draft is replaced
    d2 = ok(c.call("POST", "/api/draft", {
        "to": [rcpt], "bcc": ["hidden@example.net"], "subject": "Re: plans",
        "text": "first words, then more", "in_reply_to": parent,
        "references": refs, "draft_uid": d1["uid"]}))
    assert d2["uid"] != d1["uid"]
    m.select("Drafts")
    typ, d = m.uid("SEARCH", None, "ALL")
    assert [int(x) for x in d[0].split()] == [d2["uid"]], d
    # reopened: the fields come back
    j = ok(c.call("GET", "/api/message",
                  query={"folder": "Drafts", "uid": d2["uid"]}))
    assert j["headers"]["to"] == rcpt and \
        j["headers"]["bcc"] == "hidden@example.net", j["headers"]
    assert j["headers"]["in_reply_to"] == parent
    assert j["text"].startswith("first words, then more"), j["text"]
    assert "\\Draft" in j["flags"]
    # sent from the draft: it goes; threading headers as RFC 5322 §3.6.4
    token = f"reply-{time.time()}"
    s = ok(c.call("POST", "/api/send", {
        "to": [rcpt], "subject": "Re: plans", "text": token,
        "in_reply_to": parent, "references": refs,
        "draft_uid": d2["uid"]}))
    raw, _ = wait_imap(inst, mr, token)
    e = email.message_from_bytes(raw)
    assert e["In-Reply-To"] == parent, e["In-Reply-To"]
    assert e["References"].split() == \
        ["<r1@a.example>", "<r2@a.example>", parent], e["References"]
    assert e["Bcc"] is None
    m.select("Drafts")
    typ, d = m.uid("SEARCH", None, "ALL")
    assert d[0].split() == [], d
    # forward as attachment: the original, byte for byte, as message/rfc822
    m.select("INBOX")
    typ, d = m.uid("FETCH", str(orig), "(BODY.PEEK[])")
    original = d[0][1]
    token = f"fwd-{time.time()}"
    ok(c.call("POST", "/api/send", {
        "to": [rcpt], "subject": "Fwd: plans", "text": token,
        "attach_message": {"folder": "INBOX", "uid": orig}}))
    raw, _ = wait_imap(inst, mr, token)
    e = email.message_from_bytes(raw)
    parts = e.get_payload()
    assert parts[1].get_content_type() == "message/rfc822", raw
    inner = raw[raw.index(b"Content-Disposition: attachment; "
                          b"filename=\"forwarded.eml\""):]
    inner = inner[inner.index(b"\r\n\r\n") + 4:]
    assert inner.startswith(original), (inner[:200], original[:200])
    # the checks
    for body in ({"to": [rcpt], "text": "x", "references": "no-brackets"},
                 {"to": [rcpt], "text": "x",
                  "references": "<a@b>\r\nBcc: x@y"},
                 {"to": [rcpt], "text": "x",
                  "attach_message": {"folder": "INBOX"}},
                 {"to": [rcpt], "text": "x", "draft_uid": 0}):
        st, j, _ = c.call("POST", "/api/send", body)
        assert st == 400, (body, st, j)
    st, j, _ = c.call("POST", "/api/send", {
        "to": [rcpt], "text": "x",
        "attach_message": {"folder": "INBOX", "uid": 99999}})
    assert st == 404, (st, j)
    # draft_uid only ever removes a draft
    keep = append(m, "Drafts", msg("not a draft", "a@b.example",
                                   "Mon, 02 Mar 2026 10:00:00 +0000"))
    ok(c.call("POST", "/api/send", {"to": [rcpt], "text": "y",
                                    "draft_uid": keep}))
    m.select("Drafts")
    typ, d = m.uid("SEARCH", None, "ALL")
    assert [int(x) for x in d[0].split()] == [keep], d
    st, j, _ = c.call("POST", "/api/draft", {"text": "x"}, csrf=False)
    assert st == 403, (st, j)
    mr.logout()
    m.logout()


def cjk_msg(subject, text, charset, declared=None):
    body = text.encode(charset)
    if charset == "iso-2022-jp":
        cte = "7bit"
    else:
        cte = "8bit"
    return (f"From: a@b.example\r\nTo: x@extmail.org\r\n"
            f"Subject: {subject}\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; "
            f"charset={declared or charset}\r\n"
            f"Content-Transfer-Encoding: {cte}\r\n\r\n").encode() + body + \
        b"\r\n"


def test_charsets_override_and_source(inst):
    addr, m, c = login_user(inst, "wmcharset")
    big5 = "繁體中文的郵件"
    jis = "日本語のメールです"
    u1 = append(m, "INBOX", cjk_msg("big5", big5, "big5"))
    u2 = append(m, "INBOX", cjk_msg("jis", jis, "iso-2022-jp"))
    # mislabelled: Big5 bytes said to be ISO-8859-1
    u3 = append(m, "INBOX", cjk_msg("wrong", big5, "big5", "iso-8859-1"))
    j = ok(c.call("GET", "/api/message", query={"folder": "INBOX",
                                                 "uid": u1}))
    assert j["text"].startswith(big5), j["text"]
    j = ok(c.call("GET", "/api/message", query={"folder": "INBOX",
                                                 "uid": u2}))
    assert j["text"].startswith(jis), j["text"]
    j = ok(c.call("GET", "/api/message", query={"folder": "INBOX",
                                                 "uid": u3}))
    assert big5 not in j["text"]
    j = ok(c.call("GET", "/api/message", query={
        "folder": "INBOX", "uid": u3, "charset": "big5"}))
    assert j["text"].startswith(big5), j["text"]
    # a bad charset name is ignored (the part's own is used)
    j = ok(c.call("GET", "/api/message", query={
        "folder": "INBOX", "uid": u1, "charset": "big5;x=<y>"}))
    assert j["text"].startswith(big5), j["text"]
    # the source: the bytes, as text/plain, never sniffed
    st, body, h = c.call("GET", "/api/source",
                         query={"folder": "INBOX", "uid": u2})
    assert st == 200 and h["Content-Type"].startswith("text/plain"), h
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Content-Disposition"].startswith("inline")
    m.select("INBOX")
    typ, d = m.uid("FETCH", str(u2), "(BODY.PEEK[])")
    assert body.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") == \
        d[0][1], (body, d[0][1])
    st, body, h = c.call("GET", "/api/source", query={
        "folder": "INBOX", "uid": u2, "download": "1"})
    assert h["Content-Disposition"].startswith("attachment"), h
    assert c.call("GET", "/api/source", query={
        "folder": "INBOX", "uid": 9999})[0] == 404
    assert c.call("GET", "/api/source", query={
        "folder": "../x", "uid": u2})[0] == 400
    m.logout()


def test_conversation(inst):
    addr, m, c = login_user(inst, "wmthread")
    rcpt = user(inst, "wmthreadrcpt")
    imap(inst, rcpt).logout()

    def mk(subject, mid, date, refs=None):
        extra = f"References: {refs}\r\nIn-Reply-To: " \
                f"{refs.split()[-1]}\r\n" if refs else ""
        raw = msg(subject, "Ann <ann@a.example>", date, extra=extra)
        return raw.replace(b"Message-ID: <", b"Message-ID: <x", 1).replace(
            b"Message-ID: <x", f"Message-ID: {mid}\r\nX-Old: <".encode(), 1)
    a1 = append(m, "INBOX", mk("topic", "<t1@a.example>",
                               "Mon, 02 Mar 2026 10:00:00 +0000"))
    other = append(m, "INBOX", mk("something else", "<o1@a.example>",
                                  "Mon, 02 Mar 2026 11:00:00 +0000"))
    # my reply, from webmail: it lands in Sent
    s = ok(c.call("POST", "/api/send", {
        "to": [rcpt], "subject": "Re: topic", "text": "my answer",
        "in_reply_to": "<t1@a.example>", "references": "<t1@a.example>"}))
    # Ann answers my reply, and changes the subject
    a2 = append(m, "INBOX", mk("new words", "<t2@a.example>",
                               "Wed, 04 Mar 2099 10:00:00 +0000",
                               f"<t1@a.example> {s['message_id']}"))
    j = ok(c.call("GET", "/api/thread", query={"folder": "INBOX",
                                                "uid": a1}))
    got = [(x["folder"], x["uid"], x["depth"]) for x in j["messages"]]
    assert got == [("INBOX", a1, 0), ("Sent", s["sent_uid"], 1)], got
    # from the last message (References names the others)
    j = ok(c.call("GET", "/api/thread", query={"folder": "INBOX",
                                                "uid": a2}))
    got = [(x["folder"], x["uid"], x["depth"]) for x in j["messages"]]
    assert got == [("INBOX", a1, 0), ("Sent", s["sent_uid"], 1),
                   ("INBOX", a2, 2)], got
    # from Sent: the Inbox is searched
    j = ok(c.call("GET", "/api/thread", query={"folder": "Sent",
                                                "uid": s["sent_uid"]}))
    got = [(x["folder"], x["uid"]) for x in j["messages"]]
    assert ("INBOX", a1) in got and ("INBOX", other) not in got, got
    j = ok(c.call("GET", "/api/thread", query={"folder": "INBOX",
                                                "uid": other}))
    assert [x["uid"] for x in j["messages"]] == [other], j
    # the same from youju.index entries (Message-IDs kept folded there)
    for box in ("INBOX", "Sent"):
        m.select(box)
        m.uid("FETCH", "1:*", "(ENVELOPE BODYSTRUCTURE)")
    m.select("INBOX")
    j = ok(c.call("GET", "/api/thread", query={"folder": "INBOX",
                                                "uid": a2}))
    got = [(x["folder"], x["uid"], x["depth"]) for x in j["messages"]]
    assert got == [("INBOX", a1, 0), ("Sent", s["sent_uid"], 1),
                   ("INBOX", a2, 2)], got
    assert c.call("GET", "/api/thread",
                  query={"folder": "INBOX", "uid": 9999})[0] == 404
    assert c.call("GET", "/api/thread",
                  query={"folder": "../INBOX", "uid": a1})[0] == 400
    m.logout()


def test_quick_filters(inst):
    addr, m, c = login_user(inst, "wmquick")
    a = append(m, "INBOX", msg("one", "a@b.example",
                               "Mon, 02 Mar 2026 10:00:00 +0000"))
    b = append(m, "INBOX", msg("two", "a@b.example",
                               "Mon, 02 Mar 2026 11:00:00 +0000"),
               r"(\Seen \Flagged)")
    cc = append(m, "INBOX", msg("three", "a@b.example",
                                "Mon, 02 Mar 2026 12:00:00 +0000"),
                r"(\Seen)")
    j = ok(c.call("GET", "/api/search", query={"folder": "INBOX",
                                                "flag": "unseen"}))
    assert [x["uid"] for x in j["messages"]] == [a], j
    j = ok(c.call("GET", "/api/search", query={"folder": "INBOX",
                                                "flag": "flagged"}))
    assert [x["uid"] for x in j["messages"]] == [b], j
    # a flag set over IMAP is seen at once
    m.select("INBOX")
    m.uid("STORE", str(cc), "+FLAGS", r"(\Flagged)")
    j = ok(c.call("GET", "/api/search", query={"folder": "INBOX",
                                                "flag": "flagged"}))
    assert [x["uid"] for x in j["messages"]] == [cc, b], j
    assert c.call("GET", "/api/search", query={"flag": "red"})[0] == 400
    m.logout()


def test_kept_scan_list_search_open(inst):
    """The list, search and opening a message read the folder's kept
    scan and kept summaries (kept once the folder has not changed for
    2 s, matched to the scan without a pass over it): after every
    change, kept or not yet settled, they agree with IMAP."""
    addr, m, c = login_user(inst, "wmkept")
    a = append(m, "INBOX", msg("kept alpha", "Ann <ann@a.example>",
                               "Mon, 1 Jun 2026 10:00:00 +0000"))
    b = append(m, "INBOX", msg("=?UTF-8?B?5L2g5aW9?= kept beta",
                               "Bob <bob@b.example>",
                               "Tue, 2 Jun 2026 10:00:00 +0000"))
    m.select("INBOX")

    def by_date():
        j = ok(c.call("GET", "/api/messages",
                      query={"folder": "INBOX", "sort": "date"}))
        return [(x["uid"], x["subject"], x["flags"]) for x in j["messages"]]

    def search(q):
        j = ok(c.call("GET", "/api/search",
                      query={"folder": "INBOX", "in": "subject", "q": q}))
        got = sorted(x["uid"] for x in j["messages"])
        m.literal = q.encode()  # the string as a literal, 8-bit safe
        typ, d = m.uid("SEARCH", "CHARSET", "UTF-8", "SUBJECT")
        assert typ == "OK", d
        assert got == sorted(int(x) for x in d[0].split()), (q, j, d)
        return got

    def opened(uid):
        st, j, _ = c.call("GET", "/api/message",
                          query={"folder": "INBOX", "uid": str(uid)})
        return st, (j["headers"]["subject"], j["flags"]) if st == 200 \
            else None

    for settled in (False, True):
        if settled:
            time.sleep(2.5)  # kept from here on (fcache.c)
        for _ in range(2):  # the second time from what was kept
            assert by_date() == [(b, "你好 kept beta", []),
                                 (a, "kept alpha", [])]
            assert search("kept") == [a, b]
            assert search("你好") == [b]
            assert opened(a) == (200, ("kept alpha", []))
    # a flag over IMAP, a new message, an expunge: seen at once, and
    # again once they are kept
    m.uid("STORE", str(a), "+FLAGS", r"(\Flagged)")
    d = append(m, "INBOX", msg("kept delta", "Dan <dan@d.example>",
                               "Wed, 3 Jun 2026 10:00:00 +0000"))
    m.uid("STORE", str(b), "+FLAGS", r"(\Deleted)")
    m.expunge()
    for settled in (False, True):
        if settled:
            time.sleep(2.5)
        for _ in range(2):
            assert by_date() == [(d, "kept delta", []),
                                 (a, "kept alpha", ["\\Flagged"])]
            assert search("kept") == [a, d]
            assert search("你好") == []
            assert opened(b) == (404, None)
            assert opened(d) == (200, ("kept delta", []))
            assert opened(a) == (200, ("kept alpha", ["\\Flagged"]))
            j = ok(c.call("GET", "/api/messages",
                          query={"folder": "INBOX", "sort": "arrival"}))
            assert [x["uid"] for x in j["messages"]] == [d, a], j
            assert j["messages"][0]["subject"] == "kept delta", j
    m.logout()


def test_extmail_redirect(inst):
    import http.client
    for path in ("/extmail/", "/extmail/cgi/index.cgi?__mode=show_login"):
        c = http.client.HTTPConnection("127.0.0.1", inst.ports["webmail"],
                                       timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        assert r.status == 301 and r.getheader("Location") == "/", \
            (path, r.status, r.getheader("Location"))
        c.close()
