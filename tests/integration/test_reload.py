"""`youju reload` reaches every process and every parameter (issue 10):
relayhost and transport_maps reach the queue manager, new TLS files are
served, listen addresses come and go, youju-authd and youju-mra settings
change, sessions open across a reload finish on the old process, and a
broken configuration keeps every daemon running as it was.  Real clients:
smtplib, imaplib, ssl, raw sockets on the authd socket, and an SMTP sink
written here.  Each test puts youju.cf back as it found it (the instance
is shared with the other modules)."""
import contextlib
import imaplib
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import uuid

import harness
import smtpsink

HOST = "127.0.0.1"
PM = "postmaster@extmail.org"
PASSWORD = "extmail"


# ------------------------------------------------------------- helpers
class Sink(smtpsink.SmtpSink):
    """An SMTP server that keeps every message it is given."""
    NAME = "reload-sink"
    QUEUED = "RELOADSINK"

    def __init__(self):
        super().__init__(harness.free_port())

    def store(self, conn_no, mail_from, rcpts, data):
        # (rcpts, data)
        with self.lock:
            self.messages.append((rcpts, data))

    def find(self, token, timeout=30):
        return super().find(token, timeout)


def conf_get(inst, name):
    return inst.youju("conf", "-h", name, check=True).stdout.rstrip("\n")


def conf_set(inst, **params):
    for k, v in params.items():
        r = inst.youju("conf", "-e", f"{k}={v}")
        assert r.returncode == 0, r.stdout + r.stderr


RELOAD_DONE = {
    "youju-mta": r"smtpd\[\d+\]: (reload: .*configuration reloaded|"
                 r"error: reload: .*keeping the old configuration)",
    "youju-mra": r"mra\[\d+\]: (reload: .*configuration reloaded|"
                 r"error: reload: .*keeping the old configuration)",
    "youju-authd": r"authd\[\d+\]: (authd: configuration reloaded|"
                   r"error: authd: reload failed.*)",
}


def reload_all(inst, signal_only=False):
    """`youju reload` (signal_only: SIGHUP to each daemon, as `youju
    reload` refuses a file that does not load); returns {daemon: the log
    line that ends its reload}."""
    since = inst.log_size()
    if signal_only:
        for d in RELOAD_DONE:
            inst.reload(d)
    else:
        r = inst.youju("reload")
        assert r.returncode == 0, r.stdout + r.stderr
    return {d: inst.wait_log(rx, since=since, timeout=30).group(0)
            for d, rx in RELOAD_DONE.items()}


@contextlib.contextmanager
def settings(inst, **params):
    """Sets parameters with `youju conf -e`, reloads; afterwards puts the
    file back byte for byte and reloads again."""
    with open(inst.conf_path, "rb") as f:
        saved = f.read()
    try:
        conf_set(inst, **params)
        res = reload_all(inst)
        for d, line in res.items():
            assert "reloaded" in line, (d, line)
        yield
    finally:
        with open(inst.conf_path, "wb") as f:
            f.write(saved)
        reload_all(inst)


def send(inst, rcpt, port="smtp"):
    token = uuid.uuid4().hex
    with smtplib.SMTP(HOST, inst.ports[port], timeout=30) as s:
        s.sendmail(PM, [rcpt], f"From: <{PM}>\r\nTo: <{rcpt}>\r\n"
                   f"Subject: reload {token}\r\n\r\n{token}\r\n")
    return token


def greeting(port, timeout=5):
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.settimeout(timeout)
        return s.recv(512)


