#!/usr/bin/env python3
"""youju-mra against Debian's Dovecot 2.3 (issue 6, item 4): the same
Maildirs, the same machine, the same clients, in one run.  Called by
bench/mra/run.sh, which compiles the load generator (mraload.c).

Steps:
1. A throw-away youju instance (tests/integration/harness.py) and a private
   Dovecot (tests/integration/dovecot_peer.py) on loopback ports, both
   serving the instance's mailbox/ tree as vmail, with their per-user+IP
   connection limits lifted for the benchmark.
2. A generated Maildir of BENCH_MESSAGES realistic messages (2-10 KiB,
   LF line ends, ,S= and ,W= in the names as youju-mta and Dovecot write
   them), hard-linked into the mailboxes.
3. (a) IMAP: BENCH_IMAP_CLIENTS clients at once, each LOGIN, SELECT,
   FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE), UID FETCH 1:* BODY.PEEK[];
   one unmeasured pass first, so that both servers have built their
   dovecot-uidlist (and Dovecot its index and cache).
   (b) POP3: BENCH_POP3_CLIENTS clients, each on its own fresh copy of the
   mailbox, RETR of every message (32 pipelined); an unmeasured login
   first builds the uidlist/index.
   (c) IDLE: BENCH_IDLE connections logged in and idling on a small
   mailbox; memory of the server's processes (VmRSS and PSS summed over
   every process of the server) before and after, per connection.
4. A table with both servers and the ratios.
"""
import argparse
import os
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import benchlib  # noqa: E402
from benchlib import SRCDIR  # noqa: E402

import harness  # noqa: E402
from dovecot_peer import Dovecot  # noqa: E402

DOMAIN = "extmail.org"
PASSWORD = "bench-pw1"
WORDS = ("mail server queue message delivery folder quota client session "
         "protocol header body account domain user inbox archive report "
         "meeting project budget review schedule update release network "
         "storage backup invoice contract customer support ticket").split()


log = benchlib.logger("bench/mra")


def log_tails(log, inst, dv):
    """After a failure: the end of youju's maillog and of Dovecot's log."""
    log("failed; maillog tail:\n" + inst.maillog()[-1500:])
    if dv is not None:
        log("dovecot log tail:\n" + dv.logtext()[-1500:])


def stop_servers(inst, dv, tmp):
    """Stops the Dovecot (None: not made yet) and the instance, removes
    tmp."""
    if dv is not None:
        dv.stop()
    inst.teardown()
    shutil.rmtree(tmp, ignore_errors=True)


def mra_pids(inst):
    """youju-mra's master and its worker processes."""
    master = inst.daemon_pid("youju-mra")
    return [master] + benchlib.children(master)


def gen_maildir(root, n, seed=6):
    """n messages in root/cur, half of them \\Seen; returns total bytes."""
    rnd = random.Random(seed)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    total = 0
    t0 = 1700000000
    for i in range(n):
        size = rnd.randint(2048, 10240)
        subj = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(2, 7)))
        hdr = (f"Return-Path: <sender{i % 97}@example.com>\n"
               f"Delivered-To: bench@{DOMAIN}\n"
               f"Received: from mx.example.com (mx.example.com "
               f"[192.0.2.{i % 250 + 1}])\n\tby mail.{DOMAIN} with ESMTPS "
               f"id Q{i:08X}\n\tfor <bench@{DOMAIN}>; "
               f"Tue, 14 Nov 2023 22:13:20 +0000\n"
               f"From: \"Sender {i % 97}\" <sender{i % 97}@example.com>\n"
               f"To: Bench User <bench@{DOMAIN}>\n"
               f"Cc: team{i % 7}@example.com\n"
               f"Subject: {subj}\n"
               f"Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
               f"Message-ID: <{i}.{seed}@example.com>\n"
               f"MIME-Version: 1.0\n"
               f"Content-Type: text/plain; charset=utf-8\n"
               f"Content-Transfer-Encoding: 8bit\n\n")
        body = []
        blen = len(hdr)
        while blen < size:
            ln = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(5,
                                                                        14)))
            body.append(ln)
            blen += len(ln) + 1
        data = (hdr + "\n".join(body) + "\n").encode()
        vsize = len(data) + data.count(b"\n")
        flags = "S" if i % 2 else ""
        name = (f"{t0 + i}.M{i}P1.bench,S={len(data)},W={vsize}:2,{flags}")
        with open(os.path.join(root, "cur", name), "wb") as f:
            f.write(data)
        total += len(data)
    return total


