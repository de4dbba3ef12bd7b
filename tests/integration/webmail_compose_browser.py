#!/usr/bin/python3
"""Drives youju-webmail's compose extras in headless Chromium
(webadmin_browser.Browser).

Not a test module itself: test_webmail_compose_browser.py runs it with
/usr/bin/python3.  Steps: log in; open an HTML message that asks for a
read receipt and has a PNG and an SVG attachment: one thumbnail (the PNG,
loaded), the full image in a dialog that Esc closes, the receipt prompt,
"Send receipt" (the report arrives, $MDNSent set, no prompt on reload);
reply: the HTML editor with the message quoted, bold text and a list
from the toolbar, a link through the link dialog (Esc closes it first),
an image pasted and one dropped, priority high and a receipt request,
Ctrl+Enter sends; the message that arrives is checked over IMAP
(multipart/related, cid: images, no data: or upload URLs, the headers);
a new message switched to rich text with a pasted image and a file,
saved as a draft, continued from Drafts with both back, sent; no console
errors; screenshots of each page.

    webmail_compose_browser.py --url URL --imap PORT --user U --password P
                               --rcpt R --rcpt-password P --png FILE
                               --artifacts DIR
"""
import argparse
import base64
import email
import email.policy
import imaplib
import os
import sys
import tempfile
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webadmin_browser import Browser  # noqa: E402
import webmail_browser as wb  # noqa: E402


def log(msg):
    print(f"webmail_compose_browser: {msg}", flush=True)


def fetch(port, user, password, box, subject, timeout=60):
    """The last message with subject in box, parsed, and its flags."""
    deadline = time.time() + timeout
    while True:
        m = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        m.login(user, password)
        m.select(box)
        typ, d = m.uid("SEARCH", None, "SUBJECT", f'"{subject}"')
        uids = d[0].split()
        if uids:
            typ, d = m.uid("FETCH", uids[-1], "(FLAGS BODY.PEEK[])")
            m.logout()
            return email.message_from_bytes(
                d[0][1], policy=email.policy.default), d[0][0]
        m.logout()
        assert time.time() < deadline, f"{subject!r} not in {box}"
        time.sleep(0.3)


def count(port, user, password, box):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=20)
    m.login(user, password)
    m.select(box)
    typ, d = m.uid("SEARCH", None, "ALL")
    m.logout()
    return len(d[0].split())


# a file event (paste or drop) with one PNG, made in the page
FILE_EVENT = """
const [sel, kind, b64, name] = arguments;
const bin = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
const dt = new DataTransfer();
dt.items.add(new File([bin], name, {type: 'image/png'}));
const el = document.querySelector(sel);
el.focus();
const ev = kind === 'paste'
  ? new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true})
  : new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true});
el.dispatchEvent(ev);
"""

LOADED = """
return [...document.querySelectorAll(arguments[0])]
  .filter(i => i.complete && i.naturalWidth > 0).length;
"""


# the message frame's height
FRAME_FIT = "return document.querySelector('iframe.html').offsetHeight;"
# where the thumbnails end, against the window's height
THUMBS_IN_VIEW = """
const f = document.querySelector('iframe.html');
return {bottom: document.querySelector('ul.thumbs').getBoundingClientRect().bottom,
        inner: window.innerHeight,
        frame_top: f ? f.getBoundingClientRect().top : null};
"""


def open_subject(b, subject):
    wb.open_subject(b, subject)


