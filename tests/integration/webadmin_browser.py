#!/usr/bin/python3
"""Drives the youju-webadmin console in a real browser.

Not a test module itself: test_webadmin_browser.py runs it with
/usr/bin/python3, the interpreter Debian's python3-selenium belongs to
(the harness may run on another Python).  Headless Chromium and
chromedriver are Debian's too (chromium, chromium-driver); nothing is
downloaded.

It logs in through the form at /, creates a domain, a mailbox, an alias
and a domain administrator through the pages, imports mailboxes from CSV
and sends group mail there, checks each through the JSON API, sends mail
to the new address over SMTP and reads it over IMAP, uses the mailbox
users' self-service pages, pages and searches a list of 55, checks that a limit error is shown next to its field (in both
languages), that markup in data stays text, that the postmaster sees only
its domain and gets 403 for another, makes and revokes an API token, and
that no page logs an error in the browser console.  Every page is saved as a
screenshot at 1280 and 360 px, in en_US and zh_CN, under --artifacts.

    webadmin_browser.py --url http://127.0.0.1:PORT --smtp PORT --imap PORT
                        --artifacts DIR

Exits 0 when every check passed; a failed check raises (traceback on
stderr, exit status 1).
"""
import argparse
import http.cookiejar
import imaplib
import json
import os
import re
import shutil
import smtplib
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

ADMIN = ("root@extmail.org", "extmail*123*")
DOMAIN = "webui-test.example"
MAILBOX = "alice"
MAILBOX_PW = "Webui-Pass-7281"
ALIAS = "sales"
PM = ("pm@" + DOMAIN, "Pm-Pass-93817")
MB = 1048576
XSS = "<img src=x onerror=\"document.title='pwned'\">test domain"


T0 = time.time()


def log(msg):
    # seconds since the start: where the time of the test goes
    print(f"webadmin_browser: {time.time() - T0:6.1f}s {msg}", flush=True)


class Api:
    """The JSON API over real HTTP, with its own session cookie."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""

    def call(self, method, path, body=None, csrf=True):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if csrf and self.csrf and method != "GET":
            req.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(req, timeout=20) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return status, doc

    def call_raw(self, method, path, body, ctype):
        req = urllib.request.Request(self.base + path, data=body.encode(),
                                     method=method)
        req.add_header("Content-Type", ctype)
        req.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def login(self, user, password):
        st, doc = self.call("POST", "/api/session",
                            {"user": user, "password": password})
        assert st == 200, f"API login as {user}: {st} {doc}"
        self.csrf = doc["csrf"]
        return doc

    def get(self, path):
        return self.call("GET", path)


def q(s):
    return urllib.parse.quote(s, safe="")


def fresh_artifacts(path):
    """Makes the screenshot folder path, without an earlier run's
    screenshots."""
    os.makedirs(path, exist_ok=True)
    for f in os.listdir(path):
        if f.endswith(".png"):
            os.unlink(os.path.join(path, f))


def log_passed(path, say=log):
    """The last line of a driver that passed: its screenshots' count."""
    n = len([f for f in os.listdir(path) if f.endswith(".png")])
    say(f"all checks passed; {n} screenshots in {path}")


