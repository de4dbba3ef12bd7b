"""youju-webmail's reading options (issue 12, docs/webmail.md "Reading"):
remote images always shown for a sender (the list in youju-webmail.cf,
kept when the other preferences are saved), "try local charset" for text
with no or a wrong label and the charset menu on the HTML part, saving an
attachment to NetDisk under its quota, and a quoted display name shown
unquoted in the list and the conversation view — over real HTTP, the
mailbox filled over IMAP."""
import base64
import os
import stat

from test_imap_state import maildir
from test_webmail_api import append, flush, login_user, ok

HTML_REMOTE = (
    "From: \"News, Daily\" <News@Shop.example>\r\nTo: x@extmail.org\r\n"
    "Subject: sale\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    "<p>hi</p><img src=\"https://img.shop.example/a.png\" alt=\"a\">\r\n")


def frame(c, j):
    st, body, h = c.call("GET", j["html_url"])
    assert st == 200, (st, body)
    return body.decode(), h["Content-Security-Policy"]


def test_remote_images_always_for_sender(inst):
    addr, m, c = login_user(inst, "wmremote")
    u = append(m, "INBOX", HTML_REMOTE.encode())
    other = append(m, "INBOX", HTML_REMOTE.replace(
        "News@Shop.example", "other@shop.example").encode())
    q = {"folder": "INBOX", "uid": u}
    j = ok(c.call("GET", "/api/message", query=q))
    # blocked by default, the sender named for the button
    assert j["remote_blocked"] == 1 and j["remote_always"] is False, j
    assert j["sender"] == "news@shop.example", j
    assert "img.shop.example" not in j["html"]
    doc, csp = frame(c, j)
    assert "img.shop.example" not in doc and "https:" not in csp, csp
    # load once: this request only
    j1 = ok(c.call("GET", "/api/message", query=dict(q, remote=1)))
    assert "img.shop.example" in j1["html"], j1["html"]
    assert ok(c.call("GET", "/api/message", query=q))["remote_blocked"] == 1
    # always for this sender: CSRF needed, a bad address refused
    st, _, _ = c.call("POST", "/api/remote_images",
                      {"sender": "news@shop.example"}, csrf=False)
    assert st == 403, st
    for bad in ("nobody", "a b@c", "<a@b>", "a@b\nname = x", "@b", "a@"):
        st, j, _ = c.call("POST", "/api/remote_images", {"sender": bad})
        assert st == 400 and j["error"]["field"] == "sender", (bad, st, j)
    j = ok(c.call("POST", "/api/remote_images",
                  {"sender": "News@Shop.example", "allow": True}))
    assert j["senders"] == ["news@shop.example"], j
    j = ok(c.call("GET", "/api/message", query=q))
    assert j["remote_always"] is True, j
    assert "img.shop.example" in j["html"], j["html"]
    doc, csp = frame(c, j)
    assert "img.shop.example" in doc and "https:" in csp, csp
    # the frame URL alone (no remote=1) honours the list too
    doc, csp = frame(c, {"html_url": "/api/message/html?folder=INBOX&uid="
                         + str(u)})
    assert "https:" in csp and "img.shop.example" in doc
    # another sender is still blocked
    j = ok(c.call("GET", "/api/message", query={"folder": "INBOX",
                                                  "uid": other}))
    assert j["remote_always"] is False and j["remote_blocked"] == 1, j
    # kept in the preferences file, which saving the preferences keeps
    path = os.path.join(maildir(inst, addr), "youju-webmail.cf")
    text = open(path).read()
    assert "remote_images_from = news@shop.example\n" in text, text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    ok(c.call("PUT", "/api/prefs", {"page_size": 20}))
    text = open(path).read()
    assert "remote_images_from = news@shop.example\n" in text, text
    assert "page_size = 20\n" in text, text
    assert ok(c.call("GET", "/api/remote_images"))["senders"] == \
        ["news@shop.example"]
    # a second sender, then the first one taken off
    ok(c.call("POST", "/api/remote_images",
              {"sender": "other@shop.example", "allow": True}))
    j = ok(c.call("POST", "/api/remote_images",
                  {"sender": "news@shop.example", "allow": False}))
    assert j["senders"] == ["other@shop.example"], j
    j = ok(c.call("GET", "/api/message", query=q))
    assert j["remote_always"] is False and j["remote_blocked"] == 1, j
    assert "page_size = 20\n" in open(path).read()
    m.logout()


def cs_msg(subject, body, ctype, subject_raw=None):
    head = (f"From: a@b.example\r\nTo: x@extmail.org\r\n"
            f"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: {ctype}\r\n").encode()
    subj = b"Subject: " + (subject_raw or subject.encode()) + b"\r\n"
    return head + subj + b"\r\n" + body


