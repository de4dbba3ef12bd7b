"""Debian's real maildrop (`maildrop -d USER`, courier-libs' delivery agent)
looking its user up through youju-authd and delivering into the Maildir the
reply names (issue 3, item 9; reference/authd-protocol.md §6.2).

maildrop connects to courier's compiled-in /run/courier/authdaemon/socket,
so it runs in a private mount namespace (`unshare -m`) with the instance's
socket directory bind-mounted there, as test_authd.py does for authtest.
It sends `PRE . login USER`, then, as root, takes UID/GID from the reply,
chdirs to HOME and delivers to MAILDIR ($DEFAULT) with QUOTA as its
Maildir++ quota.  maildrop creates no directories: the test makes HOME and
the Maildir, owned by the reply's uid and gid.

The test uses its own mailbox row (uidnumber 1000 like the demo data) and
removes the row and its directories afterwards, so that other tests'
mailboxes keep their owners."""
import os
import pwd
import shutil
import subprocess

import harness

USER = "maildrop-test@extmail.org"
MAILDROP = "/usr/bin/maildrop"
COURIER_SOCKDIR = "/run/courier/authdaemon"


def pre(inst, user):
    return harness.unix_request(inst.authd_socket,
                                f"PRE . login {user}\n".encode())


def maildrop(inst, user, message, *extra):
    d = os.path.dirname(inst.authd_socket)
    cmd = ("mount --bind \"$1\" %s && shift && exec %s \"$@\""
           % (COURIER_SOCKDIR, MAILDROP))
    return subprocess.run(["unshare", "-m", "--propagation", "private",
                           "sh", "-c", cmd, "sh", d, *extra, "-d", user],
                          input=message, capture_output=True, timeout=60,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                               "LANG": "C"})


def test_maildrop_delivers_via_authd(inst):
    if not os.path.exists(MAILDROP):
        raise AssertionError("maildrop is missing (scripts/deps.sh)")
    if not os.path.isdir(COURIER_SOCKDIR):
        # courier-authdaemon's package directory; the bind mount needs it
        raise AssertionError(f"{COURIER_SOCKDIR} is missing "
                             "(courier-authdaemon)")
    local = USER.split("@")[0]
    inst.sql("INSERT INTO mailbox (username, uid, password, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active, name) "
             f"VALUES ('{USER}', '{local}', '$1$x$x', "
             f"'extmail.org/{local}/Maildir/', 'extmail.org/{local}', "
             "'10485760', 'extmail.org', 1000, 1000, 1, 'Maildrop Test')")
    home = None
    try:
        reply = pre(inst, USER).decode()
        assert reply.endswith("\n.\n"), reply
        keys = dict(line.split("=", 1) for line in reply.splitlines()
                    if "=" in line)
        uid, gid = int(keys["UID"]), int(keys["GID"])
        assert (uid, gid) == (1000, 1000), keys
        home, maildir = keys["HOME"], keys["MAILDIR"]
        assert maildir.startswith(home + "/"), keys
        assert keys["QUOTA"] == "10485760S", keys
        # the domain directory belongs to the mail owner, as youju's own
        # delivery would make it; only this user's home is handed to 1000
        domdir = os.path.dirname(home)
        if not os.path.isdir(domdir):
            os.makedirs(domdir)
            if os.geteuid() == 0:
                pw = pwd.getpwnam("vmail")
                os.chown(domdir, pw.pw_uid, pw.pw_gid)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        for dirpath, dirnames, _ in os.walk(home):
            os.chown(dirpath, uid, gid)
            os.chmod(dirpath, 0o700)

        msg = (b"From: sender@example.com\n"
               b"To: " + USER.encode() + b"\n"
               b"Subject: maildrop via youju-authd\n\n"
               b"delivered by maildrop -d\n")
        r = maildrop(inst, USER, msg)
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        new = os.listdir(os.path.join(maildir, "new"))
        assert len(new) == 1, new
        path = os.path.join(maildir, "new", new[0])
        with open(path, "rb") as f:
            body = f.read()
        assert b"Subject: maildrop via youju-authd" in body, body
        assert b"delivered by maildrop -d" in body, body
        # written by the uid/gid the reply named, not by root
        st = os.stat(path)
        assert (st.st_uid, st.st_gid) == (uid, gid), (st.st_uid, st.st_gid)
        # QUOTA became maildrop's Maildir++ quota
        with open(os.path.join(maildir, "maildirsize"), "rb") as f:
            assert f.readline().strip() == b"10485760S"

        # an unknown user: FAIL, maildrop falls back to getpwnam and gives
        # up with EX_NOUSER (67)
        r = maildrop(inst, "nobody-here@extmail.org", msg)
        assert r.returncode == 67, (r.returncode, r.stdout, r.stderr)
        assert len(os.listdir(os.path.join(maildir, "new"))) == 1
    finally:
        inst.sql(f"DELETE FROM mailbox WHERE username='{USER}'")
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)
