"""ManageSieve (RFC 5804) in youju-mra (issue 15): a raw-socket client
(Python's ssl for STARTTLS) reads the capabilities, upgrades to TLS, logs
in with AUTHENTICATE PLAIN through youju-authd, uploads a script as a
literal (syntax-checked), lists, gets, checks, activates, renames and
deletes scripts, hits the script quota, and the activated script then
files mail delivered over SMTP (the layout the delivery reads)."""
import base64
import glob
import os
import re
import smtplib
import socket
import ssl
import time
import uuid

DOM = "extmail.org"
LOCAL = "sv-manage"
USER = f"{LOCAL}@{DOM}"
PASSWORD = "sievepw"


def _ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Client:
    """Just enough of a ManageSieve client: responses are read line by
    line, literals {N} by count."""

    def __init__(self, inst):
        self.sock = socket.create_connection(
            ("127.0.0.1", inst.ports["managesieve"]), timeout=15)
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def raw(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def response(self):
        """(status line, [data lines], {literal contents})"""
        lines, lits = [], []
        while True:
            ln = self.line()
            m = re.match(rb"^\{(\d+)\}$", ln)
            if m:
                lits.append(self.raw(int(m.group(1))))
                continue
            if re.match(rb"^(OK|NO|BYE)\b", ln):
                return ln, lines, lits
            lines.append(ln)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.response()

    def starttls(self):
        st, _, _ = self.cmd("STARTTLS")
        assert st.startswith(b"OK"), st
        self.sock = _ctx().wrap_socket(self.sock)
        self.buf = b""
        return self.response()

    def login(self, user=USER, password=PASSWORD):
        tok = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        return self.cmd(f'AUTHENTICATE "PLAIN" "{tok}"')

    def put(self, name, script):
        data = script.encode()
        return self.cmd(f'PUTSCRIPT "{name}" {{{len(data)}+}}\r\n'
                        + script)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


_ready = []


def setup(inst):
    if _ready:
        return
    inst.sql(f"DELETE FROM mailbox WHERE username='{USER}'")
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{USER}', '{LOCAL}', '{{PLAIN}}{PASSWORD}', 'Sieve', "
             f"'{DOM}/{LOCAL}/Maildir/', '{DOM}/{LOCAL}', '0', "
             f"'{DOM}', 1000, 1000, 1)")
    _ready.append(True)


def test_managesieve_greeting_and_starttls(inst):
    setup(inst)
    c = Client(inst)
    st, caps, _ = c.response()
    assert st.startswith(b'OK'), st
    assert b'"IMPLEMENTATION" "youju"' in caps
    sieve = [ln for ln in caps if ln.startswith(b'"SIEVE"')]
    assert sieve and b"fileinto" in sieve[0] and b"vacation" in sieve[0]
    assert b'"STARTTLS"' in caps
    assert b'"VERSION" "1.0"' in caps
    # after STARTTLS the server sends its capabilities again
    st, caps2, _ = c.starttls()
    assert st.startswith(b"OK"), st
    assert b'"STARTTLS"' not in caps2
    assert b'"SASL" "PLAIN"' in caps2
    st, _, _ = c.login(password="wrong")
    assert st.startswith(b"NO"), st
    st, _, _ = c.login()
    assert st.startswith(b"OK"), st
    st, _, _ = c.cmd("LOGOUT")
    assert st.startswith(b"OK"), st
    c.close()
    inst.wait_log(r"managesieve-login: Login: user=<sv-manage@extmail\.org>, "
                  r"method=PLAIN, .*TLS")


