"""Sanitized (and raw) mail HTML in a real browser: headless Chromium.

Run by test_htmlsan_browser.py with /usr/bin/python3 (python3-selenium).
Two loopback HTTP servers: the "app", which serves a page per corpus file
with the message in <iframe sandbox> on its own URL under the CSP webmail
uses, and a "canary" that counts every request (the corpus's remote URLs
name the host canary, mapped to it with --host-resolver-rules).  For every
page, in mode san (htmlsan's output), raw (the corpus file itself: the
CSP and sandbox alone must hold) and bare (htmlsan's output in a frame that
allows scripts, without CSP: the sanitizer alone must hold), no request may reach the canary or any
unexpected app path, and no script side effect may happen (alert, title
change, postMessage, navigation).  The pages of a mode load together, a
frame each in one document; only if that shows something is each page
visited alone, to name it.  A control page without the sandbox proves the
probes see a script and a remote load when there is one, alone and among
others.

    htmlsan_browser.py --pages DIR --corpus DIR
"""
import argparse
import html
import http.server
import os
import sys
import threading
import time
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException,
                                        TimeoutException)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

MSG_CSP = ("sandbox allow-popups allow-popups-to-escape-sandbox; "
           "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
           "frame-ancestors 'self'")
APP_JS = b"""window.__msgs = [];
window.addEventListener('message', function (e) {
  window.__msgs.push(String(e.data));
});
"""
CONTROL = (b"<script>parent.postMessage('control-ran', '*');</script>"
           b"<img src='http://canary/control.png'>")


class Hits:
    def __init__(self):
        self.lock = threading.Lock()
        self.canary = []
        self.unexpected = []


def serve(handler_cls):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", required=True)
    ap.add_argument("--corpus", required=True)
    args = ap.parse_args()
    hits = Hits()

    class Canary(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            with hits.lock:
                hits.canary.append(self.path)
            self.send_response(204)
            self.end_headers()
        do_POST = do_GET

        def log_message(self, *a):
            pass

    class App(http.server.BaseHTTPRequestHandler):
        def send(self, body, ctype, headers):
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            name, mode = q.get("m", ""), q.get("mode", "san")
            if u.path == "/app.js":
                return self.send(APP_JS, "text/javascript", {})
            if u.path == "/" and (name or q.get("all")):
                sandbox = ("allow-scripts" if mode in ("control", "bare")
                           else "allow-popups allow-popups-to-escape-sandbox")
                # one frame, or (all=1) one frame per page of the mode
                names = [name] if name else sorted(os.listdir(args.pages))
                frames = "".join(
                    "<iframe sandbox='%s' src='/msg?%s'></iframe>" % (
                        sandbox, html.escape(urllib.parse.urlencode(
                            {"m": n, "mode": mode})))
                    for n in names)
                page = ("<!doctype html><html><head><meta charset=utf-8>"
                        "<title>app</title><script src=/app.js></script>"
                        "</head><body>%s</body></html>" % frames)
                return self.send(page.encode(), "text/html; charset=utf-8", {
                    "Content-Security-Policy":
                        "default-src 'none'; script-src 'self'; "
                        "frame-src 'self'; frame-ancestors 'none'",
                    "X-Frame-Options": "DENY"})
            if u.path == "/msg" and name:
                if mode == "control":
                    body = CONTROL
                else:
                    d = args.corpus if mode == "raw" else args.pages
                    with open(os.path.join(d, os.path.basename(name)),
                              "rb") as f:
                        body = f.read()
                doc = (b"<!doctype html><html><head><meta charset=utf-8>"
                       b"</head><body><div class=\"youju-msg\">" + body +
                       b"</div></body></html>")
                hdr = {"Referrer-Policy": "no-referrer"}
                if mode not in ("control", "bare"):
                    hdr["Content-Security-Policy"] = MSG_CSP
                return self.send(doc, "text/html; charset=utf-8", hdr)
            with hits.lock:
                hits.unexpected.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *a):
            pass

    canary = serve(Canary)
    app = serve(App)
    base = "http://127.0.0.1:%d" % app.server_address[1]
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--no-first-run",
              "--host-resolver-rules=MAP canary 127.0.0.1:%d, "
              "EXCLUDE 127.0.0.1" % canary.server_address[1]):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                           options=opts)
    drv.set_page_load_timeout(30)
    failures = []

    def visit(name, mode):
        """One page (name), or every page of the mode at once (None)."""
        with hits.lock:
            hits.canary.clear()
            hits.unexpected.clear()
        q = {"m": name, "mode": mode} if name else {"all": 1, "mode": mode}
        url = "%s/?%s" % (base, urllib.parse.urlencode(q))
        drv.get(url)   # returns once every frame has loaded
        time.sleep(0.4)   # let images fail and timers fire
        got = {"alert": None}
        try:
            got["alert"] = drv.switch_to.alert.text
            drv.switch_to.alert.dismiss()
        except NoAlertPresentException:
            pass
        got["title"] = drv.title
        got["url"] = drv.current_url
        got["msgs"] = drv.execute_script("return window.__msgs || []")
        with hits.lock:
            got["canary"] = list(hits.canary)
            got["unexpected"] = list(hits.unexpected)
        return got

    try:
        # in a single frame and among many (the batch below)
        for name in ("control", None):
            c = visit(name, "control")
            if "control-ran" not in c["msgs"] or not c["canary"]:
                failures.append("control page: probes saw nothing: %r" % c)
        names = sorted(os.listdir(args.pages))
        if len(names) < 40:
            failures.append("only %d sanitized pages" % len(names))
        def bad(g, mark):
            return (g["alert"] is not None or g["title"] != "app" or
                    g["msgs"] or g["canary"] or g["unexpected"] or
                    mark not in g["url"])

        # every page of a mode in one document, a sandboxed frame each
        # (opaque origins: one frame cannot reach another); only when
        # something shows does each page get its own visit, to name it
        for mode in ("san", "raw", "bare"):
            drv.set_page_load_timeout(120)
            try:
                g = visit(None, mode)
            except TimeoutException:
                # a slow machine: no verdict, each page alone instead
                g = None
                print("slow all pages [%s]: one by one" % mode)
            drv.set_page_load_timeout(30)
            if g is not None and not bad(g, "/?all=1"):
                print("ok   %d pages [%s]" % (len(names), mode))
                continue
            if g is not None:
                print("FAIL all pages [%s]: %r" % (mode, g))
                failures.append("all pages [%s]: %r" % (mode, g))
            for name in names:
                g = visit(name, mode)
                if bad(g, "/?m="):
                    failures.append("%s [%s]: %r" % (name, mode, g))
                print("%s %s [%s]" % ("FAIL" if bad(g, "/?m=") else "ok  ",
                                      name, mode))
    finally:
        drv.quit()
        app.shutdown()
        canary.shutdown()
    for f in failures:
        print("FAILURE:", f)
    print("%d pages, %d failures" % (len(os.listdir(args.pages)),
                                      len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
