#!/usr/bin/env python3
"""IMAP conformance with Dovecot's imaptest (issue 10).

Builds imaptest if needed (../shared/tools/imaptest/build.sh beside the
checkout, into BUILD/imaptest, never into the tree), starts a throw-away
youju instance (tests/integration/harness.py), seeds two users and runs
every scripted test group of imaptest's tests/ folder against youju-mra, one
imaptest run per group so that each group's result is its own.  When
Dovecot is installed (dovecot-imapd; tests/integration/dovecot_peer.py) the
same groups run against a private Dovecot on the same machine and its
numbers are printed beside.  --stress adds imaptest's stress mode (10
clients, 60 s by default) against youju-mra, which must report no error.

Prints one line per group (pass / FAIL / skip for youju and Dovecot), the
failures' details, and closes with `N passed, N failed` (youju's groups;
skipped ones, whose extension youju does not offer, count in neither).
Exit status 0 only when nothing failed.

    imaptest.py --bin BUILD/san/bin --srcdir . [--build BUILD] [-k NAME]
                [--no-dovecot] [--stress] [--secs 60] [--clients 10]
                [--keep]

The group runner (run_groups) is also used by
tests/integration/test_imap_conformance.py against the integration
instance.
"""
import argparse
import os
import pwd
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402

PASSWORD = "imaptest-pw1"
USERS = ("imaptest1@extmail.org", "imaptest2@extmail.org")
# one group may not take longer than this (imaptest itself gives up on an
# unanswered command after 30 s)
GROUP_TIMEOUT = 120
SUMMARY = re.compile(r"(\d+) test groups: (\d+) failed, (\d+) skipped")


def tools_dir(srcdir):
    """The shared imaptest snapshot: $IMAPTEST_TOOLS, or shared/ beside
    the checkout (the layout CI uses), or beside the main checkout of a
    git worktree."""
    d = os.environ.get("IMAPTEST_TOOLS")
    if d:
        return d
    cands = [os.path.join(srcdir, "..", "shared")]
    try:
        common = subprocess.run(
            ["git", "-C", srcdir, "rev-parse", "--path-format=absolute",
             "--git-common-dir"], capture_output=True, text=True,
            timeout=10).stdout.strip()
        if common:
            cands.append(os.path.join(os.path.dirname(common), "..",
                                      "shared"))
    except (OSError, subprocess.SubprocessError):
        pass
    for c in cands:
        t = os.path.normpath(os.path.join(c, "tools", "imaptest"))
        if os.path.isdir(t):
            return t
    return os.path.normpath(os.path.join(cands[0], "tools", "imaptest"))


def build_imaptest(srcdir, builddir):
    """The imaptest binary, built into builddir/imaptest if missing."""
    out = os.path.join(os.path.abspath(builddir), "imaptest")
    binary = os.path.join(out, "imaptest", "src", "imaptest")
    if os.access(binary, os.X_OK):
        return binary
    script = os.path.join(tools_dir(srcdir), "build.sh")
    if not os.path.exists(script):
        raise RuntimeError(f"{script} missing: imaptest cannot be built "
                           "(set IMAPTEST_TOOLS)")
    print(f"imaptest: building into {out}", flush=True)
    r = subprocess.run(["sh", script, out], capture_output=True, text=True)
    if r.returncode != 0 or not os.access(binary, os.X_OK):
        raise RuntimeError(f"imaptest build failed:\n{r.stdout}{r.stderr}")
    return binary


def groups(testdir, pattern=""):
    """imaptest's scripted test groups: every file but the *.mbox ones
    (the broken/ folder holds the tests imaptest itself knows to be wrong;
    Dovecot fails them too)."""
    return sorted(n for n in os.listdir(testdir)
                  if not n.startswith(".") and not n.endswith(".mbox")
                  and os.path.isfile(os.path.join(testdir, n))
                  and pattern in n)