def refused(port, timeout=10):
    """True once a connection to port is refused (within timeout)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=2) as s:
                s.settimeout(2)
                s.recv(512)
        except ConnectionRefusedError:
            return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def server_cert_der(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((HOST, port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as s:
            return s.getpeercert(binary_form=True)


def file_cert_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def authd(inst, user, password, path=None):
    body = f"imap\nlogin\n{user}\n{password}\n".encode()
    return harness.unix_request(path or inst.authd_socket,
                                b"AUTH %d\n" % len(body) + body)


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                         text=True).stdout.split()
    return [int(p) for p in out]


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


# --------------------------------------------------------------- tests
def test_relayhost_reaches_the_queue_manager(inst):
    sink = Sink()
    try:
        with settings(inst, relayhost=f"[127.0.0.1]:{sink.port}"):
            rcpt = "someone@reload-relay.example"
            token = send(inst, rcpt)
            hit = sink.find(token)
            assert hit is not None, "the relayhost never got the message"
            assert hit[0] == [rcpt], hit[0]
            inst.wait_log(rf"to=<{re.escape(rcpt)}>, relay=127\.0\.0\.1"
                          rf"\[127\.0\.0\.1\]:{sink.port}.*status=sent")
    finally:
        sink.close()


def test_transport_maps_parameter_reloaded(inst):
    sink = Sink()
    tdir = tempfile.mkdtemp(prefix="youju-reload-")
    os.chmod(tdir, 0o755)
    table = os.path.join(tdir, "transport")
    with open(table, "w") as f:
        f.write(f"reload-route.example smtp:[127.0.0.1]:{sink.port}\n")
    os.chmod(table, 0o644)
    try:
        with settings(inst, transport_maps=f"texthash:{table}"):
            token = send(inst, "x@reload-route.example")
            hit = sink.find(token)
            assert hit is not None, "transport_maps did not take effect"
    finally:
        sink.close()


def _make_cert(inst, cn):
    d = inst.path("etc", "tls")
    os.makedirs(d, exist_ok=True)
    key = os.path.join(d, f"{cn}.key")
    crt = os.path.join(d, f"{cn}.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "2",
                    "-subj", f"/CN={cn}"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return crt, key


def test_tls_files_reloaded(inst):
    crt, key = _make_cert(inst, "reload-test.example")
    new = file_cert_der(crt)
    before = {p: server_cert_der(inst.ports[p])
              for p in ("smtps", "imaps", "pop3s")}
    for p, der in before.items():
        assert der != new, p
    with settings(inst, smtpd_tls_cert_file=crt, smtpd_tls_key_file=key):
        for p in ("smtps", "imaps", "pop3s"):
            assert server_cert_der(inst.ports[p]) == new, p
        # STARTTLS on submission too
        with smtplib.SMTP(HOST, inst.ports["submission"], timeout=20) as s:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s.starttls(context=ctx)
            assert s.sock.getpeercert(binary_form=True) == new
    for p, der in before.items():
        assert server_cert_der(inst.ports[p]) == der, p


def _submission_ehlo(inst):
    with smtplib.SMTP(HOST, inst.ports["submission"], timeout=20) as s:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s.starttls(context=ctx)
        s.ehlo("client.example")
        return dict(s.esmtp_features)


def test_sasl_and_limits_reloaded(inst):
    before = _submission_ehlo(inst)
    assert "auth" in before and "PLAIN" in before["auth"], before
    with settings(inst, smtpd_sasl_auth_enable="no",
                  message_size_limit="123456"):
        during = _submission_ehlo(inst)
        assert "auth" not in during, during
        assert during.get("size") == "123456", during
    assert _submission_ehlo(inst) == before


def test_listen_addresses_come_and_go(inst):
    old_smtp = conf_get(inst, "smtp_listen")
    old_imap = conf_get(inst, "imap_listen")
    p_smtp, p_imap = harness.free_port(), harness.free_port()
    assert refused(p_smtp, 1) and refused(p_imap, 1)
    # a session open across the reload finishes on the old process
    s = smtplib.SMTP(HOST, inst.ports["smtp"], timeout=20)
    s.ehlo("before.example")
    m = imaplib.IMAP4(HOST, inst.ports["imap"], timeout=20)
    m.login(PM, PASSWORD)
    with settings(inst, smtp_listen=f"{old_smtp} 127.0.0.1:{p_smtp}",
                  imap_listen=f"{old_imap} 127.0.0.1:{p_imap}"):
        assert greeting(p_smtp).startswith(b"220 "), p_smtp
        assert greeting(p_imap).startswith(b"* OK"), p_imap
        assert greeting(inst.ports["smtp"]).startswith(b"220 ")
        assert greeting(inst.ports["imap"]).startswith(b"* OK")
        # the old sessions go on
        assert s.mail(PM)[0] == 250
        assert s.rcpt(PM)[0] == 250
        assert s.data(b"Subject: across a reload\r\n\r\nhi\r\n")[0] == 250
        s.quit()
        assert m.select("INBOX")[0] == "OK"
        assert m.noop()[0] == "OK"
        m.logout()
    # the file is back: the extra ports stop answering, the old ones stay
    assert refused(p_smtp), f"port {p_smtp} still answers"
    assert refused(p_imap), f"port {p_imap} still answers"
    assert greeting(inst.ports["smtp"]).startswith(b"220 ")
    assert greeting(inst.ports["imap"]).startswith(b"* OK")


def test_authd_settings_reloaded(inst):
    # authd_default_domain: a login name without a domain gets one
    assert authd(inst, "postmaster", PASSWORD) == b"FAIL\n"
    with settings(inst, authd_default_domain="extmail.org"):
        out = authd(inst, "postmaster", PASSWORD)
        assert out.endswith(b".\n") and b"ADDRESS=" + PM.encode() in out, \
            out
        # IMAP goes through the same authd
        m = imaplib.IMAP4(HOST, inst.ports["imap"], timeout=20)
        m.login("postmaster", PASSWORD)
        m.logout()
    # an SQL setting: the connection goes to another database
    with settings(inst, mysql_dbname="youju_reload_nonexistent"):
        out = authd(inst, PM, PASSWORD)
        assert not out.endswith(b".\n"), out
    assert authd(inst, PM, PASSWORD).endswith(b".\n")


def test_authd_socket_and_password_file_reloaded(inst):
    # a root-only password file with a wrong password: read at the reload
    # (youju-authd's server runs as the mail owner and could not)
    bad = inst.path("etc", "secrets", "reload-wrong")
    os.makedirs(os.path.dirname(bad), exist_ok=True)
    with open(bad, "w") as f:
        f.write("not-the-password\n")
    os.chmod(bad, 0o600)
    with settings(inst, mysql_password_file=bad):
        out = authd(inst, PM, PASSWORD)
        assert not out.endswith(b".\n"), out
    assert authd(inst, PM, PASSWORD).endswith(b".\n")
    # the socket moves; youju-mta and youju-mra follow it
    new = inst.path("run", "authd-reload", "socket")
    with settings(inst, authd_socket=new):
        assert authd(inst, PM, PASSWORD, path=new).endswith(b".\n")
        assert not os.path.exists(inst.authd_socket)
        m = imaplib.IMAP4(HOST, inst.ports["imap"], timeout=20)
        m.login(PM, PASSWORD)
        m.logout()
        with smtplib.SMTP(HOST, inst.ports["submission"], timeout=20) as s:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s.starttls(context=ctx)
            assert s.login(PM, PASSWORD)[0] == 235
    assert authd(inst, PM, PASSWORD).endswith(b".\n")
    assert not os.path.exists(new)


def test_authd_cache_ttl_reloaded(inst):
    user = "reload-cache@extmail.org"
    pwhash = subprocess.run(["openssl", "passwd", "-1", "pw"],
                            capture_output=True, text=True,
                            check=True).stdout.strip()
    inst.sql("INSERT INTO mailbox (username, uid, password, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active, name) "
             f"VALUES ('{user}', 'reload-cache', '{pwhash}', "
             "'extmail.org/reload-cache/Maildir/', "
             "'extmail.org/reload-cache', '5242880', 'extmail.org', "
             "'1000', '1000', '1', 'reload-cache')")
    try:
        # a long TTL: an edit in SQL is not seen at once
        with settings(inst, authd_cache_ttl="60"):
            assert authd(inst, user, "pw").endswith(b".\n")
            inst.sql(f"UPDATE mailbox SET active=0 WHERE username='{user}'")
            assert authd(inst, user, "pw").endswith(b".\n"), "not cached"
            inst.sql(f"UPDATE mailbox SET active=1 WHERE username='{user}'")
        # no cache: it is
        with settings(inst, authd_cache_ttl="0"):
            assert authd(inst, user, "pw").endswith(b".\n")
            inst.sql(f"UPDATE mailbox SET active=0 WHERE username='{user}'")
            assert authd(inst, user, "pw") == b"FAIL\n", "still cached"
    finally:
        inst.sql(f"DELETE FROM mailbox WHERE username='{user}'")


def test_mra_settings_reloaded(inst):
    mra = inst.daemon_pid("youju-mra")

    def workers():
        return [p for p in children(mra)]

    # the configured count (an earlier reload's old workers may still be
    # finishing their sessions: wait for them rather than count them)
    before = os.cpu_count() or 1
    with open(inst.conf_path) as f:
        for line in f:
            k, _, v = line.partition("=")
            if k.strip() == "mra_process_count" and v.strip() != "0":
                before = int(v)
    deadline = time.time() + 30
    while len(workers()) != before and time.time() < deadline:
        time.sleep(0.1)
    assert len(workers()) == before, workers()
    n = before + 1
    # the number of worker processes, and a limit they apply
    with settings(inst, mra_process_count=str(n),
                  mra_max_userip_connections="1"):
        deadline = time.time() + 30
        while len(workers()) != n and time.time() < deadline:
            time.sleep(0.1)
        assert len(workers()) == n, workers()
        a = imaplib.IMAP4(HOST, inst.ports["imap"], timeout=20)
        a.login(PM, PASSWORD)
        b = imaplib.IMAP4(HOST, inst.ports["imap"], timeout=20)
        try:
            b.login(PM, PASSWORD)
            second = "OK"
        except imaplib.IMAP4.error as e:
            second = str(e)
        assert "connections" in second.lower(), second
        a.logout()
        with contextlib.suppress(Exception):
            b.logout()
    deadline = time.time() + 30
    while len(workers()) != before and time.time() < deadline:
        time.sleep(0.1)
    assert len(workers()) == before, workers()
    # back to the default: two logins of one user are fine
    a = imaplib.IMAP4(HOST, inst.ports["imap"], timeout=20)
    b = imaplib.IMAP4(HOST, inst.ports["imap"], timeout=20)
    a.login(PM, PASSWORD)
    b.login(PM, PASSWORD)
    a.logout()
    b.logout()


def test_broken_config_keeps_everything_running(inst):
    with open(inst.conf_path, "rb") as f:
        saved = f.read()
    pids = {d: inst.daemon_pid(d)
            for d in ("youju-mta", "youju-mra", "youju-authd")}
    p_new = harness.free_port()
    crt_before = server_cert_der(inst.ports["smtps"])
    cases = [
        # a value of the wrong type: every daemon refuses the file
        (f"smtp_listen = 127.0.0.1:{inst.ports['smtp']} "
         f"127.0.0.1:{p_new}\nmessage_size_limit = lots\n",
         {"youju-mta": "message_size_limit",
          "youju-mra": "message_size_limit",
          "youju-authd": "message_size_limit"}),
        # what only youju-mta checks
        (f"smtp_listen = 127.0.0.1:{inst.ports['smtp']} "
         f"127.0.0.1:{p_new}\n"
         "smtpd_recipient_restrictions = permit_mynetworks, bogus_one\n",
         {"youju-mta": "smtpd_recipient_restrictions"}),
        (f"transport_maps = texthash:{inst.path('etc', 'no-such-map')}\n"
         f"smtp_listen = 127.0.0.1:{inst.ports['smtp']} "
         f"127.0.0.1:{p_new}\n",
         {"youju-mta": "transport_maps"}),
        # a listen address that cannot be bound
        (f"imap_listen = 127.0.0.1:{inst.ports['imap']} 192.0.2.1:143\n"
         f"smtp_listen = 127.0.0.1:{inst.ports['smtp']} 192.0.2.1:25\n",
         {"youju-mta": "smtp_listen", "youju-mra": "imap_listen"}),
    ]
    garbage = inst.path("etc", "tls", "garbage.pem")
    os.makedirs(os.path.dirname(garbage), exist_ok=True)
    with open(garbage, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n"
                "-----END CERTIFICATE-----\n")
    os.chmod(garbage, 0o600)  # refused for what it holds, not its mode
    cases.append((f"smtpd_tls_cert_file = {garbage}\n"
                  f"smtpd_tls_key_file = {garbage}\n",
                  {"youju-mta": "smtpd_tls_cert_file",
                   "youju-mra": "smtpd_tls_cert_file"}))
    try:
        for text, expect in cases:
            with open(inst.conf_path, "wb") as f:
                f.write(saved + text.encode())
            r = inst.youju("reload")
            if "lots" in text:
                # the command checks the file first, as `postfix reload`
                assert r.returncode != 0, r.stdout
                assert "message_size_limit" in r.stderr, r.stderr
            res = reload_all(inst, signal_only=True)
            for d, param in expect.items():
                assert "keeping the old" in res[d] or "failed" in res[d], \
                    (text, d, res[d])
                assert param in res[d], (text, d, res[d])
            for d, pid in pids.items():
                assert inst.daemon_pid(d) == pid
                os.kill(pid, 0)
            # the old settings are still the ones in force
            assert refused(p_new, 1), "a refused config opened a port"
            assert greeting(inst.ports["smtp"]).startswith(b"220 ")
            assert greeting(inst.ports["imap"]).startswith(b"* OK")
            assert server_cert_der(inst.ports["smtps"]) == crt_before
            assert server_cert_der(inst.ports["imaps"]) is not None
            assert authd(inst, PM, PASSWORD).endswith(b".\n")
            with smtplib.SMTP(HOST, inst.ports["smtp"], timeout=20) as s:
                assert s.ehlo()[0] == 250
                assert s.mail(PM)[0] == 250
                assert s.rcpt(PM)[0] == 250
    finally:
        with open(inst.conf_path, "wb") as f:
            f.write(saved)
        res = reload_all(inst)
    for d, line in res.items():
        assert "reloaded" in line, (d, line)
