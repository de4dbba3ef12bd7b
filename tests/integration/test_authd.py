"""youju-authd (issue 3): the courier authdaemond protocol byte for byte on
run/authdaemon/socket, with real clients (courier's authtest, Cyrus SASL's
libsasl2), over the ExtMail tables in the instance's MariaDB; the LOOKUP
extension; throttling; reload; and a database that is stopped or frozen.

Tests run in order against one shared instance: each one creates the rows
it needs and removes them, and the database tests come last and restart
the database before returning."""
import base64
import hashlib
import hmac
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

import harness
import proctree

HERE = os.path.dirname(os.path.abspath(__file__))
PM = "postmaster@extmail.org"
PM_REPLY_TAIL = (b"OPTIONS=disablesmtpd=0,disablesmtp=0,disablewebmail=0,"
                 b"disablenetdisk=0,disableimap=0,disablepop3=0,"
                 b"netdiskquota=52428800S\n.\n")

# harness.py sets authd_failure_delay_max = 8s: the penalty goes 1, 2, 4,
# 8, 8 ... s here


def rq(inst, data, timeout=20, shut=False):
    """Sends raw bytes, returns everything read until the server closes."""
    return harness.unix_request(inst.authd_socket, data, timeout, shut)


def auth_bytes(service, user, password, typ="login", extra=b""):
    body = f"{service}\n{typ}\n{user}\n{password}\n".encode()
    return b"AUTH %d\n" % len(body) + body + extra


def auth(inst, service, user, password, ip=None, extra=b""):
    pre = f"TCPREMOTEIP={ip}\n".encode() if ip else b""
    return rq(inst, pre + auth_bytes(service, user, password, extra=extra))


def pm_prefix(inst):
    base = os.path.join(inst.home, "mailbox")
    return (f"UID=1000\nGID=1000\nHOME={base}/extmail.org/postmaster\n"
            f"ADDRESS={PM}\nNAME=PostMaster\n"
            f"MAILDIR={base}/extmail.org/postmaster/Maildir/\n"
            f"QUOTA=104857600S\n").encode()


def add_user(inst, user, pwhash, **cols):
    local, dom = user.split("@")
    c = {"username": user, "uid": local, "password": pwhash,
         "maildir": f"{dom}/{local}/Maildir/", "homedir": f"{dom}/{local}",
         "quota": "5242880", "domain": dom, "uidnumber": "1000",
         "gidnumber": "1000", "active": "1", "name": local}
    c.update({k: str(v) for k, v in cols.items()})
    names = ", ".join(c)
    vals = ", ".join("NULL" if v == "NULL" else "'" + v.replace("'", "''")
                     + "'" for v in c.values())
    inst.sql(f"INSERT INTO mailbox ({names}) VALUES ({vals})")


def del_user(inst, user):
    inst.sql(f"DELETE FROM mailbox WHERE username='{user}'")


def md5crypt(password):
    return subprocess.run(["openssl", "passwd", "-1", password],
                          capture_output=True, text=True,
                          check=True).stdout.strip()


def wait_uncached(inst):
    # authd_cache_ttl (5 s) and the negative TTL (2 s) bound how long an
    # SQL edit can go unseen; rows the tests create are new, but edits of
    # existing rows wait this long
    time.sleep(5.2)


# --- the courier protocol -------------------------------------------------

def test_socket_permissions(inst):
    d = os.path.dirname(inst.authd_socket)
    st = os.stat(d)
    assert st.st_mode & 0o777 == 0o750, oct(st.st_mode)
    assert os.stat(inst.authd_socket).st_mode & 0o777 == 0o777
    assert not os.path.exists(inst.authd_socket + ".tmp")


def test_pre_extmail_row(inst):
    out = rq(inst, b"TCPREMOTEIP=::1\nPRE . login " + PM.encode() + b"\n")
    assert out == pm_prefix(inst) + \
        b"PASSWD=$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0\n" + PM_REPLY_TAIL, out
    # maildrop's form, no meta line, module named
    assert rq(inst, b"PRE authmysql login " + PM.encode() + b"\n") == out
    assert rq(inst, b"PRE authfoo login " + PM.encode() + b"\n") == \
        b"FAIL\n"
    assert rq(inst, b"PRE . login nobody@extmail.org\n") == b"FAIL\n"
    # CR is not stripped: "postmaster@extmail.org\r" does not exist
    assert rq(inst, b"PRE . login " + PM.encode() + b"\r\n") == b"FAIL\n"
    # case-insensitive like MySQL; ADDRESS is the stored login
    up = rq(inst, b"PRE . imap POSTMASTER@EXTMAIL.ORG\n")
    assert b"ADDRESS=" + PM.encode() + b"\n" in up


