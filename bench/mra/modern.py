#!/usr/bin/env python3
"""Modern IMAP, youju-mra against Debian's Dovecot 2.3 on the same Maildir
in one run (issue 17; not part of `make test`):

1. `UID SORT (REVERSE DATE) UTF-8 ALL` and `UID THREAD REFERENCES UTF-8
   ALL` on a folder of BENCH_MODERN_MESSAGES (50,000) messages, a third of
   them replies (In-Reply-To and References), seconds per command as the
   client sees them: one warm-up command each (Dovecot builds its index
   and cache), then the median of BENCH_MODERN_ROUNDS; then the first
   THREAD after another session appended 100 messages (a third replies),
   median of as many rounds.
2. Resynchronisation of that folder after 100 flag changes made by
   another session (the rounds of the two servers alternate, so that load
   from elsewhere falls on both alike), as a CONDSTORE client does it: a new connection, LOGIN, `SELECT INBOX (CONDSTORE)`, `UID
   FETCH 1:* (FLAGS) (CHANGEDSINCE <highestmodseq before>)`, `UID SEARCH
   ALL` (to see expunges); seconds, median of the rounds.
2b. The same resync as a QRESYNC client does it (phase "qresync"): a new
   connection, LOGIN, `ENABLE QRESYNC`, `SELECT INBOX (QRESYNC
   (<uidvalidity> <highestmodseq before> 1:<last uid>))`, which answers
   the 100 changed messages as FETCH (and expunges as VANISHED (EARLIER))
   within the SELECT; seconds, median of the rounds.
3. BENCH_MODERN_IDLE (2,000) connections that LOGIN, `COMPRESS DEFLATE`,
   SELECT INBOX and IDLE, compressed; the growth of the servers' summed
   VmRSS and PSS per connection, measured 3 s after the last one idles
   (youju's sweep puts zlib state to sleep after 1 s of quiet); these
   run first, on servers that have not served the big folder yet.

Ratios are Dovecot / youju for times and memory, so higher is better for
youju everywhere.  Needs root (both servers drop to vmail).  Run by
bench/mra/modern.sh.
"""
import argparse
import imaplib
import os
import pwd
import random
import re
import resource
import socket
import statistics
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import benchlib  # noqa: E402
from benchlib import SRCDIR  # noqa: E402
sys.path.insert(0, HERE)

import harness  # noqa: E402
from bench import (DOMAIN, PASSWORD, WORDS, add_mailbox,  # noqa: E402
                   log_tails, mem, mra_pids, place, stop_servers)
from dovecot_peer import Dovecot  # noqa: E402


log = benchlib.logger("bench/mra/modern")


def gen_threads(root, n, seed=17):
    """n small messages in root/cur; a third reply to an earlier one."""
    rnd = random.Random(seed)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    refs = []
    subjects = []
    t0 = 1700000000
    for i in range(n):
        mid = f"<t{i}.{seed}@example.com>"
        parent = rnd.randrange(i) if i > 10 and rnd.random() < 0.33 else -1
        if parent >= 0:
            chain = refs[parent] + [f"<t{parent}.{seed}@example.com>"]
            subj = "Re: " + subjects[parent]
            extra = (f"In-Reply-To: <t{parent}.{seed}@example.com>\n"
                     f"References: {' '.join(chain[-10:])}\n")
        else:
            chain = []
            subj = " ".join(rnd.choice(WORDS)
                            for _ in range(rnd.randint(2, 6)))
            extra = ""
        refs.append(chain)
        subjects.append(subj.removeprefix("Re: "))
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                             time.gmtime(t0 + rnd.randrange(86400 * 365)))
        data = (f"From: \"Sender {i % 211}\" <s{i % 211}@example.com>\n"
                f"To: bench@{DOMAIN}\nSubject: {subj}\nDate: {date}\n"
                f"Message-ID: {mid}\n{extra}\n"
                + " ".join(rnd.choice(WORDS) for _ in range(40)) + "\n"
                ).encode()
        vsize = len(data) + data.count(b"\n")
        name = (f"{t0 + i}.M{i}P1.modern,S={len(data)},W={vsize}:2,"
                f"{'S' if i % 2 else ''}")
        with open(os.path.join(root, "cur", name), "wb") as f:
            f.write(data)


def timed(fn, rounds):
    fn()  # warm-up: indexes and caches of both servers
    ts = []
    for _ in range(rounds):
        t = time.monotonic()
        fn()
        ts.append(time.monotonic() - t)
    return statistics.median(ts)


