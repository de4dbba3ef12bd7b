#!/usr/bin/env python3
"""youju-mta against Debian's Postfix (smtpd + cleanup + qmgr + virtual(8)
with mysql: maps), issue 4 item 11 and issue 5 item 9: the same MariaDB, the
same rows, the same client (Postfix's smtp-source), the same machine, in one
run.  Called by bench/mta/run.sh.

Set-up:
1. A throw-away youju instance (tests/integration/harness.py) with its
   private MariaDB; N mailboxes bench0000@extmail.org... (quota 100 MB,
   ExtMail's default).
2. A private Postfix instance under a temporary directory: its own
   config_directory, queue_directory and data_directory, one smtpd on a
   free loopback port, nothing chrooted, mail_owner postfix, configured as
   the seeds configure it (virtual_mailbox_domains, virtual_mailbox_maps and
   virtual_alias_maps as mysql: maps over the instance's MariaDB, virtual(8)
   delivery to its own virtual_mailbox_base as vmail).  Postfix fsyncs its
   queue files and its Maildir files by default; youju fsyncs queue file,
   queue directories, Maildir file and new/ (docs/queue.md, docs/mta.md).

The load: N/M messages over each of M mailboxes; one smtp-source per
mailbox (`-d`: all its messages over one connection), S of them at a time,
so S SMTP sessions run in parallel all along.

Runs, each first on youju, then on Postfix:
(a) receive: accepted messages/s = messages / time until the last
    smtp-source exits (every message has its 250, so it is fsynced in the
    queue); delivery runs meanwhile on both sides, competing for the same
    CPUs.  (Stopping the queue managers is no fair receive-only mode:
    Postfix's cleanup slows to a crawl when its qmgr trigger is not
    served.)
(b) end to end, the same run: messages/s = messages / time from the first
    connection to the last link into a new/ directory (the newest new/
    mtime).
Both run twice: into new Maildirs (created at the first delivery, as
after the SQL INSERT), then again into the existing ones (steady state).
(c) fsyncs per message: a short run under `strace -f -c -e
    trace=fsync,fdatasync,syncfs,sync_file_range` attached to every process
    of the server (Postfix: master and its children, new ones followed),
    counted until the last message is in new/.
"""
import argparse
import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import benchlib  # noqa: E402
from benchlib import SRCDIR, descendants  # noqa: E402

import harness  # noqa: E402

DOMAIN = "extmail.org"
SENDER = "bench@example.net"
SMTP_SOURCE = "/usr/sbin/smtp-source"


log = benchlib.logger("bench/mta")


def mailbox_names(n):
    return [f"bench{i:04d}" for i in range(n)]


def make_mailboxes(inst, n):
    benchlib.add_mailboxes(inst, mailbox_names(n), domain=DOMAIN)


# --- processes --------------------------------------------------------------

def tree_cpu(root):
    """CPU seconds used by root's tree: the live processes' own time plus
    what root and they collected from children they reaped."""
    return benchlib.cpu_seconds(descendants(root))


def tree_cpu_by_name(root):
    """CPU seconds of root's live tree by process name (threads counted
    in their process)."""
    out = {}
    for pid in descendants(root):
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        out[name] = out.get(name, 0) + benchlib.cpu_seconds([pid], False)
    return out


def pid_cpu(pid):
    return benchlib.cpu_seconds([pid], False)


# --- the peer ---------------------------------------------------------------