class Browser:
    def __init__(self, base, artifacts):
        self.base = base.rstrip("/")
        self.artifacts = artifacts
        self.profile = tempfile.mkdtemp(prefix="youju-chromium-")
        o = Options()
        o.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--disable-dev-shm-usage",
                  "--user-data-dir=" + self.profile,
                  "--window-size=1280,900", "--lang=en-US"):
            o.add_argument(a)
        o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                                  options=o)
        self.d.set_page_load_timeout(30)
        # console entries that a step expects (a 401 for a bad password,
        # a 403 when a postmaster opens another domain, a 4xx for a limit)
        self.allowed = []
        self.errors = []

    def quit(self):
        try:
            self.d.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # --- waiting -------------------------------------------------------
    def wait(self, fn, what, timeout=15):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                v = fn()
                if v:
                    return v
            except StaleElementReferenceException as e:
                last = e
            time.sleep(0.1)
        self.shot("FAILED-" + re.sub(r"\W+", "_", what)[:60], widths=(1280,))
        raise AssertionError(f"timed out waiting for {what} (url "
                             f"{self.d.current_url}; last {last!r})\n"
                             f"page text:\n{self.text()[:1500]}")

    def css(self, sel, timeout=15):
        return self.wait(lambda: self._visible(sel), f"element {sel}",
                         timeout)

    def _visible(self, sel):
        for e in self.d.find_elements(By.CSS_SELECTOR, sel):
            if e.is_displayed():
                return e
        return None

    def text(self):
        try:
            return self.d.find_element(By.TAG_NAME, "body").text
        except Exception:
            return ""

    def h1(self, expect, timeout=15):
        return self.wait(lambda: expect in self.d.find_element(
            By.CSS_SELECTOR, "main h1").text, f"heading {expect!r}", timeout)

    # --- acting --------------------------------------------------------
    def go(self, hash_path):
        self.d.get(self.base + "/#/" + hash_path)
        self.rendered()

    def rendered(self):
        """Waits until the page for the current URL is drawn and its data
        loaded: the app keeps aria-busy on #app while it works."""
        self.wait(lambda: self.d.execute_script(
            "var a = document.getElementById('app');"
            "return a.dataset.route === location.hash &&"
            " a.getAttribute('aria-busy') === 'false';"), "page rendered")

    def fill(self, name, value, form="main form.form"):
        # the app may draw the form again (after its data arrives) between
        # finding the field and typing: then find the new one and type again
        def typed():
            e = self.css(f"{form} [name='{name}']")
            e.clear()
            if value:
                e.send_keys(value)
            return e
        return self.wait(typed, f"field {name} filled")

    def check(self, name, on=True, form="main form.form"):
        e = self.css(f"{form} input[name='{name}']")
        if e.is_selected() != on:
            e.click()

    def submit(self, form="main form.form"):
        self.css(f"{form} button[type=submit]").click()

    def flash(self, expect):
        """Waits for the message a change leaves on the page it goes to,
        then for that page's data."""
        self.wait(lambda: any(expect in e.text for e in
                              self.d.find_elements(By.CSS_SELECTOR,
                                                   "p.flash")),
                  f"flash {expect!r}")
        self.rendered()

    # --- console -------------------------------------------------------
    def console(self, where):
        """Fails on an error logged in the browser console (script errors,
        CSP violations, failed requests) that no step expected."""
        for e in self.d.get_log("browser"):
            if e.get("level") not in ("SEVERE", "ERROR"):
                continue
            msg = e.get("message", "")
            if any(re.search(p, msg) for p in self.allowed):
                continue
            self.errors.append(f"{where}: {msg}")
        assert not self.errors, "browser console errors:\n" + \
            "\n".join(self.errors)

    def expect_console(self, pattern):
        self.allowed.append(pattern)

    # --- screenshots ---------------------------------------------------
    def _viewport(self, w, h):
        # DevTools' device metrics: applied before the command returns,
        # where a window resize reaches the page some time later
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": w, "height": h, "deviceScaleFactor": 1,
            "mobile": False})

    def shot(self, name, widths=(1280, 360)):
        for w in widths:
            self._viewport(w, 900)
            hgt = self.d.execute_script(
                "return document.documentElement.scrollHeight")
            self._viewport(w, max(600, min(int(hgt) + 140, 4000)))
            # a phone-width page must not scroll sideways
            if w == 360:
                sw = self.d.execute_script(
                    "return document.documentElement.scrollWidth")
                assert sw <= 362, f"{name}: {sw}px wide at 360px"
            self.d.save_screenshot(os.path.join(self.artifacts,
                                                f"{name}-{w}.png"))
        self.d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def set_lang(self, lang):
        Select(self.css("select[name=lang]")).select_by_value(lang)
        self.wait(lambda: self.d.execute_script(
            "return document.documentElement.lang") == lang.replace("_", "-"),
            f"language {lang}")


def login(b, user, password, expect_ok=True):
    b.d.get(b.base + "/")
    u = b.css("form input[name=user]")
    # the app has taken over the static form when the lang switch is there
    b.css("select[name=lang]")
    u = b.css("form input[name=user]")
    u.clear()
    u.send_keys(user)
    p = b.css("form input[name=password]")
    p.clear()
    p.send_keys(password + Keys.ENTER)   # the keyboard submits the form
    if expect_ok:
        b.css("main h1")
        b.wait(lambda: b.d.find_elements(By.ID, "logout"), "signed in")


def logout(b):
    b.css("#logout").click()
    b.css("form input[name=user]")