def test_auth_login_md5crypt(inst):
    out = auth(inst, "login", PM, "extmail", ip="::1")
    assert out == pm_prefix(inst) + \
        b"PASSWD=$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0\nPASSWD2=extmail\n" + \
        PM_REPLY_TAIL, out
    # Cyrus SASL's uncounted trailing LF
    out2 = auth(inst, "smtp", PM, "extmail", extra=b"\n")
    assert out2.endswith(b"PASSWD2=extmail\n" + PM_REPLY_TAIL)


def test_auth_wrong_password_and_unknown(inst):
    t = time.time()
    assert auth(inst, "imap", PM, "wrong", ip="192.0.2.7") == b"FAIL\n"
    assert auth(inst, "imap", "nobody@extmail.org", "x",
                ip="192.0.2.7") == b"FAIL\n"
    # failed logins are answered after authd_failure_delay
    assert time.time() - t >= 1.0
    log = inst.wait_log(r"authd: auth failed: user=<postmaster@extmail.org>"
                        r", rip=192\.0\.2\.7, service=imap, "
                        r"reason=password mismatch")
    assert log
    assert "wrong" not in inst.maillog().split("auth failed")[-1]


def test_cached_relogin(inst):
    """A re-login within authd_cache_ttl is answered from the caches on
    authd's loop thread (docs/authd.md): the same bytes as the first
    answer; a wrong password still fails after the delay; a hash changed
    in SQL is seen once the row expires, even for the password that was
    remembered."""
    u = "again@extmail.org"
    add_user(inst, u, md5crypt("pw1"))
    try:
        first = auth(inst, "imap", u, "pw1")
        assert first.startswith(b"UID=1000\n") and first.endswith(b".\n")
        for _ in range(3):
            assert auth(inst, "imap", u, "pw1") == first
        # another service: the same remembered password, its own reply
        assert auth(inst, "pop3", u, "pw1") == first
        t = time.time()
        assert auth(inst, "imap", u, "pw2") == b"FAIL\n"
        assert time.time() - t >= 1.0
        assert auth(inst, "imap", u, "pw1") == first
        inst.sql(f"UPDATE mailbox SET password='{md5crypt('pw2')}' "
                 f"WHERE username='{u}'")
        wait_uncached(inst)
        assert auth(inst, "imap", u, "pw1") == b"FAIL\n"
        out = auth(inst, "imap", u, "pw2")
        assert out.startswith(b"UID=1000\n") and b"PASSWD2=pw2\n" in out
        assert auth(inst, "imap", u, "pw2") == out
    finally:
        del_user(inst, u)


def test_row_inserted_by_hand(inst):
    u = "hand@extmail.org"
    add_user(inst, u, md5crypt("handpw"), disableimap="1")
    try:
        out = auth(inst, "pop3", u, "handpw")
        assert out.startswith(b"UID=1000\nGID=1000\n"), out
        assert b"QUOTA=5242880S\n" in out
        assert b"disableimap=1" in out and b"disablepop3=0" in out
        # authd enforces the account's service switches itself
        assert auth(inst, "imap", u, "handpw") == b"FAIL\n"
    finally:
        del_user(inst, u)


def test_inactive_account_and_domain(inst):
    u = "sleepy@extmail.org"
    add_user(inst, u, md5crypt("pw"), active="0")
    try:
        assert auth(inst, "imap", u, "pw") == b"FAIL\n"
        assert rq(inst, f"PRE . login {u}\n".encode()) == b"FAIL\n"
        r = rq(inst, f"LOOKUP user {u}\n".encode())
        assert b"ACTIVE=0\n" in r
    finally:
        del_user(inst, u)
    inst.sql("INSERT INTO domain (domain, active) VALUES ('off.test', 0)")
    add_user(inst, "a@off.test", md5crypt("pw"))
    try:
        assert auth(inst, "imap", "a@off.test", "pw") == b"FAIL\n"
        assert rq(inst, b"LOOKUP domain off.test\n") == \
            b"DOMAIN=off.test\nACTIVE=0\n.\n"
        assert rq(inst, b"LOOKUP rcpt a@off.test\n") == b"FAIL\n"
    finally:
        del_user(inst, "a@off.test")
        inst.sql("DELETE FROM domain WHERE domain='off.test'")


def test_passwd(inst):
    u = "chpw@extmail.org"
    add_user(inst, u, md5crypt("old"))
    try:
        assert rq(inst, f"PASSWD login\t{u}\tbad\tnew\n".encode()) == \
            b"FAIL\n"
        assert rq(inst, f"PASSWD login\t{u}\told\tnew\n".encode()) == b"OK\n"
        h = inst.sql(f"SELECT password FROM mailbox WHERE username='{u}'")
        assert h[0][0].startswith("$6$"), h
        assert auth(inst, "imap", u, "new").endswith(b".\n")
        assert auth(inst, "imap", u, "old") == b"FAIL\n"
        # control byte → FAIL; too few fields → closed, no reply
        assert rq(inst, f"PASSWD login\t{u}\tnew\tx\ry\n".encode()) == \
            b"FAIL\n"
        assert rq(inst, b"PASSWD login\tx\n") == b""
        inst.sql(f"UPDATE mailbox SET disablepwdchange=1 "
                 f"WHERE username='{u}'")
        wait_uncached(inst)
        assert rq(inst, f"PASSWD login\t{u}\tnew\tnewer\n".encode()) == \
            b"FAIL\n"
    finally:
        del_user(inst, u)


