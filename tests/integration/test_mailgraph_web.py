"""youju-mailgraph in webadmin (issue 14): every graph for every period at
several requested sizes is a PNG of exactly that size; a postmaster gets
its own domain's graphs and 403 for another's; the status page's answer
(daemons with pid and uptime, MariaDB, queue, load, memory, disks, the
certificate) shows a stopped youju-mailgraph as down; /metrics parses
with Prometheus's own parser (python3-prometheus-client) and its
counters move by exactly a burst of mail, logins and failures.
"""
import imaplib
import json
import os
import re
import signal
import smtplib
import ssl
import subprocess
import time

import deliverylib
import test_webadmin_api as wa

HOST = "127.0.0.1"
OUTSIDE = "127.0.0.24"
PM = "postmaster@extmail.org"
PASSWORD = "extmail"
GRAPHS = ["mail", "errors", "traffic", "queue", "logins", "webmail"]
PERIODS = ["day", "week", "month", "year"]
SYSTEM_PYTHON = "/usr/bin/python3"
PM_DOMAIN = "mgweb-pm.test"

# the same value as test_mailgraph.py sets: 127.0.0.24 is outside
CONFIG = {"mynetworks": "127.0.0.1/32 [::1]/128"}


def _ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    assert data[12:16] == b"IHDR"
    return (int.from_bytes(data[16:20], "big"),
            int.from_bytes(data[20:24], "big"))


def _send(inst, rcpt, n=1):
    msg = (f"From: <someone@example.net>\r\nTo: <{rcpt}>\r\n"
           f"Subject: mailgraph web\r\n\r\n" + "y" * 700 + "\r\n")
    ids = []
    for _ in range(n):
        with smtplib.SMTP(HOST, inst.ports["smtp"], timeout=20) as s:
            s.ehlo("client.example.net")
            s.mail("someone@example.net")
            code, reply = s.rcpt(rcpt)
            assert code == 250, (rcpt, code, reply)
            code, reply = s.data(msg.encode())
            assert code == 250, reply
            ids.append(re.search(rb"queued as ([0-9A-F]+)",
                                 reply).group(1).decode())
    return ids


def _delivered(inst, qids, timeout=30):
    deadline = time.time() + timeout
    for q in qids:
        rx = re.compile(rf"{q}: to=<.*status=sent")
        while not rx.search(inst.maillog()):
            assert time.time() < deadline, f"no delivery of {q}"
            time.sleep(0.1)


# --- graphs ------------------------------------------------------------------
def setup_domains(inst):
    """PM_DOMAIN with a mailbox and its postmaster, and mail for it and
    for extmail.org: youju-mailgraph makes their files when the minute
    closes (so this waits up to a minute).  Once per instance."""
    c = wa.root(inst)
    dom = PM_DOMAIN
    if c.call("GET", f"/api/domains/{dom}")[0] == 404:
        wa.ok(c.call("POST", "/api/domains", {"domain": dom}), 201)
        wa.ok(c.call("POST", f"/api/domains/{dom}/mailboxes",
                     {"uid": "box", "password": "box-pass-123"}), 201)
        wa.ok(c.call("POST", "/api/managers",
                     {"username": f"pm@{dom}", "password": "pm-pass-123",
                      "type": "postmaster", "domains": [dom]}), 201)
    paths = [inst.path("rrd", "domain", d + ".rrd")
             for d in ("extmail.org", dom)]
    if all(os.path.exists(p) for p in paths):
        return
    # when the last write is of this minute (a stop before a restart, or
    # an early close), its mail is skipped after the restart or counted
    # in a minute that has not begun (docs/mailgraph.md): wait for the
    # next minute (and should that not do, a second try counts)
    last = int(subprocess.run(["rrdtool", "last",
                               inst.path("rrd", "mailgraph.rrd")],
                              capture_output=True, text=True,
                              check=True).stdout)
    while time.time() < last + 61:
        time.sleep(0.2)
    for attempt in range(2):
        if all(os.path.exists(p) for p in paths):
            return
        qids = _send(inst, PM) + _send(inst, f"box@{dom}")
        _delivered(inst, qids)
        # the minute is written now rather than when it ends (SIGUSR1,
        # docs/mailgraph.md "Closing a minute early")
        start = inst.log_size()
        os.kill(inst.live_pid("youju-mailgraph"), signal.SIGUSR1)
        inst.wait_log(r"mailgraph: minute \d+ closed early", since=start,
                      timeout=20)
        deadline = time.time() + 20
        while not all(os.path.exists(p) for p in paths) and \
                time.time() < deadline:
            time.sleep(0.2)
    missing = [p for p in paths if not os.path.exists(p)]
    assert not missing, missing