def test_managesieve_scripts(inst):
    setup(inst)
    c = Client(inst)
    c.response()
    # commands that need a login
    st, _, _ = c.cmd("LISTSCRIPTS")
    assert st.startswith(b"NO"), st
    c.starttls()
    # the continuation form of AUTHENTICATE, the response as a literal
    c.send('AUTHENTICATE "PLAIN"\r\n')
    assert c.line() == b'""'
    tok = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode())
    c.send(b"{%d+}\r\n" % len(tok) + tok + b"\r\n")
    st, _, _ = c.response()
    assert st.startswith(b"OK"), st

    st, lines, _ = c.cmd("LISTSCRIPTS")
    assert st.startswith(b"OK") and lines == [], (st, lines)
    # a syntax error is refused with its line number, nothing stored
    st, _, _ = c.put("bad", 'require "fileinto";\nfileinto "x"\n')
    assert st.startswith(b"NO") and b"line 2: missing ';'" in st, st
    st, _, _ = c.cmd('CHECKSCRIPT "keep;"')
    assert st.startswith(b"OK"), st
    st, _, _ = c.cmd('CHECKSCRIPT "frob;"')
    assert st.startswith(b"NO") and b"unknown command 'frob'" in st, st
    script = ('require ["fileinto", "mailbox"];\r\n'
              'if header :contains "subject" "managed" {\r\n'
              '  fileinto :create "Managed";\r\n}\r\n')
    st, _, _ = c.put("work", script)
    assert st.startswith(b"OK"), st
    st, _, _ = c.put("spare", "keep;\r\n")
    assert st.startswith(b"OK"), st
    st, lines, _ = c.cmd("LISTSCRIPTS")
    assert sorted(lines) == [b'"spare"', b'"work"'], lines
    st, _, lits = c.cmd('GETSCRIPT "work"')
    assert st.startswith(b"OK") and lits == [script.encode()], (st, lits)
    st, _, _ = c.cmd('GETSCRIPT "nope"')
    assert st.startswith(b"NO (NONEXISTENT)"), st
    st, _, _ = c.cmd('SETACTIVE "work"')
    assert st.startswith(b"OK"), st
    st, lines, _ = c.cmd("LISTSCRIPTS")
    assert b'"work" ACTIVE' in lines, lines
    home = inst.path("mailbox", DOM, LOCAL)
    assert os.readlink(os.path.join(home, ".dovecot.sieve")) == \
        "sieve/work.sieve"
    st, _, _ = c.cmd('DELETESCRIPT "work"')
    assert st.startswith(b"NO (ACTIVE)"), st
    st, _, _ = c.cmd('RENAMESCRIPT "spare" "work"')
    assert st.startswith(b"NO (ALREADYEXISTS)"), st
    st, _, _ = c.cmd('RENAMESCRIPT "spare" "other"')
    assert st.startswith(b"OK"), st
    st, _, _ = c.cmd('DELETESCRIPT "other"')
    assert st.startswith(b"OK"), st
    st, _, _ = c.cmd('HAVESPACE "x" 1000')
    assert st.startswith(b"OK"), st
    st, _, _ = c.cmd('HAVESPACE "x" 999999999')
    assert st.startswith(b"NO (QUOTA/MAXSIZE)"), st
    st, _, _ = c.cmd('NOOP "tag1"')
    assert st.startswith(b'OK (TAG "tag1")'), st

    # the active script runs at delivery
    token = uuid.uuid4().hex
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20) as s:
        s.sendmail("bob@example.com", [USER],
                   f"From: bob@example.com\r\nTo: {USER}\r\n"
                   f"Subject: managed {token}\r\n\r\nhi\r\n")
    md = os.path.join(home, "Maildir", ".Managed")
    deadline = time.time() + 15
    while time.time() < deadline:
        hits = [p for p in glob.glob(os.path.join(md, "*", "*"))
                if token.encode() in open(p, "rb").read()]
        if hits:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the activated script did not file the mail")

    # SETACTIVE "" switches filtering off
    st, _, _ = c.cmd('SETACTIVE ""')
    assert st.startswith(b"OK"), st
    assert not os.path.lexists(os.path.join(home, ".dovecot.sieve"))
    st, _, _ = c.cmd("LOGOUT")
    assert st.startswith(b"OK"), st
    c.close()