def test_enumerate(inst):
    out = rq(inst, b"ENUMERATE\n")
    base = os.path.join(inst.home, "mailbox")
    assert out.startswith(b"# authmysql\n\n"), out
    assert out.endswith(b"\n.\n")
    line = (f"{PM}\t1000\t1000\t{base}/extmail.org/postmaster\t"
            f"{base}/extmail.org/postmaster/Maildir/\t").encode()
    assert line in out


def test_malformed_requests(inst):
    assert rq(inst, b"HELLO\n") == b""
    assert rq(inst, b"ENUMERATE now\n") == b""
    assert rq(inst, b"AUTH 8192\n") == b""
    assert rq(inst, b"AUTH x\n") == b""
    assert rq(inst, b"PRE . login " + b"a" * 9000 + b"\n") == b""
    assert rq(inst, b"AUTH 100\nimap\nlogin\n", shut=True) == b""
    assert rq(inst, b"PRE . login x@y", shut=True) == b""
    assert rq(inst, b"AUTH 12\nimap\nplain\nx\n") == b"FAIL\n"
    # a pipelined second request gets no answer
    out = rq(inst, b"PRE . login nobody@x\nPRE . login " + PM.encode() +
             b"\n")
    assert out == b"FAIL\n"
    # the daemon still serves
    assert auth(inst, "imap", PM, "extmail").endswith(b".\n")


def test_silent_client_dropped_after_10s(inst):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(inst.authd_socket)
    s.sendall(b"AUTH 100\nimap\n")
    t = time.time()
    assert s.recv(100) == b""
    took = time.time() - t
    assert 9 <= took <= 12, took
    s.close()


def test_request_in_pieces(inst):
    """A request that is not whole when the connection is accepted: authd
    reads what came, watches the socket (it registers it with epoll only
    then), and answers once the rest arrives."""
    req = auth_bytes("imap", PM, "extmail")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(inst.authd_socket)
    try:
        s.sendall(req[:9])
        time.sleep(0.3)
        s.sendall(req[9:])
        out = harness.read_all(s)
    finally:
        s.close()
    assert out.endswith(PM_REPLY_TAIL), out


def test_many_concurrent(inst):
    import concurrent.futures
    req = auth_bytes("smtp", PM, "extmail")

    def one(_):
        return rq(inst, req)
    with concurrent.futures.ThreadPoolExecutor(64) as ex:
        outs = list(ex.map(one, range(300)))
    assert all(o.endswith(PM_REPLY_TAIL) for o in outs)


# --- real clients -----------------------------------------------------------

def authtest(inst, *args):
    d = os.path.dirname(inst.authd_socket)
    os.makedirs("/run/courier/authdaemon", exist_ok=True)
    cmd = ("mount --bind '%s' /run/courier/authdaemon && exec authtest %s"
           % (d, " ".join("'%s'" % a for a in args)))
    return subprocess.run(["unshare", "-m", "sh", "-c", cmd],
                          capture_output=True, text=True, timeout=60)


def test_courier_authtest(inst):
    if not os.path.exists("/usr/sbin/authtest"):
        raise AssertionError("courier-authdaemon's authtest is missing")
    r = authtest(inst, PM, "extmail")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Authentication succeeded." in r.stdout
    assert f"Authenticated: {PM}  (uid 1000, gid 1000)" in r.stdout
    assert "Cleartext Password: extmail" in r.stdout
    assert "Quota: 104857600S" in r.stdout
    r = authtest(inst, PM, "wrong")
    assert r.returncode == 1
    assert "Operation not permitted" in r.stdout + r.stderr
    r = authtest(inst, PM)
    assert r.returncode == 0 and "Authentication succeeded." in r.stdout
    # our CLI prints the same report
    y = inst.youju("auth", "test", PM, "extmail")
    assert y.returncode == 0, y.stdout + y.stderr
    assert f"Authenticated: {PM}  (uid 1000, gid 1000)" in y.stdout
    y = inst.youju("auth", "test", PM, "nope")
    assert y.returncode == 1 and "Operation not permitted" in y.stdout