def main():
    ap = argparse.ArgumentParser()
    for a in ("--url", "--imap", "--user", "--password", "--rcpt",
              "--rcpt-password", "--png", "--artifacts"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    imap = int(args.imap)
    png = open(args.png, "rb").read()
    png64 = base64.b64encode(png).decode()
    b = Browser(args.url, args.artifacts)
    try:
        d = b.d
        wb.login(b, args.url, args.user, args.password)

        # --- reading: thumbnails, the full image, the receipt prompt ----
        open_subject(b, "Pictures from the trip")
        thumbs = b.wait(lambda: d.find_elements(
            By.CSS_SELECTOR, "ul.thumbs img"), "thumbnails")
        assert len(thumbs) == 1, "only the PNG is previewed, not the SVG"
        b.wait(lambda: d.execute_script(LOADED, "ul.thumbs img") == 1,
               "thumbnail loaded")
        src = thumbs[0].get_attribute("src")
        assert "/api/attachment/view?" in src, src
        bar = b.css(".mdnbar")
        assert args.rcpt in bar.text, bar.text
        # the short HTML message's frame is as tall as its text, and the
        # thumbnails below it are in the window without scrolling
        d.execute_script("window.scrollTo(0, 0)")
        b.wait(lambda: d.execute_script(FRAME_FIT) < 200,
               "the frame sized to its text")
        fit = d.execute_script(THUMBS_IN_VIEW)
        assert fit["bottom"] <= fit["inner"], fit
        frame = b.css("iframe.html")
        d.switch_to.frame(frame)
        inner = d.execute_script(
            "return [document.documentElement.scrollHeight,"
            " document.documentElement.clientHeight,"
            " document.body.textContent]")
        d.switch_to.default_content()
        assert inner[0] <= inner[1] + 1, ("the text is cut", inner)
        assert "See the photo" in inner[2], inner
        b.shot("read-thumbs-receipt")
        thumbs[0].click()
        b.css("dialog.lightbox[open] img")
        b.wait(lambda: d.execute_script(LOADED, "dialog.lightbox img") == 1,
               "full image loaded")
        b.shot("read-lightbox", widths=(1280,))
        d.switch_to.active_element.send_keys(Keys.ESCAPE)
        b.wait(lambda: not d.find_elements(By.CSS_SELECTOR, "dialog"),
               "the dialog closed by Esc")
        b.css("button[name=mdn_send]").click()
        b.wait(lambda: "read receipt was sent" in b.css(".mdnbar").text,
               "receipt sent")
        rep, _ = fetch(imap, args.rcpt, args.rcpt_password, "INBOX",
                       "Read: Pictures from the trip")
        assert rep.get_content_type() == "multipart/report"
        _, flags = fetch(imap, args.user, args.password, "INBOX",
                         "Pictures from the trip")
        assert b"$MDNSent" in flags, flags
        d.refresh()
        b.css("article.message")
        b.rendered()
        assert not d.find_elements(By.CSS_SELECTOR, ".mdnbar"), \
            "asked again"
        log("thumbnails, lightbox, read receipt")

        # --- forward: the files go along, the HTML quoted ---------------
        b.css("button[name=forward]").click()
        b.css("form.compose")
        b.rendered()
        b.wait(lambda: "beach.png" in b.css("ul.att-list").text and
               "map.svg" in b.css("ul.att-list").text, "files forwarded")
        b.wait(lambda: "Looking forward to it" in b.css("div.editor").text,
               "the HTML quoted")
        b.shot("compose-forward", widths=(1280,))
        d.back()
        b.css("article.message")
        b.rendered()
        log("forward with the files")

        # --- reply in HTML: toolbar, link dialog, images, Ctrl+Enter ----
        b.css("button[name=reply]").click()
        b.css("form.compose")
        b.rendered()
        ed = b.css("form.compose div.editor[contenteditable=true]")
        assert not d.find_element(By.ID, "c-text").is_displayed()
        b.wait(lambda: "Looking forward to it" in d.execute_script(
            "return document.querySelector('div.editor blockquote')"
            ".textContent"), "the HTML quote")
        # the caret at the start, above the quote
        d.execute_script("""
            const e = document.querySelector('div.editor');
            e.focus();
            const r = document.createRange();
            r.setStart(e.firstChild, 0); r.collapse(true);
            const s = getSelection(); s.removeAllRanges(); s.addRange(r);""")
        ed.send_keys("Hello ")
        b.css("button[name=ed_bold]").click()
        ed.send_keys("bold words")
        b.css("button[name=ed_bold]").click()
        ed.send_keys(" and plain." + Keys.ENTER)
        b.css("button[name=ed_ul]").click()
        ed.send_keys("item one" + Keys.ENTER + "item two" + Keys.ENTER +
                     Keys.ENTER)
        # the link dialog: Esc closes it, then a link is made
        b.css("button[name=ed_link]").click()
        b.css("dialog.linkdlg[open] input[name=url]")
        d.switch_to.active_element.send_keys(Keys.ESCAPE)
        b.wait(lambda: not d.find_elements(By.CSS_SELECTOR, "dialog"),
               "link dialog closed by Esc")
        b.css("button[name=ed_link]").click()
        b.css("dialog.linkdlg[open] input[name=url]").send_keys(
            "https://youju.example/doc")
        b.shot("compose-link-dialog", widths=(1280,))
        b.css("dialog.linkdlg button[name=link_ok]").click()
        b.wait(lambda: d.find_elements(
            By.CSS_SELECTOR, "div.editor a[href='https://youju.example/doc']"),
            "the link")
        d.execute_script(FILE_EVENT, "div.editor", "paste", png64,
                         "pasted.png")
        d.execute_script(FILE_EVENT, "div.editor", "drop", png64,
                         "dropped.png")
        b.wait(lambda: d.execute_script(
            LOADED, "div.editor img[src^='/api/upload/view?id=']") == 2,
            "two images in the editor")
        Select(b.css("select[name=priority]")).select_by_value("high")
        b.check("receipt", form="form.compose")
        b.shot("compose-html-reply")
        ed.send_keys(Keys.CONTROL, Keys.ENTER)
        b.flash("Message sent")
        e, _ = fetch(imap, args.rcpt, args.rcpt_password, "INBOX",
                     "Re: Pictures from the trip")
        assert e["X-Priority"].startswith("1"), e["X-Priority"]
        assert e["Disposition-Notification-To"], "no receipt request"
        assert e["In-Reply-To"] == "<trip-1@b.example>", e["In-Reply-To"]
        assert e.get_content_type() == "multipart/related", \
            e.get_content_type()
        html = e.get_body(("html",)).get_content()
        text = e.get_body(("plain",)).get_content()
        assert "<b>bold words</b>" in html, html
        assert "<li>item one</li>" in html, html
        assert 'href="https://youju.example/doc"' in html, html
        assert "<blockquote" in html and "Looking forward to it" in html
        for bad in ("data:", "/api/upload", "<script"):
            assert bad not in html, (bad, html)
        imgs = [p for p in e.walk() if p.get_content_type() == "image/png"]
        assert len(imgs) == 2 and all(p.get_content() == png for p in imgs)
        for p in imgs:
            assert f'src="cid:{p["Content-ID"][1:-1]}"' in html, html
        assert "Hello bold words and plain." in text, text
        assert "* item one" in text, text
        log("HTML reply with images sent by Ctrl+Enter")

        # --- a draft with an image and a file, continued, sent ---------
        b.go("compose")
        b.css("form.compose")
        b.fill("to", args.rcpt, form="form.compose")
        b.fill("subject", "draft with a picture", form="form.compose")
        b.css("button[name=mode]").click()
        ed = b.css("form.compose div.editor")
        ed.send_keys("Picture and file below.")
        d.execute_script(FILE_EVENT, "div.editor", "paste", png64,
                         "pasted.png")
        b.wait(lambda: d.execute_script(
            LOADED, "div.editor img[src^='/api/upload/view?id=']") == 1,
            "image in the editor")
        tmp = tempfile.mkdtemp(prefix="youju-compose-")
        path = os.path.join(tmp, "plan.txt")
        with open(path, "wb") as f:
            f.write(b"the plan\n" * 50)
        d.find_element(By.ID, "c-file").send_keys(path)
        b.wait(lambda: "plan.txt" in b.css("ul.att-list").text, "attached")
        b.css("button[name=save_draft]").click()
        b.wait(lambda: "Draft saved" in b.css(".draftstatus").text,
               "draft saved")
        b.go("folder/Drafts")
        open_subject(b, "draft with a picture")
        b.css("button[name=edit_draft]").click()
        b.css("form.compose")
        b.rendered()
        b.wait(lambda: d.execute_script(
            LOADED, "div.editor img[src^='/api/upload/view?id=']") == 1,
            "the draft's image back in the editor")
        assert "Picture and file below." in b.css("div.editor").text
        assert "plan.txt" in b.css("ul.att-list").text
        b.shot("compose-draft-continued")
        b.submit(form="form.compose")
        b.flash("Message sent")
        e, _ = fetch(imap, args.rcpt, args.rcpt_password, "INBOX",
                     "draft with a picture")
        files = [p for p in e.walk()
                 if p.get_content_disposition() == "attachment"]
        assert [p.get_filename() for p in files] == ["plan.txt"], files
        assert files[0].get_content().replace("\r\n", "\n") == \
            "the plan\n" * 50
        imgs = [p for p in e.walk() if p.get_content_type() == "image/png"]
        assert len(imgs) == 1 and imgs[0].get_content() == png
        assert count(imap, args.user, args.password, "Drafts") == 0
        log("draft with its image and file continued and sent")

        # --- several messages forwarded as attachments, from the list ---
        b.go("folder/INBOX")
        for subj in ("Pictures from the trip", "Second note"):
            row = [e for e in d.find_elements(By.CSS_SELECTOR, "li.msg")
                   if subj in e.text][0]
            row.find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
        b.css("div.toolbar button[name=forward_att]").click()
        b.css("form.compose")
        b.rendered()
        assert "The 2 messages are attached." in b.text(), b.text()[:800]
        b.fill("to", args.rcpt, form="form.compose")
        b.shot("compose-forward-two", widths=(1280,))
        b.submit(form="form.compose")
        b.flash("Message sent")
        e, _ = fetch(imap, args.rcpt, args.rcpt_password, "INBOX",
                     "(and 1 more)")
        fw = [p for p in e.iter_parts()
              if p.get_content_type() == "message/rfc822"]
        assert sorted(p.get_content()["Subject"] for p in fw) == \
            ["Pictures from the trip", "Second note"], fw
        log("two messages forwarded as attachments from the list")

        # --- a reply quoting an image over 512 KiB ---------------------
        b.go("folder/INBOX")
        open_subject(b, "big picture")
        # markup with images: the frame takes the window's room left
        # above the attachments, which stay in view
        # (a desktop window, 1280 x 900)
        b._viewport(1280, 900)
        d.execute_script("window.scrollTo(0, 0)")
        b.wait(lambda: d.execute_script(LOADED, "ul.thumbs img") == 2,
               "the thumbnails")
        try:
            b.wait(lambda: d.execute_script(THUMBS_IN_VIEW)["bottom"] <=
                   d.execute_script(THUMBS_IN_VIEW)["inner"],
                   "the thumbnails of a long message in the window")
        except AssertionError:
            raise AssertionError(("thumbnails below the window",
                                  d.execute_script(THUMBS_IN_VIEW),
                                  d.execute_script(FRAME_FIT)))
        assert d.execute_script(FRAME_FIT) >= 200, \
            d.execute_script(FRAME_FIT)
        d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        b.shot("read-big-picture", widths=(1280,))
        b.css("button[name=reply]").click()
        b.css("form.compose")
        b.rendered()
        b.wait(lambda: d.execute_script(
            LOADED, "div.editor blockquote img[src^='/api/upload/view?id=']")
            == 2, "both quoted images in the editor")
        b.fill("to", args.rcpt, form="form.compose")
        b.submit(form="form.compose")
        b.flash("Message sent")
        e, _ = fetch(imap, args.rcpt, args.rcpt_password, "INBOX",
                     "Re: big picture")
        imgs = [p for p in e.walk() if p.get_content_type() == "image/png"]
        assert len(imgs) == 2, [p.get_content_type() for p in e.walk()]
        assert max(len(p.get_content()) for p in imgs) > 512 * 1024
        html = e.get_body(("html",)).get_content()
        for p in imgs:
            assert f'src="cid:{p["Content-ID"][1:-1]}"' in html, html
        log("a reply quoting a large image sends it as a part")

        # --- zh_CN: the toolbar and options translated -----------------
        b.go("compose")
        b.set_lang("zh_CN")
        b.css("form.compose")
        # the last mode chosen (rich text) is kept for the next message
        assert d.find_element(By.CSS_SELECTOR, "div.editor").is_displayed()
        b.css("button[name=ed_bold]")
        assert "要求阅读回执" in b.text(), b.text()[:500]
        b.shot("compose-html-zh")
        b.set_lang("en_US")
        b.console("compose")
        log("ok")
    finally:
        b.quit()


if __name__ == "__main__":
    main()
