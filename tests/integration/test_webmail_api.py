"""youju-webmail's JSON API (issue 12, DESIGN §10, docs/webmail.md) over
real HTTP with urllib, checked against the same mailbox over IMAP with
imaplib: logins through youju-authd (bad password 401, disabled service and
inactive mailbox 403 with distinct codes, ExtMail's log line), folders,
the message list with paging and every sort, reading (decoded headers and
charsets, attachments as downloads, \\Seen set), flags, move and delete
seen by IMAP with the same UIDs, sending through youju-mta (the mail
arrives in the recipient's Maildir, a copy lands in Sent), and CSRF."""
import email
import imaplib
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from test_imap_state import PASSWORD, maildir, user  # noqa: E402


class Client:
    def __init__(self, inst, ip=None):
        self.base = f"http://127.0.0.1:{inst.ports['webmail']}"
        self.ip = ip
        self.jar = CookieJar()
        self.op = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = None

    def call(self, method, path, body=None, csrf=True, query=None):
        h = {"Content-Type": "application/json"}
        if csrf and self.csrf:
            h["X-CSRF-Token"] = self.csrf
        if self.ip:
            h["X-Real-IP"] = self.ip
        if query:
            path += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method, headers=h)
        try:
            r = self.op.open(req, timeout=30)
            text = r.read()
            if r.headers.get("Content-Type", "").startswith(
                    "application/json"):
                return r.status, json.loads(text), r.headers
            return r.status, text, r.headers
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, json.loads(text), e.headers
            except ValueError:
                return e.code, text, e.headers

    def login(self, u, p=PASSWORD):
        st, j, h = self.call("POST", "/api/session",
                             {"user": u, "password": p})
        if st == 200:
            self.csrf = j["csrf"]
        return st, j, h


def ok(res, status=200):
    st, j, _ = res
    assert st == status, (st, j)
    return j


def imap(inst, addr):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=20)
    m.login(addr, PASSWORD)
    return m


def append(m, box, raw, flags=""):
    typ, data = m.append(box, flags, None, raw)
    assert typ == "OK", data
    return int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))


def msg(subject, frm, date, body="hello\r\n", extra=""):
    return (f"From: {frm}\r\nTo: x@extmail.org\r\nSubject: {subject}\r\n"
            f"Date: {date}\r\nMessage-ID: <{time.time()}@t>\r\n{extra}"
            f"\r\n{body}").encode()


def flush(inst, addr):
    """youju-authd's FLUSH, as the console sends it after a change."""
    import socket
    s = socket.socket(socket.AF_UNIX)
    s.connect(inst.authd_socket)
    s.sendall(f"FLUSH {addr}\n".encode())
    s.recv(100)
    s.close()


def login_user(inst, local):
    addr = user(inst, local)
    m = imap(inst, addr)  # the Maildir exists after a first login
    c = Client(inst)
    ok(c.login(addr))
    return addr, m, c


def test_login_ok_bad_disabled_inactive(inst):
    addr = user(inst, "wmlogin")
    since = inst.log_size()
    c = Client(inst, ip="192.0.2.80")
    st, j, h = c.login(addr)
    assert st == 200 and j["user"] == addr and len(j["csrf"]) == 64, j
    cookie = h["Set-Cookie"]
    assert "youju_webmail=" in cookie and "HttpOnly" in cookie and \
        "SameSite=Strict" in cookie, cookie
    inst.wait_log(r"user=<wmlogin@extmail.org>, client=192.0.2.80, "
                  r"module=login, status=loginok", since=since)
    assert ok(c.call("GET", "/api/session"))["user"] == addr
    # no mail yet, no IMAP login: the Maildir is made at the login
    names = [f["name"] for f in ok(c.call("GET", "/api/folders"))]
    assert names[0] == "INBOX" and "Trash" in names, names
    # a bad password: 401, "badlogin"
    st, j, _ = Client(inst, ip="192.0.2.81").login(addr, "wrong")
    assert st == 401 and j["error"]["code"] == "bad_login", j
    inst.wait_log(r"user=<wmlogin@extmail.org>, client=192.0.2.81, "
                  r"module=login, status=badlogin", since=since)
    # webmail disabled for the mailbox: 403 "disabled"
    inst.sql("UPDATE mailbox SET disablewebmail=1 WHERE username="
             f"'{addr}'")
    flush(inst, addr)
    st, j, _ = Client(inst, ip="192.0.2.82").login(addr)
    assert st == 403 and j["error"]["code"] == "disabled", j
    inst.wait_log(r"client=192.0.2.82, module=login, status=disabled",
                  since=since)
    # the live session ends at its next request
    st, j, _ = c.call("GET", "/api/folders")
    assert st == 401, (st, j)
    # an inactive mailbox: 403 "deactive"
    inst.sql("UPDATE mailbox SET disablewebmail=0, active=0 WHERE "
             f"username='{addr}'")
    flush(inst, addr)
    st, j, _ = Client(inst, ip="192.0.2.83").login(addr)
    assert st == 403 and j["error"]["code"] == "deactive", j
    inst.wait_log(r"client=192.0.2.83, module=login, status=deactive",
                  since=since)
    inst.sql(f"UPDATE mailbox SET active=1 WHERE username='{addr}'")
    flush(inst, addr)
    assert Client(inst).login(addr)[0] == 200
    # logout ends the session
    c2 = Client(inst)
    ok(c2.login(addr))
    ok(c2.call("DELETE", "/api/session"))
    assert c2.call("GET", "/api/folders")[0] == 401