def sasl_check(inst, user, password):
    tmp = tempfile.mkdtemp(prefix="youju-sasl-")
    try:
        exe = os.path.join(tmp, "sasl_checkpass")
        subprocess.run(["cc", "-o", exe,
                        os.path.join(HERE, "sasl_checkpass.c"), "-lsasl2"],
                       check=True, capture_output=True)
        with open(os.path.join(tmp, "youjutest.conf"), "w") as f:
            f.write("pwcheck_method: authdaemond\n"
                    f"authdaemond_path: {inst.authd_socket}\n"
                    "mech_list: PLAIN LOGIN\n")
        r = subprocess.run([exe, tmp, "youjutest", "smtp", user, password],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout.strip()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_cyrus_sasl(inst):
    assert sasl_check(inst, PM, "extmail") == (0, "0")
    assert sasl_check(inst, PM, "bad") == (1, "-13")
    u = "nosasl@extmail.org"
    add_user(inst, u, md5crypt("pw"), disablesmtpd="1")
    try:
        assert sasl_check(inst, u, "pw") == (1, "-13")
    finally:
        del_user(inst, u)


def test_cram_md5_with_clear_column(inst):
    u = "cram@extmail.org"
    add_user(inst, u, "", clearpwd="secret")
    chal = b"<1234.5678@mail.example.com>"
    resp = u.encode() + b" " + hmac.new(b"secret", chal,
                                        hashlib.md5).hexdigest().encode()
    body = (b"imap\ncram-md5\n" + base64.b64encode(chal) + b"\n" +
            base64.b64encode(resp) + b"\n")
    req = b"AUTH %d\n" % len(body) + body
    try:
        # no clear column configured: CRAM is refused
        assert rq(inst, req) == b"FAIL\n"
        inst.youju("conf", "-e", "authd_clear_pwfield=clearpwd", check=True)
        inst.reload("youju-authd")
        inst.wait_log(r"authd: configuration reloaded")
        out = rq(inst, req)
        assert out.startswith(b"UID=1000\nGID=1000\n"), out
        assert b"ADDRESS=cram@extmail.org\n" in out
        assert b"PASSWD" not in out and b"QUOTA" not in out
        bad = body.replace(base64.b64encode(resp), base64.b64encode(
            u.encode() + b" " + b"0" * 32))
        assert rq(inst, b"AUTH %d\n" % len(bad) + bad) == b"FAIL\n"
        # login against the clear column
        assert auth(inst, "imap", u, "secret").endswith(b".\n")
    finally:
        inst.youju("conf", "-e", "authd_clear_pwfield=", check=True)
        inst.reload("youju-authd")
        del_user(inst, u)


# --- the lookup extension ------------------------------------------------

def test_lookup_rcpt(inst):
    base = os.path.join(inst.home, "mailbox")
    out = rq(inst, b"LOOKUP rcpt " + PM.encode() + b"\n")
    # DOMAIN_TRANSPORT: the domain's transport column (empty: none), so
    # that the queue manager needs no LOOKUP domain of its own
    assert out.startswith(b"TYPE=mailbox\nDOMAIN_TRANSPORT=\nADDRESS="
                          + PM.encode() + b"\n")
    assert (f"MAILDIR={base}/extmail.org/postmaster/Maildir/\n").encode() \
        in out
    assert rq(inst, b"LOOKUP rcpt support@extmail.org\n") == \
        b"TYPE=alias\nDOMAIN_TRANSPORT=\nADDRESS=support@extmail.org\n" \
        b"MAILBOX=postmaster@extmail.org\n.\n"
    assert rq(inst, b"LOOKUP rcpt nobody@extmail.org\n") == b"FAIL\n"
    assert rq(inst, b"LOOKUP rcpt x@not-hosted.example\n") == b"FAIL\n"
    inst.sql("INSERT INTO alias (address, goto, domain, active) VALUES "
             "('multi@extmail.org', 'support@extmail.org,far@remote.example"
             ",ghost@extmail.org', 'extmail.org', 1), "
             "('l1@extmail.org', 'l2@extmail.org', 'extmail.org', 1), "
             "('l2@extmail.org', 'l1@extmail.org', 'extmail.org', 1)")
    try:
        assert rq(inst, b"LOOKUP rcpt multi@extmail.org\n") == \
            b"TYPE=alias\nDOMAIN_TRANSPORT=\nADDRESS=multi@extmail.org\n" \
            b"MAILBOX=postmaster@extmail.org\nREMOTE=far@remote.example\n" \
            b"UNKNOWN=ghost@extmail.org\n.\n"
        # a loop is a temporary failure (the mail waits), and is logged
        assert rq(inst, b"LOOKUP rcpt l1@extmail.org\n") == b""
        inst.wait_log(r"lookup rcpt l1@extmail.org: alias nesting")
        inst.sql("INSERT INTO alias (address, goto, domain, active) VALUES "
                 "('@extmail.org', 'support@extmail.org', 'extmail.org', 1)")
        # catch-all; a mailbox's own address still wins
        assert rq(inst, b"LOOKUP rcpt whoever@extmail.org\n") == \
            b"TYPE=alias\nDOMAIN_TRANSPORT=\n" \
            b"ADDRESS=whoever@extmail.org\n" \
            b"MAILBOX=postmaster@extmail.org\n.\n"
        assert rq(inst, b"LOOKUP rcpt " + PM.encode() + b"\n").startswith(
            b"TYPE=mailbox\n")
    finally:
        inst.sql("DELETE FROM alias WHERE address IN ('multi@extmail.org',"
                 "'l1@extmail.org','l2@extmail.org','@extmail.org')")


def test_lookup_rcpt_domain_transport(inst):
    """LOOKUP rcpt names the domain's transport column, for a mailbox and
    for an alias: the queue manager routes with it (ExtMan's
    domain.transport) without a LOOKUP domain of its own."""
    dom = "rtrans.example"
    inst.sql("INSERT INTO domain (domain, description, transport, active) "
             f"VALUES ('{dom}', 'moved', 'smtp:[192.0.2.7]:2525', 1)")
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('u@{dom}', 'u', '', 'u', '{dom}/u/Maildir/', '{dom}/u', "
             f"'1000000S', '{dom}', 1000, 1000, 1)")
    inst.sql("INSERT INTO alias (address, goto, domain, active) VALUES "
             f"('a@{dom}', 'u@{dom}', '{dom}', 1)")
    try:
        out = rq(inst, f"LOOKUP rcpt u@{dom}\n".encode())
        assert out.startswith(b"TYPE=mailbox\n"
                              b"DOMAIN_TRANSPORT=smtp:[192.0.2.7]:2525\n"
                              b"ADDRESS=u@" + dom.encode()), out
        assert rq(inst, f"LOOKUP rcpt a@{dom}\n".encode()) == \
            b"TYPE=alias\nDOMAIN_TRANSPORT=smtp:[192.0.2.7]:2525\n" \
            b"ADDRESS=a@rtrans.example\nMAILBOX=u@rtrans.example\n.\n"
        # the same column as LOOKUP domain gives
        assert rq(inst, f"LOOKUP domain {dom}\n".encode()) == \
            b"DOMAIN=rtrans.example\nACTIVE=1\n" \
            b"TRANSPORT=smtp:[192.0.2.7]:2525\n.\n"
    finally:
        inst.sql(f"DELETE FROM alias WHERE domain='{dom}'")
        inst.sql(f"DELETE FROM mailbox WHERE domain='{dom}'")
        inst.sql(f"DELETE FROM domain WHERE domain='{dom}'")


def test_lookup_domain_quota_user(inst):
    assert rq(inst, b"LOOKUP domain extmail.org\n") == \
        b"DOMAIN=extmail.org\nACTIVE=1\n.\n"
    assert rq(inst, b"LOOKUP domain nowhere.example\n") == b"FAIL\n"
    q = rq(inst, b"LOOKUP quota extmail.org\n")
    assert q.startswith(b"DOMAIN=extmail.org\nACTIVE=1\n"
                        b"MAXQUOTA=1073741824\nMAXUSERS=50\nMAXALIAS=50\n")
    assert b"QUOTASUM=" in q and q.endswith(b".\n")
    u = rq(inst, b"LOOKUP user " + PM.encode() + b"\n")
    assert b"ACTIVE=1\nDISABLEPWDCHANGE=0\n" in u and b"PASSWD" not in u
    assert rq(inst, b"LOOKUP user nobody@extmail.org\n") == b"FAIL\n"
    assert rq(inst, b"LOOKUP bogus x\n") == b""


def read_reply(s):
    """One framed reply ("FAIL\\n" or lines up to a "." line), or b"" at
    EOF."""
    out = b""
    while not (out == b"FAIL\n" or out == b".\n" or out.endswith(b"\n.\n")):
        chunk = s.recv(4096)
        if not chunk:
            break
        out += chunk
    return out


def test_keepalive_lookups(inst):
    # youju's own clients (lib/authc) ask several lookups on one connection
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(inst.authd_socket)
    try:
        s.sendall(b"KEEPALIVE=1\nLOOKUP domain extmail.org\n")
        assert read_reply(s) == b"DOMAIN=extmail.org\nACTIVE=1\n.\n"
        s.sendall(b"KEEPALIVE=1\nLOOKUP rcpt nobody@extmail.org\n")
        assert read_reply(s) == b"FAIL\n"
        s.sendall(b"KEEPALIVE=1\nLOOKUP rcpt support@extmail.org\n")
        assert read_reply(s).endswith(b"MAILBOX=postmaster@extmail.org\n.\n")
        # without KEEPALIVE=1 the reply is the last one, as in courier
        s.sendall(b"LOOKUP domain extmail.org\n")
        assert read_reply(s) == b"DOMAIN=extmail.org\nACTIVE=1\n.\n"
        assert s.recv(100) == b""
    finally:
        s.close()
    # the courier commands close after their reply whatever the meta lines
    out = rq(inst, b"KEEPALIVE=1\nPRE . imap " + PM.encode() + b"\n")
    assert out.startswith(b"UID=") and out.endswith(b"\n.\n")
    # a client that does not wait for the reply gets one reply, then EOF
    out = rq(inst, b"KEEPALIVE=1\nLOOKUP domain extmail.org\n"
             b"KEEPALIVE=1\nLOOKUP domain extmail.org\n")
    assert out == b"DOMAIN=extmail.org\nACTIVE=1\n.\n"


# --- reuse by youju's clients (REUSE=1, the generation file) -------------

def gen_value(inst):
    """authd's cache generation, as lib/authc_cache reads it."""
    with open(inst.authd_socket + ".gen", "rb") as f:
        b = f.read()
    assert len(b) == 16 and b[:8] == b"youjugn1", b
    return int.from_bytes(b[8:], sys.byteorder)


def ttl_split(out):
    m = re.match(rb"TTL=(\d+)\n", out)
    assert m, out
    return int(m.group(1)), out[m.end():]


def test_reuse_ttl_line(inst):
    """REUSE=1 (lib/authc_cache): a LOOKUP reply starts with how long it
    may be reused, what is left of authd's cache entry, and is otherwise
    the very bytes authd sends without it; courier's clients (no meta
    line) see nothing new."""
    rq(inst, b"FLUSH reuse\n")
    plain = rq(inst, b"LOOKUP domain extmail.org\n")
    assert plain == b"DOMAIN=extmail.org\nACTIVE=1\n.\n"
    ttl, rest = ttl_split(rq(inst, b"REUSE=1\nLOOKUP domain extmail.org\n"))
    assert 0 < ttl <= 5000 and rest == plain, (ttl, rest)
    rcpt = b"LOOKUP rcpt " + PM.encode() + b"\n"
    plain = rq(inst, rcpt)
    assert plain.startswith(b"TYPE=mailbox\n"), plain
    ttl, rest = ttl_split(rq(inst, b"REUSE=1\n" + rcpt))
    assert 0 < ttl <= 5000 and rest == plain, (ttl, rest)
    # not found: the negative TTL (2 s)
    ttl, rest = ttl_split(
        rq(inst, b"REUSE=1\nLOOKUP rcpt nobody-reuse@extmail.org\n"))
    assert 0 < ttl <= 2000 and rest == b"FAIL\n", (ttl, rest)
    # LOOKUP user comes from the rows cache, not the lookups cache: 0
    ttl, rest = ttl_split(rq(inst, b"REUSE=1\nLOOKUP user " +
                             PM.encode() + b"\n"))
    assert ttl == 0 and rest.startswith(b"ADDRESS=" + PM.encode()), rest
    # on a kept connection the framing is unchanged after the TTL line
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(inst.authd_socket)
    try:
        for _ in range(2):
            s.sendall(b"REUSE=1\nKEEPALIVE=1\nLOOKUP domain extmail.org\n")
            out = b""
            while not out.endswith(b"\n.\n"):
                chunk = s.recv(4096)
                assert chunk, out
                out += chunk
            ttl, rest = ttl_split(out)
            assert rest == b"DOMAIN=extmail.org\nACTIVE=1\n.\n", out
    finally:
        s.close()


def test_generation_file(inst):
    """<authd_socket>.gen: readable by the mail group only, and its
    generation changes with FLUSH, PASSWD and a reload (SIGHUP), never
    with a lookup."""
    path = inst.authd_socket + ".gen"
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode) and st.st_mode & 0o777 == 0o640, st
    g = gen_value(inst)
    rq(inst, b"LOOKUP domain extmail.org\n")
    rq(inst, b"REUSE=1\nLOOKUP rcpt " + PM.encode() + b"\n")
    assert gen_value(inst) == g
    assert rq(inst, b"FLUSH alice@extmail.org\n") == b"OK\n"
    g2 = gen_value(inst)
    assert g2 > g, (g, g2)
    u = "genpw@extmail.org"
    add_user(inst, u, md5crypt("old"))
    try:
        assert rq(inst, f"PASSWD imap\t{u}\told\tnew\n".encode()) == \
            b"OK\n"
        g3 = gen_value(inst)
        assert g3 > g2, (g2, g3)
        # a refused PASSWD changes nothing
        assert rq(inst, f"PASSWD imap\t{u}\twrong\tx\n".encode()) == \
            b"FAIL\n"
        assert gen_value(inst) == g3
    finally:
        del_user(inst, u)
    since = inst.log_size()
    inst.reload("youju-authd")
    inst.wait_log(r"configuration reloaded", since=since)
    g4 = gen_value(inst)
    assert g4 > g3, (g3, g4)


