"""youju-mra with real clients and at its limits (issue 6).

Clients: `openssl s_client` on IMAPS, POP3S and STARTTLS/STLS, fetchmail
over POP3S and IMAPS, mbsync (isync) syncing the account into a local
Maildir.  Limits: mra_max_userip_connections (Dovecot's words on the wire),
mra_client_connection_count_limit, a client that does not read its output
(mra_output_timeout), command lines over the maximum.
"""
import imaplib
import os
import poplib
import smtplib
import socket
import subprocess
import tempfile
import time

USER = "clients@extmail.org"
PASSWORD = "clients-pw1"
LOCAL, DOMAIN = USER.split("@")
PER_IP = 60

# low enough to test without thousands of sockets, high enough for every
# other module of the shared instance (they connect from 127.0.0.1 too)
CONFIG = {
    "mra_client_connection_count_limit": str(PER_IP),
    "mra_output_timeout": "3s",
}

_ready = []


def setup(inst):
    """The test mailbox, with three messages delivered by youju-mta."""
    if _ready:
        return
    inst.sql(f"DELETE FROM mailbox WHERE username='{USER}'")
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{USER}', '{LOCAL}', '{{PLAIN}}{PASSWORD}', 'Clients', "
             f"'{DOMAIN}/{LOCAL}/Maildir/', '{DOMAIN}/{LOCAL}', '0', "
             f"'{DOMAIN}', 1000, 1000, 1)")
    imap(inst).logout()  # creates the Maildir before the deliveries
    # one at a time: separate messages are delivered in parallel, in no
    # set order, and the sessions below expect "client test 0" as message 1
    md = inst.path("mailbox", DOMAIN, LOCAL, "Maildir")
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        for i in range(3):
            s.sendmail("bob@example.com", [USER],
                       f"From: bob@example.com\r\nTo: {USER}\r\n"
                       f"Subject: client test {i}\r\n\r\nbody {i}\r\n")
            deadline = time.time() + 30
            while sum(len(os.listdir(os.path.join(md, d)))
                      for d in ("new", "cur")) < i + 1:
                assert time.time() < deadline, "deliveries did not arrive"
                time.sleep(0.05)
    _ready.append(True)


def imap(inst):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=30)
    m.login(USER, PASSWORD)
    return m


def s_client(port, script, starttls=None, timeout=60):
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
            "-quiet", "-crlf", "-ign_eof"]
    if starttls:
        args += ["-starttls", starttls]
    r = subprocess.run(args, input=script, capture_output=True, text=True,
                       timeout=timeout)
    # s_client's own messages (why a session ended early) are on stderr:
    # keep them after the session so a failed assertion shows them
    return r.stdout + "\n--- s_client stderr (exit %d) ---\n%s" % (
        r.returncode, r.stderr)


IMAP_SCRIPT = (f"a LOGIN {USER} {PASSWORD}\nb SELECT INBOX\n"
               "c FETCH 1 (FLAGS BODY.PEEK[])\nd LOGOUT\n")
POP3_SCRIPT = f"USER {USER}\nPASS {PASSWORD}\nSTAT\nRETR 1\nQUIT\n"


def check_imap_session(out):
    assert "a OK" in out, out
    assert "* 3 EXISTS" in out, out
    assert "* 1 FETCH (FLAGS" in out and "Subject: client test 0" in out, out
    assert "d OK" in out, out


def check_pop3_session(out):
    lines = out.split("\n--- s_client stderr")[0].splitlines()
    assert "+OK Logged in." in lines, out
    assert any(x.startswith("+OK 3 ") for x in lines), out
    assert "Subject: client test 0" in out, out
    assert lines[-1].startswith("+OK Logging out"), out


def test_openssl_s_client_imaps_and_starttls(inst):
    setup(inst)
    check_imap_session(s_client(inst.ports["imaps"], IMAP_SCRIPT))
    check_imap_session(s_client(inst.ports["imap"], IMAP_SCRIPT,
                                starttls="imap"))