def test_local_charset_and_html_override(inst):
    addr, m, c = login_user(inst, "wmlocalcs")
    gb = "邮件系统的测试".encode("gb18030")
    # no charset label, raw GB18030 in the Subject too
    u1 = append(m, "INBOX", cs_msg("", gb + b"\r\n", "text/plain",
                                   subject_raw="主题".encode("gb18030")))
    # labelled UTF-8 but GB18030 bytes
    u2 = append(m, "INBOX", cs_msg("wrong", gb + b"\r\n",
                                   "text/plain; charset=utf-8"))
    # a right label is never second-guessed
    u3 = append(m, "INBOX", cs_msg("right", "正确的 UTF-8".encode()
                                   + b"\r\n", "text/plain; charset=utf-8"))
    # an HTML-only Big5 message labelled ISO-8859-1
    big5 = "<p>繁體中文郵件</p>".encode("big5")
    u4 = append(m, "INBOX", cs_msg("html", big5 + b"\r\n",
                                   "text/html; charset=iso-8859-1"))

    def get(uid, **kw):
        return ok(c.call("GET", "/api/message",
                         query=dict({"folder": "INBOX", "uid": uid}, **kw)))
    # off (the default): replacement characters
    assert "邮件系统" not in get(u1)["text"]
    assert "\ufffd" in get(u2)["text"]
    # invalid values refused, the preference saved
    st, j, _ = c.call("PUT", "/api/prefs", {"local_charset": "x-evil"})
    assert st == 400 and j["error"]["field"] == "local_charset", j
    j = ok(c.call("PUT", "/api/prefs", {"local_charset": "GB18030"}))
    assert j["local_charset"] == "GB18030", j
    assert ok(c.call("GET", "/api/prefs"))["local_charset"] == "GB18030"
    assert "local_charset = GB18030\n" in open(os.path.join(
        maildir(inst, addr), "youju-webmail.cf")).read()
    j = get(u1)
    assert j["text"].strip() == "邮件系统的测试", j["text"]
    assert j["headers"]["subject"] == "主题", j["headers"]
    assert get(u2)["text"].strip() == "邮件系统的测试"
    assert get(u3)["text"].strip() == "正确的 UTF-8"
    # the charset menu wins over both, for the HTML part too
    j = get(u4)
    assert "繁體中文郵件" not in (j["html"] or ""), j["html"]
    j = get(u4, charset="big5")
    assert "繁體中文郵件" in j["html"], j["html"]
    assert "繁體中文郵件" in j["text"], j["text"]
    assert "charset=big5" in j["html_url"], j["html_url"]
    st, doc, _ = c.call("GET", j["html_url"])
    assert st == 200 and "繁體中文郵件" in doc.decode(), doc
    st, doc, _ = c.call("GET", "/api/message/html",
                        query={"folder": "INBOX", "uid": u4})
    assert "繁體中文郵件" not in doc.decode()
    # ExtMail's user.cf "trylocal = 1" is read as GB18030 until saved here
    ok(c.call("PUT", "/api/prefs", {"local_charset": ""}))
    os.unlink(os.path.join(maildir(inst, addr), "youju-webmail.cf"))
    with open(os.path.join(maildir(inst, addr), "user.cf"), "w") as f:
        f.write("trylocal = 1\n")
    assert ok(c.call("GET", "/api/prefs"))["local_charset"] == "GB18030"
    assert get(u2)["text"].strip() == "邮件系统的测试"
    m.logout()


def att_msg(name, data):
    b64 = base64.b64encode(data).decode()
    return ("From: a@b.example\r\nTo: x@extmail.org\r\nSubject: files\r\n"
            "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            "--b\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Disposition: attachment; filename*=UTF-8''{name}\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n"
            "--b--\r\n").encode()


