"""Sender identity, DKIM signing and policy services (issue 16).

- reject_authenticated_sender_login_mismatch (on by default): an
  authenticated user may send as their own address or an alias that
  delivers to them; another mailbox or another hosted domain gets 553 at
  RCPT (envelope) or after DATA (From:), and nothing is signed.
- DKIM: keys made by `youju dkim keygen` (RSA-2048 and Ed25519), the
  record printed by `youju dkim show` served by this module's fake DNS
  server, and youju's signatures verified by dkimpy (Debian's
  python3-dkim, run by /usr/bin/python3) asking that server.
- check_policy_service with Debian's postgrey: first attempt 450, the
  retry after the greylisting delay accepted; a policy server that is
  down gives smtpd_policy_service_default_action.
"""
import os
import re
import shutil
import smtplib
import socket
import struct
import subprocess
import tempfile
import threading
import time

import harness
import test_mta
from test_mta import (HOST, USER, PASSWORD, OutsideSMTP, _ctx, parse_queue_file,
                      qmgr_paused, queued_file, queued_id, smtp)
from test_mta_restrictions import FakeDNS, settings, _reload

CONFIG = dict(test_mta.CONFIG)
SYS_PY = "/usr/bin/python3"


def _authd(inst, data):
    return harness.unix_request(inst.authd_socket, data, 10)


def _setup_dir(inst):
    """other@extmail.org (another mailbox), sales@extmail.org (an alias to
    postmaster), other.test (another hosted domain with a mailbox)."""
    inst.sql("DELETE FROM alias WHERE address IN ('sales@extmail.org')")
    inst.sql("DELETE FROM mailbox WHERE username IN ('other@extmail.org',"
             "'boss@other.test')")
    inst.sql("DELETE FROM domain WHERE domain='other.test'")
    inst.sql("INSERT INTO domain (domain, active) VALUES ('other.test', 1)")
    for u in ("other@extmail.org", "boss@other.test"):
        local, dom = u.split("@")
        inst.sql("INSERT INTO mailbox (username, uid, password, maildir, "
                 "homedir, quota, domain, uidnumber, gidnumber, active, name)"
                 f" VALUES ('{u}', '{local}', 'x', '{dom}/{local}/Maildir/', "
                 f"'{dom}/{local}', '5242880', '{dom}', 1000, 1000, 1, "
                 f"'{local}')")
    inst.sql("INSERT INTO alias (address, goto, domain, active) VALUES "
             "('sales@extmail.org', 'postmaster@extmail.org', 'extmail.org',"
             " 1)")
    assert _authd(inst, b"FLUSH test\n") == b"OK\n"


def _submit(inst):
    s = smtp(inst, "submission")
    s.ehlo("client.example")
    s.starttls(context=_ctx())
    s.ehlo("client.example")
    code, msg = s.login(USER, PASSWORD)
    assert code == 235, msg
    return s


def _queue_one(inst, s, frm, rcpt, data):
    """One message over the SMTP session s (then ended), accepted; the
    message as youju queued it (run with the queue manager paused)."""
    s.mail(frm)
    s.rcpt(rcpt)
    code, msg = s.data(data)
    assert code == 250, msg
    s.quit()
    _, m = parse_queue_file(queued_file(inst, queued_id(msg.decode())))
    return m


def _msg(frm, subject="hi"):
    return (f"From: Someone <{frm}>\r\nTo: friend@example.com\r\n"
            f"Subject: {subject}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain\r\n\r\n"
            "Hello  there, \r\nsecond line\t \r\n\r\n\r\n").encode()


def test_sender_login_own_alias_other(inst):
    _setup_dir(inst)
    since = inst.log_size()
    s = _submit(inst)
    # own address and an alias delivering to the login: accepted
    for sender in (USER, "sales@extmail.org", "SALES@extmail.org"):
        assert s.mail(sender)[0] == 250
        code, msg = s.rcpt("friend@example.com")
        assert code == 250, (sender, msg)
        s.rset()
    # another mailbox, another hosted domain, a foreign address: 553
    for sender in ("other@extmail.org", "boss@other.test",
                   "someone@example.net"):
        assert s.mail(sender)[0] == 250
        code, msg = s.rcpt("friend@example.com")
        assert code == 553, (sender, msg)
        assert msg.decode() == (f"5.7.1 <{sender}>: Sender address "
                                f"rejected: not owned by user {USER}"), msg
        s.rset()
    # own envelope, someone else's From: refused after DATA
    assert s.mail(USER)[0] == 250
    assert s.rcpt("friend@example.com")[0] == 250
    code, msg = s.data(_msg("other@extmail.org"))
    assert code == 553, msg
    assert msg.decode() == ("5.7.1 <other@extmail.org>: Sender address "
                            f"rejected: not owned by user {USER}"), msg
    s.quit()
    inst.wait_log(r"NOQUEUE: reject: RCPT from \S+: 553 5\.7\.1 "
                  r"<boss@other\.test>: Sender address rejected: not owned",
                  since=since)


def test_sender_login_can_be_turned_off(inst):
    _setup_dir(inst)
    with settings(inst, smtpd_sender_restrictions=""):
        s = _submit(inst)
        assert s.mail("other@extmail.org")[0] == 250
        code, msg = s.rcpt("friend@example.com")
        assert code == 250, msg
        s.quit()


def test_sender_login_grant_table(inst):
    """smtpd_sender_login_maps: a table the domain administrator keeps,
    address (or @domain) -> logins."""
    _setup_dir(inst)
    path = inst.path("etc", "sender_logins")
    with open(path, "w") as f:
        f.write(f"boss@other.test {USER}, someone@else.example\n")
    try:
        with settings(inst, smtpd_sender_login_maps=f"extmail:, "
                      f"hash:{path}"):
            s = _submit(inst)
            assert s.mail("boss@other.test")[0] == 250
            code, msg = s.rcpt("friend@example.com")
            assert code == 250, msg
            s.quit()
    finally:
        os.unlink(path)