def admin_flow(b, api, args):
    # the login page, both languages, and a bad password
    b.d.get(b.base + "/")
    b.css("form input[name=user]")
    b.css("select[name=lang]")
    b.set_lang("zh_CN")
    b.wait(lambda: b.css("form button[type=submit]").text == "登录",
           "Chinese login button")
    b.shot("zh_CN-login")
    b.set_lang("en_US")
    b.shot("en_US-login")
    # keyboard: the form starts in the user field and Tab walks it
    active = lambda: b.d.execute_script(
        "var e = document.activeElement;"
        "return e.name || e.type || e.tagName;")
    b.wait(lambda: active() == "user", "focus in the user field")
    b.d.switch_to.active_element.send_keys(Keys.TAB)
    assert active() == "password", active()
    b.d.switch_to.active_element.send_keys(Keys.TAB)
    assert active() == "submit", active()
    b.console("login page")
    b.expect_console(r"/api/session .*401")
    login(b, ADMIN[0], "wrong-password", expect_ok=False)
    err = b.css("#login-error")
    assert "Wrong" in err.text, err.text
    b.console("bad login")

    login(b, *ADMIN)
    b.h1("Domains")
    b.wait(lambda: "extmail.org" in b.text(), "extmail.org in the list")
    b.console("domain list")

    # --- a domain through the page ---
    b.css("a[href='#/domains/new']").click()
    b.h1("Add domain")
    b.fill("domain", DOMAIN)
    b.fill("description", XSS)
    b.fill("maxusers", "5")
    b.fill("maxalias", "5")
    b.fill("maxquota", "100")
    b.fill("maxnetdiskquota", "50")
    b.fill("default_quota", "10")
    b.fill("default_netdiskquota", "5")
    b.fill("default_expire", "2y")
    b.check("disablepop3", False)     # "POP3 enabled" unticked
    b.check("can_signup", False)
    b.submit()
    b.flash(DOMAIN)
    b.wait(lambda: DOMAIN in b.text(), "new domain in the list")
    # data from the API is text, never markup
    assert XSS in b.text(), "the description is not shown as text"
    assert b.d.execute_script(
        "return document.querySelectorAll('main img').length") == 0
    assert "pwned" not in b.d.title
    b.console("domain add")
    st, d = api.get("/api/domains/" + q(DOMAIN))
    assert st == 200, f"GET domain: {st} {d}"
    assert d["domain"] == DOMAIN and d["description"] == XSS, d
    assert int(d["maxusers"]) == 5 and int(d["maxalias"]) == 5, d
    assert int(d["maxquota"]) == 100 * MB, d
    assert int(d["maxnetdiskquota"]) == 50 * MB, d
    assert int(d["default_quota"]) == 10 * MB, d
    assert d["default_expire"] == "2y", d
    assert int(d["disablepop3"] or 0) == 1 and int(d["disableimap"] or 0) == 0, d
    log("domain created through the page")

    # --- a mailbox ---
    b.go(f"domain/{q(DOMAIN)}/mailboxes")
    b.h1(DOMAIN)
    b.css(f"a[href='#/domain/{q(DOMAIN)}/mailboxes/new']").click()
    b.h1("Add mailbox")
    # the domain's defaults are filled in
    assert b.css("main form [name=quota]").get_attribute("value") == "10"
    assert not b.css("main form [name=disablepop3]").is_selected()
    b.fill("uid", MAILBOX)
    b.fill("name", "Alice 测试")
    b.fill("password", MAILBOX_PW)
    b.fill("password2", MAILBOX_PW)
    b.fill("quota", "20")
    b.submit()
    b.flash(f"{MAILBOX}@{DOMAIN}")
    b.wait(lambda: f"{MAILBOX}@{DOMAIN}" in b.text(), "mailbox in the list")
    b.console("mailbox add")
    st, m = api.get(f"/api/domains/{q(DOMAIN)}/mailboxes/{MAILBOX}")
    assert st == 200, f"GET mailbox: {st} {m}"
    assert m["username"] == f"{MAILBOX}@{DOMAIN}", m
    assert m["name"] == "Alice 测试", m
    assert int(m["quota"]) == 20 * MB, m
    assert "password" not in m and "clearpwd" not in m, m
    log("mailbox created through the page")

    # --- a limit error is shown next to its field ---
    b.go(f"domain/{q(DOMAIN)}/mailboxes/new")
    b.h1("Add mailbox")
    b.expect_console(r"/mailboxes .*(400|403|409|422)")
    b.fill("uid", "bob")
    b.fill("password", MAILBOX_PW)
    b.fill("password2", MAILBOX_PW)
    b.fill("quota", "500")            # the domain allows 100 MB in all
    b.submit()
    err = b.css(".field.invalid input[name=quota]")
    msg = b.css(".field.invalid .field-error").text
    assert msg.strip(), "empty field error"
    assert err.get_attribute("aria-invalid") == "true"
    b.shot("en_US-mailbox-limit-error")
    # the same in Chinese: the error code is translated
    b.set_lang("zh_CN")
    b.rendered()
    b.fill("uid", "bob")
    b.fill("password", MAILBOX_PW)
    b.fill("password2", MAILBOX_PW)
    b.fill("quota", "500")
    b.submit()
    b.css(".field.invalid input[name=quota]")
    zh = b.css(".field.invalid .field-error").text
    assert zh == "邮箱容量之和将超过域名的邮箱总容量。", zh
    b.shot("zh_CN-mailbox-limit-error")
    b.set_lang("en_US")
    b.rendered()
    st, _ = api.get(f"/api/domains/{q(DOMAIN)}/mailboxes/bob")
    assert st == 404, f"over-limit mailbox exists: {st}"
    b.console("limit error")
    log(f"limit error shown at its field: {msg!r}")

    # --- the mailbox edited: quota raised, IMAP turned off, name kept ---
    b.go(f"domain/{q(DOMAIN)}/mailbox/{MAILBOX}")
    b.h1(f"{MAILBOX}@{DOMAIN}")
    assert b.css("main form [name=name]").get_attribute("value") == "Alice 测试"
    assert b.css("main form [name=password]").get_attribute("value") == ""
    b.fill("quota", "30")
    b.check("disableimap", False)
    b.submit()
    b.flash("Saved")
    st, m = api.get(f"/api/domains/{q(DOMAIN)}/mailboxes/{MAILBOX}")
    assert int(m["quota"]) == 30 * MB and int(m["disableimap"]) == 1, m
    assert m["name"] == "Alice 测试", m
    b.go(f"domain/{q(DOMAIN)}/mailbox/{MAILBOX}")
    b.check("disableimap", True)
    b.submit()
    b.flash("Saved")
    st, m = api.get(f"/api/domains/{q(DOMAIN)}/mailboxes/{MAILBOX}")
    assert int(m["disableimap"]) == 0, m
    b.console("mailbox edit")
    log("mailbox edited through the page")

    # --- an alias, one target per line ---
    b.go(f"domain/{q(DOMAIN)}/aliases")
    b.h1(DOMAIN)
    b.css(f"a[href='#/domain/{q(DOMAIN)}/aliases/new']").click()
    b.h1("Add alias")
    b.fill("local", ALIAS)
    b.fill("goto", f"{MAILBOX}@{DOMAIN}\npostmaster@extmail.org")
    b.submit()
    b.flash(f"{ALIAS}@{DOMAIN}")
    b.console("alias add")
    st, a = api.get(f"/api/domains/{q(DOMAIN)}/aliases/{q(ALIAS + '@' + DOMAIN)}")
    assert st == 200, f"GET alias: {st} {a}"
    targets = a["goto"] if isinstance(a["goto"], list) else \
        [x.strip() for x in a["goto"].split(",")]
    assert targets == [f"{MAILBOX}@{DOMAIN}", "postmaster@extmail.org"], a
    log("alias created through the page")

    # --- mailboxes from CSV: the dry run names the bad row, then all go in ---
    b.go(f"domain/{q(DOMAIN)}/mailboxes")
    b.css(f"a[href='#/domain/{q(DOMAIN)}/csv?type=mailboxes']").click()
    b.rendered()
    b.h1("Import and export")
    exp = b.css("#csv-export").get_attribute("href")
    assert exp.endswith(f"/api/domains/{q(DOMAIN)}/export?type=mailboxes"), exp
    b.expect_console(r"/import\?type=mailboxes .*422")
    bad = ("uid,password,name,quota\n"
           "carol,Carol-Pass-5521,Carol,10485760\n"
           "bad name,Dave-Pass-5521,Dave,10485760\n")
    b.fill("csv", bad, form="main")
    b.css("#csv-check").click()
    b.wait(lambda: "1 with errors" in b.css(".csv-report").text, "dry-run report")
    cells = [c.text for c in b.d.find_elements(By.CSS_SELECTOR,
                                                ".csv-report td")]
    assert cells[:2] == ["3", "uid"], cells
    b.css("#csv-import").click()
    b.wait(lambda: "Nothing was imported" in b.css(".csv-report").text,
           "import refused")
    st, _ = api.get(f"/api/domains/{q(DOMAIN)}/mailboxes/carol")
    assert st == 404, f"a refused import wrote carol: {st}"
    b.shot("en_US-csv-errors")
    good = bad.replace("bad name,Dave", "dave,Dave")
    b.fill("csv", good, form="main")
    b.css("#csv-check").click()
    b.wait(lambda: "all good" in b.css(".csv-report").text, "clean dry run")
    st, _ = api.get(f"/api/domains/{q(DOMAIN)}/mailboxes/carol")
    assert st == 404, f"a dry run wrote carol: {st}"
    b.css("#csv-import").click()
    b.wait(lambda: "2 rows imported" in b.css(".csv-report").text, "import")
    for who in ("carol", "dave"):
        st, m = api.get(f"/api/domains/{q(DOMAIN)}/mailboxes/{who}")
        assert st == 200 and int(m["quota"]) == 10 * MB, (who, st, m)
    b.console("csv import")
    log("mailboxes imported from CSV through the page")

    # --- group mail to the domain's mailboxes (alice, carol, dave) ---
    b.go("groupmail")
    b.h1("Group mail")
    b.check("dom:" + DOMAIN, True)
    b.fill("subject", "webadmin browser test group mail 群发")
    b.fill("text", "hello everyone\n")
    b.submit()
    b.flash("Sending to 3 mailboxes")
    b.console("group mail")
    log("group mail sent through the page")

    # --- a domain administrator for the new domain ---
    b.go("managers/new")
    b.h1("Add manager")
    b.fill("username", PM[0])
    b.fill("name", "Domain admin")
    b.fill("password", PM[1])
    b.fill("password2", PM[1])
    Select(b.css("main form select[name=type]")).select_by_value("postmaster")
    b.check("dom:" + DOMAIN, True)
    b.submit()
    b.flash(PM[0])
    b.console("manager add")
    st, pm = api.get("/api/managers/" + q(PM[0]))
    assert st == 200, f"GET manager: {st} {pm}"
    assert pm["type"] == "postmaster", pm
    doms = [x if isinstance(x, str) else x.get("domain")
            for x in pm.get("domains", [])]
    assert doms == [DOMAIN], pm
    log("manager created through the page")


