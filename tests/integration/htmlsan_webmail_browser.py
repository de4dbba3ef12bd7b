#!/usr/bin/python3
"""The XSS corpus opened in the real webmail app (headless Chromium).

Run by test_htmlsan_webmail.py with /usr/bin/python3 (python3-selenium).
For each webmail (--url: sanitized; --url-unsanitized: the same instance's
second webmail with webmail_test_unsanitized_html = yes) it logs in
through the form at /, then opens every message of --manifest
(#/message/INBOX/<uid>) in the app.  A loopback canary HTTP server, to
which the host name "canary" of the corpus resolves, must see no request;
no script side effect may happen: no alert, no postMessage reaching the
app page (armed corpus files call parent.postMessage), no change of the
app's URL, no script-set title or DOM mark inside the frame.  Controls
prove the probes work: a postMessage from the page is seen, the canary
counts the remote image of the "remote" message once the reader asks for
remote images, and the "style" message's own CSS applies in the frame.

    htmlsan_webmail_browser.py --url URL --url-unsanitized URL --user U
        --password P --manifest FILE --artifacts DIR
"""
import argparse
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException,
                                        NoSuchFrameException,
                                        StaleElementReferenceException,
                                        WebDriverException)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def log(msg):
    print(f"htmlsan_webmail_browser: {msg}", flush=True)


class Canary:
    def __init__(self):
        self.lock = threading.Lock()
        self.hits = []
        hits, lock = self.hits, self.lock

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with lock:
                    hits.append(self.command + " " + self.path)
                self.send_response(204)
                self.end_headers()
            do_POST = do_HEAD = do_GET

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.port = self.srv.server_address[1]

    def take(self):
        with self.lock:
            h = list(self.hits)
            self.hits.clear()
        return h


def wait(fn, what, timeout=15):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            v = fn()
            if v:
                return v
        except (StaleElementReferenceException, NoSuchFrameException,
                WebDriverException) as e:
            last = e
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last {last!r})")


