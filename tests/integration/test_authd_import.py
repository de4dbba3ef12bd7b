"""`youju authd import-authmysqlrc FILE`: an ExtMail-era courier authmysqlrc
becomes youju.cf lines that `youju conf` accepts."""
import os
import tempfile

RC = """##NAME: MARKER:0
MYSQL_SERVER localhost
MYSQL_USERNAME extmail
MYSQL_PASSWORD s3cret-Pw
MYSQL_SOCKET /var/lib/mysql/mysql.sock
MYSQL_PORT 3306
MYSQL_DATABASE extmail
MYSQL_USER_TABLE mailbox
MYSQL_CRYPT_PWFIELD password
MYSQL_UID_FIELD uidnumber
MYSQL_GID_FIELD gidnumber
MYSQL_LOGIN_FIELD username
MYSQL_HOME_FIELD homedir
MYSQL_NAME_FIELD name
MYSQL_MAILDIR_FIELD maildir
MYSQL_QUOTA_FIELD quota
MYSQL_WHERE_CLAUSE active='1'
"""


def test_import_authmysqlrc(inst):
    with tempfile.TemporaryDirectory() as d:
        rc = os.path.join(d, "authmysqlrc")
        with open(rc, "w") as f:
            f.write(RC)
        r = inst.youju("authd", "import-authmysqlrc", rc)
        assert r.returncode == 0, r.stderr
        lines = [l for l in r.stdout.splitlines()
                 if l and not l.startswith("#")]
        for want in ("mysql_private = no", "mysql_user = extmail",
                     "mysql_socket = /var/lib/mysql/mysql.sock",
                     "authd_quota_field = quota",
                     "authd_where_clause = active='1'"):
            assert want in lines, (want, r.stdout)
        # the password is never copied into youju.cf
        assert "s3cret-Pw" not in r.stdout
        # every line is a parameter youju.cf accepts
        etc = os.path.join(d, "etc")
        os.makedirs(etc)
        with open(os.path.join(etc, "youju.cf"), "w") as f:
            f.write(r.stdout)
        c = inst.youju("conf", "-c", etc, "-n")
        assert c.returncode == 0, c.stderr
        assert "warning" not in c.stderr, c.stderr
        assert "authd_user_table = mailbox" in c.stdout, c.stdout
