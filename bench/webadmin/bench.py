"""youju-webadmin list benchmark (issue 11): a domain with BENCH_MAILBOXES
mailboxes (100,000), the JSON list paged (random pages) and searched
(?q=), BENCH_CLIENTS keep-alive clients for BENCH_SECONDS each; prints
requests/s, p50 and p99 latency, and the daemon's RSS idle and after.
Goal (issue 11): p99 < 20 ms per page, < 15 MB RSS idle.  No peer: ExtMan
(Perl CGI) is not packaged for Debian 12."""
import http.client
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from benchlib import SRCDIR, status_kib as rss_kib  # noqa: E402
from harness import Instance  # noqa: E402

N = int(os.environ.get("BENCH_MAILBOXES", "100000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))


def login(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/api/session",
              json.dumps({"user": "root@extmail.org",
                          "password": "extmail*123*"}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
    return r.getheader("Set-Cookie").split(";")[0]


def run(port, cookie, make_path, label):
    lat = []
    lock = threading.Lock()
    stop = time.time() + SECONDS
    errors = [0]

    def client():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.time() < stop:
            t0 = time.perf_counter()
            c.request("GET", make_path(), headers={"Cookie": cookie})
            r = c.getresponse()
            body = r.read()
            mine.append(time.perf_counter() - t0)
            if r.status != 200 or not body.startswith(b"{\"total\""):
                errors[0] += 1
                if errors[0] == 1:
                    print("first error:", r.status, body[:200])
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=client) for _ in range(CLIENTS)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    el = time.time() - t0
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    print(f"{label:<28} {len(lat) / el:8.0f} req/s  p50 {p(0.5):6.1f} ms  "
          f"p99 {p(0.99):6.1f} ms  errors {errors[0]}")
    return p(0.99)


def main():
    inst = Instance(sys.argv[1], SRCDIR)
    try:
        inst.start()
        port = inst.ports["webadmin"]
        t0 = time.time()
        inst.sql("INSERT INTO domain (domain, description, maxusers, "
                 "maxquota, createdate, active) VALUES ('bench.test', "
                 "'bench', 0, '0', NOW(), 1)")
        inst.sql("INSERT INTO mailbox (username, uid, password, name, "
                 "maildir, homedir, quota, netdiskquota, domain, "
                 "createdate, expiredate, active) SELECT "
                 "CONCAT('user', LPAD(seq, 6, '0'), '@bench.test'), "
                 "CONCAT('user', LPAD(seq, 6, '0')), '$6$x$y', "
                 "CONCAT('User ', seq), "
                 "CONCAT('bench.test/user', seq, '/Maildir/'), "
                 "CONCAT('bench.test/user', seq), '10485760S', '0', "
                 f"'bench.test', NOW(), '0000-00-00', 1 FROM seq_1_to_{N}")
        print(f"{N} mailboxes inserted in {time.time() - t0:.1f} s")
        pid = inst.daemon_pid("youju-webadmin")
        time.sleep(1)
        print(f"RSS idle: {rss_kib(pid) / 1024:.1f} MB")
        cookie = login(port)
        pages = N // 50
        base = "/api/domains/bench.test/mailboxes"
        run(port, cookie, lambda: f"{base}?page={random.randint(1, pages)}",
            "list, random page")
        run(port, cookie, lambda: f"{base}?page=1", "list, first page")
        run(port, cookie,
            lambda: f"{base}?after=user{random.randint(1, N):06d}@bench.test",
            "list, random page by key")
        run(port, cookie,
            lambda: f"{base}?q=user{random.randint(1, N):06d}",
            "search one user (q=)")
        run(port, cookie, lambda: "/api/domains", "domain list + usage sums")
        print(f"RSS after: {rss_kib(pid) / 1024:.1f} MB")
        # CSV import: 10,000 rows with ExtMail hashes, 1,000 in clear text
        inst.sql("INSERT INTO domain (domain, description, maxusers, "
                 "maxquota, maxnetdiskquota, createdate, active) VALUES "
                 "('imp.test', 'imp', 0, '0', '0', NOW(), 1)")
        csrf = None
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        c.request("GET", "/api/session", headers={"Cookie": cookie})
        r = c.getresponse()
        csrf = json.loads(r.read())["csrf"]
        md5 = "$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0"
        for label, rows in (
                ("10,000 rows, crypt hashes",
                 [f"h{i:05d},{md5},User {i}" for i in range(10000)]),
                ("1,000 rows, clear text",
                 [f"c{i:05d},clear-pass-{i},User {i}" for i in range(1000)])):
            body = ("uid,password,name\n" + "\n".join(rows)).encode()
            t0 = time.time()
            c.request("POST", "/api/domains/imp.test/import?type=mailboxes",
                      body, {"Cookie": cookie, "X-CSRF-Token": csrf,
                             "Content-Type": "text/csv"})
            r = c.getresponse()
            j = json.loads(r.read())
            print(f"import {label:<26} {time.time() - t0:6.1f} s  "
                  f"status {r.status} imported {j.get('imported')}")
        warn = [line for line in inst.maillog().splitlines()
                if "webadmin" in line and "warning" in line]
        if warn:
            print(f"{len(warn)} warnings, e.g.:", *warn[:3], sep="\n  ")
    finally:
        if os.environ.get("BENCH_KEEP"):
            print("kept:", inst.home)
        else:
            inst.teardown()


if __name__ == "__main__":
    main()
