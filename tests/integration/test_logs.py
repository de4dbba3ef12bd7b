"""The mail log read by the admins' own tools (issue 4 item 9, issue 5
item 7, issue 6 item 4): Debian's pflogsumm (--syslog-name=youju) counts
youju-mta's received, delivered, bounced and rejected mail; fail2ban's
stock postfix filter (normal and auth modes) and dovecot filter, given
youju's program name through the filter's own _daemon parameter (the
filter files stay unchanged), find the rejected and failing client; and
mailgraph counts sent, received, bounced and rejected mail from the lines
as they are written with syslog_name = postfix.

One burst of traffic from an outside address (127.0.0.23: CONFIG in
test_mta.py trusts only 127.0.0.1) goes through the shared instance; the
tools read only the slice of the maillog written during the burst (other
modules' mail may still be retried in it, so counts are lower bounds)."""
import imaplib
import os
import poplib
import re
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import uuid

import deliverylib
import harness
import smtpsink

HOST = "127.0.0.1"
OUTSIDE = "127.0.0.23"
PM = "postmaster@extmail.org"
PASSWORD = "extmail"
SINK_PORT = harness.free_port()

# the transport table is shared with the delivery modules
deliverylib.add_routes(f"""logs-remote.example   smtp:[127.0.0.1]:{SINK_PORT}
logs-err.example      error:5.1.1 no mailbox here for the log test
""")

# the same values as test_mta.py and the delivery modules set
CONFIG = {
    "transport_maps": f"texthash:{deliverylib.TRANSPORT}",
    "mynetworks": "127.0.0.1/32 [::1]/128",
}

FAIL2BAN_DAEMON = r"youju/\w+"


def _ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


class _Sink(smtpsink.SmtpSink):
    """Takes every message on SINK_PORT (the remote end of a relay) and
    keeps the log tokens it carries."""
    NAME = "logsink"
    QUEUED = "LOGSINK"

    def __init__(self):
        self.tokens = set()
        super().__init__(SINK_PORT)

    def store(self, conn_no, mail_from, rcpts, data):
        m = re.search(rb"logtoken-([0-9a-f]+)", data)
        with self.lock:
            if m:
                self.tokens.add(m.group(1).decode())


class _OutsidePOP3(poplib.POP3):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(OUTSIDE, 0))


class _OutsideIMAP(imaplib.IMAP4):
    def _create_socket(self, timeout=None):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(OUTSIDE, 0))


def _send(inst, rcpt, sender="someone@example.net", source=None):
    token = uuid.uuid4().hex
    msg = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\n"
           f"Subject: log test logtoken-{token}\r\n"
           f"Message-Id: <{token}@example.net>\r\n\r\nhello\r\n")
    kw = {"source_address": (source, 0)} if source else {}
    with smtplib.SMTP(HOST, inst.ports["smtp"], timeout=20, **kw) as s:
        s.ehlo("client.example.net")
        s.mail(sender)
        code, reply = s.rcpt(rcpt)
        assert code == 250, (rcpt, code, reply)
        code, reply = s.data(msg.encode())
        assert code == 250, reply
        qid = re.search(rb"queued as ([0-9A-F]+)", reply).group(1).decode()
    return token, qid


def _outside_rejects(inst):
    """A relay attempt and an unknown user from OUTSIDE: two rejects."""
    deliverylib.outside_rejects(inst, OUTSIDE,
                                "no-such-user-logs@extmail.org")


def _outside_sasl_failure(inst):
    s = smtplib.SMTP(HOST, inst.ports["submission"], timeout=20,
                     source_address=(OUTSIDE, 0))
    s.ehlo("outside.example")
    s.starttls(context=_ctx())
    s.ehlo("outside.example")
    try:
        s.login(PM, "not-the-password")
        raise AssertionError("wrong password accepted")
    except smtplib.SMTPAuthenticationError as e:
        assert e.smtp_code == 535, e
    s.quit()


def _outside_mra_failures(inst):
    # over TLS: plaintext logins from another address are refused
    # (imap_login_disabled_without_tls = yes, as Dovecot's default)
    p = _OutsidePOP3(HOST, inst.ports["pop3"], timeout=15)
    p.stls(context=_ctx())
    p.user(PM)
    try:
        p.pass_("not-the-password")
        raise AssertionError("wrong password accepted")
    except poplib.error_proto:
        pass
    p.quit()
    m = _OutsideIMAP(HOST, inst.ports["imap"], timeout=15)
    m.starttls(ssl_context=_ctx())
    try:
        m.login(PM, "not-the-password")
        raise AssertionError("wrong password accepted")
    except imaplib.IMAP4.error:
        pass
    m.logout()


