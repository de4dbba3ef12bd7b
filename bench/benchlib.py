"""What the benchmarks under bench/ share: the tree's paths (importing it
puts tests/integration/ on sys.path, for harness and dovecot_peer), a
log line with the bench's name, CPU time and memory from /proc, and the
start every root-only driver makes.  A bench imports it with

    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    import benchlib  # noqa: E402
"""
import os
import signal
import sys

SRCDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "integration"))

import proctree  # noqa: E402

children = proctree.children
descendants = proctree.descendants
status_kib = proctree.status_kib

TICK = os.sysconf("SC_CLK_TCK")


def logger(name):
    """log(msg) printing "name: msg" at once."""
    def log(msg):
        print(f"{name}: {msg}", flush=True)
    return log


def cpu_seconds(pids, reaped=True):
    """User + system CPU seconds used so far by pids (threads included),
    with reaped the time of the children they collected too; a pid gone
    counts 0."""
    total = 0
    for pid in pids:
        try:
            st = proctree.stat(pid)
            total += int(st[11]) + int(st[12])
            if reaped:
                total += int(st[13]) + int(st[14])
        except (OSError, IndexError):
            continue
    return total / TICK


def root_or_skip(log, why):
    """False (after saying why) unless running as root."""
    if os.geteuid() != 0:
        log(f"skipped: needs root ({why})")
        return False
    return True


def term_interrupts():
    """SIGTERM (the run.sh timeout) raises KeyboardInterrupt, so that the
    driver's finally: stops its servers and removes its files."""
    def on_term(signo, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)


def bench_mailbox(inst, password, local="bench", domain="extmail.org"):
    """A mailbox made in inst's database and created by one IMAP login;
    returns (address, its Maildir)."""
    import imaplib
    addr = f"{local}@{domain}"
    inst.sql("INSERT INTO mailbox (username, uid, password, name, "
             "maildir, homedir, quota, domain, uidnumber, gidnumber, "
             f"active) VALUES ('{addr}', '{local}', '{{PLAIN}}{password}', "
             f"'{local}', '{domain}/{local}/Maildir/', "
             f"'{domain}/{local}', '0', '{domain}', 1000, 1000, 1)")
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"])
    m.login(addr, password)
    m.logout()
    return addr, inst.path("mailbox", domain, local, "Maildir")


def write_inbox(md, addr, n):
    """n small messages (997 senders, dates over 28 days, \\Seen) written
    straight into Maildir md's cur/, owned by vmail when we are root."""
    for i in range(n):
        body = (f"From: Sender {i % 997} <s{i % 997}@example.com>\n"
                f"To: {addr}\nSubject: message {i} about "
                f"{'abcdefghij'[i % 10]}\n"
                f"Date: Mon, {1 + i % 28} Jun 2026 "
                f"{i % 24:02d}:{i % 60:02d}:00 +0000\n"
                f"Message-ID: <{i}@bench>\n\n" + "text\n" * 20)
        name = f"{1700000000 + i}.M{i}P1.bench,S={len(body)}:2,S"
        with open(os.path.join(md, "cur", name), "w") as f:
            f.write(body)
    if os.geteuid() == 0:
        os.system(f"chown -R vmail: {md}")


def add_mailboxes(inst, locals_, hashes=None, quota="104857600S",
                  domain="extmail.org"):
    """Rows in inst's mailbox table for each local part (uid and name the
    local part, password hashes[i] or "*": no login), 250 an INSERT."""
    rows = []
    for i, local in enumerate(locals_):
        h = hashes[i] if hashes is not None else "*"
        rows.append(f"('{local}@{domain}', '{local}', '{h}', "
                    f"'{domain}/{local}/Maildir/', '{domain}/{local}', "
                    f"'{quota}', '{domain}', 1000, 1000, 1, '{local}')")
    for i in range(0, len(rows), 250):
        inst.sql("INSERT INTO mailbox (username, uid, password, maildir, "
                 "homedir, quota, domain, uidnumber, gidnumber, active, "
                 "name) VALUES " + ", ".join(rows[i:i + 250]))


def run_jobs(jobs, parallel, errfile):
    """Runs the commands jobs (argument lists), parallel at a time, their
    stderr to errfile.  Returns (start, end, how many exited non-zero)."""
    import subprocess
    import time
    jobs = list(jobs)
    running, failed = {}, 0
    t0 = time.time()
    while jobs or running:
        while jobs and len(running) < parallel:
            p = subprocess.Popen(jobs.pop(0), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=errfile)
            running[p.pid] = p
        pid, status = os.wait()
        p = running.pop(pid, None)
        if p is not None:
            p.returncode = os.waitstatus_to_exitcode(status)
            if p.returncode != 0:
                failed += 1
    return t0, time.time(), failed


def run_main(log, body, cleanup, tails=()):
    """A driver's main: body()'s exit status; 1 when interrupted (SIGTERM
    too, with term_interrupts()) or when it raised, after logging the
    error and each (name, fn) of tails as "name:\\n" + fn().  cleanup()
    runs in every case."""
    try:
        return body()
    except KeyboardInterrupt:
        log("interrupted")
        return 1
    except Exception as e:
        log(f"error: {e}")
        for name, fn in tails:
            log(f"{name}:\n" + fn())
        return 1
    finally:
        cleanup()
