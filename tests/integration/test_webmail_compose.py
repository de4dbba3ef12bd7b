"""youju-webmail's compose extras (issue 12, docs/webmail.md "Compose"):
HTML mail sanitized on the server and sent as multipart/alternative, its
pasted images as multipart/related parts with Content-IDs, priority and
read-receipt requests, the RFC 8098 receipt with $MDNSent, a draft's
attachments and images taken back into the form (POST /api/reattach),
and image attachments shown inline (GET /api/attachment/view) — each
checked on the delivered message over IMAP."""
import email
import email.policy
import os
import struct
import time
import zlib

from test_imap_state import maildir, user  # noqa: E402
from test_webmail_api import Client, append, imap, login_user, ok, upload


def png(w=2, h=2, rgb=(200, 30, 30)):
    """A real PNG of w x h pixels."""
    def chunk(t, d):
        return (struct.pack(">I", len(d)) + t + d +
                struct.pack(">I", zlib.crc32(t + d) & 0xffffffff))
    raw = b"".join(b"\0" + bytes(rgb) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def fetch_subject(m, subject, box="INBOX", timeout=30):
    """The message with subject in box over IMAP, waiting for delivery."""
    deadline = time.time() + timeout
    while True:
        m.select(box)
        typ, d = m.uid("SEARCH", "SUBJECT", f'"{subject}"')
        if d[0].split():
            uid = d[0].split()[-1]
            typ, d = m.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
            return int(uid), d[0][0], email.message_from_bytes(
                d[0][1], policy=email.policy.default)
        assert time.time() < deadline, f"{subject!r} not in {box}"
        time.sleep(0.2)


EVIL = (
    '<p onclick="alert(1)"><b>Bold</b> and <i>italic</i> '
    '<a href="javascript:alert(2)">bad link</a> '
    '<a href="https://example.com/x">a link</a></p>'
    '<script>alert(3)</script>'
    '<ul><li>one</li><li>two</li></ul>'
    '<blockquote type="cite">quoted line</blockquote>'
    '<img src="data:image/png;base64,iVBORw0KGgo=" alt="d">'
    '<img src="https://tracker.example/p.gif">'
    '<iframe src="https://example.com/"></iframe>'
    '<div style="color: #ff0000; font-size: 18px">red</div>')


def test_html_send_inline_priority_receipt(inst):
    addr, m, c = login_user(inst, "wmhtml")
    rcpt = user(inst, "wmhtml2")
    r = imap(inst, rcpt)
    img = png(3, 2)
    st, up = upload(c, "image.png", img, "image/png")
    assert st == 200, up
    st, att = upload(c, "notes.txt", b"plain file\n", "text/plain")
    assert st == 200, att
    cid = f"{up['id']}@inline.youju"
    html = EVIL + f'<p>see <img src="cid:{cid}" alt="pic"></p>'
    # an inline "image" that is not one, a bad priority: refused
    assert c.call("POST", "/api/send", {
        "to": [rcpt], "html": html, "inline": [att["id"]]})[0] == 400
    assert c.call("POST", "/api/send", {
        "to": [rcpt], "html": "<p>x</p>", "priority": "urgent"})[0] == 400
    assert c.call("POST", "/api/send", {
        "to": [rcpt], "html": "<p>x</p>", "receipt": "yes"})[0] == 400
    assert c.call("POST", "/api/send", {
        "to": [rcpt], "text": "x", "inline": [up["id"]]})[0] == 400
    j = ok(c.call("POST", "/api/send", {
        "to": [rcpt], "subject": "html mail", "html": html,
        "text": "ignored: the text is made from the HTML",
        "inline": [up["id"]], "attachments": [att["id"]],
        "priority": "high", "receipt": True}))
    uid, flags, e = fetch_subject(r, "html mail")
    assert e["Message-ID"] == j["message_id"]
    assert e["X-Priority"].startswith("1") and e["Importance"] == "high"
    assert e["Disposition-Notification-To"] == f"<{addr}>"
    # mixed > related > alternative (text, html) + image; then the file
    assert e.get_content_type() == "multipart/mixed"
    rel = e.get_payload()[0]
    assert rel.get_content_type() == "multipart/related", rel
    alt = rel.get_payload()[0]
    assert alt.get_content_type() == "multipart/alternative"
    text, hpart = alt.get_payload()
    assert text.get_content_type() == "text/plain"
    assert hpart.get_content_type() == "text/html"
    h = hpart.get_content()
    t = text.get_content()
    # sanitized: no script, handlers, javascript:, data: or remote images
    low = h.lower()
    for bad in ("<script", "alert(", "onclick", "javascript:", "data:",
                "tracker.example", "<iframe"):
        assert bad not in low, (bad, h)
    assert "<b>Bold</b>" in h and "<i>italic</i>" in h, h
    assert 'href="https://example.com/x"' in h
    assert f'src="cid:{cid}"' in h, h
    assert "color" in h and "font-size" in h, h
    # the text alternative
    assert "Bold and italic" in t, t
    assert "a link <https://example.com/x>" in t, t
    assert "* one" in t and "* two" in t, t
    assert "> quoted line" in t, t
    assert "ignored" not in t
    imgpart = rel.get_payload()[1]
    assert imgpart.get_content_type() == "image/png"
    assert imgpart["Content-ID"] == f"<{cid}>"
    assert imgpart.get_content() == img
    # the pasted data: image travels as a part of its own too
    imgs = rel.get_payload()[1:]
    assert len(imgs) == 2 and imgs[1].get_content_type() == "image/png"
    assert imgs[1].get_content() == b"\x89PNG\r\n\x1a\n"
    assert f'src="cid:{imgs[1]["Content-ID"][1:-1]}"' in h, h
    filepart = e.get_payload()[1]
    assert filepart.get_filename() == "notes.txt"
    assert filepart.get_content() == "plain file\n"
    # the uploads were taken by the send
    tmp = os.path.join(maildir(inst, addr), "tmp")
    assert not os.path.exists(os.path.join(tmp, "webmail-upload." + up["id"]))
    # the reader sees the HTML with the image, and the receipt request
    c2 = Client(inst)
    ok(c2.login(rcpt))
    mm = ok(c2.call("GET", "/api/message",
                    query={"folder": "INBOX", "uid": uid}))
    assert mm["headers"]["disposition_notification_to"] == f"<{addr}>"
    assert "data:image/png;base64," in mm["html"], mm["html"]
    # the copy in Sent is the same message
    _, _, s = fetch_subject(m, "html mail", "Sent")
    assert s.get_content_type() == "multipart/mixed"
    r.logout()
    m.logout()


def test_html_only_and_plain_text_unchanged(inst):
    addr, m, c = login_user(inst, "wmhtml3")
    rcpt = user(inst, "wmhtml4")
    r = imap(inst, rcpt)
    ok(c.call("POST", "/api/send", {
        "to": [rcpt], "subject": "html only",
        "html": "<div>line one</div><div><br></div><div>line "
                "<u>two</u> &amp; 你好</div>"}))
    _, _, e = fetch_subject(r, "html only")
    assert e.get_content_type() == "multipart/alternative"
    assert e["X-Priority"] is None and e["Importance"] is None
    assert e["Disposition-Notification-To"] is None
    text, hp = e.get_payload()
    assert text.get_content().replace("\r\n", "\n") == \
        "line one\n\nline two & 你好\n", repr(text.get_content())
    assert "<u>two</u>" in hp.get_content()
    # no HTML (or an empty one): text/plain as before
    ok(c.call("POST", "/api/send", {"to": [rcpt], "subject": "plain only",
                                    "text": "just text", "html": "",
                                    "priority": "low"}))
    _, _, e = fetch_subject(r, "plain only")
    assert e.get_content_type() == "text/plain"
    assert e["X-Priority"].startswith("5") and e["Importance"] == "low"
    r.logout()
    m.logout()


def test_html_over_a_mib_of_quoted_images(inst):
    """A reply quoting a message's images (data: URLs from the reader)
    may pass 1 MiB of markup: up to the 4 MiB of a message's text."""
    addr, m, c = login_user(inst, "wmhtml5")
    rcpt = user(inst, "wmhtml6")
    r = imap(inst, rcpt)
    import base64
    import random
    imgs = []
    for k in range(3):
        rnd = random.Random(k)
        w, h = 300, 300
        raw = b"".join(b"\0" + bytes(rnd.getrandbits(8) for _ in range(w * 3))
                       for _ in range(h))
        def chunk(t, d):
            return (struct.pack(">I", len(d)) + t + d +
                    struct.pack(">I", zlib.crc32(t + d) & 0xffffffff))
        imgs.append(b"\x89PNG\r\n\x1a\n" +
                    chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0,
                                               0)) +
                    chunk(b"IDAT", zlib.compress(raw, 0)) +
                    chunk(b"IEND", b""))
    html = "<p>see below</p><blockquote>" + "".join(
        f'<img src="data:image/png;base64,{base64.b64encode(i).decode()}">'
        for i in imgs) + "</blockquote>"
    assert len(html) > (1 << 20)
    ok(c.call("POST", "/api/send", {"to": [rcpt], "subject": "big quote",
                                    "html": html}))
    _, _, e = fetch_subject(r, "big quote")
    got = [p.get_content() for p in e.walk()
           if p.get_content_type() == "image/png"]
    assert got == imgs, [len(g) for g in got]
    assert "data:" not in e.get_body(("html",)).get_content()
    r.logout()
    m.logout()


