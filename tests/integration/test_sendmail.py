"""`youju sendmail` / `sendmail` (issue 4 item 8): the message goes from
standard input over youju-mta's pickup socket into the queue and on to a
Maildir; run as root and as an unprivileged user (nobody, via setpriv),
with Postfix's options (-t, -i, -f, -F, -bs, -bv, -N/-R/-V), exit codes
from sysexits.h, and the argv[0] name.  -bs is driven by swaks."""
import email
import email.header
import itertools
import os
import pwd
import re
import subprocess
import tempfile
import time
import uuid

import deliverylib
import test_mta_restrictions

PM = "postmaster@extmail.org"
EX_USAGE, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL = 64, 65, 67, 75


def run(inst, args, data="", user=None, argv0=None, env=None):
    """Runs the youju binary as sendmail; as `user` through setpriv."""
    e = dict(inst.env)
    e.update(env or {})
    exe = os.path.abspath(inst.bin("youju"))
    cmd = [exe, "sendmail", *args]
    if argv0 is not None:
        cmd = [argv0, *args]
    if user is not None:
        pw = pwd.getpwnam(user)
        cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
               "--clear-groups", *cmd]
    if isinstance(data, str):
        data = data.encode()
    return subprocess.run(cmd, input=data, capture_output=True, env=e,
                          timeout=60)


def find(inst, address, token, timeout=15, count=1):
    local, dom = address.split("@")
    new = inst.path("mailbox", dom, local, "Maildir", "new")
    return [data for _, data in
            deliverylib.wait_token([new], token, timeout, count)]


def one(inst, address, token):
    hits = find(inst, address, token)
    assert len(hits) == 1, (address, token, len(hits))
    return hits[0]


def header_part(data):
    return data.split(b"\n\n", 1)[0] + b"\n"


# ----------------------------------------------------------------- tests
def test_socket_is_world_writable(inst):
    path = inst.path("run", "mta", "submit")
    st = os.stat(path)
    assert oct(st.st_mode & 0o777) == oct(0o666), oct(st.st_mode)
    assert os.stat(os.path.dirname(path)).st_mode & 0o005 == 0o005


def test_root_submits_to_maildir(inst):
    token = uuid.uuid4().hex
    since = inst.log_size()
    r = run(inst, [PM], f"Subject: cron {token}\n\nhello from cron\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"" and r.stderr == b""
    data = one(inst, PM, token)
    head = header_part(data)
    # Postfix's pickup trace, and cleanup's missing headers
    assert re.search(rb"\nReceived: by \S+ \(youju, from userid 0\)\n"
                     rb"\tid [0-9A-F]{16}; ", head), head
    assert re.search(rb"\nFrom: root@\S+\n", head), head
    assert b"\nDate: " in head and b"\nMessage-Id: <" in head
    assert data.startswith(b"Return-Path: <root@"), data[:80]
    assert data.endswith(b"\n\nhello from cron\n"), data[-60:]
    m = inst.wait_log(r"([0-9A-F]{16}): uid=0 from=<root@[^>]+>",
                      since=since)
    inst.wait_log(rf"{m.group(1)}: from=<root@[^>]+>, size=\d+, nrcpt=1 "
                  r"\(queue active\)", since=since)
    inst.wait_log(r"pickup: uid=0, user=root, pid=\d+", since=since)


def test_unprivileged_user_submits(inst):
    token = uuid.uuid4().hex
    since = inst.log_size()
    r = run(inst, [PM], f"Subject: nobody {token}\r\n\r\nbody\r\n",
            user="nobody")
    assert r.returncode == 0, r.stderr
    data = one(inst, PM, token)
    assert b"(youju, from userid 65534)" in data
    assert re.search(rb"\nFrom: nobody@\S+\n", header_part(data))
    # CR LF input became plain lines
    assert b"\r" not in data
    inst.wait_log(r"[0-9A-F]{16}: uid=65534 from=<nobody@[^>]+>",
                  since=since)
    # the kernel's word, not the client's: -f does not change the uid
    token = uuid.uuid4().hex
    since = inst.log_size()
    r = run(inst, ["-f", PM, PM], f"Subject: {token}\n\nx\n", user="nobody")
    assert r.returncode == 0, r.stderr
    one(inst, PM, token)
    inst.wait_log(rf"[0-9A-F]{{16}}: uid=65534 from=<{PM}>", since=since)


def test_t_takes_recipients_and_drops_bcc(inst):
    user = "bcc-sm@extmail.org"
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{user}', 'bcc-sm', '', 'bcc', 'extmail.org/bcc-sm/Maildir/',"
             " 'extmail.org/bcc-sm', '5242880S', 'extmail.org', 1000, 1000, "
             "1)")
    try:
        token = uuid.uuid4().hex
        msg = (f"To: The Postmaster <{PM}>\n"
               f"Bcc: hidden <{user}>\n"
               f"Subject: -t {token}\n\nbody\n")
        r = run(inst, ["-t", "-i"], msg)
        assert r.returncode == 0, r.stderr
        for who in (PM, user):
            data = one(inst, who, token)
            assert b"Bcc:" not in data and b"hidden" not in data, who
            assert b"\nTo: The Postmaster <postmaster@extmail.org>\n" in data
    finally:
        inst.sql(f"DELETE FROM mailbox WHERE username='{user}'")