def test_generation_across_restart(inst):
    """A new authd process (the server killed and restarted by the
    master, or authd stopped and started) changes the generation in the
    same file, which clients keep mapped."""
    ino = os.stat(inst.authd_socket + ".gen").st_ino
    g = gen_value(inst)
    master = inst.daemon_pid("youju-authd")
    since = inst.log_size()
    for p in proctree.children(master):
        os.kill(p, signal.SIGKILL)
    inst.wait_log(r"authd: listening on", since=since)
    g2 = gen_value(inst)
    assert g2 > g, (g, g2)
    os.kill(master, signal.SIGTERM)
    harness.wait_gone(master)
    g3 = gen_value(inst)
    assert g3 > g2, (g2, g3)  # the server's last answers are void too
    inst.start()
    assert inst.live_pid("youju-authd") > 0
    assert os.stat(inst.authd_socket + ".gen").st_ino == ino
    assert gen_value(inst) > g3
    assert rq(inst, b"LOOKUP domain extmail.org\n") == \
        b"DOMAIN=extmail.org\nACTIVE=1\n.\n"


def test_reuse_off_with_cache_ttl_0(inst):
    """authd_cache_ttl = 0: caching off, nothing may be reused (TTL=0),
    negative answers included."""
    old = inst.youju("conf", "-h", "authd_cache_ttl",
                     check=True).stdout.strip()
    try:
        inst.youju("conf", "-e", "authd_cache_ttl=0", check=True)
        since = inst.log_size()
        inst.reload("youju-authd")
        inst.wait_log(r"configuration reloaded", since=since)
        for req in (b"LOOKUP domain extmail.org\n",
                    b"LOOKUP rcpt nobody-reuse0@extmail.org\n"):
            for _ in range(2):
                ttl, rest = ttl_split(rq(inst, b"REUSE=1\n" + req))
                assert ttl == 0 and rest == rq(inst, req), (req, rest)
    finally:
        inst.youju("conf", "-e", f"authd_cache_ttl={old}", check=True)
        since = inst.log_size()
        inst.reload("youju-authd")
        inst.wait_log(r"configuration reloaded", since=since)


