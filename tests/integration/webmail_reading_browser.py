#!/usr/bin/python3
"""Drives youju-webmail's reading options in headless Chromium
(webadmin_browser.Browser).

Not a test module itself: test_webmail_reading_browser.py runs it with
/usr/bin/python3.  Steps: log in; the list shows a quoted display name
without its quotes; an HTML message's remote image is blocked, "Always
for <sender>" makes the browser load it (from a small HTTP server this
script runs: the webmail server never fetches it) and the note says so,
"Stop showing them" blocks it again; "Save to NetDisk" beside an
attachment puts the file into NetDisk; the charset menu re-reads an HTML
part (Big5 labelled ISO-8859-1) in its frame; the "try local charset"
setting reads an unlabelled GB18030 message; no console errors;
screenshots of each page.

    webmail_reading_browser.py --url URL --user U --password P
                               --img-port N --artifacts DIR
"""
import argparse
import base64
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webadmin_browser import Browser  # noqa: E402
import webmail_browser as wb  # noqa: E402
from webmail_browser import rows  # noqa: E402

# a 2x2 red PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR4nGP4z8DAwMDAwMDAAAAd"
    "BAH/2pZL8QAAAABJRU5ErkJggg==")
BIG5 = "繁體中文的郵件"
GB = "简体中文的邮件"


def log(msg):
    print(f"webmail_reading_browser: {msg}", flush=True)


class Img(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self):
        Img.hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *a):
        pass


def open_subject(b, subject):
    b.go("")
    b.css("#folder-list a[data-folder='INBOX']").click()
    b.rendered()
    wb.open_subject(b, subject)


def frame_state(b):
    """The message frame's text and its image's loaded width."""
    f = b.css("iframe.html")
    b.d.switch_to.frame(f)
    try:
        return b.d.execute_script(
            "var i = document.querySelector('img');"
            "return [document.body.innerText,"
            " i && i.complete ? i.naturalWidth : -1,"
            " i ? (i.getAttribute('src') || '') : null];")
    finally:
        b.d.switch_to.default_content()


def main():
    ap = argparse.ArgumentParser()
    for a in ("--url", "--user", "--password", "--img-port", "--artifacts"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", int(args.img_port)), Img)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    b = Browser(args.url, args.artifacts)
    try:
        d = b.d
        wb.login(b, args.url, args.user, args.password)
        b.wait(lambda: len(rows(d)) == 4, "four messages")

        # --- the list: a quoted display name without quotes ------------
        froms = [e.text for e in rows(d, "li.msg .from")]
        assert "News, Daily <news@shop.example>" in froms, froms
        assert not any('"' in f for f in froms), froms
        b.shot("reading-list")
        log("list")

        # --- remote images: blocked, always for the sender, stopped ----
        open_subject(b, "sale")
        b.wait(lambda: "Remote images blocked: 1" in b.css("div.htmlbar").text,
               "the blocked note")
        b.wait(lambda: frame_state(b)[0].strip().startswith("Big sale"),
               "the frame")
        text, width, src = frame_state(b)
        assert src == "" and width <= 0, (src, width)
        assert Img.hits == 0, Img.hits
        b.shot("reading-remote-blocked")
        b.css("button[name=remote_always]").click()
        b.wait(lambda: "are always shown" in b.css("div.htmlbar").text,
               "the always note")
        b.wait(lambda: frame_state(b)[1] == 2, "the image loaded")
        assert Img.hits >= 1
        b.shot("reading-remote-always")
        # the settings list the sender
        b.go("settings")
        b.rendered()
        b.wait(lambda: "news@shop.example" in
               b.css("#remote-senders").text, "the sender in the settings")
        b.shot("reading-remote-senders")
        # a new visit shows it at once
        open_subject(b, "sale")
        b.wait(lambda: frame_state(b)[1] == 2, "the image at once")
        b.css("button[name=remote_never]").click()
        b.wait(lambda: "Remote images blocked: 1" in b.css("div.htmlbar").text,
               "blocked again")
        b.wait(lambda: frame_state(b)[2] == "", "no src again")
        b.go("settings")
        b.rendered()
        b.wait(lambda: "No sender yet" in b.css("#remote-senders").text,
               "the list empty again")
        log("remote images")

        # --- save an attachment to NetDisk ------------------------------
        open_subject(b, "report attached")
        att = b.css("section.attachments li")
        assert "报告.txt" in att.text, att.text
        att.find_element(By.CSS_SELECTOR, "button[name=netdisk_save]").click()
        b.wait(lambda: any("报告.txt saved to NetDisk" in e.text for e in
                           d.find_elements(By.CSS_SELECTOR, "p.flash")),
               "the saved note")
        b.shot("reading-netdisk-saved")
        b.go("netdisk")
        b.rendered()
        b.wait(lambda: "报告.txt" in b.css("table.netdisk").text,
               "the file in NetDisk")
        b.shot("reading-netdisk")
        log("netdisk")

        # --- the charset menu re-reads the HTML part --------------------
        open_subject(b, "mislabelled html")
        b.wait(lambda: frame_state(b)[0] != "", "the frame")
        assert BIG5 not in frame_state(b)[0]
        Select(b.css("select[name=charset]")).select_by_value("BIG5")
        b.wait(lambda: "charset=BIG5" in
               b.css("iframe.html").get_attribute("src"), "the frame URL")
        b.wait(lambda: BIG5 in frame_state(b)[0], "Big5 text in the frame")
        b.shot("reading-charset-html")
        log("charset menu")

        # --- try local charset ------------------------------------------
        open_subject(b, "unlabelled")
        assert GB not in b.css("article.message pre.text").text
        b.go("settings")
        b.rendered()
        Select(b.css("#prefs-form select[name=local_charset]")) \
            .select_by_value("GB18030")
        b.shot("reading-settings")
        b.submit(form="#prefs-form")
        b.flash("saved")
        open_subject(b, "unlabelled")
        b.wait(lambda: GB in b.css("article.message pre.text").text,
               "GB18030 text")
        b.shot("reading-local-charset")
        log("local charset")

        # --- in Chinese -------------------------------------------------
        b.set_lang("zh_CN")
        open_subject(b, "report attached")
        assert "保存到网络硬盘" in b.css("section.attachments").text
        b.shot("reading-zh")
        b.set_lang("en_US")
        b.console("end")
        log("ok")
    finally:
        b.quit()
        srv.shutdown()


if __name__ == "__main__":
    main()