def test_save_attachment_to_netdisk(inst):
    addr, m, c = login_user(inst, "wmndsave")
    data = bytes(range(256)) * 20
    u = append(m, "INBOX", att_msg("%E6%8A%A5%E5%91%8A.bin", data))
    j = ok(c.call("GET", "/api/message", query={"folder": "INBOX", "uid": u}))
    part = j["attachments"][0]["part"]
    req = {"op": "attachment", "path": "", "folder": "INBOX", "uid": u,
           "part": part}
    st, _, _ = c.call("POST", "/api/netdisk", req, csrf=False)
    assert st == 403
    j = ok(c.call("POST", "/api/netdisk", req))
    assert j["quota"]["bytes"] == len(data), j
    fm = os.path.join(maildir(inst, addr), "fileman")
    with open(os.path.join(fm, "报告.bin"), "rb") as f:
        assert f.read() == data
    assert open(os.path.join(fm, "filesize")).read().split("\n")[1] == \
        f"{len(data)} 1"
    st, body, _ = c.call("GET", "/api/netdisk/file",
                         query={"path": "报告.bin"})
    assert st == 200 and body == data
    # a taken name is not overwritten; into a folder it goes
    st, j, _ = c.call("POST", "/api/netdisk", req)
    assert st == 409, (st, j)
    ok(c.call("POST", "/api/netdisk", {"op": "mkdir", "path": "",
                                       "name": "mail"}))
    ok(c.call("POST", "/api/netdisk", dict(req, path="mail")))
    assert os.path.exists(os.path.join(fm, "mail", "报告.bin"))
    # bad requests: no such part or message, another folder's name
    for bad, code in ((dict(req, part="9"), 404), (dict(req, uid=9999), 404),
                      (dict(req, folder="../x"), 400),
                      (dict(req, path="../x"), 400),
                      (dict(req, uid="1"), 400)):
        st, j, _ = c.call("POST", "/api/netdisk", bad)
        assert st == code, (bad, st, j)
    # the NetDisk quota applies
    inst.sql("UPDATE mailbox SET netdiskquota='8000S' WHERE "
             f"username='{addr}'")
    flush(inst, addr)
    ok(c.call("POST", "/api/netdisk", {"op": "delete", "path": "mail"}))
    ok(c.call("POST", "/api/netdisk", {"op": "mkdir", "path": "",
                                       "name": "two"}))
    st, j, _ = c.call("POST", "/api/netdisk", dict(req, path="two"))
    assert st == 413 and j["error"]["code"] == "over_quota", (st, j)
    assert not os.path.exists(os.path.join(fm, "two", "报告.bin"))
    # disablenetdisk
    inst.sql("UPDATE mailbox SET disablenetdisk=1 WHERE "
             f"username='{addr}'")
    flush(inst, addr)
    st, j, _ = c.call("POST", "/api/netdisk", dict(req, path="two"))
    assert st == 403, (st, j)
    # another user cannot name this user's message
    other, m2, c2 = login_user(inst, "wmndsave2")
    st, j, _ = c2.call("POST", "/api/netdisk", dict(req, path=""))
    assert st == 404, (st, j)
    m2.logout()
    m.logout()


def test_quoted_display_name(inst):
    addr, m, c = login_user(inst, "wmdisplay")
    raw = ("From: \"Zhang, San\" <z@x.example>\r\nTo: x@extmail.org\r\n"
           "Subject: hello\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
           "Message-ID: <root.1@x.example>\r\n\r\nhi\r\n")
    a = append(m, "INBOX", raw.encode())
    b = append(m, "INBOX", (
        "From: \"=?UTF-8?B?5byg5LiJ?=, Li\" <li@x.example>\r\n"
        "To: x@extmail.org\r\nSubject: Re: hello\r\n"
        "Date: Tue, 03 Mar 2026 10:00:00 +0000\r\n"
        "Message-ID: <r.2@x.example>\r\nIn-Reply-To: <root.1@x.example>\r\n"
        "References: <root.1@x.example>\r\n\r\nre\r\n").encode())
    plain = append(m, "INBOX", (
        "From: w@x.example (Wang Wu)\r\nTo: x@extmail.org\r\n"
        "Subject: other\r\nDate: Wed, 04 Mar 2026 10:00:00 +0000\r\n"
        "\r\nhi\r\n").encode())
    want = {a: "Zhang, San <z@x.example>", b: "张三, Li <li@x.example>",
            plain: "Wang Wu <w@x.example>"}

    def check():
        j = ok(c.call("GET", "/api/messages", query={"folder": "INBOX"}))
        got = {x["uid"]: x["from"] for x in j["messages"]}
        assert got == want, got
        j = ok(c.call("GET", "/api/thread", query={"folder": "INBOX",
                                                    "uid": b}))
        got = {x["uid"]: x["from"] for x in j["messages"]}
        assert got == {a: want[a], b: want[b]}, got
    check()
    # the same from youju.index's ENVELOPEs
    m.select("INBOX")
    m.uid("FETCH", "1:*", "(ENVELOPE BODYSTRUCTURE)")
    check()
    # the message view keeps the field as written (a reply needs it)
    j = ok(c.call("GET", "/api/message", query={"folder": "INBOX", "uid": a}))
    assert j["headers"]["from"] == "\"Zhang, San\" <z@x.example>", j
    m.logout()
