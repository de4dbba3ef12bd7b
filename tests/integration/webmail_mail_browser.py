#!/usr/bin/python3
"""Drives youju-webmail's search, drafts, replies, conversations, charset
menu and folder tools in headless Chromium (webadmin_browser.Browser).

Not a test module itself: test_webmail_mail_browser.py runs it with
/usr/bin/python3.  Steps: log in; search from the header box ("/" key)
and with the advanced form (text of the body); the unread quick filter;
read a Big5 and an ISO-2022-JP message and a mislabelled one through the
charset menu; previous/next; the raw source; reply, save the draft, open
it from Drafts, send it, and check over IMAP the headers of the message
that arrives (In-Reply-To, References) and that Drafts is empty; the
conversation with the reply from Sent; make a folder, rename it, drag a
message onto it, delete it; no console errors; screenshots of each page.

    webmail_mail_browser.py --url URL --imap PORT --user U --password P
                            --rcpt R --artifacts DIR
"""
import argparse
import imaplib
import os
import sys
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webadmin_browser import Browser  # noqa: E402
import webmail_browser as wb  # noqa: E402
from webmail_browser import imap_message, imap_search, rows  # noqa: E402

BIG5 = "繁體中文的郵件"
JIS = "日本語のメールです"


def log(msg):
    print(f"webmail_mail_browser: {msg}", flush=True)


def open_subject(b, subject):
    wb.open_subject(b, subject, "article.message pre.text")