class Postfix:
    def __init__(self, inst, tmp, port):
        self.dir = os.path.join(tmp, "postfix")
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "spool")
        self.data = os.path.join(self.dir, "data")
        self.base = os.path.join(self.dir, "mailbox")
        self.port = port
        self.started = False
        vm = pwd.getpwnam("vmail")
        pf = pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
        os.makedirs(self.etc)
        os.makedirs(self.data)
        os.makedirs(self.queue)
        os.makedirs(self.base)
        os.chown(self.base, vm.pw_uid, vm.pw_gid)
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        os.chmod(self.dir, 0o755)
        with open(inst.path("etc", "secrets", "mysql-extmail")) as f:
            password = f.read().strip()
        # ExtMail's postfix/mysql_virtual_*_maps.cf, in `query` form
        maps = {
            "mysql_virtual_domains_maps.cf":
                "SELECT description FROM domain WHERE domain = '%s' "
                "AND active = '1'",
            "mysql_virtual_mailbox_maps.cf":
                "SELECT maildir FROM mailbox WHERE username = '%s' "
                "AND active = '1'",
            "mysql_virtual_alias_maps.cf":
                "SELECT goto FROM alias WHERE address = '%s' "
                "AND active = '1'",
        }
        for name, query in maps.items():
            path = os.path.join(self.etc, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            with os.fdopen(fd, "w") as f:
                f.write(f"user = extmail\npassword = {password}\n"
                        f"hosts = unix:{inst.mysql_socket}\n"
                        f"dbname = extmail\nquery = {query}\n")
            os.chown(path, 0, grp.getgrnam("postfix").gr_gid)
        main = f"""# bench/mta: a private Postfix, configured as the seeds do
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
myhostname = bench-postfix.localdomain
mydomain = localdomain
mydestination =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = {self.dir}/maillog
maillog_file_prefixes = {self.dir}
smtpd_banner = $myhostname ESMTP
biff = no
append_dot_mydomain = no
alias_maps =
alias_database =
smtpd_recipient_restrictions = permit_mynetworks,
    permit_sasl_authenticated, reject_unauth_destination
message_size_limit = 14336000
virtual_mailbox_base = {self.base}
virtual_mailbox_maps = mysql:{self.etc}/mysql_virtual_mailbox_maps.cf
virtual_mailbox_domains = mysql:{self.etc}/mysql_virtual_domains_maps.cf
virtual_alias_domains =
virtual_alias_maps = mysql:{self.etc}/mysql_virtual_alias_maps.cf
virtual_uid_maps = static:{vm.pw_uid}
virtual_gid_maps = static:{vm.pw_gid}
virtual_transport = virtual
virtual_mailbox_limit = 20971520
"""
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(main)
        # Debian's master.cf, the services this load needs, no chroot
        services = [
            f"127.0.0.1:{port} inet n - n - - smtpd",
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "virtual unix - n n - - virtual",
            "smtp unix - - n - - smtp",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("\n".join(services) + "\n")

    def postfix(self, *args, timeout=120):
        return subprocess.run(["/usr/sbin/postfix", "-c", self.etc, *args],
                              capture_output=True, text=True,
                              timeout=timeout)

    def start(self):
        r = self.postfix("start")
        if r.returncode != 0:
            raise RuntimeError(f"postfix start: {r.stdout}{r.stderr}"
                               + self.log())
        self.started = True
        deadline = time.time() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port),
                                              timeout=2) as s:
                    if s.recv(512).startswith(b"220"):
                        return
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("postfix never listened\n" + self.log())
            time.sleep(0.1)

    def stop(self):
        if not self.started:
            return
        pid = self.master_pid()
        self.postfix("stop", timeout=60)
        deadline = time.time() + 20
        while pid and os.path.exists(f"/proc/{pid}") and \
                time.time() < deadline:
            time.sleep(0.1)
        if pid:
            for p in descendants(pid):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.started = False

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return 0

    def cpu(self):
        return tree_cpu(self.master_pid())

    def split(self):
        return tree_cpu_by_name(self.master_pid())

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog"),
                      errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""


class Youju:
    """The harness instance seen through the same interface as Postfix."""

    def __init__(self, inst):
        self.inst = inst
        self.port = inst.ports["smtp"]
        self.base = inst.path("mailbox")

    def master_pid(self):
        return self.inst.daemon_pid("youju-mta")

    def split(self):
        out = tree_cpu_by_name(self.master_pid())
        for k, v in tree_cpu_by_name(
                self.inst.daemon_pid("youju-authd")).items():
            out[k] = out.get(k, 0) + v
        return out

    def cpu(self):
        # the directory lookups Postfix makes itself happen in youju-authd
        return (tree_cpu(self.master_pid())
                + tree_cpu(self.inst.daemon_pid("youju-authd")))