def test_csrf_and_bad_input(inst):
    addr, m, c = login_user(inst, "wmcsrf")
    uid = append(m, "INBOX", msg("csrf", "a@example.com",
                                 "Mon, 1 Jun 2026 10:00:00 +0000"))
    st, j, _ = c.call("POST", "/api/flags",
                      {"folder": "INBOX", "uids": [uid],
                       "add": ["\\Flagged"]}, csrf=False)
    assert st == 403 and j["error"]["code"] == "csrf", (st, j)
    m.select("INBOX")
    typ, d = m.uid("FETCH", str(uid), "(FLAGS)")
    assert b"\\Flagged" not in d[0], d
    # no way out of the Maildir by a folder name, nor to an unknown one
    for bad in ("../wmlogin", "..", "a/b", "../../extmail.org/wmlogin"):
        st, j, _ = c.call("GET", "/api/messages", query={"folder": bad})
        assert st in (400, 404), (bad, st, j)
    assert c.call("GET", "/api/messages",
                  query={"folder": "NoSuch"})[0] == 404
    assert c.call("GET", "/api/messages",
                  query={"sort": "bogus"})[0] == 400
    assert c.call("GET", "/api/message",
                  query={"folder": "INBOX", "uid": "999999"})[0] == 404
    # not logged in
    assert Client(inst).call("GET", "/api/folders")[0] == 401
    m.logout()


