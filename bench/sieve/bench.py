#!/usr/bin/env python3
"""The cost of Sieve at delivery (issue 15): a throw-away youju instance
(tests/integration/harness.py), M mailboxes, and the same smtp-source load
(bench/mta's driver) delivered alternately with no script and with a
50-rule script active on every mailbox (HOME/sieve/bench.sieve,
HOME/.dovecot.sieve).  No message matches a rule, so every delivery walks
all 50 (the worst case) and ends in INBOX.  Prints end-to-end messages/s
(first connection to the last link into new/) and youju's CPU ms per
message for each run, and the ratios.  Called by bench/sieve/run.sh."""
import argparse
import importlib.util
import os
import pwd
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import benchlib  # noqa: E402
from benchlib import SRCDIR  # noqa: E402
import harness  # noqa: E402

spec = importlib.util.spec_from_file_location(
    "mta_bench", os.path.join(SRCDIR, "bench", "mta", "bench.py"))
mb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mb)


log = benchlib.logger("bench/sieve")


def script50():
    """50 rules of the kinds the webmail's form writes, none of which
    matches smtp-source's messages."""
    out = ['require ["fileinto", "mailbox", "copy", "reject", "envelope",'
           ' "vacation", "imap4flags", "relational", "date", "variables"];']
    for i in range(50):
        k = i % 5
        if k == 0:
            test = f'header :contains "subject" "invoice-{i}"'
        elif k == 1:
            test = (f'address :domain :is ["from", "sender"] '
                    f'"vendor{i}.example"')
        elif k == 2:
            test = (f'anyof (header :contains ["to", "cc"] "list{i}@x.org", '
                    f'header :matches "list-id" "*devel{i}*")')
        elif k == 3:
            test = (f'allof (size :over 5M, header :is "x-priority" '
                    f'"{i}")')
        else:
            test = f'envelope :all :is "from" "robot{i}@example.com"'
        out.append(f"# rule {i}\nif {test} {{\n"
                   f'    fileinto :create "Rule{i}";\n    stop;\n}}')
    return "\n".join(out) + "\n"


def set_scripts(inst, names, on):
    vm = pwd.getpwnam("vmail")
    text = script50()
    for n in names:
        home = inst.path("mailbox", mb.DOMAIN, n)
        link = os.path.join(home, ".dovecot.sieve")
        if os.path.lexists(link):
            os.unlink(link)
        if not on:
            continue
        d = os.path.join(home, "sieve")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "bench.sieve"), "w") as f:
            f.write(text)
        # a script saved a minute ago, as most are (mta/sieve_cache.c
        # does not keep one changed in the last seconds)
        old = time.time() - 60
        os.utime(os.path.join(d, "bench.sieve"), (old, old))
        os.symlink("sieve/bench.sieve", link)
        for p in (d, os.path.join(d, "bench.sieve")):
            os.chown(p, vm.pw_uid, vm.pw_gid)
        os.lchown(link, vm.pw_uid, vm.pw_gid)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--messages", type=int, default=4000)
    ap.add_argument("--mailboxes", type=int, default=100)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--drain-timeout", type=int, default=300)
    args = ap.parse_args()
    if not benchlib.root_or_skip(log, "private MariaDB as the mysql user"):
        return 0
    benchlib.term_interrupts()
    tmp = tempfile.mkdtemp(prefix="youju-bench-sieve-")
    inst = harness.Instance(args.bin, SRCDIR)

    def body():
        inst.start()
        mb.make_mailboxes(inst, args.mailboxes)
        names = mb.mailbox_names(args.mailboxes)
        srv = mb.Youju(inst)
        db = inst.db_pid()
        log(f"{args.messages} messages of {args.size} bytes to "
            f"{args.mailboxes} mailboxes over {args.sessions} sessions, "
            f"{args.rounds} rounds of each, {os.cpu_count()} CPUs, load "
            f"{os.getloadavg()[0]:.1f}")
        res = {"none": [], "sieve": []}
        with open(os.path.join(tmp, "smtp-source.err"), "w") as errfile:
            # the Maildirs exist before anything is measured
            set_scripts(inst, names, False)
            mb.run_e2e(srv, argparse.Namespace(
                messages=args.mailboxes, sessions=args.sessions,
                size=args.size, drain_timeout=args.drain_timeout),
                names, errfile, db)
            for r in range(args.rounds):
                # alternate which goes first: the first run of a round
                # tends to be the faster on a busy machine
                kinds = ("none", "sieve") if r % 2 == 0 else \
                    ("sieve", "none")
                for kind in kinds:
                    set_scripts(inst, names, kind == "sieve")
                    x = mb.run_e2e(srv, args, names, errfile, db)
                    res[kind].append(x)
                    log(f"round {r + 1} {kind:5}: {x['rate']:7.0f} msg/s "
                        f"end to end, youju {x['cpu_ms']:.3f} ms CPU per "
                        "message")
        rate = {k: sum(x["rate"] for x in v) / len(v) for k, v in res.items()}
        cpu = {k: sum(x["cpu_ms"] for x in v) / len(v)
               for k, v in res.items()}
        print(f"{'':16}{'no script':>12}{'50 rules':>12}{'ratio':>8}")
        print(f"{'msg/s':16}{rate['none']:12.0f}{rate['sieve']:12.0f}"
              f"{rate['sieve'] / rate['none']:8.2f}")
        print(f"{'CPU ms/msg':16}{cpu['none']:12.3f}{cpu['sieve']:12.3f}"
              f"{cpu['sieve'] / cpu['none']:8.2f}")
        print(f"goal: the script costs < 10 % (msg/s ratio > 0.90); "
              f"load {os.getloadavg()[0]:.1f}")
        return 0

    def cleanup():
        inst.teardown()
        shutil.rmtree(tmp, ignore_errors=True)
    return benchlib.run_main(
        log, body, cleanup,
        [("youju log tail", lambda: inst.maillog()[-2000:])])


if __name__ == "__main__":
    sys.exit(main())