# Groups whose script lacks a set-up line, run from a corrected copy (for
# youju and Dovecot alike); the expected responses are untouched.
# urlauth2 FETCHes and signs messages 1:2 of a mailbox imaptest has just
# created empty: without "messages: 2" it appends none (its sibling
# urlauth has the line).
SETUP_FIXES = {"urlauth2": ("connections: 2\n",
                            "connections: 2\nmessages: 2\n")}


def group_path(testdir, name):
    """The script of a group: imaptest's own, or the corrected copy (in
    tests-fixed/ beside it, with the default mbox it reads)."""
    fix = SETUP_FIXES.get(name)
    if fix is None:
        return os.path.join(testdir, name)
    fixed = os.path.join(os.path.dirname(testdir), "tests-fixed")
    os.makedirs(fixed, exist_ok=True)
    with open(os.path.join(testdir, name)) as f:
        text = f.read()
    assert fix[0] in text, name
    with open(os.path.join(fixed, name), "w") as f:
        f.write(text.replace(fix[0], fix[1], 1))
    shutil.copyfile(os.path.join(testdir, "default.mbox"),
                    os.path.join(fixed, "default.mbox"))
    return os.path.join(fixed, name)


def run_group(imaptest, testdir, name, port, users, password):
    """Runs one group; returns ("pass" | "fail" | "skip", detail text)."""
    cmd = [imaptest, "host=127.0.0.1", f"port={port}",
           f"user={users[0]}", f"pass={password}",
           f"user2={users[1]}",
           f"test={group_path(testdir, name)}"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True,
                           errors="replace", timeout=GROUP_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        return "fail", f"timed out after {GROUP_TIMEOUT}s\n{e.stderr or ''}"
    m = SUMMARY.search(r.stdout)
    if m is None:
        return "fail", f"no summary (exit {r.returncode}):\n" \
            f"{r.stdout[-1500:]}{r.stderr[-3000:]}"
    if int(m.group(3)) > 0:
        return "skip", ""
    if int(m.group(2)) > 0 or r.returncode != 0:
        return "fail", r.stderr[-6000:] + r.stdout[-1000:]
    return "pass", ""


def second_user_mailbox(port, users, password):
    """urlauth2's second connection logs in as user2 and SELECTs the
    first user's test mailbox by name (imaptest assumes one shared
    mailbox; the first client alone deletes and creates it): give user2
    a mailbox of that name."""
    import imaplib
    m = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    try:
        m.login(users[1], password)
        m.create("imaptest")  # NO when it exists: fine
        m.logout()
    except imaplib.IMAP4.error:
        m.shutdown()


def run_groups(imaptest, port, users, password, pattern="", log=None):
    """Every group against the server on port: {name: (result, detail)}.
    log(name, result) is called after each group."""
    testdir = os.path.join(os.path.dirname(imaptest), "tests")
    second_user_mailbox(port, users, password)
    out = {}
    for name in groups(testdir, pattern):
        out[name] = run_group(imaptest, testdir, name, port, users,
                              password)
        if log:
            log(name, out[name][0])
    return out


def counts(results):
    v = [r for r, _ in results.values()]
    return v.count("pass"), v.count("fail"), v.count("skip")


def seed_user(inst, addr, password):
    local, domain = addr.split("@")
    inst.sql(f"DELETE FROM mailbox WHERE username='{addr}'")
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{addr}', '{local}', '{{PLAIN}}{password}', '{local}', "
             f"'{domain}/{local}/Maildir/', '{domain}/{local}', '0S', "
             f"'{domain}', 1000, 1000, 1)")


def start_dovecot(root, users, password):
    """A private Dovecot 2.3 with the two users, or None without one."""
    from dovecot_peer import DOVECOT, Dovecot
    if not os.access(DOVECOT, os.X_OK):
        return None
    pw = pwd.getpwnam("vmail")
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    entries = []
    for addr in users:
        home = os.path.join(root, "home", addr.split("@")[0])
        os.makedirs(home, exist_ok=True)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        entries.append((addr, password, pw.pw_uid, pw.pw_gid, home))
    dv = Dovecot(os.path.join(root, "dovecot"), entries)
    dv.start()
    return dv


