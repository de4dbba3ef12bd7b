"""mysql: access tables (issue 4): youju-mta sends each lookup to
youju-authd (MAPLOOKUP), which runs the mysql_table(5) file's query as a
prepared statement on its own connection.  Shown with Postfix's
check_helo_access / check_sender_access / check_recipient_access and a
table in the instance's MariaDB; a database outage is a 4xx; authd refuses
tables that youju.cf does not name; an SQL injection in the key finds
nothing.

The instance is shared: parameters are set with `youju conf -e` and both
youju-authd and youju-mta are reloaded, then everything is restored."""
import re
import socket
import time
import urllib.parse

from test_mta_restrictions import etc, outside, rcpt, settings

TABLE = "youju_test_access"


def sql_settings(inst, **params):
    """settings() with youju-authd reloaded too (its SQL maps)."""
    return settings(inst, authd=True, **params)


def _table(inst):
    inst.sql(f"DROP TABLE IF EXISTS {TABLE}")
    inst.sql(f"CREATE TABLE {TABLE} (pattern VARCHAR(255), "
             "action VARCHAR(255))")
    rows = [
        ("helo.reject.example", "REJECT helo refused by sql"),
        ("bad@sender.example", "REJECT sender refused by sql"),
        ("sender.example", "550 5.7.1 domain refused by sql"),
        ("good@sender.example", "OK"),
        ("blocked-rcpt@", "REJECT recipient refused by sql"),
        ("multi.example", "DUNNO"),
        ("multi.example", "REJECT second row"),
    ]
    for p, a in rows:
        inst.sql(f"INSERT INTO {TABLE} VALUES ('{p}', '{a}')")


def _cf(inst, name="sql_access.cf", extra=""):
    # Postfix's file as users write it: hosts/user/dbname are ignored
    # (a warning says so) and there is no password, so 0644 is fine
    return etc(inst, name,
               "# Postfix mysql_table(5)\n"
               "hosts = 127.0.0.1\n"
               "user = postfix\n"
               "dbname = extmail\n"
               f"query = SELECT action FROM {TABLE}\n"
               "   WHERE pattern = '%s'\n" + extra)


def _maplookup(inst, path, key):
    """One raw MAPLOOKUP; returns the reply bytes (b"" = closed)."""
    q = urllib.parse.quote
    line = f"MAPLOOKUP {q(path, safe='/')} {q(key, safe='@')}\n"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(inst.authd_socket)
    s.sendall(line.encode())
    out = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        out += d
    s.close()
    return out