def test_t_without_recipients_is_usage_error(inst):
    r = run(inst, ["-t"], "Subject: nobody to send to\n\nx\n")
    assert r.returncode == EX_USAGE, (r.returncode, r.stderr)
    assert b"sendmail: fatal: no recipient addresses found" in r.stderr
    r = run(inst, [], "Subject: x\n\nx\n")
    assert r.returncode == EX_USAGE, (r.returncode, r.stderr)


def test_f_and_F(inst):
    token = uuid.uuid4().hex
    r = run(inst, ["-f", PM, "-F", "Jane \"JD\" Doe", "--", PM],
            f"Subject: {token}\n\nx\n")
    assert r.returncode == 0, r.stderr
    data = one(inst, PM, token)
    assert data.startswith(b"Return-Path: <postmaster@extmail.org>\n")
    assert (b'\nFrom: "Jane \\"JD\\" Doe" <postmaster@extmail.org>\n'
            in data), header_part(data)
    # a From: of the message's own wins over -F
    token = uuid.uuid4().hex
    r = run(inst, ["-F", "Ignored", PM],
            f"From: Me <me@example.org>\nSubject: {token}\n\nx\n")
    assert r.returncode == 0, r.stderr
    data = one(inst, PM, token)
    assert b"Ignored" not in data and b"\nFrom: Me <me@example.org>\n" in data
    # a long non-ASCII -F: encoded-words (lib/rfc2047), folded, each
    # line within RFC 2047's 76 bytes, decoding back to the name
    token = uuid.uuid4().hex
    name = "\u90ae\u5c40\u7684\u5f20\u4e09" * 8
    r = run(inst, ["-F", name, PM], f"Subject: {token}\n\nx\n")
    assert r.returncode == 0, r.stderr
    data = one(inst, PM, token)
    msg = email.message_from_bytes(data)
    got = str(email.header.make_header(email.header.decode_header(
        msg["From"])))
    assert got.startswith(f"{name} <") and got.endswith(">"), got
    head = header_part(data).split(b"\n")
    i = next(k for k, h in enumerate(head) if h.startswith(b"From: "))
    lines = [head[i]] + list(itertools.takewhile(
        lambda h: h.startswith(b" "), head[i + 1:]))
    assert len(lines) > 2 and all(len(x) <= 76 for x in lines), lines


def test_lone_dot(inst):
    token = uuid.uuid4().hex
    body = f"Subject: dot {token}\n\nfirst\n.\nafter the dot\n..two\n"
    r = run(inst, ["-i", PM], body)
    assert r.returncode == 0, r.stderr
    data = one(inst, PM, token)
    assert data.endswith(b"\n\nfirst\n.\nafter the dot\n..two\n"), data
    # without -i (nor -oi) the lone dot ends the message
    token = uuid.uuid4().hex
    r = run(inst, [PM], f"Subject: dot {token}\n\nfirst\n.\nnever sent\n")
    assert r.returncode == 0, r.stderr
    data = one(inst, PM, token)
    assert data.endswith(b"\n\nfirst\n") and b"never sent" not in data
    token = uuid.uuid4().hex
    r = run(inst, ["-oi", "-oem", "-odb", PM],
            f"Subject: dot {token}\n\n.\nkept\n")
    assert r.returncode == 0, r.stderr
    assert one(inst, PM, token).endswith(b"\n\n.\nkept\n")


