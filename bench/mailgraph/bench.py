"""youju-mailgraph --cat benchmark (issue 14): a generated maillog of
BENCH_LINES lines (1,000,000) in Postfix's shape over BENCH_DAYS days
(30), replayed by `youju-mailgraph --cat` and by Debian's mailgraph.pl
(`mailgraph --cat -l`) into fresh RRD directories in the same run.
Prints both times, lines per second and the ratio.  Goal: youju < 10 s on
2 cores.  Not a test: nothing here asserts a time.  Also prints the
totals both wrote to mailgraph.rrd (rrdtool fetch), which must match.
"""
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

LINES = int(os.environ.get("BENCH_LINES", "1000000"))
DAYS = int(os.environ.get("BENCH_DAYS", "30"))
BIN = os.environ.get("YOUJU_BIN", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin"))
MON = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def stamp(t):
    tm = time.localtime(t)
    return f"{MON[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:" \
        f"{tm.tm_min:02d}:{tm.tm_sec:02d}"


def generate(path, lines, days):
    """A month of a busy relay: SMTP sessions with sent, local, bounced
    and rejected mail, cleanup rejects, Dovecot logins, amavis lines."""
    rnd = random.Random(14)
    end = int(time.time()) - 2 * 86400
    start = end - days * 86400
    # about 8 lines per event on average
    step = (end - start) / (lines / 8.0)
    t = float(start)
    n = 0
    qid = 0x100000
    with open(path, "w") as f:
        w = f.write
        while n < lines:
            t += rnd.random() * 2 * step
            s = stamp(int(t))
            pid = 1000 + rnd.randrange(500)
            r = rnd.random()
            qid += 1
            q = f"{qid:X}"
            ip = f"192.0.2.{rnd.randrange(1, 255)}"
            if r < 0.55:
                size = rnd.randrange(800, 200000)
                # local deliveries as Postfix's local(8): both count
                # its bounces (mailgraph.pl does not know virtual(8))
                rc = "local" if rnd.random() < 0.5 else "smtp"
                st = "sent" if rnd.random() < 0.95 else "bounced"
                w(f"{s} mx postfix/smtpd[{pid}]: connect from "
                  f"c.example[{ip}]\n")
                w(f"{s} mx postfix/smtpd[{pid}]: {q}: client="
                  f"c.example[{ip}]\n")
                w(f"{s} mx postfix/cleanup[{pid + 1}]: {q}: message-id="
                  f"<{q}@c.example>\n")
                w(f"{s} mx postfix/qmgr[900]: {q}: from=<a@c.example>, "
                  f"size={size}, nrcpt=1 (queue active)\n")
                if rc == "smtp":
                    w(f"{s} mx postfix/smtp[{pid + 2}]: {q}: "
                      f"to=<b@remote.example>, relay=remote.example"
                      f"[198.51.100.1]:25, delay=1.2, delays=0.1/0/0.5/0.6,"
                      f" dsn=2.0.0, status={st} (250 2.0.0 Ok)\n")
                else:
                    w(f"{s} mx postfix/local[{pid + 2}]: {q}: "
                      f"to=<u@mx.example>, relay=local, delay=0.1, "
                      f"delays=0/0/0/0.1, dsn=2.0.0, status={st} "
                      f"(delivered to mailbox)\n")
                w(f"{s} mx postfix/qmgr[900]: {q}: removed\n")
                w(f"{s} mx postfix/smtpd[{pid}]: disconnect from "
                  f"c.example[{ip}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 "
                  f"commands=5\n")
                n += 7
            elif r < 0.75:
                w(f"{s} mx postfix/smtpd[{pid}]: connect from "
                  f"unknown[{ip}]\n")
                w(f"{s} mx postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT "
                  f"from unknown[{ip}]: 554 5.7.1 <v@x.example>: Relay "
                  f"access denied; from=<s@y.example> to=<v@x.example> "
                  f"proto=ESMTP helo=<h>\n")
                w(f"{s} mx postfix/smtpd[{pid}]: disconnect from "
                  f"unknown[{ip}] ehlo=1 mail=1 rcpt=0/1 quit=1 "
                  f"commands=3/4\n")
                n += 3
            elif r < 0.8:
                w(f"{s} mx postfix/smtpd[{pid}]: {q}: client="
                  f"d.example[{ip}]\n")
                w(f"{s} mx postfix/cleanup[{pid + 1}]: {q}: reject: "
                  f"header Subject: buy now from d.example[{ip}]; "
                  f"from=<s@d.example> to=<u@mx.example> proto=ESMTP "
                  f"helo=<d>: 5.7.1 no thanks\n")
                n += 2
            elif r < 0.95:
                tls = ", TLS" if rnd.random() < 0.6 else ""
                svc = "imap" if rnd.random() < 0.7 else "pop3"
                w(f"{s} mx dovecot: {svc}-login: Login: user=<u@mx.example>,"
                  f" method=PLAIN, rip={ip}, lip=192.0.2.1, "
                  f"mpid={pid}{tls}\n")
                n += 1
            else:
                what = "Blocked INFECTED (Eicar-Signature)" \
                    if rnd.random() < 0.3 else "Passed SPAM"
                w(f"{s} mx amavis[3001]: ({pid:05d}-01) {what} "
                  f"{{RelayedTaggedInbound}}, [{ip}]:41235 <s@i.example> "
                  f"-> <u@mx.example>, Queue-ID: {q}\n")
                n += 1
    return start, n


def totals(rrd, start, end):
    """Sums over [start, end] of the archive rrdtool picks (a value x
    the row's seconds = events; the two files' archives differ, so the
    sums agree only roughly where rows straddle the ends)."""
    out = subprocess.run(["rrdtool", "fetch", rrd, "AVERAGE", "-s",
                          str(start), "-e", str(end)],
                         capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    names = lines[0].split()
    rows = [(int(x.split(":")[0]), x.split(":")[1].split())
            for x in lines[2:]]
    res = rows[1][0] - rows[0][0]
    sums = dict.fromkeys(names, 0)
    for _, vals in rows:
        for k, v in zip(names, vals):
            if "nan" not in v.lower():
                sums[k] += round(float(v) * res)
    return sums


def run(cmd, env=None):
    """Wall and CPU (user + system) seconds of one child."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if r.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {r.stdout}{r.stderr}")
    return wall, cpu


def main():
    work = tempfile.mkdtemp(prefix="youju-bench-mailgraph-")
    os.chmod(work, 0o755)
    try:
        log = os.path.join(work, "maillog")
        t0 = time.perf_counter()
        start, n = generate(log, LINES, DAYS)
        os.chmod(log, 0o644)
        print(f"generated {n} lines over {DAYS} days in "
              f"{time.perf_counter() - t0:.1f} s "
              f"({os.path.getsize(log) / 1e6:.0f} MB)", flush=True)
        conf = os.path.join(work, "youju.cf")
        with open(conf, "w") as f:
            f.write("# youju-mailgraph --cat benchmark\n")
        env = dict(os.environ, YOUJU_HOME=work)
        ours = os.path.join(work, "ours")
        deb = os.path.join(work, "deb")
        os.mkdir(deb)
        results = {}
        results["youju-mailgraph --cat"] = run(
            [os.path.join(BIN, "youju-mailgraph"), "--cat", "-c", conf,
             "--rrd-dir", ours, "--syslog-name", "postfix", log], env)
        year = time.localtime(start).tm_year
        results["mailgraph.pl --cat"] = run(
            ["mailgraph", "--cat", "-l", log, "-y", str(year),
             f"--daemon-rrd={deb}"])
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
        print(f"load average during the run: {load} on "
              f"{os.cpu_count()} CPUs", flush=True)
        for name, (wall, cpu) in results.items():
            print(f"{name:24s} {wall:7.2f} s wall {cpu:7.2f} s CPU  "
                  f"{n / wall / 1e6:5.2f} M lines/s", flush=True)
        (a, ac), (b, bc) = results["youju-mailgraph --cat"], \
            results["mailgraph.pl --cat"]
        print(f"ratio (mailgraph.pl / youju): {b / a:.1f}x wall, "
              f"{bc / ac:.1f}x CPU; goal youju < 10 s: "
              f"{'met' if a < 10 else 'NOT met'}")
        end = start + DAYS * 86400
        for who, d in (("youju", ours), ("mailgraph.pl", deb)):
            print(f"{who:13s} mailgraph.rrd sums: "
                  f"{totals(os.path.join(d, 'mailgraph.rrd'), start, end)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
