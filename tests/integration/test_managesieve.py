"""ManageSieve (RFC 5804) in youju-mra (issue 15): a raw-socket client
(Python's ssl for STARTTLS) reads the capabilities, upgrades to TLS, logs
in with AUTHENTICATE PLAIN through youju-authd, uploads a script as a
literal (syntax-checked), lists, gets, checks, activates, renames and
deletes scripts, hits the script quota, and the activated script then
files mail delivered over SMTP (the layout the delivery reads)."""
import base64
import os
import re
import smtplib
import socket
import ssl
import subprocess
import time
import uuid

import deliverylib

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

    def ok(self, text, want=b"OK"):
        """cmd(text), its status line asserted to start with want."""
        st, lines, lits = self.cmd(text)
        assert st.startswith(want), (text, st)
        return st, lines, lits

    def starttls(self):
        st, _, _ = self.cmd("STARTTLS")
        assert st.startswith(b"OK"), st
        self.sock = _ctx().wrap_socket(self.sock)
        self.buf = b""
        return self.response()

    def login(self, user=USER, password=PASSWORD, want=b"OK"):
        tok = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        return self.ok(f'AUTHENTICATE "PLAIN" "{tok}"', want)

    def put(self, name, script, want=b"OK"):
        """PUTSCRIPT with a {N+} literal; the status must start with
        want."""
        data = script.encode()
        return self.ok(f'PUTSCRIPT "{name}" {{{len(data)}+}}\r\n' + script,
                       want)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def session(inst, user=USER):
    """A client past the greeting, STARTTLS and the login of user."""
    c = Client(inst)
    c.response()
    c.starttls()
    c.login(user)
    return c


def sieve_connect(inst, user, *args):
    """Debian's sieve-connect (STARTTLS, SASL PLAIN) as user."""
    return subprocess.run(
        ["sieve-connect", "-s", "127.0.0.1", "-p",
         str(inst.ports["managesieve"]), "-u", user, "--notlsverify",
         "--passwordfd", "0", *args],
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)


def add_user(inst, local, name):
    inst.sql(f"DELETE FROM mailbox WHERE username='{local}@{DOM}'")
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{local}@{DOM}', '{local}', '{{PLAIN}}{PASSWORD}', '{name}', "
             f"'{DOM}/{local}/Maildir/', '{DOM}/{local}', '0', "
             f"'{DOM}', 1000, 1000, 1)")


_ready = []


def setup(inst):
    if _ready:
        return
    add_user(inst, LOCAL, "Sieve")
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
    c.login(password="wrong", want=b"NO")
    c.login()
    c.ok("LOGOUT")
    c.close()
    inst.wait_log(r"managesieve-login: Login: user=<sv-manage@extmail\.org>, "
                  r"method=PLAIN, .*TLS")


def test_managesieve_scripts(inst):
    setup(inst)
    c = Client(inst)
    c.response()
    # commands that need a login
    c.ok("LISTSCRIPTS", b"NO")
    c.starttls()
    # the continuation form of AUTHENTICATE, the response as a literal
    c.send('AUTHENTICATE "PLAIN"\r\n')
    assert c.line() == b'""'
    tok = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode())
    c.send(b"{%d+}\r\n" % len(tok) + tok + b"\r\n")
    st, _, _ = c.response()
    assert st.startswith(b"OK"), st

    st, lines, _ = c.ok("LISTSCRIPTS")
    assert lines == [], (st, lines)
    # a syntax error is refused with its line number, nothing stored
    st, _, _ = c.put("bad", 'require "fileinto";\nfileinto "x"\n', b"NO")
    assert b"line 2: missing ';'" in st, st
    c.ok('CHECKSCRIPT "keep;"')
    st, _, _ = c.ok('CHECKSCRIPT "frob;"', b"NO")
    assert b"unknown command 'frob'" in st, st
    script = ('require ["fileinto", "mailbox"];\r\n'
              'if header :contains "subject" "managed" {\r\n'
              '  fileinto :create "Managed";\r\n}\r\n')
    c.put("work", script)
    c.put("spare", "keep;\r\n")
    st, lines, _ = c.cmd("LISTSCRIPTS")
    assert sorted(lines) == [b'"spare"', b'"work"'], lines
    st, _, lits = c.ok('GETSCRIPT "work"')
    assert lits == [script.encode()], (st, lits)
    c.ok('GETSCRIPT "nope"', b"NO (NONEXISTENT)")
    c.ok('SETACTIVE "work"')
    st, lines, _ = c.cmd("LISTSCRIPTS")
    assert b'"work" ACTIVE' in lines, lines
    home = inst.path("mailbox", DOM, LOCAL)
    assert os.readlink(os.path.join(home, ".dovecot.sieve")) == \
        "sieve/work.sieve"
    c.ok('DELETESCRIPT "work"', b"NO (ACTIVE)")
    c.ok('RENAMESCRIPT "spare" "work"', b"NO (ALREADYEXISTS)")
    c.ok('RENAMESCRIPT "spare" "other"')
    c.ok('DELETESCRIPT "other"')
    c.ok('HAVESPACE "x" 1000')
    c.ok('HAVESPACE "x" 999999999', b"NO (QUOTA/MAXSIZE)")
    c.ok('NOOP "tag1"', b'OK (TAG "tag1")')

    # the active script runs at delivery
    token = uuid.uuid4().hex
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20) as s:
        s.sendmail("bob@example.com", [USER],
                   f"From: bob@example.com\r\nTo: {USER}\r\n"
                   f"Subject: managed {token}\r\n\r\nhi\r\n")
    md = os.path.join(home, "Maildir", ".Managed")
    assert deliverylib.wait_token([os.path.join(md, "new"),
                                   os.path.join(md, "cur")], token), \
        "the activated script did not file the mail"

    # SETACTIVE "" switches filtering off
    c.ok('SETACTIVE ""')
    assert not os.path.lexists(os.path.join(home, ".dovecot.sieve"))
    c.ok("LOGOUT")
    c.close()


