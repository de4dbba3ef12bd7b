#!/usr/bin/python3
"""Drives youju-webmail's settings, contacts and NetDisk pages in a real
browser (headless Chromium; Browser from webadmin_browser.py).

Not a test module itself: test_webmail_settings_browser.py runs it with
/usr/bin/python3.  It logs in with "bind my session to this IP" ticked,
saves preferences (10 messages a page, a signature) and sees the list
honour them, refuses a mistyped password change and makes a real one
(checked over IMAP), adds a contact through the form, completes an address
in compose from the address book and from the domain directory (the
signature in the text), adds a message's sender to the contacts, makes a
NetDisk folder and uploads a file into it, fetches the peer's mail over
POP3 through the settings page, switches to zh_CN; no page logs
an unexpected console error; screenshots at 1280 and 360 px.

    webmail_settings_browser.py --url URL --imap PORT --user U
        --password P --newpass P2 --peer ADDR --pop3 PORT --artifacts DIR
"""
import argparse
import imaplib
import os
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webadmin_browser import Browser  # noqa: E402


def log(msg):
    print(f"webmail_settings_browser: {msg}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    for a in ("--url", "--imap", "--user", "--password", "--newpass",
              "--peer", "--pop3", "--artifacts"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    b = Browser(args.url, args.artifacts)
    try:
        d = b.d
        d.get(args.url + "/")
        b.css("form.login input[name=user]")
        b.fill("user", args.user, form="form.login")
        b.fill("password", args.password, form="form.login")
        b.check("bind_ip", form="form.login")
        b.shot("settings-login")
        b.submit(form="form.login")
        b.css("#folder-list a[data-folder='INBOX']")
        b.rendered()
        log("logged in (session bound to the address)")

        # --- preferences ------------------------------------------------
        b.css("ul.extras a[href='#/settings']").click()
        b.rendered()
        b.h1("Settings")
        from selenium.webdriver.support.ui import Select
        Select(b.css("#prefs-form select[name=page_size]")) \
            .select_by_value("10")
        # the signature in the HTML editor: "-- ", then a bold word
        ed = b.css("#prefs-form div.editor[contenteditable=true]")
        ed.click()
        ed.send_keys("-- " + Keys.ENTER)
        b.css("#prefs-form button[name=ed_bold]").click()
        ed.send_keys("Sig")
        b.css("#prefs-form button[name=ed_bold]").click()
        ed.send_keys(" Line")
        b.fill("name", "Browser Person", form="#prefs-form")
        b.submit(form="#prefs-form")
        b.flash("Preferences saved")
        b.shot("settings")
        b.go("folder/INBOX")
        b.wait(lambda: len(d.find_elements(By.CSS_SELECTOR,
                                           "li.msg")) == 10,
               "ten messages a page")
        assert "Page 1 of 2" in b.text(), b.text()[:500]
        log("page size honoured")

        # --- password ---------------------------------------------------
        b.go("settings")
        b.fill("old", "wrong-password", form="#password-form")
        b.fill("new", args.newpass, form="#password-form")
        b.fill("again", args.newpass, form="#password-form")
        b.expect_console(r"api/password - Failed to load resource: .* 403")
        b.submit(form="#password-form")
        b.flash("current password is wrong")
        b.fill("old", args.password, form="#password-form")
        b.fill("new", args.newpass, form="#password-form")
        b.fill("again", args.newpass, form="#password-form")
        b.submit(form="#password-form")
        b.flash("Password changed")
        b.shot("settings-password", widths=(1280,))
        m = imaplib.IMAP4("127.0.0.1", int(args.imap), timeout=20)
        m.login(args.user, args.newpass)
        m.logout()
        log("password changed (IMAP accepts the new one)")

        # --- contacts ---------------------------------------------------
        b.go("contacts")
        b.h1("Contacts")
        b.fill("name", "Ada Lovelace", form="#contact-form")
        b.fill("email", "ada@example.com", form="#contact-form")
        b.fill("group", "VIP", form="#contact-form")
        b.submit(form="#contact-form")
        b.wait(lambda: d.find_elements(By.CSS_SELECTOR, "tr[data-id]"),
               "the contact row")
        b.rendered()
        assert "ada@example.com" in b.text()
        # search: a miss, then a hit
        b.fill("q", "nobody-like-this", form="form.ct-search")
        b.submit(form="form.ct-search")
        b.wait(lambda: not d.find_elements(By.CSS_SELECTOR, "tr[data-id]"),
               "no contact found")
        b.fill("q", "lovelace", form="form.ct-search")
        b.submit(form="form.ct-search")
        b.wait(lambda: d.find_elements(By.CSS_SELECTOR, "tr[data-id]"),
               "the contact found")
        b.rendered()
        # the domain directory lists the peer
        b.wait(lambda: args.peer in b.text(), "the directory")
        b.shot("contacts")
        log("contact added; directory shown")

        # --- compose: completion and signature --------------------------
        b.go("compose")
        to = b.css("form.compose input[name=to]")
        to.send_keys("lovel")
        # the list is drawn again as each answer arrives: read it in wait
        b.wait(lambda: "ada@example.com" in
               (b._visible("ul.complete li") or to).text, "a suggestion")
        b.shot("compose-complete", widths=(1280,))
        to.send_keys(Keys.ENTER)
        b.wait(lambda: "ada@example.com" in to.get_attribute("value"),
               "the address completed")
        peer_local = args.peer.split("@")[0]
        to.send_keys(peer_local[:6])
        b.wait(lambda: any(args.peer in e.text for e in d.find_elements(
            By.CSS_SELECTOR, "ul.complete li")), "a directory suggestion")
        to.send_keys(Keys.ENTER)
        b.wait(lambda: args.peer in to.get_attribute("value"),
               "the directory address completed")
        text = b.css("form.compose textarea[name=text]").get_attribute(
            "value")
        assert "-- \nSig Line" in text, repr(text)
        b.shot("compose-signature")
        # rich text: the signature's HTML form, bold word and all
        b.css("form.compose button[name=mode]").click()
        b.go("folder/INBOX")
        b.go("compose")
        b.css("form.compose div.editor")
        b.wait(lambda: d.execute_script(
            "const b = document.querySelector('div.editor b');"
            "return b ? b.textContent : '';") == "Sig",
            "the HTML signature in the editor")
        assert "Sig Line" in b.css("div.editor").text, \
            b.css("div.editor").text
        assert not d.find_element(By.ID, "c-text").is_displayed()
        b.shot("compose-signature-html")
        b.css("form.compose button[name=mode]").click()
        log("completion from the book and the directory; signature "
            "as text and as HTML")

        # --- add a sender to the contacts -------------------------------
        b.go("folder/INBOX")
        d.find_elements(By.CSS_SELECTOR, "li.msg a.open")[0].click()
        b.css("article.message")
        b.rendered()
        b.css("button[name=add_sender]").click()
        b.flash("added to contacts")
        b.go("contacts")
        assert "sender@example.com" in b.text()
        log("sender added to the contacts")

        # --- NetDisk ----------------------------------------------------
        b.go("netdisk")
        b.h1("NetDisk")
        b.fill("dirname", "Docs", form="#mkdir-form")
        b.submit(form="#mkdir-form")
        b.wait(lambda: d.find_elements(By.CSS_SELECTOR,
                                       "tr[data-name='Docs']"), "Docs")
        b.rendered()
        b.css("tr[data-name='Docs'] a.dir").click()
        b.rendered()
        p = os.path.join(args.artifacts, "网盘 file.txt")
        with open(p, "wb") as f:
            f.write(b"netdisk bytes\n")
        d.find_element(By.CSS_SELECTOR, "input#nd-file").send_keys(p)
        b.wait(lambda: d.find_elements(
            By.CSS_SELECTOR, "tr[data-name='网盘 file.txt']"), "the upload")
        b.rendered()
        href = b.css("tr[data-name='网盘 file.txt'] a").get_attribute("href")
        assert "/api/netdisk/file?path=Docs%2F" in href, href
        os.unlink(p)
        b.shot("netdisk")
        log("NetDisk folder and upload")

        # --- POP3 fetch from the peer's mailbox ---------------------------
        b.go("settings")
        b.fill("host", "127.0.0.1", form="#popfetch-form")
        b.fill("port", args.pop3, form="#popfetch-form")
        b.fill("user", args.peer, form="#popfetch-form")
        b.fill("password", args.password, form="#popfetch-form")
        b.submit(form="#popfetch-form")
        b.wait(lambda: d.find_elements(By.CSS_SELECTOR,
                                       "#popfetch tr[data-id]"),
               "the POP3 account")
        b.rendered()
        b.css("button[name=pf_run]").click()
        b.flash("POP3 fetch finished")
        res = b.css("#popfetch tr[data-id] td.result").text
        assert res == "ok (1 fetched)", res
        b.shot("settings-popfetch", widths=(1280,))
        b.go("folder/INBOX")
        b.wait(lambda: "from the peer" in b.text(), "the fetched message")
        log("POP3 fetch")

        # --- zh_CN ------------------------------------------------------
        b.go("settings")
        b.set_lang("zh_CN")
        b.rendered()
        b.h1("设置")
        b.shot("settings-zh")
        b.go("contacts")
        b.h1("通讯录")
        b.shot("contacts-zh", widths=(360,))
        b.go("netdisk")
        b.h1("网络硬盘")
        b.console("end")
        log("all checks passed")
    finally:
        b.quit()


if __name__ == "__main__":
    main()
