"""youju-webmail message-list benchmark (issue 12): one folder of
BENCH_MESSAGES messages (50,000) written straight into the Maildir, then
the first page of GET /api/messages sorted by date and by from, and
opening one message, BENCH_REPEAT times each; first without youju.index
(every message's head read from its file), then after youju-mra has
cached the ENVELOPEs (one IMAP FETCH of them).  Prints p50/p99 and the
daemon's RSS.  Goal (issue 12): p99 < 100 ms.  No peer run here."""
import http.client
import imaplib
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import benchlib  # noqa: E402
from benchlib import SRCDIR, status_kib as rss_kib  # noqa: E402
from harness import Instance  # noqa: E402

N = int(os.environ.get("BENCH_MESSAGES", "50000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))
PW = "bench-secret"


def timed(port, cookie, path):
    """p50 and p99 of REPEAT requests, and the first one's time (a kept
    scan or sort order is made by it)."""
    lat = []
    for _ in range(REPEAT):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        t0 = time.perf_counter()
        c.request("GET", path, headers={"Cookie": cookie})
        r = c.getresponse()
        body = r.read()
        lat.append((time.perf_counter() - t0) * 1000)
        if r.status == 404:
            return None  # an older build without this route
        assert r.status == 200, r.status
        c.close()
    first = lat[0]
    lat.sort()
    return statistics.median(lat), lat[max(0, int(len(lat) * .99) - 1)], \
        first


def main():
    inst = Instance(sys.argv[1], SRCDIR)
    try:
        inst.start()
        addr, md = benchlib.bench_mailbox(inst, PW)
        t0 = time.time()
        benchlib.write_inbox(md, addr, N)
        print(f"bench/webmail: {N} messages written in "
              f"{time.time() - t0:.1f}s", flush=True)
        port = inst.ports["webmail"]
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("POST", "/api/session",
                  json.dumps({"user": addr, "password": PW}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        cookie = r.getheader("Set-Cookie").split(";")[0]
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
        for label, p in paths.items():
            res = timed(port, cookie, p)
            if res is None:
                print(f"bench/webmail: {label:16s} not offered")
                continue
            p50, p99, first = res
            print(f"bench/webmail: {label:16s} no index   p50 {p50:7.1f} ms"
                  f"  p99 {p99:7.1f} ms  first {first:7.1f} ms", flush=True)
        m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"])
        m.login(addr, PW)
        m.select("INBOX")
        m.fetch("1:*", "(ENVELOPE BODYSTRUCTURE)")
        m.logout()
        time.sleep(1)
        for label, p in paths.items():
            res = timed(port, cookie, p)
            if res is None:
                continue
            p50, p99, first = res
            print(f"bench/webmail: {label:16s} youju.index p50 {p50:7.1f} "
                  f"ms  p99 {p99:7.1f} ms  first {first:7.1f} ms",
                  flush=True)
        print(f"bench/webmail: RSS after {rss_kib(pid)} KiB", flush=True)
    finally:
        inst.teardown()


if __name__ == "__main__":
    main()