# --- abuse ----------------------------------------------------------------

def guess(inst, user, password, ip, service="imap"):
    """An AUTH with FAILDELAY=1 (youju's own clients): a failure comes at
    once with the delay the daemon would have waited; returns that delay
    in ms, or the reply when it is not a failure."""
    out = rq(inst, f"FAILDELAY=1\nTCPREMOTEIP={ip}\n".encode()
             + auth_bytes(service, user, password))
    m = re.fullmatch(rb"FAIL\nDELAY=(\d+)\n", out)
    return int(m.group(1)) if m else out


def test_throttling_never_locks_the_owner_out(inst):
    """Issue 10: guessing a user's password, from many addresses or from
    one, never refuses the owner's right password from another address;
    one address is locked out for the user at authd_failure_limit_user,
    and past that limit from anywhere the user's failures are slowed."""
    u = "victim@extmail.org"
    add_user(inst, u, md5crypt("right"))
    try:
        # authd_failure_limit_user = 10: ten addresses, one guess each
        for i in range(10):
            assert guess(inst, u, f"guess{i}", f"198.51.100.{i}") == 1000
        t = time.time()
        assert auth(inst, "imap", u, "right",
                    ip="198.51.100.99").endswith(b".\n")
        assert time.time() - t < 1.0
        # ten from one address: that address is locked out for u
        delays = [guess(inst, u, f"g{i}", "203.0.113.5") for i in range(10)]
        assert delays[:5] == [1000, 2000, 4000, 8000, 8000], delays
        inst.wait_log(r"authd: locked out: user=<victim@extmail\.org>, "
                      r"rip=203\.0\.113\.5, service=imap, reason=too many "
                      r"failures for this user from this client")
        assert auth(inst, "imap", u, "right", ip="203.0.113.5") == b""
        inst.wait_log(r"authd: throttled: user=<victim@extmail\.org>, "
                      r"rip=203\.0\.113\.5")
        # the address still gets answers for other users
        assert auth(inst, "imap", PM, "extmail",
                    ip="203.0.113.5").endswith(b".\n")
        # u has 10 failures from anywhere now: a new address is slowed
        assert guess(inst, u, "another", "198.51.100.201") == 2000
        # and the owner, elsewhere, gets in at once
        t = time.time()
        assert auth(inst, "imap", u, "right",
                    ip="198.51.100.99").endswith(b".\n")
        assert auth(inst, "imap", u, "right").endswith(b".\n")
        assert time.time() - t < 1.0
    finally:
        del_user(inst, u)


