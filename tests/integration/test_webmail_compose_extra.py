"""youju-webmail's compose gaps closed (issue 12, docs/webmail.md
"Compose"): several messages forwarded as attachments (each a
message/rfc822 part, byte for byte), no empty <img data-youju-blocked> in
sent HTML (a blocked remote image leaves its alt text), the images of a
quoted HTML message larger than the reader inlines copied to uploads
(POST /api/reattach "inline_only") and sent as cid: parts, and the HTML
signature (PUT /api/prefs "signature_html": sanitized, its text form
kept, the file's format, ExtMail's signature.cf untouched) — each checked
on the delivered message over IMAP or on the file."""
import base64
import os
import random

from test_imap_state import maildir, user  # noqa: E402
from test_webmail_api import Client, append, imap, login_user, ok
from test_webmail_compose import fetch_subject, png


def plain(subject, body):
    return (f"From: a@b.example\r\nTo: x@extmail.org\r\n"
            f"Subject: {subject}\r\n"
            "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@b.example>\r\n"
            f"\r\n{body}\r\n").encode()


def test_forward_several_as_attachments(inst):
    addr, m, c = login_user(inst, "wmfwdn")
    rcpt = user(inst, "wmfwdn2")
    r = imap(inst, rcpt)
    uids = [append(m, "INBOX", plain(f"part {i}", f"body {i}\r\nline"))
            for i in range(3)]
    originals = []
    m.select("INBOX")
    for u in uids:
        typ, d = m.uid("FETCH", str(u), "(BODY.PEEK[])")
        originals.append(d[0][1])
    j = ok(c.call("POST", "/api/send", {
        "to": [rcpt], "subject": "three forwarded", "text": "see the three",
        "attach_message": [{"folder": "INBOX", "uid": u} for u in uids]}))
    assert j["queue_id"], j
    _, _, e = fetch_subject(r, "three forwarded")
    assert e.get_content_type() == "multipart/mixed"
    fw = [p for p in e.iter_parts()
          if p.get_content_type() == "message/rfc822"]
    assert len(fw) == 3, [p.get_content_type() for p in e.iter_parts()]
    assert [p.get_filename() for p in fw] == \
        ["forwarded-1.eml", "forwarded-2.eml", "forwarded-3.eml"]
    for i, p in enumerate(fw):
        inner = p.get_content()
        assert inner["Subject"] == f"part {i}", inner["Subject"]
        assert f"body {i}" in inner.get_content()
    # byte for byte: each original follows its part's header block
    r.select("INBOX")
    typ, d = r.uid("SEARCH", None, "SUBJECT", '"three forwarded"')
    typ, d = r.uid("FETCH", d[0].split()[-1], "(BODY.PEEK[])")
    raw = d[0][1]
    for i, o in enumerate(originals):
        k = raw.index(f'filename="forwarded-{i + 1}.eml"'.encode())
        inner = raw[raw.index(b"\r\n\r\n", k) + 4:]
        assert inner.startswith(o), (i, inner[:120], o[:120])
    # one still works as the object it always was, named forwarded.eml
    ok(c.call("POST", "/api/send", {
        "to": [rcpt], "subject": "one forwarded", "text": "x",
        "attach_message": {"folder": "INBOX", "uid": uids[0]}}))
    _, _, e = fetch_subject(r, "one forwarded")
    fw = [p for p in e.iter_parts()
          if p.get_content_type() == "message/rfc822"]
    assert [p.get_filename() for p in fw] == ["forwarded.eml"]
    # a draft keeps all three (and "Continue writing" gets them back)
    d = ok(c.call("POST", "/api/draft", {
        "to": [rcpt], "subject": "fwd draft n", "text": "x",
        "attach_message": [{"folder": "INBOX", "uid": u} for u in uids]}))
    j = ok(c.call("POST", "/api/reattach",
                  {"folder": "Drafts", "uid": d["uid"]}))
    assert [a["type"] for a in j["attachments"]] == ["message/rfc822"] * 3
    # the limits: none, 21, a bad entry, another folder's missing uid
    for bad, st in (([], 400),
                    ([{"folder": "INBOX", "uid": uids[0]}] * 21, 400),
                    ([{"folder": "INBOX", "uid": uids[0]}, {"uid": 1}], 400),
                    ([{"folder": "INBOX", "uid": uids[0]},
                      {"folder": "INBOX", "uid": 99999}], 404),
                    ([{"folder": "../x", "uid": 1}], 400)):
        got, body, _ = c.call("POST", "/api/send", {
            "to": [rcpt], "text": "x", "attach_message": bad})
        assert got == st, (bad, got, body)
    # another user's message is never reachable
    other, om, oc = login_user(inst, "wmfwdn3")
    got, body, _ = oc.call("POST", "/api/send", {
        "to": [rcpt], "text": "x",
        "attach_message": [{"folder": "INBOX", "uid": uids[1]}]})
    assert got == 404, (got, body)
    om.logout()
    r.logout()
    m.logout()