def imap(port, user):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=900)
    m.login(user, PASSWORD)
    return m


def sort_and_thread(port, user, rounds):
    m = imap(port, user)
    typ, data = m.select("INBOX")
    assert typ == "OK", data
    out = {}

    def sort():
        typ, data = m.uid("SORT", "(REVERSE DATE)", "UTF-8", "ALL")
        assert typ == "OK" and data[0], data
        out["sort"] = data[0]

    def thread():
        typ, data = m.uid("THREAD", "REFERENCES", "UTF-8", "ALL")
        assert typ == "OK" and data[0], data
        out["thread"] = data[0]

    r = (timed(sort, rounds), timed(thread, rounds),
         thread_after_appends(m, port, user, rounds, out))
    m.logout()
    return r, out


def thread_after_appends(m, port, user, rounds, out, n=100, seed=23):
    """Seconds of the first `UID THREAD REFERENCES UTF-8 ALL` after another
    session appended n messages (a third of them replies to random
    earlier ones, some to messages not there), median of the rounds; the
    appends and the NOOP that reports them are not timed."""
    rnd = random.Random(seed)
    other = imap(port, user)
    typ, data = m.uid("SEARCH", "ALL")
    have = len(data[0].split())
    ts = []
    for k in range(rounds):
        for i in range(n):
            j = have + k * n + i
            parent = rnd.randrange(j)
            extra = ""
            if rnd.random() < 0.33:
                extra = (f"In-Reply-To: <t{parent}.17@example.com>\n"
                         f"References: <t{parent}.17@example.com>\n")
            elif rnd.random() < 0.1:
                extra = f"References: <gone{j}@example.com>\n"
            date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(
                1700000000 + rnd.randrange(86400 * 365)))
            data = (f"From: s{j % 211}@example.com\nSubject: "
                    f"{'Re: ' if extra else ''}appended {j % 97}\n"
                    f"Date: {date}\nMessage-ID: <t{j}.17@example.com>\n"
                    f"{extra}\nbody {j}\n").replace("\n", "\r\n")
            typ, _ = other.append("INBOX", None, None, data.encode())
            assert typ == "OK"
        m.noop()
        t = time.monotonic()
        typ, data = m.uid("THREAD", "REFERENCES", "UTF-8", "ALL")
        ts.append(time.monotonic() - t)
        assert typ == "OK" and data[0], data
        out["thread_appended"] = data[0]
    other.logout()
    return statistics.median(ts)


