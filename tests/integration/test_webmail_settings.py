"""youju-webmail's settings (issue 12, docs/webmail.md): the login's
penalty and its reasons, "bind my session to my IP", password change
through youju-authd's PASSWD, preferences (youju-webmail.cf, ExtMail's
user.cf and signature.cf read), the address book (CSV import/export,
ExtMail's abook.cf read), the domain directory (authd's LOOKUP directory)
and NetDisk (quota, disablenetdisk, no path escapes), over real HTTP."""
import csv
import imaplib
import io
import os
import threading

import harness
from test_imap_state import PASSWORD, maildir, user  # noqa: E402
from test_webmail_api import (Client, append, flush, imap, login_user,  # noqa: E402,E501
                              msg, ok, upload)


# POP3 fetch from this instance's own youju-mra on 127.0.0.1 (the
# address check itself is tests/unit/webmail/test_popfetch.c)
CONFIG = {"webmail_popfetch_allow_private": "yes"}


def authd(inst, request):
    return harness.unix_request(inst.authd_socket, request)


def put_file(c, name, data):
    st, j = upload(c, name, data)
    assert st == 200, (st, j)
    return j


def test_refusal_reason_needs_the_password(inst):
    addr = user(inst, "wmsreason")
    imap(inst, addr).logout()
    inst.sql(f"UPDATE mailbox SET disablewebmail=1 WHERE username='{addr}'")
    flush(inst, addr)
    # a guesser learns nothing about the account's state
    st, j, _ = Client(inst, ip="192.0.2.90").login(addr, "not-it")
    assert st == 401 and j["error"]["code"] == "bad_login", j
    st, j, _ = Client(inst, ip="192.0.2.94").login(addr)
    assert st == 403 and j["error"]["code"] == "disabled", j
    inst.sql(f"UPDATE mailbox SET disablewebmail=0, active=0 "
             f"WHERE username='{addr}'")
    flush(inst, addr)
    st, j, _ = Client(inst, ip="192.0.2.91").login(addr, "not-it")
    assert st == 401 and j["error"]["code"] == "bad_login", j
    st, j, _ = Client(inst, ip="192.0.2.95").login(addr)
    assert st == 403 and j["error"]["code"] == "deactive", j
    inst.sql(f"UPDATE mailbox SET active=1 WHERE username='{addr}'")
    flush(inst, addr)
    # on the wire: REASON only follows a right password, and only for
    # FAILDELAY=1 clients; courier's clients get exactly FAIL
    inst.sql(f"UPDATE mailbox SET disablewebmail=1 WHERE username='{addr}'")
    flush(inst, addr)

    def auth(pw, meta=b"FAILDELAY=1\n", ip=b"192.0.2.92"):
        body = f"webmail\nlogin\n{addr}\n{pw}\n".encode()
        return authd(inst, meta + b"TCPREMOTEIP=" + ip + b"\nAUTH %d\n"
                     % len(body) + body)
    r = auth(PASSWORD)
    assert r.startswith(b"FAIL\nDELAY=") and r.endswith(
        b"\nREASON=disabled\n"), r
    r = auth("wrong")
    assert r.startswith(b"FAIL\nDELAY=") and b"REASON" not in r, r
    assert auth(PASSWORD, b"", b"192.0.2.93") == b"FAIL\n"
    inst.sql(f"UPDATE mailbox SET disablewebmail=0 WHERE username='{addr}'")
    flush(inst, addr)