def test_folders_list_and_sort(inst):
    addr, m, c = login_user(inst, "wmlist")
    u1 = append(m, "INBOX", msg("bravo", "Zed <z@example.com>",
                                "Tue, 02 Jun 2026 10:00:00 +0000",
                                body="x" * 3000), r"(\Seen)")
    u2 = append(m, "INBOX", msg("=?UTF-8?B?5L2g5aW9?= alpha",
                                "Amy <a@example.com>",
                                "Mon, 01 Jun 2026 10:00:00 +0000"))
    u3 = append(m, "INBOX", msg("Re: charlie", "m@example.com",
                                "Wed, 03 Jun 2026 09:00:00 +0800"))
    folders = ok(c.call("GET", "/api/folders"))
    byname = {f["name"]: f for f in folders}
    for name in ("INBOX", "Sent", "Drafts", "Trash", "Junk"):
        assert name in byname, folders
    assert byname["INBOX"]["total"] == 3 and byname["INBOX"]["unseen"] == 2
    assert byname["INBOX"]["size"] > 3000
    cases = {
        ("date", "asc"): [u2, u1, u3],
        ("date", "desc"): [u3, u1, u2],
        ("arrival", "asc"): [u1, u2, u3],
        ("arrival", "desc"): [u3, u2, u1],
        ("from", "asc"): [u2, u3, u1],
        ("subject", "asc"): [u1, u3, u2],
        ("size", "desc"): [u1],
    }
    for (s, o), want in cases.items():
        j = ok(c.call("GET", "/api/messages",
                      query={"folder": "INBOX", "sort": s, "order": o}))
        assert j["total"] == 3
        got = [x["uid"] for x in j["messages"]]
        assert got[:len(want)] == want, (s, o, got, want)
    j = ok(c.call("GET", "/api/messages", query={"folder": "INBOX"}))
    first = {x["uid"]: x for x in j["messages"]}
    assert first[u2]["subject"] == "你好 alpha", first[u2]
    assert first[u2]["from"] == "Amy <a@example.com>"
    assert first[u1]["flags"] == ["\\Seen"] and first[u2]["flags"] == []
    # once youju-mra has cached the ENVELOPEs in youju.index, the list
    # comes from there, and says the same
    m.select("INBOX")
    m.uid("FETCH", "1:*", "(ENVELOPE BODYSTRUCTURE)")
    m.close()
    ix = os.path.join(maildir(inst, addr), "youju.index")
    deadline = time.time() + 10
    while not os.path.exists(ix) and time.time() < deadline:
        time.sleep(0.1)
    assert os.path.exists(ix)
    for (s, o), want in cases.items():
        j2 = ok(c.call("GET", "/api/messages",
                       query={"folder": "INBOX", "sort": s, "order": o}))
        got = [x["uid"] for x in j2["messages"]]
        assert got[:len(want)] == want, (s, o, got, want)
    j2 = ok(c.call("GET", "/api/messages", query={"folder": "INBOX"}))
    assert j2 == j, (j2, j)
    # proof that the cache is read: the file rewritten in place with the
    # same name and size (which no mail software does) still lists the
    # cached subject
    cur = os.path.join(maildir(inst, addr), "cur")
    [name] = [n for n in os.listdir(cur)
              if b"Subject: bravo" in open(os.path.join(cur, n), "rb").read()]
    path = os.path.join(cur, name)
    data = open(path, "rb").read()
    with open(path, "r+b") as f:
        f.write(data.replace(b"Subject: bravo", b"Subject: BRAVO"))
    j3 = ok(c.call("GET", "/api/messages", query={"folder": "INBOX"}))
    assert [x["subject"] for x in j3["messages"]].count("bravo") == 1, j3
    with open(path, "r+b") as f:
        f.write(data)
    # paging: page 2 of a 3-message folder is empty
    j = ok(c.call("GET", "/api/messages",
                  query={"folder": "INBOX", "page": "2"}))
    assert j["total"] == 3 and j["messages"] == [], j
    m.logout()


GBK_MSG = (
    b"From: =?GBK?B?1cXI/Q==?= <zs@example.com>\r\n"
    b"To: x@extmail.org\r\nSubject: =?GBK?B?xOO6ww==?=\r\n"
    b"Date: Thu, 04 Jun 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n"
    b"--BB\r\nContent-Type: text/plain; charset=GBK\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    + __import__("base64").b64encode("中文正文\r\n".encode("gbk"))
    + b"\r\n--BB\r\nContent-Type: text/html\r\n"
    b"Content-Disposition: attachment; filename*=UTF-8''%E6%8A%A5.html\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    + __import__("base64").b64encode(b"<script>alert(1)</script>")
    + b"\r\n--BB--\r\n")