def test_bs_with_swaks(inst):
    token = uuid.uuid4().hex
    exe = os.path.abspath(inst.bin("youju"))
    r = subprocess.run(["swaks", "--pipe", f"{exe} sendmail -bs",
                        "--to", PM, "--from", PM, "--helo", "swaks.local",
                        "--header", f"Subject: bs {token}",
                        "--body", "via -bs"],
                       capture_output=True, text=True, env=inst.env,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0 Ok: queued as" in r.stdout, r.stdout
    assert "STARTTLS" not in r.stdout and "AUTH" not in r.stdout
    data = one(inst, PM, token)
    assert b"(youju, from userid 0)" in data


def test_bs_plain_lf_client(inst):
    """A person typing (LF lines): the relay makes CR LF of them."""
    token = uuid.uuid4().hex
    script = (f"EHLO me\nMAIL FROM:<{PM}>\nRCPT TO:<root>\nRSET\n"
              f"MAIL FROM:<>\nRCPT TO:<{PM}>\nDATA\n"
              f"Subject: {token}\n\ntyped\n.\nQUIT\n")
    r = run(inst, ["-bs"], script)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("220 "), out
    assert "221 2.0.0 Bye" in out, out
    data = one(inst, PM, token)
    assert data.startswith(b"Return-Path: <>\n")
    assert b"\nFrom: MAILER-DAEMON\n" in data


def test_bv_reports_without_sending(inst):
    since = inst.log_size()
    r = run(inst, ["-bv", PM, "someone@example.com"])
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert f"{PM}: deliverable:" in out, out
    assert "someone@example.com: deliverable: " in out, out
    r = run(inst, ["-bv", "nosuchuser-sm@extmail.org", PM])
    assert r.returncode == EX_NOUSER, (r.returncode, r.stderr)
    assert ("nosuchuser-sm@extmail.org: undeliverable: <nosuchuser-sm@"
            "extmail.org>: Recipient address rejected: User unknown"
            in r.stdout.decode()), r.stdout
    time.sleep(0.3)
    assert "nrcpt=" not in inst.maillog()[since:]


def test_unknown_local_user_is_queued_and_bounced(inst):
    """As Postfix: sendmail queues it, the delivery side bounces."""
    token = uuid.uuid4().hex
    r = run(inst, ["-f", PM, "nosuchuser-sm@extmail.org"],
            f"Subject: bounce me {token}\n\nx\n")
    assert r.returncode == 0, r.stderr
    hits = find(inst, PM, token, timeout=20)
    assert any(b"multipart/report" in h for h in hits), hits


def test_dsn_options(inst):
    token = uuid.uuid4().hex
    r = run(inst, ["-N", "success,delay", "-R", "hdrs", "-V", "env id+1",
                   "-B", "8bitmime", "-v", PM], f"Subject: {token}\n\nx\n")
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert (">>> MAIL FROM:<root@" in err and
            "BODY=8BITMIME RET=HDRS ENVID=env+20id+2B1" in err), err
    assert f">>> RCPT TO:<{PM}> NOTIFY=SUCCESS,DELAY" in err, err
    one(inst, PM, token)
    for bad in (["-N", "sometimes"], ["-N", "never,success"],
                ["-R", "most"], ["-B", "9bit"], ["-bd"], ["-Z"]):
        r = run(inst, [*bad, PM], "x\n")
        assert r.returncode == EX_USAGE, (bad, r.returncode, r.stderr)


def test_bp_and_bi(inst):
    r = run(inst, ["-bp"])
    assert r.returncode == 0, r.stderr
    r = run(inst, ["-bi"])
    assert r.returncode == 0 and b"nothing to rebuild" in r.stdout, r


def test_argv0_sendmail(inst):
    with tempfile.TemporaryDirectory() as d:
        link = os.path.join(d, "sendmail")
        os.symlink(os.path.abspath(inst.bin("youju")), link)
        token = uuid.uuid4().hex
        r = run(inst, ["-t"], f"To: {PM}\nSubject: {token}\n\nx\n",
                argv0=link)
        assert r.returncode == 0, r.stderr
        one(inst, PM, token)


def test_mta_down_is_tempfail(inst):
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)
        cf = os.path.join(d, "youju.cf")
        with open(cf, "w") as f:
            f.write(f"sendmail_socket = {d}/nothing-here\n")
        r = run(inst, ["-C", d, PM], "Subject: x\n\nx\n")
        assert r.returncode == EX_TEMPFAIL, (r.returncode, r.stderr)
        assert b"youju-mta is not running" in r.stderr, r.stderr


def test_size_limit(inst):
    with tempfile.TemporaryDirectory() as d:
        cf = os.path.join(d, "youju.cf")
        with open(cf, "w") as f:
            f.write(f"sendmail_socket = {inst.path('run', 'mta', 'submit')}"
                    "\nmessage_size_limit = 1000\n")
        r = run(inst, ["-C", cf, PM], "Subject: big\n\n" + "x" * 2000 + "\n")
        assert r.returncode == EX_DATAERR, (r.returncode, r.stderr)
        assert b"message too large" in r.stderr


def test_header_checks_still_apply(inst):
    hpath = test_mta_restrictions.etc(
        inst, "header_checks_sm",
        "/^Subject: .*sendmail-forbidden/ REJECT 5.7.1 not from scripts\n")
    with test_mta_restrictions.settings(inst,
                                        header_checks=f"regexp:{hpath}"):
        r = run(inst, [PM], "Subject: sendmail-forbidden\n\nx\n")
        assert r.returncode == EX_DATAERR, (r.returncode, r.stderr)
        assert b"not from scripts" in r.stderr, r.stderr