def test_managesieve_quota(inst):
    setup(inst)
    c = session(inst)
    st, lines, _ = c.cmd("LISTSCRIPTS")
    have = len(lines)
    for i in range(have, 20):
        c.put(f"q{i}", "keep;")
    c.put("one-too-many", "keep;", b"NO (QUOTA/MAXSCRIPTS)")
    # replacing an existing script is still allowed
    c.put("q19", "discard;")
    # a literal larger than the script limit is refused
    big = "#" * (256 * 1024 + 10)
    c.put("q19", big, b"NO")
    c.ok("NOOP")
    for i in range(have, 20):
        c.ok(f'DELETESCRIPT "q{i}"')
    c.close()


def test_managesieve_sieve_connect(inst):
    """Debian's sieve-connect (STARTTLS, SASL PLAIN) uploads, lists and
    activates a script."""
    setup(inst)
    script = inst.path("sc.sieve")
    with open(script, "w") as f:
        f.write('require "fileinto";\nif size :over 1M { fileinto "Big"; }\n')

    def sc(*args):
        return sieve_connect(inst, USER, *args)

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
    c.ok("UNAUTHENTICATE", b"NO")
    c.login()
    sync = 'require "fileinto";\r\nif true { fileinto "Sync"; }\r\n'
    c.ok(f'PUTSCRIPT "lit-sync" {{{len(sync)}}}\r\n' + sync)
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
        st, _, lits = c.ok(f'GETSCRIPT "{name}"')
        assert lits == [want], (st, lits)
    bad = "keep;\r\nfrob;\r\n"
    st, _, _ = c.ok(f"CHECKSCRIPT {{{len(bad)}}}\r\n" + bad, b"NO")
    assert b"line 2" in st, st
    c.ok(f"CHECKSCRIPT {{{len(sync)}+}}\r\n" + sync)
    c.ok("CHECKSCRIPT {0+}\r\n")
    # a literal announcing more than the limit is refused, and the
    # connection goes on
    c.ok("CHECKSCRIPT {999999999+}", b"NO")

    c.ok("UNAUTHENTICATE")
    c.ok("LISTSCRIPTS", b"NO")
    st, caps, _ = c.cmd("CAPABILITY")
    assert b'"SASL" "PLAIN"' in caps, caps
    c.login()
    st, lines, _ = c.cmd("LISTSCRIPTS")
    assert b'"lit-sync"' in lines and b'"lit-split"' in lines, lines
    for name in ("lit-sync", "lit-split"):
        c.ok(f'DELETESCRIPT "{name}"')
    c.close()
    assert inst.wait_log(rf"managesieve\({USER}\): unauthenticated")


def test_managesieve_configured_quota(inst):
    """sieve_max_script_size and sieve_quota_max_scripts (youju.cf,
    Pigeonhole's names) after a reload, over a raw socket and with
    sieve-connect."""
    from test_reload import settings
    quser = f"sv-quota@{DOM}"
    add_user(inst, "sv-quota", "Quota")
    with settings(inst, sieve_max_script_size="100",
                  sieve_quota_max_scripts="2"):
        c = session(inst, quser)
        st, lines, _ = c.cmd("LISTSCRIPTS")
        assert lines == [], lines
        c.ok('HAVESPACE "a" 100')
        c.ok('HAVESPACE "a" 101', b"NO (QUOTA/MAXSIZE)")
        c.put("a", "keep;" + " " * 120, b"NO (QUOTA/MAXSIZE)")
        for n in ("a", "b"):
            c.put(n, "keep;")
        c.put("c", "keep;", b"NO (QUOTA/MAXSCRIPTS)")
        c.ok('HAVESPACE "c" 10', b"NO (QUOTA/MAXSCRIPTS)")
        c.put("b", "discard;")
        # sieve-connect sees the same refusal
        script = inst.path("sc-quota.sieve")
        with open(script, "w") as f:
            f.write("keep;\n")
        r = sieve_connect(inst, quser, "--upload", "--localsieve", script,
                          "--remotesieve", "third")
        assert r.returncode != 0, (r.stdout, r.stderr)
        assert "QUOTA" in (r.stdout + r.stderr).upper() or \
            "Too many scripts" in r.stdout + r.stderr, r
        for n in ("a", "b"):
            c.ok(f'DELETESCRIPT "{n}"')
        c.close()
