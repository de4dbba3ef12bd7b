"""The instance itself (issue: Foundation): MariaDB with the ExtMail schema
and demo data, secrets and certificate, `youju conf` like postconf, status,
and a stop/start cycle that keeps data."""
import os
import stat
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def test_demo_data_loaded(inst):
    rows = inst.sql("SELECT username, password, maildir, quota, active "
                    "FROM mailbox WHERE username='postmaster@extmail.org'")
    assert len(rows) == 1, rows
    user, pw, maildir, quota, active = rows[0]
    assert pw.startswith("$1$"), pw          # ExtMail's MD5-crypt form
    assert maildir == "extmail.org/postmaster/Maildir/"
    assert quota == "104857600S" and active == "1"
    assert inst.sql("SELECT goto FROM alias WHERE "
                    "address='support@extmail.org'") == \
        [("postmaster@extmail.org",)]
    assert inst.sql("SELECT type FROM manager WHERE "
                    "username='root@extmail.org'") == [("admin",)]
    # the hash really is "extmail", verified by an independent crypt()
    out = subprocess.run(["openssl", "passwd", "-1", "-salt",
                          pw.split("$")[2], "extmail"],
                         capture_output=True, text=True).stdout.strip()
    assert out == pw


def test_mariadb_private_and_socket_only(inst):
    assert inst.sql("SELECT @@skip_networking") == [("1",)]
    assert inst.sql("SELECT @@socket")[0][0] == inst.mysql_socket


def test_application_accounts_and_secrets(inst):
    for name in ("mysql-extmail", "mysql-webman"):
        p = inst.path("etc", "secrets", name)
        st = os.stat(p)
        assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        pw = open(p).read().strip()
        assert len(pw) >= 20
    grants = inst.sql("SHOW GRANTS FOR 'extmail'@'localhost'", db="mysql")
    text = " ".join(g[0] for g in grants)
    assert "SELECT, UPDATE ON `extmail`.*" in text, text
    # the generated password works for the application account
    pw = open(inst.path("etc", "secrets", "mysql-extmail")).read().strip()
    r = subprocess.run(["mariadb", "--no-defaults",
                        f"--socket={inst.mysql_socket}", "-uextmail",
                        f"-p{pw}", "-N", "-B", "extmail", "-e",
                        "SELECT COUNT(*) FROM domain"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "1", r.stderr
    # ...and cannot write outside its grant
    r = subprocess.run(["mariadb", "--no-defaults",
                        f"--socket={inst.mysql_socket}", "-uextmail",
                        f"-p{pw}", "extmail", "-e",
                        "DELETE FROM alias"], capture_output=True, text=True)
    assert r.returncode != 0 and "denied" in r.stderr


def test_tls_certificate(inst):
    crt = inst.path("etc", "tls", "youju.crt")
    key = inst.path("etc", "tls", "youju.key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    r = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-subject"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "CN" in r.stdout


def test_migrations_recorded(inst):
    rows = inst.sql("SELECT version FROM youju_schema_version "
                    "ORDER BY version")
    assert rows and rows[0][0] == "1", rows


def test_extmail_dump_loads_positionally(inst):
    """An old ExtMail dump (positional INSERTs, zero dates, NULL flags)
    loads unchanged into our schema under MariaDB's default strict mode."""
    inst.sql("DROP DATABASE IF EXISTS dumptest; CREATE DATABASE dumptest",
             db="mysql")
    for f in (os.path.join(inst.srcdir, "sql", "schema.sql"),
              os.path.join(HERE, "fixtures", "extmail-dump.sql")):
        with open(f) as fh:
            r = subprocess.run(["mariadb", "--no-defaults",
                                f"--socket={inst.mysql_socket}", "-uroot",
                                "dumptest"], stdin=fh, capture_output=True,
                               text=True)
        assert r.returncode == 0, f"{f}: {r.stderr}"
    assert inst.sql("SELECT @@sql_mode", db="dumptest")[0][0].find(
        "STRICT_TRANS_TABLES") >= 0
    n = int(inst.sql("SELECT COUNT(*) FROM mailbox", db="dumptest")[0][0])
    assert n >= 5
    zero = inst.sql("SELECT COUNT(*) FROM mailbox WHERE disableimap IS NULL",
                    db="dumptest")[0][0]
    assert int(zero) >= 1
    inst.sql("DROP DATABASE dumptest", db="mysql")


def test_conf_like_postconf(inst):
    r = inst.youju("conf", "-n")
    assert r.returncode == 0, r.stderr
    assert f"smtp_listen = 127.0.0.1:{inst.ports['smtp']}" in r.stdout
    assert "message_size_limit" not in r.stdout
    r = inst.youju("conf", "-d", "message_size_limit")
    assert r.stdout.strip() == "message_size_limit = 10240000", r.stdout
    r = inst.youju("conf", "-e", "message_size_limit=20480000")
    assert r.returncode == 0, r.stderr
    r = inst.youju("conf", "message_size_limit")
    assert r.stdout.strip() == "message_size_limit = 20480000"
    assert "message_size_limit = 20480000" in open(inst.conf_path).read()
    # a bad value is an error naming the parameter; the file is unchanged
    r = inst.youju("conf", "-e", "message_size_limit=lots")
    assert r.returncode != 0 and "message_size_limit" in r.stderr
    assert "lots" not in open(inst.conf_path).read()
    # an unknown name warns with the nearest known one
    r = inst.youju("conf", "mesage_size_limit")
    assert "did you mean message_size_limit" in r.stderr, r.stderr
    r = inst.youju("conf", "-e", "message_size_limit=10240000")
    assert r.returncode == 0


def test_status_lists_daemons(inst):
    r = inst.youju("status")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "mariadb" in r.stdout and "running (pid" in r.stdout
    if os.path.exists(inst.bin("youju-authd")):
        assert "youju-authd" in r.stdout


def test_second_start_keeps_everything(inst):
    before = inst.daemon_pid("youju-authd")
    r = inst.youju("start")
    assert r.returncode == 0, r.stderr
    assert inst.daemon_pid("youju-authd") == before
    assert "already running" in r.stdout or before == 0


def test_stop_start_keeps_data(inst):
    inst.sql("INSERT INTO alias (address, goto, domain, createdate, active) "
             "VALUES ('keep@extmail.org', 'postmaster@extmail.org', "
             "'extmail.org', NOW(), 1)")
    r = inst.stop()
    assert r.returncode == 0, r.stderr
    st = inst.youju("status")
    assert st.returncode == 3 and "not running" in st.stdout
    assert not os.path.exists(inst.mysql_socket) or \
        subprocess.run(["mariadb-admin", "--no-defaults",
                        f"--socket={inst.mysql_socket}", "ping"],
                       capture_output=True).returncode != 0
    inst.start()
    assert inst.sql("SELECT goto FROM alias WHERE "
                    "address='keep@extmail.org'") == \
        [("postmaster@extmail.org",)]
    inst.sql("DELETE FROM alias WHERE address='keep@extmail.org'")