def paging_flow(b, api):
    """A list longer than a page (the API gives 50 a page): the pager and
    the search on the page."""
    dom = "paging-test.example"
    st, doc = api.call("POST", "/api/domains", {"domain": dom, "maxusers": 100,
                                                "maxquota": 0})
    assert st == 201, f"POST domain: {st} {doc}"
    rows = "".join(f"user{i:02d},$1$abcdefgh$0123456789abcdefghijkl,User {i}\n"
                   for i in range(55))
    st, doc = api.call_raw("POST", f"/api/domains/{dom}/import?type=mailboxes",
                           "uid,password,name\n" + rows, "text/csv")
    assert st == 200 and doc["imported"] == 55, f"import: {st} {doc}"
    b.go(f"domain/{dom}/mailboxes")
    b.wait(lambda: "55 found" in b.css(".list-status").text, "55 found")
    assert len(b.d.find_elements(By.CSS_SELECTOR, "table.list tbody tr")) == 50
    b.wait(lambda: "of 2" in b.css("nav.pager").text, "two pages")
    b.shot("en_US-mailboxes-paged", widths=(1280, 360))
    nxt = [e for e in b.d.find_elements(By.CSS_SELECTOR, "nav.pager button")
           if "Next" in e.text][0]
    nxt.click()
    b.wait(lambda: len(b.d.find_elements(
        By.CSS_SELECTOR, "table.list tbody tr")) == 5, "page 2 with 5 rows")
    assert "user54@" in b.text(), "the last mailbox is not on page 2"
    b.fill("q", "user1", form="main form.search")
    b.css("main form.search button[type=submit]").click()
    b.wait(lambda: "10 found" in b.css(".list-status").text, "search: 10")
    b.console("paging")
    for i in range(55):
        st, _ = api.call("DELETE", f"/api/domains/{dom}/mailboxes/user{i:02d}")
        assert st == 200, st
    st, doc = api.call("DELETE", f"/api/domains/{dom}")
    assert st == 200, f"DELETE domain: {st} {doc}"
    log("a list of 55: pager and search work")