def _sendmail(inst):
    data = f"To: {PM}\nSubject: log test\n\nhi\n".encode()
    r = subprocess.run([os.path.abspath(inst.bin("youju")), "sendmail", PM],
                       input=data, capture_output=True, env=inst.env,
                       timeout=60)
    assert r.returncode == 0, r


_slice = None
_sink = None


def _traffic(inst):
    """Runs the burst once; returns the path of the maillog slice and what
    went through: each tool's expected lower bounds."""
    global _slice
    if isinstance(_slice, Exception):
        raise AssertionError("the traffic burst failed") from _slice
    if _slice is not None:
        return _slice
    try:
        _slice = _burst(inst)
    except Exception as e:
        _slice = e
        raise
    return _slice


def _burst(inst):
    global _sink
    if _sink is None:
        _sink = _Sink()
    sink = _sink
    start = inst.log_size()
    _, local_id = _send(inst, PM)
    remote_tok, remote_id = _send(inst, "friend@logs-remote.example",
                                  sender=PM)
    _, err_id = _send(inst, "x@logs-err.example", sender=PM)
    _outside_rejects(inst)
    _outside_sasl_failure(inst)
    _outside_mra_failures(inst)
    _sendmail(inst)
    # wait for every final line of the burst
    inst.wait_log(rf"youju/virtual\[\d+\]: {local_id}: to=<{re.escape(PM)}>"
                  r".*status=sent", since=start, timeout=30)
    inst.wait_log(rf"youju/smtp\[\d+\]: {remote_id}: "
                  r"to=<friend@logs-remote\.example>.*status=sent",
                  since=start, timeout=30)
    inst.wait_log(rf"youju/bounce\[\d+\]: {err_id}: sender non-delivery "
                  r"notification: ", since=start, timeout=30)
    inst.wait_log(r"youju/pickup\[\d+\]: ([0-9A-F]+): uid=\d+ "
                        r"from=<", since=start, timeout=30)
    sm_id = re.search(r"youju/pickup\[\d+\]: ([0-9A-F]+): uid=",
                      inst.maillog()[start:]).group(1)
    inst.wait_log(rf"{sm_id}: to=<{re.escape(PM)}>.*status=sent",
                  since=start, timeout=30)
    inst.wait_log(r"imap-login: Disconnected \(auth failed, \d+ attempts"
                  rf"[^)]*\): user=<{re.escape(PM)}>, method=\S+, "
                  rf"rip={re.escape(OUTSIDE)}", since=start, timeout=30)
    inst.wait_log(r"pop3-login: Disconnected \(auth failed, \d+ attempts"
                  rf"[^)]*\): user=<{re.escape(PM)}>, method=\S+, "
                  rf"rip={re.escape(OUTSIDE)}", since=start, timeout=30)
    deadline = time.time() + 15
    while remote_tok not in sink.tokens and time.time() < deadline:
        time.sleep(0.1)
    assert remote_tok in sink.tokens
    tmp = tempfile.mkdtemp(prefix="logs-", dir=inst.home)  # removed with it
    path = os.path.join(tmp, "maillog")
    with open(inst.path("log", "maillog"), "rb") as f:
        f.seek(start)
        data = f.read()
    with open(path, "wb") as f:
        f.write(data)
    return {
        "path": path,
        "dir": tmp,
        # local + relayed + error-routed (smtpd client=) + sendmail (pickup)
        "received": 4,
        # local, relayed, sendmail, and the bounce notice to PM
        "delivered": 4,
        "bounced": 1,
        "rejected": 2,
    }