def stress(imaptest, srcdir, workdir, port, user, password, clients, secs):
    """imaptest's stress mode; returns (error count, output tail)."""
    mbox = os.path.join(workdir, "stress.mbox")
    subprocess.run([sys.executable,
                    os.path.join(tools_dir(srcdir), "genmbox.py"), mbox,
                    "200"], check=True, timeout=60)
    cmd = [imaptest, "host=127.0.0.1", f"port={port}", f"user={user}",
           f"pass={password}", f"mbox={mbox}", f"clients={clients}",
           f"secs={secs}"]
    r = subprocess.run(cmd, capture_output=True, text=True,
                       errors="replace", timeout=secs + 120)
    text = r.stdout + r.stderr
    # imaptest reports protocol and state errors as "Error: ..." lines
    # (Dovecot's i_error), crashes as Panic/Fatal
    bad = [ln for ln in text.splitlines()
           if re.match(r"^(Error|Panic|Fatal)", ln)]
    if r.returncode != 0 and not bad:
        bad.append(f"imaptest exit status {r.returncode}")
    return bad, text[-3000:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("--build", default=None,
                    help="where imaptest is built (default SRCDIR/build)")
    ap.add_argument("-k", dest="pattern", default="")
    ap.add_argument("--no-dovecot", action="store_true")
    ap.add_argument("--stress", action="store_true")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--secs", type=int, default=60)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    srcdir = os.path.abspath(args.srcdir)
    imaptest = build_imaptest(srcdir, args.build
                              or os.path.join(srcdir, "build"))
    inst = harness.Instance(os.path.abspath(args.bin), srcdir,
                            keep=args.keep)
    print(f"imaptest: youju instance in {inst.home}", flush=True)
    dv = None
    failed_setup = False
    yres, dres = {}, {}
    stress_bad = None
    try:
        inst.start()
        for u in USERS:
            seed_user(inst, u, PASSWORD)
        if not args.no_dovecot:
            dv = start_dovecot(inst.path("dovecot-peer"), USERS, PASSWORD)
            if dv is None:
                print("imaptest: no Dovecot installed; youju only")

        t0 = time.time()
        yres = run_groups(imaptest, inst.ports["imap"], USERS, PASSWORD,
                          args.pattern)
        ytime = time.time() - t0
        if dv is not None:
            t0 = time.time()
            dres = run_groups(imaptest, dv.ports["imap"], USERS, PASSWORD,
                              args.pattern)
            dtime = time.time() - t0

        print(f"{'group':32} {'youju':6} {'dovecot' if dv else ''}")
        for name in sorted(yres):
            d = dres.get(name, ("", ""))[0]
            print(f"  {name:30} {yres[name][0]:6} {d}")
        for name in sorted(yres):
            if yres[name][0] == "fail":
                print(f"--- {name} (youju) ---\n{yres[name][1].strip()}")

        if args.stress:
            print(f"imaptest: stress, {args.clients} clients, "
                  f"{args.secs} s", flush=True)
            stress_bad, tail = stress(imaptest, srcdir, inst.home,
                                      inst.ports["imap"], USERS[0],
                                      PASSWORD, args.clients, args.secs)
            print(tail)
            print(f"stress: {len(stress_bad)} errors")
            for ln in stress_bad[:30]:
                print(f"  {ln}")
    except Exception as e:
        failed_setup = True
        print(f"imaptest: {e}")
        print(inst.maillog()[-3000:])
    finally:
        if dv is not None:
            dv.stop()
        inst.teardown()
        if not args.keep and dv is not None:
            shutil.rmtree(dv.root, ignore_errors=True)

    p, f, s = counts(yres)
    if dres:
        dp, df, ds = counts(dres)
        print(f"dovecot: {dp} pass, {df} fail, {ds} skip "
              f"({dtime:.0f}s)")
    if yres:
        print(f"youju: {p} pass, {f} fail, {s} skip ({ytime:.0f}s)")
    if stress_bad:
        f += 1
    if failed_setup:
        f += 1
    print(f"{p + (1 if stress_bad == [] else 0)} passed, {f} failed")
    return 1 if f else 0


if __name__ == "__main__":
    sys.exit(main())