def test_blocked_remote_image_leaves_alt_text(inst):
    addr, m, c = login_user(inst, "wmnoimg")
    rcpt = user(inst, "wmnoimg2")
    r = imap(inst, rcpt)
    html = ('<p>before <img src="https://tracker.example/logo.png" '
            'alt="Company logo"> after</p>'
            '<p><img src="http://tracker.example/pixel.gif"></p>'
            '<p>unknown <img src="cid:nothing@else" alt="gone"> part</p>'
            f'<p><img src="data:image/png;base64,'
            f'{base64.b64encode(png(2, 2)).decode()}" alt="kept"></p>')
    ok(c.call("POST", "/api/send", {
        "to": [rcpt], "subject": "no empty images", "html": html}))
    _, _, e = fetch_subject(r, "no empty images")
    h = e.get_body(("html",)).get_content()
    t = e.get_body(("plain",)).get_content()
    assert "data-youju-blocked" not in h, h
    assert "tracker.example" not in h, h
    assert "before Company logo after" in h, h
    assert "unknown gone part" in h, h
    # the one real image stays, as a cid: part
    assert h.count("<img") == 1 and 'src="cid:' in h, h
    assert 'alt="kept"' in h, h
    assert "before Company logo after" in t, t
    # a draft is stored the same way
    d = ok(c.call("POST", "/api/draft", {
        "subject": "draft no empty", "html": html}))
    _, _, e = fetch_subject(m, "draft no empty", "Drafts")
    h = e.get_body(("html",)).get_content()
    assert "data-youju-blocked" not in h and h.count("<img") == 1, h
    assert d["uid"]
    r.logout()
    m.logout()


def big_png():
    """A PNG over 512 KiB (noise does not compress)."""
    rnd = random.Random(7)
    w, hgt = 420, 420
    import struct
    import zlib

    def chunk(t, d):
        return (struct.pack(">I", len(d)) + t + d +
                struct.pack(">I", zlib.crc32(t + d) & 0xffffffff))
    raw = b"".join(b"\0" + rnd.randbytes(w * 3) for _ in range(hgt))
    data = (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, hgt, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b""))
    assert len(data) > 512 * 1024
    return data


def related_msg(subject, big, small):
    b64 = base64.encodebytes(big).decode().replace("\n", "\r\n")
    s64 = base64.encodebytes(small).decode().replace("\n", "\r\n")
    return (
        f"From: Ann <ann@a.example>\r\nTo: x@extmail.org\r\n"
        f"Subject: {subject}\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@a.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
        '--m\r\nContent-Type: multipart/related; boundary="r"\r\n\r\n'
        "--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        '<p>The big one:<img src="cid:big@a.example" alt="big"></p>'
        '<p>The small one:<img src="cid:small@a.example" alt="small"></p>'
        "\r\n--r\r\nContent-Type: image/png\r\n"
        "Content-ID: <big@a.example>\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{b64}"
        "--r\r\nContent-Type: image/png\r\n"
        "Content-ID: <small@a.example>\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{s64}"
        "--r--\r\n"
        '--m\r\nContent-Type: text/plain; name="notes.txt"\r\n'
        'Content-Disposition: attachment; filename="notes.txt"\r\n\r\n'
        "a file the reply does not take\r\n--m--\r\n").encode()