def test_client_address_locked_out(inst):
    """authd_failure_limit_client = 30 failures from one address, for any
    users, lock the address out (every user, right password or not);
    other addresses are not affected."""
    ip = "203.0.113.30"
    for i in range(30):
        d = guess(inst, f"spray{i}@extmail.org", "x", ip)
        assert d == min(1000 << i, 8000), (i, d)
    inst.wait_log(r"authd: locked out: user=<spray29@extmail\.org>, "
                  r"rip=203\.0\.113\.30, service=imap, "
                  r"reason=too many failures from this client")
    assert auth(inst, "imap", PM, "extmail", ip=ip) == b""
    inst.wait_log(r"authd: throttled: user=<postmaster@extmail\.org>, "
                  r"rip=203\.0\.113\.30, service=imap, "
                  r"reason=client locked out")
    assert auth(inst, "imap", PM, "extmail",
                ip="203.0.113.31").endswith(b".\n")


def test_held_failure_blocks_nobody(inst):
    """A FAIL held for its penalty (courier clients: no FAILDELAY) holds
    a timer, not a worker: other logins are answered meanwhile."""
    u = "slow@extmail.org"
    add_user(inst, u, md5crypt("right"))
    try:
        ip = "203.0.113.9"
        for i in range(4):
            assert guess(inst, u, f"g{i}", ip) == [1000, 2000, 4000,
                                                    8000][i]
        held = {}

        def slow():
            t = time.time()
            held["out"] = auth(inst, "imap", u, "wrong", ip=ip)
            held["t"] = time.time() - t

        th = threading.Thread(target=slow)
        th.start()
        time.sleep(0.3)
        t = time.time()
        for _ in range(5):
            assert auth(inst, "imap", u, "right",
                        ip="198.51.100.77").endswith(b".\n")
        assert time.time() - t < 1.0
        th.join(30)
        assert held["out"] == b"FAIL\n"
        assert held["t"] >= 7.5, held
    finally:
        del_user(inst, u)