def test_failed_logins_hold_no_worker(inst):
    """Each failed login waits authd's penalty on lib/http's timer: with
    more failures in flight (5) than webmail_workers (4), a logged-in user's
    request is still answered before any of them.  Two earlier failures
    per address make each penalty 4 s, so a slow machine does not decide
    the order."""
    import re
    import time
    addr, m, c = login_user(inst, "wmspenalty")
    m.logout()
    ips = [f"192.0.2.{100 + i}" for i in range(5)]

    def bad(ip, out=None):
        st, j, _ = Client(inst, ip=ip).login(addr, "x")
        if out is not None:
            with lock:
                out.append(("bad", st))

    def failures(ip):
        return len(re.findall(rf"client={re.escape(ip)}, module=login, "
                              r"status=badlogin", inst.maillog()))

    lock = threading.Lock()
    warm = [threading.Thread(target=lambda ip=ip: (bad(ip), bad(ip)))
            for ip in ips]
    for t in warm:
        t.start()
    for t in warm:
        t.join()
    done = []
    ts = [threading.Thread(target=bad, args=(ip, done)) for ip in ips]
    for t in ts:
        t.start()
    # all five handlers have run (their log lines), their replies wait
    for ip in ips:
        for _ in range(300):
            if failures(ip) == 3:
                break
            time.sleep(0.05)
        assert failures(ip) == 3, ip
    st, j, _ = c.call("GET", "/api/session")
    with lock:
        done.append(("good", st))
    for t in ts:
        t.join()
    assert done.index(("good", 200)) == 0, done
    assert [d for d in done if d[0] == "bad"] == [("bad", 401)] * 5, done


def test_session_bound_to_ip(inst):
    addr = user(inst, "wmsbind")
    imap(inst, addr).logout()
    c = Client(inst, ip="192.0.2.120")
    st, j, _ = c.call("POST", "/api/session", {"user": addr,
                                               "password": PASSWORD,
                                               "bind_ip": True})
    assert st == 200 and j["bind_ip"] is True, j
    c.csrf = j["csrf"]
    ok(c.call("GET", "/api/session"))
    c.ip = "192.0.2.121"
    st, j, _ = c.call("GET", "/api/session")
    assert st == 401, (st, j)
    c.ip = "192.0.2.120"
    st, j, _ = c.call("GET", "/api/session")
    assert st == 401, (st, j)  # ended, not just refused
    # unbound: the address may change (a phone moving networks)
    c = Client(inst, ip="192.0.2.122")
    ok(c.login(addr))
    c.ip = "192.0.2.123"
    ok(c.call("GET", "/api/session"))


def test_password_change(inst):
    addr, m, c = login_user(inst, "wmspasswd")
    m.logout()
    other = Client(inst)
    ok(other.login(addr))
    st, j, _ = c.call("POST", "/api/password", {"old": PASSWORD,
                                                "new": "short"})
    assert st == 400 and j["error"]["code"] == "password_short", j
    st, j, _ = c.call("POST", "/api/password", {"old": "wrong-one",
                                                "new": "Long-enough-1"})
    assert st == 403 and j["error"]["code"] == "password_refused", j
    st, j, _ = c.call("POST", "/api/password", {"old": PASSWORD,
                                                "new": "Long-enough-1"},
                      csrf=False)
    assert st == 403 and j["error"]["code"] == "csrf", j
    j = ok(c.call("POST", "/api/password", {"old": PASSWORD,
                                            "new": "Long-enough-1"}))
    c.csrf = j["csrf"]
    ok(c.call("GET", "/api/session"))  # this browser carries on
    st, _, _ = other.call("GET", "/api/session")
    assert st == 401  # every other session ended
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=20)
    m.login(addr, "Long-enough-1")
    m.logout()
    with_old = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=20)
    try:
        with_old.login(addr, PASSWORD)
        raise AssertionError("the old password still works")
    except imaplib.IMAP4.error:
        pass
    # disablepwdchange: refused before authd is asked
    inst.sql(f"UPDATE mailbox SET disablepwdchange=1 WHERE "
             f"username='{addr}'")
    flush(inst, addr)
    st, j, _ = c.call("POST", "/api/password", {"old": "Long-enough-1",
                                                "new": "Another-one-2"})
    assert st == 403 and j["error"]["code"] == "pwchange_disabled", j
    inst.sql(f"UPDATE mailbox SET disablepwdchange=0, "
             f"password='{{PLAIN}}{PASSWORD}' WHERE username='{addr}'")
    flush(inst, addr)


