#!/usr/bin/env python3
"""youju-mra on a large folder (issue 6 items 3 and 7): the cost of SELECT,
FETCH ENVELOPE / BODYSTRUCTURE and header SEARCH over N messages (default
50,000), each run twice: once without `youju.index` (the first, cold pass
builds it) and once with it.  Prints one line per operation with both
timings and the youju-mra resident size before and after SELECT.

Steps:
1. A throw-away youju instance (tests/integration/harness.py) with its
   private MariaDB; the demo mailbox postmaster@extmail.org.
2. A folder ".Big" filled with N messages written directly into cur/
   (as Dovecot or maildrop would leave them): realistic headers, a mix of
   plain, multipart/alternative and multipart/mixed bodies of 2-10 KiB,
   a third of them with RFC 2047 encoded subjects.
3. imaplib: SELECT, FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE), FETCH 1:*
   BODYSTRUCTURE, SEARCH FROM, SEARCH SUBJECT, SEARCH SINCE, each timed;
   the whole sequence twice.  `--no-index` deletes youju.index between the
   passes, so the second pass measures the old behaviour again.

`--cold` evicts the message files from the page cache before each pass
(per file, POSIX_FADV_DONTNEED), which is what a mailbox nobody opened
since yesterday costs.

Usage: bench.py --bin build/bin [--count 50000] [--passes 3] [--cold]
       [--no-index] [--keep]
"""
import argparse
import imaplib
import os
import pwd
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import benchlib  # noqa: E402
from benchlib import SRCDIR  # noqa: E402

import harness  # noqa: E402

USER = "postmaster@extmail.org"
PASSWORD = "extmail"
FOLDER = "Big"

NAMES = ["Alice Martin", "Bob Chen", "Carol Dupont", "Dave Okafor",
         "Erin Novak", "Frank Weber", "Grace Ito", "Heidi Larsen",
         "Ivan Petrov", "Judy Alvarez", "Mallory Stone", "Oscar Haas"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "corp.test"]
WORDS = ("report meeting budget invoice schedule project review update "
         "quarterly release draft notes travel lunch contract server "
         "backup holiday proposal feedback").split()
LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
         "eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut "
         "enim ad minim veniam, quis nostrud exercitation ullamco laboris "
         "nisi ut aliquip ex ea commodo consequat.")
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def addr(rnd):
    n = rnd.choice(NAMES)
    local = n.split()[0].lower()
    return n, f"{local}@{rnd.choice(DOMAINS)}"


def body_text(rnd, size):
    out = []
    total = 0
    while total < size:
        line = LOREM[:rnd.randint(40, 76)].rstrip() + "\n"
        out.append(line)
        total += len(line)
    return "".join(out)