def test_success_resets_user_counter(inst):
    u = "reset@extmail.org"
    add_user(inst, u, md5crypt("right"))
    try:
        for _ in range(2):
            for i in range(6):
                assert auth(inst, "imap", u, "bad") == b"FAIL\n"
            assert auth(inst, "imap", u, "right").endswith(b".\n")
    finally:
        del_user(inst, u)


# --- reload and the database going away (last: they restart MariaDB) ---

def test_sighup_reload_clears_cache(inst):
    u = "cached@extmail.org"
    add_user(inst, u, md5crypt("pw"))
    try:
        assert auth(inst, "imap", u, "pw").endswith(b".\n")
        inst.sql(f"UPDATE mailbox SET active=0 WHERE username='{u}'")
        since = inst.log_size()
        inst.reload("youju-authd")
        inst.wait_log(r"configuration reloaded", since=since)
        assert auth(inst, "imap", u, "pw") == b"FAIL\n"
    finally:
        del_user(inst, u)


def _wait_db_back(inst, user):
    """Polls until authd answers PRE for user (an unknown one) with FAIL,
    at most 20 s: the first answer after the database came back."""
    deadline = time.time() + 20
    while True:
        out = rq(inst, b"PRE . login %s\n" % user.encode())
        if out == b"FAIL\n" or time.time() > deadline:
            return out
        time.sleep(0.5)


def test_database_frozen_then_back(inst):
    # a pooled connection is open when the database freezes, so that both
    # ways of waiting on it are covered: a query on that connection (read
    # timeout) and a new connection (handshake timeout)
    assert auth(inst, "imap", PM, "extmail").endswith(b".\n")
    # an account that exists, never looked up before the freeze
    add_user(inst, "frozen3@extmail.org", md5crypt("frozen3-pw"))
    since = inst.log_size()
    pid = inst.db_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        # a name never looked up (no cache) cannot be answered: no reply,
        # never FAIL for an unknown user we could not look up.  authd
        # closes at authd_request_timeout (10 s); a hang would pass the
        # client's 30 s and raise.
        got = {}
        t = threading.Thread(target=lambda: got.update(f3=rq(
            inst, auth_bytes("imap", "frozen3@extmail.org", "frozen3-pw"),
            30)))
        t.start()
        assert rq(inst, b"PRE . login frozen1@extmail.org\n", 30) == b""
        assert rq(inst, auth_bytes("smtp", "frozen2@extmail.org", "x"),
                  30) == b""
        t.join()
        assert got["f3"] == b""
    finally:
        os.kill(pid, signal.SIGCONT)
    assert _wait_db_back(inst, "frozen1@extmail.org") == b"FAIL\n"
    assert auth(inst, "imap", PM, "extmail").endswith(b".\n")
    # the AUTHs the clients gave up on are finished when their lookups
    # end: by a temporary failure, or by the answer of a query that ran
    # once the database was back (frozen2 is unknown there, truly).  A
    # lookup that failed is never told as an unknown user: frozen3, which
    # exists, must never be logged as one.
    inst.wait_log(r"user=<frozen2@extmail\.org>", since=since)
    log = inst.maillog()[since:]
    assert not re.search(r"user=<frozen3@extmail\.org>[^\n]*unknown user",
                         log), log[-3000:]


def test_database_stopped_then_back(inst):
    inst.stop_db()
    try:
        assert rq(inst, b"PRE . login stopped@extmail.org\n") == b""
        assert rq(inst, b"LOOKUP rcpt stopped@extmail.org\n") == b""
        r = authtest(inst, "stopped@extmail.org")
        assert r.returncode == 1
        assert "Input/output error" in r.stdout + r.stderr
        y = inst.youju("auth", "test", "stopped@extmail.org")
        assert "Input/output error" in y.stdout
    finally:
        inst.start_db()
    assert _wait_db_back(inst, "stopped@extmail.org") == b"FAIL\n"
    assert auth(inst, "imap", PM, "extmail").endswith(b".\n")
