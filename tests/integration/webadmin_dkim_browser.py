#!/usr/bin/python3
"""Drives the console's DKIM page (htdocs/webadmin/js/pages/dkim.js) in
headless Chromium; run by test_webadmin_dkim.py with /usr/bin/python3
(Debian's python3-selenium), on webadmin_browser.py's Browser.

From the domain's edit page to its DKIM page; with no key the page says
so; a key under selector br1 is generated through the form, its zone line
is shown (and is what the API returns); a second key br2 (Ed25519) is the
rotation; br1 is deleted through its button and the confirm dialog.  The
page is saved at 1280 and 360 px in en_US and zh_CN; the browser console
stays clean.

    webadmin_dkim_browser.py --url http://127.0.0.1:PORT --artifacts DIR
"""
import argparse

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from webadmin_browser import (ADMIN, Api, Browser, fresh_artifacts, log,
                              login)

DOM = "extmail.org"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--artifacts", required=True)
    args = ap.parse_args()
    fresh_artifacts(args.artifacts)
    api = Api(args.url.rstrip("/"))
    api.login(*ADMIN)
    b = Browser(args.url, args.artifacts)
    try:
        login(b, *ADMIN)
        # the domain's edit page links to its keys
        b.go(f"domain/{DOM}")
        b.css("main .head-actions a[href$='/dkim']").click()
        b.rendered()
        b.h1(f"DKIM keys of {DOM}")
        assert "no DKIM key yet" in b.css("#dkim-none").text
        b.shot("en_US-dkim-empty")

        # generate br1 (RSA) through the form
        b.fill("selector", "br1")
        b.submit()
        b.flash("Key br1 made")
        rec = b.css("textarea.dkim-record").get_attribute("value")
        assert rec.startswith(f'br1._domainkey.{DOM}. IN TXT "v=DKIM1; '
                              'k=rsa; p=MII'), rec
        keys = api.get(f"/api/domains/{DOM}/dkim")[1]["keys"]
        assert [k["record"] for k in keys] == [rec], keys

        # rotation: br2, Ed25519
        b.fill("selector", "br2")
        Select(b.css("main form.form select[name=algorithm]")) \
            .select_by_value("ed25519")
        b.submit()
        b.flash("Key br2 made")
        b.wait(lambda: len(b.d.find_elements(
            By.CSS_SELECTOR, "textarea.dkim-record")) == 2, "two keys")
        recs = [e.get_attribute("value") for e in b.d.find_elements(
            By.CSS_SELECTOR, "textarea.dkim-record")]
        assert 'k=ed25519; p=' in recs[1], recs
        b.shot("en_US-dkim-keys")
        b.set_lang("zh_CN")
        b.rendered()
        b.h1(f"{DOM} 的 DKIM 密钥")
        b.shot("zh_CN-dkim-keys")
        b.set_lang("en_US")
        b.rendered()

        # delete br1: its button, then the dialog's Delete
        b.css("main button[aria-label='Delete br1']").click()
        b.css("dialog.confirm button[value=ok]").click()
        b.flash("Key br1 deleted")
        sels = [k["selector"] for k in
                api.get(f"/api/domains/{DOM}/dkim")[1]["keys"]]
        assert sels == ["br2"], sels
        b.console("dkim page")
    finally:
        b.quit()
    log("dkim page: all checks passed")


if __name__ == "__main__":
    main()
