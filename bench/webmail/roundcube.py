"""youju-webmail against Roundcube (issue 12's peer), all on the same
mailbox: Roundcube 1.6 from Debian 12 (roundcube-core, roundcube-sqlite3,
php-cli; installed here with apt-get when missing, never by make test)
served by PHP's own server (PHP_CLI_SERVER_WORKERS=2), twice: once
reading the mailbox over IMAP from a private Dovecot 2.3 (Debian's
dovecot-imapd, tests/integration/dovecot_peer.py) on the same Maildir --
the peer the issue names -- and once from this instance's youju-mra;
youju-webmail reading the Maildir itself.  Measured, BENCH_REPEAT times
each, one request at a time: the login (Roundcube: its form's POST, with
the token fetched beforehand; youju: POST /api/session) and page 1 of the
Inbox sorted by date, newest first (Roundcube: the list request its own
page makes, _action=list; youju: GET /api/messages).  Prints p50 and p99
of each and the ratios Roundcube / youju-webmail (above 1 means youju is
faster).  BENCH_RC_MESSAGES (10,000) messages in the Inbox."""
import http.client
import imaplib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import benchlib  # noqa: E402
from benchlib import SRCDIR  # noqa: E402
from harness import Instance  # noqa: E402
from dovecot_peer import Dovecot  # noqa: E402

