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
        for name, v in (("user", args.user), ("password", args.password)):
            e = d.find_element(By.CSS_SELECTOR,
                               f"form.login input[name={name}]")
            e.clear()
            e.send_keys(v)
        d.find_element(By.CSS_SELECTOR,
                       "form.login button[type=submit]").click()
        wait(lambda: d.find_elements(By.CSS_SELECTOR,
                                     "#folder-list a[data-folder='INBOX']"),
             "the folder list")
        d.execute_script("""window.__msgs = [];
            window.addEventListener('message', function (e) {
                window.__msgs.push(String(e.data)); });""")
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

    def open_message(item):
        d.execute_script("var a = document.querySelector('article.message');"
                         " if (a) a.remove();")
        hash_ = f"#/message/INBOX/{item['uid']}"
        d.execute_script("location.hash = arguments[0]", hash_)
        wait(lambda: d.find_elements(By.CSS_SELECTOR,
                                     "article.message h1.subject"),
             f"message {item['name']}")
        st = frame_state()
        time.sleep(0.1)  # timers, refreshes
        return hash_, st

    def check(mode, item):
        hash_, st = open_message(item)
        got = {"alert": alert_text(), "msgs": msgs(),
               "canary": canary.take(), "url": d.current_url,
               "frame": st}
        bad = (got["alert"] is not None or got["msgs"] or got["canary"] or
               not got["url"].endswith(hash_) or
               (st is not None and (st["ran"] or st["title"] == "ran" or
                                    "/api/message/html?" not in st["url"])))
        if bad:
            failures.append(f"{item['name']} [{mode}]: {got!r}")
        print(f"{'FAIL' if bad else 'ok  '} {item['name']} [{mode}] "
              f"{'frame' if st else 'text'}", flush=True)
        return st

    try:
        for mode, url in (("sanitized", args.url),
                          ("unsanitized", args.url_unsanitized)):
            login(url)
            frames = 0
            for item in manifest:
                st = check(mode, item)
                frames += st is not None
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
            log(f"{mode}: {len(manifest)} messages, {frames} in frames")
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