# --- load and measuring -----------------------------------------------------

def new_dirs(base, names):
    return [os.path.join(base, DOMAIN, n, "Maildir", "new") for n in names]


def count_new(dirs):
    n = 0
    for d in dirs:
        try:
            n += len(os.listdir(d))
        except FileNotFoundError:
            pass
    return n


def last_link(dirs):
    t = 0
    for d in dirs:
        try:
            t = max(t, os.stat(d).st_mtime_ns)
        except FileNotFoundError:
            pass
    return t / 1e9


def load(port, names, messages, sessions, size, errfile):
    """messages over the mailboxes `names`, one smtp-source per mailbox,
    `sessions` at a time.  Returns (start, end, failed smtp-sources)."""
    per, extra = divmod(messages, len(names))
    jobs = []
    for i, n in enumerate(names):
        k = per + (1 if i < extra else 0)
        if k:
            jobs.append([SMTP_SOURCE, "-d", "-s", "1", "-m", str(k),
                         "-l", str(size), "-f", SENDER,
                         "-M", "bench-client.example",
                         "-t", f"{n}@{DOMAIN}", f"127.0.0.1:{port}"])
    return benchlib.run_jobs(jobs, sessions, errfile)


def wait_delivered(dirs, want, timeout):
    deadline = time.time() + timeout
    while True:
        n = count_new(dirs)
        if n >= want:
            return n
        if time.time() > deadline:
            raise RuntimeError(f"only {n} of {want} messages delivered "
                               f"after {timeout}s")
        time.sleep(0.25)


def run_e2e(srv, args, names, errfile, db_pid):
    dirs = new_dirs(srv.base, names)
    before = count_new(dirs)
    s0 = srv.split()
    c0, d0 = srv.cpu(), pid_cpu(db_pid)
    k0 = os.times()
    t0, t1, failed = load(srv.port, names, args.messages, args.sessions,
                          args.size, errfile)
    wait_delivered(dirs, before + args.messages, args.drain_timeout)
    end = last_link(dirs)
    c1, d1 = srv.cpu(), pid_cpu(db_pid)
    k1 = os.times()
    client = ((k1.children_user + k1.children_system)
              - (k0.children_user + k0.children_system))
    s1 = srv.split()
    split = {k: (s1[k] - s0.get(k, 0)) / args.messages * 1000
             for k in s1 if s1[k] - s0.get(k, 0) > 0}
    return {"split": split,
            "rate": args.messages / (end - t0), "secs": end - t0,
            "recv_rate": args.messages / (t1 - t0), "failed": failed,
            "cpu_ms": (c1 - c0) / args.messages * 1000,
            "db_ms": (d1 - d0) / args.messages * 1000,
            "client_ms": client / args.messages * 1000}


# the first run creates every Maildir (youju: with ExtMail's four default
# folders), the second delivers into existing ones: the steady state
RUNS = (("cold", "new Maildirs"), ("warm", "existing Maildirs"))

SYNC_CALLS = ("fsync", "fdatasync", "syncfs", "sync_file_range")


