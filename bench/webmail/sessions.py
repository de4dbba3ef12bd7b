"""youju-webmail's memory per logged-in session (issue 12: < 64 KiB per
idle session, 1,000 sessions held without growth).  Logs in
BENCH_SESSIONS (1000) sessions through the real login (youju-authd), each
followed by the requests a browser makes on arrival (the session, the
folders, the first page of the Inbox), then prints the daemon's RSS
delta per session; then uses every session again, twice, and prints the
RSS after each round (it must not grow).  The per-session record's size
is read from the binary's debug information with gdb when there is any
(the ASan build has it)."""
import http.client
import imaplib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "tests", "integration"))
from harness import Instance  # noqa: E402

N = int(os.environ.get("BENCH_SESSIONS", "1000"))
PW = "bench-secret"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def request(port, method, path, cookie=None, body=None, ip=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Content-Type": "application/json"}
    if cookie:
        h["Cookie"] = cookie
    if ip:
        h["X-Real-IP"] = ip
    c.request(method, path, json.dumps(body) if body is not None else None,
              h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("Set-Cookie"), data


def struct_size(binary, name):
    try:
        out = subprocess.run(
            ["gdb", "-batch", "-nx", "-ex", f"print sizeof(struct {name})",
             binary], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if line.startswith("$1 = "):
            return int(line[5:])
    return None


def main():
    bindir = sys.argv[1]
    inst = Instance(bindir, os.path.join(os.path.dirname(__file__), "..",
                                         ".."))
    try:
        inst.start()
        addr = "sess@extmail.org"
        inst.sql("INSERT INTO mailbox (username, uid, password, name, "
                 "maildir, homedir, quota, domain, uidnumber, gidnumber, "
                 f"active) VALUES ('{addr}', 'sess', '{{PLAIN}}{PW}', "
                 "'sess', 'extmail.org/sess/Maildir/', "
                 "'extmail.org/sess', '0', 'extmail.org', 1000, 1000, 1)")
        m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"])
        m.login(addr, PW)
        for i in range(20):
            m.append("INBOX", "", None,
                     f"From: a@b\r\nSubject: m{i}\r\n\r\nx\r\n".encode())
        m.logout()
        port = inst.ports["webmail"]
        pid = inst.daemon_pid("youju-webmail")

        def arrive(cookie):
            for p in ("/api/session", "/api/folders",
                      "/api/messages?folder=INBOX"):
                st, _, _ = request(port, "GET", p, cookie)
                assert st == 200, (p, st)
        # one session first, so that the threads, the kept folder scan
        # and malloc's arenas exist before the baseline
        st, sc, _ = request(port, "POST", "/api/session",
                            cookie=None, body={"user": addr, "password": PW})
        assert st == 200, st
        arrive(sc.split(";")[0])
        base = rss_kib(pid)
        cookies = []
        for i in range(N):
            st, sc, data = request(
                port, "POST", "/api/session",
                body={"user": addr, "password": PW},
                ip=f"198.51.{100 + i // 250}.{i % 250 + 1}")
            assert st == 200, (i, st, data)
            cookies.append(sc.split(";")[0])
            arrive(cookies[-1])
        after = rss_kib(pid)
        per = (after - base) * 1024 / N
        print(f"bench/webmail: sessions {N}: RSS {base} KiB before, "
              f"{after} KiB after: {per / 1024:.2f} KiB per session "
              f"(goal < 64 KiB)", flush=True)
        for r in (1, 2):
            for ck in cookies:
                st, _, _ = request(port, "GET", "/api/session", ck)
                assert st == 200, st
            print(f"bench/webmail: sessions {N}: RSS after using each "
                  f"again (round {r}) {rss_kib(pid)} KiB", flush=True)
        binary = os.path.join(bindir, "youju-webmail")
        for name in ("sess", "websession_info"):
            sz = struct_size(binary, name)
            print(f"bench/webmail: sizeof(struct {name}) = "
                  f"{sz if sz is not None else 'n/a (no debug info)'}",
                  flush=True)
    finally:
        inst.teardown()


if __name__ == "__main__":
    main()