def add_mailbox(inst, local):
    user = f"{local}@{DOMAIN}"
    inst.sql(f"DELETE FROM mailbox WHERE username='{user}'")
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{user}', '{local}', '{{PLAIN}}{PASSWORD}', '{local}', "
             f"'{DOMAIN}/{local}/Maildir/', '{DOMAIN}/{local}', '0', "
             f"'{DOMAIN}', 1000, 1000, 1)")
    return user


def place(inst, local, pristine):
    """A fresh hard-linked copy of pristine as local's Maildir."""
    home = inst.path("mailbox", DOMAIN, local)
    shutil.rmtree(home, ignore_errors=True)
    os.makedirs(home)
    subprocess.run(["cp", "-al", pristine, os.path.join(home, "Maildir")],
                   check=True)
    subprocess.run(["chown", "-R", "vmail:vmail",
                    inst.path("mailbox", DOMAIN)], check=True)


def mem(pids):
    """(sum VmRSS, sum Pss) in KiB over pids."""
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def load(args, kind, port, user, n, extra=()):
    r = subprocess.run([args.load, kind, "127.0.0.1", str(port), user,
                        PASSWORD, str(n), *extra], capture_output=True,
                       text=True, timeout=args.timeout)
    if r.returncode != 0:
        raise RuntimeError(f"mraload {kind} :{port}: {r.stderr.strip()}")
    out = dict(x.split("=") for x in r.stdout.split()[1:])
    return float(out["msgs"]), float(out["bytes"]), float(out["seconds"])