def mail_flow(args):
    """The new address receives mail (directly, through the alias, and the
    group mail sent on its page) and logs in over IMAP."""
    addr = f"{MAILBOX}@{DOMAIN}"
    for to, subj in ((addr, "direct"), (f"{ALIAS}@{DOMAIN}", "via alias")):
        msg = EmailMessage()
        msg["From"] = "postmaster@extmail.org"
        msg["To"] = to
        msg["Subject"] = "webadmin browser test " + subj
        msg.set_content("hello\n")
        with smtplib.SMTP("127.0.0.1", args.smtp, timeout=30) as s:
            s.send_message(msg)
    deadline = time.time() + 30
    while True:
        try:
            im = imaplib.IMAP4("127.0.0.1", args.imap, timeout=30)
            try:
                im.login(addr, MAILBOX_PW)
                typ, data = im.select("INBOX", readonly=True)
                n = int(data[0])
                typ, found = im.search(None, "SUBJECT",
                                       '"webadmin browser test"')
                k = len(found[0].split())
            finally:
                try:
                    im.logout()
                except Exception:
                    pass
            if k >= 3:     # direct, through the alias, group mail
                log(f"IMAP login as {addr}: {n} messages, {k} from the test")
                return
        except imaplib.IMAP4.error as e:
            if time.time() > deadline:
                raise AssertionError(f"IMAP login as {addr}: {e}")
            k = -1
        if time.time() > deadline:
            raise AssertionError(f"{k} of 3 test messages for {addr} after 30 s")
        time.sleep(0.3)