# ----------------------------------------------------------------- DKIM
def _keygen(inst, *args):
    r = inst.youju("dkim", "keygen", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _records(show_out):
    """Zone lines -> [(name, [strings])]."""
    out = []
    for line in show_out.splitlines():
        m = re.match(r'^(\S+)\. IN TXT((?: "[^"]*")+)$', line)
        assert m, line
        out.append((m.group(1), re.findall(r'"([^"]*)"', m.group(2))))
    return out


VERIFY = r"""
import sys, dkim, dns.resolver, dns.message, dns.query, dns.rdatatype
port = int(sys.argv[1])
def txt(name, timeout=5):
    q = dns.message.make_query(name.decode().rstrip('.'), 'TXT')
    r = dns.query.udp(q, '127.0.0.1', port=port, timeout=timeout)
    for rr in r.answer:
        for item in rr:
            return b''.join(item.strings)
    return None
msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg)
count = sum(1 for h in d.headers if h[0].lower() == b'dkim-signature')
ok = True
for n in range(count):
    try:
        res = d.verify(idx=n, dnsfunc=txt)
    except dkim.ValidationError as e:
        print('error', e); res = False
    print(n, res)
    ok = ok and res
sys.exit(0 if ok and count > 0 else 1)
"""


def _dkimpy_verify(msg, port):
    r = subprocess.run([SYS_PY, "-c", VERIFY, str(port)], input=msg,
                       capture_output=True, timeout=60)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


def test_dkim_keygen_show_and_signing(inst):
    if not os.path.exists(SYS_PY) or subprocess.run(
            [SYS_PY, "-c", "import dkim"]).returncode != 0:
        raise AssertionError("python3-dkim is not installed "
                             "(scripts/deps.sh)")
    _setup_dir(inst)
    kdir = inst.path("etc", "dkim")
    shutil.rmtree(kdir, ignore_errors=True)
    rec1 = _keygen(inst, "extmail.org", "--selector", "s1")
    rec2 = _keygen(inst, "extmail.org", "--selector", "s2", "--ed25519")
    assert rec1.startswith('s1._domainkey.extmail.org. IN TXT "v=DKIM1; '
                           'k=rsa; p=MII'), rec1
    assert rec2.startswith('s2._domainkey.extmail.org. IN TXT "v=DKIM1; '
                           'k=ed25519; p='), rec2
    st = os.stat(os.path.join(kdir, "extmail.org.s1.key"))
    assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
    # an existing selector is not overwritten
    assert inst.youju("dkim", "keygen", "extmail.org", "--selector",
                      "s1").returncode == 1
    show = inst.youju("dkim", "show", "extmail.org")
    assert show.returncode == 0, show.stderr
    assert show.stdout.splitlines() == [rec1, rec2]
    records = [(name, ("TXT", *strings))
               for name, strings in _records(show.stdout)]
    dns = FakeDNS(records)
    try:
        _reload(inst)
        since = inst.log_size()
        with qmgr_paused(inst):
            s = _submit(inst)
            s.mail(USER)
            s.rcpt("friend@example.com")
            code, msg = s.data(_msg(USER))
            assert code == 250, msg
            qid = queued_id(msg.decode())
            # the alias is signed too
            s.mail("sales@extmail.org")
            s.rcpt("friend@example.com")
            code, msg = s.data(_msg("sales@extmail.org", "alias"))
            assert code == 250, msg
            qid2 = queued_id(msg.decode())
            s.quit()
            _, m1 = parse_queue_file(queued_file(inst, qid))
            _, m2 = parse_queue_file(queued_file(inst, qid2))
        inst.wait_log(qid + r": dkim: signed, d=extmail\.org, "
                      r"signatures=2", since=since)
        for m in (m1, m2):
            wire = m.replace(b"\n", b"\r\n")
            assert wire.count(b"DKIM-Signature: v=1; a=rsa-sha256; "
                              b"c=relaxed/relaxed;") == 1, m
            assert wire.count(b"DKIM-Signature: v=1; a=ed25519-sha256; "
                              b"c=relaxed/relaxed;") == 1, m
            assert re.search(rb"h=from:from:subject:to:message-id|"
                             rb"h=from:from:", wire), m
            rc, out = _dkimpy_verify(wire, dns.port)
            assert rc == 0, out
            assert out.split() == ["0", "True", "1", "True"], out
            # a changed body no longer verifies
            rc, out = _dkimpy_verify(wire.replace(b"second line",
                                                  b"second lime"), dns.port)
            assert rc == 1 and "False" in out, out
        # unauthenticated mail from outside is never signed
        s = OutsideSMTP(inst)
        s.ehlo("outside.example")
        s.mail("someone@example.net")
        s.rcpt(USER)
        with qmgr_paused(inst):
            code, msg = s.data(_msg("postmaster@extmail.org"))
            assert code == 250, msg
            _, m3 = parse_queue_file(queued_file(inst,
                                                 queued_id(msg.decode())))
        s.quit()
        assert b"DKIM-Signature" not in m3
        # an authenticated user's mail as another mailbox: refused, so
        # nothing is signed; nothing for a domain without a key either
        s = _submit(inst)
        s.mail(USER)
        s.rcpt("friend@example.com")
        code, msg = s.data(_msg("boss@other.test"))
        assert code == 553, msg
        s.quit()
    finally:
        dns.close()
        shutil.rmtree(kdir, ignore_errors=True)
        _reload(inst)


def test_dkim_sendmail_local_submission_signed(inst):
    """Mail of the sendmail command from root (trusted) is signed."""
    kdir = inst.path("etc", "dkim")
    shutil.rmtree(kdir, ignore_errors=True)
    rec = _keygen(inst, "extmail.org", "--selector", "loc")
    dns = FakeDNS([(n, ("TXT", *s)) for n, s in _records(rec)])
    try:
        _reload(inst)
        since = inst.log_size()
        with qmgr_paused(inst):
            r = inst.youju("sendmail", "-f", USER, "friend@example.com",
                           input=_msg(USER).decode())
            assert r.returncode == 0, r.stderr
            m = inst.wait_log(r"(\w+): dkim: signed, d=extmail\.org, "
                              r"signatures=1", since=since)
            _, msg = parse_queue_file(queued_file(inst, m.group(1)))
        rc, out = _dkimpy_verify(msg.replace(b"\n", b"\r\n"), dns.port)
        assert rc == 0, out
    finally:
        dns.close()
        shutil.rmtree(kdir, ignore_errors=True)
        _reload(inst)


def test_dkim_sendmail_ordinary_user_not_signed(inst):
    """An ordinary local user (nobody) may submit with the sendmail
    command, as with Postfix: the sender is nobody@$myorigin, or what -f
    says.  Their mail is never signed, not even with -f and From: naming
    a hosted domain that has a key: the pickup socket is open to every
    local user, and OpenDKIM's InternalHosts convention (sign whatever
    comes from 127.0.0.1) would let any shell account send signed mail as
    any hosted domain."""
    from test_sendmail import run
    kdir = inst.path("etc", "dkim")
    shutil.rmtree(kdir, ignore_errors=True)
    _keygen(inst, "extmail.org", "--selector", "loc")
    try:
        _reload(inst)
        for args, frm, env_from in (
                (["-f", USER], USER, USER),
                ([], None, "nobody@")):
            since = inst.log_size()
            with qmgr_paused(inst):
                body = (_msg(frm) if frm else
                        b"Subject: plain\r\n\r\nhello\r\n")
                r = run(inst, [*args, "friend@example.com"], body,
                        user="nobody")
                assert r.returncode == 0, r.stderr
                m = inst.wait_log(r"(\w+): uid=65534 from=<([^>]*)>",
                                  since=since)
                assert m.group(2) == env_from or (
                    env_from.endswith("@") and
                    m.group(2).startswith(env_from)), m.group(0)
                recs, msg = parse_queue_file(queued_file(inst, m.group(1)))
            assert ("S", m.group(2)) in recs, recs
            assert b"DKIM-Signature:" not in msg, msg
            assert not re.search(r"dkim: signed",
                                 inst.maillog()[since:]), env_from
        # root's mail of the same shape is signed (the trusted case)
        since = inst.log_size()
        with qmgr_paused(inst):
            r = inst.youju("sendmail", "-f", USER, "friend@example.com",
                           input=_msg(USER).decode())
            assert r.returncode == 0, r.stderr
            inst.wait_log(r"dkim: signed, d=extmail\.org", since=since)
    finally:
        shutil.rmtree(kdir, ignore_errors=True)
        _reload(inst)



def test_local_login_sender_maps(inst):
    """local_login_sender_maps (Postfix 3.6+): the local user nobody may
    use only the senders its table entry names; with the sender and the
    From: named there (not by "*"), the mail is DKIM-signed."""
    from test_sendmail import run
    from test_mta_restrictions import etc
    kdir = inst.path("etc", "dkim")
    shutil.rmtree(kdir, ignore_errors=True)
    rec = _keygen(inst, "extmail.org", "--selector", "loc")
    dns = FakeDNS([(n, ("TXT", *s)) for n, s in _records(rec)])
    table = etc(inst, "login_senders",
                f"# login -> sender patterns\nnobody {USER}, <>\n"
                "root *\n")
    try:
        with settings(inst, local_login_sender_maps=f"texthash:{table}"):
            # named sender, named From: accepted and signed
            since = inst.log_size()
            with qmgr_paused(inst):
                r = run(inst, ["-f", USER, "friend@example.com"],
                        _msg(USER), user="nobody")
                assert r.returncode == 0, r.stderr
                m = inst.wait_log(r"(\w+): dkim: signed, d=extmail\.org",
                                  since=since)
                _, msg = parse_queue_file(queued_file(inst, m.group(1)))
            rc, out = _dkimpy_verify(msg.replace(b"\n", b"\r\n"), dns.port)
            assert rc == 0, out
            # named sender, another From: accepted (only the envelope is
            # Postfix's check) but not signed
            since = inst.log_size()
            with qmgr_paused(inst):
                r = run(inst, ["-f", USER, "friend@example.com"],
                        _msg("boss@other.test"), user="nobody")
                assert r.returncode == 0, r.stderr
                m = inst.wait_log(r"(\w+): uid=65534 from=<", since=since)
                _, msg = parse_queue_file(queued_file(inst, m.group(1)))
            assert b"DKIM-Signature:" not in msg, msg
            # another sender, or none (nobody@$myorigin): refused
            for args in (["-f", "other@extmail.org"], []):
                since = inst.log_size()
                r = run(inst, [*args, "friend@example.com"], _msg(USER),
                        user="nobody")
                assert r.returncode != 0, r
                assert b"not owned by user nobody" in r.stderr, r.stderr
                inst.wait_log(r"pickup: uid=65534 \(nobody\) is not allowed "
                              r"to use sender address", since=since)
            # the null sender: "<>" names it
            r = run(inst, ["-f", "<>", "friend@example.com"],
                    b"Subject: x\r\n\r\ny\r\n", user="nobody")
            assert r.returncode == 0, r.stderr
            # root: "*", anything goes (and root is trusted for signing)
            r = run(inst, ["-f", "other@extmail.org", "friend@example.com"],
                    b"Subject: x\r\n\r\ny\r\n")
            assert r.returncode == 0, r.stderr
        # Postfix's inline: syntax; "*" allows any sender but never signs
        with settings(inst,
                      local_login_sender_maps="inline:{ { nobody = * } }"):
            since = inst.log_size()
            with qmgr_paused(inst):
                r = run(inst, ["-f", USER, "friend@example.com"],
                        _msg(USER), user="nobody")
                assert r.returncode == 0, r.stderr
                m = inst.wait_log(r"(\w+): uid=65534 from=<", since=since)
                _, msg = parse_queue_file(queued_file(inst, m.group(1)))
            assert b"DKIM-Signature:" not in msg, msg
        # a table that does not parse is refused at reload
        r = inst.youju("conf", "-e",
                       "local_login_sender_maps=inline:{ nobody }")
        try:
            res = _reload(inst)
            assert "configuration reloaded" not in res, res
        finally:
            inst.youju("conf", "-e", "local_login_sender_maps=static:*",
                       check=True)
            _reload(inst)
    finally:
        dns.close()
        shutil.rmtree(kdir, ignore_errors=True)
        _reload(inst)

# -------------------------------------------------------- policy service
def test_policy_service_postgrey(inst):
    pg = shutil.which("postgrey") or "/usr/sbin/postgrey"
    assert os.path.exists(pg), "postgrey is not installed (scripts/deps.sh)"
    _setup_dir(inst)
    rcpt = "other@extmail.org"  # postgrey lets postmaster@ through
    tmp = tempfile.mkdtemp(prefix="youju-postgrey-")
    port = harness.free_port()
    proc = subprocess.Popen([pg, f"--inet=127.0.0.1:{port}",
                             f"--dbdir={tmp}", "--delay=2", "--user=root",
                             "--group=root",
                             f"--pidfile={tmp}/pid"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                assert time.time() < deadline, "postgrey did not start"
                time.sleep(0.2)
        with settings(inst, smtpd_recipient_restrictions="permit_mynetworks,"
                      " reject_unauth_destination, check_policy_service "
                      f"inet:127.0.0.1:{port}"):
            s = OutsideSMTP(inst)
            s.ehlo("outside.example")
            s.mail("grey@example.net")
            code, msg = s.rcpt(rcpt)
            assert code == 450, msg
            assert msg.decode().startswith(
                f"4.2.0 <{rcpt}>: Recipient address rejected: Greylisted"),\
                msg
            s.rset()
            time.sleep(3)  # postgrey --delay=2
            s.mail("grey@example.net")
            code, msg = s.rcpt(rcpt)
            assert code == 250, msg
            s.quit()
        # a policy server that is down: the default action
        proc.terminate()
        proc.wait(10)
        with settings(inst, smtpd_recipient_restrictions="permit_mynetworks,"
                      " reject_unauth_destination, check_policy_service "
                      f"inet:127.0.0.1:{port}"):
            s = OutsideSMTP(inst)
            s.ehlo("outside.example")
            s.mail("grey@example.net")
            code, msg = s.rcpt(rcpt)
            # as Postfix: the action applied like a table's
            assert (code, msg.decode()) == (
                451, f"4.3.5 <{rcpt}>: Recipient address rejected: "
                "Server configuration problem"), msg
            s.quit()
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------ inbound DKIM, SPF, DMARC
SIGN = r"""
import sys, dkim
key = open(sys.argv[1], 'rb').read()
msg = sys.stdin.buffer.read()
sig = dkim.sign(msg, sys.argv[3].encode(), sys.argv[2].encode(), key,
                canonicalize=(b'relaxed', b'simple'),
                include_headers=[b'from', b'to', b'subject'])
sys.stdout.buffer.write(sig + msg)
"""


def _dkimpy_sign(msg, keyfile, domain, selector):
    r = subprocess.run([SYS_PY, "-c", SIGN, keyfile, domain, selector],
                       input=msg, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _rsa_key(tmp):
    key = os.path.join(tmp, "k.pem")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"],
                   capture_output=True, check=True)
    der = subprocess.run(["openssl", "rsa", "-in", key, "-pubout",
                          "-outform", "DER"], capture_output=True,
                         check=True).stdout
    import base64
    return key, base64.b64encode(der).decode()


def _outside_data(inst, sender, msg, rcpt=USER):
    s = OutsideSMTP(inst)
    s.ehlo("mail.sender.test")
    assert s.mail(sender)[0] == 250
    code, rmsg = s.rcpt(rcpt)
    assert code == 250, rmsg
    code, rmsg = s.data(msg)
    s.quit()
    return code, rmsg.decode()


def test_inbound_dkim_spf_dmarc(inst):
    me = inst.youju("conf", "-h", "myhostname").stdout.strip()
    tmp = tempfile.mkdtemp(prefix="youju-dkimpy-")
    key, pub = _rsa_key(tmp)
    p = "v=DKIM1; k=rsa; p=" + pub
    chunks = [p[i:i + 250] for i in range(0, len(p), 250)]
    records = [
        ("sel._domainkey.sender.test", ("TXT", *chunks)),
        ("sender.test", ("TXT", "v=spf1 ip4:127.0.0.2 -all")),
        ("_dmarc.sender.test", ("TXT", "v=DMARC1; p=reject")),
        ("spoof.test", ("TXT", "v=spf1 -all")),
        ("_dmarc.spoof.test", ("TXT", "v=DMARC1; p=reject; sp=reject")),
        ("quar.test", ("TXT", "v=spf1 ~all")),
        ("_dmarc.quar.test", ("TXT", "v=DMARC1; p=quarantine")),
        ("soft.test", ("TXT", "v=spf1 include:inc.soft.test ?all")),
        ("inc.soft.test", ("TXT", "v=spf1 a:host.soft.test/24")),
        ("host.soft.test", ("A", "127.0.0.99")),
    ]
    dns = FakeDNS(records)
    try:
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}"):
            body = (f"Authentication-Results: {me}; dkim=pass (forged)\r\n"
                    "From: A <a@sender.test>\r\nTo: " + USER +
                    "\r\nSubject: signed\r\n\r\nbody line\r\n").encode()
            signed = _dkimpy_sign(body, key, "sender.test", "sel")
            since = inst.log_size()
            with qmgr_paused(inst):
                code, r = _outside_data(inst, "a@sender.test", signed)
                assert code == 250, r
                _, m = parse_queue_file(queued_file(inst, queued_id(r)))
            ar = re.search(rb"Authentication-Results: (.*?)\n(?=\S)", m,
                           re.S).group(1).decode()
            assert ar.startswith(me + ";"), ar
            assert "dkim=pass (verified) header.d=sender.test header.s=sel" \
                in ar, ar
            assert "spf=pass smtp.mailfrom=a@sender.test" in ar, ar
            assert "dmarc=pass (p=reject) header.from=sender.test" in ar, ar
            assert b"(forged)" not in m, m
            assert m.count(b"Authentication-Results:") == 1
            inst.wait_log(r"removed a forged Authentication-Results",
                          since=since)
            # the body changed after signing: dkim=fail; the envelope
            # is not aligned either, so DMARC p=reject refuses it
            bad = signed.replace(b"body line", b"body lime")
            code, r = _outside_data(inst, "bounce@elsewhere.example", bad)
            assert (code, r) == (550, "5.7.1 Email rejected per DMARC "
                                 "policy for sender.test"), r
            inst.wait_log(r"authentication: dkim=fail spf=none dmarc=fail "
                          r"header\.from=sender\.test", since=since)
            # the same with an aligned SPF pass: accepted
            code, r = _outside_data(inst, "x@sender.test", bad)
            assert code == 250, r
            # a spoofed domain (SPF -all, p=reject): 550 after DATA
            spoof = (b"From: ceo@spoof.test\r\nTo: " + USER.encode() +
                     b"\r\nSubject: pay\r\n\r\nnow\r\n")
            code, r = _outside_data(inst, "ceo@spoof.test", spoof)
            assert (code, r) == (550, "5.7.1 Email rejected per DMARC "
                                 "policy for spoof.test"), r
            # ... and for a subdomain (sp=)
            code, r = _outside_data(inst, "x@a.spoof.test",
                                    spoof.replace(b"ceo@spoof.test",
                                                  b"ceo@a.spoof.test"))
            assert code == 550, r
            # p=quarantine: accepted, marked as spam
            quar = spoof.replace(b"spoof.test", b"quar.test")
            with qmgr_paused(inst):
                code, r = _outside_data(inst, "ceo@quar.test", quar)
                assert code == 250, r
                _, m = parse_queue_file(queued_file(inst, queued_id(r)))
            assert b"spf=softfail smtp.mailfrom=ceo@quar.test" in m, m
            assert b"dmarc=fail (p=quarantine)" in m, m
            assert b"\nX-Spam-Flag: YES\n" in m, m
            # delivered into the Junk folder
            inst.wait_log(queued_id(r) + r": to=<" + re.escape(USER) +
                          r">, .*status=sent \(delivered to maildir folder "
                          r"Junk\)", since=since)
            jdir = inst.path("mailbox", "extmail.org", "postmaster",
                             "Maildir", ".Junk", "new")
            assert any(b"X-Youju-Quarantine: DMARC policy of quar.test"
                       in open(os.path.join(jdir, f), "rb").read()
                       for f in os.listdir(jdir)), os.listdir(jdir)
            # include: and a: with a prefix length; ?all: neutral
            code, r = _outside_data(inst, "x@soft.test",
                                    spoof.replace(b"spoof.test",
                                                  b"soft.test"))
            assert code == 250, r
            inst.wait_log(r"authentication: dkim=none spf=pass dmarc=none",
                          since=since)
            # DNS failure: temperror, never a reject
            tf = _dkimpy_sign(body.replace(b"sender.test",
                                           b"servfail.test"),
                              key, "servfail.test", "sel")
            code, r = _outside_data(inst, "a@servfail.test", tf)
            assert code == 250, r
            inst.wait_log(r"authentication: dkim=temperror spf=temperror "
                          r"dmarc=temperror header\.from=servfail\.test",
                          since=since)
        # SPF -all rejected when smtpd_spf_fail_action = reject
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      smtpd_spf_fail_action="reject",
                      smtpd_dmarc_enforce="no"):
            code, r = _outside_data(inst, "ceo@spoof.test", spoof)
            assert (code, r) == (550, "5.7.23 <ceo@spoof.test>: Sender "
                                 "address rejected: SPF fail - not "
                                 "authorized"), r
    finally:
        dns.close()
        shutil.rmtree(tmp, ignore_errors=True)



def test_dmarc_pct(inst):
    """RFC 7489 §6.6.4: a failing message outside the pct% sample gets the
    next-lower policy.  pct=0 never samples and pct=100 always does, so
    both are deterministic; the draw is in the A-R comment and the log."""
    records = [
        ("r0.test", ("TXT", "v=spf1 -all")),
        ("_dmarc.r0.test", ("TXT", "v=DMARC1; p=reject; pct=0")),
        ("q0.test", ("TXT", "v=spf1 -all")),
        ("_dmarc.q0.test", ("TXT", "v=DMARC1; p=quarantine; pct=0")),
        ("r100.test", ("TXT", "v=spf1 -all")),
        ("_dmarc.r100.test", ("TXT", "v=DMARC1; p=reject; pct=100")),
        ("bad.test", ("TXT", "v=spf1 -all")),
        ("_dmarc.bad.test", ("TXT", "v=DMARC1; p=reject; pct=150")),
    ]
    dns = FakeDNS(records)

    def spoof(dom):
        return (f"From: ceo@{dom}\r\nTo: {USER}\r\nSubject: pay\r\n\r\n"
                "now\r\n").encode()
    try:
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}"):
            since = inst.log_size()
            # p=reject, pct=0: not sampled -> quarantine (Junk)
            with qmgr_paused(inst):
                code, r = _outside_data(inst, "ceo@r0.test", spoof("r0.test"))
                assert code == 250, r
                _, m = parse_queue_file(queued_file(inst, queued_id(r)))
            assert (b"dmarc=fail (p=reject pct=0 sampled=no dis=quarantine)"
                    b" header.from=r0.test") in m, m
            assert b"\nX-Spam-Flag: YES\n" in m, m
            inst.wait_log(queued_id(r) + r": dmarc: p=reject pct=0 "
                          r"sampled=no: applying quarantine", since=since)
            # p=quarantine, pct=0: not sampled -> none (INBOX, unmarked)
            with qmgr_paused(inst):
                code, r = _outside_data(inst, "ceo@q0.test", spoof("q0.test"))
                assert code == 250, r
                _, m = parse_queue_file(queued_file(inst, queued_id(r)))
            assert (b"dmarc=fail (p=quarantine pct=0 sampled=no dis=none)"
                    in m), m
            assert b"X-Spam-Flag" not in m, m
            # p=reject, pct=100: always sampled -> 550
            code, r = _outside_data(inst, "ceo@r100.test",
                                    spoof("r100.test"))
            assert (code, r) == (550, "5.7.1 Email rejected per DMARC "
                                 "policy for r100.test"), r
            # pct=150 is not a valid value: ignored, the default 100
            code, r = _outside_data(inst, "ceo@bad.test", spoof("bad.test"))
            assert code == 550, r
    finally:
        dns.close()

