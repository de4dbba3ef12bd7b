"""youju-webadmin's JSON API (issue 11, DESIGN §10, docs/webadmin.md) over
real HTTP with urllib and raw sockets: manager login and the session
cookie, CSRF, roles (a postmaster is refused other domains), the domain
limits with the field named, bad JSON, request framing and size, API
tokens, the audit log, static files; and the end-to-end path: a mailbox
made through the API receives mail over SMTP and logs in over IMAP within
a second (youju-authd's caches are flushed), and is refused within a
second once disabled.

Tests run in order on the shared instance; each uses its own domain."""
import http.client
import imaplib
import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar

ROOT = ("root@extmail.org", "extmail*123*")


class Client:
    """One browser-like client: a cookie jar and the session's CSRF token."""

    def __init__(self, inst, ip=None):
        self.base = f"http://127.0.0.1:{inst.ports['webadmin']}"
        # failures count against the client address: tests that fail on
        # purpose come "from" their own address (X-Real-IP is believed
        # from loopback) so that they do not lock out the later tests
        self.ip = ip
        self.jar = CookieJar()
        self.op = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = None
        self.token = None

    def call(self, method, path, body=None, csrf=True, raw=None,
             headers=None):
        h = {"Content-Type": "application/json"}
        if csrf and self.csrf:
            h["X-CSRF-Token"] = self.csrf
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if self.ip:
            h["X-Real-IP"] = self.ip
        h.update(headers or {})
        data = raw if raw is not None else (
            json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method, headers=h)
        try:
            r = self.op.open(req, timeout=30)
            text = r.read()
            if not r.headers.get("Content-Type", "").startswith(
                    "application/json"):
                return r.status, text, r.headers
            return r.status, json.loads(text) if text else None, r.headers
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                j = json.loads(text) if text else None
            except ValueError:
                j = text
            return e.code, j, e.headers

    def login(self, user, password):
        st, j, h = self.call("POST", "/api/session",
                             {"user": user, "password": password})
        if st == 200:
            self.csrf = j["csrf"]
        return st, j, h


def root(inst):
    c = Client(inst)
    st, j, _ = c.login(*ROOT)
    assert st == 200, (st, j)
    return c


def ok(res, status=200):
    st, j, _ = res
    assert st == status, (st, j)
    return j


def err(res, status, field=None, code=None):
    st, j, _ = res
    assert st == status, (st, j)
    assert isinstance(j, dict) and "error" in j, j
    e = j["error"]
    assert e.get("code") and e.get("message"), e
    if field is not None:
        assert e.get("field") == field, e
    if code is not None:
        assert e["code"] == code, e
    return e