def run_strace(srv, args, names, errfile, tmp, tag):
    """fsync-family calls per message, end to end, over a short run."""
    n = args.strace_messages
    names = names[:max(1, min(len(names), n // 20))]
    dirs = new_dirs(srv.base, names)
    before = count_new(dirs)
    out = os.path.join(tmp, f"strace-{tag}.txt")
    cmd = ["strace", "-f", "-c", "-o", out]
    if not args.strace_all:
        cmd += ["-e", "trace=" + ",".join(SYNC_CALLS)]
    for p in descendants(srv.master_pid()):
        cmd += ["-p", str(p)]
    st = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached to every thread
    try:
        load(srv.port, names, n, args.sessions, args.size, errfile)
        wait_delivered(dirs, before + n, args.drain_timeout)
        time.sleep(0.5)
    finally:
        st.send_signal(signal.SIGINT)
        st.wait(30)
    calls, every = {}, []
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[3].isdigit():
                every.append((int(parts[3]), parts[-1]))
                if parts[-1] in SYNC_CALLS:
                    calls[parts[-1]] = int(parts[3])
    if args.strace_all:
        log(f"{tag}: system calls per message: " + ", ".join(
            f"{name} {k / n:.1f}" for k, name in sorted(every)[::-1][:25]))
    return sum(calls.values()) / n, calls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--mailboxes", type=int, default=1000)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--strace-messages", type=int, default=1000)
    ap.add_argument("--drain-timeout", type=int, default=300)
    ap.add_argument("--strace-all", action="store_true",
                    help="count every system call in the strace run")
    ap.add_argument("--only", choices=("youju", "postfix"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not benchlib.root_or_skip(log, "Postfix's master, private "
                                 "MariaDB as the mysql user"):
        return 0
    benchlib.term_interrupts()
    tmp = tempfile.mkdtemp(prefix="youju-bench-mta-")
    os.chmod(tmp, 0o755)
    inst = harness.Instance(args.bin, SRCDIR, keep=args.keep)
    pfx = None
    errpath = os.path.join(tmp, "smtp-source.err")
    try:
        t0 = time.time()
        inst.start()
        log(f"youju instance up in {time.time() - t0:.1f}s ({inst.home})")
        make_mailboxes(inst, args.mailboxes)
        names = mailbox_names(args.mailboxes)
        servers = []
        if args.only != "postfix":
            servers.append(("youju", Youju(inst)))
        if args.only != "youju":
            pfx = Postfix(inst, tmp, harness.free_port())
            pfx.start()
            servers.append(("postfix", pfx))
        log(f"{args.messages} messages of {args.size} bytes to "
            f"{args.mailboxes} mailboxes over {args.sessions} sessions "
            f"(smtp-source -d, one per mailbox), {os.cpu_count()} CPUs")
        db = inst.db_pid()
        res = {}
        with open(errpath, "w") as errfile:
            for kind, what in RUNS:
                for name, srv in servers:
                    log(f"{name}: {args.messages} messages, {what}")
                    res[name, kind] = run_e2e(srv, args, names, errfile,
                                              db)
            if args.strace_messages > 0 and shutil.which("strace"):
                for name, srv in servers:
                    log(f"{name}: fsyncs, {args.strace_messages} messages "
                        "under strace")
                    res[name, "fsync"] = run_strace(srv, args, names,
                                                    errfile, tmp, name)
        report(res, [n for n, _ in servers], args)
        with open(errpath) as f:
            err = f.read()
        if err.strip():
            log("smtp-source said:\n" + err[-2000:])
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 1
    except Exception as e:
        log(f"error: {e}")
        if pfx is not None:
            log("postfix log tail:\n" + pfx.log())
        log("youju log tail:\n" + inst.maillog()[-2000:])
        return 1
    finally:
        if pfx is not None:
            pfx.stop()
        inst.teardown()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def report(res, names, args):
    hdr = (f"{'server, Maildirs':<18} {'receive msg/s':>13} "
           f"{'e2e msg/s':>10} {'e2e s':>6} {'cpu ms/msg':>10} "
           f"{'db':>5} {'server':>6} {'client':>6} {'fsyncs/msg':>10} "
           f"{'failed':>6}")
    lines = [hdr, "-" * len(hdr)]
    for kind, what in RUNS:
        for n in names:
            e = res[n, kind]
            fs = res.get((n, "fsync"))
            label = f"{n}, {what.split()[0]}"
            lines.append(f"{label:<18} {e['recv_rate']:>13.0f} "
                         f"{e['rate']:>10.0f} {e['secs']:>6.1f} "
                         f"{e['cpu_ms']:>10.2f} {e['db_ms']:>5.2f} "
                         f"{e['cpu_ms'] + e['db_ms']:>6.2f} "
                         f"{e['client_ms']:>6.2f} "
                         f"{fs[0] if fs else float('nan'):>10.2f} "
                         f"{e['failed']:>6}")
    print("\n".join(lines))
    for kind, what in RUNS:
        for n in names:
            sp = res[n, kind].get("split", {})
            print(f"{n}, {what}: CPU ms/msg by process (live ones): "
                  + ", ".join(f"{k} {v:.2f}" for k, v in
                              sorted(sp.items(), key=lambda x: -x[1])))
    for n in names:
        fs = res.get((n, "fsync"))
        if fs:
            print(f"{n} fsync-family calls in {args.strace_messages} "
                  f"messages: " + ", ".join(f"{k}={v}" for k, v in
                                            sorted(fs[1].items())))
    # issue 10: server CPU per message end to end (youju-mta + youju-authd
    # + MariaDB) <= 1 ms and <= 2 fsyncs per message, beside Postfix's
    for kind, what in RUNS:
        parts = []
        for n in names:
            e = res[n, kind]
            fs = res.get((n, "fsync"))
            parts.append(f"{n} {e['cpu_ms'] + e['db_ms']:.2f} ms"
                         + (f", {fs[0]:.2f} fsyncs" if fs else ""))
        print(f"server CPU per message, {what.split()[0]} Maildirs: "
              + "; ".join(parts)
              + " (youju's goal: <= 1 ms and <= 2 fsyncs)")
    # the same ratio in CPU, and each server's CPU in units of the
    # client's (smtp-source does the same work per message on both
    # sides, so its CPU per message measures how contended the CPUs
    # were: 0.21-0.25 ms on a quiet machine, 4-5x that under load)
    for kind, what in RUNS:
        parts = []
        for n in names:
            e = res[n, kind]
            srv = e['cpu_ms'] + e['db_ms']
            per_client = srv / e['client_ms'] if e['client_ms'] else 0
            parts.append(f"{n} {srv:.2f} ms = {per_client:.2f}x the "
                         f"client's {e['client_ms']:.2f} ms")
        line = (f"server CPU per message, {what.split()[0]} Maildirs: "
                + "; ".join(parts))
        if "youju" in names and "postfix" in names:
            y = res["youju", kind]['cpu_ms'] + res["youju", kind]['db_ms']
            p = (res["postfix", kind]['cpu_ms']
                 + res["postfix", kind]['db_ms'])
            line += f"; ratio youju / postfix {y / p:.2f}x" if p else ""
        print(line)
    if "youju" in names and "postfix" in names:
        for kind, key, label in (
                ("cold", "recv_rate", "receive, new Maildirs"),
                ("cold", "rate", "end to end, new Maildirs"),
                ("warm", "recv_rate", "receive, existing Maildirs"),
                ("warm", "rate", "end to end, existing Maildirs")):
            y, p = res["youju", kind][key], res["postfix", kind][key]
            ratio = y / p if p else float("inf")
            verdict = "meets" if ratio >= 2 else "misses"
            print(f"ratio youju / postfix, {label}: {ratio:.2f}x "
                  f"({verdict} the target: >= 2x)")
    print("receive: messages / time until the last smtp-source exits "
          "(accepted, fsynced,\nwith delivery running on the same CPUs); "
          "end to end: messages / time from the\nfirst connection to the "
          "last link into new/.\nCPU: the server's "
          "process trees (youju-mta and youju-authd, or Postfix's "
          "master and its children);\ndb: MariaDB; server: CPU + db, end "
          "to end; client: the smtp-source\nprocesses (all in ms per "
          "message).")


if __name__ == "__main__":
    sys.exit(main())
