#!/usr/bin/python3
"""Drives youju-webmail in a real browser (headless Chromium).

Not a test module itself: test_webmail_browser.py runs it with
/usr/bin/python3, the interpreter Debian's python3-selenium belongs to.
The browser plumbing (waits, console checks, screenshots at 1280 and 360
px) is webadmin_browser.Browser, shared with the console's test.

It refuses a bad password with the message on the page, logs in through
the form at /, lists the Inbox (unread count in the folder list and the
title) and the quota bar, makes a folder, flags with the keyboard (j, s), opens a GBK message and sees its text, flags it and sees the flag
over IMAP, sends a message with two attachments through the compose form and
finds it, same bytes, in the recipient's mailbox over IMAP and in Sent, switches to zh_CN, logs out;
no page logs an error in the browser console.  Screenshots go to
--artifacts.

    webmail_browser.py --url URL --imap PORT --user U --password P
                       --rcpt R --artifacts DIR --html-eml FILE

The HTML message (--html-eml: script, event handlers, a javascript: link,
a cid: image and a remote one) is opened too: it must show in an
<iframe sandbox> without scripts, the cid: image loaded from the message,
the remote one blocked until "show remote images", no alert, no console
error.
"""
import argparse
import email
import imaplib
import os
import sys
import time

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webadmin_browser import Browser  # noqa: E402


def log(msg):
    print(f"webmail_browser: {msg}", flush=True)


def imap_search(port, user, password, box, crit, timeout=30):
    deadline = time.time() + timeout
    while True:
        m = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        m.login(user, password)
        m.select(box)
        typ, d = m.uid("SEARCH", None, *crit)
        uids = d[0].split()
        flags = []
        for u in uids:
            typ, f = m.uid("FETCH", u, "(FLAGS)")
            flags.append(f[0])
        m.logout()
        if uids or time.time() > deadline:
            return uids, flags
        time.sleep(0.3)


def imap_message(port, user, password, uid, box="INBOX"):
    """Message uid of box, parsed (email.message.Message)."""
    m = imaplib.IMAP4("127.0.0.1", port, timeout=20)
    m.login(user, password)
    m.select(box)
    typ, dd = m.uid("FETCH", uid, "(BODY.PEEK[])")
    m.logout()
    return email.message_from_bytes(dd[0][1])


def login(b, url, user, password):
    """Logs in through the form at / and waits for the Inbox's list."""
    b.d.get(url + "/")
    b.fill("user", user, form="form.login")
    b.fill("password", password, form="form.login")
    b.submit(form="form.login")
    b.css("#folder-list a[data-folder='INBOX']")
    b.rendered()


def rows(d, sel="li.msg"):
    return d.find_elements(By.CSS_SELECTOR, sel)


def open_subject(b, subject, ready="article.message"):
    """Opens the listed message whose row shows subject; waits for
    ready."""
    link = b.wait(lambda: [e for e in rows(b.d, "li.msg a.open")
                           if subject in e.text], f"row {subject}")[0]
    link.click()
    b.css(ready)
    b.rendered()