def test_read_receipt(inst):
    sender, ms, cs = login_user(inst, "wmmdn")
    addr, m, c = login_user(inst, "wmmdn2")
    ok(cs.call("POST", "/api/send", {
        "to": [addr], "subject": "please confirm", "text": "hi",
        "receipt": True}))
    uid, flags, e = fetch_subject(m, "please confirm")
    orig_mid = e["Message-ID"]
    plain = append(m, "INBOX", (
        "From: a@b.example\r\nTo: x@extmail.org\r\nSubject: no dnt\r\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nhi\r\n").encode())
    # CSRF needed; a message that asks for none; bad input
    c.csrf, saved = None, c.csrf
    assert c.call("POST", "/api/mdn", {"folder": "INBOX", "uid": uid})[0] \
        == 403
    c.csrf = saved
    assert c.call("POST", "/api/mdn",
                  {"folder": "INBOX", "uid": plain})[0] == 400
    assert c.call("POST", "/api/mdn", {"folder": "INBOX", "uid": 9999})[0] \
        == 404
    assert c.call("POST", "/api/mdn", {"folder": "../x", "uid": uid})[0] \
        == 400
    j = ok(c.call("POST", "/api/mdn", {"folder": "INBOX", "uid": uid}))
    assert "$MDNSent" in j["flags"], j
    # once: the keyword is there over IMAP, a second request refused
    m.select("INBOX")
    typ, d = m.uid("FETCH", str(uid), "(FLAGS)")
    assert b"$MDNSent" in d[0], d
    assert c.call("POST", "/api/mdn", {"folder": "INBOX", "uid": uid})[0] \
        == 409
    inst.wait_log(r"webmail: mdn: user=<wmmdn2@extmail\.org>")
    # the sender gets an RFC 8098 report
    _, _, rep = fetch_subject(ms, "Read: please confirm")
    assert rep.get_content_type() == "multipart/report"
    assert rep.get_param("report-type") == "disposition-notification"
    assert rep["From"].addresses[0].addr_spec == addr, rep["From"]
    assert rep["To"].addresses[0].addr_spec == sender, rep["To"]
    parts = list(rep.iter_parts())
    assert parts[0].get_content_type() == "text/plain"
    dn = parts[1]
    assert dn.get_content_type() == "message/disposition-notification"
    raw = dn.as_bytes().decode()
    assert f"Final-Recipient: rfc822;{addr}" in raw, raw
    assert f"Original-Message-ID: {orig_mid}" in raw, raw
    assert ("Disposition: manual-action/MDN-sent-manually; displayed"
            in raw), raw
    # the null envelope sender: no bounce loops (RFC 8098 2.1)
    ms.select("INBOX")
    typ, d = ms.uid("SEARCH", "SUBJECT", "Read:")
    typ, d = ms.uid("FETCH", d[0].split()[-1],
                    "(BODY.PEEK[HEADER.FIELDS (RETURN-PATH)])")
    assert b"<>" in d[0][1], d
    # "Ignore" is the keyword without a receipt: the prompt is gone too
    ok(cs.call("POST", "/api/send", {"to": [addr], "subject": "ignore me",
                                     "text": "x", "receipt": True}))
    uid2, _, _ = fetch_subject(m, "ignore me")
    ok(c.call("POST", "/api/flags", {"folder": "INBOX", "uids": [uid2],
                                     "add": ["$MDNSent"]}))
    assert c.call("POST", "/api/mdn", {"folder": "INBOX", "uid": uid2})[0] \
        == 409
    m.logout()
    ms.logout()