def test_managesieve_quota(inst):
    setup(inst)
    c = Client(inst)
    c.response()
    c.starttls()
    st, _, _ = c.login()
    assert st.startswith(b"OK"), st
    st, lines, _ = c.cmd("LISTSCRIPTS")
    have = len(lines)
    for i in range(have, 20):
        st, _, _ = c.put(f"q{i}", "keep;")
        assert st.startswith(b"OK"), (i, st)
    st, _, _ = c.put("one-too-many", "keep;")
    assert st.startswith(b"NO (QUOTA/MAXSCRIPTS)"), st
    # replacing an existing script is still allowed
    st, _, _ = c.put("q19", "discard;")
    assert st.startswith(b"OK"), st
    # a literal larger than the script limit is refused
    big = "#" * (256 * 1024 + 10)
    st, _, _ = c.put("q19", big)
    assert st.startswith(b"NO"), st
    st, _, _ = c.cmd("NOOP")
    assert st.startswith(b"OK"), st
    for i in range(have, 20):
        st, _, _ = c.cmd(f'DELETESCRIPT "q{i}"')
        assert st.startswith(b"OK"), (i, st)
    c.close()


def test_managesieve_sieve_connect(inst):
    """Debian's sieve-connect (STARTTLS, SASL PLAIN) uploads, lists and
    activates a script."""
    import subprocess
    setup(inst)
    script = inst.path("sc.sieve")
    with open(script, "w") as f:
        f.write('require "fileinto";\nif size :over 1M { fileinto "Big"; }\n')

    def sc(*args):
        return subprocess.run(
            ["sieve-connect", "-s", "127.0.0.1", "-p",
             str(inst.ports["managesieve"]), "-u", USER, "--notlsverify",
             "--passwordfd", "0", *args],
            input=PASSWORD + "\n", capture_output=True, text=True,
            timeout=60)

    r = sc("--upload", "--localsieve", script, "--remotesieve", "viasc")
    assert r.returncode == 0, (r.stdout, r.stderr)
    r = sc("--activate", "--remotesieve", "viasc")
    assert r.returncode == 0, (r.stdout, r.stderr)
    r = sc("--list")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert re.search(r'^"?viasc"?\s+<-- active', r.stdout, re.M) or \
        "viasc" in r.stdout, r.stdout
    home = inst.path("mailbox", DOM, LOCAL)
    assert os.readlink(os.path.join(home, ".dovecot.sieve")) == \
        "sieve/viasc.sieve"
    with open(os.path.join(home, "sieve", "viasc.sieve")) as f:
        assert "fileinto \"Big\"" in f.read()
    # a script with an error is refused, and sieve-connect says why
    with open(script, "w") as f:
        f.write("filinto \"x\";\n")
    r = sc("--upload", "--localsieve", script, "--remotesieve", "broken")
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert "unknown command 'filinto'" in r.stdout + r.stderr, r


def test_managesieve_literals_and_unauthenticate(inst):
    """{N} (synchronizing, read without a continuation: RFC 5804 has
    none) and {N+} literals in PUTSCRIPT and CHECKSCRIPT, also split over
    several TCP segments; UNAUTHENTICATE (RFC 5804 §2.14.1) and a second
    login on the same connection."""
    setup(inst)
    c = Client(inst)
    st, caps, _ = c.response()
    assert b'"UNAUTHENTICATE"' in caps, caps
    c.starttls()
    st, _, _ = c.cmd("UNAUTHENTICATE")
    assert st.startswith(b"NO"), st
    st, _, _ = c.login()
    assert st.startswith(b"OK"), st
    sync = 'require "fileinto";\r\nif true { fileinto "Sync"; }\r\n'
    st, _, _ = c.cmd(f'PUTSCRIPT "lit-sync" {{{len(sync)}}}\r\n' + sync)
    assert st.startswith(b"OK"), st
    split = ('# split over segments\r\nif header :is "x-a" "\xe4" '
             '{ discard; }\r\n').encode()
    c.send(b'PUTSCRIPT "lit-split" {%d+}\r\n' % len(split))
    time.sleep(0.2)
    c.send(split[:7])
    time.sleep(0.2)
    c.send(split[7:] + b"\r\n")
    st, _, _ = c.response()
    assert st.startswith(b"OK"), st
    for name, want in (("lit-sync", sync.encode()), ("lit-split", split)):
        st, _, lits = c.cmd(f'GETSCRIPT "{name}"')
        assert st.startswith(b"OK") and lits == [want], (st, lits)
    bad = "keep;\r\nfrob;\r\n"
    st, _, _ = c.cmd(f"CHECKSCRIPT {{{len(bad)}}}\r\n" + bad)
    assert st.startswith(b"NO") and b"line 2" in st, st
    st, _, _ = c.cmd(f"CHECKSCRIPT {{{len(sync)}+}}\r\n" + sync)
    assert st.startswith(b"OK"), st
    st, _, _ = c.cmd("CHECKSCRIPT {0+}\r\n")
    assert st.startswith(b"OK"), st
    # a literal announcing more than the limit is refused, and the
    # connection goes on
    st, _, _ = c.cmd("CHECKSCRIPT {999999999+}")
    assert st.startswith(b"NO"), st

    st, _, _ = c.cmd("UNAUTHENTICATE")
    assert st.startswith(b"OK"), st
    st, _, _ = c.cmd("LISTSCRIPTS")
    assert st.startswith(b"NO"), st
    st, caps, _ = c.cmd("CAPABILITY")
    assert b'"SASL" "PLAIN"' in caps, caps
    st, _, _ = c.login()
    assert st.startswith(b"OK"), st
    st, lines, _ = c.cmd("LISTSCRIPTS")
    assert b'"lit-sync"' in lines and b'"lit-split"' in lines, lines
    for name in ("lit-sync", "lit-split"):
        st, _, _ = c.cmd(f'DELETESCRIPT "{name}"')
        assert st.startswith(b"OK"), st
    c.close()
    assert inst.wait_log(rf"managesieve\({USER}\): unauthenticated")