# --- the program names -------------------------------------------------------
def test_lines_carry_postfix_service_names(inst):
    """Each line comes under the name of the Postfix program that writes
    it, whichever youju process wrote it."""
    text = open(_traffic(inst)["path"], errors="replace").read()
    for pat in (r" youju/smtpd\[\d+\]: [0-9A-F]+: client=localhost"
                r"\[127\.0\.0\.1\]\n",
                r" youju/cleanup\[\d+\]: [0-9A-F]+: message-id=<[0-9a-f]+"
                r"@example\.net>\n",
                r" youju/qmgr\[\d+\]: [0-9A-F]+: from=<[^>]*>, size=\d+, "
                r"nrcpt=1 \(queue active\)\n",
                r" youju/pickup\[\d+\]: [0-9A-F]+: uid=\d+ from=<\S+>\n",
                r" youju/virtual\[\d+\]: [0-9A-F]+: to=<\S+>, relay=virtual,"
                r" delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent "
                r"\(delivered to maildir\)\n",
                r" youju/smtp\[\d+\]: [0-9A-F]+: to=<friend@logs-remote\."
                r"example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*"
                r"status=sent \(250 2\.0\.0 Ok: queued as LOGSINK\)\n",
                r" youju/error\[\d+\]: [0-9A-F]+: to=<x@logs-err\.example>, "
                r"relay=none, .*dsn=5\.1\.1, status=bounced ",
                r" youju/bounce\[\d+\]: [0-9A-F]+: sender non-delivery "
                r"notification: [0-9A-F]+\n",
                r" youju/smtpd\[\d+\]: NOQUEUE: reject: RCPT from unknown"
                r"\[127\.0\.0\.23\]: 554 5\.7\.1 ",
                r" youju/smtpd\[\d+\]: warning: unknown\[127\.0\.0\.23\]: "
                r"SASL (PLAIN|LOGIN) authentication failed: ",
                r" youju/mra\[\d+\]: imap-login: Disconnected \(auth failed"):
        assert re.search(pat, text), pat
    # the pickup session is counted once: no client= line of its own
    sm_ids = re.findall(r"youju/pickup\[\d+\]: ([0-9A-F]+): uid=", text)
    assert sm_ids
    for qid in sm_ids:
        assert not re.search(rf"{qid}: client=", text), qid


# --- pflogsumm ---------------------------------------------------------------
_UNITS = {"": 1, "k": 1024, "m": 1024 * 1024}


def _grand_totals(report):
    """{"received": n, "bytes received": n, ...} from "Grand Totals"."""
    part = report.split("Grand Totals", 1)[1].split("Per-Hour", 1)[0]
    out = {}
    for m in re.finditer(r"^\s*(\d+)([km]?)\s+([a-z][a-z /]*?)\s*(\(|$)",
                         part, re.M):
        out[m.group(3)] = int(m.group(1)) * _UNITS[m.group(2)]
    return out