def test_graph_sizes_and_domains(inst):
    """Every graph, every period, three sizes: a PNG of the size asked
    for.  Out-of-range sizes are refused."""
    c = wa.root(inst)
    setup_domains(inst)
    for g in GRAPHS:
        for period in PERIODS:
            for w, h in ((320, 200), (697, 300), (1200, 600)):
                st, body, hd = c.call(
                    "GET", f"/api/graphs/{g}.png?period={period}"
                    f"&width={w}&height={h}")
                assert st == 200, (g, period, w, h, st, body)
                assert hd["Content-Type"] == "image/png", hd
                assert _png_size(body) == (w, h), (g, period, w, h)
    # one given, the other defaults (640 x 320)
    st, body, _ = c.call("GET", "/api/graphs/mail.png?width=500")
    assert st == 200 and _png_size(body) == (500, 320), st
    # per size in the cache: the day graph at two sizes differs
    a = c.call("GET", "/api/graphs/mail.png?width=400&height=250")[1]
    b = c.call("GET", "/api/graphs/mail.png?width=401&height=250")[1]
    assert _png_size(a) == (400, 250) and _png_size(b) == (401, 250)
    for q in ("width=319", "width=2001", "height=199", "height=1201",
              "width=abc", "width=", "width=-400", "width=4e2",
              "width=00000500", "height=300&width=640x"):
        st, body, _ = c.call("GET", f"/api/graphs/mail.png?{q}")
        assert st == 400, (q, st, body)
    for g in ("mail", "errors", "traffic"):
        for period in PERIODS:
            st, body, _ = c.call(
                "GET", f"/api/graphs/{g}.png?domain=extmail.org"
                f"&period={period}&width=480&height=240")
            assert st == 200, (g, period, st, body)
            assert _png_size(body) == (480, 240)


def test_postmaster_sees_only_its_domains(inst):
    c = wa.root(inst)
    dom = PM_DOMAIN
    setup_domains(inst)
    pm = wa.Client(inst)
    wa.ok(pm.login(f"pm@{dom}", "pm-pass-123"))
    for g in ("mail", "errors", "traffic"):
        st, body, _ = pm.call("GET", f"/api/graphs/{g}.png?domain={dom}"
                              "&width=400&height=220")
        assert st == 200, (g, st, body)
        assert _png_size(body) == (400, 220)
        # another domain's, and the whole server's: 403
        assert pm.call("GET", f"/api/graphs/{g}.png?domain=extmail.org"
                       )[0] == 403, g
        assert pm.call("GET", f"/api/graphs/{g}.png")[0] == 403, g
    assert pm.call("GET", "/api/graphs/queue.png")[0] == 403
    # the admin sees the postmaster's domain too
    st, body, _ = c.call("GET", f"/api/graphs/mail.png?domain={dom}")
    assert st == 200, st
    # the status page is the admin's: a postmaster gets no daemons
    st, j, _ = pm.call("GET", "/api/status")
    assert st == 200 and "daemons" not in j and "queue" not in j, j
    # nor /metrics
    assert pm.call("GET", "/metrics")[0] == 403


# --- status ------------------------------------------------------------------
def _status(c):
    st, j, _ = c.call("GET", "/api/status")
    assert st == 200, (st, j)
    return j