def main():
    ap = argparse.ArgumentParser()
    for a in ("--url", "--url-unsanitized", "--user", "--password",
              "--manifest", "--artifacts"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    with open(args.manifest) as f:
        manifest = json.load(f)
    canary = Canary()
    profile = tempfile.mkdtemp(prefix="youju-chromium-")
    o = Options()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-background-networking", "--disable-sync",
              "--disable-component-update", "--no-first-run",
              "--disable-dev-shm-usage", "--user-data-dir=" + profile,
              "--window-size=1280,900", "--lang=en-US",
              "--host-resolver-rules=MAP canary 127.0.0.1:%d, "
              "EXCLUDE 127.0.0.1" % canary.port):
        o.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                         options=o)
    d.set_page_load_timeout(30)
    d.set_script_timeout(30)
    failures = []

    def alert_text():
        try:
            a = d.switch_to.alert
            t = a.text
            a.dismiss()
            return t
        except NoAlertPresentException:
            return None

    def msgs():
        return d.execute_script("return window.__msgs.splice(0)")

    def login(url):
        d.get(url + "/")
        wait(lambda: d.find_elements(By.CSS_SELECTOR,
                                     "form.login input[name=user]"),
             "the login form")
        # the app may draw the form again between finding a field and
        # typing (a stale element): then type into the new one
        def typed():
            for name, v in (("user", args.user),
                            ("password", args.password)):
                e = d.find_element(By.CSS_SELECTOR,
                                   f"form.login input[name={name}]")
                if e.get_attribute("value") != v:
                    e.clear()
                    e.send_keys(v)
            return all(d.find_element(
                By.CSS_SELECTOR, f"form.login input[name={n}]")
                .get_attribute("value") == v
                for n, v in (("user", args.user),
                             ("password", args.password)))
        wait(typed, "the login fields typed")
        d.find_element(By.CSS_SELECTOR,
                       "form.login button[type=submit]").click()
        try:
            wait(lambda: d.find_elements(
                By.CSS_SELECTOR, "#folder-list a[data-folder='INBOX']"),
                "the folder list", timeout=60)
        except AssertionError:
            log("page: " + d.find_element(By.TAG_NAME, "body").text[:500])
            raise
        d.execute_script("""window.__msgs = []; window.__loads = 0;
            window.addEventListener('message', function (e) {
                window.__msgs.push(String(e.data)); });
            document.addEventListener('load', function (e) {
                if (e.target.tagName === 'IFRAME') window.__loads++;
            }, true);""")
        # control: the listener sees a message
        d.execute_script("window.postMessage('control', '*')")
        wait(lambda: "control" in d.execute_script(
            "return window.__msgs"), "the postMessage control")
        msgs()
        canary.take()

    def frame_state():
        fr = d.find_elements(By.CSS_SELECTOR, "article.message iframe.html")
        if not fr:
            return None
        d.switch_to.frame(fr[0])
        try:
            return wait(lambda: d.execute_script("""
                if (document.readyState !== 'complete' || !document.body ||
                    location.href === 'about:blank') return null;
                var p = document.querySelector('p.styled');
                return {title: document.title, url: location.href,
                        ran: document.querySelectorAll('[data-ran]').length,
                        styled: p ? getComputedStyle(p).color : null,
                        text: document.body.innerText.slice(0, 200)};
            """), "the frame's document")
        finally:
            d.switch_to.default_content()

    # one round trip per message: navigate, wait for the article and the
    # frame's load event (seen by a capturing listener on the app page),
    # let timers and refreshes run, and collect what reached the page
    OPEN = """
        var hash = arguments[0], done = arguments[arguments.length - 1];
        var a = document.querySelector('article.message');
        if (a) a.remove();
        window.__loads = 0;
        location.hash = hash;
        var t0 = Date.now();
        (function poll() {
            var art = document.querySelector('article.message h1.subject');
            var fr = document.querySelector('article.message iframe.html');
            if (art && (!fr || window.__loads > 0)) {
                setTimeout(function () {
                    done({frame: !!fr, url: location.href,
                          msgs: window.__msgs.splice(0)});
                }, 100);
            } else if (Date.now() - t0 > 15000) {
                done({timeout: true, url: location.href,
                      msgs: window.__msgs.splice(0)});
            } else {
                setTimeout(poll, 10);
            }
        })();"""

    def check(mode, item):
        hash_ = f"#/message/INBOX/{item['uid']}"
        got = d.execute_async_script(OPEN, hash_)
        got["alert"] = alert_text()
        got["canary"] = canary.take()
        st = frame_state() if item.get("control") else None
        got["frame_state"] = st
        bad = (got.get("timeout") or got["alert"] is not None or
               got["msgs"] or got["canary"] or
               not got["url"].endswith(hash_) or
               (st is not None and (st["ran"] or st["title"] == "ran" or
                                    "/api/message/html?" not in st["url"])))
        if bad:
            failures.append(f"{item['name']} [{mode}]: {got!r}")
        print(f"{'FAIL' if bad else 'ok  '} {item['name']} [{mode}] "
              f"{'frame' if got['frame'] else 'text'}", flush=True)
        return got["frame"], st

    try:
        for mode, url in (("sanitized", args.url),
                          ("unsanitized", args.url_unsanitized)):
            t0 = time.time()
            login(url)
            log(f"{mode}: logged in in {time.time() - t0:.1f}s")
            frames = 0
            for item in manifest:
                try:
                    framed, st = check(mode, item)
                except WebDriverException as e:
                    failures.append(f"{item['name']} [{mode}]: webdriver: "
                                    f"{e.msg!r}")
                    d.switch_to.default_content()
                    continue
                frames += framed
                c = item.get("control")
                if c == "style":
                    # the message's own <style> applies in the frame
                    if st is None or st["styled"] != "rgb(1, 2, 3)":
                        failures.append(f"style control [{mode}]: {st!r}")
                    d.save_screenshot(os.path.join(
                        args.artifacts, f"style-{mode}.png"))
                elif c == "probe":
                    d.save_screenshot(os.path.join(
                        args.artifacts, f"probe-{mode}.png"))
                elif c == "remote" and mode == "sanitized":
                    # control: the canary sees the image once allowed
                    d.find_element(By.CSS_SELECTOR,
                                   "button[name=remote]").click()
                    try:
                        wait(lambda: canary.hits, "a canary request")
                    except AssertionError:
                        failures.append("remote control: the canary saw "
                                        "nothing")
                    got = canary.take()
                    if not any("/control.png" in h for h in got):
                        failures.append(f"remote control: {got!r}")
                    d.save_screenshot(os.path.join(
                        args.artifacts, f"remote-{mode}.png"))
                    if alert_text() is not None or msgs():
                        failures.append("remote control: a script ran")
            log(f"{mode}: {len(manifest)} messages, {frames} in frames, "
                f"{time.time() - t0:.1f}s")
            if frames < 40:
                failures.append(f"{mode}: only {frames} frames")
    finally:
        d.quit()
        canary.srv.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    for f in failures:
        print("FAILURE:", f)
    print(f"{len(manifest)} messages x 2 webmails, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