def imap_ok(args, user, password):
    im = imaplib.IMAP4("127.0.0.1", args.imap, timeout=30)
    try:
        im.login(user, password)
        return True
    except imaplib.IMAP4.error:
        return False
    finally:
        try:
            im.logout()
        except Exception:
            pass


def self_service_flow(b, api, args):
    """ExtMan's pages for mailbox users, from the login page's links: a
    password change and a reset by the recovery question take effect for
    IMAP at once; signing up is refused (off by default) with a message."""
    addr = f"{MAILBOX}@{DOMAIN}"
    st, doc = api.call("PUT", f"/api/domains/{q(DOMAIN)}/mailboxes/{MAILBOX}",
                       {"question": "Favourite colour?", "answer": "Blue"})
    assert st == 200, f"PUT question: {st} {doc}"
    logout(b)
    b.css("a[href='#/self/password']").click()
    b.rendered()
    b.h1("Change my mailbox password")
    b.shot("en_US-self-password")
    b.fill("user", addr)
    b.fill("old", MAILBOX_PW)
    b.fill("new", MAILBOX_PW + "-2")
    b.fill("password2", MAILBOX_PW + "-2")
    b.submit()
    b.css("main p.flash")
    assert imap_ok(args, addr, MAILBOX_PW + "-2"), "new password refused"
    assert not imap_ok(args, addr, MAILBOX_PW), "old password still works"
    b.console("self password")
    b.go("self/forgot")
    b.h1("Forgot my password")
    b.fill("user", addr)
    b.submit()
    b.wait(lambda: "Favourite colour?" in b.text(), "the question")
    b.shot("en_US-self-forgot")
    b.fill("answer", "Blue")
    b.fill("new", MAILBOX_PW + "-3")
    b.fill("password2", MAILBOX_PW + "-3")
    b.submit()
    b.css("main p.flash")
    assert imap_ok(args, addr, MAILBOX_PW + "-3"), "reset password refused"
    b.console("self reset")
    b.expect_console(r"/api/self/signup .*403")
    b.go("self/signup")
    b.set_lang("zh_CN")
    b.rendered()
    b.fill("user", "newbie@" + DOMAIN)
    b.fill("password", "Newbie-Pass-1")
    b.fill("password2", "Newbie-Pass-1")
    b.submit()
    alert = b.css("main [role=alert]:not([hidden])")
    assert alert.text.strip() == "此处未开放自助注册。", alert.text
    b.shot("zh_CN-self-signup-refused")
    b.set_lang("en_US")
    st, _ = api.get(f"/api/domains/{q(DOMAIN)}/mailboxes/newbie")
    assert st == 404, f"signup made a mailbox: {st}"
    b.console("self signup")
    b.go("")
    log("mailbox self-service pages: password change and reset work")


