"""youju-webmail message-list benchmark (issue 12): one folder of
BENCH_MESSAGES messages (50,000) written straight into the Maildir, then
the first page of GET /api/messages sorted by date, by from and by
arrival, opening one message and a search by subject, BENCH_REPEAT times
each; first without youju.index (every message's head read from its
file), then after youju-mra has cached the ENVELOPEs (one IMAP FETCH of
them).  Prints p50/p99, the first request (it builds the kept scan and
sort keys), the daemon's CPU time per request (user + system, all its
threads: what a request costs, whatever the machine's load does to the
wall times) and the daemon's RSS.  Goal (issue 12): p99 < 100 ms.

BENCH_BEFORE=/path/to/an/older/youju-webmail runs it side by side: in each
phase the two builds take turns (BENCH_ROUNDS rounds, 2 by default) on the
same instance and the same data, each turn restarting youju-webmail with
its build and logging in again, so the first request of a turn builds
the kept scan again.  No peer run here (roundcube.py)."""
import http.client
import imaplib
import json
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import benchlib  # noqa: E402
from benchlib import SRCDIR, status_kib as rss_kib  # noqa: E402
from harness import Instance  # noqa: E402

N = int(os.environ.get("BENCH_MESSAGES", "50000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))
BEFORE = os.environ.get("BENCH_BEFORE", "")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2" if BEFORE else "1"))
PW = "bench-secret"
ADDR = "bench@extmail.org"


def timed(port, cookie, path, pid):
    """The wall times of REPEAT requests (the first one makes the kept
    scan or sort order) and the daemon's CPU ms per request."""
    lat = []
    # the daemon's user + system CPU time (all threads)
    c0 = benchlib.cpu_seconds([pid], reaped=False)
    for _ in range(REPEAT):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        t0 = time.perf_counter()
        c.request("GET", path, headers={"Cookie": cookie})
        r = c.getresponse()
        r.read()
        lat.append((time.perf_counter() - t0) * 1000)
        if r.status == 404:
            return None  # an older build without this route
        assert r.status == 200, r.status
        c.close()
    cpu = benchlib.cpu_seconds([pid], reaped=False) - c0
    return lat, cpu * 1000 / REPEAT


def stats(lats):
    """p50 and p99 (the second slowest of 19 or more) of the requests
    after each turn's first, and the median of the first ones (they
    build the kept scan and sort keys: reported apart)."""
    rest = sorted(x for lat in lats for x in lat[1:])
    firsts = [lat[0] for lat in lats]
    return (statistics.median(rest),
            rest[max(0, len(rest) - 2)] if len(rest) < 200 else
            rest[int(len(rest) * .99)],
            statistics.median(firsts))


def login(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/api/session",
              json.dumps({"user": ADDR, "password": PW}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    c.close()
    return r.getheader("Set-Cookie").split(";")[0]


def restart_webmail(inst, binary):
    """youju-webmail again, from binary, on the same instance (it
    daemonizes: its parent exits once it serves)."""
    pid = inst.daemon_pid("youju-webmail")
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _ in range(300):
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
    subprocess.run(["youju-webmail"], executable=binary, env=inst.env,
                   check=True, timeout=60)


def phase(inst, builds, paths, label):
    """Each build in turn, ROUNDS times; one line per request and
    build."""
    port = inst.ports["webmail"]
    res = {(b, p): [] for b, _ in builds for p in paths}
    cpu = {(b, p): [] for b, _ in builds for p in paths}
    for _ in range(ROUNDS):
        for name, binary in builds:
            if len(builds) > 1:
                restart_webmail(inst, binary)
            cookie = login(port)
            pid = inst.daemon_pid("youju-webmail")
            for p, path in paths.items():
                r = timed(port, cookie, path, pid)
                if r is None:
                    continue
                res[(name, p)].append(r[0])
                cpu[(name, p)].append(r[1])
    for p in paths:
        for name, _ in builds:
            if not res[(name, p)]:
                print(f"bench/webmail: {p:16s} {label:11s} {name:6s} "
                      "not offered")
                continue
            p50, p99, first = stats(res[(name, p)])
            c = statistics.mean(cpu[(name, p)])
            print(f"bench/webmail: {p:16s} {label:11s} {name:6s} p50 "
                  f"{p50:7.1f} ms  p99 {p99:7.1f} ms  first {first:7.1f} "
                  f"ms  cpu/request {c:6.1f} ms  load "
                  f"{os.getloadavg()[0]:.1f}", flush=True)


def main():
    inst = Instance(sys.argv[1], SRCDIR)
    try:
        inst.start()
        addr, md = benchlib.bench_mailbox(inst, PW)
        t0 = time.time()
        benchlib.write_inbox(md, addr, N)
        print(f"bench/webmail: {N} messages written in "
              f"{time.time() - t0:.1f}s", flush=True)
        pid = inst.daemon_pid("youju-webmail")
        print(f"bench/webmail: RSS idle {rss_kib(pid)} KiB", flush=True)
        paths = {
            "list by date": "/api/messages?folder=INBOX&sort=date",
            "list by from": "/api/messages?folder=INBOX&sort=from&order=asc",
            "list by arrival": "/api/messages?folder=INBOX&sort=arrival",
            "open a message": f"/api/message?folder=INBOX&uid={N // 2}",
            "search subject": "/api/search?folder=INBOX&in=subject&"
                              f"q=message%20{N // 3}%20about",
        }
        builds = [("now", os.path.join(sys.argv[1], "youju-webmail"))]
        if BEFORE:
            builds.insert(0, ("before", os.path.abspath(BEFORE)))
        phase(inst, builds, paths, "no index")
        m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"])
        m.login(ADDR, PW)
        m.select("INBOX")
        m.fetch("1:*", "(ENVELOPE BODYSTRUCTURE)")
        m.logout()
        time.sleep(1)
        phase(inst, builds, paths, "youju.index")
        pid = inst.daemon_pid("youju-webmail")
        print(f"bench/webmail: RSS after {rss_kib(pid)} KiB", flush=True)
    finally:
        inst.teardown()


if __name__ == "__main__":
    main()