def test_read_message_and_attachment(inst):
    addr, m, c = login_user(inst, "wmread")
    uid = append(m, "INBOX", GBK_MSG)
    j = ok(c.call("GET", "/api/message",
                  query={"folder": "INBOX", "uid": uid}))
    assert j["headers"]["subject"] == "你好", j["headers"]
    assert j["headers"]["from"] == "张三 <zs@example.com>", j["headers"]
    assert j["text"].startswith("中文正文"), j["text"]
    assert j["html"] is None
    # GET never changes state (DESIGN 10): the app marks it read by POST
    assert "\\Seen" not in j["flags"], j["flags"]
    [a] = j["attachments"]
    assert a["part"] == "2" and a["name"] == "报.html", a
    assert a["type"] == "text/html"
    m.select("INBOX")
    typ, d = m.uid("FETCH", str(uid), "(FLAGS)")
    assert b"\\Seen" not in d[0], d
    ok(c.call("POST", "/api/flags", {"folder": "INBOX", "uids": [uid],
                                     "add": ["\\Seen"]}))
    # \Seen is visible over IMAP at once
    m.select("INBOX")
    typ, d = m.uid("FETCH", str(uid), "(FLAGS)")
    assert b"\\Seen" in d[0], d
    # the download: never inline, never HTML
    st, body, h = c.call("GET", a["url"])
    assert st == 200 and body == b"<script>alert(1)</script>", (st, body)
    assert h["Content-Type"] == "application/octet-stream", h
    assert h["Content-Disposition"].startswith("attachment;"), h
    assert "filename*=UTF-8''%E6%8A%A5.html" in h["Content-Disposition"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert c.call("GET", "/api/attachment",
                  query={"folder": "INBOX", "uid": uid,
                         "part": "9"})[0] == 404
    m.logout()


def test_flags_move_delete_seen_over_imap(inst):
    addr, m, c = login_user(inst, "wmflags")
    u1 = append(m, "INBOX", msg("one", "a@example.com",
                                "Mon, 1 Jun 2026 10:00:00 +0000"))
    u2 = append(m, "INBOX", msg("two", "a@example.com",
                                "Mon, 1 Jun 2026 11:00:00 +0000"))
    j = ok(c.call("POST", "/api/flags",
                  {"folder": "INBOX", "uids": [u1, u2],
                   "add": ["\\Flagged", "\\Seen", "$Important"]}))
    assert len(j["messages"]) == 2
    m.select("INBOX")
    typ, d = m.uid("FETCH", f"{u1}:{u2}", "(FLAGS)")
    for line in d:
        assert b"\\Flagged" in line and b"\\Seen" in line and \
            b"$Important" in line, d
    ok(c.call("POST", "/api/flags", {"folder": "INBOX", "uids": [u1],
                                     "remove": ["\\Seen"]}))
    m.noop()  # the session learns of changes made by others
    typ, d = m.uid("FETCH", str(u1), "(FLAGS)")
    assert b"\\Seen" not in d[0] and b"\\Flagged" in d[0], d
    # a flag set over IMAP is seen by webmail, same UID
    m.uid("STORE", str(u2), "+FLAGS", r"(\Answered)")
    j = ok(c.call("GET", "/api/messages", query={"folder": "INBOX"}))
    f2 = [x for x in j["messages"] if x["uid"] == u2][0]
    assert "\\Answered" in f2["flags"], f2
    # move to Junk
    j = ok(c.call("POST", "/api/move", {"folder": "INBOX", "uids": [u1],
                                        "to": "Junk"}))
    assert j["moved"] == 1
    m.select("Junk")
    typ, d = m.uid("SEARCH", None, "ALL")
    assert d[0].split() == [str(j["uids"][0]).encode()], d
    typ, d = m.uid("FETCH", d[0].split()[0], "(FLAGS BODY.PEEK[HEADER])")
    assert b"Subject: one" in d[0][1] and b"\\Flagged" in d[0][0], d
    # delete: to Trash, then from Trash for good
    j = ok(c.call("POST", "/api/delete", {"folder": "INBOX",
                                          "uids": [u2]}))
    assert j["moved"] == 1
    tuid = j["uids"][0]
    m.select("INBOX")
    typ, d = m.uid("SEARCH", None, "ALL")
    assert d[0].split() == [], d
    m.select("Trash")
    typ, d = m.uid("SEARCH", None, "ALL")
    assert d[0].split() == [str(tuid).encode()], d
    j = ok(c.call("POST", "/api/delete", {"folder": "Trash",
                                          "uids": [tuid]}))
    assert j["expunged"] == 1
    m.select("Trash")
    typ, d = m.uid("SEARCH", None, "ALL")
    assert d[0].split() == [], d
    m.logout()


def test_send_arrives_and_lands_in_sent(inst):
    addr, m, c = login_user(inst, "wmsend")
    rcpt = user(inst, "wmrcpt")
    imap(inst, rcpt).logout()
    token = f"token-{time.time()}"
    j = ok(c.call("POST", "/api/send", {
        "to": [f"Rcpt <{rcpt}>"], "bcc": ["wmbcc@example.net"],
        "subject": "你好 from webmail",
        "text": f"first line\n.second line starts with a dot\n{token}\n"
                + "long " * 40 + "\n",
        "in_reply_to": "<orig@example.com>"}))
    assert j["queue_id"], j
    md = maildir(inst, rcpt)
    deadline = time.time() + 30
    found = None
    while time.time() < deadline and found is None:
        for sub in ("new", "cur"):
            d = os.path.join(md, sub)
            for n in os.listdir(d) if os.path.isdir(d) else []:
                data = open(os.path.join(d, n), "rb").read()
                if token.encode() in data or b"token-" in data:
                    found = data
        time.sleep(0.2)
    assert found is not None, "not delivered"
    e = email.message_from_bytes(found)
    subj = str(email.header.make_header(
        email.header.decode_header(e["Subject"])))
    assert subj == "你好 from webmail", e["Subject"]
    assert e["From"].endswith(f"<{addr}>"), e["From"]
    assert e["Message-ID"] == j["message_id"]
    assert e["In-Reply-To"] == "<orig@example.com>"
    assert e["Bcc"] is None
    body = e.get_payload(decode=True).decode()
    assert token in body and ".second line" in body, body
    assert ("long " * 40).strip() in body
    # the copy in Sent, \Seen, with its Bcc
    m.select("Sent")
    typ, d = m.uid("SEARCH", None, "ALL")
    assert len(d[0].split()) == 1, d
    typ, d = m.uid("FETCH", d[0].split()[0], "(FLAGS BODY.PEEK[])")
    assert b"\\Seen" in d[0][0] and b"Bcc: wmbcc@example.net" in d[0][1]
    inst.wait_log(r"webmail: sent: user=<wmsend@extmail.org>, client=\S+, "
                  r"queue_id=" + re.escape(j["queue_id"]))
    # refused without recipients or with a bad one, nothing sent
    assert c.call("POST", "/api/send", {"to": [], "text": "x"})[0] == 400
    assert c.call("POST", "/api/send",
                  {"to": ["a@b>\r\nRCPT TO:<c@d"], "text": "x"})[0] == 400
    m.logout()


def upload(c, name, data, ctype="application/octet-stream"):
    """POST /api/upload as a browser's FormData sends it."""
    boundary = "----youjutest" + str(time.time()).replace(".", "")
    body = (f"--{boundary}\r\nContent-Disposition: form-data; "
            f"name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: {ctype}\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(
        c.base + "/api/upload", data=body, method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                 **({"X-CSRF-Token": c.csrf} if c.csrf else {})})
    try:
        r = c.op.open(req, timeout=30)
        return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_send_with_two_attachments(inst):
    addr, m, c = login_user(inst, "wmatt")
    rcpt = user(inst, "wmatt2")
    r = imap(inst, rcpt)
    blob = bytes(range(256)) * 300 + b"\r\n.\r\nend"
    st, a1 = upload(c, "数据.bin", blob)
    assert st == 200 and a1["size"] == len(blob) and a1["name"] == "数据.bin"
    st, a2 = upload(c, "notes.txt", b"line one\nline two\n", "text/plain")
    assert st == 200 and a2["type"] == "text/plain", a2
    # the file waits, 0600, in the user's own Maildir tmp/
    p = os.path.join(maildir(inst, addr), "tmp", "webmail-upload." + a1["id"])
    assert os.stat(p).st_mode & 0o777 == 0o600
    # CSRF is needed; an ID not of this user's Maildir is unknown
    c.csrf, saved = None, c.csrf
    assert upload(c, "x", b"x")[0] == 403
    c.csrf = saved
    assert c.call("POST", "/api/send", {
        "to": [rcpt], "text": "x", "attachments": ["0" * 32]})[0] == 400
    assert c.call("POST", "/api/send", {
        "to": [rcpt], "text": "x", "attachments": ["../../x"]})[0] == 400
    j = ok(c.call("POST", "/api/send", {
        "to": [rcpt], "subject": "two files", "text": "see attached",
        "attachments": [a1["id"], a2["id"]]}))
    assert not os.path.exists(p)  # taken by the send
    deadline = time.time() + 30
    while True:
        r.select("INBOX")
        typ, d = r.uid("SEARCH", None, "SUBJECT", "\"two files\"")
        if d[0].split() or time.time() > deadline:
            break
        time.sleep(0.2)
    assert d[0].split(), "not delivered"
    typ, d = r.uid("FETCH", d[0].split()[0], "(BODY.PEEK[])")
    e = email.message_from_bytes(d[0][1])
    parts = [x for x in e.walk() if x.get_content_disposition() ==
             "attachment"]
    assert [x.get_filename() for x in parts] == ["数据.bin", "notes.txt"]
    assert parts[0].get_payload(decode=True) == blob
    assert parts[1].get_payload(decode=True) == b"line one\nline two\n"
    # and over webmail: the recipient downloads the same bytes
    c2 = Client(inst)
    ok(c2.login(rcpt))
    lst = ok(c2.call("GET", "/api/messages", query={"folder": "INBOX"}))
    mm = [x for x in lst["messages"] if x["subject"] == "two files"][0]
    assert mm["attachments"] is True
    msg_ = ok(c2.call("GET", "/api/message",
                      query={"folder": "INBOX", "uid": mm["uid"]}))
    assert [x["name"] for x in msg_["attachments"]] == ["数据.bin",
                                                        "notes.txt"]
    st, body, _ = c2.call("GET", msg_["attachments"][0]["url"])
    assert st == 200 and body == blob
    # the Sent copy holds the attachments too
    m.select("Sent")
    typ, d = m.uid("SEARCH", None, "SUBJECT", "\"two files\"")
    assert len(d[0].split()) == 1
    r.logout()
    m.logout()