def test_openssl_s_client_pop3s_and_stls(inst):
    setup(inst)
    check_pop3_session(s_client(inst.ports["pop3s"], POP3_SCRIPT))
    check_pop3_session(s_client(inst.ports["pop3"], POP3_SCRIPT,
                                starttls="pop3"))


def _fetchmail(inst, proto, port):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "mbox")
        rc = os.path.join(d, "fetchmailrc")
        with open(rc, "w") as f:
            f.write(f"set no bouncemail\n"
                    f"poll 127.0.0.1 service {port} protocol {proto}"
                    f" auth password\n"
                    f"  user \"{USER}\" there with password \"{PASSWORD}\""
                    f" is root here\n"
                    f"  ssl no sslcertck fetchall keep\n"
                    f"  mda \"/bin/sh -c 'cat >> {out}; echo >> {out}'\"\n")
        os.chmod(rc, 0o600)
        r = subprocess.run(["fetchmail", "-f", rc, "--nosyslog",
                            "--pidfile", os.path.join(d, "pid"),
                            "-i", os.path.join(d, "ids")],
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, HOME=d))
        assert r.returncode == 0, r.stdout + r.stderr
        with open(out) as f:
            text = f.read()
    for i in range(3):
        assert f"Subject: client test {i}" in text, text
    return r.stdout + r.stderr


def test_fetchmail_pop3s(inst):
    setup(inst)
    log = _fetchmail(inst, "POP3", inst.ports["pop3s"])
    assert "3 messages" in log, log


def test_fetchmail_imaps(inst):
    setup(inst)
    log = _fetchmail(inst, "IMAP", inst.ports["imaps"])
    assert "3 messages" in log, log


def test_mbsync_imaps_to_local_maildir(inst):
    setup(inst)
    m = imap(inst)
    m.create("Synced")
    m.append("Synced", r"(\Seen)", None, b"Subject: synced\r\n\r\nx\r\n")
    m.logout()
    with tempfile.TemporaryDirectory() as d:
        local = os.path.join(d, "mail")
        os.makedirs(local)
        cfg = os.path.join(d, "mbsyncrc")
        with open(cfg, "w") as f:
            f.write(f"""IMAPAccount youju
Host localhost
Port {inst.ports['imaps']}
User {USER}
Pass {PASSWORD}
SSLType IMAPS
CertificateFile {inst.path('etc', 'tls', 'youju.crt')}

IMAPStore remote
Account youju

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Near
Sync Pull
SyncState *
""")
        r = subprocess.run(["mbsync", "-c", cfg, "-a"], capture_output=True,
                           text=True, timeout=120, env=dict(os.environ,
                                                            HOME=d))
        assert r.returncode == 0, r.stdout + r.stderr

        def count(box):
            return sum(len(os.listdir(os.path.join(box, s)))
                       for s in ("new", "cur"))
        assert count(os.path.join(local, "INBOX")) == 3
        synced = os.path.join(local, "Synced")
        assert count(synced) == 1
        name = os.listdir(os.path.join(synced, "cur"))[0]
        assert name.endswith(",S") or ":2,S" in name, name


# ---- limits ----------------------------------------------------------------

