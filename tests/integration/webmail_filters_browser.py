#!/usr/bin/python3
"""Drives youju-webmail's Filters page in a real browser (headless
Chromium; Browser from webadmin_browser.py).

Not a test module itself: test_webmail_filters_browser.py runs it with
/usr/bin/python3.  It creates a rule "subject contains X -> folder Y" and
an auto-reply through the forms, sends matching mail over SMTP and finds
it in Y over IMAP, and the auto-reply in the sender's INBOX; edits the
rule (the new value files, the old one no longer does) and deletes it;
edits the script as text (an error is refused with its line), then goes
back to the form; screenshots at 1280 and 360 px; no unexpected console
errors.

    webmail_filters_browser.py --url URL --imap PORT --smtp PORT --user U
        --password P --peer ADDR --artifacts DIR
"""
import argparse
import imaplib
import os
import smtplib
import sys
import time
import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webadmin_browser import Browser  # noqa: E402
import webmail_browser as wb  # noqa: E402


def log(msg):
    print(f"webmail_filters_browser: {msg}", flush=True)


def send(args, subject):
    token = uuid.uuid4().hex
    msg = (f"From: <{args.peer}>\r\nTo: <{args.user}>\r\nSubject: {subject} "
           f"{token}\r\nMessage-Id: <{token}@example.net>\r\n\r\nhello\r\n")
    with smtplib.SMTP("127.0.0.1", int(args.smtp), timeout=20) as s:
        s.sendmail(args.peer, [args.user], msg.encode())
    return token


def imap_find(args, user, folder, text, timeout=20):
    """UIDs of messages in folder whose header holds text (polled: the
    delivery is asynchronous)."""
    deadline = time.time() + timeout
    while True:
        m = imaplib.IMAP4("127.0.0.1", int(args.imap), timeout=20)
        try:
            m.login(user, args.password)
            typ, _ = m.select(f'"{folder}"', readonly=True)
            found = []
            if typ == "OK":
                typ, data = m.uid("SEARCH", None, "TEXT", f'"{text}"')
                found = data[0].split() if typ == "OK" and data[0] else []
        finally:
            m.logout()
        if found or time.time() > deadline:
            return found
        time.sleep(0.2)


def rules(b):
    return b.d.find_elements(By.CSS_SELECTOR, "#rules tr[data-rule]")


def main():
    ap = argparse.ArgumentParser()
    for a in ("--url", "--imap", "--smtp", "--user", "--password", "--peer",
              "--artifacts"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    b = Browser(args.url, args.artifacts)
    try:
        d = b.d
        wb.login(b, args.url, args.user, args.password)
        b.css("ul.extras a[href='#/filters']").click()
        b.rendered()
        b.h1("Filters")
        assert "No filters are on." in b.text(), b.text()[:800]
        b.shot("filters-empty")

        # --- a rule: subject contains Quarterly -> Reports -----------
        b.css("button[name=rule_add]").click()
        b.fill("rule_name", "Reports", form="#rule-form")
        b.fill("cond_value", "Quarterly", form="#rule-form")
        assert Select(b.css("#rule-form select[name=act_type]")) \
            .first_selected_option.get_attribute("value") == "fileinto"
        b.fill("act_value", "Reports", form="#rule-form")
        # a second action: mark it read
        b.css("#rule-form button[name=act_add]").click()
        sels = d.find_elements(By.CSS_SELECTOR,
                               "#rule-form select[name=act_type]")
        Select(sels[1]).select_by_value("mark_read")
        b.shot("filters-rule-editor")
        b.submit(form="#rule-form")
        b.flash("Filters saved.")
        b.wait(lambda: len(rules(b)) == 1, "one rule listed")
        assert "Quarterly" in rules(b)[0].text, rules(b)[0].text
        assert "Your filters are on." in b.text()
        log("rule saved")

        # --- auto-reply -------------------------------------------------
        b.check("v-enabled", form="#filters-form")
        b.fill("v_subject", "Out of office", form="#filters-form")
        b.fill("v_body", "I am away until Monday.\nRegards",
               form="#filters-form")
        b.submit(form="#filters-form")
        b.flash("Filters saved.")
        assert b.css("#v-enabled").is_selected()
        b.shot("filters-saved")
        log("auto-reply saved")

        # --- delivery over SMTP follows them ---------------------------
        t1 = send(args, "Quarterly numbers")
        assert imap_find(args, args.user, "Reports", t1), "not in Reports"
        assert not imap_find(args, args.user, "INBOX", t1, timeout=0)
        assert imap_find(args, args.peer, "INBOX", "Out of office"), \
            "no auto-reply"
        log("filed into Reports over SMTP, auto-reply arrived")

        # --- edit the rule ----------------------------------------------
        rules(b)[0].find_element(By.CSS_SELECTOR,
                                 "button[name=rule_edit]").click()
        b.fill("cond_value", "Annual", form="#rule-form")
        b.submit(form="#rule-form")
        b.flash("Filters saved.")
        b.wait(lambda: len(rules(b)) == 1 and "Annual" in rules(b)[0].text,
               "rule edited")
        t2 = send(args, "Annual report")
        t3 = send(args, "Quarterly again")
        assert imap_find(args, args.user, "Reports", t2), "edit not applied"
        assert imap_find(args, args.user, "INBOX", t3), "old value filed"
        log("rule edited and applied")

        # --- delete it --------------------------------------------------
        rules(b)[0].find_element(By.CSS_SELECTOR,
                                 "button[name=rule_delete]").click()
        d.switch_to.alert.accept()
        b.flash("Filters saved.")
        b.wait(lambda: len(rules(b)) == 0 and "No rules yet." in b.text(),
               "rule deleted")
        t4 = send(args, "Annual again")
        assert imap_find(args, args.user, "INBOX", t4), "rule still applies"
        log("rule deleted")

        # --- the script as text, and back to the form ------------------
        b.css("details.script summary").click()
        assert "vacation" in b.css("#f-generated").text
        b.css("button[name=edit_raw]").click()
        ta = b.css("#f-script")
        ta.clear()
        ta.send_keys('require "fileinto";\nfilinto "x";\n')
        b.expect_console(r"api/filters/raw - Failed to load resource: .* 400")
        b.submit(form="#raw-form")
        b.flash("line 2")
        ta = b.css("#f-script")
        ta.clear()
        ta.send_keys('require "fileinto";\n'
                     'if header :contains "subject" "Raw" '
                     '{ fileinto "Reports"; }\n')
        b.submit(form="#raw-form")
        b.flash("Filters saved.")
        b.css("#filters-raw-note")
        b.shot("filters-raw")
        t5 = send(args, "Raw rule")
        assert imap_find(args, args.user, "Reports", t5), "raw not applied"
        b.css("button[name=use_form]").click()
        d.switch_to.alert.accept()
        b.flash("Filters saved.")
        b.css("#filters-form")
        assert b.css("#v-enabled").is_selected()
        log("raw script round trip")
        b.set_lang("zh_CN")
        # the page is drawn again: wait on the text, not on one element
        b.wait(lambda: "过滤器" in b.text() and "自动回复" in b.text(),
               "the page in zh_CN")
        b.shot("filters-zh")
        b.console("filters")
        log("ok")
    finally:
        b.quit()


if __name__ == "__main__":
    main()
