"""The console's graph and status pages in headless Chromium (run by
test_mailgraph_webui.py with /usr/bin/python3; the browser helpers are
webadmin_browser.py's).  Every graph image loads as a PNG of the size
the page asked for; the overview shows six graphs to the admin and a
domain's three to its postmaster, who gets an error for another domain's
graphs and has no status page; the status page shows the daemon the test
stopped as stopped and the others running.  Screenshots (1280 and 360 px,
en_US and zh_CN) go to --artifacts.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

import webadmin_browser as wb  # noqa: E402


NOT_FOUND = "Not found."


def log(msg):
    print(f"mailgraph_browser: {msg}", flush=True)


def images_loaded(b, n):
    """Waits for n graph images, each loaded with the size its width and
    height attributes name (the size the page asked the server for)."""
    def ready():
        return b.d.execute_script(
            "var a = Array.from(document.querySelectorAll('main img.graph'));"
            "if (a.length !== arguments[0]) return false;"
            "return a.every(function (i) { return i.complete &&"
            " i.naturalWidth === +i.getAttribute('width') &&"
            " i.naturalHeight === +i.getAttribute('height'); });", n)
    b.wait(ready, f"{n} graph images of the requested size", timeout=60)
    missing = b.d.find_elements(By.CSS_SELECTOR, "main .graph-none")
    assert not missing, [m.text for m in missing]


def shots(b, path, name, n):
    """At each width the page is drawn anew (the graphs are asked for at
    the size there is room for), in both languages."""
    for lang in ("en_US", "zh_CN"):
        b.go("domains")
        wb.settle(b)
        b.set_lang(lang)
        for w in (1280, 360):
            # tall enough that no image waits to be scrolled to (they
            # load lazily)
            b.d.set_window_size(w, 4000)
            # a new route each time: the page is drawn for this width
            b.go("password")
            b.go(path)
            wb.settle(b)
            if n:
                images_loaded(b, n)
            b.d.set_window_size(w, 900)
            hgt = b.d.execute_script(
                "return document.documentElement.scrollHeight")
            b.d.set_window_size(w, max(600, min(int(hgt) + 140, 5000)))
            if w == 360:
                sw = b.d.execute_script(
                    "return document.documentElement.scrollWidth")
                assert sw <= 362, f"{name}: {sw}px wide at 360px"
            b.d.save_screenshot(os.path.join(b.artifacts,
                                             f"{lang}-{name}-{w}.png"))
            b.console(f"{lang} {path} {w}")
    b.d.set_window_size(1280, 900)
    b.go("domains")
    wb.settle(b)
    b.set_lang("en_US")


def admin_flow(b, args):
    wb.login(b, *wb.ADMIN)
    b.go("graphs")
    wb.settle(b)
    b.h1("Graphs")
    images_loaded(b, 6)
    names = [f.get_attribute("data-graph") for f in
             b.d.find_elements(By.CSS_SELECTOR, "main figure.graph")]
    assert names == ["mail", "errors", "traffic", "queue", "logins",
                     "webmail"], names
    # a graph's four periods
    b.d.find_element(By.CSS_SELECTOR,
                     "figure[data-graph=errors] figcaption a").click()
    b.rendered()
    wb.settle(b)
    images_loaded(b, 4)
    periods = [f.get_attribute("data-period") for f in
               b.d.find_elements(By.CSS_SELECTOR, "main figure.graph")]
    assert periods == ["day", "week", "month", "year"], periods
    # a domain's graphs, picked in the list
    b.go("graphs")
    wb.settle(b)
    Select(b.css("main select[name=domain]")).select_by_value(args.domain)
    b.wait(lambda: "domain=" in b.d.current_url, "domain picked")
    b.rendered()
    wb.settle(b)
    images_loaded(b, 3)
    # or typed (the list holds the first page of domains only)
    b.go("graphs")
    wb.settle(b)
    f = b.css("main form.graph-find input[name=find]")
    f.send_keys(args.domain.upper())
    b.css("main form.graph-find button[type=submit]").click()
    b.wait(lambda: "domain=" + args.domain in b.d.current_url,
           "typed domain")
    b.rendered()
    wb.settle(b)
    images_loaded(b, 3)
    shots(b, "graphs", "graphs", 6)
    shots(b, "graph/mail", "graph-mail", 4)
    shots(b, "graphs?domain=" + args.domain, "graphs-domain", 3)

    # the status page: the stopped daemon is shown stopped
    b.go("status")
    wb.settle(b)
    rows = b.d.find_elements(By.CSS_SELECTOR, "#status-daemons tbody tr")
    states = {}
    for r in rows:
        cells = r.find_elements(By.TAG_NAME, "td")
        states[cells[0].text] = (cells[1].text, cells[2].text)
    assert len(states) == 7, states
    for name, (st, pid) in states.items():
        if name == args.stopped:
            assert st == "stopped" and pid == "–", (name, st, pid)
        else:
            assert st == "running" and pid.isdigit(), (name, st, pid)
    text = b.css("#status-tls").text
    assert "days" in text, text
    for sel in ("#status-queue", "#status-disks", "#status-system"):
        b.css(sel)
    shots(b, "status", "status", 0)
    wb.logout(b)


def postmaster_flow(b, args):
    wb.login(b, args.pm, args.pm_password)
    nav = b.css("nav.main-nav").text
    assert "Graphs" in nav and "Status" not in nav, nav
    b.go("graphs")
    wb.settle(b)
    images_loaded(b, 3)
    shots(b, "graphs", "pm-graphs", 3)
    # another domain's graphs: the server says no, the page says so
    b.expect_console(r"/api/graphs/.*403")
    b.go("graph/mail?domain=extmail.org")
    b.wait(lambda: b.d.find_elements(By.CSS_SELECTOR, "main [role=alert]"),
           "an error for another domain's graphs")
    assert not b.d.find_elements(By.CSS_SELECTOR, "main img.graph")
    # and no status page
    b.go("status")
    b.h1(NOT_FOUND)
    assert not b.d.find_elements(By.ID, "status-daemons")
    wb.logout(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--pm", required=True)
    ap.add_argument("--pm-password", required=True)
    ap.add_argument("--stopped", required=True)
    args = ap.parse_args()
    wb.fresh_artifacts(args.artifacts)
    b = wb.Browser(args.url, args.artifacts)
    try:
        admin_flow(b, args)
        postmaster_flow(b, args)
        b.console("end")
    finally:
        b.quit()
    wb.log_passed(args.artifacts, log)


if __name__ == "__main__":
    main()