def test_limit_userip_imap_and_pop3(inst):
    setup(inst)
    since = inst.log_size()
    sessions = [imap(inst) for _ in range(10)]
    try:
        m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=30)
        try:
            m.login(USER, PASSWORD)
            raise AssertionError("11th IMAP session accepted")
        except imaplib.IMAP4.abort as e:
            assert ("Maximum number of connections from user+IP exceeded "
                    "(mail_max_userip_connections=10)") in str(e), e
        # POP3 is counted on its own, as Dovecot does per protocol
        p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=30)
        p.user(USER)
        p.pass_(PASSWORD)
        p.quit()
    finally:
        for s in sessions:
            s.logout()
    inst.wait_log(r"imap-login: Maximum number of connections from user\+IP "
                  r"exceeded \(mra_max_userip_connections=10\): "
                  r"user=<clients@extmail\.org>", since=since)
    # the slots are free again
    imap(inst).logout()
    pops = []
    try:
        for _ in range(10):
            p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=30)
            p.user(USER)
            p.pass_(PASSWORD)
            pops.append(p)
        p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=30)
        p.user(USER)
        try:
            p.pass_(PASSWORD)
            raise AssertionError("11th POP3 session accepted")
        except poplib.error_proto as e:
            assert e.args[0].startswith(b"-ERR [IN-USE] Maximum number of "
                                        b"connections from user+IP"), e
    finally:
        for p in pops:
            p.quit()


def _connect_from(src, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(30)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def test_limit_connections_per_ip(inst):
    since = inst.log_size()
    src = "127.0.0.2"   # its own address: other tests use 127.0.0.1
    socks = []
    try:
        for i in range(PER_IP):
            s = _connect_from(src, inst.ports["imap" if i % 2 else "pop3"])
            assert s.recv(200)[:4] in (b"* OK", b"+OK "), i
            socks.append(s)
        s = _connect_from(src, inst.ports["imap"])
        data = s.recv(200)
        assert data.startswith(b"* BYE Too many connections"), data
        assert s.recv(200) == b""
        s.close()
        s = _connect_from(src, inst.ports["pop3"])
        data = s.recv(200)
        assert data.startswith(b"-ERR [SYS/TEMP] Too many connections"), data
        s.close()
        # another address is not affected
        imap(inst).logout()
    finally:
        for s in socks:
            s.close()
    inst.wait_log(r"imap-login: Disconnected: Too many connections from the "
                  r"same IP \(mra_client_connection_count_limit=60\): "
                  r"rip=127\.0\.0\.2", since=since)
    # closed ones are forgotten
    deadline = time.time() + 10
    while True:
        s = _connect_from(src, inst.ports["imap"])
        data = s.recv(200)
        s.close()
        if data.startswith(b"* OK") or time.time() > deadline:
            break
        time.sleep(0.2)
    assert data.startswith(b"* OK"), data


def test_limit_client_not_reading_is_dropped(inst):
    setup(inst)
    m = imap(inst)
    m.create("Big")
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 1024
    m.append("Big", None, None, big)
    m.logout()
    since = inst.log_size()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect(("127.0.0.1", inst.ports["imap"]))
    s.recv(200)
    s.sendall(f"a LOGIN {USER} {PASSWORD}\r\nb SELECT Big\r\n".encode()
              + b"".join(b"f%d FETCH 1 BODY.PEEK[]\r\n" % i
                         for i in range(40)))
    # never read: the server must give up on us after mra_output_timeout
    inst.wait_log(r"imap\(clients@extmail\.org\): Disconnected for "
                  r"inactivity in reading our output \(\d+ bytes queued\)",
                  timeout=60, since=since)
    got = 0
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += len(chunk)
    except ConnectionResetError:
        pass
    s.close()
    assert got < 40 * len(big), got


def test_limit_command_line_length(inst):
    setup(inst)
    s = socket.create_connection(("127.0.0.1", inst.ports["imap"]),
                                 timeout=30)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a NOOP " + b"x" * 70000 + b"\r\nb NOOP\r\n")
    assert f.readline() == b"* BAD Command line too long.\r\n"
    line = f.readline()
    assert line.startswith(b"b OK"), line
    s.close()
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=30)
    p._putline(b"NOOP " + b"x" * 9000)
    try:
        p._getresp()
        raise AssertionError("long POP3 line accepted")
    except poplib.error_proto as e:
        assert e.args[0] == b"-ERR Input line too long.", e
    assert p.noop().startswith(b"+OK")
    p.quit()