def test_status_page_answer(inst):
    j = _status(wa.root(inst))
    daemons = {d["name"]: d for d in j["daemons"]}
    assert set(daemons) == {"youju-authd", "youju-mta", "youju-mra",
                            "youju-webmail", "youju-webadmin",
                            "youju-mailgraph", "mariadb"}, daemons
    for name, d in daemons.items():
        assert d["running"] is True, d
        assert isinstance(d["uptime"], int) and d["uptime"] >= 0, d
        assert d["version"], d
        if name != "mariadb":
            with open(inst.path("run", name + ".pid")) as f:
                assert d["pid"] == int(f.read().strip()), d
    # our own MariaDB: the pid the instance started
    assert daemons["mariadb"]["pid"] == inst.db_pid(), daemons["mariadb"]
    assert "MariaDB" in daemons["mariadb"]["version"], daemons["mariadb"]
    assert j["database"] == "up"
    assert set(j["queue"]) == {"incoming", "active", "deferred", "hold"}
    assert all(isinstance(v, int) and v >= 0 for v in j["queue"].values()), \
        j["queue"]
    with open("/proc/loadavg") as f:
        assert len(j["loadavg"]) == 3 and f.read()
    assert j["kernel"] == os.uname().release
    assert j["memory"]["total"] > j["memory"]["available"] > 0, j["memory"]
    assert j["cpu"]["count"] == os.cpu_count(), j["cpu"]
    with open("/proc/uptime") as f:
        assert abs(j["uptime"] - float(f.read().split()[0])) < 60
    disks = {d["name"]: d for d in j["disks"]}
    for name in ("mailbox", "spool"):
        st = os.statvfs(disks[name]["path"])
        assert disks[name]["total"] == st.f_blocks * st.f_frsize
        assert 0 < disks[name]["free"] <= disks[name]["total"]
    # the instance's certificate, read back with openssl
    cert = j["tls"]
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in",
                          cert["file"]], capture_output=True, text=True,
                         check=True).stdout
    end = time.strptime(out.strip().split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
    assert cert["not_after"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", end), \
        (cert, out)
    days = int((time.mktime(end) - time.mktime(time.gmtime())) // 86400)
    assert abs(cert["days_left"] - days) <= 1, (cert, days)


# --- /metrics ----------------------------------------------------------------
PARSE = r"""
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        key = s.name + json.dumps(dict(sorted(s.labels.items())))
        out[key] = [fam.type, s.value]
json.dump(out, sys.stdout)
"""


def _metrics(token, inst):
    import urllib.request
    req = urllib.request.Request(
        f"http://127.0.0.1:{inst.ports['webadmin']}/metrics",
        headers={"Authorization": "Bearer " + token})
    r = urllib.request.urlopen(req, timeout=10)
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = r.read().decode()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    p = subprocess.run([SYSTEM_PYTHON, "-c", PARSE], input=text,
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, (p.stderr, text)
    return {k: v[1] for k, v in json.loads(p.stdout).items()}, \
        {k: v[0] for k, v in json.loads(p.stdout).items()}, text


def _m(name, **labels):
    return name + json.dumps(dict(sorted(labels.items())))


def test_metrics_parse_and_move(inst):
    assert os.path.exists(SYSTEM_PYTHON)
    c = wa.root(inst)
    token = wa.ok(c.call("POST", "/api/tokens", {"name": "mgweb"}),
                  201)["token"]
    # youju-mailgraph has read the log to its end
    deadline = time.time() + 30
    while True:
        before, types, text = _metrics(token, inst)
        if _m("youju_mailgraph_log_lines_total") in before:
            time.sleep(1.5)
            again = _metrics(token, inst)[0]
            if again == before or all(
                    again[k] == before[k] for k in before
                    if k.startswith(("youju_mail_", "youju_logins",
                                     "youju_auth", "youju_smtpd",
                                     "youju_delivery"))):
                break
        assert time.time() < deadline, text
        time.sleep(0.5)
    assert types[_m("youju_mail_messages_total", ds="recv")] == "counter"
    assert types[_m("youju_delivery_delay_seconds_bucket", le="+Inf")] == \
        "histogram"
    for d in ("youju-authd", "youju-mta", "youju-mailgraph", "mariadb"):
        assert before[_m("youju_up", daemon=d)] == 1, d
    for q in ("incoming", "active", "deferred", "hold"):
        assert _m("youju_queue_messages", queue=q) in before, q
    assert before[_m("youju_disk_free_bytes", disk="spool")] > 0
    assert before[_m("youju_tls_cert_days_left")] > 0

    # the burst: 3 local deliveries, 1 relay reject, 1 bad SMTP AUTH,
    # 1 IMAP login over TLS, 1 failed IMAP login
    qids = _send(inst, PM, 3)
    deliverylib.outside_rejects(inst, OUTSIDE)
    with smtplib.SMTP(HOST, inst.ports["submission"], timeout=20) as s:
        s.starttls(context=_ctx())
        s.ehlo("client.example.net")
        # one attempt (login() would go on to the next mechanism)
        s.user, s.password = PM, "wrong-password"
        try:
            s.auth("PLAIN", s.auth_plain)
            raise AssertionError("a wrong password was taken")
        except smtplib.SMTPAuthenticationError:
            pass
    m = imaplib.IMAP4_SSL(HOST, inst.ports["imaps"], ssl_context=_ctx(),
                          timeout=15)
    m.login(PM, PASSWORD)
    m.logout()
    m = imaplib.IMAP4(HOST, inst.ports["imap"], timeout=15)
    try:
        m.login(PM, "wrong-password")
        raise AssertionError("a wrong IMAP password was taken")
    except imaplib.IMAP4.error:
        pass
    try:
        m.logout()
    except (imaplib.IMAP4.error, OSError):
        pass
    _delivered(inst, qids)
    want = {
        _m("youju_mail_messages_total", ds="recv"): 3,
        _m("youju_mail_messages_total", ds="rejected"): 1,
        _m("youju_smtpd_connections_total"): 5,
        _m("youju_auth_failures_total", service="smtp"): 1,
        _m("youju_auth_failures_total", service="imap"): 1,
        _m("youju_logins_total", service="imap", tls="yes"): 1,
        _m("youju_delivery_delay_seconds_count"): 3,
        _m("youju_delivery_delay_seconds_bucket", le="+Inf"): 3,
    }
    deadline = time.time() + 30
    while True:
        after = _metrics(token, inst)[0]
        got = {k: after[k] - before[k] for k in want}
        if got == want or time.time() > deadline:
            break
        time.sleep(0.5)
    time.sleep(2)  # and nothing more comes
    after = _metrics(token, inst)[0]
    got = {k: after[k] - before[k] for k in want}
    assert got == want, (got, want)
    # bytes in: the three messages' sizes, as the qmgr lines give them
    log = inst.maillog()
    size = sum(int(re.search(rf"{q}: from=<[^>]*>, size=(\d+)",
                             log).group(1)) for q in qids)
    assert after[_m("youju_mail_bytes_total", direction="in")] - \
        before[_m("youju_mail_bytes_total", direction="in")] == size
    # the histogram's buckets ascend to the count
    les = sorted((float(k.split('"le": "')[1].split('"')[0]), v)
                 for k, v in after.items()
                 if k.startswith("youju_delivery_delay_seconds_bucket"))
    assert [v for _, v in les] == sorted(v for _, v in les)
    assert les[-1][1] == after[_m("youju_delivery_delay_seconds_count")]


# last: a restart of youju-mailgraph skips the rest of the minute its last
# write covered (docs/mailgraph.md), which may be this one after the
# early close in setup_domains; the counting tests go before it
def test_status_shows_a_stopped_daemon(inst):
    c = wa.root(inst)
    pid = inst.live_pid("youju-mailgraph")
    assert pid > 0, "youju-mailgraph is not running"
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 20
    while inst.live_pid("youju-mailgraph") == pid:
        assert time.time() < deadline, "youju-mailgraph did not stop"
        time.sleep(0.05)
    try:
        d = {x["name"]: x for x in _status(c)["daemons"]}
        assert d["youju-mailgraph"]["running"] is False, d
        assert d["youju-mailgraph"]["pid"] is None, d
        assert d["youju-mailgraph"]["uptime"] is None, d
        assert d["youju-mta"]["running"] is True, d
    finally:
        r = inst.youju("start", timeout=180)
        assert r.returncode == 0, r.stdout + r.stderr
    d = {x["name"]: x for x in _status(c)["daemons"]}
    assert d["youju-mailgraph"]["running"] is True, d
    now = inst.live_pid("youju-mailgraph")
    assert d["youju-mailgraph"]["pid"] == now != pid, d
