"""Mail HTML on its own sandboxed URL, through the real youju-webmail
(issue 13; docs/security.md "Mail HTML").

- GET /api/message/html: text/html under the frame CSP (sandbox, no
  script, img-src data: [https: http: with remote=1], style-src
  'unsafe-inline', frame-ancestors 'self'), X-Frame-Options SAMEORIGIN,
  nosniff, no-referrer, no-store; session-checked, another user's message
  unreachable, no side effect (the message stays unseen).
- Limits: a webmail whose HTML helpers get 1 ms shows the text part, logs
  the failure, kills and replaces the helper and keeps serving.
- The corpus: every tests/fixtures/xss/*.eml (those calling alert() armed
  to call parent.postMessage instead, so that execution is observable
  through the sandbox) plus a probe and controls is appended to a
  mailbox; htmlsan_webmail_browser.py (system python, selenium + headless
  Chromium) logs in through the form and opens each message in the app,
  once on the instance's webmail and once on a second youju-webmail of the
  same instance with webmail_test_unsanitized_html = yes (test builds
  only): a loopback canary HTTP server must see zero requests and no
  script side effect may happen, and the second run proves the CSP and
  sandbox hold without the sanitizer.
"""
import email
import email.policy
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from harness import free_port
from test_imap_state import PASSWORD, user  # noqa: E402
from test_webmail_api import (EVIL_HTML, Client, append, html_msg, imap,  # noqa: E402,E501
                              login_user, ok)

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"

FRAME_CSP = ("sandbox allow-popups allow-popups-to-escape-sandbox; "
             "default-src 'none'; img-src data:; "
             "style-src 'unsafe-inline'; base-uri 'none'; "
             "form-action 'none'; frame-ancestors 'self'")


def test_message_html_url(inst):
    addr, m, c = login_user(inst, "hsframe")
    uid = append(m, "INBOX", html_msg(EVIL_HTML))
    q = {"folder": "INBOX", "uid": uid}
    j = ok(c.call("GET", "/api/message", query=q))
    assert j["html_url"] == f"/api/message/html?folder=INBOX&uid={uid}", j
    st, body, h = c.call("GET", j["html_url"])
    assert st == 200, (st, body)
    assert h["Content-Type"] == "text/html; charset=utf-8", h
    assert h.get_all("Content-Security-Policy") == [FRAME_CSP], h
    assert h.get_all("X-Frame-Options") == ["SAMEORIGIN"], h
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer"
    assert h.get_all("Cache-Control") == ["no-store"], h
    text = body.decode()
    assert text.startswith("<!DOCTYPE html>"), text[:200]
    assert '<div class="youju-msg">' in text and "你好 <b>bold</b>" in text
    low = text.lower()
    for bad in ("<script", "onerror", "onclick", "javascript:", "<svg",
                "tracker.invalid", "position:fixed", "position: fixed"):
        assert bad not in low, (bad, text)
    assert "data:image/png;base64," in text  # cid:logo@x inlined
    # remote images only when asked, and the policy says so
    st, body, h = c.call("GET", "/api/message/html",
                         query={"folder": "INBOX", "uid": uid, "remote": 1})
    assert st == 200 and b'src="http://tracker.invalid/pixel.gif"' in body
    assert h["Content-Security-Policy"] == FRAME_CSP.replace(
        "img-src data:", "img-src data: https: http:"), h
    # a GET changes nothing: still unseen
    m.select("INBOX", readonly=True)
    typ, d = m.uid("FETCH", str(uid), "(FLAGS)")
    assert b"\\Seen" not in d[0], d
    # no session: 401; another user: their own (empty) Inbox, 404
    st, _, _ = Client(inst).call("GET", "/api/message/html", query=q)
    assert st == 401, st
    _, m2, c2 = login_user(inst, "hsframe2")
    st, j2, _ = c2.call("GET", "/api/message/html", query=q)
    assert st == 404, (st, j2)
    st, _, _ = c.call("GET", "/api/message/html",
                      query={"folder": "../hsframe2", "uid": uid})
    assert st in (400, 404), st
    st, _, _ = c.call("GET", "/api/message/html",
                      query={"folder": "INBOX", "uid": "x"})
    assert st == 400, st
    # a message without HTML: its text, escaped, in the same frame
    uid2 = append(m, "INBOX", b"From: a@example.com\r\nSubject: t\r\n\r\n"
                  b"<script>alert(1)</script> & more\r\n")
    st, body, h = c.call("GET", "/api/message/html",
                         query={"folder": "INBOX", "uid": uid2})
    assert st == 200 and h["Content-Security-Policy"] == FRAME_CSP
    assert b"&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in body, body
    # a state change from another origin: refused before the handler,
    # even with the session cookie and the CSRF token
    body = json.dumps({"folder": "INBOX", "uids": [uid],
                       "add": ["\\Seen"]}).encode()
    for origin, want in (("http://evil.example", 403), ("null", 403),
                         (c.base, 200)):
        req = urllib.request.Request(
            c.base + "/api/flags", data=body, method="POST",
            headers={"Content-Type": "application/json", "Origin": origin,
                     "X-CSRF-Token": c.csrf})
        try:
            st = c.op.open(req, timeout=30).status
        except urllib.error.HTTPError as e:
            st = e.code
        assert st == want, (origin, st)
        m.select("INBOX", readonly=True)
        typ, d = m.uid("FETCH", str(uid), "(FLAGS)")
        assert (b"\\Seen" in d[0]) == (want == 200), (origin, d)
    m.logout()
    m2.logout()