class Resync:
    """A CONDSTORE (or QRESYNC) resync after `changes` flag changes, one
    round at a time (step), so that the rounds of the two servers can
    alternate and load from elsewhere falls on both alike."""

    def __init__(self, port, user, changes, qresync=False):
        self.port, self.user = port, user
        self.changes, self.qresync = changes, qresync
        self.ts = []

    def step(self, k):
        """Round k (0: the warm-up, not counted)."""
        port, user, changes = self.port, self.user, self.changes
        m = imap(port, user)
        typ, data = m._simple_command("SELECT", "INBOX", "(CONDSTORE)")
        assert typ == "OK", data
        hms = int(re.search(rb"HIGHESTMODSEQ (\d+)",
                            b" ".join(x for x in m.untagged_responses.get(
                                "OK", []))).group(1))
        uv = int(re.search(rb"UIDVALIDITY (\d+)",
                           b" ".join(x for x in m.untagged_responses.get(
                               "OK", []))).group(1))
        n = int(m.untagged_responses["EXISTS"][-1])
        m.state = "SELECTED"
        typ, data = m.uid("FETCH", "*", "(UID)")
        last = int(re.search(rb"UID (\d+)", data[0]).group(1))
        m.logout()
        other = imap(port, user)
        other.select("INBOX")
        # rounds in pairs: set \Flagged on a sample, then clear it on the
        # same sample, so every round changes exactly `changes` messages
        rnd = random.Random(k // 2)
        for seq in rnd.sample(range(1, n + 1), changes):
            other.store(str(seq), "+FLAGS" if k % 2 == 0 else "-FLAGS",
                        "(\\Flagged)")
        other.logout()
        t = time.monotonic()
        m = imap(port, user)
        if self.qresync:
            typ, data = m._simple_command("ENABLE", "QRESYNC")
            assert typ == "OK", data
            typ, data = m._simple_command(
                "SELECT", "INBOX", f"(QRESYNC ({uv} {hms} 1:{last}))")
            assert typ == "OK", data
            got = m.untagged_responses.get("FETCH", [])
            m.logout()
            if k > 0:
                self.ts.append(time.monotonic() - t)
            assert len(got) == changes, (len(got), got[:3])
            return
        typ, data = m._simple_command("SELECT", "INBOX", "(CONDSTORE)")
        assert typ == "OK", data
        m.state = "SELECTED"  # imaplib's select() takes no (CONDSTORE)
        typ, data = m.uid("FETCH", "1:*", "(FLAGS)",
                          f"(CHANGEDSINCE {hms})")
        assert typ == "OK", data
        got = [d for d in data if d]
        typ, data = m.uid("SEARCH", "ALL")
        assert typ == "OK", data
        m.logout()
        if k > 0:  # the first round is the warm-up
            self.ts.append(time.monotonic() - t)
        assert len(got) == changes, (len(got), got[:3])


def zline(z, sock, buf):
    while b"\n" not in buf[0]:
        d = sock.recv(65536)
        if not d:
            raise RuntimeError("closed")
        buf[0] += z.decompress(d)
    line, buf[0] = buf[0].split(b"\n", 1)
    return line


def idle_compressed(port, user, n, pids_fn, compress=True):
    """Memory growth per compressed (or plain) idling connection."""
    before = mem(pids_fn())
    socks = []
    t = time.monotonic()
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        f = s.makefile("rb")
        f.readline()
        s.sendall(f"a LOGIN {user} {PASSWORD}\r\n".encode())
        while not f.readline().startswith(b"a "):
            pass
        d = z = None
        if compress:
            s.sendall(b"b COMPRESS DEFLATE\r\n")
            line = f.readline()
            assert line.startswith(b"b OK"), line
            d = zlib.compressobj(6, zlib.DEFLATED, -15)
            z = zlib.decompressobj(-15)
        else:
            # the same bytes through identity "compressors"
            class Id:
                def compress(self, b):
                    return b

                def flush(self, mode=0):
                    return b""

                def decompress(self, b):
                    return b
            d = z = Id()
        buf = [b""]
        s.sendall(d.compress(b"c SELECT INBOX\r\nd IDLE\r\n") +
                  d.flush(zlib.Z_SYNC_FLUSH))
        while not zline(z, s, buf).startswith(b"+ "):
            pass
        socks.append((s, f, d, z))
    opened = time.monotonic() - t
    time.sleep(3)
    after = mem(pids_fn())
    nproc = len(pids_fn())
    for s, f, d, z in socks:
        f.close()
        s.close()
    return ((after[0] - before[0]) / n, (after[1] - before[1]) / n, nproc,
            opened)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--messages", type=int, default=50000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--phases", default="sort,resync,qresync,idle")
    args = ap.parse_args()
    if not benchlib.root_or_skip(log, "both servers drop to vmail"):
        return 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    vm = pwd.getpwnam("vmail")
    inst = harness.Instance(args.bin, SRCDIR, extra_conf={
        "mra_max_userip_connections": "100000",
        "mra_client_connection_count_limit": "0",
    })
    tmp = tempfile.mkdtemp(prefix="youju-bench-modern-")
    os.chmod(tmp, 0o755)
    dv = None
    res = {}
    phases = args.phases.split(",")
    try:
        log(f"generating {args.messages} messages")
        big = os.path.join(tmp, "big")
        gen_threads(big, args.messages)
        small = os.path.join(tmp, "small")
        gen_threads(small, 20, seed=5)
        inst.start()
        # one mailbox per server: sorting and flag changes of one do not
        # warm or disturb the other's
        users = {k: add_mailbox(inst, k)
                 for k in ("yj", "dv", "yjidle", "dvidle")}
        for k in ("yj", "dv"):
            place(inst, k, big)
        for k in ("yjidle", "dvidle"):
            place(inst, k, small)
        limit = args.idle + 500
        dv = Dovecot(os.path.join(tmp, "dovecot"), [
            (u, PASSWORD, vm.pw_uid, vm.pw_gid,
             inst.path("mailbox", DOMAIN, u.split("@")[0]))
            for u in users.values()], extra=f"""
mail_max_userip_connections = 100000
default_process_limit = {limit}
default_client_limit = {limit * 2}
service imap {{
  process_limit = {limit}
}}
mail_plugins = quota zlib
protocol imap {{
  mail_plugins = quota zlib imap_quota imap_zlib
}}
""")
        dv.start()
        servers = (("youju", inst.ports["imap"], "yj"),
                   ("dovecot", dv.ports["imap"], "dv"))
        def yj_pids():
            return mra_pids(inst)
        if "idleplain" in phases:
            log(f"{args.idle} IDLE connections without COMPRESS against "
                "youju")
            res[("idleplain", "youju")] = idle_compressed(
                inst.ports["imap"], users["yjidle"], args.idle, yj_pids,
                compress=False)
        if "idle" in phases:
            for name, port, u, fn in (
                    ("youju", inst.ports["imap"], "yjidle", yj_pids),
                    ("dovecot", dv.ports["imap"], "dvidle", dv.pids)):
                log(f"{args.idle} compressed IDLE connections against "
                    f"{name}")
                res[("idle", name)] = idle_compressed(port, users[u],
                                                      args.idle, fn)
        if "sort" in phases:
            answers = {}
            for name, port, u in servers:
                log(f"SORT and THREAD on {args.messages} against {name}")
                res[("sort", name)], answers[name] = sort_and_thread(
                    port, users[u], args.rounds)
            same = answers["youju"] == answers["dovecot"]
            log(f"same UID order as Dovecot: SORT "
                f"{answers['youju']['sort'] == answers['dovecot']['sort']}"
                f", THREAD "
                f"{answers['youju']['thread'] == answers['dovecot']['thread']}"
                f", THREAD after appends "
                f"{answers['youju']['thread_appended'] == answers['dovecot']['thread_appended']}"
                f" ({'equal' if same else 'different'})")
        for ph in ("resync", "qresync"):
            if ph not in phases:
                continue
            log(f"{'QRESYNC' if ph == 'qresync' else 'CONDSTORE'} "
                "resync after 100 changes, rounds alternating between "
                "the servers")
            runs = [(name, Resync(port, users[u], 100, ph == "qresync"))
                    for name, port, u in servers]
            try:
                for k in range(args.rounds + 1):
                    for name, r in runs:
                        r.step(k)
                for name, r in runs:
                    res[(ph, name)] = statistics.median(r.ts)
                    log(f"  {name}: " +
                        " ".join(f"{x:.3f}" for x in r.ts))
            except AssertionError as e:
                # reported, and the other measurements still run
                log(f"resync FAILED: {e!r}; " + "\n".join(
                    x for x in inst.maillog().splitlines()
                    if "warning" in x or "error" in x)[-2000:])
                for name, _ in runs:
                    res[(ph, name)] = float("nan")

    except BaseException:
        log_tails(log, inst, dv)
        raise
    finally:
        stop_servers(inst, dv, tmp)

    print()
    print(f"{'':<48} {'youju':>10} {'dovecot':>10} {'dovecot/youju':>14}")

    def row(label, y, d, fmt="{:>10.3f}"):
        print(f"{label:<48} " + fmt.format(y) + " " + fmt.format(d) +
              f" {d / max(y, 1e-9):>13.2f}x")
    if ("sort", "youju") in res:
        y, d = res[("sort", "youju")], res[("sort", "dovecot")]
        row(f"UID SORT (REVERSE DATE), {args.messages} msgs, s", y[0], d[0])
        row(f"UID THREAD REFERENCES, {args.messages} msgs, s", y[1], d[1])
        row("  the same after 100 appended, s", y[2], d[2])
    if ("resync", "youju") in res:
        row("CONDSTORE resync, 100 changes, s", res[("resync", "youju")],
            res[("resync", "dovecot")])
    if ("qresync", "youju") in res:
        row("QRESYNC resync, 100 changes, s", res[("qresync", "youju")],
            res[("qresync", "dovecot")])
    if ("idle", "youju") in res:
        y, d = res[("idle", "youju")], res[("idle", "dovecot")]
        row(f"{args.idle} COMPRESS+IDLE, KiB RSS per conn", y[0], d[0],
            "{:>10.1f}")
        row("    KiB PSS per connection", y[1], d[1], "{:>10.1f}")
        print(f"{'    server processes':<48} {y[2]:>10} {d[2]:>10}")
        print(f"{'    seconds to open them all':<48} {y[3]:>10.1f} "
              f"{d[3]:>10.1f}")
    if ("idleplain", "youju") in res:
        y = res[("idleplain", "youju")]
        print(f"{f'{args.idle} IDLE without COMPRESS, KiB RSS per conn':<48}"
              f" {y[0]:>10.1f}   (youju only, for comparison)")
    print("ratios: Dovecot / youju, higher is better for youju; goal >= 2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