def test_folder_create_empty_and_quota(inst):
    addr, m, c = login_user(inst, "wmfold")
    ok(c.call("POST", "/api/folders", {"name": "项目.2026"}))
    assert c.call("POST", "/api/folders", {"name": "项目.2026"})[0] == 409
    for bad in ("../x", "INBOX", "a/b", ""):
        assert c.call("POST", "/api/folders", {"name": bad})[0] == 400, bad
    # IMAP sees it, in modified UTF-7, subscribed
    typ, d = m.lsub()
    assert any(b"&mHl27g-.2026" in x for x in d), d
    names = [f["name"] for f in ok(c.call("GET", "/api/folders"))]
    assert "项目.2026" in names, names
    # moving into it works by its UTF-8 name
    u = append(m, "INBOX", msg("to project", "a@example.com",
                               "Mon, 1 Jun 2026 10:00:00 +0000"))
    ok(c.call("POST", "/api/move", {"folder": "INBOX", "uids": [u],
                                    "to": "项目.2026"}))
    # empty Trash: everything in it expunged, the usage recorded
    for i in range(3):
        append(m, "Trash", msg(f"t{i}", "a@example.com",
                               "Mon, 1 Jun 2026 10:00:00 +0000"))
    before = ok(c.call("GET", "/api/session"))["quota"]
    assert before["max_bytes"] == 5242880 and before["count"] >= 4, before
    assert c.call("POST", "/api/empty", {"folder": "INBOX"})[0] == 400
    assert ok(c.call("POST", "/api/empty",
                     {"folder": "Trash"}))["expunged"] == 3
    after = ok(c.call("GET", "/api/session"))["quota"]
    assert after["count"] == before["count"] - 3, (before, after)
    m.select("Trash")
    typ, d = m.uid("SEARCH", None, "ALL")
    assert d[0].split() == []
    m.logout()