# --- a second youju-webmail of the instance, with other settings -------

class ExtraWebmail:
    """youju-webmail -f with the instance's configuration plus extra
    settings, on its own port and run directory (pid file)."""

    def __init__(self, inst, extra, binary=None):
        self.inst = inst
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="youju-webmail2-",
                                    dir=inst.home)
        os.chmod(self.dir, 0o755)
        with open(inst.conf_path) as f:
            lines = f.read().splitlines()
        over = dict(extra)
        over.update({
            "webmail_listen": f"127.0.0.1:{self.port}",
            "run_directory": self.dir,
            "authd_socket": inst.authd_socket,
            "sendmail_socket": inst.path("run", "mta", "submit"),
            "mysql_socket": inst.mysql_socket,
            "webmail_access_log": os.path.join(self.dir, "access.log"),
        })
        keep = [ln for ln in lines
                if ln.split("=")[0].strip() not in over]
        keep += [f"{k} = {v}" for k, v in over.items()]
        self.conf = os.path.join(self.dir, "youju.cf")
        with open(self.conf, "w") as f:
            f.write("\n".join(keep) + "\n")
        self.proc = subprocess.Popen(
            [binary or inst.bin("youju-webmail"), "-f", "-c", self.conf],
            env=inst.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/", timeout=5).read()
                break
            except Exception:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise AssertionError("second youju-webmail did not "
                                         "start:\n" +
                                         inst.maillog()[-3000:])
                time.sleep(0.1)

    def client(self):
        c = Client(self.inst)
        c.base = self.url
        return c

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def big_html(n=900 * 1024):
    # one tag per line: under the sanitizer's tag and nesting caps
    unit = "<p>mail &amp; more text, and more text, and more, fine.\n"
    return "<html><body>" + unit * (n // len(unit)) + "</body></html>"


def test_html_helper_timeout_falls_back_to_text(inst):
    addr, m, c = login_user(inst, "hslimits")
    raw = html_msg(big_html(), "big html").replace(
        b"Content-Type: multipart/related; boundary=RR\r\n\r\n",
        b"Content-Type: multipart/related; boundary=RR\r\n\r\n"
        b"--RR\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"the text part of the big one\r\n", 1)
    uid = append(m, "INBOX", raw)
    # the instance's own webmail sanitizes it
    j = ok(c.call("GET", "/api/message",
                  query={"folder": "INBOX", "uid": uid}))
    assert j["html_error"] is None and j["html"], j["html_error"]
    w = ExtraWebmail(inst, {"webmail_html_timeout_ms": 1,
                            "webmail_html_processes": 1})
    try:
        c2 = w.client()
        ok(c2.login(addr))
        since = inst.log_size()
        for _ in range(3):  # never an error loop: every call answers
            j = ok(c2.call("GET", "/api/message",
                           query={"folder": "INBOX", "uid": uid}))
            assert j["html"] is None and j["html_error"] == "failed", \
                j["html_error"]
            assert j["text"].startswith("the text part"), j["text"][:80]
            st, body, h = c2.call("GET", "/api/message/html",
                                  query={"folder": "INBOX", "uid": uid})
            assert st == 200 and h["Content-Security-Policy"] == FRAME_CSP
            assert b'class="youju-text"' in body and \
                b"the text part of the big one" in body, body[:500]
            assert b"<p>" not in body
        inst.wait_log(r"webmail: message \d+: the HTML sanitizer failed",
                      since=since)
        ok(c2.call("GET", "/api/folders"))
        assert w.proc.poll() is None
    finally:
        w.close()
    m.logout()


def test_unsanitized_switch_is_test_only(inst):
    """webmail_test_unsanitized_html is honoured by sanitizer (ASan) builds
    only: the release build (build/bin, what make install installs) keeps
    sanitizing and says so in the log."""
    release = os.path.join(inst.srcdir, "build", "bin", "youju-webmail")
    r = subprocess.run(["make", "--no-print-directory", "-C", inst.srcdir,
                        "build/bin/youju-webmail"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    addr, m, c = login_user(inst, "hsrelease")
    uid = append(m, "INBOX", html_msg(PROBE_HTML, "probe"))
    m.logout()
    since = inst.log_size()
    w = ExtraWebmail(inst, {"webmail_test_unsanitized_html": "yes"},
                     binary=release)
    try:
        inst.wait_log(r"webmail_test_unsanitized_html is for test "
                      r"instances \(ASan builds\) only: ignored",
                      since=since)
        c2 = w.client()
        ok(c2.login(addr))
        st, body, h = c2.call("GET", "/api/message/html",
                              query={"folder": "INBOX", "uid": uid})
        assert st == 200 and h["Content-Security-Policy"] == FRAME_CSP
        assert b"<p class=\"probe\">probe</p>" in body, body[:600]
        for bad in (b"<script", b"onerror", b"onload", b"canary",
                    b"<iframe", b"<form", b"javascript:"):
            assert bad not in body.lower(), (bad, body[:600])
    finally:
        w.close()


# --- the corpus in the real app ----------------------------------------

ARM = re.compile(rb"alert\((\d*)\)")
# quote-free, so that it fits every context alert(1) sits in
ARMED = rb"parent.postMessage(7,String.fromCharCode(42))"


def armed(raw):
    """The message with alert(N) in its text parts replaced by a call the
    test can observe from the app page (parent.postMessage)."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    changed = False
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        data = part.get_payload(decode=True) or b""
        if not ARM.search(data):
            continue
        data = ARM.sub(ARMED, data)
        del part["Content-Transfer-Encoding"]
        part["Content-Transfer-Encoding"] = "base64"
        part.set_payload(__import__("base64").encodebytes(data).decode())
        changed = True
    return msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") \
        if changed else raw


PROBE_HTML = (
    "<html><head><title>probe</title>"
    "<meta http-equiv=refresh content='0;url=http://canary/refresh'>"
    "<base href='http://canary/base/'>"
    "<link rel=stylesheet href='http://canary/link.css'>"
    "<script>document.body&&document.body.setAttribute('data-ran','1');"
    "document.title='ran';parent.postMessage('script-ran','*');"
    "try{parent.postMessage('cookie:'+document.cookie,'*')}catch(e){}"
    "fetch('http://canary/fetch');top.location='http://canary/nav';"
    "</script></head>"
    "<body onload=\"parent.postMessage('onload-ran','*')\">"
    "<p class=probe>probe</p>"
    "<img src=x onerror=\"parent.postMessage('onerror-ran','*')\">"
    "<img src='http://canary/img.png'>"
    "<iframe src='http://canary/iframe'></iframe>"
    "<form action='http://canary/form'><input name=q autofocus "
    "onfocus=\"parent.postMessage('focus-ran','*')\"></form>"
    "<svg><image href='http://canary/svg.png'/></svg>"
    "<a id=l href='javascript:parent.postMessage(1,\"*\")'>js</a>"
    "<div style=\"background:url('http://canary/css.png')\">css</div>"
    "</body></html>")

STYLE_HTML = ("<html><head><style>p.styled{color:rgb(1, 2, 3)}</style>"
              "</head><body><p class=styled>mail CSS applies</p>"
              "</body></html>")

REMOTE_HTML = ("<html><body><p>remote control</p>"
               "<img alt=c src='http://canary/control.png'></body></html>")


def test_xss_corpus_in_real_webmail(inst):
    for path in (SYSTEM_PYTHON, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert os.path.exists(path), f"{path} missing (run scripts/deps.sh)"
    addr = user(inst, "hscorpus")
    m = imap(inst, addr)
    fixtures = sorted(glob.glob(os.path.join(inst.srcdir, "tests",
                                             "fixtures", "xss", "*.eml")))
    assert len(fixtures) >= 45, len(fixtures)
    manifest = []
    n_armed = 0
    for path in fixtures:
        with open(path, "rb") as f:
            raw = f.read()
        a = armed(raw)
        n_armed += a is not raw
        uid = append(m, "INBOX", a)
        manifest.append({"name": os.path.basename(path), "uid": uid})
    assert n_armed >= 30, n_armed
    for name, html in (("probe", PROBE_HTML), ("style", STYLE_HTML),
                       ("remote", REMOTE_HTML)):
        uid = append(m, "INBOX", html_msg(html, "control " + name))
        manifest.append({"name": name, "uid": uid, "control": name})
    m.logout()
    w = ExtraWebmail(inst, {"webmail_test_unsanitized_html": "yes"})
    try:
        # the second webmail really serves the raw HTML
        c2 = w.client()
        ok(c2.login(addr))
        probe = [x for x in manifest if x.get("control") == "probe"][0]
        st, body, h = c2.call("GET", "/api/message/html",
                              query={"folder": "INBOX", "uid": probe["uid"]})
        assert st == 200 and b"<script>document.body" in body, body[:300]
        assert h["Content-Security-Policy"] == FRAME_CSP
        art = os.path.join(inst.srcdir, "build", "test-artifacts",
                           "htmlsan")
        os.makedirs(art, exist_ok=True)
        mf = os.path.join(art, "manifest.json")
        with open(mf, "w") as f:
            json.dump(manifest, f)
        env = dict(os.environ)
        for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
            env.pop(k, None)
        cmd = [SYSTEM_PYTHON,
               os.path.join(HERE, "htmlsan_webmail_browser.py"),
               "--url", f"http://127.0.0.1:{inst.ports['webmail']}",
               "--url-unsanitized", w.url, "--user", addr,
               "--password", PASSWORD, "--manifest", mf,
               "--artifacts", art]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=900)
        sys.stdout.write("\n".join(ln for ln in r.stdout.splitlines()
                                    if not ln.startswith("ok   ")) + "\n")
        assert r.returncode == 0, r.stdout[-8000:] + r.stderr[-3000:]
    finally:
        w.close()
