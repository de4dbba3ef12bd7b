"""youju-mailgraph (issue 14): the daemon runs with the instance and keeps
mailgraph_ext's RRD files in rrd/; after a burst of real traffic (SMTP
from smtplib, a relay to a local sink, an error-routed bounce, a relay
reject, IMAP/IMAPS/POP3/POP3S logins) the counts the RRD files hold
(read back with the rrdtool CLI) equal the counts of the maillog lines
themselves, taken by this file's own rules; a restart resumes after the
last update without counting twice; `--cat` replays a Postfix log to the
expected totals and to the values Debian's own mailgraph computes from it.
"""
import calendar
import imaplib
import os
import poplib
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import deliverylib
import harness
import smtpsink

HOST = "127.0.0.1"
OUTSIDE = "127.0.0.23"
PM = "postmaster@extmail.org"
PASSWORD = "extmail"
SINK_PORT = harness.free_port()

deliverylib.add_routes(f"""mg-remote.example   smtp:[127.0.0.1]:{SINK_PORT}
mg-err.example      error:5.1.1 no mailbox here for the mailgraph test
""")

# the same values as test_mta.py and test_logs.py set
CONFIG = {
    "transport_maps": f"texthash:{deliverylib.TRANSPORT}",
    "mynetworks": "127.0.0.1/32 [::1]/128",
}

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "fixtures", "mailgraph")

MAIL_DS = ["sent", "recv", "bounced", "rejected"]
COURIER_DS = ["imapd_ssl_login", "imapd_login", "pop3d_ssl_login",
              "pop3d_login"]


def _ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


# --- the log, counted independently -----------------------------------------
_MON = {m: i for i, m in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_LINE = re.compile(r"^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d) \S+ "
                   r"([^\[:\s]+)(?:\[\d+\])?: (.*)$")


def _rules(name):
    n = re.escape(name)
    return [
        ("recv", rf"^{n}/smtpd$", r"^[0-9A-Za-z]+: client="),
        ("sent", rf"^{n}/smtp$", r"^[0-9A-Za-z]+: to=<.*\bstatus=sent\b"),
        ("bounced", rf"^{n}/(smtp|local|virtual|error)$",
         r"^[0-9A-Za-z]+: to=<.*\bstatus=bounced\b"),
        ("rejected", rf"^{n}/smtpd$",
         r"^([0-9A-Za-z]+: |NOQUEUE: )"
         r"(reject: |milter-reject: (?!.*Blocked by SpamAssassin))"),
        ("rejected", rf"^{n}/cleanup$", r"^[0-9A-Za-z]+: (reject|discard): "),
        ("imapd_ssl_login", rf"^({n}/mra|dovecot)$",
         r"^imap-login: Login: .*, TLS$"),
        ("imapd_login", rf"^({n}/mra|dovecot)$",
         r"^imap-login: Login: (?!.*, TLS$)"),
        ("pop3d_ssl_login", rf"^({n}/mra|dovecot)$",
         r"^pop3-login: Login: .*, TLS$"),
        ("pop3d_login", rf"^({n}/mra|dovecot)$",
         r"^pop3-login: Login: (?!.*, TLS$)"),
    ]


def log_counts(text, name, after=0, upto=None, year=None):
    """{ds: count} of the lines of minutes in (after, upto] (Unix times
    of minute starts; the log's stamps are UTC in the tests)."""
    rules = [(ds, re.compile(p), re.compile(m)) for ds, p, m in _rules(name)]
    year = year or time.gmtime().tm_year
    out = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        t = calendar.timegm((year, _MON[m[1]], int(m[2]), int(m[3]),
                             int(m[4]), int(m[5])))
        t -= t % 60
        if t <= after or (upto is not None and t > upto):
            continue
        for ds, prog, msg in rules:
            if prog.search(m[6]) and msg.search(m[7]):
                out[ds] = out.get(ds, 0) + 1
    return out


# --- the RRD files, read with the rrdtool CLI --------------------------------
def rrd_totals(path):
    """{ds: events since the file began}: the rows of the 8-step AVERAGE
    archive (rate x 480 s) plus its partial row (sum of rates x 60 s)."""
    r = subprocess.run(["rrdtool", "dump", path], capture_output=True,
                       text=True, timeout=60, check=True)
    root = ET.fromstring(r.stdout)
    names = [d.findtext("name").strip() for d in root.findall("ds")]
    rra = root.findall("rra")[0]
    assert rra.findtext("cf").strip() == "AVERAGE"
    assert int(rra.findtext("pdp_per_row")) == 8
    tot = dict.fromkeys(names, 0.0)
    for row in rra.find("database").findall("row"):
        for n, v in zip(names, row.findall("v")):
            if v.text.strip().lower() != "nan":
                tot[n] += float(v.text) * 480
    for n, ds in zip(names, rra.find("cdp_prep").findall("ds")):
        v = ds.findtext("value").strip()
        if v.lower() != "nan":
            tot[n] += float(v) * 60
    return {k: round(v) for k, v in tot.items()}


def rrd_last(path):
    r = subprocess.run(["rrdtool", "last", path], capture_output=True,
                       text=True, timeout=30, check=True)
    return int(r.stdout.strip())


# --- traffic -----------------------------------------------------------------
class _Sink(smtpsink.SmtpSink):
    NAME = "mgsink"
    QUEUED = "MGSINK"

    def __init__(self):
        super().__init__(SINK_PORT)


def _send(inst, rcpt, sender="someone@example.net"):
    msg = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: mailgraph\r\n"
           f"\r\n" + "x" * 500 + "\r\n")
    with smtplib.SMTP(HOST, inst.ports["smtp"], timeout=20) as s:
        s.ehlo("client.example.net")
        s.mail(sender)
        code, reply = s.rcpt(rcpt)
        assert code == 250, (rcpt, code, reply)
        code, reply = s.data(msg.encode())
        assert code == 250, reply
        return re.search(rb"queued as ([0-9A-F]+)", reply).group(1).decode()