# ------------------------------------------------------------- milters
def _port():
    return harness.free_port()


def _opendkim(tmp, settings):
    """Debian's opendkim in the foreground with settings (its config
    lines) on a free loopback port, its files in tmp; (process, port)
    once it listens."""
    port = _port()
    conf = os.path.join(tmp, "opendkim.conf")
    with open(conf, "w") as f:
        f.write(f"Socket inet:{port}@127.0.0.1\nBackground no\n"
                f"Syslog no\nPidFile {tmp}/pid\n" + settings)
    proc = subprocess.Popen(["/usr/sbin/opendkim", "-f", "-x", conf],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, proc, "opendkim")
    except BaseException:
        proc.kill()
        proc.wait(10)
        raise
    return proc, port


def _wait_port(port, proc, what):
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            assert proc.poll() is None, f"{what} exited"
            assert time.time() < deadline, f"{what} did not start"
            time.sleep(0.2)


def test_milter_opendkim_signs(inst):
    """Debian's opendkim as a milter (smtpd_milters) signs mail from
    mynetworks; its signature verifies with dkimpy."""
    od = "/usr/sbin/opendkim"
    assert os.path.exists(od), "opendkim is not installed (scripts/deps.sh)"
    tmp = tempfile.mkdtemp(prefix="youju-opendkim-")
    key, pub = _rsa_key(tmp)
    os.chmod(key, 0o600)
    p = "v=DKIM1; k=rsa; p=" + pub
    dns = FakeDNS([("om._domainkey.extmail.org",
                    ("TXT", *[p[i:i + 250] for i in range(0, len(p), 250)]))])
    proc = None
    try:
        proc, port = _opendkim(tmp, "Mode s\nDomain extmail.org\n"
                               f"Selector om\nKeyFile {key}\n"
                               "InternalHosts 127.0.0.0/8\n"
                               "RequireSafeKeys no\n"
                               "Canonicalization relaxed/relaxed\n")
        with settings(inst, smtpd_milters=f"inet:127.0.0.1:{port}"):
            with qmgr_paused(inst):
                s = smtp(inst)
                s.ehlo("client.example")
                m = _queue_one(inst, s, USER, "friend@example.com",
                               _msg(USER, "via opendkim"))
            assert b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;" \
                b" d=extmail.org; s=om;" in m.replace(b"\n\t", b" "), m
            rc, out = _dkimpy_verify(m.replace(b"\n", b"\r\n"), dns.port)
            assert rc == 0, out
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        dns.close()
        shutil.rmtree(tmp, ignore_errors=True)