ADMIN_PAGES = [
    ("domains", "domains"),
    ("domain-add", "domains/new"),
    ("domain-edit", f"domain/{q(DOMAIN)}"),
    ("mailboxes", f"domain/{q(DOMAIN)}/mailboxes"),
    ("mailbox-add", f"domain/{q(DOMAIN)}/mailboxes/new"),
    ("mailbox-edit", f"domain/{q(DOMAIN)}/mailbox/{MAILBOX}"),
    ("aliases", f"domain/{q(DOMAIN)}/aliases"),
    ("alias-add", f"domain/{q(DOMAIN)}/aliases/new"),
    ("alias-edit", f"domain/{q(DOMAIN)}/alias/{q(ALIAS + '@' + DOMAIN)}"),
    ("csv", f"domain/{q(DOMAIN)}/csv?type=mailboxes"),
    ("managers", "managers"),
    ("manager-add", "managers/new"),
    ("manager-edit", f"manager/{q(PM[0])}"),
    ("password", "password"),
    ("groupmail", "groupmail"),
    ("audit", "audit"),
    ("status", "status"),
    ("tokens", "tokens"),
]


def settle(b):
    """Waits until the page for the current URL has rendered and loaded
    its data (the app keeps aria-busy on #app while it works), then fails
    on an error shown on it."""
    b.rendered()
    alerts = b.d.execute_script(
        "return Array.from(document.querySelectorAll('main [role=alert]'))"
        ".filter(function (e) { return e.offsetParent !== null &&"
        " e.textContent.trim(); }).map(function (e) {"
        " return e.textContent; });")
    assert not alerts, f"{b.d.current_url}: error shown: {alerts}"


def screenshots(b, pages, prefix):
    for lang in ("en_US", "zh_CN"):
        b.go("domains")
        settle(b)
        b.set_lang(lang)
        for name, path in pages:
            b.go(path)
            settle(b)
            if name == "audit":
                # the changes shown open: they must fit at 360 px too
                b.d.execute_script(
                    "document.querySelectorAll('main details')"
                    ".forEach(function (d) { d.open = true; });")
            b.shot(f"{lang}-{prefix}{name}")
            b.console(f"{lang} {path}")
    b.go("domains")
    settle(b)
    b.set_lang("en_US")
    log(f"screenshots of {len(pages)} {prefix or 'admin-'}pages in 2 "
        "languages")