def test_preferences(inst):
    addr, m, c = login_user(inst, "wmsprefs")
    md = maildir(inst, addr)
    p = ok(c.call("GET", "/api/prefs"))
    assert p["sort"] == "date" and p["delete_mode"] == "trash" and \
        p["page_size"] == 0 and p["prefer_html"] is True, p
    # ExtMail's files are read, never written
    with open(os.path.join(md, "user.cf"), "w") as f:
        f.write("nick_name = Old Nick\npage_size = 20\nlang = zh_CN\n"
                "sort = subject\nshow_html = 0\nbogus = 1\n")
    with open(os.path.join(md, "signature.cf"), "w") as f:
        f.write("-- \r\nExtMail signature\r\n")
    p = ok(c.call("GET", "/api/prefs"))
    assert p["name"] == "Old Nick" and p["page_size"] == 20 and \
        p["lang"] == "zh_CN" and p["sort"] == "subject" and \
        p["prefer_html"] is False, p
    assert p["signature"] == "-- \nExtMail signature\n", p
    # bad values are refused, each naming its field
    for k, v in (("page_size", 1000), ("page_size", 2), ("sort", "evil"),
                 ("lang", "fr_FR"), ("timezone", "../../etc/passwd"),
                 ("delete_mode", "shred"), ("name", "a\nb"),
                 ("signature", "x" * 5000), ("prefer_html", "yes")):
        st, j, _ = c.call("PUT", "/api/prefs", {k: v})
        assert st == 400 and j["error"]["field"] == k, (k, v, st, j)
    st, j, _ = c.call("PUT", "/api/prefs", {"nope": 1})
    assert st == 400, j
    st, j, _ = c.call("PUT", "/api/prefs", {"page_size": 5}, csrf=False)
    assert st == 403, j
    p = ok(c.call("PUT", "/api/prefs", {
        "name": "Wm Prefs", "page_size": 5, "timezone": "Asia/Shanghai",
        "sort": "from", "order": "asc", "delete_mode": "purge",
        "prefer_html": True, "lang": "en_US",
        "signature": "-- \nline one\nback\\slash"}))
    assert p["signature"] == "-- \nline one\nback\\slash", p
    text = open(os.path.join(md, "youju-webmail.cf")).read()
    assert "page_size = 5\n" in text and \
        "signature = -- \\nline one\\nback\\\\slash\n" in text, text
    assert oct(os.stat(os.path.join(md, "youju-webmail.cf")).st_mode
               & 0o777) == "0o600"
    assert "Old Nick" in open(os.path.join(md, "user.cf")).read()
    p = ok(c.call("GET", "/api/prefs"))
    assert p["name"] == "Wm Prefs" and p["delete_mode"] == "purge" and \
        p["timezone"] == "Asia/Shanghai", p
    # honoured: the page size, the display name, the delete mode
    for i in range(7):
        append(m, "INBOX", msg(f"pref {i}", "a@example.com",
                               "Fri, 05 Jun 2026 08:00:00 +0000"))
    r = ok(c.call("GET", "/api/messages", query={"folder": "INBOX"}))
    assert r["page_size"] == 5 and len(r["messages"]) == 5, r
    s = ok(c.call("GET", "/api/session"))
    assert s["name"] == "Wm Prefs" and s["page_size"] == 5, s
    uid = r["messages"][0]["uid"]
    j = ok(c.call("POST", "/api/delete", {"folder": "INBOX",
                                          "uids": [uid]}))
    assert j.get("expunged") == 1, j
    m.select("Trash")
    typ, d = m.uid("SEARCH", None, "ALL")
    assert d[0].split() == [], d
    m.logout()