def test_pflogsumm_counts(inst):
    t = _traffic(inst)
    r = subprocess.run(["pflogsumm", "--syslog-name=youju", t["path"]],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # a line pflogsumm cannot parse makes perl warn "uninitialized value"
    assert "uninitialized" not in r.stderr, r.stderr[:2000]
    g = _grand_totals(r.stdout)
    for k in ("received", "delivered", "bounced", "rejected"):
        assert g.get(k, 0) >= t[k], (k, g, r.stdout[:3000])
    # sizes and senders come from the qmgr "from=<>, size=" lines
    assert g.get("bytes received", 0) > 0, g
    assert g.get("bytes delivered", 0) > 0, g
    assert g.get("senders", 0) >= 2, g
    # the per-host tables name the relayed destination
    assert "logs-remote.example" in r.stdout
    assert "Relay access denied" in r.stdout


# --- fail2ban ----------------------------------------------------------------
def _fail2ban_ips(logfile, filt):
    r = subprocess.run(["fail2ban-regex", "-o", "ip", logfile, filt],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (filt, r.stdout[-2000:], r.stderr[-2000:])
    return [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]


def _filter(name, **params):
    """A stock filter with jail parameters: what jail.local's
    `filter = postfix[...]` line gives (docs/mta.md, "Logs")."""
    args = [f'_daemon="{FAIL2BAN_DAEMON}"']
    args += [f"{k}={v}" for k, v in params.items()]
    return f"{name}[{', '.join(args)}]"


def test_fail2ban_postfix_rejects(inst):
    t = _traffic(inst)
    assert os.path.exists("/etc/fail2ban/filter.d/postfix.conf")
    ips = _fail2ban_ips(t["path"], _filter("postfix"))
    # the relay attempt and the unknown user
    assert ips.count(OUTSIDE) >= 2, ips
    # the stock filter as shipped sees nothing: the name is the only gap
    assert OUTSIDE not in _fail2ban_ips(t["path"], "postfix")


def test_fail2ban_postfix_sasl(inst):
    t = _traffic(inst)
    ips = _fail2ban_ips(t["path"], _filter("postfix", mode="auth"))
    assert OUTSIDE in ips, ips


def test_fail2ban_dovecot(inst):
    t = _traffic(inst)
    assert os.path.exists("/etc/fail2ban/filter.d/dovecot.conf")
    ips = _fail2ban_ips(t["path"], _filter("dovecot"))
    # one POP3 and one IMAP login failure
    assert ips.count(OUTSIDE) >= 2, ips


# --- mailgraph ---------------------------------------------------------------
def test_mailgraph_counts(inst):
    """mailgraph knows only "postfix/<service>": the lines as written with
    syslog_name = postfix (the prefix is the only difference; the unit
    test of lib/log checks syslog_name)."""
    t = _traffic(inst)
    lines = open(t["path"], errors="replace").read().splitlines()
    renamed = [re.sub(r"^(\S+ +\d+ \S+ \S+) youju/", r"\1 postfix/", ln)
               for ln in lines]
    # mailgraph adds up a minute's events and writes them when an event of
    # a later minute comes; the first event's minute only creates the RRD
    # (the update at its start time is refused).  So a short file read
    # with --cat needs an event minutes before the slice and one after;
    # the minutes between get zeros, and the RRD's finest step (8 minutes,
    # consolidated when half of them are known) then has the slice's
    # counts.
    year = time.localtime().tm_year
    first = time.mktime(time.strptime(f"{lines[0][:15]} {year}",
                                      "%b %d %H:%M:%S %Y"))
    last = time.mktime(time.strptime(f"{lines[-1][:15]} {year}",
                                     "%b %d %H:%M:%S %Y"))
    host = lines[0].split()[3]

    def marker(when):
        stamp = time.strftime("%b %e %H:%M:%S", time.localtime(when))
        return (f"{stamp} {host} postfix/smtpd[1]: NOQUEUE: reject: RCPT "
                "from unknown[192.0.2.1]: 554 5.7.1 marker; proto=SMTP")

    renamed = [marker(first - 960)] + renamed + [marker(last + 960)]
    log = os.path.join(t["dir"], "maillog.postfix")
    with open(log, "w") as f:
        f.write("\n".join(renamed) + "\n")
    r = subprocess.run(["mailgraph", "--cat", "-v", "-l", log,
                        f"--daemon-rrd={t['dir']}", "--rrd-name=youju",
                        "--no-virus-rrd", "--no-greylist-rrd"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    sums = [0, 0, 0, 0]  # sent, received, bounced, rejected
    updates = re.findall(r"^update \d+:(\d+):(\d+):(\d+):(\d+)", r.stdout,
                         re.M)
    for m in updates[1:]:   # the first is the marker's minute
        for i in range(4):
            sums[i] += int(m[i])
    sent, received, bounced, rejected = sums
    assert sent >= 1, r.stdout          # relayed through postfix/smtp
    assert received >= 3, r.stdout      # smtpd client= lines
    assert bounced >= 1, r.stdout       # postfix/error status=bounced
    assert rejected >= 2, r.stdout
    rrd = os.path.join(t["dir"], "youju.rrd")
    f = subprocess.run(["rrdtool", "fetch", rrd, "AVERAGE", "-r", "480",
                        "-s", str(int(first) - 960), "-e",
                        str(int(last) + 960)],
                       capture_output=True, text=True, timeout=60)
    assert f.returncode == 0, f.stderr
    rows = [ln.split(":", 1)[1].split() for ln in f.stdout.splitlines()
            if re.match(r"^\d+:", ln)]
    vals = [[float(v) for v in row] for row in rows
            if all(v not in ("nan", "-nan") for v in row)]
    assert any(v[0] > 0 for v in vals), f.stdout   # sent
    assert any(v[1] > 0 for v in vals), f.stdout   # recv


# the root masters: each reopens the log on SIGHUP, then starts its new
# children, which inherit it, and logs "configuration reloaded" last
MASTERS = ("youju-authd", "youju-mta", "youju-mra")
# one process each, reopening the log themselves on SIGHUP
LONE_DAEMONS = ("youju-webmail", "youju-webadmin", "youju-mailgraph")


def _log_inodes(pid, log):
    """The inodes of the descriptors pid holds open for writing on log or
    on a file that was log (renamed or removed)."""
    out = []
    fds = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fds)
    except OSError:
        return out
    for fd in names:
        try:
            if not os.readlink(f"{fds}/{fd}").startswith(log):
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(ln.split(":", 1) for ln in f if ":" in ln)
            if int(info["flags"].strip(), 8) & os.O_ACCMODE == 0:
                continue  # a reader (youju-mailgraph follows the log)
            out.append(os.stat(f"{fds}/{fd}").st_ino)
        except (OSError, KeyError, ValueError):
            continue  # closed meanwhile
    return out


def _wait_reloaded(inst, log, since=0, timeout=20):
    """Waits until a `youju reload` has reached every daemon: each root
    master has logged its reload into the file now at log (from byte
    since), so it and its new children write that file, and the daemons
    without children write it too.  (The first "configuration reloaded"
    line alone is not that: other daemons may still be on the old file.)
    Children of the old generation that still finish their sessions keep
    the file they had until they exit."""
    deadline = time.time() + timeout
    while True:
        try:
            ino = os.stat(log).st_ino
            with open(log, "rb") as f:
                text = f.read()[since:]
        except FileNotFoundError:
            ino, text = None, b""
        late = [n for n in MASTERS if inst.live_pid(n) and not re.search(
            rb"\[%d\]: .*configuration reloaded" % inst.live_pid(n), text)]
        late += [n for n in LONE_DAEMONS if inst.live_pid(n) and set(
            _log_inodes(inst.live_pid(n), log)) != {ino}]
        if ino is not None and not late:
            return
        assert time.time() < deadline, \
            f"{log}: the reload has not reached {late}"
        time.sleep(0.05)


def _undo_rotation(inst, log, rotated):
    """Puts the rotated lines back at log, followed by what came since, and
    leaves every daemon writing that file even when a check failed: the
    modules after this one wait for log lines."""
    # let a reload sent by the test finish (if it was sent: without it no
    # file is at log), so that no daemon opens the new file after the old
    # one is put back below
    if os.path.exists(log):
        try:
            _wait_reloaded(inst, log)
        except AssertionError:
            pass
    # the old lines first, then what came since; the daemons reopen
    new = open(log, "rb").read() if os.path.exists(log) else b""
    with open(rotated, "ab") as f:
        f.write(new)
    os.rename(rotated, log)
    since = inst.log_size()
    inst.youju("reload", check=True)
    _wait_reloaded(inst, log, since)


def test_zz_rotated_log_gets_mail_owner(inst):
    """After a rotation (the file renamed away), `youju reload` makes the
    root masters open log_file again: the file they create belongs to
    mail_owner, not root, so the processes that dropped root can reopen it
    (issue 10, small defects).  The rotated lines are put back after, and
    the cleanup leaves every daemon writing the restored file even when a
    check failed: the modules after this one wait for log lines."""
    import pwd
    log = inst.path("log", "maillog")
    rotated = log + ".rotated"
    owner = inst.youju("conf", "-h", "mail_owner", check=True).stdout.strip()
    want = pwd.getpwnam(owner)
    os.rename(log, rotated)
    try:
        inst.youju("reload", check=True)
        # the master makes the file under a temporary name, gives it to
        # mail_owner, then links it in: the first stat that finds it must
        # already show mail_owner (lib/log.c)
        deadline = time.time() + 10
        st = None
        while st is None and time.time() < deadline:
            try:
                st = os.stat(log)
            except FileNotFoundError:
                time.sleep(0.02)
        assert st is not None, f"{log} was not made again"
        assert (st.st_uid, st.st_gid) == (want.pw_uid, want.pw_gid), \
            f"{log} is {st.st_uid}:{st.st_gid}, want {owner}"
        _wait_reloaded(inst, log)
    finally:
        _undo_rotation(inst, log, rotated)


def test_zz_rotation_followed_by_old_sessions(inst):
    """A session that began before a rotation and its `youju reload` is
    finished by the old youju-smtpd, which nobody tells to reopen: its
    lines written a second after the new file appeared reach it (lib/log.c
    checks the name once a second), not only the rotated file, where
    fail2ban and mailgraph never look."""
    log = inst.path("log", "maillog")
    rotated = log + ".rotated"
    s = smtplib.SMTP(HOST, inst.ports["smtp"], timeout=20)
    moved = False
    try:
        s.ehlo("old-session.example")
        os.rename(log, rotated)
        moved = True
        inst.youju("reload", check=True)
        _wait_reloaded(inst, log)
        # a process checks at most once a second: a line it writes in
        # the second it last checked may still go to the old file
        time.sleep(1.1)
        s.mail("someone@example.net")
        code, _ = s.rcpt("postmaster@extmail.org")
        assert code == 250
        code, resp = s.data(b"Subject: old session\r\n\r\nafter the "
                            b"rotation\r\n")
        assert code == 250, resp
        qid = resp.decode().rsplit(" ", 1)[-1]
        line = f": {qid}: client=".encode()
        deadline = time.time() + 10
        while line not in open(log, "rb").read():
            assert time.time() < deadline, \
                f"{qid}'s client= line (old youju-smtpd) is not in {log}"
            time.sleep(0.05)
        assert line not in open(rotated, "rb").read()
    finally:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass
        if moved:
            _undo_rotation(inst, log, rotated)