N = int(os.environ.get("BENCH_RC_MESSAGES", "10000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))
PW = "bench-secret"
RC = "/var/lib/roundcube"
PKGS = ["roundcube-core", "roundcube-sqlite3", "php-cli", "php-sqlite3"]


log = benchlib.logger("bench/webmail roundcube")


def install():
    if os.path.exists(os.path.join(RC, "index.php")) and \
            shutil.which("php"):
        return True
    log("installing " + " ".join(PKGS) + " (apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends"]
                       + PKGS, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        log("apt-get failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
        return False
    return True


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def configure(work, imap_port):
    os.makedirs(work)
    conf = os.path.join(work, "config")
    os.makedirs(conf)
    for n in ("defaults.inc.php", "mimetypes.php"):
        src = os.path.join("/etc/roundcube", n)
        if not os.path.exists(src):
            src += ".dpkg-new"
        shutil.copy(src, conf)
    for d in ("logs", "temp"):
        os.makedirs(os.path.join(work, d))
    db = os.path.join(work, "rc.db")
    with open(os.path.join(conf, "config.inc.php"), "w") as f:
        f.write(f"""<?php
$config = [];
$config['db_dsnw'] = 'sqlite:///{db}?mode=0600';
$config['imap_host'] = '127.0.0.1:{imap_port}';
$config['smtp_host'] = '127.0.0.1:25';
$config['des_key'] = 'bench-webmail-0123456789';
$config['plugins'] = [];
$config['log_dir'] = '{work}/logs/';
$config['temp_dir'] = '{work}/temp/';
$config['enable_installer'] = false;
$config['skin'] = 'elastic';
$config['mail_pagesize'] = 50;
$config['login_rate_limit'] = 0;
$config['ip_check'] = false;
$config['log_driver'] = 'file';
""")
    sql = "/usr/share/roundcube/SQL/sqlite.initial.sql"
    r = subprocess.run(
        ["php", "-r", f"$d = new PDO('sqlite:{db}');"
         f"$d->exec(file_get_contents('{sql}')) !== false or exit(1);"],
        capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("schema: " + r.stdout + r.stderr)
    return conf


class Jar:
    """Cookies of one client (Roundcube sets and replaces its own)."""

    def __init__(self):
        self.c = {}

    def header(self):
        return "; ".join(f"{k}={v}" for k, v in self.c.items())

    def take(self, resp):
        for k, v in resp.getheaders():
            if k.lower() == "set-cookie":
                name, _, val = v.split(";")[0].partition("=")
                if val == "deleted" or val == "":
                    self.c.pop(name, None)
                else:
                    self.c[name] = val


def rc_req(port, jar, method, path, form=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    h = {"Cookie": jar.header()} if jar.c else {}
    h.update(headers or {})
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        h["Content-Type"] = "application/x-www-form-urlencoded"
    t0 = time.perf_counter()
    c.request(method, path, body, h)
    r = c.getresponse()
    data = r.read()
    ms = (time.perf_counter() - t0) * 1000
    jar.take(r)
    loc = r.getheader("Location")
    c.close()
    return r.status, data, ms, loc


def rc_login(port):
    """A new Roundcube session: (jar, request token, login ms)."""
    jar = Jar()
    st, page, _, _ = rc_req(port, jar, "GET", "/?_task=login")
    assert st == 200, st
    tok = re.search(rb'name="_token" value="([^"]+)"', page).group(1)
    st, _, ms, loc = rc_req(port, jar, "POST", "/?_task=login", form={
        "_token": tok.decode(), "_task": "login", "_action": "login",
        "_timezone": "UTC", "_url": "", "_user": "bench@extmail.org",
        "_pass": PW})
    assert st == 302 and loc and "_task=mail" in loc, (st, loc)
    st, page, _, _ = rc_req(port, jar, "GET", "/?_task=mail&_mbox=INBOX")
    assert st == 200, st
    tok = re.search(rb'"request_token":"([^"]+)"', page).group(1).decode()
    return jar, tok, ms


def rc_list(port, jar, tok):
    st, data, ms, _ = rc_req(
        port, jar, "GET", "/?_task=mail&_action=list&_mbox=INBOX&_page=1"
        "&_sort=date_DESC&_remote=1&_refresh=1",
        headers={"X-Roundcube-Request": tok})
    assert st == 200, (st, data[:300])
    j = json.loads(data)
    rows = j.get("exec", "").count("add_message_row")
    assert rows == 50, (rows, j.get("exec", "")[:500])
    return ms


def yj_req(port, method, path, cookie=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    h = {"Content-Type": "application/json"}
    if cookie:
        h["Cookie"] = cookie
    t0 = time.perf_counter()
    c.request(method, path, json.dumps(body) if body else None, h)
    r = c.getresponse()
    data = r.read()
    ms = (time.perf_counter() - t0) * 1000
    c.close()
    return r.status, data, ms, r.getheader("Set-Cookie")


def stats(lat):
    lat = sorted(lat)
    return statistics.median(lat), lat[max(0, int(len(lat) * .99) - 1)]


def start_php(work, conf):
    port = free_port()
    env = dict(os.environ, ROUNDCUBE_CONFIG_DIR=conf,
               PHP_CLI_SERVER_WORKERS="2")
    php = subprocess.Popen(
        ["php", "-S", f"127.0.0.1:{port}", "-t", RC + "/public_html"],
        env=env, stdout=open(os.path.join(work, "php.log"), "w"),
        stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            break
        except OSError:
            time.sleep(0.1)
    return php, port


def imap_page(port, addr):
    """What Roundcube waits for: the server's SORT and the page's FETCH
    on one logged-in connection; (p50, p99)."""
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(addr, PW)
    m.select("INBOX")
    lat = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        typ, d = m.uid("SORT", "(REVERSE DATE)", "US-ASCII", "ALL")
        uids = d[0].split()[:50]
        assert typ == "OK" and len(uids) == 50, (typ, d[:1])
        m.uid("FETCH", b",".join(uids).decode(),
              "(UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS "
              "(DATE FROM TO SUBJECT CONTENT-TYPE)])")
        lat.append((time.perf_counter() - t0) * 1000)
    m.logout()
    return stats(lat)


def main():
    if os.geteuid() != 0:
        log("skipped: needs root (Dovecot and youju-mra drop to vmail)")
        return 0
    if not install():
        log("Roundcube is not installable here: no comparison")
        return 1
    inst = Instance(sys.argv[1], SRCDIR)
    work = tempfile.mkdtemp(prefix="youju-roundcube-")
    os.chmod(work, 0o755)  # Dovecot's auth process reads its users file
    phps = []
    dv = None
    try:
        inst.start()
        addr, md = benchlib.bench_mailbox(inst, PW)
        benchlib.write_inbox(md, addr, N)
        # youju.index filled once, as any IMAP client would
        m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"])
        m.login(addr, PW)
        m.select("INBOX")
        m.fetch("1:*", "(ENVELOPE BODYSTRUCTURE)")
        m.logout()
        # a private Dovecot on the same Maildir; its index built once too
        vm = pwd.getpwnam("vmail")
        dv = Dovecot(os.path.join(work, "dovecot"), [
            (addr, PW, vm.pw_uid, vm.pw_gid,
             inst.path("mailbox", "extmail.org", "bench"))])
        dv.start()
        m = imaplib.IMAP4("127.0.0.1", dv.ports["imap"])
        m.login(addr, PW)
        typ, d = m.select("INBOX")
        assert typ == "OK" and int(d[0]) == N, (typ, d)
        m.fetch("1:*", "(ENVELOPE BODYSTRUCTURE)")
        m.logout()
        log(f"{N} messages in the Inbox")

        servers = {}  # name: (php port, imap port)
        for name, iport in (("Roundcube/Dovecot", dv.ports["imap"]),
                            ("Roundcube/youju-mra", inst.ports["imap"])):
            d = os.path.join(work, name.split("/")[1])
            php, port = start_php(d, configure(d, iport))
            phps.append(php)
            servers[name] = (port, iport)
        # warm all (PHP's opcache, Dovecot's cache, youju's kept scan and
        # sort keys)
        sess = {}
        for name, (port, _) in servers.items():
            jar, tok, _ = rc_login(port)
            rc_list(port, jar, tok)
            sess[name] = (jar, tok)
        wport = inst.ports["webmail"]
        st, _, _, sc = yj_req(wport, "POST", "/api/session",
                              body={"user": addr, "password": PW})
        assert st == 200, st
        cookie = sc.split(";")[0]
        yj_req(wport, "GET", "/api/messages?folder=INBOX&sort=date",
               cookie)

        res = {}
        lat = {k: [] for k in list(servers) + ["youju-webmail"]}
        for _ in range(REPEAT):
            for name, (port, _) in servers.items():
                lat[name].append(rc_login(port)[2])
            st, _, ms, _ = yj_req(wport, "POST", "/api/session",
                                  body={"user": addr, "password": PW})
            assert st == 200, st
            lat["youju-webmail"].append(ms)
        res["login"] = {k: stats(v) for k, v in lat.items()}
        lat = {k: [] for k in list(servers) + ["youju-webmail"]}
        for _ in range(REPEAT):
            for name, (port, _) in servers.items():
                lat[name].append(rc_list(port, *sess[name]))
            st, data, ms, _ = yj_req(
                wport, "GET", "/api/messages?folder=INBOX&sort=date&"
                "order=desc", cookie)
            assert st == 200 and len(json.loads(data)["messages"]) == 50
            lat["youju-webmail"].append(ms)
        res["page 1 by date"] = {k: stats(v) for k, v in lat.items()}
        for name, iport in (("Dovecot", dv.ports["imap"]),
                            ("youju-mra", inst.ports["imap"])):
            i50, i99 = imap_page(iport, addr)
            log(f"IMAP UID SORT (REVERSE DATE) + FETCH of the page from "
                f"{name} alone: p50 {i50:.1f} ms p99 {i99:.1f} ms")
        print(f"{'request':16} {'server':22} {'p50 ms':>9} {'p99 ms':>9}"
              f" {'/ youju p50':>12} {'p99':>7}")
        for k, row in res.items():
            y50, y99 = row["youju-webmail"]
            for name, (p50, p99) in row.items():
                ratio = (f"{p50 / y50:11.1f}x {p99 / y99:6.1f}x"
                         if name != "youju-webmail" else "")
                print(f"{k:16} {name:22} {p50:9.1f} {p99:9.1f} {ratio}")
        print("ratios: Roundcube / youju-webmail, above 1 means youju "
              "is faster")
    finally:
        for php in phps:
            os.killpg(php.pid, signal.SIGTERM)
            php.wait(timeout=10)
        if dv is not None:
            dv.stop()
        inst.teardown()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