def message(rnd, i, when):
    fn, fa = addr(rnd)
    tn, ta = addr(rnd)
    subj = f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} #{i}"
    if i % 3 == 0:
        subj = "=?UTF-8?B?" + __import__("base64").b64encode(
            ("Caf\u00e9 " + subj).encode()).decode() + "?="
    tm = time.gmtime(when)
    date = (f"{time.strftime('%a', tm)}, {tm.tm_mday} {MONTHS[tm.tm_mon - 1]}"
            f" {tm.tm_year} {tm.tm_hour:02}:{tm.tm_min:02}:{tm.tm_sec:02}"
            " +0000")
    hdr = (f"Return-Path: <{fa}>\n"
           f"Delivered-To: {USER}\n"
           f"Received: from mx.{rnd.choice(DOMAINS)} (mx [192.0.2.{i % 250}])"
           f"\n\tby mail.extmail.org (youju) with ESMTPS id Q{i:08X}\n"
           f"\tfor <{USER}>; {date}\n"
           f"From: \"{fn}\" <{fa}>\n"
           f"To: {tn} <{ta}>, {USER}\n")
    if i % 4 == 0:
        hdr += f"Cc: {NAMES[i % len(NAMES)]} <cc{i % 7}@example.com>\n"
    hdr += (f"Subject: {subj}\n"
            f"Date: {date}\n"
            f"Message-ID: <{i}.{when}@{rnd.choice(DOMAINS)}>\n"
            "MIME-Version: 1.0\n")
    size = rnd.randint(2048, 10240) - len(hdr)
    kind = i % 5
    if kind < 3:
        return (hdr + "Content-Type: text/plain; charset=us-ascii\n\n" +
                body_text(rnd, size)).encode()
    b = f"=_b{i}"
    if kind == 3:
        half = max(size // 2, 200)
        return (hdr + f"Content-Type: multipart/alternative; boundary=\"{b}\""
                "\n\n"
                f"--{b}\nContent-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: quoted-printable\n\n"
                + body_text(rnd, half) +
                f"--{b}\nContent-Type: text/html; charset=utf-8\n\n"
                "<html><body><p>" + body_text(rnd, half) + "</p></body>"
                f"</html>\n--{b}--\n").encode()
    att = __import__("base64").encodebytes(
        bytes(rnd.getrandbits(8) for _ in range(max(size // 2, 300))))
    return (hdr + f"Content-Type: multipart/mixed; boundary=\"{b}\"\n\n"
            f"--{b}\nContent-Type: text/plain; charset=us-ascii\n\n"
            + body_text(rnd, size // 3) +
            f"--{b}\nContent-Type: application/pdf; name=\"doc{i}.pdf\"\n"
            f"Content-Disposition: attachment; filename=\"doc{i}.pdf\"\n"
            "Content-Transfer-Encoding: base64\n\n" + att.decode() +
            f"--{b}--\n").encode()


def fill(folder, count, owner):
    """Writes count messages straight into folder/cur, seen, like a
    mailbox that Dovecot has served for years."""
    rnd = random.Random(42)
    for sub in ("", "tmp", "new", "cur"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
        if owner:
            os.chown(os.path.join(folder, sub), *owner)
    open(os.path.join(folder, "maildirfolder"), "a").close()
    start = 1577836800  # 2020-01-01
    step = (1735689600 - start) // count
    for i in range(count):
        when = start + i * step
        data = message(rnd, i, when)
        name = f"{when}.M{i}P1.bench,S={len(data)}:2,S"
        p = os.path.join(folder, "cur", name)
        with open(p, "wb") as f:
            f.write(data)
        os.utime(p, (when, when))
        if owner:
            os.chown(p, *owner)


def rss_kib(pid):
    """Private (anonymous) resident memory: the mapped youju.index is
    page cache shared by every session, not counted here."""
    return benchlib.status_kib(pid, "RssAnon")


def evict(folder):
    """Drops the message files from the page cache (POSIX_FADV_DONTNEED on
    each, nothing system-wide), so the next pass reads them from disk as
    a server does for a mailbox nobody opened lately; youju.index too."""
    for sub in ("cur", "new", "."):
        d = os.path.join(folder, sub)
        for n in os.listdir(d):
            if sub == "." and n != "youju.index":
                continue
            try:
                fd = os.open(os.path.join(d, n), os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def timed(label, fn, results):
    t0 = time.monotonic()
    r = fn()
    dt = time.monotonic() - t0
    results.setdefault(label, []).append(dt)
    return r


def one_pass(inst, results, pid):
    im = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=600)
    im.login(USER, PASSWORD)
    before = rss_kib(pid)
    typ, _ = timed("SELECT", lambda: im.select(FOLDER), results)
    assert typ == "OK"
    after = rss_kib(pid)
    results.setdefault("RssAnon before SELECT (KiB)", []).append(before)
    results.setdefault("RssAnon after SELECT (KiB)", []).append(after)
    ops = [
        ("FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE)",
         lambda: im.fetch("1:*", "(FLAGS RFC822.SIZE ENVELOPE)")),
        ("FETCH 1:* BODYSTRUCTURE",
         lambda: im.fetch("1:*", "BODYSTRUCTURE")),
        ("SEARCH FROM grace", lambda: im.search(None, "FROM", "grace")),
        ("SEARCH SUBJECT budget", lambda: im.search(None, "SUBJECT",
                                                    "budget")),
        ("SEARCH SINCE 1-Jan-2024", lambda: im.search(None, "SINCE",
                                                      "1-Jan-2024")),
        ("SEARCH SENTSINCE 1-Jan-2024",
         lambda: im.search(None, "SENTSINCE", "1-Jan-2024")),
        ("SEARCH LARGER 8000", lambda: im.search(None, "LARGER", "8000")),
    ]
    answers = {}
    for label, fn in ops:
        typ, data = timed(label, fn, results)
        assert typ == "OK", (label, typ)
        answers[label] = data
    results.setdefault("RssAnon after FETCH (KiB)", []).append(rss_kib(pid))
    im.logout()
    return answers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(SRCDIR, "build", "bin"))
    ap.add_argument("--count", type=int, default=50000)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--no-index", action="store_true",
                    help="delete youju.index before every pass")
    ap.add_argument("--cold", action="store_true",
                    help="evict the message files from the page cache "
                    "before every pass")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    inst = harness.Instance(os.path.abspath(args.bin), SRCDIR,
                            keep=args.keep)
    try:
        inst.start()
        md = inst.path("mailbox", "extmail.org", "postmaster", "Maildir")
        # the first login creates the Maildir with the right owner
        im = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=60)
        im.login(USER, PASSWORD)
        im.logout()
        owner = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("vmail")
                owner = (pw.pw_uid, pw.pw_gid)
            except KeyError:
                pass
        folder = os.path.join(md, "." + FOLDER)
        t0 = time.monotonic()
        fill(folder, args.count, owner)
        print(f"bench/imapindex: {args.count} messages written in "
              f"{time.monotonic() - t0:.1f}s", flush=True)
        pid = inst.daemon_pid("youju-mra")
        results = {}
        first = None
        for p in range(args.passes):
            if args.no_index or p == 0:
                try:
                    os.unlink(os.path.join(folder, "youju.index"))
                except FileNotFoundError:
                    pass
            if args.cold:
                evict(folder)
            ans = one_pass(inst, results, pid)
            if first is None:
                first = ans
            elif ans != first:
                print("bench/imapindex: ANSWERS DIFFER between passes")
        idx = os.path.join(folder, "youju.index")
        if os.path.exists(idx):
            print(f"bench/imapindex: youju.index {os.path.getsize(idx)} "
                  "bytes", flush=True)
        print(f"{'operation':42} " + " ".join(
            f"{'pass ' + str(i + 1):>10}" for i in range(args.passes)))
        for label, v in results.items():
            if "Rss" in label:
                cells = " ".join(f"{x:>10}" for x in v)
            else:
                cells = " ".join(f"{x:>9.2f}s" for x in v)
            print(f"{label:42} {cells}")
    finally:
        inst.teardown()


if __name__ == "__main__":
    main()