def main():
    ap = argparse.ArgumentParser()
    for a in ("--url", "--imap", "--user", "--password", "--rcpt",
              "--artifacts", "--html-eml"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    imap = int(args.imap)
    b = Browser(args.url, args.artifacts)
    try:
        d = b.d
        # --- login: a bad password first -------------------------------
        b.expect_console(r"api/session - Failed to load resource: .* 401")
        d.get(args.url + "/")
        b.css("form.login input[name=user]")
        b.fill("user", args.user, form="form.login")
        b.fill("password", "wrong-password", form="form.login")
        b.shot("login")
        b.submit(form="form.login")
        b.wait(lambda: "Wrong address or password" in b.text(),
               "bad-login message")
        b.shot("login-bad")
        b.fill("password", args.password, form="form.login")
        b.submit(form="form.login")
        b.css("#folder-list a[data-folder='INBOX']")
        b.rendered()
        inbox = b.css("#folder-list a[data-folder='INBOX'] .count")
        assert inbox.text == "2", inbox.text
        assert d.title.startswith("(2) "), d.title
        b.wait(lambda: len(d.find_elements(By.CSS_SELECTOR,
                                           "li.msg")) == 2, "two messages")
        qt = b.css("#quota").text
        assert "5.0 MiB" in qt and "null" not in qt, qt
        b.shot("inbox")
        log("logged in, inbox listed")
        # a new folder through the form
        b.fill("newfolder", "Projects", form="form.newfolder")
        b.submit(form="form.newfolder")
        b.css("#folder-list a[data-folder='Projects']")
        b.rendered()
        b.wait(lambda: "Projects" in b.css("main h1").text, "new folder")
        b.css("#folder-list a[data-folder='INBOX']").click()
        b.rendered()

        # --- keyboard: j moves the cursor, s flags, u marks unread ------
        body = d.find_element(By.TAG_NAME, "body")
        body.send_keys("j")
        b.wait(lambda: len(d.find_elements(By.CSS_SELECTOR,
                                           "li.msg.cursor")) == 1,
               "a cursor row")
        first = d.find_element(By.CSS_SELECTOR, "li.msg.cursor")
        uid = first.get_attribute("data-uid")
        d.switch_to.active_element.send_keys("s")
        b.wait(lambda: d.find_elements(
            By.CSS_SELECTOR, f"li.msg.flagged[data-uid='{uid}']"),
            "flagged by the s key")
        b.rendered()
        uids, _ = imap_search(imap, args.user, args.password, "INBOX",
                              ["FLAGGED"])
        assert [u.decode() for u in uids] == [uid], (uids, uid)
        b.shot("inbox-keyboard", widths=(1280,))
        log("keyboard shortcuts")

        # --- read the GBK message ---------------------------------------
        link = [e for e in d.find_elements(By.CSS_SELECTOR, "li.msg a.open")
                if "你好" in e.text][0]
        link.click()
        b.css("article.message pre.text")
        b.rendered()
        b.wait(lambda: "中文正文" in b.css("article.message pre.text").text,
               "the GBK text decoded")
        assert "张三" in b.css("dl.headers").text
        b.css(".attachments a")
        b.shot("message")
        # flag it; IMAP sees the flag (and \Seen, set by reading)
        b.css("button[name=flag]").click()
        b.rendered()
        uids, flags = imap_search(imap, args.user, args.password, "INBOX",
                                  ["FLAGGED", "SEEN"])
        assert len(uids) == 1 and b"\\Seen" in flags[0], (uids, flags)
        log("message read and flagged")

        # --- compose and send -------------------------------------------
        b.css("a.compose").click()
        b.css("form.compose")
        b.rendered()
        b.fill("to", args.rcpt, form="form.compose")
        b.fill("subject", "browser 测试 message", form="form.compose")
        b.fill("text", "Sent from the browser test.\n你好", form="form.compose")
        # two attachments, chosen in the file input (uploaded at once)
        blob = bytes(range(256)) * 40
        paths = []
        for name, data in (("图片.bin", blob), ("notes.txt", b"hello\n")):
            p = os.path.join(args.artifacts, name)
            with open(p, "wb") as f:
                f.write(data)
            paths.append(p)
        d.find_element(By.CSS_SELECTOR, "form.compose input[type=file]") \
            .send_keys("\n".join(paths))
        b.wait(lambda: len(d.find_elements(By.CSS_SELECTOR,
                                           "ul.att-list li")) == 2,
               "two attachments listed")
        b.shot("compose")
        b.submit(form="form.compose")
        b.flash("queue ID")
        b.rendered()
        b.shot("sent")
        uids, _ = imap_search(imap, args.rcpt, args.password, "INBOX",
                              ["SUBJECT", "browser"])
        assert len(uids) == 1, "the message did not arrive"
        e = imap_message(imap, args.rcpt, args.password, uids[0])
        got = {x.get_filename(): x.get_payload(decode=True)
               for x in e.walk() if x.get_content_disposition() ==
               "attachment"}
        assert got == {"图片.bin": blob, "notes.txt": b"hello\n"}, \
            list(got)
        for p in paths:
            os.unlink(p)
        uids, flags = imap_search(imap, args.user, args.password, "Sent",
                                  ["ALL"])
        assert len(uids) == 1 and b"\\Seen" in flags[0], (uids, flags)
        log("message sent, found over IMAP and in Sent")

        # --- an HTML message: sanitized, in a sandboxed frame ------------
        with open(args.html_eml, "rb") as f:
            raw = f.read()
        m = imaplib.IMAP4("127.0.0.1", imap, timeout=20)
        m.login(args.user, args.password)
        typ, dd = m.append("INBOX", "", None, raw)
        m.logout()
        huid = dd[0].split(b"APPENDUID ")[1].split()[1].rstrip(b"]").decode()
        b.go(f"message/INBOX/{huid}")
        fr = b.css("article.message iframe.html")
        assert fr.get_attribute("sandbox") == \
            "allow-popups allow-popups-to-escape-sandbox", \
            fr.get_attribute("sandbox")
        assert not d.find_elements(By.CSS_SELECTOR, "article.message pre.text")

        def in_frame(fn):
            d.switch_to.frame(b.css("article.message iframe.html"))
            try:
                return fn()
            finally:
                d.switch_to.default_content()

        def frame_state():
            return d.execute_script("""
                var logo = document.querySelector('img[alt=logo]');
                var track = document.querySelector('img[alt=track]');
                var a = document.querySelector('a');
                return {text: document.body ? document.body.innerText : '',
                        scripts: document.querySelectorAll('script').length,
                        logo: logo ? logo.complete && logo.naturalWidth : -1,
                        track: track ? track.getAttribute('src') : 'none',
                        links: Array.from(
                            document.querySelectorAll('a[href]'))
                            .map(x => x.getAttribute('href') + ' ' +
                                 x.getAttribute('target')),
                        styled: getComputedStyle(
                            document.querySelector('.youju-msg')).color};
            """)
        try:
            b.wait(lambda: in_frame(frame_state)["logo"] == 1,
                   "the cid: image loaded in the frame")
        except AssertionError:
            log(f"frame: {in_frame(frame_state)}")
            log(f"console: {d.get_log('browser')}")
            raise
        st = in_frame(frame_state)
        # the mail's CSS (color #333) is not applied: docs/webmail.md
        log(f"frame colour {st['styled']}")
        assert "你好 bold" in st["text"], st
        assert st["scripts"] == 0 and st["track"] is None, st
        assert st["links"] == ["https://example.com/ok _blank"], st
        try:
            al = d.switch_to.alert.text
            raise AssertionError(f"an alert: {al!r}")
        except NoAlertPresentException:
            pass
        b.console("html message")
        b.shot("message-html")
        # remote images on request: the frame gets the http image
        b.css("button[name=remote]").click()
        b.expect_console(r"tracker\.invalid")
        b.wait(lambda: in_frame(frame_state)["track"] ==
               "http://tracker.invalid/pixel.gif", "the remote image")
        assert not d.find_elements(By.CSS_SELECTOR, "button[name=remote]")
        # and back to the text view
        b.css("button[name=view]").click()
        b.wait(lambda: "bold" in b.css("article.message pre.text").text,
               "the text view")
        assert not d.find_elements(By.CSS_SELECTOR, "iframe.html")
        try:
            al = d.switch_to.alert.text
            raise AssertionError(f"an alert: {al!r}")
        except NoAlertPresentException:
            pass
        b.console("html message, remote, text")
        log("HTML message in a sandboxed frame")

        # --- Sent, in Chinese, then out ---------------------------------
        b.css("#folder-list a[data-folder='Sent']").click()
        b.rendered()
        b.set_lang("zh_CN")
        b.rendered()
        b.wait(lambda: "已发送" in b.css("main h1").text, "zh_CN heading")
        b.shot("sent-zh")
        b.css("#folder-list a[data-folder='INBOX']").click()
        b.rendered()
        b.shot("inbox-zh")
        b.set_lang("en_US")
        # the switch draws the page again; signing out while its folder
        # list is still being fetched would log that request's 401
        b.rendered()
        b.css("button.logout").click()
        b.css("form.login input[name=user]")
        b.shot("logged-out", widths=(1280,))
        b.console("end")
        log("ok")
    finally:
        b.quit()


if __name__ == "__main__":
    main()