def test_folder_cache_sees_every_change(inst):
    """The daemon reuses a folder's scan while new/, cur/ and
    dovecot-uidlist are unchanged and settled (2 s): every change made
    by IMAP or a delivery after that must still show at once."""
    addr, m, c = login_user(inst, "wmcache")
    u1 = append(m, "INBOX", msg("c1", "a@example.com",
                                "Mon, 1 Jun 2026 10:00:00 +0000"))
    time.sleep(2.5)

    def listing():
        j = ok(c.call("GET", "/api/messages",
                      query={"folder": "INBOX", "sort": "arrival",
                             "order": "asc"}))
        return [(x["uid"], x["flags"]) for x in j["messages"]]

    assert listing() == [(u1, [])]  # scanned, kept
    assert listing() == [(u1, [])]  # from the cache
    m.select("INBOX")
    m.uid("STORE", str(u1), "+FLAGS", r"(\Flagged)")
    assert listing() == [(u1, ["\\Flagged"])]
    time.sleep(2.5)
    assert listing() == [(u1, ["\\Flagged"])]
    u2 = append(m, "INBOX", msg("c2", "a@example.com",
                                "Mon, 1 Jun 2026 11:00:00 +0000"))
    assert [x[0] for x in listing()] == [u1, u2]
    time.sleep(2.5)
    listing()
    m.uid("STORE", str(u1), "+FLAGS", r"(\Deleted)")
    m.expunge()
    assert [x[0] for x in listing()] == [u2]
    # and a change made through webmail itself
    time.sleep(2.5)
    listing()
    ok(c.call("POST", "/api/flags", {"folder": "INBOX", "uids": [u2],
                                     "add": ["\\Seen"]}))
    assert listing() == [(u2, ["\\Seen"])]
    m.logout()