def raw_http(inst, data, timeout=10):
    s = socket.create_connection(("127.0.0.1", inst.ports["webadmin"]),
                                 timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                m = re.search(rb"(?i)content-length: *(\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    break
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    return out


def status_of(resp):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", resp)
    assert m, resp[:200]
    return int(m.group(1))


# ---- login, cookie, headers ---------------------------------------------

def test_login_cookie_and_headers(inst):
    c = Client(inst, ip="192.0.2.60")
    err(c.login("root@extmail.org", "wrong password"), 401,
        code="bad_login")
    err(c.login("nobody@extmail.org", "whatever1"), 401, code="bad_login")
    st, j, h = c.login(*ROOT)
    assert st == 200, j
    assert j["user"] == "root@extmail.org" and j["type"] == "admin"
    assert re.fullmatch(r"[0-9a-f]{64}", j["csrf"]), j
    cookie = h["Set-Cookie"]
    assert re.match(r"youju_webadmin=[0-9a-f]{64};", cookie), cookie
    flags = [f.strip().lower() for f in cookie.split(";")[1:]]
    assert "httponly" in flags and "samesite=strict" in flags, cookie
    assert "path=/" in flags, cookie
    assert "secure" not in flags, cookie  # plain HTTP on loopback
    assert "jsessionid" not in cookie.lower()
    csp = h["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer"
    # the session works, and ends with DELETE
    ok(c.call("GET", "/api/session"))
    ok(c.call("DELETE", "/api/session"))
    err(c.call("GET", "/api/domains"), 401)
    # the access log has the requests, and no cookie or password
    log = open(inst.path("log", "webadmin_access.log")).read()
    assert "POST /api/session 200" in log, log[-500:]
    assert "extmail*123*" not in log and j["csrf"] not in log
    assert cookie.split(";")[0].split("=")[1] not in log


def test_manager_disabled_or_expired(inst):
    c = root(inst)
    ok(c.call("POST", "/api/managers",
              {"username": "old@extmail.org", "password": "old-pass-1",
               "expiredate": "2001-01-01"}), 201)
    err(Client(inst).login("old@extmail.org", "old-pass-1"), 403,
        code="disabled")
    ok(c.call("PUT", "/api/managers/old@extmail.org",
              {"expiredate": "0000-00-00", "active": 0}))
    err(Client(inst).login("old@extmail.org", "old-pass-1"), 403)
    ok(c.call("PUT", "/api/managers/old@extmail.org", {"active": 1}))
    o = Client(inst)
    ok(o.login("old@extmail.org", "old-pass-1"))
    ok(o.call("GET", "/api/domains"))
    # disabling a manager ends its live session at the next request
    ok(c.call("PUT", "/api/managers/old@extmail.org", {"active": False}))
    err(o.call("GET", "/api/domains"), 401)
    ok(c.call("DELETE", "/api/managers/old@extmail.org"))


def test_csrf_and_session_required(inst):
    anon = Client(inst)
    err(anon.call("GET", "/api/domains"), 401)
    err(anon.call("POST", "/api/domains", {"domain": "csrf.test"}), 401)
    c = root(inst)
    err(c.call("POST", "/api/domains", {"domain": "csrf.test"},
               csrf=False), 403, code="csrf")
    err(c.call("POST", "/api/domains", {"domain": "csrf.test"},
               headers={"X-CSRF-Token": "0" * 64}), 403, code="csrf")
    err(c.call("DELETE", "/api/domains/extmail.org", csrf=False), 403,
        code="csrf")
    err(c.call("GET", "/api/domains/csrf.test"), 404)
    # a forged cookie is no session
    forged = Client(inst)
    err(forged.call("GET", "/api/domains",
                    headers={"Cookie": "youju_webadmin=" + "a" * 64}), 401)


# ---- the end-to-end path ------------------------------------------------

def imap_login(inst, user, password):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=15)
    try:
        m.login(user, password)
    except imaplib.IMAP4.error:
        m.shutdown()
        return None
    return m


def test_new_mailbox_gets_mail_and_logs_in_at_once(inst):
    c = root(inst)
    # asked for before it exists: authd caches "not found"
    assert imap_login(inst, "alice@flow.test", "alice-pass-1") is None
    ok(c.call("POST", "/api/domains",
              {"domain": "flow.test", "maxusers": 10,
               "maxquota": 100 * 1048576}), 201)
    mb = ok(c.call("POST", "/api/domains/flow.test/mailboxes",
                   {"uid": "alice", "password": "alice-pass-1",
                    "name": "Alice", "quota": 20 * 1048576}), 201)
    assert "password" not in mb and "clearpwd" not in mb
    assert mb["quota"] == 20 * 1048576 and mb["username"] == \
        "alice@flow.test"
    ok(c.call("POST", "/api/domains/flow.test/aliases",
              {"address": "sales@flow.test",
               "goto": ["alice@flow.test"]}), 201)
    m = imap_login(inst, "alice@flow.test", "alice-pass-1")
    # accepted at once: the console dropped authd's cached "not found"
    assert m is not None, "new mailbox refused over IMAP"
    m.logout()
    # the table keeps ExtMail's formats
    row = inst.sql("SELECT quota, password, clearpwd, maildir FROM mailbox "
                   "WHERE username='alice@flow.test'")[0]
    assert row[0] == "20971520S", row
    assert row[1].startswith("$6$") and row[2] == "", row
    assert row[3] == "flow.test/alice/Maildir/", row
    assert inst.sql("SELECT goto FROM alias WHERE "
                    "address='sales@flow.test'") == [("alice@flow.test",)]
    # mail to the mailbox and to the alias arrives
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.sendmail("sender@example.net", ["alice@flow.test"],
                   b"Subject: direct\r\n\r\nhello alice\r\n")
        s.sendmail("sender@example.net", ["sales@flow.test"],
                   b"Subject: via alias\r\n\r\nhello sales\r\n")
    deadline = time.time() + 20
    n = 0
    while time.time() < deadline:
        m = imap_login(inst, "alice@flow.test", "alice-pass-1")
        assert m is not None
        typ, data = m.select("INBOX")
        n = int(data[0])
        m.logout()
        if n >= 2:
            break
        time.sleep(0.2)
    assert n == 2, n
    # disabled: refused at once, with no wait for authd's positive cache
    # to expire (the console drops the cached entry)
    ok(c.call("PUT", "/api/domains/flow.test/mailboxes/alice",
              {"active": False}))
    assert imap_login(inst, "alice@flow.test", "alice-pass-1") is None
    ok(c.call("PUT", "/api/domains/flow.test/mailboxes/alice",
              {"active": True, "password": "alice-pass-2"}))
    assert imap_login(inst, "alice@flow.test", "alice-pass-1") is None
    m = imap_login(inst, "alice@flow.test", "alice-pass-2")
    assert m is not None
    m.logout()


def test_lists_search_and_paging(inst):
    c = root(inst)
    d = ok(c.call("GET", "/api/domains?q=flow"))
    assert d["total"] == 1 and d["items"][0]["domain"] == "flow.test"
    u = d["items"][0]["usage"]
    assert u == {"users": 1, "aliases": 1, "quota": 20 * 1048576,
                 "netdiskquota": 5242880}, u
    one = ok(c.call("GET", "/api/domains/flow.test"))
    assert one["maxquota"] == 100 * 1048576 and one["maxusers"] == 10
    lst = ok(c.call("GET", "/api/domains/flow.test/mailboxes?q=ali&page=1"))
    assert lst["total"] == 1 and lst["page_size"] == 50
    assert lst["items"][0]["name"] == "Alice"
    assert "password" not in lst["items"][0]
    assert ok(c.call("GET", "/api/domains/flow.test/mailboxes?q=zzz")
              )["total"] == 0
    assert ok(c.call("GET", "/api/domains/flow.test/mailboxes?page=2")
              )["items"] == []
    assert ok(c.call("GET", "/api/domains/flow.test/mailboxes?q=lic")
              )["total"] == 0  # q is a prefix of the address
    assert ok(c.call("GET", "/api/domains/flow.test/mailboxes?name=lic")
              )["total"] == 1  # name= a substring of the name
    # paging by key: 60 mailboxes in a domain, two pages
    ok(c.call("POST", "/api/domains", {"domain": "page.test",
                                       "maxquota": 0}), 201)
    inst.sql("INSERT INTO mailbox (username, uid, domain, maildir, quota) "
             "SELECT CONCAT('u', LPAD(seq, 3, '0'), '@page.test'), "
             "CONCAT('u', LPAD(seq, 3, '0')), 'page.test', '', '0' "
             "FROM seq_1_to_60")
    p1 = ok(c.call("GET", "/api/domains/page.test/mailboxes"))
    assert len(p1["items"]) == 50 and p1["next"] == "u050@page.test"
    p2 = ok(c.call("GET", "/api/domains/page.test/mailboxes?after="
                   + p1["next"]))
    assert [m["uid"] for m in p2["items"]] == \
        [f"u{i:03d}" for i in range(51, 61)] and p2["next"] is None
    p2b = ok(c.call("GET", "/api/domains/page.test/mailboxes?page=2"))
    assert p2b["items"] == p2["items"] and p2b["total"] == 60
    inst.sql("DELETE FROM mailbox WHERE domain = 'page.test'")
    ok(c.call("DELETE", "/api/domains/page.test"))
    err(c.call("GET", "/api/domains?page=0"), 400, field="page")
    # LIKE wildcards in q are literal
    assert ok(c.call("GET", "/api/domains?q=%25"))["total"] == 0
    al = ok(c.call("GET", "/api/domains/flow.test/aliases"))
    assert al["items"][0]["goto"] == ["alice@flow.test"]
    ok(c.call("GET", "/api/domains/flow.test/aliases/sales@flow.test"))
    err(c.call("GET", "/api/domains/flow.test/mailboxes/nobody"), 404)


def test_delete_mailbox_with_purge(inst):
    c = root(inst)
    mbs = "/api/domains/flow.test/mailboxes"
    for uid in ("keep", "purge"):
        ok(c.call("POST", mbs, {"uid": uid, "password": "pw-" + uid + "-123",
                                "quota": 1048576}), 201)
        with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
            s.sendmail("sender@example.net", [f"{uid}@flow.test"],
                       b"Subject: x\r\n\r\nbody\r\n")
    base = inst.path("mailbox", "flow.test")
    deadline = time.time() + 20
    while time.time() < deadline:
        if all(os.path.isdir(os.path.join(base, u, "Maildir", "new")) and
               os.listdir(os.path.join(base, u, "Maildir", "new"))
               for u in ("keep", "purge")):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("mail not delivered")
    assert ok(c.call("DELETE", mbs + "/keep")) == {}
    assert os.path.isdir(os.path.join(base, "keep", "Maildir"))
    assert ok(c.call("DELETE", mbs + "/purge?purge=1")) == {"purged": True}
    assert not os.path.exists(os.path.join(base, "purge"))
    deadline = time.time() + 10
    while any(n.startswith(".purge-") for n in
              os.listdir(inst.path("mailbox"))):
        assert time.time() < deadline, os.listdir(inst.path("mailbox"))
        time.sleep(0.1)
    assert imap_login(inst, "purge@flow.test", "pw-purge-123") is None


# ---- roles ---------------------------------------------------------------

def test_postmaster_only_its_domains(inst):
    c = root(inst)
    ok(c.call("POST", "/api/domains", {"domain": "pm-own.test"}), 201)
    ok(c.call("POST", "/api/domains", {"domain": "pm-other.test"}), 201)
    ok(c.call("POST", "/api/domains/pm-other.test/mailboxes",
              {"uid": "victim", "password": "victim-pass"}), 201)
    m = ok(c.call("POST", "/api/managers",
                  {"username": "pm@pm-own.test", "password": "pm-pass-12",
                   "type": "postmaster", "domains": ["pm-own.test"]}), 201)
    assert m["domains"] == ["pm-own.test"] and "password" not in m
    pm = Client(inst)
    j = ok(pm.login("pm@pm-own.test", "pm-pass-12"))
    assert j["type"] == "postmaster" and j["domains"] == ["pm-own.test"]
    names = [d["domain"] for d in ok(pm.call("GET", "/api/domains"))["items"]]
    assert names == ["pm-own.test"], names
    # its own domain: mailboxes and aliases yes, the domain itself no
    ok(pm.call("POST", "/api/domains/pm-own.test/mailboxes",
               {"uid": "bob", "password": "bob-pass-12"}), 201)
    ok(pm.call("GET", "/api/domains/pm-own.test"))
    err(pm.call("PUT", "/api/domains/pm-own.test", {"maxusers": 999}), 403)
    err(pm.call("DELETE", "/api/domains/pm-own.test"), 403)
    err(pm.call("POST", "/api/domains", {"domain": "mine.test"}), 403)
    # another domain: 403 everywhere
    other = "/api/domains/pm-other.test"
    for method, path, body in [
            ("GET", other, None),
            ("GET", other + "/mailboxes", None),
            ("GET", other + "/mailboxes/victim", None),
            ("PUT", other + "/mailboxes/victim", {"password": "owned-123"}),
            ("DELETE", other + "/mailboxes/victim", None),
            ("POST", other + "/mailboxes", {"uid": "x", "password": "x" * 9}),
            ("GET", other + "/aliases", None),
            ("POST", other + "/aliases", {"address": "a", "goto": ["a@b.c"]}),
            ("GET", "/api/domains/PM-OWN.test/mailboxes", None),
            ("GET", "/api/domains/pm-own.test%20/mailboxes", None),
            ("GET", "/api/managers", None),
            ("POST", "/api/managers", {"username": "x@y.z", "password": "x" * 9}),
            ("PUT", "/api/managers/pm@pm-own.test", {"type": "admin"}),
    ]:
        err(pm.call(method, path, body), 403)
    assert inst.sql("SELECT active FROM mailbox WHERE "
                    "username='victim@pm-other.test'") == [("1",)]
    # a postmaster cannot allow a service the domain disables
    ok(c.call("PUT", "/api/domains/pm-own.test", {"disablepop3": 1}))
    nb = ok(pm.call("POST", "/api/domains/pm-own.test/mailboxes",
                    {"uid": "carol", "password": "carol-pass"}), 201)
    assert nb["disablepop3"] == 1
    err(pm.call("PUT", "/api/domains/pm-own.test/mailboxes/carol",
                {"disablepop3": 0}), 422, field="disablepop3")
    # the audit log: the postmaster sees its domain's rows only
    a = ok(pm.call("GET", "/api/audit"))
    assert a["total"] > 0
    assert all(r["domain"] == "pm-own.test" for r in a["items"]), a


def test_managers_rules(inst):
    c = root(inst)
    err(c.call("DELETE", "/api/managers/root@extmail.org"), 409, code="self")
    err(c.call("PUT", "/api/managers/root@extmail.org", {"active": 0}), 409)
    err(c.call("POST", "/api/managers",
               {"username": "x@pm-own.test", "password": "short"}), 400,
        field="password")
    err(c.call("POST", "/api/managers",
               {"username": "y@pm-own.test", "password": "long-enough",
                "type": "god"}), 400, field="type")
    err(c.call("POST", "/api/managers",
               {"username": "z@pm-own.test", "password": "long-enough",
                "domains": ["no-such.test"]}), 400, field="domains")
    assert inst.sql("SELECT COUNT(*) FROM manager WHERE username LIKE "
                    "'%@pm-own.test' AND username <> 'pm@pm-own.test'") == \
        [("0",)]  # nothing half-written
    err(c.call("POST", "/api/managers",
               {"username": "pm@pm-own.test", "password": "long-enough"}),
        409)
    one = ok(c.call("GET", "/api/managers/pm@pm-own.test"))
    assert one["domains"] == ["pm-own.test"]
    # own password change
    pm = Client(inst)
    ok(pm.login("pm@pm-own.test", "pm-pass-12"))
    err(pm.call("PUT", "/api/password", {"old": "wrong-one", "new": "pm-pass-34"}),
        403, field="old")
    ok(pm.call("PUT", "/api/password", {"old": "pm-pass-12", "new": "pm-pass-34"}))
    ok(Client(inst).login("pm@pm-own.test", "pm-pass-34"))


# ---- limits and validation ------------------------------------------------

def test_domain_limits_name_the_field(inst):
    c = root(inst)
    ok(c.call("POST", "/api/domains",
              {"domain": "lim.test", "maxusers": 2, "maxalias": 1,
               "maxquota": 30 * 1048576, "maxnetdiskquota": 10 * 1048576,
               "expiredate": "2030-01-01"}), 201)
    mb = "/api/domains/lim.test/mailboxes"
    ok(c.call("POST", mb, {"uid": "a", "password": "a-pass-123",
                           "quota": 20 * 1048576, "netdiskquota": 1}), 201)
    err(c.call("POST", mb, {"uid": "b", "password": "b-pass-123",
                            "quota": 11 * 1048576}), 422, field="quota")
    err(c.call("POST", mb, {"uid": "b", "password": "b-pass-123",
                            "quota": 0}), 422, field="quota")
    err(c.call("POST", mb, {"uid": "b", "password": "b-pass-123",
                            "quota": 1048576,
                            "netdiskquota": 10 * 1048576}), 422,
        field="netdiskquota")
    err(c.call("POST", mb, {"uid": "b", "password": "b-pass-123",
                            "quota": 1048576,
                            "expiredate": "2031-01-01"}), 422,
        field="expiredate")
    b = ok(c.call("POST", mb, {"uid": "b", "password": "b-pass-123",
                               "quota": 1048576, "netdiskquota": 1}), 201)
    assert b["expiredate"] <= "2030-01-01", b
    err(c.call("POST", mb, {"uid": "c", "password": "c-pass-123",
                            "quota": 1, "netdiskquota": 1}), 422,
        field="maxusers")
    # raising a quota past the domain's sum is refused; lowering is fine
    err(c.call("PUT", mb + "/b", {"quota": 11 * 1048576}), 422,
        field="quota")
    ok(c.call("PUT", mb + "/a", {"quota": 10 * 1048576}))
    al = "/api/domains/lim.test/aliases"
    ok(c.call("POST", al, {"address": "x", "goto": "a@lim.test\nb@lim.test"}),
       201)
    err(c.call("POST", al, {"address": "y", "goto": ["a@lim.test"]}), 422,
        field="maxalias")
    assert inst.sql("SELECT goto FROM alias WHERE address='x@lim.test'") == \
        [("a@lim.test,b@lim.test",)]
    # field validation, each naming its field
    for body, field in [
            ({"uid": "Bad Name", "password": "p-pass-123"}, "uid"),
            ({"uid": "d", "password": "p-pass-123", "quota": -1}, "quota"),
            ({"uid": "d", "password": "p-pass-123", "quota": "10"}, "quota"),
            ({"uid": "d", "password": "p-pass-123",
              "expiredate": "2020-02-30"}, "expiredate"),
            ({"uid": "d", "password": "p-pass-123", "active": "yes"},
             "active"),
            ({"uid": "d", "password": "p-pass-123", "clearpwd": "x"},
             "clearpwd"),
            ({"uid": "d", "password": "p-pass-123", "bogus": 1}, "bogus"),
            ({"uid": "d", "password": "p-pass-123", "name": "a\nb"}, "name"),
            ({"uid": "d"}, "password"),
    ]:
        err(c.call("POST", mb, body), 400, field=field)
    err(c.call("POST", al, {"address": "z@other.test", "goto": ["a@b.c"]}),
        400, field="address")
    err(c.call("POST", al, {"address": "z", "goto": ["not an address"]}),
        400, field="goto")
    err(c.call("POST", "/api/domains", {"domain": "x.test", "maxusers": -1}),
        400, field="maxusers")
    err(c.call("POST", "/api/domains",
               {"domain": "x.test", "default_expire": "forever"}),
        400, field="default_expire")
    err(c.call("POST", "/api/domains", {"domain": "-x.test"}), 400,
        field="domain")
    err(c.call("POST", "/api/domains", {"domain": "lim.test"}), 409)
    # catch-all alias
    ok(c.call("DELETE", al + "/x@lim.test"))
    ca = ok(c.call("POST", al, {"address": "@lim.test",
                                "goto": ["a@lim.test"]}), 201)
    assert ca["address"] == "@lim.test"


def test_domain_delete_only_when_empty(inst):
    c = root(inst)
    err(c.call("DELETE", "/api/domains/lim.test"), 409, code="not_empty")
    ok(c.call("DELETE", "/api/domains/lim.test/aliases/@lim.test"))
    ok(c.call("DELETE", "/api/domains/lim.test/mailboxes/a"))
    err(c.call("DELETE", "/api/domains/lim.test"), 409)
    ok(c.call("DELETE", "/api/domains/lim.test/mailboxes/b"))
    ok(c.call("DELETE", "/api/domains/lim.test"))
    err(c.call("GET", "/api/domains/lim.test"), 404)
    acts = [r["action"] for r in
            ok(c.call("GET", "/api/audit?domain=lim.test"))["items"]]
    assert acts[0] == "domain.delete" and "mailbox.delete" in acts, acts
    # no password hash in any audit row
    text = json.dumps(ok(c.call("GET", "/api/audit")))
    assert "$6$" not in text and "\"password\":" not in text


def test_csv_import_and_export(inst):
    c = root(inst)
    ok(c.call("POST", "/api/domains",
              {"domain": "csv.test", "maxusers": 1500, "maxalias": 3,
               "maxnetdiskquota": 0,
               "maxquota": 0}), 201)
    imp = "/api/domains/csv.test/import?type=mailboxes"
    csv_h = {"Content-Type": "text/csv"}
    bad = ("uid,password,name,quota\r\n"
           "ann,ann-pass-1,Ann,1048576\r\n"
           "Bad Name,xx-pass-12,X,1\r\n"
           "bob,short,Bob,1\r\n"
           "cat,cat-pass-1,Cat,lots\r\n"
           "ann,ann-pass-2,Ann again,1\r\n"
           "dan,dan-pass-1\r\n")
    for dry in ("&dry_run=1", ""):
        st, j, _ = c.call("POST", imp + dry, raw=bad.encode(), headers=csv_h)
        assert st == (200 if dry else 422), (st, j)
        assert j["dry_run"] == bool(dry) and j["imported"] == 0
        lines = {(e["line"], e["field"]) for e in j["errors"]}
        assert lines == {(3, "uid"), (4, "password"), (5, "quota"),
                         (6, "uid"), (7, None)}, j["errors"]
        assert j["rows"] == 6
    assert inst.sql("SELECT COUNT(*) FROM mailbox WHERE domain='csv.test'") \
        == [("0",)]  # nothing written
    # a good file: clear passwords and ExtMail hashes, 1,000 rows
    rows = ["uid,password,name,quota,disableimap"]
    rows.append("ann,ann-pass-1,\"Ann, A.\",1048576,0")
    md5 = "$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0"  # "extmail"
    rows += [f"u{i:04d},{md5},User {i},0,1" for i in range(999)]
    st, j, _ = c.call("POST", imp + "&dry_run=1",
                      raw="\n".join(rows).encode(), headers=csv_h)
    assert st == 200 and j["valid"] == 1000 and j["error_count"] == 0, j
    assert inst.sql("SELECT COUNT(*) FROM mailbox WHERE domain='csv.test'") \
        == [("0",)]
    st, j, _ = c.call("POST", imp, raw="\n".join(rows).encode(),
                      headers=csv_h)
    assert st == 200 and j["imported"] == 1000, j
    assert inst.sql("SELECT name, quota, password LIKE '$6$%' FROM mailbox "
                    "WHERE username='ann@csv.test'") == \
        [("Ann, A.", "1048576S", "1")]
    assert inst.sql("SELECT password, disableimap FROM mailbox WHERE "
                    "username='u0007@csv.test'") == [(md5, "1")]
    m = imap_login(inst, "ann@csv.test", "ann-pass-1")
    assert m is not None
    m.logout()
    # again: every row exists now, nothing is written twice
    st, j, _ = c.call("POST", imp, raw="\n".join(rows[:3]).encode(),
                      headers=csv_h)
    assert st == 422 and j["error_count"] == 2, j
    # export: the same rows back, quotas in bytes, formula-safe
    st, body, h = c.call("GET", "/api/domains/csv.test/export?type=mailboxes")
    assert st == 200, st
    assert h["Content-Type"].startswith("text/csv")
    assert "attachment" in h["Content-Disposition"]
    # aliases: import then export, a catch-all survives the round trip
    aimp = "/api/domains/csv.test/import?type=aliases"
    st, j, _ = c.call("POST", aimp, raw=(
        "address,goto\nsales,\"ann@csv.test,u0001@csv.test\"\n"
        "@csv.test,ann@csv.test\n").encode(), headers=csv_h)
    assert st == 200 and j["imported"] == 2, j
    st, j, _ = c.call("POST", aimp, raw=(
        "address,goto\nx1,ann@csv.test\nx2,ann@csv.test\n").encode(),
        headers=csv_h)
    assert st == 422 and j["errors"][0]["field"] == "maxalias", j
    st, j, _ = c.call("POST", aimp, raw=b"address,goto\n\"x,y\n",
                      headers=csv_h)
    assert st == 400 and j["error"]["code"] == "bad_csv", j
    req = urllib.request.Request(
        c.base + "/api/domains/csv.test/export?type=aliases",
        headers={"X-CSRF-Token": c.csrf})
    text = c.op.open(req).read().decode()
    assert text.splitlines()[0] == "address,goto,active", text
    assert "\"'@csv.test\",ann@csv.test,1" in text, text
    st, j, _ = c.call("DELETE", "/api/domains/csv.test/aliases/@csv.test")
    assert st == 200
    st, j, _ = c.call("POST", aimp, raw=text.encode(), headers=csv_h)
    assert st == 422  # sales exists; the catch-all alone comes back:
    st, j, _ = c.call("POST", aimp, raw=("address,goto,active\r\n" +
                                         text.splitlines()[1] + "\r\n"
                                         ).encode(), headers=csv_h)
    assert st == 200, j
    assert inst.sql("SELECT goto FROM alias WHERE address='@csv.test'") == \
        [("ann@csv.test",)]
    # a postmaster of another domain cannot import here
    pm = Client(inst)
    ok(pm.login("pm@pm-own.test", "pm-pass-34"))
    err(pm.call("POST", imp, raw=b"uid,password\nzed,zed-pass-1\n",
                headers=csv_h), 403)
    err(pm.call("GET", "/api/domains/csv.test/export?type=mailboxes"), 403)


def test_mailbox_self_service(inst):
    c = root(inst)
    ok(c.call("POST", "/api/domains", {"domain": "self.test"}), 201)
    ok(c.call("POST", "/api/domains/self.test/mailboxes",
              {"uid": "sam", "password": "sam-pass-1",
               "question": "pet?", "answer": "Rex"}), 201)
    anon = Client(inst, ip="192.0.2.61")
    # JSON only: a cross-site form cannot post here
    err(anon.call("POST", "/api/self/password",
                  raw=b"user=sam@self.test&old=sam-pass-1&new=x",
                  headers={"Content-Type":
                           "application/x-www-form-urlencoded"}), 415)
    err(anon.call("POST", "/api/self/password",
                  {"user": "sam@self.test", "old": "wrong-pass",
                   "new": "sam-pass-2"}), 403, code="refused")
    ok(anon.call("POST", "/api/self/password",
                 {"user": "Sam@self.test", "old": "sam-pass-1",
                  "new": "sam-pass-2"}))
    m = imap_login(inst, "sam@self.test", "sam-pass-2")
    assert m is not None
    m.logout()
    # forgotten password: the question, then the answer (exact)
    q = ok(anon.call("POST", "/api/self/question", {"user": "sam@self.test"}))
    assert q == {"question": "pet?"}
    err(anon.call("POST", "/api/self/reset",
                  {"user": "sam@self.test", "answer": "rex",
                   "new": "sam-pass-3"}), 403)
    ok(anon.call("POST", "/api/self/reset",
                 {"user": "sam@self.test", "answer": "Rex",
                  "new": "sam-pass-3"}))
    assert imap_login(inst, "sam@self.test", "sam-pass-2") is None
    m = imap_login(inst, "sam@self.test", "sam-pass-3")
    assert m is not None
    m.logout()
    # refused with disablepwdchange, also for a right answer
    ok(c.call("PUT", "/api/domains/self.test/mailboxes/sam",
              {"disablepwdchange": 1}))
    err(anon.call("POST", "/api/self/question", {"user": "sam@self.test"}),
        403)
    err(anon.call("POST", "/api/self/reset",
                  {"user": "sam@self.test", "answer": "Rex",
                   "new": "sam-pass-4"}), 403)
    err(anon.call("POST", "/api/self/password",
                  {"user": "sam@self.test", "old": "sam-pass-3",
                   "new": "sam-pass-4"}), 403)
    # the answer is never shown by the API, the audit has the changes
    mb = ok(c.call("GET", "/api/domains/self.test/mailboxes/sam"))
    assert "answer" not in mb and mb["question"] == "pet?"
    acts = [r["action"] for r in
            ok(c.call("GET", "/api/audit?domain=self.test"))["items"]]
    assert "mailbox.self_reset" in acts and "mailbox.self_password" in acts
    # signup: off by default (webadmin_signup = no), even with can_signup
    ok(c.call("PUT", "/api/domains/self.test", {"can_signup": 1}))
    err(anon.call("POST", "/api/self/signup",
                  {"user": "new@self.test", "password": "new-pass-1"}), 403,
        code="disabled")
    assert inst.sql("SELECT COUNT(*) FROM mailbox WHERE "
                    "username='new@self.test'") == [("0",)]


def test_group_mail(inst):
    c = root(inst)
    ok(c.call("POST", "/api/domains", {"domain": "gm.test"}), 201)
    for uid in ("gm1", "gm2", "gmoff"):
        ok(c.call("POST", "/api/domains/gm.test/mailboxes",
                  {"uid": uid, "password": "gm-pass-123",
                   "active": uid != "gmoff"}), 201)
    j = ok(c.call("POST", "/api/groupmail",
                  {"domains": ["gm.test"], "subject": "Notice 通知",
                   "text": "line one\n.starts with a dot\nend"}), 202)
    assert j == {"recipients": 2}, j
    base = inst.path("mailbox", "gm.test")
    deadline = time.time() + 30
    got = {}
    while time.time() < deadline and len(got) < 2:
        for u in ("gm1", "gm2"):
            d = os.path.join(base, u, "Maildir", "new")
            if os.path.isdir(d) and os.listdir(d):
                with open(os.path.join(d, os.listdir(d)[0]), "rb") as f:
                    got[u] = f.read()
        time.sleep(0.2)
    assert set(got) == {"gm1", "gm2"}, got.keys()
    msg = got["gm1"]
    assert b"To: undisclosed-recipients:;" in msg
    assert b"=?UTF-8?B?" in msg and b"gm2@gm.test" not in msg
    assert b"\r\n.starts with a dot\r\n" in msg or \
        b"\n.starts with a dot\n" in msg
    assert not os.path.exists(os.path.join(base, "gmoff", "Maildir", "new")) \
        or not os.listdir(os.path.join(base, "gmoff", "Maildir", "new"))
    # a postmaster: only its own domains
    pm = Client(inst)
    ok(pm.login("pm@pm-own.test", "pm-pass-34"))
    err(pm.call("POST", "/api/groupmail",
                {"domains": ["gm.test"], "subject": "x", "text": "y"}), 403)
    err(c.call("POST", "/api/groupmail", {"domains": [], "subject": "x",
                                          "text": "y"}), 400,
        field="domains")


def test_cli_goes_through_the_same_rules(inst):
    r = inst.youju("domain", "add", "cli.test", "maxusers=1",
                   "maxquota=100M")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["maxquota"] == 100 * 1048576
    r = inst.youju("user", "add", "bob@cli.test", "password=bob-pass-1",
                   "quota=10M", "name=Bob B")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["name"] == "Bob B"
    # the console's limits, with the field named
    r = inst.youju("user", "add", "amy@cli.test", "password=amy-pass-1",
                   "quota=1M")
    assert r.returncode == 1 and "maxusers" in r.stderr, r.stderr
    r = inst.youju("user", "add", "x@cli.test", "password=short")
    assert r.returncode == 1 and '"field":"password"' in r.stderr
    r = inst.youju("alias", "add", "sales@cli.test", "goto=bob@cli.test")
    assert r.returncode == 0, r.stderr
    m = imap_login(inst, "bob@cli.test", "bob-pass-1")
    assert m is not None
    m.logout()
    r = inst.youju("domain", "del", "cli.test")
    assert r.returncode == 1 and "not_empty" in r.stderr
    r = inst.youju("user", "export", "cli.test")
    assert r.returncode == 0 and "bob@cli.test,bob,Bob B," in r.stdout
    # the audit log names the command line
    c = root(inst)
    rows = ok(c.call("GET", "/api/audit?domain=cli.test"))["items"]
    assert {x["username"] for x in rows} == {"youju-cli"}, rows
    for args in (("alias", "del", "sales@cli.test"),
                 ("user", "del", "bob@cli.test", "purge"),
                 ("domain", "del", "cli.test")):
        r = inst.youju(*args)
        assert r.returncode == 0, (args, r.stderr)
    assert inst.youju("domain").returncode == 2
    # the token file is the daemon's owner's alone
    st = os.stat(inst.path("etc", "secrets", "webadmin-cli-token"))
    assert st.st_mode & 0o077 == 0


# ---- request handling -------------------------------------------------------

def test_bad_json_refused(inst):
    c = root(inst)
    for raw in [b"{", b"[]", b"\"x\"", b"{\"domain\": \"a.test\",}",
                b"{\"domain\": \"a.test\", \"domain\": \"b.test\"}",
                b"{\"domain\": \"\xff\xfe.test\"}",
                b"{\"domain\": \"a\\u0000.test\"}",
                b"{\"a\":" * 40 + b"1" + b"}" * 40, b""]:
        e = err(c.call("POST", "/api/domains", raw=raw), 400)
        assert e["code"] in ("bad_json", "invalid"), e
    assert inst.sql("SELECT COUNT(*) FROM domain WHERE domain IN "
                    "('a.test','b.test')") == [("0",)]


def test_framing_and_size_limits(inst):
    c = root(inst)
    port = inst.ports["webadmin"]
    # chunked and Content-Length together: request smuggling shape
    body = b"5\r\nhello\r\n0\r\n\r\n"
    resp = raw_http(inst, b"POST /api/session HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"
                    b"\r\n" + body)
    assert status_of(resp) == 400, resp[:300]
    # a body over webadmin_body_limit (1 MiB): 413, by Content-Length...
    big = b"{\"user\": \"" + b"a" * (1024 * 1024 + 10) + b"\"}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/api/session", body=big,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        assert r.status == 413, r.status
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may close before reading it all
    conn.close()
    # ...and by counting a chunked body
    chunk = b"a" * 65536
    data = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n"
                    for _ in range(20)) + b"0\r\n\r\n"
    resp = raw_http(inst, b"POST /api/session HTTP/1.1\r\nHost: x\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n" + data)
    assert status_of(resp) == 413, resp[:300]
    # oversized headers are refused by the connection memory limit
    resp = raw_http(inst, b"GET /api/domains HTTP/1.1\r\nHost: x\r\n"
                    b"X-Junk: " + b"j" * 100000 + b"\r\n\r\n")
    assert resp == b"" or status_of(resp) in (400, 413, 431), resp[:200]
    # unknown endpoint and method
    err(c.call("GET", "/api/nothing"), 404)
    err(c.call("PATCH", "/api/domains"), 405)
    # the daemon is still fine
    ok(c.call("GET", "/api/domains"))


def test_api_token(inst):
    c = root(inst)
    t = ok(c.call("POST", "/api/tokens", {"name": "script"}), 201)
    assert re.fullmatch(r"[0-9a-f]{64}", t["token"])
    assert inst.sql("SELECT COUNT(*) FROM youju_api_token WHERE "
                    f"token_hash = SHA2('{t['token']}', 256)") == [("1",)]
    assert inst.sql("SELECT COUNT(*) FROM youju_api_token WHERE "
                    f"token_hash = '{t['token']}'") == [("0",)]
    s = Client(inst)
    s.token = t["token"]
    # no cookie, no CSRF header: the token is enough
    ok(s.call("POST", "/api/domains", {"domain": "token.test"}), 201)
    ok(s.call("DELETE", "/api/domains/token.test"))
    lst = ok(c.call("GET", "/api/tokens"))["items"]
    assert any(x["id"] == t["id"] and x["lastused"] for x in lst), lst
    assert "token" not in json.dumps(lst).replace("\"name\"", "")
    ok(c.call("DELETE", f"/api/tokens/{t['id']}"))
    err(s.call("GET", "/api/domains"), 401)
    bad = Client(inst)
    bad.token = "0" * 64
    err(bad.call("GET", "/api/domains"), 401)
    # a postmaster's token carries the postmaster's limits
    pm = Client(inst)
    ok(pm.login("pm@pm-own.test", "pm-pass-34"))
    pt = ok(pm.call("POST", "/api/tokens", {"name": "pm"}), 201)
    s2 = Client(inst)
    s2.token = pt["token"]
    err(s2.call("GET", "/api/domains/pm-other.test/mailboxes"), 403)
    ok(s2.call("GET", "/api/domains/pm-own.test/mailboxes"))


def test_extman_redirect_and_status(inst):
    for path in ("/extman", "/extman/", "/extman/cgi/index.cgi"):
        resp = raw_http(inst, f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n".encode())
        assert status_of(resp) == 301, resp[:200]
        assert re.search(rb"(?im)^location: /\r$", resp), resp[:300]
    c = root(inst)
    st = ok(c.call("GET", "/api/status"))
    names = {d["name"]: d["running"] for d in st["daemons"]}
    assert names["youju-authd"] and names["youju-webadmin"], names
    assert st["database"] == "up" and st["domains"] >= 1
    # Prometheus text format, for the admin (a token or a session)
    t = ok(c.call("POST", "/api/tokens", {"name": "prometheus"}), 201)
    req = urllib.request.Request(c.base + "/metrics", headers={
        "Authorization": "Bearer " + t["token"]})
    r = urllib.request.urlopen(req, timeout=10)
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = r.read().decode()
    assert 'youju_up{daemon="youju-authd"} 1' in text, text
    assert 'youju_up{daemon="youju-mailgraph"} 1' in text, text
    assert re.search(r"(?m)^youju_domains [1-9]", text), text
    assert re.search(r'(?m)^youju_queue_messages\{queue="active"\} \d+$',
                     text), text
    anon = urllib.request.Request(c.base + "/metrics")
    try:
        urllib.request.urlopen(anon, timeout=10)
        raise AssertionError("metrics without credentials")
    except urllib.error.HTTPError as e:
        assert e.code == 401


def test_proxy_headers_from_loopback(inst):
    c = root(inst)
    # through nginx on the same host: the scheme and address headers count
    st, j, h = c.call("POST", "/api/session",
                      {"user": ROOT[0], "password": ROOT[1]},
                      headers={"X-Forwarded-Proto": "https",
                               "X-Real-IP": "192.0.2.99"})
    assert st == 200 and "; Secure" in h["Set-Cookie"], h["Set-Cookie"]
    c.csrf = j["csrf"]
    assert re.search(r"login: user=<root@extmail.org>, rip=192\.0\.2\.99",
                     inst.maillog())
    # a bad address is ignored
    st, j, h = Client(inst).call("POST", "/api/session",
                                 {"user": ROOT[0], "password": ROOT[1]},
                                 headers={"X-Real-IP": "1.2.3.4; drop"})
    assert st == 200
    log = inst.maillog()
    assert "1.2.3.4; drop" not in log


def test_login_throttled(inst):
    c = root(inst)
    ok(c.call("POST", "/api/managers",
              {"username": "thr@pm-own.test", "password": "thr-pass-12"}),
       201)
    x = Client(inst, ip="192.0.2.62")
    for _ in range(10):
        err(x.login("thr@pm-own.test", "wrong-pass"), 401)
    # locked: even the right password is refused for now, from anywhere
    err(x.login("thr@pm-own.test", "thr-pass-12"), 429, code="throttled")
    err(Client(inst, ip="192.0.2.63").login("thr@pm-own.test",
                                            "thr-pass-12"), 429)
    ok(c.call("DELETE", "/api/managers/thr@pm-own.test"))
    # one address guessing many accounts: locked after 30 failures
    y = Client(inst, ip="192.0.2.64")
    for i in range(30):
        err(y.login(f"guess{i}@pm-own.test", "wrong-pass"), 401)
    err(y.login(*ROOT), 429)
    ok(Client(inst, ip="192.0.2.65").login(*ROOT))
    assert re.search(r"login throttled: user=<root@extmail.org>, "
                     r"rip=192\.0\.2\.64", inst.maillog())


# ---- a second daemon with its own settings ---------------------------------

import contextlib  # noqa: E402


@contextlib.contextmanager
def extra_webadmin(inst, tmp, extra):
    """A second youju-webadmin on its own port and run directory, with the
    instance's database and authd, plus the given youju.cf lines."""
    from harness import free_port
    run = os.path.join(tmp, "run")
    os.makedirs(run)
    os.chmod(tmp, 0o755)
    os.chmod(run, 0o777)
    port = free_port()
    conf = os.path.join(tmp, "youju.cf")
    with open(inst.conf_path) as f:
        text = f.read()
    text = re.sub(r"(?m)^webadmin_listen.*$", "", text)
    text += (f"\nwebadmin_listen = 127.0.0.1:{port}\nrun_directory = {run}\n"
             f"mysql_socket = {inst.mysql_socket}\n"
             f"authd_socket = {inst.authd_socket}\n"
             f"webadmin_access_log =\n" + extra)
    with open(conf, "w") as f:
        f.write(text)
    p = subprocess.Popen([inst.bin("youju-webadmin"), "-f", "-c", conf],
                         env=inst.env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                assert p.poll() is None, p.stderr.read()
                assert time.time() < deadline
                time.sleep(0.1)
        yield port
    finally:
        p.terminate()
        p.wait(timeout=15)


def test_tls_option(inst):
    import ssl
    tmp = tempfile.mkdtemp(prefix="youju-wa-tls-")
    try:
        with extra_webadmin(inst, tmp, "webadmin_tls = yes\n") as port:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection("127.0.0.1", port,
                                               timeout=15, context=ctx)
            conn.request("POST", "/api/session",
                         json.dumps({"user": ROOT[0], "password": ROOT[1]}),
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == 200, r.status
            cookie = r.getheader("Set-Cookie")
            assert "; Secure" in cookie and "HttpOnly" in cookie, cookie
            conn.close()
            # plain HTTP on the TLS port gets no HTTP answer
            resp = b""
            try:
                s = socket.create_connection(("127.0.0.1", port), 5)
                s.sendall(b"GET /api/session HTTP/1.1\r\nHost: x\r\n\r\n")
                s.settimeout(5)
                resp = s.recv(100)
                s.close()
            except OSError:
                pass
            assert not resp.startswith(b"HTTP/1.1 401"), resp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- static files (own daemon on its own port and document root) ---------

def test_static_files(inst):
    tmp = tempfile.mkdtemp(prefix="youju-wa-static-")
    try:
        root_dir = os.path.join(tmp, "htdocs")
        os.makedirs(os.path.join(root_dir, "js"))
        with open(os.path.join(root_dir, "index.html"), "w") as f:
            f.write("<!doctype html><title>t</title>")
        with open(os.path.join(root_dir, "js", "app.js"), "w") as f:
            f.write("export {};\n")
        with open(os.path.join(tmp, "secret.txt"), "w") as f:
            f.write("outside")
        os.symlink(os.path.join(tmp, "secret.txt"),
                   os.path.join(root_dir, "link.txt"))
        with open(os.path.join(root_dir, ".hidden"), "w") as f:
            f.write("h")
        with extra_webadmin(inst, tmp,
                            f"webadmin_htdocs = {root_dir}\n") as port:

            def get(path, headers=None):
                conn = http.client.HTTPConnection("127.0.0.1", port,
                                                  timeout=10)
                conn.request("GET", path, headers=headers or {})
                r = conn.getresponse()
                body = r.read()
                conn.close()
                return r, body

            r, body = get("/")
            assert r.status == 200 and body.startswith(b"<!doctype")
            assert r.getheader("Content-Type").startswith("text/html")
            etag = r.getheader("ETag")
            assert etag and r.getheader("Cache-Control") == "no-cache"
            assert "frame-ancestors 'none'" in \
                r.getheader("Content-Security-Policy")
            r, body = get("/index.html", {"If-None-Match": etag})
            assert r.status == 304 and body == b""
            r, body = get("/js/app.js")
            assert r.status == 200
            assert r.getheader("Content-Type").startswith("text/javascript")
            for bad in ("/../secret.txt", "/js/../../secret.txt",
                        "/link.txt", "/.hidden", "/js/", "/nothing.html",
                        "/%2e%2e/secret.txt", "/js//app.js"):
                r, body = get(bad)
                assert r.status == 404, (bad, r.status)
                assert b"outside" not in body
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