def idle_mem(args, port, user, pids_fn):
    before = mem(pids_fn())
    p = subprocess.Popen([args.load, "idle", "127.0.0.1", str(port), user,
                          PASSWORD, str(args.idle), "16"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        if not line.startswith("idling"):
            raise RuntimeError(f"mraload idle: {line}{p.stderr.read()}")
        time.sleep(2)
        after = mem(pids_fn())
        nproc = len(pids_fn())
    finally:
        p.stdin.close()
        p.wait(timeout=120)
    return before, after, nproc, line.split("seconds=")[1].strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--imap-clients", type=int, default=20)
    ap.add_argument("--pop3-clients", type=int, default=4)
    ap.add_argument("--idle", type=int, default=5000)
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--phases", default="imap,pop3,idle")
    args = ap.parse_args()
    if not benchlib.root_or_skip(log, "both servers drop to vmail"):
        return 1
    vm = pwd.getpwnam("vmail")
    inst = harness.Instance(args.bin, SRCDIR, extra_conf={
        "mra_max_userip_connections": "100000",
        "mra_client_connection_count_limit": "0",
    })
    tmp = tempfile.mkdtemp(prefix="youju-bench-mra-")
    os.chmod(tmp, 0o755)  # Dovecot's auth (user dovecot) reads its users
    dv = None
    results = {}
    try:
        log(f"generating {args.messages} messages")
        pristine = os.path.join(tmp, "Maildir")
        total = gen_maildir(pristine, args.messages)
        small = os.path.join(tmp, "small")
        gen_maildir(small, 20, seed=7)
        inst.start()
        users = {"bench": add_mailbox(inst, "bench"),
                 "idle": add_mailbox(inst, "idle")}
        pops = [add_mailbox(inst, f"pop{i}")
                for i in range(args.pop3_clients)]
        place(inst, "bench", pristine)
        place(inst, "idle", small)
        dvusers = [(u, PASSWORD, vm.pw_uid, vm.pw_gid,
                    inst.path("mailbox", DOMAIN, u.split("@")[0]))
                   for u in list(users.values()) + pops]
        limit = args.idle + 1000
        dv = Dovecot(os.path.join(tmp, "dovecot"), dvusers, extra=f"""
mail_max_userip_connections = 100000
default_process_limit = {limit}
default_client_limit = {limit * 2}
service imap {{
  process_limit = {limit}
}}
""")
        dv.start()
        servers = {"youju": inst.ports, "dovecot": dv.ports}
        log(f"mailbox: {args.messages} messages, {total / 1e6:.1f} MB")

        phases = args.phases.split(",")
        # (a) IMAP
        for name, ports in servers.items():
            if "imap" not in phases:
                break
            load(args, "imap", ports["imap"], users["bench"], 1)  # warm-up
        for name, ports in servers.items():
            if "imap" not in phases:
                break
            log(f"IMAP {args.imap_clients} clients against {name}")
            msgs, b, sec = load(args, "imap", ports["imap"], users["bench"],
                                args.imap_clients)
            results[("imap", name)] = (msgs / sec, b / sec / 1e6, sec)

        # (b) POP3: a fresh copy per mailbox and server
        for name, ports in servers.items():
            if "pop3" not in phases:
                break
            for i in range(args.pop3_clients):
                place(inst, f"pop{i}", pristine)
            import poplib
            for u in pops:
                p = poplib.POP3("127.0.0.1", ports["pop3"], timeout=300)
                p.user(u)
                p.pass_(PASSWORD)
                p.stat()
                p.quit()
            log(f"POP3 {args.pop3_clients} clients against {name}")
            msgs, b, sec = load(args, "pop3", ports["pop3"],
                                f"pop%d@{DOMAIN}", args.pop3_clients)
            results[("pop3", name)] = (msgs / sec, b / sec / 1e6, sec)

        # (c) IDLE memory
        def yj_pids():
            return mra_pids(inst)
        for name, port, fn in (("youju", inst.ports["imap"], yj_pids),
                               ("dovecot", dv.ports["imap"], dv.pids)):
            if "idle" not in phases:
                break
            log(f"{args.idle} IDLE connections against {name}")
            before, after, nproc, secs = idle_mem(args, port, users["idle"],
                                                  fn)
            results[("idle", name)] = (
                (after[0] - before[0]) / args.idle,
                (after[1] - before[1]) / args.idle, after, nproc, secs)
    except BaseException:
        log_tails(log, inst, dv)
        raise
    finally:
        stop_servers(inst, dv, tmp)

    print()
    print(f"{'load':<44} {'youju':>12} {'dovecot':>12} {'ratio':>8}")
    for kind, label in (("imap", f"(a) IMAP {args.imap_clients} clients "
                         "FETCH, msgs/s"),
                        ("pop3", f"(b) POP3 {args.pop3_clients} clients "
                         "RETR, msgs/s")):
        if (kind, "youju") not in results:
            continue
        y, d = results[(kind, "youju")], results[(kind, "dovecot")]
        print(f"{label:<44} {y[0]:>12.0f} {d[0]:>12.0f} "
              f"{y[0] / d[0]:>7.2f}x")
        print(f"{'    MB/s':<44} {y[1]:>12.1f} {d[1]:>12.1f}")
    y, d = results.get(("idle", "youju")), results.get(("idle", "dovecot"))
    if y is None:
        return 0
    print(f"{f'(c) {args.idle} IDLE, KiB RSS per connection':<44} "
          f"{y[0]:>12.1f} {d[0]:>12.1f} {y[0] / max(d[0], 0.001):>7.3f}x")
    print(f"{'    KiB PSS per connection':<44} {y[1]:>12.1f} {d[1]:>12.1f} "
          f"{y[1] / max(d[1], 0.001):>7.3f}x")
    print(f"{'    server processes':<44} {y[3]:>12} {d[3]:>12}")
    print(f"{'    seconds to open them all':<44} {y[4]:>12} {d[4]:>12}")
    print("ratios: youju / dovecot (throughput: higher is better; memory: "
          "lower is better)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