class _FakeMilter:
    """A milter in Python: negotiates, then on the first header either
    drops the connection (a milter that dies mid-session), stops
    answering (one that hangs), or answers
    every step with continue and, at the end of body, with the given
    modifications and final packet."""

    def __init__(self, mode, final=b"c", mods=()):
        self.mode, self.final, self.mods = mode, final, mods
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    @staticmethod
    def pkt(cmd, data=b""):
        return struct.pack("!I", len(data) + 1) + cmd + data

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            f = c.makefile("rb")
            try:
                while True:
                    hdr = f.read(4)
                    if len(hdr) < 4:
                        break
                    n = struct.unpack("!I", hdr)[0]
                    data = f.read(n)
                    cmd, body = data[:1], data[1:]
                    self.seen.append(cmd)
                    if cmd == b"O":
                        c.sendall(self.pkt(b"O", struct.pack(
                            "!III", 6, 0x1FF, 0)))
                    elif cmd == b"D":
                        continue
                    elif cmd == b"L" and self.mode == "die":
                        break
                    elif cmd == b"L" and self.mode == "hang":
                        time.sleep(10)
                        break
                    elif cmd == b"E":
                        for m in self.mods:
                            c.sendall(m)
                        c.sendall(self.pkt(*self.final) if isinstance(
                            self.final, tuple) else self.pkt(self.final))
                    elif cmd == b"Q":
                        break
                    else:
                        c.sendall(self.pkt(b"c"))
            except OSError:
                pass
            finally:
                f.close()
                c.close()

    def close(self):
        self.sock.close()


