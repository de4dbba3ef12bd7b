#!/usr/bin/python3
"""webadmin's forward indicator in a real browser (headless Chromium;
Browser and login from webadmin_browser.py): the mailbox list marks the
mailboxes that forward with their targets, the edit page explains it.
Run by test_webadmin_forwards.py with /usr/bin/python3.

    webadmin_forwards_browser.py --url URL --domain D --artifacts DIR
"""
import argparse
import os
import sys

from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webadmin_browser import Browser, login  # noqa: E402

ROOT = ("root@extmail.org", "extmail*123*")


def heading(b, text):
    """Waits for the page whose heading holds text (the app redraws main:
    an element looked up may be gone the next moment)."""
    b.wait(lambda: any(text in e.text for e in b.d.find_elements(
        By.CSS_SELECTOR, "main h1")), f"heading {text!r}")


def main():
    ap = argparse.ArgumentParser()
    for a in ("--url", "--domain", "--artifacts"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    b = Browser(args.url, args.artifacts)
    try:
        login(b, *ROOT)
        b.d.get(f"{args.url}/#/domain/{args.domain}/mailboxes")
        badges = b.wait(lambda: b.d.find_elements(By.CSS_SELECTOR,
                                                  "span.forwards"),
                        "forward badges")
        texts = sorted(e.text for e in badges)
        assert texts == ["→ x@else.org", "→ y@else.org"], texts
        b.shot("forwards-list")
        b.d.get(f"{args.url}/#/domain/{args.domain}/mailbox/fwb")
        heading(b, f"fwb@{args.domain}")
        note = b.css("#mailbox-forwards")
        assert "y@else.org" in note.text and "main" in note.text, note.text
        b.shot("forwards-edit")
        b.d.get(f"{args.url}/#/domain/{args.domain}/mailbox/fwc")
        # the same document: wait for fwc's page, not any form
        heading(b, f"fwc@{args.domain}")
        b.css("main form input[name=name]")
        assert not b.d.find_elements(By.ID, "mailbox-forwards")
        b.console("forwards")
        print("webadmin_forwards_browser: ok", flush=True)
    finally:
        b.quit()


if __name__ == "__main__":
    main()