def test_contacts_and_csv(inst):
    addr, m, c = login_user(inst, "wmsabook")
    m.logout()
    md = maildir(inst, addr)
    # ExtMail's abook.cf is read while youju has no book of its own
    with open(os.path.join(md, "abook.cf"), "w") as f:
        f.write("Zhang San,zhangsan@example.com,zs,ACME,123,Friends,\n")
    j = ok(c.call("GET", "/api/contacts"))
    assert [x["email"] for x in j["contacts"]] == ["zhangsan@example.com"] \
        and j["groups"] == ["Friends"], j
    a = ok(c.call("POST", "/api/contacts", {"name": "Bob",
                                            "email": "bob@example.com",
                                            "group": "Work",
                                            "notes": "two\nlines"}))
    assert len(a["id"]) == 16 and a["notes"] == "two\nlines", a
    st, j, _ = c.call("POST", "/api/contacts", {"email": "BOB@example.com"})
    assert st == 409 and j["error"]["code"] == "exists", j
    for bad in ({"email": "not an address"}, {"name": "x"},
                {"email": "a@b.c", "name": "a\x01b"},
                {"email": "a@b.c", "evil": 1}):
        st, j, _ = c.call("POST", "/api/contacts", bad)
        assert st == 400, (bad, st, j)
    st, j, _ = c.call("POST", "/api/contacts", {"email": "c@d.e"},
                      csrf=False)
    assert st == 403, j
    e = ok(c.call("PUT", f"/api/contacts/{a['id']}", {"phone": "555"}))
    assert e["phone"] == "555" and e["name"] == "Bob", e
    st, j, _ = c.call("PUT", "/api/contacts/0000000000000000", {"phone": 1})
    assert st in (400, 404), j
    # the file on disk is youju's own; abook.cf untouched
    assert os.path.exists(os.path.join(md, "youju-abook.json"))
    assert open(os.path.join(md, "abook.cf")).read().startswith("Zhang")
    # CSV import: Outlook's and Thunderbird's column names
    outlook = ('First Name,Last Name,E-mail Address,Company,Categories\r\n'
               'Ada,Lovelace,ada@example.com,"Analytical, Ltd",VIP\r\n'
               'No,Address,,x,y\r\n')
    j = ok(c.call("POST", "/api/contacts/import", {"csv": outlook}))
    assert j["added"] == 1, j
    tb = ('First Name,Last Name,Display Name,Nickname,Primary Email,'
          'Organization\n,,"Grace ""G"" Hopper",gh,grace@example.com,'
          'Navy\n,,Dup,,bob@example.com,\n')
    j = ok(c.call("POST", "/api/contacts/import", {"csv": tb}))
    assert j["added"] == 1, j
    byaddr = {x["email"]: x for x in
              ok(c.call("GET", "/api/contacts"))["contacts"]}
    assert byaddr["ada@example.com"]["name"] == "Ada Lovelace" and \
        byaddr["ada@example.com"]["company"] == "Analytical, Ltd"
    assert byaddr["grace@example.com"]["name"] == 'Grace "G" Hopper'
    # a formula planted in a contact is defused on export
    ok(c.call("POST", "/api/contacts", {"name": "=HYPERLINK(\"x\")",
                                        "email": "f@example.com"}))
    st, body, h = c.call("GET", "/api/contacts.csv")
    assert st == 200 and h["Content-Type"].startswith("text/csv") and \
        "attachment" in h["Content-Disposition"], h
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Name", "E-mail Address"], rows[0]
    names = {r[1]: r[0] for r in rows[1:]}
    assert names["f@example.com"].startswith("'="), names
    assert names["ada@example.com"] == "Ada Lovelace"
    ok(c.call("DELETE", f"/api/contacts/{a['id']}"))
    left = [x["email"] for x in ok(c.call("GET", "/api/contacts"))[
        "contacts"]]
    assert "bob@example.com" not in left and len(left) == 4, left
    # the guard undone on import: a contact named =SUM(1) with an
    # international phone number comes back as it was from its own export
    s = ok(c.call("POST", "/api/contacts", {"name": "=SUM(1)",
                                            "email": "sum@example.com",
                                            "phone": "+86 10 5555",
                                            "notes": "'quoted"}))
    st, body, _ = c.call("GET", "/api/contacts.csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    mine = [r for r in rows if r[1] == "sum@example.com"]
    assert mine and mine[0][0] == "'=SUM(1)" and \
        mine[0][4] == "'+86 10 5555", rows
    ok(c.call("DELETE", f"/api/contacts/{s['id']}"))
    j = ok(c.call("POST", "/api/contacts/import",
                  {"csv": body.decode("utf-8")}))
    assert j["added"] == 1, j
    back = {x["email"]: x for x in
            ok(c.call("GET", "/api/contacts"))["contacts"]}
    assert back["sum@example.com"]["name"] == "=SUM(1)" and \
        back["sum@example.com"]["phone"] == "+86 10 5555" and \
        back["sum@example.com"]["notes"] == "'quoted", back


def test_directory_own_domain_only(inst):
    addr, m, c = login_user(inst, "wmsdir")
    m.logout()
    gone = user(inst, "wmsdirgone")
    inst.sql(f"UPDATE mailbox SET active=0 WHERE username='{gone}'")
    inst.sql("INSERT IGNORE INTO domain (domain, active) "
             "VALUES ('other-dir.example', 1)")
    inst.sql("INSERT IGNORE INTO mailbox (username, uid, password, name, "
             "maildir, homedir, quota, domain, uidnumber, gidnumber, "
             "active) VALUES ('x@other-dir.example', 'x', '{PLAIN}x', "
             "'Other', 'other-dir.example/x/Maildir/', "
             "'other-dir.example/x', '0', 'other-dir.example', 1000, "
             "1000, 1)")
    flush(inst, "extmail.org")
    j = ok(c.call("GET", "/api/directory"))
    got = {e["address"]: e["name"] for e in j["entries"]}
    assert j["domain"] == "extmail.org" and got[addr] == "wmsdir", j
    assert gone not in got and "x@other-dir.example" not in got, got
    assert not j["truncated"]
    # the authd command itself: bounded, tri-state
    r = authd(inst, b"LOOKUP directory no-such-domain.example\n")
    assert r == b"FAIL\n", r
    r = authd(inst, b"LOOKUP directory extmail.org\n")
    assert r.endswith(b".\n") and f"ENTRY={addr} wmsdir\n".encode() in r


def test_netdisk(inst):
    addr, m, c = login_user(inst, "wmsdisk")
    m.logout()
    md = maildir(inst, addr)
    j = ok(c.call("GET", "/api/netdisk"))
    assert j["entries"] == [] and j["quota"]["max_bytes"] == 10485760, j
    assert os.path.isdir(os.path.join(md, "fileman"))
    ok(c.call("POST", "/api/netdisk", {"op": "mkdir", "name": "文档"}))
    data = bytes(range(256)) * 40
    up = put_file(c, "report.bin", data)
    ok(c.call("POST", "/api/netdisk", {"op": "save", "path": "文档",
                                       "id": up["id"]}))
    j = ok(c.call("GET", "/api/netdisk", query={"path": "文档"}))
    assert [(e["name"], e["size"]) for e in j["entries"]] == [
        ("report.bin", len(data))], j
    assert j["quota"]["bytes"] == len(data), j
    st, body, h = c.call("GET", "/api/netdisk/file",
                         query={"path": "文档/report.bin"})
    assert st == 200 and body == data and \
        h["Content-Type"] == "application/octet-stream" and \
        "attachment" in h["Content-Disposition"], h
    fs = open(os.path.join(md, "fileman", "filesize")).read()
    assert fs == f"10485760S\n{len(data)} 1\n", fs
    # rename and move; never over an existing name, never out
    ok(c.call("POST", "/api/netdisk", {"op": "mkdir", "name": "old"}))
    ok(c.call("POST", "/api/netdisk", {"op": "rename", "path": "old",
                                       "to": "文档/new"}))
    names = [e["name"] for e in ok(c.call("GET", "/api/netdisk", query={
        "path": "文档"}))["entries"]]
    assert sorted(names) == ["new", "report.bin"], names
    for to in ("文档/report.bin", "../x", "", "文档/new/../y", ".x"):
        st, j, _ = c.call("POST", "/api/netdisk", {
            "op": "rename", "path": "文档/new", "to": to})
        assert st in (400, 409), (to, st, j)
    ok(c.call("POST", "/api/netdisk", {"op": "delete", "path": "文档/new"}))
    # the same name again is refused, not overwritten
    up2 = put_file(c, "report.bin", b"other")
    st, j, _ = c.call("POST", "/api/netdisk", {"op": "save", "path": "文档",
                                               "id": up2["id"]})
    assert st == 409, j
    # no way out of fileman/
    secret = os.path.join(md, "secret.txt")
    with open(secret, "w") as f:
        f.write("not for netdisk")
    os.symlink(md, os.path.join(md, "fileman", "escape"))
    os.symlink(secret, os.path.join(md, "fileman", "link.txt"))
    for p in ("../secret.txt", "文档/../../secret.txt", "escape/secret.txt",
              "link.txt", "/../secret.txt", "a\x00b", "x" * 256,
              "文档/" + "y" * 1100, ".hidden", "filesize", "%2e%2e/x"):
        st, body, _ = c.call("GET", "/api/netdisk/file", query={"path": p})
        assert st in (400, 404) and b"not for netdisk" not in (
            body if isinstance(body, bytes) else b""), (p, st, body)
    for p in ("..", "escape", "文档/..", "a\x00b"):
        st, j, _ = c.call("GET", "/api/netdisk", query={"path": p})
        assert st in (400, 404), (p, st, j)
    names = [e["name"] for e in ok(c.call("GET", "/api/netdisk"))["entries"]]
    assert names == ["文档"], names  # symlinks are not listed
    for bad in ({"op": "mkdir", "name": ".."}, {"op": "mkdir", "name": "a/b"},
                {"op": "mkdir", "name": "filesize"},
                {"op": "mkdir", "name": "z" * 256},
                {"op": "delete", "path": "../secret.txt"},
                {"op": "delete", "path": "escape/secret.txt"},
                {"op": "delete", "path": ""}, {"op": "chmod", "path": "x"}):
        st, j, _ = c.call("POST", "/api/netdisk", bad)
        assert st in (400, 404), (bad, st, j)
    assert os.path.exists(secret)
    # deleting the symlink removes the link, not its target
    ok(c.call("POST", "/api/netdisk", {"op": "delete", "path": "link.txt"}))
    assert os.path.exists(secret)
    # quota from netdiskquota
    inst.sql(f"UPDATE mailbox SET netdiskquota='12000S' WHERE "
             f"username='{addr}'")
    flush(inst, addr)
    up3 = put_file(c, "big.bin", b"b" * 5000)
    st, j, _ = c.call("POST", "/api/netdisk", {"op": "save", "id": up3["id"]})
    assert st == 413 and j["error"]["code"] == "over_quota", j
    ok(c.call("POST", "/api/netdisk", {"op": "delete", "path": "文档"}))
    j = ok(c.call("GET", "/api/netdisk"))
    assert j["quota"] == {"bytes": 0, "max_bytes": 12000}, j
    # disablenetdisk
    inst.sql(f"UPDATE mailbox SET disablenetdisk=1 WHERE username='{addr}'")
    flush(inst, addr)
    st, j, _ = c.call("GET", "/api/netdisk")
    assert st == 403 and j["error"]["code"] == "netdisk_disabled", j
    st, j, _ = c.call("POST", "/api/netdisk", {"op": "mkdir", "name": "q"})
    assert st == 403, j


def wait_fetch(c):
    import time
    for _ in range(200):
        j = ok(c.call("GET", "/api/popfetch"))
        if not j["running"]:
            return j
        time.sleep(0.1)
    raise AssertionError("the fetch did not end")


def test_pop3_fetch(inst):
    addr, m, c = login_user(inst, "wmspop")
    remote = user(inst, "wmspopremote")
    other = user(inst, "wmspopother")
    r = imap(inst, remote)
    for i in range(2):
        append(r, "INBOX", msg(f"fetched {i}", "far@example.com",
                               "Fri, 05 Jun 2026 08:00:00 +0000"))
    r.logout()
    o = imap(inst, other)
    append(o, "INBOX", msg("moved away", "far@example.com",
                           "Fri, 05 Jun 2026 08:00:00 +0000"))
    o.logout()
    port = inst.ports["pop3"]
    j = ok(c.call("GET", "/api/popfetch"))
    assert j["enabled"] and j["accounts"] == [] and not j["running"], j
    for bad in ({"op": "add", "host": "a b", "user": "u", "password": "p"},
                {"op": "add", "host": "h", "user": "u", "password": "p\r"},
                {"op": "add", "host": "h", "user": "u"},
                {"op": "add", "host": "h", "user": "u", "password": "p",
                 "port": 0},
                {"op": "format"}):
        st, j, _ = c.call("POST", "/api/popfetch", bad)
        assert st == 400, (bad, st, j)
    st, j, _ = c.call("POST", "/api/popfetch", {"op": "run"}, csrf=False)
    assert st == 403, j
    j = ok(c.call("POST", "/api/popfetch", {
        "op": "add", "host": "127.0.0.1", "port": port, "user": remote,
        "password": PASSWORD, "keep": True}))
    acc = j["accounts"][0]
    assert "password" not in acc and acc["keep"], acc
    stored = open(os.path.join(maildir(inst, addr),
                               "youju-popfetch.json")).read()
    assert PASSWORD not in stored and '"password"' in stored, stored
    st, j, _ = c.call("POST", "/api/popfetch", {"op": "run"})
    assert st == 202 and j["started"], (st, j)
    j = wait_fetch(c)
    assert j["accounts"][0]["last_result"] == "ok" and \
        j["accounts"][0]["last_fetched"] == 2, j
    m.select("INBOX")
    typ, d = m.search(None, "SUBJECT", "fetched")
    assert len(d[0].split()) == 2, d
    inst.wait_log(rf"webmail: popfetch: user=<{addr}>, account={remote}"
                  rf"@127.0.0.1:{port}, fetched=2, result=ok")
    # kept on the server, and not fetched twice
    ok(c.call("POST", "/api/popfetch", {"op": "run"}), 202)
    j = wait_fetch(c)
    assert j["accounts"][0]["last_fetched"] == 0, j
    r = imap(inst, remote)
    r.select("INBOX")
    typ, d = r.search(None, "ALL")
    assert len(d[0].split()) == 2, d
    r.logout()
    # a wrong password is a result, not a crash
    ok(c.call("POST", "/api/popfetch", {"op": "delete", "id": acc["id"]}))
    ok(c.call("POST", "/api/popfetch", {
        "op": "add", "host": "127.0.0.1", "port": port, "user": other,
        "password": "wrong-one", "keep": False}))
    ok(c.call("POST", "/api/popfetch", {"op": "run"}), 202)
    j = wait_fetch(c)
    assert j["accounts"][0]["last_result"] == "login refused", j
    ok(c.call("POST", "/api/popfetch", {"op": "delete",
                                        "id": j["accounts"][0]["id"]}))
    # not kept: deleted there once stored here
    ok(c.call("POST", "/api/popfetch", {
        "op": "add", "host": "127.0.0.1", "port": port, "user": other,
        "password": PASSWORD, "keep": False}))
    ok(c.call("POST", "/api/popfetch", {"op": "run"}), 202)
    j = wait_fetch(c)
    assert j["accounts"][0]["last_fetched"] == 1, j
    o = imap(inst, other)
    o.select("INBOX")
    typ, d = o.search(None, "ALL")
    assert d[0].split() == [], d
    o.logout()
    # at most six accounts
    for i in range(5):
        ok(c.call("POST", "/api/popfetch", {
            "op": "add", "host": f"pop{i}.example.com", "port": 995,
            "user": "u", "password": "p"}))
    st, j, _ = c.call("POST", "/api/popfetch", {
        "op": "add", "host": "pop9.example.com", "user": "u",
        "password": "p"})
    assert st == 409 and j["error"]["code"] == "full", j
    m.logout()
