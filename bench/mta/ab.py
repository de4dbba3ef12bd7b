#!/usr/bin/env python3
"""A/B profile of youju-mta on one kept instance (issue 10's CPU goal): the
CPU, context switches and system calls per message of each youju process,
for two builds taking turns on the same instance, the same mailboxes and
the same load (bench.py's smtp-source load), so that a change is measured
against its baseline under the same machine load, round after round.

    python3 bench/mta/ab.py --bin-a /tmp/base/bin --bin-b build/bin \
        [--messages 2000] [--mailboxes 200] [--rounds 3] [--strace]

Each round runs A then B (B then A in odd rounds); before each run
youju-mta and youju-authd are restarted from that build's directory (the
instance, its MariaDB and its Maildirs stay).  A first, unmeasured run
creates the Maildirs.  Per process (youju-smtpd, youju-qmgr, youju-authd,
MariaDB) it prints user and system CPU ms per message (from
/proc/<pid>/stat), context switches per message (voluntary + involuntary,
summed over /proc/<pid>/task/*/status) and system calls per message
(`perf stat -e raw_syscalls:sys_enter`, when perf is there).  With
--strace a last run per build counts the system calls by name
(`strace -f -c`; it slows the run down, its CPU is not reported).
With --fresh every run starts with no Maildirs (removed before it), so
that each mailbox's first delivery makes its Maildir: the cost of new
Maildirs, one per messages/mailboxes messages.

Not a test: nothing is asserted; the numbers are for commit messages and
docs/queue.md "Performance".
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench  # noqa: E402
import benchlib  # noqa: E402  (bench put bench/ on the path)
import harness  # noqa: E402  (bench put tests/integration on the path)
import proctree  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
DAEMONS = ("youju-authd", "youju-mta")


def log(msg):
    print(f"bench/mta/ab: {msg}", flush=True)


def swap(inst, bindir):
    """Restarts youju-mta and youju-authd from bindir."""
    for name in reversed(DAEMONS):
        pid = inst.daemon_pid(name)
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.time() + 20
            while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
                time.sleep(0.05)
            try:
                os.unlink(inst.path("run", f"{name}.pid"))
            except FileNotFoundError:
                pass
    for name in DAEMONS:
        r = subprocess.run([os.path.join(bindir, name)], env=inst.env,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"{name} from {bindir}: {r.stdout}{r.stderr}"
                               + inst.maillog()[-2000:])
    # the smtpd process answers once it is ready
    deadline = time.time() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", inst.ports["smtp"]),
                                          timeout=2) as s:
                if s.recv(512).startswith(b"220"):
                    break
        except OSError:
            pass
        if time.time() > deadline:
            raise RuntimeError("youju-mta never greeted")
        time.sleep(0.1)
    time.sleep(0.5)


def groups(inst):
    """{label: [pids]}: the processes measured."""
    out = {}
    for pid in bench.descendants(inst.daemon_pid("youju-mta"))[1:]:
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        out.setdefault(name, []).append(pid)
    out["youju-authd"] = bench.descendants(inst.daemon_pid("youju-authd"))
    out["mariadb"] = [inst.db_pid()]
    return out


def sample(gr):
    """{label: [utime, stime, ctx switches]} in ticks and counts."""
    out = {}
    for label, pids in gr.items():
        u = s = cs = 0
        for pid in pids:
            try:
                st = proctree.stat(pid)
                u += int(st[11])
                s += int(st[12])
                for t in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{t}/status") as f:
                        for line in f:
                            if line.startswith(("voluntary_ctxt",
                                                "nonvoluntary_ctxt")):
                                cs += int(line.split()[-1])
            except (OSError, IndexError, ValueError):
                continue
        out[label] = [u, s, cs]
    return out


def perf_start(gr, tmp, tag):
    if not shutil.which("perf"):
        return []
    procs = []
    for label, pids in gr.items():
        out = os.path.join(tmp, f"perf-{tag}-{label}.txt")
        p = subprocess.Popen(["perf", "stat", "-x", ",", "-o", out,
                              "-e", "raw_syscalls:sys_enter",
                              "-p", ",".join(map(str, pids))],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        procs.append((label, p, out))
    time.sleep(0.5)
    return procs


def perf_stop(procs):
    out = {}
    for label, p, path in procs:
        p.send_signal(signal.SIGINT)
        p.wait(30)
        try:
            with open(path) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if len(parts) > 2 and "sys_enter" in line:
                        out[label] = int(parts[0])
        except (OSError, ValueError):
            pass
    return out


def unmake(inst, args, names):
    """With --fresh: removes the mailboxes' directories (the mailbox rows
    stay), so that the next run makes them again at first delivery, as
    in a new instance (bench.py, run.sh)."""
    if not args.fresh:
        return
    base = inst.path("mailbox")
    for n in names:
        shutil.rmtree(os.path.join(base, bench.DOMAIN, n),
                      ignore_errors=True)


def run(inst, args, names, errfile, tmp, tag):
    unmake(inst, args, names)
    dirs = bench.new_dirs(inst.path("mailbox"), names)
    before = bench.count_new(dirs)
    gr = groups(inst)
    perf = perf_start(gr, tmp, tag) if not args.no_perf else []
    s0 = sample(gr)
    t0, t1, failed = bench.load(inst.ports["smtp"], names, args.messages,
                                args.sessions, args.size, errfile)
    bench.wait_delivered(dirs, before + args.messages, 300)
    time.sleep(0.3)
    s1 = sample(gr)
    sc = perf_stop(perf)
    n = args.messages
    res = {}
    for label in gr:
        a, b = s0[label], s1[label]
        res[label] = ((b[0] - a[0]) / TICK / n * 1000,
                      (b[1] - a[1]) / TICK / n * 1000,
                      (b[2] - a[2]) / n,
                      sc[label] / n if label in sc else float("nan"))
    return res, n / (t1 - t0), failed


def strace_run(inst, args, names, errfile, tmp, tag):
    gr = groups(inst)
    unmake(inst, args, names)
    dirs = bench.new_dirs(inst.path("mailbox"), names)
    before = bench.count_new(dirs)
    sts = []
    for label, pids in gr.items():
        if label == "mariadb":
            continue
        out = os.path.join(tmp, f"strace-{tag}-{label}.txt")
        cmd = ["strace", "-f", "-c", "-o", out]
        for p in pids:
            cmd += ["-p", str(p)]
        sts.append((label, subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL), out))
    time.sleep(1.0)
    n = min(args.messages, 1000)
    bench.load(inst.ports["smtp"], names, n, args.sessions, args.size,
               errfile)
    bench.wait_delivered(dirs, before + n, 300)
    time.sleep(0.5)
    for label, p, out in sts:
        p.send_signal(signal.SIGINT)
        p.wait(30)
        calls = []
        with open(out) as f:
            for line in f:
                parts = line.split()
                if (len(parts) >= 5 and parts[3].isdigit()
                        and parts[-1] != "total"):
                    calls.append((int(parts[3]), parts[-1]))
        total = sum(c for c, _ in calls)
        log(f"{tag} {label}: {total / n:.1f} system calls per message: "
            + ", ".join(f"{name} {k / n:.2f}"
                        for k, name in sorted(calls)[::-1][:20]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-a", required=True)
    ap.add_argument("--bin-b", required=True)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--mailboxes", type=int, default=200)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--no-perf", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--fresh", action="store_true",
                    help="new Maildirs each run")
    args = ap.parse_args()
    if not benchlib.root_or_skip(log, "private MariaDB as the mysql user"):
        return 0
    bins = {"A": os.path.abspath(args.bin_a),
            "B": os.path.abspath(args.bin_b)}
    benchlib.term_interrupts()
    tmp = tempfile.mkdtemp(prefix="youju-bench-ab-")
    inst = harness.Instance(bins["A"], bench.SRCDIR, keep=args.keep)
    errpath = os.path.join(tmp, "smtp-source.err")

    def body():
        inst.start()
        bench.make_mailboxes(inst, args.mailboxes)
        names = bench.mailbox_names(args.mailboxes)
        log(f"{args.messages} messages of {args.size} bytes to "
            f"{args.mailboxes} mailboxes, {args.sessions} sessions, "
            f"{args.rounds} rounds{', new Maildirs each run' if args.fresh else ''}; A={bins['A']} B={bins['B']}")
        total = {"A": {}, "B": {}}
        with open(errpath, "w") as errfile:
            swap(inst, bins["A"])
            run(inst, args, names, errfile, tmp, "warm-up")
            for r in range(args.rounds):
                order = ("A", "B") if r % 2 == 0 else ("B", "A")
                for v in order:
                    swap(inst, bins[v])
                    load1 = os.getloadavg()[0]
                    res, rate, failed = run(inst, args, names, errfile,
                                            tmp, f"{v}{r}")
                    cpu = sum(x[0] + x[1] for x in res.values())
                    log(f"round {r} {v}: {cpu:.3f} ms/msg in all, "
                        f"{rate:.0f} msg/s, load {load1:.1f}, "
                        f"{failed} failed")
                    for label, x in sorted(res.items()):
                        log(f"  {label:<12} user {x[0]:.3f} sys {x[1]:.3f}"
                            f" ms/msg, {x[2]:.1f} cs/msg, "
                            f"{x[3]:.1f} syscalls/msg")
                        acc = total[v].setdefault(label, [0, 0, 0, 0])
                        for i in range(4):
                            acc[i] += x[i] / args.rounds
            if args.strace and shutil.which("strace"):
                for v in ("A", "B"):
                    swap(inst, bins[v])
                    strace_run(inst, args, names, errfile, tmp, v)
        print(f"{'process':<12} {'':>2} {'user':>6} {'sys':>6} "
              f"{'cpu':>6} {'cs/msg':>7} {'sysc/msg':>8}  (means of "
              f"{args.rounds} rounds, ms per message)")
        for label in sorted(total["A"]):
            for v in ("A", "B"):
                x = total[v].get(label, [0, 0, 0, 0])
                print(f"{label:<12} {v:>2} {x[0]:>6.3f} {x[1]:>6.3f} "
                      f"{x[0] + x[1]:>6.3f} {x[2]:>7.1f} {x[3]:>8.1f}")
        for v in ("A", "B"):
            print(f"all {v}: " + f"{sum(x[0] + x[1] for x in total[v].values()):.3f}"
                  " ms/msg")
        with open(errpath) as f:
            err = f.read()
        if err.strip():
            log("smtp-source said:\n" + err[-2000:])
        return 0

    def cleanup():
        inst.teardown()
        shutil.rmtree(tmp, ignore_errors=True)
    return benchlib.run_main(
        log, body, cleanup,
        [("youju log tail", lambda: inst.maillog()[-2000:])])


if __name__ == "__main__":
    sys.exit(main())