def test_milter_actions_and_default_action(inst):
    st = struct
    # a milter that dies mid-session: milter_default_action (tempfail)
    dead = _FakeMilter("die")
    hung = _FakeMilter("hang")
    # header changes, a reply code
    mods = [_FakeMilter.pkt(b"h", b"X-Scanned\0yes\0"),
            _FakeMilter.pkt(b"i", st.pack("!I", 0) + b"X-First\0top\0"),
            _FakeMilter.pkt(b"m", st.pack("!I", 1) + b"Subject\0changed\0")]
    edit = _FakeMilter("ok", mods=mods)
    rej = _FakeMilter("ok", final=(b"y", b"554 5.7.1 virus found\0"))
    try:
        def send(milter, **extra):
            with settings(inst, smtpd_milters=f"inet:127.0.0.1:{milter.port}",
                          **extra):
                with qmgr_paused(inst):
                    s = OutsideSMTP(inst)
                    s.ehlo("outside.example")
                    s.mail("someone@example.net")
                    s.rcpt(USER)
                    code, msg = s.data(_msg("someone@example.net"))
                    s.quit()
                    m = None
                    if code == 250:
                        _, m = parse_queue_file(queued_file(
                            inst, queued_id(msg.decode())))
            return code, msg.decode(), m
        since = inst.log_size()
        code, msg, _ = send(dead)
        assert (code, msg) == (451, "4.7.1 Service unavailable - try again "
                               "later"), msg
        inst.wait_log(r"milter inet:127\.0\.0\.1:\d+: header: .*applying "
                      r"milter_default_action", since=since)
        code, msg, _ = send(dead, milter_default_action="accept")
        assert code == 250, msg
        # a milter that stops answering: milter_command_timeout
        code, msg, _ = send(hung, milter_command_timeout="2s",
                            milter_default_action="reject")
        assert (code, msg) == (550, "5.7.1 Command rejected"), msg
        inst.wait_log(r"milter inet:127\.0\.0\.1:\d+: header: Connection "
                      r"timed out: applying milter_default_action",
                      since=since)
        code, msg, m = send(edit)
        assert code == 250, msg
        hdr = m.split(b"\n\n", 1)[0]
        assert b"\nX-Scanned: yes" in hdr, hdr
        assert b"\nSubject: changed" in hdr, hdr
        assert hdr.index(b"X-First: top") < hdr.index(b"From:"), hdr
        code, msg, _ = send(rej)
        assert (code, msg) == (554, "5.7.1 virus found"), msg
    finally:
        dead.close()
        hung.close()
        edit.close()
        rej.close()


