"""youju-mta's SMTP client (issue 5 follow-ups): outbound STARTTLS per
smtp_tls_policy_maps (may, encrypt, verify, secure, none) against sinks
with certificates from a throw-away CA made here with the openssl CLI,
client AUTH PLAIN/LOGIN with smtp_sasl_password_maps, a cached connection
that dies being replaced, DSN parameters passed on to a DSN-capable next
hop, and defer_transports released by `youju queue flush`.

The sinks are written here with Python's ssl module (Postfix's smtp-sink
has no STARTTLS, and a private Postfix smtpd needs a whole master set-up);
each one records what arrived, on which connection, over TLS or not, and
as which SASL user."""
import base64
import os
import re
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid

import deliverylib
import harness

HOST = "127.0.0.1"
PM = "postmaster@extmail.org"

_DIR = tempfile.mkdtemp(prefix="youju-tls-")
os.chmod(_DIR, 0o755)


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True,
                   cwd=_DIR)


def _ca(name):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
             "-keyout", f"{name}.key", "-out", f"{name}.crt",
             "-subj", f"/CN=youju test {name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    os.chmod(os.path.join(_DIR, f"{name}.crt"), 0o644)


def _server_cert(name, ca, san):
    with open(os.path.join(_DIR, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName={san}\n")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={name}")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt",
             "-CAkey", f"{ca}.key", "-CAcreateserial", "-days", "2",
             "-out", f"{name}.crt", "-extfile", f"{name}.ext")
    return (os.path.join(_DIR, f"{name}.crt"),
            os.path.join(_DIR, f"{name}.key"))


_ca("ca")
_ca("otherca")
GOOD = _server_cert("good", "ca", "IP:127.0.0.1,DNS:localhost")
WRONG_CA = _server_cert("wrongca", "otherca", "IP:127.0.0.1")
WRONG_NAME = _server_cert("wrongname", "ca", "DNS:other.example")