def test_reply_quotes_large_images(inst):
    addr, m, c = login_user(inst, "wmbigq")
    rcpt = user(inst, "wmbigq2")
    r = imap(inst, rcpt)
    big, small = big_png(), png(4, 4)
    u = append(m, "INBOX", related_msg("big picture", big, small))
    mm = ok(c.call("GET", "/api/message", query={"folder": "INBOX",
                                                 "uid": u}))
    # the reader: the small image inline as data:, the big one a part URL
    assert "data:image/png;base64," in mm["html"], mm["html"][:300]
    assert 'src="/api/attachment?' in mm["html"], mm["html"][:300]
    # a reply takes the images only, as uploads the editor shows
    j = ok(c.call("POST", "/api/reattach",
                  {"folder": "INBOX", "uid": u, "inline_only": True}))
    assert j["attachments"] == [], j["attachments"]
    assert len(j["inline"]) == 2, j["inline"]
    ids = [i["id"] for i in j["inline"]]
    for i in j["inline"]:
        assert f'src="/api/upload/view?id={i["id"]}"' in j["html"], j["html"]
    assert sorted(i["size"] for i in j["inline"]) == \
        sorted([len(big), len(small)])
    # bad inline_only
    assert c.call("POST", "/api/reattach", {"folder": "INBOX", "uid": u,
                                            "inline_only": "yes"})[0] == 400
    # the editor sends them as cid: (editor.js serialize)
    quoted = j["html"]
    for i in ids:
        quoted = quoted.replace(f"/api/upload/view?id={i}",
                                f"cid:{i}@inline.youju")
    ok(c.call("POST", "/api/send", {
        "to": [rcpt], "subject": "Re: big picture",
        "html": "<p>Nice!</p><blockquote type=\"cite\">" + quoted +
                "</blockquote>", "inline": ids,
        "in_reply_to": "<big-picture@a.example>"}))
    _, _, e = fetch_subject(r, "Re: big picture")
    assert e.get_content_type() == "multipart/related", e.get_content_type()
    imgs = [p for p in e.walk() if p.get_content_type() == "image/png"]
    assert sorted(len(p.get_content()) for p in imgs) == \
        sorted([len(big), len(small)])
    assert any(p.get_content() == big for p in imgs)
    h = e.get_body(("html",)).get_content()
    for p in imgs:
        assert f'src="cid:{p["Content-ID"][1:-1]}"' in h, h
    assert "notes.txt" not in e.as_string()
    r.logout()
    m.logout()


def test_html_signature(inst):
    addr, m, c = login_user(inst, "wmsightml")
    md = maildir(inst, addr)
    with open(os.path.join(md, "signature.cf"), "wb") as f:
        f.write(b"-- \r\nExtMail text\r\n")
    p = ok(c.call("GET", "/api/prefs"))
    assert p["signature"] == "-- \nExtMail text\n" and \
        p["signature_html"] == "", p
    html = ('<div>--&nbsp;</div><div><b>Ann</b> <i>Lee</i>'
            '<script>alert(1)</script></div>'
            '<div onclick="x()"><a href="https://a.example/">site</a>'
            '<img src="https://tracker.example/t.png"></div>')
    p = ok(c.call("PUT", "/api/prefs", {"signature": "ignored",
                                        "signature_html": html}))
    sh = p["signature_html"]
    assert "<b>Ann</b>" in sh and "<i>Lee</i>" in sh, sh
    assert 'href="https://a.example/"' in sh, sh
    for bad in ("script", "alert", "onclick", "tracker", "<img",
                "data-youju-blocked"):
        assert bad not in sh, (bad, sh)
    # its text form (plain-text compose): the "-- " line kept
    assert p["signature"].startswith("-- \nAnn Lee\n"), repr(p["signature"])
    assert "site" in p["signature"], p["signature"]
    assert ok(c.call("GET", "/api/prefs")) == p
    with open(os.path.join(md, "youju-webmail.cf"), encoding="utf-8") as f:
        text = f.read()
    assert "\nsignature_html = <div>" in text, text
    assert "\nsignature = -- \\nAnn Lee" in text, text
    assert oct(os.stat(os.path.join(md, "youju-webmail.cf")).st_mode
               & 0o777) == "0o600"
    # ExtMail's file is read, never written
    with open(os.path.join(md, "signature.cf"), "rb") as f:
        assert f.read() == b"-- \r\nExtMail text\r\n"
    # the other preferences keep it
    p = ok(c.call("PUT", "/api/prefs", {"page_size": 20}))
    assert p["signature_html"] == sh, p
    # too long, not a string
    for v in ("<b>x</b>" * 3000, 5, "<p>" + "y" * 4100 + "</p>"):
        st, j, _ = c.call("PUT", "/api/prefs", {"signature_html": v})
        assert st == 400 and j["error"]["field"] == "signature_html", j
    # a text signature alone replaces the HTML form; "" clears both
    p = ok(c.call("PUT", "/api/prefs", {"signature": "-- \nplain"}))
    assert p["signature"] == "-- \nplain" and p["signature_html"] == "", p
    p = ok(c.call("PUT", "/api/prefs", {"signature_html": "<b>B</b>"}))
    assert p["signature"] == "B" and p["signature_html"] == "<b>B</b>", p
    p = ok(c.call("PUT", "/api/prefs", {"signature": "",
                                        "signature_html": ""}))
    assert p["signature_html"] == "", p
    c2 = Client(inst)
    ok(c2.login(addr))
    assert ok(c2.call("GET", "/api/prefs"))["signature_html"] == ""
    m.logout()