# RFC 7208's results, each from a record written for the client address
# the tests connect from (127.0.0.2); the openspf YAML suite is not
# packaged in Debian, so these follow the RFC's sections.
SPF_CASES = [
    ("pass-ip4.test", "pass"),        # 5.6 ip4 with a prefix
    ("fail.test", "fail"),            # 5.1 -all
    ("softfail.test", "softfail"),    # ~all
    ("neutral.test", "neutral"),      # ?all
    ("default.test", "neutral"),      # 4.7: no match, no all
    ("none.test", "none"),            # 4.5: no SPF record
    ("nxdomain.test", "none"),        # 4.3: no such domain
    ("servfail.test", "temperror"),   # 4.4: DNS failure
    ("two.test", "permerror"),        # 4.5: two records
    ("syntax.test", "permerror"),     # 4.6: unknown mechanism
    ("loop.test", "permerror"),       # 4.6.4: more than 10 lookups
    ("void.test", "permerror"),       # 4.6.4: more than 2 void lookups
    ("mx.test", "pass"),              # 5.4 mx
    ("a-cidr.test", "pass"),          # 5.3 a/24
    ("redirect.test", "pass"),        # 6.1 redirect=
    ("redirect-none.test", "permerror"),  # 6.1: target has no record
    ("exists.test", "pass"),          # 5.7 exists with %{ir} %{v}
    ("include-fail.test", "softfail"),  # 5.2: include fail = no match
    ("include-none.test", "permerror"),  # 5.2: include of no record
    ("ip6.test", "fail"),             # ip6 does not match IPv4
    ("modifier.test", "pass"),        # 6: unknown modifiers ignored
    ("upper.test", "pass"),           # "V=SPF1" is the same version
]
SPF_RECORDS = [
    ("pass-ip4.test", ("TXT", "v=spf1 ip4:127.0.0.0/24 -all")),
    ("fail.test", ("TXT", "v=spf1 ip4:10.0.0.1 -all")),
    ("softfail.test", ("TXT", "v=spf1 ~all")),
    ("neutral.test", ("TXT", "v=spf1 ?all")),
    ("default.test", ("TXT", "v=spf1 ip4:10.0.0.1")),
    ("none.test", ("TXT", "some other text")),
    ("two.test", ("TXT", "v=spf1 +all")),
    ("two.test", ("TXT", "v=spf1 -all")),
    ("syntax.test", ("TXT", "v=spf1 frobnicate:x -all")),
    ("loop.test", ("TXT", "v=spf1 include:loop.test -all")),
    ("void.test", ("TXT", "v=spf1 a:n1.void.test a:n2.void.test "
                   "a:n3.void.test -all")),
    ("mx.test", ("TXT", "v=spf1 mx -all")),
    ("mx.test", ("MX", "mail.mx.test")),
    ("mail.mx.test", ("A", "127.0.0.2")),
    ("a-cidr.test", ("TXT", "v=spf1 a/24 -all")),
    ("a-cidr.test", ("A", "127.0.0.200")),
    ("redirect.test", ("TXT", "v=spf1 redirect=pass-ip4.test")),
    ("redirect-none.test", ("TXT", "v=spf1 redirect=none.test")),
    ("exists.test", ("TXT", "v=spf1 exists:%{ir}.%{v}.ok.exists.test -all")),
    ("2.0.0.127.in-addr.ok.exists.test", ("A", "127.0.0.2")),
    ("include-fail.test", ("TXT", "v=spf1 include:fail.test ~all")),
    ("include-none.test", ("TXT", "v=spf1 include:none.test ~all")),
    ("ip6.test", ("TXT", "v=spf1 ip6:::1 -all")),
    ("modifier.test", ("TXT", "v=spf1 foo=bar exp=why.test +all")),
    ("upper.test", ("TXT", "V=SPF1 +all")),
]


