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