def test_draft_keeps_attachments_and_images(inst):
    addr, m, c = login_user(inst, "wmdraftatt")
    rcpt = user(inst, "wmdraftatt2")
    r = imap(inst, rcpt)
    img = png(4, 4, (10, 200, 10))
    blob = bytes(range(256)) * 40
    st, up = upload(c, "image.png", img, "image/png")
    st, a1 = upload(c, "报告.bin", blob)
    st, a2 = upload(c, "n.txt", b"text file\r\nline 2\r\n", "text/plain")
    cid = f"{up['id']}@inline.youju"
    d = ok(c.call("POST", "/api/draft", {
        "to": [rcpt], "subject": "draft with files",
        "html": f'<p>hello <b>there</b> <img src="cid:{cid}"></p>',
        "inline": [up["id"]], "attachments": [a1["id"], a2["id"]],
        "priority": "low", "receipt": True}))
    # the uploads stay until the send (the draft holds copies)
    j = ok(c.call("POST", "/api/reattach",
                  {"folder": "Drafts", "uid": d["uid"]}))
    assert [(a["name"], a["size"]) for a in j["attachments"]] == \
        [("报告.bin", len(blob)), ("n.txt", 19)], j
    assert len(j["inline"]) == 1 and j["inline"][0]["type"] == "image/png"
    view = j["inline"][0]["url"]
    assert view == "/api/upload/view?id=" + j["inline"][0]["id"]
    assert f'src="{view}"' in j["html"] and "<b>there</b>" in j["html"], j
    assert j["priority"] == "low" and j["receipt"] is True
    # the image is served as an image, from this user's uploads only
    st, body, hd = c.call("GET", view)
    assert st == 200 and body == img, st
    assert hd["Content-Type"] == "image/png"
    assert hd["X-Content-Type-Options"] == "nosniff"
    st, _, _ = c.call("GET", "/api/upload/view",
                      query={"id": j["attachments"][1]["id"]})
    assert st == 415  # not an image
    other = Client(inst)
    user(inst, "wmdraftatt3")
    imap(inst, "wmdraftatt3@extmail.org").logout()
    ok(other.login("wmdraftatt3@extmail.org"))
    assert other.call("GET", view)[0] == 404
    assert other.call("POST", "/api/reattach",
                      {"folder": "Drafts", "uid": d["uid"]})[0] == 404
    # the editor sends its HTML back with cid: URLs; the send takes them
    new_cid = f"{j['inline'][0]['id']}@inline.youju"
    ok(c.call("POST", "/api/send", {
        "to": [rcpt], "subject": "draft with files",
        "html": f'<p>hello <b>there</b> <img src="cid:{new_cid}"></p>',
        "inline": [j["inline"][0]["id"]],
        "attachments": [a["id"] for a in j["attachments"]],
        "draft_uid": d["uid"]}))
    _, _, e = fetch_subject(r, "draft with files")
    files = [p for p in e.walk() if p.get_content_disposition() ==
             "attachment"]
    assert [p.get_filename() for p in files] == ["报告.bin", "n.txt"]
    assert files[0].get_content() == blob
    assert files[1].get_content().replace("\r\n", "\n") == \
        "text file\nline 2\n"
    imgs = [p for p in e.walk() if p.get_content_type() == "image/png"]
    assert len(imgs) == 1 and imgs[0].get_content() == img
    assert imgs[0]["Content-ID"] == f"<{new_cid}>"
    m.select("Drafts")
    typ, dd = m.uid("SEARCH", None, "ALL")
    assert dd[0].split() == [], dd
    # a forwarded message in a draft comes back as message/rfc822
    u = append(m, "INBOX", (
        "From: a@b.example\r\nTo: x@extmail.org\r\nSubject: fwd me\r\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nbody\r\n").encode())
    d = ok(c.call("POST", "/api/draft", {
        "to": [rcpt], "subject": "fwd draft", "text": "fyi",
        "attach_message": {"folder": "INBOX", "uid": u}}))
    j = ok(c.call("POST", "/api/reattach",
                  {"folder": "Drafts", "uid": d["uid"]}))
    assert [a["type"] for a in j["attachments"]] == ["message/rfc822"], j
    assert j["html"] is None
    ok(c.call("POST", "/api/send", {
        "to": [rcpt], "subject": "fwd draft", "text": "fyi",
        "attachments": [j["attachments"][0]["id"]], "draft_uid": d["uid"]}))
    _, _, e = fetch_subject(r, "fwd draft")
    fw = [p for p in e.walk() if p.get_content_type() == "message/rfc822"]
    assert len(fw) == 1 and fw[0].get_content()["Subject"] == "fwd me"
    assert fw[0]["Content-Transfer-Encoding"] in (None, "7bit", "8bit")
    r.logout()
    m.logout()