def postmaster_flow(b, args):
    logout(b)
    login(b, *PM)
    b.h1("Domains")
    settle(b)
    text = b.text()
    assert DOMAIN in text, "postmaster does not see its domain"
    assert "extmail.org" not in text.replace("root@extmail.org", ""), \
        "postmaster sees extmail.org"
    nav = b.css("nav.main-nav").text
    assert "Managers" not in nav and "Status" not in nav, nav
    b.shot("en_US-postmaster-domains")
    b.console("postmaster domains")
    # another domain's page: the server answers 403 and the page says so
    b.expect_console(r"extmail\.org.* 403")
    b.go("domain/extmail.org/mailboxes")
    alert = b.css("main [role=alert]")
    assert alert.text.strip(), "no error shown for a foreign domain"
    b.shot("en_US-postmaster-forbidden")
    b.console("postmaster forbidden page")
    papi = Api(b.base)
    papi.login(*PM)
    for path in ("/api/domains/extmail.org",
                 "/api/domains/extmail.org/mailboxes",
                 "/api/domains/extmail.org/aliases",
                 "/api/domains/extmail.org/mailboxes/postmaster"):
        st, doc = papi.get(path)
        assert st == 403, f"postmaster GET {path}: {st} {doc}"
    st, doc = papi.call("POST", "/api/domains/extmail.org/mailboxes",
                        {"uid": "intruder", "password": "Intruder-1234567"})
    assert st == 403, f"postmaster POST into extmail.org: {st} {doc}"
    st, doc = papi.get(f"/api/domains/{q(DOMAIN)}/mailboxes")
    assert st == 200, f"postmaster GET own mailboxes: {st} {doc}"
    # an API token made on its page works for scripts, with the role's limits
    b.go("tokens")
    b.fill("name", "browser-test")
    b.submit()
    tok = b.wait(lambda: b.css("#new-token").get_attribute("value"), "token")
    for path, want in (("/api/domains", 200),
                       ("/api/domains/extmail.org", 403)):
        req = urllib.request.Request(b.base + path, headers={
            "Authorization": "Bearer " + tok})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                st, doc = r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            st, doc = e.code, None
        assert st == want, f"token GET {path}: {st}"
        if st == 200:
            names = [d["domain"] for d in doc["items"]]
            assert names == [DOMAIN], names
    b.rendered()
    b.wait(lambda: "browser-test" in b.text(), "token in the list")
    b.shot("en_US-postmaster-token-made", widths=(1280,))
    # revoked on the page (confirmed in the dialog), it stops working
    b.css("main table.list button.danger-text").click()
    b.css("dialog[open] button.danger").click()
    b.wait(lambda: "browser-test" not in b.text(), "token gone from the list")
    req = urllib.request.Request(b.base + "/api/domains", headers={
        "Authorization": "Bearer " + tok})
    try:
        urllib.request.urlopen(req, timeout=20)
        st = 200
    except urllib.error.HTTPError as e:
        st = e.code
    assert st == 401, f"revoked token: {st}"
    b.console("token")
    # its own password, changed on the page, is the one that logs in
    b.go("password")
    b.fill("old", PM[1])
    b.fill("new", PM[1] + "-2")
    b.fill("password2", PM[1] + "-2")
    b.submit()
    b.flash("Password changed")
    b.console("password")
    logout(b)
    login(b, PM[0], PM[1] + "-2")
    b.h1("Domains")
    log("postmaster made a token and changed its password on the pages")
    pages = [p for p in ADMIN_PAGES if not p[1].startswith(("manager",
                                                            "status",
                                                            "domains/new"))
             and p[0] != "domain-edit"]
    screenshots(b, pages, "postmaster-")
    log("postmaster sees only its domain and gets 403 elsewhere")


def cleanup(b, api):
    """Deletes what the run made; the alias through its page."""
    b.go(f"domain/{q(DOMAIN)}/alias/{q(ALIAS + '@' + DOMAIN)}")
    b.h1(ALIAS)
    b.css("main form button.danger").click()
    b.css("dialog[open] button.danger").click()
    b.flash(ALIAS)
    st, _ = api.get(f"/api/domains/{q(DOMAIN)}/aliases/{q(ALIAS + '@' + DOMAIN)}")
    assert st == 404, f"alias still there: {st}"
    # the mailbox with its mail, through its page (the test module checks
    # that the files are gone)
    b.go(f"domain/{q(DOMAIN)}/mailbox/{MAILBOX}")
    b.css("main form button.danger").click()
    b.css("dialog[open] input[name=purge]").click()
    b.css("dialog[open] button.danger").click()
    b.flash("deleted with its mail")
    st, _ = api.get(f"/api/domains/{q(DOMAIN)}/mailboxes/{MAILBOX}")
    assert st == 404, f"mailbox still there: {st}"
    for path in (f"/api/managers/{q(PM[0])}",
                 f"/api/domains/{q(DOMAIN)}/mailboxes/carol",
                 f"/api/domains/{q(DOMAIN)}/mailboxes/dave",
                 f"/api/domains/{q(DOMAIN)}"):
        st, doc = api.call("DELETE", path)
        assert st in (200, 202, 204), f"DELETE {path}: {st} {doc}"
    b.console("cleanup")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--smtp", type=int, required=True)
    ap.add_argument("--imap", type=int, required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--no-mail", action="store_true")
    args = ap.parse_args()
    fresh_artifacts(args.artifacts)
    api = Api(args.url.rstrip("/"))
    api.login(*ADMIN)
    b = Browser(args.url, args.artifacts)
    try:
        admin_flow(b, api, args)
        paging_flow(b, api)
        if not args.no_mail:
            mail_flow(args)
            self_service_flow(b, api, args)
            login(b, *ADMIN)
        screenshots(b, ADMIN_PAGES, "")
        postmaster_flow(b, args)
        logout(b)
        login(b, *ADMIN)
        cleanup(b, api)
        b.console("end")
    finally:
        b.quit()
    log_passed(args.artifacts)


if __name__ == "__main__":
    main()