class Sink:
    """A small ESMTP server on its own port.  cert: offer STARTTLS with
    (certfile, keyfile); auth: (user, password) required before MAIL,
    mechs offered; dsn: offer DSN; drop: "rset" closes right after the
    250 to a RSET that follows a delivered message, "mail2" closes at the
    second MAIL of a connection (both: a cached connection that died)."""

    def __init__(self, cert=None, auth=None, mechs=("PLAIN", "LOGIN"),
                 dsn=False, drop=None):
        self.port = harness.free_port()
        self.cert, self.auth, self.mechs = cert, auth, mechs
        self.dsn, self.drop = dsn, drop
        self.messages = []  # dicts: conn, tls, user, mail, rcpts, data
        self.conns = 0
        self.drops = 0
        self.lock = threading.Lock()
        self.ctx = None
        if cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(*cert)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, self.port))
        self.sock.listen(32)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            c, _ = self.sock.accept()
            with self.lock:
                self.conns += 1
                n = self.conns
            threading.Thread(target=self._serve, args=(c, n),
                             daemon=True).start()

    def _serve(self, sock, conn_no):
        try:
            sock.settimeout(60)
            self._session(sock, conn_no)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _session(self, sock, conn_no):
        f = sock.makefile("rb")

        def reply(text):
            sock.sendall((text + "\r\n").encode())

        def readline():
            ln = f.readline()
            if not ln:
                raise ValueError("eof")
            return ln.decode("latin-1").rstrip("\r\n")

        reply("220 tls-sink ESMTP")
        tls, user, mail, rcpts, nmail, delivered = False, None, None, [], 0, 0
        while True:
            cmd = readline()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                ext = ["tls-sink", "PIPELINING", "8BITMIME"]
                if self.cert and not tls:
                    ext.append("STARTTLS")
                if self.auth:
                    ext.append("AUTH " + " ".join(self.mechs))
                if self.dsn:
                    ext.append("DSN")
                reply("\r\n".join(f"250-{e}" for e in ext[:-1]) +
                      f"\r\n250 {ext[-1]}")
            elif verb == "STARTTLS":
                if not self.cert or tls:
                    reply("502 5.5.1 no")
                    continue
                reply("220 2.0.0 Ready to start TLS")
                sock = self.ctx.wrap_socket(sock, server_side=True)
                f = sock.makefile("rb")
                tls = True
            elif verb == "AUTH":
                parts = cmd.split(" ")
                mech = parts[1].upper() if len(parts) > 1 else ""
                if mech == "PLAIN" and "PLAIN" in self.mechs:
                    b64 = parts[2] if len(parts) > 2 else None
                    if b64 is None:
                        reply("334 ")
                        b64 = readline()
                    fields = base64.b64decode(b64).split(b"\0")
                    got = (fields[1].decode(), fields[2].decode())
                elif mech == "LOGIN" and "LOGIN" in self.mechs:
                    reply("334 VXNlcm5hbWU6")
                    u = base64.b64decode(readline()).decode()
                    reply("334 UGFzc3dvcmQ6")
                    p = base64.b64decode(readline()).decode()
                    got = (u, p)
                else:
                    reply("504 5.5.4 mechanism not available")
                    continue
                if self.auth and got == tuple(self.auth):
                    user = got[0]
                    reply("235 2.7.0 Authentication successful")
                else:
                    reply("535 5.7.8 Error: authentication failed: "
                          "bad credentials")
            elif verb == "MAIL":
                nmail += 1
                if self.drop == "mail2" and nmail == 2:
                    with self.lock:
                        self.drops += 1
                    return
                if self.auth and user is None:
                    reply("530 5.7.0 Authentication required")
                    continue
                mail, rcpts = cmd, []
                reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                rcpts.append(cmd)
                reply("250 2.1.5 Ok")
            elif verb == "DATA":
                if mail is None or not rcpts:
                    reply("503 5.5.1 no")
                    continue
                reply("354 go ahead")
                data = b""
                while True:
                    ln = f.readline()
                    if not ln or ln == b".\r\n":
                        break
                    data += ln[1:] if ln.startswith(b"..") else ln
                with self.lock:
                    self.messages.append(dict(conn=conn_no, tls=tls,
                                              user=user, mail=mail,
                                              rcpts=rcpts, data=data))
                delivered += 1
                mail, rcpts = None, []
                reply("250 2.0.0 Ok: queued as TLSSINK")
            elif verb == "RSET":
                mail, rcpts = None, []
                reply("250 2.0.0 Ok")
                if self.drop == "rset" and delivered > 0:
                    with self.lock:
                        self.drops += 1
                    return
            elif verb == "QUIT":
                reply("221 2.0.0 Bye")
                return
            else:
                reply("502 5.5.2 unknown command")

    def find(self, token, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for m in self.messages:
                    if token.encode() in m["data"]:
                        return m
            time.sleep(0.05)
        raise AssertionError(f"sink on {self.port} never got {token}")

    def has(self, token):
        with self.lock:
            return any(token.encode() in m["data"] for m in self.messages)


# --- sinks, routes and policies (made at import: the instance's config
# names the tables) ------------------------------------------------------
SINKS = {
    "may": Sink(cert=GOOD),
    "verify": Sink(cert=GOOD),
    "secure": Sink(cert=GOOD),
    "badca": Sink(cert=WRONG_CA),
    "badname": Sink(cert=WRONG_NAME),
    "notls": Sink(),
    "none": Sink(cert=GOOD),
    "badpolicy": Sink(cert=GOOD),
    "auth": Sink(auth=("smtpuser", "s3cret"), mechs=("PLAIN",)),
    "authlogin": Sink(auth=("loginuser", "pa55"), mechs=("LOGIN",)),
    "authbad": Sink(auth=("smtpuser", "s3cret")),
    "droprset": Sink(drop="rset"),
    "dropmail": Sink(drop="mail2"),
    "dsn": Sink(dsn=True),
    "held": Sink(),
}


def hop(name):
    return f"[127.0.0.1]:{SINKS[name].port}"


routes = "".join(f"{name}.tls.example  smtp:{hop(name)}\n"
                 for name in SINKS if name != "held")
routes += f"held.tls.example  relay:{hop('held')}\n"
deliverylib.add_routes(routes)

POLICY = os.path.join(_DIR, "tls_policy")
with open(POLICY, "w") as _f:
    _f.write(f"""# smtp_tls_policy_maps for the sinks above
{hop('may')}        may
{hop('verify')}     verify
{hop('secure')}     secure
{hop('badca')}      verify
{hop('badname')}    secure
{hop('notls')}      encrypt
{hop('none')}       none
{hop('badpolicy')}  verify match=nexthop
""")
SASL = os.path.join(_DIR, "sasl_passwd")
with open(SASL, "w") as _f:
    _f.write(f"""{hop('auth')}       smtpuser:s3cret
{hop('authlogin')}  loginuser:pa55
{hop('authbad')}    smtpuser:wrong
""")
for _p in (POLICY, SASL):
    os.chmod(_p, 0o644)

CONFIG = {
    "transport_maps": f"texthash:{deliverylib.TRANSPORT}",
    "smtp_tls_policy_maps": f"texthash:{POLICY}",
    "smtp_tls_CAfile": os.path.join(_DIR, "ca.crt"),
    "smtp_sasl_auth_enable": "yes",
    "smtp_sasl_password_maps": f"texthash:{SASL}",
    "defer_transports": "relay",
}


def send(inst, rcpts, sender=PM, mail_options=(), rcpt_options=None):
    token = uuid.uuid4().hex
    msg = (f"From: <{sender}>\r\nTo: <{rcpts[0]}>\r\n"
           f"Subject: tls {token}\r\n"
           f"Message-Id: <{token}@example.net>\r\n\r\nbody {token}\r\n")
    with smtplib.SMTP(HOST, inst.ports["smtp"], timeout=30) as s:
        s.ehlo("client.example.net")
        code, reply = s.mail(sender, list(mail_options))
        assert code == 250, reply
        for r in rcpts:
            opts = (rcpt_options or {}).get(r, [])
            code, reply = s.rcpt(r, opts)
            assert code == 250, (r, code, reply)
        code, reply = s.data(msg.encode())
        assert code == 250, reply
        qid = re.search(rb"queued as ([0-9A-F]+)", reply).group(1).decode()
    return token, qid


def sent(inst, name, since, timeout=30):
    token, qid = send(inst, [f"u@{name}.tls.example"])
    m = SINKS[name].find(token, timeout)
    line = inst.wait_log(rf"{qid}: to=<u@{name}\.tls\.example>, "
                         rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                         rf"{SINKS[name].port}, .*status=sent.*",
                         since=since, timeout=timeout).group(0)
    return m, qid, line


def deferred(inst, name, since, timeout=30):
    """Sends to a sink that must not get the mail; returns the deferral
    log line, and deletes the message."""
    token, qid = send(inst, [f"u@{name}.tls.example"])
    try:
        line = inst.wait_log(rf"{qid}: to=<u@{name}\.tls\.example>, .*"
                             r"status=deferred.*", since=since,
                             timeout=timeout).group(0)
        assert not SINKS[name].has(token)
        return line
    finally:
        inst.youju("queue", "delete", qid)


# --- TLS ----------------------------------------------------------------------
def test_tls_may_is_opportunistic(inst):
    since = inst.log_size()
    m, _, _ = sent(inst, "may", since)
    assert m["tls"]
    inst.wait_log(r"Anonymous TLS connection established to 127\.0\.0\.1"
                  rf"\[127\.0\.0\.1\]:{SINKS['may'].port}: TLSv1\.[23]",
                  since=since)


def test_tls_verify_with_the_right_ca(inst):
    since = inst.log_size()
    for name in ("verify", "secure"):
        m, _, _ = sent(inst, name, since)
        assert m["tls"]
        inst.wait_log(r"Verified TLS connection established to "
                      rf"127\.0\.0\.1\[127\.0\.0\.1\]:{SINKS[name].port}",
                      since=since)


def test_tls_verify_wrong_ca_defers(inst):
    since = inst.log_size()
    line = deferred(inst, "badca", since)
    assert "dsn=4.7.5" in line, line
    assert "Server certificate not verified" in line, line


def test_tls_secure_name_mismatch_defers(inst):
    since = inst.log_size()
    line = deferred(inst, "badname", since)
    assert "dsn=4.7.5" in line, line
    assert "Server certificate not verified" in line, line


def test_tls_encrypt_without_starttls_defers(inst):
    since = inst.log_size()
    line = deferred(inst, "notls", since)
    assert "dsn=4.7.4" in line, line
    assert "TLS is required, but was not offered by host " \
           "127.0.0.1[127.0.0.1]" in line, line
    assert SINKS["notls"].conns >= 1


def test_tls_policy_none_stays_in_clear(inst):
    since = inst.log_size()
    m, _, _ = sent(inst, "none", since)
    assert not m["tls"]


def test_tls_policy_with_attributes_is_refused(inst):
    """"verify match=nexthop": a policy youju cannot honour whole defers
    the mail instead of weakening it."""
    since = inst.log_size()
    line = deferred(inst, "badpolicy", since)
    assert "dsn=4.7.5" in line and "invalid TLS policy" in line, line
    assert SINKS["badpolicy"].conns == 0


# --- AUTH ---------------------------------------------------------------------
def test_auth_plain_and_login(inst):
    since = inst.log_size()
    m, _, _ = sent(inst, "auth", since)
    assert m["user"] == "smtpuser"
    m, _, _ = sent(inst, "authlogin", since)
    assert m["user"] == "loginuser"


def test_auth_wrong_password_defers(inst):
    since = inst.log_size()
    line = deferred(inst, "authbad", since)
    assert "dsn=4.7.8" in line, line
    assert ("SASL authentication failed; server 127.0.0.1[127.0.0.1] "
            "said: 535 5.7.8 Error: authentication failed") in line, line


# --- connection reuse -----------------------------------------------------------
def _reuse_dies(inst, name):
    """Two messages in a row to a sink whose cached connections die: the
    second one is retried on a new connection, never deferred."""
    s = SINKS[name]
    since = inst.log_size()
    qids = []
    for _ in range(5):
        token, qid = send(inst, [f"a@{name}.tls.example"])
        qids.append(qid)
        s.find(token)
        # at once, while the connection waits in the cache (2s)
        token, qid = send(inst, [f"b@{name}.tls.example"])
        qids.append(qid)
        s.find(token)
        if s.drops > 0:
            break
    assert s.drops > 0, "the cached connection was never used"
    inst.wait_log(rf"cached connection to 127\.0\.0\.1\[127\.0\.0\.1\]:"
                  rf"{s.port} lost: .*; reconnecting", since=since)
    for qid in qids:
        inst.wait_log(rf"{qid}: to=<[ab]@{name}\.tls\.example>, .*"
                      r"status=sent", since=since)
    assert not re.search(rf"({'|'.join(qids)}): .*status=deferred",
                         inst.maillog()[since:])


def test_cached_connection_dead_after_rset_is_replaced(inst):
    _reuse_dies(inst, "droprset")


def test_cached_connection_dead_at_mail_is_replaced(inst):
    _reuse_dies(inst, "dropmail")


# --- DSN ------------------------------------------------------------------------
def test_dsn_parameters_passed_on(inst):
    since = inst.log_size()
    remote1, remote2 = "r1@dsn.tls.example", "r2@dsn.tls.example"
    token, qid = send(
        inst, [PM, remote1, remote2],
        mail_options=["RET=HDRS", "ENVID=env+2Bid." + uuid.uuid4().hex[:8]],
        rcpt_options={
            PM: ["NOTIFY=SUCCESS"],
            remote1: ["NOTIFY=SUCCESS,FAILURE",
                      "ORCPT=rfc822;orig+2Bx@example.org"],
            remote2: ["NOTIFY=SUCCESS"],
        })
    m = SINKS["dsn"].find(token)
    assert re.fullmatch(r"MAIL FROM:<postmaster@extmail\.org>"
                        r"( BODY=\S+)? RET=HDRS ENVID=env\+2Bid\.\w+",
                        m["mail"]), m["mail"]
    assert m["rcpts"] == [
        f"RCPT TO:<{remote1}> NOTIFY=SUCCESS,FAILURE "
        "ORCPT=rfc822;orig+2Bx@example.org",
        f"RCPT TO:<{remote2}> NOTIFY=SUCCESS ORCPT=rfc822;{remote2}",
    ], m["rcpts"]
    # the local recipient gets its "delivered"; the next hop reports the
    # remote ones itself, so no "relayed" from us
    inst.wait_log(rf"{qid}: sender delivery status notification: ",
                  since=since)
    local, dom = PM.split("@")
    new = inst.path("mailbox", dom, local, "Maildir", "new")
    deadline = time.time() + 20
    report = None
    while report is None and time.time() < deadline:
        for n in os.listdir(new):
            try:
                with open(os.path.join(new, n), "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                continue
            if token.encode() in data and b"Successful Mail" in data:
                report = data
        time.sleep(0.1)
    assert report is not None, "no success report"
    assert b"Action: delivered" in report
    assert b"Action: relayed" not in report
    assert b"Final-Recipient: rfc822; r1@" not in report
    assert b"Final-Recipient: rfc822; r2@" not in report


def test_no_dsn_parameters_without_dsn(inst):
    token, _ = send(inst, ["x@auth.tls.example"], mail_options=["RET=FULL"],
                    rcpt_options={"x@auth.tls.example": ["NOTIFY=NEVER"]})
    m = SINKS["auth"].find(token)
    assert m["mail"] == "MAIL FROM:<postmaster@extmail.org>", m["mail"]
    assert m["rcpts"] == ["RCPT TO:<x@auth.tls.example>"], m["rcpts"]


# --- defer_transports -------------------------------------------------------------
def test_defer_transports_wait_for_flush(inst):
    s = SINKS["held"]
    since = inst.log_size()
    token, qid = send(inst, ["h@held.tls.example"])
    try:
        inst.wait_log(rf"{qid}: to=<h@held\.tls\.example>, relay=none, .*"
                      r"dsn=4\.3\.2, status=deferred \(deferred transport\)",
                      since=since)
        time.sleep(3)  # a retry or two (minimal_backoff_time 1s)
        assert not s.has(token)
        r = inst.youju("queue", "flush")
        assert r.returncode == 0, r.stderr
        s.find(token)
        inst.wait_log(rf"{qid}: to=<h@held\.tls\.example>, relay=127.*"
                      r"status=sent", since=since)
    finally:
        inst.youju("queue", "delete", qid)


# --- long lines -------------------------------------------------------------------
def test_long_lines_folded_when_relaying(inst):
    """smtp_line_length_limit (998): a longer line goes out folded with
    CR LF SPACE, so no line on the wire passes RFC 5321's 1000."""
    long = "".join(f"{i % 10}" for i in range(1500))
    token = uuid.uuid4().hex
    msg = (f"From: <{PM}>\r\nTo: <l@none.tls.example>\r\n"
           f"Subject: long {token}\r\n\r\n{long}\r\nend\r\n")
    with smtplib.SMTP(HOST, inst.ports["smtp"], timeout=30) as s:
        s.sendmail(PM, ["l@none.tls.example"], msg.encode())
    m = SINKS["none"].find(token)
    lines = m["data"].split(b"\r\n")
    assert max(len(ln) for ln in lines) <= 998, [len(ln) for ln in lines]
    body = m["data"].split(b"\r\n\r\n", 1)[1]
    assert body.replace(b"\r\n ", b"") == f"{long}\r\nend\r\n".encode()
    assert body.startswith(long[:998].encode() + b"\r\n ")