def test_attachment_view_images_only(inst):
    addr, m, c = login_user(inst, "wmview")
    img = png(5, 5)
    import base64
    b64 = base64.b64encode(img).decode()
    svg = base64.b64encode(
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
        b'</script></svg>').decode()
    fake = base64.b64encode(b"<html><script>alert(1)</script>").decode()
    u = append(m, "INBOX", (
        "From: a@b.example\r\nTo: x@extmail.org\r\nSubject: images\r\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nthree files\r\n"
        "--b\r\nContent-Type: image/png; name=\"a.png\"\r\n"
        "Content-Disposition: attachment; filename=\"a.png\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n"
        "--b\r\nContent-Type: image/svg+xml; name=\"b.svg\"\r\n"
        "Content-Disposition: attachment; filename=\"b.svg\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{svg}\r\n"
        "--b\r\nContent-Type: image/png; name=\"c.png\"\r\n"
        "Content-Disposition: attachment; filename=\"c.png\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{fake}\r\n"
        "--b--\r\n").encode())
    q = {"folder": "INBOX", "uid": u}
    st, body, hd = c.call("GET", "/api/attachment/view", query={**q,
                                                               "part": "2"})
    assert st == 200 and body == img
    assert hd["Content-Type"] == "image/png"
    assert hd["X-Content-Type-Options"] == "nosniff"
    assert hd["Content-Disposition"] == "inline"
    # SVG never inline; a "PNG" that is HTML refused
    assert c.call("GET", "/api/attachment/view",
                  query={**q, "part": "3"})[0] == 415
    assert c.call("GET", "/api/attachment/view",
                  query={**q, "part": "4"})[0] == 415
    assert c.call("GET", "/api/attachment/view",
                  query={**q, "part": "9"})[0] == 404
    # the download stays a download
    st, body, hd = c.call("GET", "/api/attachment", query={**q, "part": "3"})
    assert hd["Content-Type"] == "application/octet-stream"
    assert hd["Content-Disposition"].startswith("attachment")
    # another user's uid is not reachable
    c2 = Client(inst)
    other = user(inst, "wmview2")
    imap(inst, other).logout()
    ok(c2.login(other))
    assert c2.call("GET", "/api/attachment/view",
                   query={**q, "part": "2"})[0] == 404
    m.logout()