def test_spf_results(inst):
    dns = FakeDNS(SPF_RECORDS)
    try:
        with settings(inst, smtpd_dns_server=f"127.0.0.1:{dns.port}",
                      smtpd_sender_authentication="spf"):
            since = inst.log_size()
            s = OutsideSMTP(inst)
            s.ehlo("client.test")
            ids = []
            for dom, _ in SPF_CASES:
                assert s.mail(f"x@{dom}")[0] == 250
                assert s.rcpt(USER)[0] == 250
                code, msg = s.data(b"From: a@example.invalid\r\n"
                                   b"Subject: spf\r\n\r\nx\r\n")
                assert code == 250, (dom, msg)
                ids.append(queued_id(msg.decode()))
            s.quit()
            for (dom, want), qid in zip(SPF_CASES, ids):
                m = inst.wait_log(qid + r": authentication: dkim=\S+ "
                                  r"spf=(\S+)", since=since)
                assert m.group(1) == want, (dom, m.group(1), want)
    finally:
        dns.close()


EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!"
         b"$H+H*")


def test_milter_clamav_rejects_eicar(inst):
    """clamav-milter with clamd on a signature database this test writes
    (one .ndb body signature for the EICAR test file, no download)."""
    clamd, milter = "/usr/sbin/clamd", "/usr/sbin/clamav-milter"
    assert os.path.exists(clamd) and os.path.exists(milter), \
        "clamav-daemon and clamav-milter are not installed (scripts/deps.sh)"
    tmp = tempfile.mkdtemp(prefix="youju-clamav-")
    os.mkdir(os.path.join(tmp, "db"))
    with open(os.path.join(tmp, "db", "youju-test.ndb"), "w") as f:
        f.write("Youju.Test.EICAR:0:*:" + EICAR.hex() + "\n")
    sock = os.path.join(tmp, "clamd.sock")
    with open(os.path.join(tmp, "clamd.conf"), "w") as f:
        f.write(f"LocalSocket {sock}\nDatabaseDirectory {tmp}/db\n"
                f"Foreground yes\nUser root\nPidFile {tmp}/clamd.pid\n")
    port = _port()
    with open(os.path.join(tmp, "milter.conf"), "w") as f:
        f.write(f"MilterSocket inet:{port}@127.0.0.1\n"
                f"ClamdSocket unix:{sock}\nOnInfected Reject\n"
                f"Foreground yes\nUser root\nPidFile {tmp}/milter.pid\n"
                f"AddHeader Replace\n"
                f"RejectMsg Virus %v detected by ClamAV\n")
    procs = []
    try:
        procs.append(subprocess.Popen(
            [clamd, "-c", os.path.join(tmp, "clamd.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 60
        while not os.path.exists(sock):
            assert procs[0].poll() is None, "clamd exited"
            assert time.time() < deadline, "clamd did not start"
            time.sleep(0.2)
        procs.append(subprocess.Popen(
            [milter, "-c", os.path.join(tmp, "milter.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_port(port, procs[1], "clamav-milter")
        with settings(inst, smtpd_milters=f"inet:127.0.0.1:{port}"):
            def send(body):
                s = OutsideSMTP(inst)
                s.ehlo("outside.example")
                s.mail("someone@example.net")
                s.rcpt(USER)
                code, msg = s.data(b"From: someone@example.net\r\n"
                                   b"Subject: attachment\r\n\r\n" + body +
                                   b"\r\n")
                s.quit()
                return code, msg.decode()
            since = inst.log_size()
            code, msg = send(EICAR)
            assert (code, msg) == (550, "5.7.1 Virus Youju.Test.EICAR.UNOFFICIAL "
                                   "detected by ClamAV"), msg
            # Postfix's line shape, which mailgraph counts as a virus
            inst.wait_log(r": milter-reject: END-OF-MESSAGE from "
                          r"unknown\[127\.0\.0\.2\]: 5\.7\.1 .*[Vv]irus ",
                          since=since)
            with qmgr_paused(inst):
                code, msg = send(b"a clean message")
                assert code == 250, msg
                _, m = parse_queue_file(queued_file(inst, queued_id(msg)))
            assert b"\nX-Virus-Status: Clean\n" in m, m
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def test_dkim_youju_signed_verifies_with_opendkim(inst):
    """youju's signatures (RSA and Ed25519) checked by Debian's opendkim
    in verifying mode, as a milter on a second pass through youju, with
    the keys that `youju dkim show` prints (opendkim's TestPublicKeys)."""
    od = "/usr/sbin/opendkim"
    assert os.path.exists(od), "opendkim is not installed (scripts/deps.sh)"
    kdir = inst.path("etc", "dkim")
    shutil.rmtree(kdir, ignore_errors=True)
    _keygen(inst, "extmail.org", "--selector", "r1")
    _keygen(inst, "extmail.org", "--selector", "e1", "--ed25519")
    show = inst.youju("dkim", "show", "extmail.org").stdout
    tmp = tempfile.mkdtemp(prefix="youju-opendkim-v-")
    with open(os.path.join(tmp, "keys"), "w") as f:
        for name, strings in _records(show):
            f.write(f"{name} {''.join(strings)}\n")
    proc = None
    try:
        proc, port = _opendkim(tmp, f"Mode v\nTestPublicKeys {tmp}/keys\n"
                               "AuthservID opendkim.test\n"
                               "AlwaysAddARHeader yes\n")
        _reload(inst)
        with qmgr_paused(inst):
            signed = _queue_one(inst, _submit(inst), USER, USER,
                                _msg(USER, "to be checked"))
        with settings(inst, smtpd_milters=f"inet:127.0.0.1:{port}",
                      smtpd_sender_authentication=""):
            with qmgr_paused(inst):
                s = OutsideSMTP(inst)
                s.ehlo("hop.example")
                m = _queue_one(inst, s, USER, USER,
                               signed.replace(b"\n", b"\r\n"))
        ar = m.replace(b"\n\t", b" ").decode()
        assert re.search(r"Authentication-Results: opendkim\.test;.*"
                         r"dkim=pass .*header\.d=extmail\.org", ar), ar
        passes = re.findall(r"dkim=pass[^;\n]*header\.s=(\w+)", ar)
        assert sorted(passes) == ["e1", "r1"], ar
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(kdir, ignore_errors=True)
        _reload(inst)