def main():
    ap = argparse.ArgumentParser()
    for a in ("--url", "--imap", "--user", "--password", "--rcpt",
              "--artifacts"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    imap = int(args.imap)
    b = Browser(args.url, args.artifacts)
    try:
        d = b.d
        wb.login(b, args.url, args.user, args.password)
        b.wait(lambda: len(rows(d)) == 4, "four messages")
        assert d.title.startswith("(4) "), d.title
        assert "4 messages, 4 unread" in b.css("p.finfo").text

        # --- search: "/" focuses the box in the header -------------------
        d.find_element(By.TAG_NAME, "body").send_keys("/")
        b.wait(lambda: d.switch_to.active_element.get_attribute("id") ==
               "search-q", "the search box focused")
        d.switch_to.active_element.send_keys("plans" + Keys.ENTER)
        b.rendered()
        b.wait(lambda: "Search results" in b.css("main h1").text, "results")
        b.wait(lambda: [e.text for e in rows(d, "li.msg .subject")] ==
               ["plans"], "one result")
        b.shot("search")
        # the advanced form: words of the text, in every folder
        b.fill("q", "harbour", form="form.advsearch")
        assert not b.css("#s-in-body").is_selected()
        b.css("#s-in-body").click()
        b.submit(form="form.advsearch")
        b.rendered()
        b.wait(lambda: "in=subject%2Cfrom%2Cto%2Cbody" in d.current_url,
               "the search in the URL")
        b.wait(lambda: [e.text for e in rows(d, "li.msg .subject")] ==
               ["plans"], "found by its text")
        b.shot("search-advanced")
        b.fill("q", "no-such-words", form="form.advsearch")
        b.submit(form="form.advsearch")
        b.rendered()
        b.wait(lambda: "Nothing found" in b.text(), "nothing found")
        log("search")

        # --- the quick filter: unread ------------------------------------
        b.css("#folder-list a[data-folder='INBOX']").click()
        b.rendered()
        b.css("a[name=filter-unseen]").click()
        b.rendered()
        b.wait(lambda: len(rows(d)) == 4, "four unread")
        b.shot("filter-unread", widths=(1280,))
        log("quick filter")

        # --- charsets ----------------------------------------------------
        b.css("#folder-list a[data-folder='INBOX']").click()
        b.rendered()
        open_subject(b, "big5 letter")
        b.wait(lambda: BIG5 in b.css("article.message pre.text").text,
               "the Big5 text")
        b.shot("read-big5")
        b.css("#folder-list a[data-folder='INBOX']").click()
        b.rendered()
        open_subject(b, "jis letter")
        b.wait(lambda: JIS in b.css("article.message pre.text").text,
               "the ISO-2022-JP text")
        b.shot("read-iso2022jp")
        # previous / next walk the list shown last
        b.css("a[name=next_msg]").click()
        b.rendered()
        b.wait(lambda: "big5 letter" in b.css("article h1").text,
               "the next message")
        b.css("a[name=prev_msg]").click()
        b.rendered()
        b.wait(lambda: "jis letter" in b.css("article h1").text,
               "the previous message")
        b.css("#folder-list a[data-folder='INBOX']").click()
        b.rendered()
        open_subject(b, "mislabelled")
        assert BIG5 not in b.css("article.message pre.text").text
        Select(b.css("select[name=charset]")).select_by_value("BIG5")
        b.wait(lambda: BIG5 in b.css("article.message pre.text").text,
               "the text read again as Big5")
        b.shot("read-charset-menu")
        # the raw source: plain text
        src = b.css("a[name=source]").get_attribute("href")
        # a text page has no <link rel=icon>: the browser asks for
        # /favicon.ico, which the app does not serve
        b.expect_console(r"favicon\.ico - Failed to load resource: .* 404")
        d.get(src)
        b.wait(lambda: "Content-Type: text/plain; charset=iso-8859-1" in
               b.text(), "the source as text")
        assert d.execute_script("return document.contentType") == \
            "text/plain"
        d.back()
        b.rendered()
        log("charsets, previous/next, source")

        # --- reply, draft, send -----------------------------------------
        b.css("#folder-list a[data-folder='INBOX']").click()
        b.rendered()
        open_subject(b, "plans")
        b.css("button[name=reply]").click()
        b.css("form.compose")
        b.rendered()
        assert b.css("#c-subject").get_attribute("value") == "Re: plans"
        assert "> Shall we meet at the harbour?" in \
            b.css("#c-text").get_attribute("value")
        b.fill("to", args.rcpt, form="form.compose")
        t = b.css("#c-text")
        t.send_keys(Keys.CONTROL, Keys.HOME)
        t.send_keys("Yes, at noon.")
        b.css("button[name=save_draft]").click()
        b.wait(lambda: "Draft saved" in b.css(".draftstatus").text,
               "draft saved")
        uids, flags = imap_search(imap, args.user, args.password, "Drafts",
                                  ["ALL"])
        assert len(uids) == 1 and b"\\Draft" in flags[0], (uids, flags)
        b.shot("compose-draft")
        # leave, and continue from Drafts
        b.css("#folder-list a[data-folder='Drafts']").click()
        b.rendered()
        open_subject(b, "Re: plans")
        b.css("button[name=edit_draft]").click()
        b.css("form.compose")
        b.rendered()
        assert b.css("#c-to").get_attribute("value") == args.rcpt
        assert b.css("#c-text").get_attribute("value").startswith(
            "Yes, at noon.")
        b.submit(form="form.compose")
        b.flash("queue ID")
        uids, _ = imap_search(imap, args.rcpt, args.password, "INBOX",
                              ["SUBJECT", "plans"])
        assert len(uids) == 1, "the reply did not arrive"
        e = imap_message(imap, args.rcpt, args.password, uids[0])
        parent = e["In-Reply-To"]
        assert parent and parent.startswith("<plans-"), e["In-Reply-To"]
        assert e["References"].split() == ["<r1@a.example>", parent], \
            e["References"]
        body = e.get_payload(decode=True).decode()
        assert body.startswith("Yes, at noon.") and \
            "> Shall we meet at the harbour?" in body, body
        m = imaplib.IMAP4("127.0.0.1", imap, timeout=20)
        m.login(args.user, args.password)
        m.select("Drafts")
        typ, dd = m.uid("SEARCH", None, "ALL")
        m.logout()
        assert dd[0].split() == [], dd
        log("reply: draft saved, continued, sent; headers right")

        # --- the conversation, with the reply from Sent ------------------
        b.css("#folder-list a[data-folder='INBOX']").click()
        b.rendered()
        open_subject(b, "plans")
        b.css("a[name=thread]").click()
        b.rendered()
        b.wait(lambda: len(rows(d, "ul.thread li")) == 2, "two in thread")
        got = [(x.get_attribute("data-folder"), x.get_attribute("data-depth"))
               for x in rows(d, "ul.thread li")]
        assert got == [("INBOX", "0"), ("Sent", "1")], got
        b.shot("conversation")
        log("conversation")

        # --- folders: make, rename, drag a message in, delete ------------
        b.css("#folder-list a[data-folder='INBOX']").click()
        b.rendered()
        b.fill("newfolder", "Old stuff", form="form.newfolder")
        b.submit(form="form.newfolder")
        b.css("#folder-list a[data-folder='Old stuff']")
        b.rendered()
        b.fill("rename", "Archive", form="form.folderops")
        b.css("button[name=rename_folder]").click()
        b.css("#folder-list a[data-folder='Archive']")
        b.rendered()
        assert not d.find_elements(By.CSS_SELECTOR,
                                   "#folder-list a[data-folder='Old stuff']")
        b.css("#folder-list a[data-folder='INBOX']").click()
        b.rendered()
        row = [r for r in rows(d) if "big5 letter" in r.text][0]
        uid = row.get_attribute("data-uid")
        d.execute_script("""
            const [row, target] = arguments;
            const dt = new DataTransfer();
            row.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: dt}));
            target.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt}));
            target.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));
        """, row, b.css("#folder-list a[data-folder='Archive']"))
        b.flash("1 message(s) moved")
        b.wait(lambda: not [r for r in rows(d) if "big5 letter" in r.text],
               "the message gone from the Inbox")
        uids, _ = imap_search(imap, args.user, args.password, "Archive",
                              ["ALL"])
        assert len(uids) == 1, uids
        b.shot("dragged", widths=(1280,))
        b.css("#folder-list a[data-folder='Archive']").click()
        b.rendered()
        b.shot("folder-tools")
        b.css("button[name=delete_folder]").click()
        b.wait(lambda: "Really" in b.css("button[name=delete_folder]").text,
               "the confirmation")
        b.css("button[name=delete_folder]").click()
        b.flash("Folder deleted (1 messages)")
        assert not d.find_elements(By.CSS_SELECTOR,
                                   "#folder-list a[data-folder='Archive']")
        # the system folders have no such form
        b.css("#folder-list a[data-folder='Sent']").click()
        b.rendered()
        assert not d.find_elements(By.CSS_SELECTOR, "form.folderops")
        log(f"folders (moved uid {uid})")

        # --- in Chinese -------------------------------------------------
        b.set_lang("zh_CN")
        b.rendered()
        b.css("#folder-list a[data-folder='INBOX']").click()
        b.rendered()
        assert "未读" in b.css("p.filters").text
        b.shot("inbox-tools-zh")
        b.set_lang("en_US")
        b.console("end")
        log("ok")
    finally:
        b.quit()


if __name__ == "__main__":
    main()