def nth_message(m, n, box="INBOX", timeout=30):
    """The raw bytes of message n (1-based) in box, waiting for it."""
    deadline = time.time() + timeout
    while True:
        typ, d = m.select(box)
        if int(d[0]) >= n:
            typ, d = m.fetch(str(n), "(BODY.PEEK[])")
            return d[0][1]
        assert time.time() < deadline, f"no message {n} in {box}"
        time.sleep(0.2)


def test_try_local_charset_outgoing(inst):
    """ExtMail's "try local charset" for outgoing mail: the text part,
    the Subject and the display name in the preference's charset when
    all of them fit it (iconv round trip), otherwise all UTF-8; the
    delivered message and the copy in Sent decode to the same text."""
    addr, m, c = login_user(inst, "wmoutcs")
    rcpt = user(inst, "wmoutcs2")
    r = imap(inst, rcpt)
    cases = [
        # (preference, name, subject, text, expected label)
        ("GB2312", "张三", "测试 中文 1", "你好，世界\n第二行：邮件",
         "gb2312"),
        # 堃 is GBK, not GB2312: everything falls back to UTF-8
        ("GB2312", "张三", "测试 2", "你好 堃", "utf-8"),
        # the body fits GB2312 but the display name does not
        ("GB2312", "李堃", "测试 3", "你好", "utf-8"),
        ("GB18030", "王五", "测试 4 😀", "表情 😀 €", "gb18030"),
        ("Big5", "陳大文", "繁體 5", "繁體中文測試", "big5"),
        # 简 is simplified: not in Big5
        ("Big5", "陳大文", "繁體 6", "繁體 简体", "utf-8"),
        ("ISO-2022-JP", "山田", "日本語 7", "日本語のテキスト\nカタカナ",
         "iso-2022-jp"),
        ("", "张三", "测试 8", "你好", "utf-8"),
    ]
    for i, (cs, name, subject, text, label) in enumerate(cases, 1):
        ok(c.call("PUT", "/api/prefs", {"local_charset": cs, "name": name}))
        ok(c.call("POST", "/api/send", {"to": [rcpt], "subject": subject,
                                        "text": text}))
        for box, mm in (("INBOX", r), ("Sent", m)):
            raw = nth_message(mm, i, box)
            e = email.message_from_bytes(raw, policy=email.policy.default)
            what = (cs, subject, box)
            assert e.get_content_type() == "text/plain", what
            assert e.get_content_charset() == label, \
                (what, e["Content-Type"])
            body = e.get_payload(decode=True)
            got = body.decode(label).replace("\r\n", "\n")
            # the part ends in a line end (wm_qp_body)
            assert got == text + "\n", (what, got)
            assert str(e["Subject"]) == subject, (what, e["Subject"])
            assert e["From"].addresses[0].display_name == name, \
                (what, e["From"])
            head = raw.split(b"\r\n\r\n")[0]
            word = f"=?{cs if label != 'utf-8' else 'UTF-8'}?B?".encode()
            assert head.count(word) >= 2, (what, head)
            if label == "iso-2022-jp":
                assert b"=1B$B" in raw, raw  # the escape to JIS X 0208
    # an HTML message: its text part follows the rule, the HTML is UTF-8
    ok(c.call("PUT", "/api/prefs", {"local_charset": "GB2312"}))
    ok(c.call("POST", "/api/send", {"to": [rcpt], "subject": "html 9",
                                    "html": "<p>你好 <b>世界</b></p>"}))
    e = email.message_from_bytes(nth_message(r, len(cases) + 1),
                                 policy=email.policy.default)
    text, hp = e.get_payload()
    assert text.get_content_charset() == "gb2312", text["Content-Type"]
    assert text.get_content().replace("\r\n", "\n") == "你好 世界\n"
    assert hp.get_content_charset() == "utf-8"
    assert "<b>世界</b>" in hp.get_content()
    r.logout()
    m.logout()