def _reject(inst):
    deliverylib.outside_rejects(inst, OUTSIDE, "no-such-user-mg@extmail.org")


def _logins(inst):
    m = imaplib.IMAP4(HOST, inst.ports["imap"], timeout=15)
    m.login(PM, PASSWORD)
    m.logout()
    m = imaplib.IMAP4_SSL(HOST, inst.ports["imaps"], ssl_context=_ctx(),
                          timeout=15)
    m.login(PM, PASSWORD)
    m.logout()
    p = poplib.POP3(HOST, inst.ports["pop3"], timeout=15)
    p.user(PM)
    p.pass_(PASSWORD)
    p.quit()
    p = poplib.POP3_SSL(HOST, inst.ports["pop3s"], context=_ctx(),
                        timeout=15)
    p.user(PM)
    p.pass_(PASSWORD)
    p.quit()


def _stop_mailgraph(inst):
    pid = inst.live_pid("youju-mailgraph")
    assert pid > 0, "youju-mailgraph is not running"
    os.kill(pid, signal.SIGTERM)
    assert harness.wait_gone(pid, 20), "youju-mailgraph did not stop"


def _start_mailgraph(inst):
    r = inst.youju("start", timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert inst.live_pid("youju-mailgraph") > 0, r.stdout


def _rrd(inst, name):
    return inst.path("rrd", name)


# --- tests -------------------------------------------------------------------
def test_daemon_runs_with_the_instance(inst):
    r = inst.youju("status")
    assert re.search(r"youju-mailgraph\s+running \(pid \d+\)", r.stdout), \
        r.stdout
    for name, ds in (("mailgraph.rrd", MAIL_DS),
                     ("mailgraph_virus.rrd", ["virus", "spam"]),
                     ("mailgraph_bytes.rrd", ["bytesin", "bytesout"]),
                     ("mailgraph_courier.rrd", COURIER_DS),
                     ("mailgraph_webmail.rrd",
                      ["wmstat0", "wmstat1", "wmstat2", "wmstat3"]),
                     ("mailgraph_queue.rrd",
                      ["incoming", "maildrop", "active", "deferred",
                       "hold"])):
        info = subprocess.run(["rrdtool", "info", _rrd(inst, name)],
                              capture_output=True, text=True, check=True,
                              timeout=30).stdout
        assert "step = 60\n" in info, info[:500]
        assert re.findall(r"^ds\[(\w+)\]\.index", info, re.M) == ds, name
        for d in ds:
            assert f'ds[{d}].type = "ABSOLUTE"' in info
            assert f"ds[{d}].minimal_heartbeat = 120" in info
        rras = re.findall(r'^rra\[\d+\]\.cf = "(\w+)"\n'
                          r'rra\[\d+\]\.rows = (\d+)\n'
                          r'.*?rra\[\d+\]\.pdp_per_row = (\d+)', info,
                          re.M | re.S)
        assert rras == [(cf, "198", s) for cf in ("AVERAGE", "MAX")
                        for s in ("8", "56", "280", "3360")], rras


def test_burst_counts_equal_the_log(inst):
    """Stop, traffic, start (resume from the log), stop: what the files
    gained is what the log holds for the minutes after the last update;
    a further restart adds nothing."""
    sink = _Sink()
    try:
        _stop_mailgraph(inst)
        path = _rrd(inst, "mailgraph.rrd")
        last1 = rrd_last(path)
        mail1 = rrd_totals(path)
        cour1 = rrd_totals(_rrd(inst, "mailgraph_courier.rrd"))
        bytes1 = rrd_totals(_rrd(inst, "mailgraph_bytes.rrd"))
        # lines of the minute of the last update are skipped after a
        # restart (they may be written already): start the burst after it
        while time.time() < last1 + 61:
            time.sleep(0.2)
        start = inst.log_size()
        local_id = _send(inst, PM)
        remote_id = _send(inst, "friend@mg-remote.example", sender=PM)
        err_id = _send(inst, "x@mg-err.example", sender=PM)
        _reject(inst)
        _logins(inst)
        inst.wait_log(rf"{local_id}: to=<{re.escape(PM)}>.*status=sent",
                      since=start, timeout=30)
        inst.wait_log(rf"{remote_id}: to=<friend@mg-remote\.example>.*"
                      r"status=sent", since=start, timeout=30)
        inst.wait_log(rf"{err_id}: to=<x@mg-err\.example>.*status=bounced",
                      since=start, timeout=30)
        inst.wait_log(r"pop3-login: Login: .*TLS", since=start, timeout=30)
        _start_mailgraph(inst)
        time.sleep(2)  # it reads the log from the start
        _stop_mailgraph(inst)
        last2 = rrd_last(path)
        mail2 = rrd_totals(path)
        cour2 = rrd_totals(_rrd(inst, "mailgraph_courier.rrd"))
        bytes2 = rrd_totals(_rrd(inst, "mailgraph_bytes.rrd"))
        want = log_counts(inst.maillog(), "youju", after=last1, upto=last2)
        got = {k: mail2[k] - mail1[k] for k in MAIL_DS}
        got.update({k: cour2[k] - cour1[k] for k in COURIER_DS})
        assert got == {k: want.get(k, 0) for k in got}, (got, want)
        # and the burst itself is in there
        assert got["recv"] >= 3 and got["sent"] >= 1, got
        assert got["bounced"] >= 1 and got["rejected"] >= 2, got
        for k in COURIER_DS:
            assert got[k] >= 1, (k, got)
        # ~500-byte messages: bytes in from the smtpd-received ones
        assert bytes2["bytesin"] - bytes1["bytesin"] >= 3 * 500, bytes2
        assert bytes2["bytesout"] - bytes1["bytesout"] >= 500, bytes2
        # per-domain file of the hosted domain
        dom = rrd_totals(inst.path("rrd", "domain", "extmail.org.rrd"))
        assert dom["recv"] >= 1 and dom["sent"] >= 1, dom
        assert dom["bounced"] >= 1 and dom["rejected"] >= 1, dom

        # a restart with nothing new counts nothing twice
        _start_mailgraph(inst)
        time.sleep(2)
        _stop_mailgraph(inst)
        mail3 = rrd_totals(path)
        want3 = log_counts(inst.maillog(), "youju", after=last2,
                           upto=rrd_last(path))
        assert {k: mail3[k] - mail2[k] for k in MAIL_DS} == \
            {k: want3.get(k, 0) for k in MAIL_DS}
    finally:
        sink.close()
        if inst.live_pid("youju-mailgraph") == 0:
            _start_mailgraph(inst)


def test_queue_is_sampled(inst):
    r = subprocess.run(["rrdtool", "lastupdate",
                        _rrd(inst, "mailgraph_queue.rrd")],
                       capture_output=True, text=True, check=True,
                       timeout=30)
    assert r.stdout.split()[:5] == ["incoming", "maildrop", "active",
                                    "deferred", "hold"], r.stdout


def _cat(inst, rrd_dir, *files, name="postfix"):
    r = subprocess.run([inst.bin("youju-mailgraph"), "--cat", "-c",
                        inst.conf_path, "--rrd-dir", rrd_dir,
                        "--syslog-name", name, *files],
                       capture_output=True, text=True, env=inst.env,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_cat_postfix_log_totals(inst):
    log = os.path.join(FIXTURES, "postfix.log")
    with tempfile.TemporaryDirectory(dir=inst.home) as d:
        os.chmod(d, 0o755)  # --cat writes as mail_owner
        _cat(inst, d, log)
        year = time.gmtime().tm_year
        text = open(log).read()
        want = log_counts(text, "postfix", year=year)
        assert want == {"recv": 6, "sent": 4, "bounced": 2,
                        "rejected": 4, "imapd_login": 1,
                        "imapd_ssl_login": 1, "pop3d_ssl_login": 1}, want
        got = rrd_totals(os.path.join(d, "mailgraph.rrd"))
        assert got == {k: want.get(k, 0) for k in MAIL_DS}, got
        cour = rrd_totals(os.path.join(d, "mailgraph_courier.rrd"))
        assert cour == {k: want.get(k, 0) for k in COURIER_DS}, cour
        vs = rrd_totals(os.path.join(d, "mailgraph_virus.rrd"))
        assert vs == {"virus": 1, "spam": 2}, vs
        wm = rrd_totals(os.path.join(d, "mailgraph_webmail.rrd"))
        assert wm == {"wmstat0": 2, "wmstat1": 1, "wmstat2": 0,
                      "wmstat3": 1}, wm
        b = rrd_totals(os.path.join(d, "mailgraph_bytes.rrd"))
        # 1000 x 2 recipients + 2500 x 1 came in through smtpd; smtp
        # sent 1000 and 3000 (a locally posted one); the other two sent
        # messages have no qmgr line (no size) in the fixture
        assert b == {"bytesin": 4500, "bytesout": 4000}, b
        # the same replay again: nothing is counted twice
        _cat(inst, d, log)
        assert rrd_totals(os.path.join(d, "mailgraph.rrd")) == got


def test_cat_equals_debian_mailgraph(inst):
    """Debian's mailgraph on the same log: the rows both have are equal
    (but its first, see below)."""
    log = os.path.join(FIXTURES, "postfix.log")
    year = str(time.gmtime().tm_year)
    with tempfile.TemporaryDirectory(dir=inst.home) as d:
        os.chmod(d, 0o755)
        ours = os.path.join(d, "ours")
        deb = os.path.join(d, "deb")
        os.mkdir(deb)
        _cat(inst, ours, log)
        r = subprocess.run(["mailgraph", "--cat", "-l", log, "-y", year,
                            f"--daemon-rrd={deb}"], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        rows = {}
        for who, path in (("ours", ours), ("deb", deb)):
            f = os.path.join(path, "mailgraph.rrd")
            out = subprocess.run(
                ["rrdtool", "fetch", f, "AVERAGE", "-r", "480", "-s",
                 str(rrd_last(f) - 6 * 3600), "-e", str(rrd_last(f))],
                capture_output=True, text=True, check=True,
                timeout=30).stdout
            rows[who] = {}
            for line in out.splitlines()[2:]:
                t, vals = line.split(":")
                v = vals.split()
                if "nan" not in line.lower():
                    rows[who][int(t)] = [round(float(x) * 480) for x in v]
        # mailgraph.pl creates its file one second before the first
        # event, whose minute then lands before the file's start: its
        # first row reads 0 where ours holds that minute's events
        first = min(rows["deb"])
        assert sum(rows["ours"][first]) > 0 and \
            sum(rows["deb"][first]) == 0, rows
        both = (set(rows["ours"]) & set(rows["deb"])) - {first}
        assert len(both) >= 10, rows
        busy = 0
        for t in both:
            assert rows["ours"][t] == rows["deb"][t], (t, rows)
            busy += any(rows["ours"][t])
        assert busy >= 2, rows


# --- webadmin graphs ---------------------------------------------------------
GRAPHS = ["mail", "errors", "traffic", "queue", "logins", "webmail"]


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24],
                                                                "big")


def test_graph_pngs_and_roles(inst):
    import test_webadmin_api as wa
    assert os.path.exists(inst.path("rrd", "domain", "extmail.org.rrd")), \
        "run test_burst_counts_equal_the_log first"
    c = wa.root(inst)
    for g in GRAPHS:
        for period in ("day", "week", "month", "year"):
            st, body, h = c.call("GET", f"/api/graphs/{g}.png?period={period}")
            assert st == 200, (g, period, st, body)
            assert h["Content-Type"] == "image/png", h
            w, ht = _png_size(body)
            if os.environ.get("MG_SAVE_PNG"):  # to look at them
                with open(os.path.join(os.environ["MG_SAVE_PNG"],
                                       f"{g}-{period}.png"), "wb") as f:
                    f.write(body)
            assert w > 540 and ht > 160, (g, period, w, ht)
    # the cached copy is the same image
    a = c.call("GET", "/api/graphs/mail.png?period=day")[1]
    assert c.call("GET", "/api/graphs/mail.png?period=day")[1] == a
    # a hosted domain's own graphs
    for g in ("mail", "errors", "traffic"):
        st, body, _ = c.call("GET",
                             f"/api/graphs/{g}.png?domain=extmail.org")
        assert st == 200, (g, st, body)
        _png_size(body)
    # graphs without a per-domain form, bad names, periods and domains
    assert c.call("GET", "/api/graphs/queue.png?domain=extmail.org")[0] \
        == 404
    for bad in ("/api/graphs/nope.png", "/api/graphs/mail",
                "/api/graphs/mail.png.png", "/api/graphs/..%2fmail.png"):
        assert c.call("GET", bad)[0] == 404, bad
    assert c.call("GET", "/api/graphs/mail.png?period=hour")[0] == 400
    for d in ("../etc", "Extmail.org", "a..b", "x%2fy"):
        assert c.call("GET", f"/api/graphs/mail.png?domain={d}")[0] == 400, d
    # no session: no graphs
    assert wa.Client(inst).call("GET", "/api/graphs/mail.png")[0] == 401

    # a postmaster sees its own domains' graphs only
    wa.ok(c.call("POST", "/api/domains", {"domain": "mg-pm.test"}), 201)
    wa.ok(c.call("POST", "/api/managers",
                 {"username": "pm@mg-pm.test", "password": "pm-pass-12",
                  "type": "postmaster", "domains": ["mg-pm.test"]}), 201)
    pm = wa.Client(inst)
    wa.ok(pm.login("pm@mg-pm.test", "pm-pass-12"))
    assert pm.call("GET", "/api/graphs/mail.png?domain=extmail.org")[0] \
        == 403
    assert pm.call("GET", "/api/graphs/mail.png")[0] == 403
    # its own domain had no mail yet: no file, 404 (not 403)
    assert pm.call("GET", "/api/graphs/mail.png?domain=mg-pm.test")[0] \
        == 404


def test_rotation_and_truncation(inst):
    """The live daemon follows log_file across a rotation (rename, then
    `youju reload` reopens the logs) and a truncation: every line of the
    three pieces is counted once."""
    if inst.live_pid("youju-mailgraph") == 0:
        _start_mailgraph(inst)
    path = _rrd(inst, "mailgraph.rrd")
    # a restart skips the rest of the minute an earlier stop wrote
    while time.time() < rrd_last(path) + 61:
        time.sleep(0.2)
    time.sleep(1.5)  # it has read the log to its end
    last0 = rrd_last(path)
    tot0 = rrd_totals(path)
    log = inst.path("log", "maillog")
    pieces = []

    def text():
        # processes of the old generation may go on writing to maillog.1
        # for a while after the reload
        t = pieces[0] if pieces else ""
        if os.path.exists(log + ".1"):
            t += open(log + ".1", errors="replace").read()
        return t + inst.maillog()

    def mail_and_wait():
        qid = _send(inst, PM)
        rx = re.compile(rf"{qid}: to=<{re.escape(PM)}>.*status=sent")
        deadline = time.time() + 30
        while not rx.search(text()):
            assert time.time() < deadline, f"no delivery of {qid}"
            time.sleep(0.1)

    mail_and_wait()
    st = os.stat(log)
    os.rename(log, log + ".1")
    mail_and_wait_old = _send(inst, PM)  # still written to maillog.1
    # as logrotate's "create 0640 vmail vmail" does (a file the first
    # reopening root process made would be root's: see the report)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.fchown(fd, st.st_uid, st.st_gid)
    os.close(fd)
    r = inst.youju("reload")
    assert r.returncode == 0, r.stdout + r.stderr
    deadline = time.time() + 20
    while not os.path.exists(log) and time.time() < deadline:
        time.sleep(0.1)
    assert os.path.exists(log), "the daemons did not reopen the log"
    mail_and_wait()
    time.sleep(2)  # mailgraph switched to the new file
    with open(log) as f:
        pieces.append(f.read())
    with open(log, "r+") as f:
        f.truncate(0)
    time.sleep(2)  # it noticed the shorter file
    mail_and_wait()
    _reject(inst)
    time.sleep(2)
    _stop_mailgraph(inst)
    pieces.append(open(log + ".1").read())
    pieces.append(inst.maillog())
    last1 = rrd_last(path)
    tot1 = rrd_totals(path)
    want = log_counts("\n".join(pieces), "youju", after=last0, upto=last1)
    got = {k: tot1[k] - tot0[k] for k in MAIL_DS}
    assert got == {k: want.get(k, 0) for k in MAIL_DS}, (got, want)
    assert got["recv"] >= 4 and got["rejected"] >= 2, got
    assert mail_and_wait_old
    _start_mailgraph(inst)