def test_mysql_access_maps_through_authd(inst):
    _table(inst)
    path = _cf(inst)
    old_rcpt = inst.youju("conf", "-h", "smtpd_recipient_restrictions",
                          check=True).stdout.strip()
    since = inst.log_size()
    try:
        with sql_settings(
                inst,
                smtpd_helo_restrictions=f"check_helo_access mysql:{path}",
                smtpd_sender_restrictions="check_sender_access "
                f"mysql:{path}",
                smtpd_recipient_restrictions="check_recipient_access "
                f"mysql:{path}, {old_rcpt}"):
            # authd says once that it uses its own connection
            inst.wait_log(r"authd: mysql:" + path + r": hosts, user "
                          r"differ from youju-authd's own", since=since)
            _, r = rcpt(inst, "a@example.net", helo="helo.reject.example")
            assert r == ("554 5.7.1 <helo.reject.example>: Helo command "
                         "rejected: helo refused by sql"), r
            _, r = rcpt(inst, "bad@sender.example")
            assert r == ("554 5.7.1 <bad@sender.example>: Sender address "
                         "rejected: sender refused by sql"), r
            # the domain row, found by the access(5) partial lookups
            _, r = rcpt(inst, "other@sender.example")
            assert r == ("550 5.7.1 <other@sender.example>: Sender "
                         "address rejected: domain refused by sql"), r
            # OK on the full address wins over the domain's row
            _, r = rcpt(inst, "good@sender.example")
            assert r.startswith("250"), r
            # user@ form, case-folded
            _, r = rcpt(inst, "a@example.net",
                        to="Blocked-Rcpt@extmail.org")
            assert r.startswith("554 5.7.1 <Blocked-Rcpt@extmail.org>: "
                                "Recipient address rejected: recipient "
                                "refused by sql"), r
            _, r = rcpt(inst, "a@example.net")
            assert r.startswith("250"), r
            # an injection in HELO is only a value: with string-built
            # SQL "pattern = 'x'or'1'='1'" would match every row
            _, r = rcpt(inst, "a@example.net", helo="x'or'1'='1")
            assert r.startswith("250"), r
            # several rows are joined with ',' as Postfix does
            assert (_maplookup(inst, path, "multi.example")
                    == b"VALUE=DUNNO,REJECT second row\n.\n")
            assert _maplookup(inst, path, "x' OR 1=1 --") == b"FAIL\n"
            assert _maplookup(inst, path, "nothing.example") == b"FAIL\n"

            # the database goes away: 4xx, never a false 5xx or 250
            inst.stop_db()
            try:
                # (the HELO name is looked up first: its answer is
                # only cached for authd_negative_cache_ttl)
                time.sleep(3)
                _, r = rcpt(inst, "fresh@uncached.example")
                assert r.startswith("451 4.3.0 <"), r
                assert "Temporary lookup failure" in r, r
                # (that 451 may come from the recipient's directory
                # lookup, which runs before the access maps): the map
                # itself answers tempfail, a close without reply
                assert _maplookup(inst, path, "fresh.example") == b""
                inst.wait_log(r"authd: maplookup: mysql:" +
                              re.escape(path) + r", key <[^>]+>: ",
                              since=since)
            finally:
                inst.start_db()
            deadline = time.time() + 60
            while True:
                _, r = rcpt(inst, "bad@sender.example")
                if not r.startswith("451") or time.time() > deadline:
                    break
                time.sleep(1)
            assert r.startswith("554 5.7.1 <bad@sender.example>"), r
    finally:
        inst.sql(f"DROP TABLE IF EXISTS {TABLE}")


def test_authd_runs_only_tables_named_in_youju_cf(inst):
    _table(inst)
    path = _cf(inst, "sql_named.cf")
    stray = _cf(inst, "sql_not_named.cf")
    try:
        with sql_settings(inst, smtpd_helo_restrictions="check_helo_access "
                          f"mysql:{path}"):
            assert _maplookup(inst, path, "helo.reject.example") == \
                b"VALUE=REJECT helo refused by sql\n.\n"
            since = inst.log_size()
            # a file that exists but is not named: closed, no reply
            assert _maplookup(inst, stray, "helo.reject.example") == b""
            assert _maplookup(inst, "/etc/passwd", "root") == b""
            inst.wait_log(r"authd: maplookup: mysql:/etc/passwd is not a "
                          r"table named in youju\.cf: refused", since=since)
        # after the restore the table is no longer named
        assert _maplookup(inst, path, "helo.reject.example") == b""
    finally:
        inst.sql(f"DROP TABLE IF EXISTS {TABLE}")


def test_mysql_table_file_rules(inst):
    """A world-readable file with a password and a bad query are broken
    tables (lookups tempfail, logged); youju-mta never reads the file."""
    _table(inst)
    pw = _cf(inst, "sql_pw.cf", "password = secret\n")
    bad = etc(inst, "sql_bad.cf", "query = SELECT action FROM t WHERE "
              "pattern = '%s\n")
    try:
        since = inst.log_size()
        with sql_settings(inst, smtpd_helo_restrictions="check_helo_access "
                          f"mysql:{pw}, check_helo_access mysql:{bad}"):
            inst.wait_log(r"authd: mysql:" + pw + r": holds a password and "
                          r"is readable by group or others", since=since)
            inst.wait_log(r"authd: mysql:" + bad + r": query: unclosed ' ",
                          since=since)
            assert _maplookup(inst, pw, "helo.reject.example") == b""
            assert _maplookup(inst, bad, "helo.reject.example") == b""
    finally:
        inst.sql(f"DROP TABLE IF EXISTS {TABLE}")