def test_managesieve_configured_quota(inst):
    """sieve_max_script_size and sieve_quota_max_scripts (youju.cf,
    Pigeonhole's names) after a reload, over a raw socket and with
    sieve-connect."""
    import subprocess
    from test_reload import settings
    quser = f"sv-quota@{DOM}"
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{quser}', 'sv-quota', '{{PLAIN}}{PASSWORD}', 'Quota', "
             f"'{DOM}/sv-quota/Maildir/', '{DOM}/sv-quota', '0', "
             f"'{DOM}', 1000, 1000, 1)")
    with settings(inst, sieve_max_script_size="100",
                  sieve_quota_max_scripts="2"):
        c = Client(inst)
        c.response()
        c.starttls()
        st, _, _ = c.login(quser)
        assert st.startswith(b"OK"), st
        st, lines, _ = c.cmd("LISTSCRIPTS")
        assert lines == [], lines
        st, _, _ = c.cmd('HAVESPACE "a" 100')
        assert st.startswith(b"OK"), st
        st, _, _ = c.cmd('HAVESPACE "a" 101')
        assert st.startswith(b"NO (QUOTA/MAXSIZE)"), st
        st, _, _ = c.put("a", "keep;" + " " * 120)
        assert st.startswith(b"NO (QUOTA/MAXSIZE)"), st
        for n in ("a", "b"):
            st, _, _ = c.put(n, "keep;")
            assert st.startswith(b"OK"), (n, st)
        st, _, _ = c.put("c", "keep;")
        assert st.startswith(b"NO (QUOTA/MAXSCRIPTS)"), st
        st, _, _ = c.cmd('HAVESPACE "c" 10')
        assert st.startswith(b"NO (QUOTA/MAXSCRIPTS)"), st
        st, _, _ = c.put("b", "discard;")
        assert st.startswith(b"OK"), st
        # sieve-connect sees the same refusal
        script = inst.path("sc-quota.sieve")
        with open(script, "w") as f:
            f.write("keep;\n")
        r = subprocess.run(
            ["sieve-connect", "-s", "127.0.0.1", "-p",
             str(inst.ports["managesieve"]), "-u", quser, "--notlsverify",
             "--passwordfd", "0", "--upload", "--localsieve", script,
             "--remotesieve", "third"],
            input=PASSWORD + "\n", capture_output=True, text=True,
            timeout=60)
        assert r.returncode != 0, (r.stdout, r.stderr)
        assert "QUOTA" in (r.stdout + r.stderr).upper() or \
            "Too many scripts" in r.stdout + r.stderr, r
        for n in ("a", "b"):
            st, _, _ = c.cmd(f'DELETESCRIPT "{n}"')
            assert st.startswith(b"OK"), st
        c.close()
