#!/usr/bin/env python3
"""Runs bench/authd/sqlprobe.c against a throw-away instance's MariaDB:
the cost of one user lookup by statement form (docs/authd.md).  Forms
alternate for --rounds rounds so a change in what else runs on the machine
falls on all alike.  Needs root (the harness's private MariaDB).

    python3 bench/authd/sqlprobe.py --bin build/bin [--lookups 20000]
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "integration"))

import harness  # noqa: E402

DOMAIN = "extmail.org"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--mailboxes", type=int, default=1000)
    ap.add_argument("--lookups", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--forms", default="select,nodomain,handler",
                    help="comma-separated: select nodomain handler inN "
                    "(one IN (?, ...) of N users) fieldN (the same with a "
                    "FIELD() tag) unionN (N tagged SELECTs, UNION ALL)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("sqlprobe: skipped: needs root")
        return 0
    tmp = tempfile.mkdtemp(prefix="youju-sqlprobe-")
    exe = os.path.join(tmp, "sqlprobe")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs",
                            "libmariadb"], capture_output=True,
                           text=True).stdout.split()
    subprocess.run(["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-o", exe,
                    os.path.join(HERE, "sqlprobe.c"), *flags], check=True)
    inst = harness.Instance(args.bin, SRCDIR)
    try:
        inst.start()
        rows = []
        for i in range(args.mailboxes):
            u = f"bench{i:04d}"
            rows.append(f"('{u}@{DOMAIN}', '{u}', '*', "
                        f"'{DOMAIN}/{u}/Maildir/', '{DOMAIN}/{u}', "
                        f"'104857600S', '{DOMAIN}', 1000, 1000, 1, '{u}')")
        for i in range(0, len(rows), 250):
            inst.sql("INSERT INTO mailbox (username, uid, password, "
                     "maildir, homedir, quota, domain, uidnumber, "
                     "gidnumber, active, name) VALUES "
                     + ", ".join(rows[i:i + 250]))
        secret = inst.path("etc", "secrets", "mysql-extmail")
        with open("/proc/loadavg") as f:
            print(f"sqlprobe: load average {f.read().split()[0]} at start")
        for _ in range(args.rounds):
            for form in args.forms.split(","):
                r = subprocess.run([exe, inst.mysql_socket, "extmail",
                                    secret, str(inst.db_pid()),
                                    str(args.mailboxes), str(args.lookups),
                                    form], capture_output=True, text=True)
                print(r.stdout.strip() or r.stderr.strip(), flush=True)
        return 0
    finally:
        inst.teardown()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
