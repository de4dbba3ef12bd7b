"""youju-authd's coalesced user lookups (authd/db.c, lib/gather) with the
cache off: concurrent AUTHs share one SQL statement and one MD5-crypt
evaluation in vector lanes, and every client must still get its own
answer.  Each account has its own password, so a row or a hash handed to
the wrong waiter shows up as a refused right password or an accepted
wrong one; disabled accounts, a disabled service and missing users are
mixed in.  Then MariaDB is stopped while AUTHs are in flight: every
answer is the account's own success or a temporary failure (no reply),
never a refusal.  With two workers and many more clients, AUTHs waiting
for a lookup hold no worker (they are parked in the batch and finished by
the thread that ran it): batches grow past the number of workers, and
each parked AUTH still gets its own answer, exactly once; a reload or a
stop while AUTHs are parked loses or mixes up none of them.
"""
import concurrent.futures
import os
import re
import secrets
import selectors
import signal
import socket
import subprocess
import time

import harness

DOMAIN = "extmail.org"
N_USERS = 24


def rq(inst, data, timeout=30):
    return harness.unix_request(inst.authd_socket, data, timeout=timeout)


def auth(inst, user, password, ip, service="imap", timeout=30):
    body = f"{service}\nlogin\n{user}\n{password}\n".encode()
    return rq(inst, f"TCPREMOTEIP={ip}\n".encode()
              + b"AUTH %d\n" % len(body) + body, timeout=timeout)


def auth_all(inst, reqs, timeout=30, after_send=None):
    """AUTHs (user, password, ip) all sent at once, each on a connection
    of its own, before any answer is read; their answers, in order (b""
    for a connection closed without one).  after_send() runs between the
    last send and the first read."""
    socks = []
    try:
        for user, password, ip in reqs:
            body = f"imap\nlogin\n{user}\n{password}\n".encode()
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            socks.append(s)
            s.connect(inst.authd_socket)
            s.sendall(f"TCPREMOTEIP={ip}\n".encode()
                      + b"AUTH %d\n" % len(body) + body)
        if after_send is not None:
            after_send()
        outs = [b""] * len(reqs)
        sel = selectors.DefaultSelector()
        for i, s in enumerate(socks):
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, i)
        left = len(socks)
        deadline = time.time() + timeout
        while left > 0:
            wait = deadline - time.time()
            assert wait > 0, f"{left} AUTHs never answered"
            for key, _ in sel.select(wait):
                try:
                    data = key.fileobj.recv(65536)
                except ConnectionResetError:
                    # closed with our request unread: no reply, as a
                    # temporary failure
                    data = b""
                if data:
                    outs[key.data] += data
                else:
                    sel.unregister(key.fileobj)
                    left -= 1
        sel.close()
        return outs
    finally:
        for s in socks:
            s.close()


def md5crypt(passwords):
    r = subprocess.run(["openssl", "passwd", "-1", "-stdin"],
                       input="".join(p + "\n" for p in passwords),
                       capture_output=True, text=True, check=True)
    hashes = r.stdout.split()
    assert len(hashes) == len(passwords)
    assert all(h.startswith("$1$") for h in hashes)
    return hashes


def set_conf(inst, **kw):
    """Sets youju.cf parameters and reloads youju-authd; returns the log
    offset before the reload (its statistics lines follow it)."""
    with open(inst.conf_path) as f:
        text = f.read()
    for k, v in kw.items():
        line = f"{k} = {v}"
        if re.search(rf"(?m)^{k} = ", text):
            text = re.sub(rf"(?m)^{k} = .*$", line, text)
        else:
            text += ("" if text.endswith("\n") else "\n") + line + "\n"
    with open(inst.conf_path, "w") as f:
        f.write(text)
    since = inst.log_size()
    inst.reload("youju-authd")
    inst.wait_log(r"authd: configuration reloaded", since=since)
    return since


def make_users(inst, tag):
    """N_USERS accounts with distinct passwords: every 6th disabled, every
    6th (offset 3) with IMAP disabled."""
    users = [(f"ab{tag}{i:02d}@{DOMAIN}", f"pw-{i}-{secrets.token_hex(6)}")
             for i in range(N_USERS)]
    hashes = md5crypt([p for _, p in users])
    rows = []
    for i, ((u, _), h) in enumerate(zip(users, hashes)):
        local = u.split("@")[0]
        active = "0" if i % 6 == 0 else "1"
        noimap = "1" if i % 6 == 3 else "0"
        rows.append(f"('{u}', '{local}', '{h}', '{DOMAIN}/{local}/Maildir/', "
                    f"'{DOMAIN}/{local}', '5242880', '{DOMAIN}', 1000, 1000, "
                    f"{active}, {noimap}, '{local}')")
    inst.sql("INSERT INTO mailbox (username, uid, password, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active, "
             "disableimap, name) VALUES " + ", ".join(rows))
    return users


def drop_users(inst, tag):
    inst.sql(f"DELETE FROM mailbox WHERE username LIKE 'ab{tag}%'")


def user_stats(inst, since):
    """(lookups, queries) from the 'user lookups' lines after since."""
    text = inst.maillog()[since:]
    n = q = 0
    for m in re.finditer(r"authd: user lookups: (\d+) in (\d+) queries",
                         text):
        n += int(m.group(1))
        q += int(m.group(2))
    return n, q


def held_stats(inst, since):
    """Queries held open for more logins ('N held for more') after since."""
    text = inst.maillog()[since:]
    return sum(int(m.group(1)) for m in re.finditer(
        r"authd: user lookups: \d+ in \d+ queries \([\d.]+ per query\), "
        r"(\d+) held for more", text))


def expect_ok(inst, out, user, password):
    local = user.split("@")[0]
    home = os.path.join(inst.home, "mailbox", DOMAIN, local)
    return (out.endswith(b"\n.\n")
            and f"\nADDRESS={user}\n".encode() in out
            and f"\nHOME={home}\n".encode() in out
            and f"\nPASSWD2={password}\n".encode() in out)


def wrong_answers(inst, outs):
    """The answers of outs [(reply, (user, password, "ok" or "fail"))]
    that are not the one expected."""
    bad = []
    for out, (u, p, want) in outs:
        if want == "ok" and not expect_ok(inst, out, u, p):
            bad.append((u, want, out[:200]))
        if want == "fail" and out != b"FAIL\n":
            bad.append((u, want, out[:200]))
    return bad


def test_concurrent_auths_get_their_own_answers(inst):
    users = make_users(inst, "b")
    set_conf(inst, authd_cache_ttl="0", authd_negative_cache_ttl="0")
    since = None
    try:
        # (user, password, expected): "ok" or "fail"
        reqs = []
        for i, (u, p) in enumerate(users):
            usable = i % 6 not in (0, 3)
            reqs.append((u, p, "ok" if usable else "fail"))
            # the next account's password: right for a neighbour in the
            # same batch, wrong here
            reqs.append((u, users[(i + 1) % N_USERS][1], "fail"))
        for i in range(4):
            reqs.append((f"abmissing{i}@{DOMAIN}", f"pw-missing-{i}", "fail"))
        # right passwords more often than wrong ones (each wrong one adds a
        # failure delay); three rounds, shuffled the same way each time
        work = [r for r in reqs if r[2] == "ok"] * 3 + reqs
        order = sorted(range(len(work)), key=lambda k: (k * 7919) % 97)
        work = [work[k] for k in order]

        def one(k):
            u, p, want = work[k]
            # a client address of its own: no per-client throttling
            ip = f"198.18.{k // 250}.{k % 250 + 1}"
            return auth(inst, u, p, ip), (u, p, want)

        with concurrent.futures.ThreadPoolExecutor(32) as ex:
            outs = list(ex.map(one, range(len(work))))
        # the counters of the configuration these ran under are logged
        # when the reload below retires it
        since = inst.log_size()
        bad = wrong_answers(inst, outs)
        assert not bad, bad
    finally:
        set_conf(inst, authd_cache_ttl="5s", authd_negative_cache_ttl="2s")
        drop_users(inst, "b")
    # the lookups were coalesced: fewer queries than lookups
    inst.wait_log(r"authd: user lookups: ", since=since)
    n, q = user_stats(inst, since)
    assert n >= len(work) - 4 and q < n, (n, q)
    assert re.search(r"authd: md5crypt stage: \d+ checks",
                     inst.maillog()[since:])


def test_parked_auths_small_pool(inst):
    """authd_workers = 2, 48 clients at once, the cache off: an AUTH
    parked in a batch must be finished with its own row and hash (distinct
    passwords; each account also with its neighbour's password), every
    one of them (a lost one times out), and the batches must hold more
    AUTHs than there are workers (they would not if a waiting AUTH still
    held its worker)."""
    users = make_users(inst, "p")
    set_conf(inst, authd_cache_ttl="0", authd_negative_cache_ttl="0",
             authd_workers="2")
    since = None
    try:
        reqs = []
        for i, (u, p) in enumerate(users):
            usable = i % 6 not in (0, 3)
            reqs += [(u, p, "ok" if usable else "fail")] * 4
            reqs.append((u, users[(i + 5) % N_USERS][1], "fail"))
        for i in range(3):
            reqs.append((f"abpmissing{i}@{DOMAIN}", f"pw-pm-{i}", "fail"))
        order = sorted(range(len(reqs)), key=lambda k: (k * 7919) % 131)
        work = [reqs[k] for k in order]
        # every request in flight at once (Python threads could not keep
        # this many outstanding): connect all, send all, then read
        outs = auth_all(inst, [
            (u, p, f"198.18.{100 + k // 250}.{k % 250 + 1}")
            for k, (u, p, _) in enumerate(work)])
        outs = list(zip(outs, work))
        since = inst.log_size()
        bad = wrong_answers(inst, outs)
        assert not bad, (len(bad), len(work), bad[:5])
    finally:
        set_conf(inst, authd_cache_ttl="5s", authd_negative_cache_ttl="2s",
                 authd_workers="8")
        drop_users(inst, "p")
    # the retired process logs its counters when it exits
    inst.wait_log(r"authd: user lookups: ", since=since, timeout=30)
    n, q = user_stats(inst, since)
    assert n >= len(work) - 3 and q > 0, (n, q)
    assert n / q > 2.5, (n, q)
    # the checks went to the hash stage (authd/lanes.c), which fills its
    # lanes: more than half of eight per evaluation
    c, e = hash_stats(inst, since)
    assert e > 0 and c / e > 4, (c, e)
    # each successful AUTH was answered and closed by the thread that
    # finished it (server.c, reply_early), not after a hop to the loop
    oks = sum(1 for _, (_, _, want) in outs if want == "ok")
    early = sum(int(m.group(1)) for m in re.finditer(
        r"authd: (\d+) replies sent by the threads that finished their "
        r"AUTH", inst.maillog()[since:]))
    assert early >= oks, (early, oks)
    # and their ends reached the loop without an eventfd wake-up of their
    # own (lib/workq's lazy completions: taken at the loop's next accept
    # or by its tick, since every answer above arrived)
    lazy = sum(int(m.group(1)) for m in re.finditer(
        r"authd: (\d+) AUTHs ended without waking the loop",
        inst.maillog()[since:]))
    assert lazy > 0, (lazy, oks)


def hash_stats(inst, since):
    """(checks, evaluations) from the 'hash stage' lines after since."""
    c = e = 0
    for m in re.finditer(r"authd: hash stage: (\d+) checks in (\d+) "
                         r"evaluations", inst.maillog()[since:]):
        c += int(m.group(1))
        e += int(m.group(2))
    return c, e


def test_lone_auths_skip_the_hash_stage(inst):
    """An AUTH with no other lookup on its way is checked at once by its
    own thread (crypt_r), never held in the hash stage for company: one
    after the other, none reaches the stage; and its user query is never
    held open for more logins (authd/db.c)."""
    users = make_users(inst, "l")
    since = set_conf(inst, authd_cache_ttl="0", authd_negative_cache_ttl="0")
    try:
        usable = [up for i, up in enumerate(users) if i % 6 not in (0, 3)]
        for u, p in usable[:5]:
            expect = auth(inst, u, p, "198.18.7.1")
            assert expect_ok(inst, expect, u, p), expect[:200]
    finally:
        since = set_conf(inst, authd_cache_ttl="5s",
                         authd_negative_cache_ttl="2s")
        drop_users(inst, "l")
    inst.wait_log(r"authd: user lookups: ", since=since, timeout=30)
    assert hash_stats(inst, since) == (0, 0)
    assert re.search(r"authd: user lookups: .* 0 held for more",
                     inst.maillog()[since:])
    assert held_stats(inst, since) == 0


def server_pid(inst, timeout=10):
    """youju-authd's serving process: the master's only child, once the
    one a reload retired has exited.  (Picking the newest child by the
    mtime of /proc/PID, in whole seconds, could name the retiring one when
    both started within a second: a reload right after set_conf() then
    met a process that took no AUTH.)"""
    master = inst.daemon_pid("youju-authd")
    deadline = time.time() + timeout
    while True:
        with open(f"/proc/{master}/task/{master}/children") as f:
            kids = [int(p) for p in f.read().split()]
        if len(kids) == 1:
            return kids[0]
        assert time.time() < deadline, f"youju-authd's children: {kids}"
        time.sleep(0.05)


def parked_work(users, rounds=3):
    """(user, password, expected) for the usable accounts, each with its
    own password, and with the next one's."""
    work = []
    for i, (u, p) in enumerate(users):
        if i % 6 in (0, 3):
            continue
        work += [(u, p, "ok")] * rounds
        work.append((u, users[(i + 1) % N_USERS][1], "fail"))
    order = sorted(range(len(work)), key=lambda k: (k * 7919) % 113)
    return [work[k] for k in order]


def test_reload_with_parked_auths(inst):
    """A reload while AUTHs are parked in batches (two workers, all sent
    at once): the retiring process answers each AUTH it took with its own
    reply (one it had not read yet is closed unanswered: clients retry),
    and exits, so none was left parked (its counters are logged)."""
    users = make_users(inst, "r")
    set_conf(inst, authd_cache_ttl="0", authd_negative_cache_ttl="0",
             authd_workers="2")
    try:
        work = parked_work(users)
        since = inst.log_size()
        old = server_pid(inst)
        outs = auth_all(inst, [(u, p, f"198.18.{150 + k // 250}.{k % 250 + 1}")
                               for k, (u, p, _) in enumerate(work)],
                        after_send=lambda: inst.reload("youju-authd"))
        bad = [(u, want, out[:200]) for out, (u, p, want) in zip(outs, work)
               if out != b"" and (
                   (want == "ok" and not expect_ok(inst, out, u, p))
                   or (want == "fail" and out != b"FAIL\n"))]
        assert not bad, (len(bad), len(work), bad[:5])
        answered = sum(1 for out in outs if out != b"")
        assert answered > len(work) // 2, (answered, len(work))
        inst.wait_log(rf"authd\[{old}\]: authd: stopped", since=since,
                      timeout=30)
        assert re.search(rf"authd\[{old}\]: authd: user lookups: ",
                         inst.maillog()[since:])
    finally:
        set_conf(inst, authd_cache_ttl="5s", authd_negative_cache_ttl="2s",
                 authd_workers="8")
        drop_users(inst, "r")


def test_stop_with_parked_auths(inst):
    """SIGTERM to the serving process while AUTHs are parked behind a
    batch whose query waits on a table lock: it exits once that query
    returns (it must neither wait forever for the parked AUTHs nor free
    one twice), each client gets its own answer or a temporary failure
    (no reply), and the master starts a new process that answers."""
    users = make_users(inst, "t")
    set_conf(inst, authd_cache_ttl="0", authd_negative_cache_ttl="0",
             authd_workers="2")
    user = "root" if os.geteuid() == 0 else os.environ.get("USER", "")
    locker = None
    try:
        work = parked_work(users)
        since = inst.log_size()
        old = server_pid(inst)
        # the first batch's statement waits on the lock; the AUTHs
        # after it are parked behind it
        locker = subprocess.Popen(
            ["mariadb", "--no-defaults", f"--socket={inst.mysql_socket}",
             f"-u{user}", "extmail", "-e",
             "LOCK TABLES mailbox WRITE; SELECT SLEEP(3); UNLOCK TABLES;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not inst.sql("SELECT 1 FROM information_schema.PROCESSLIST "
                           "WHERE INFO LIKE 'SELECT SLEEP%'"):
            assert time.time() < deadline, "the table lock never came"
            time.sleep(0.05)

        def stop():
            time.sleep(0.5)  # the loop reads and parks meanwhile
            os.kill(old, signal.SIGTERM)

        outs = auth_all(inst, [(u, p, f"198.18.{160 + k // 250}.{k % 250 + 1}")
                               for k, (u, p, _) in enumerate(work)],
                        after_send=stop)
        for out, (u, p, want) in zip(outs, work):
            if out == b"":
                continue
            if want == "ok":
                assert expect_ok(inst, out, u, p), (u, out[:200])
            else:
                assert out == b"FAIL\n", (u, out[:200])
        inst.wait_log(rf"authd\[{old}\]: authd: stopped", since=since,
                      timeout=30)
        deadline = time.time() + 30
        u, p, _ = next(w for w in work if w[2] == "ok")
        while True:
            out = auth(inst, u, p, "198.18.170.1")
            if out != b"" or time.time() > deadline:
                break
            time.sleep(0.3)
        assert expect_ok(inst, out, u, p), out[:200]
    finally:
        if locker is not None:
            locker.wait(timeout=30)
        set_conf(inst, authd_cache_ttl="5s", authd_negative_cache_ttl="2s",
                 authd_workers="8")
        drop_users(inst, "t")


def test_batch_off_gives_the_same_answers(inst):
    """authd_user_batch = no: one query per AUTH, the same answers."""
    users = make_users(inst, "n")
    set_conf(inst, authd_cache_ttl="0", authd_user_batch="no")
    try:
        def one(k):
            u, p = users[k % N_USERS]
            if k >= N_USERS:
                p = users[(k + 1) % N_USERS][1]
            return auth(inst, u, p, f"198.19.0.{k + 1}"), k

        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            outs = list(ex.map(one, range(2 * N_USERS)))
        for out, k in outs:
            u, p = users[k % N_USERS]
            usable = (k % N_USERS) % 6 not in (0, 3)
            if k < N_USERS and usable:
                assert expect_ok(inst, out, u, p), (u, out[:200])
            else:
                assert out == b"FAIL\n", (u, out[:200])
    finally:
        set_conf(inst, authd_cache_ttl="5s", authd_user_batch="yes")
        drop_users(inst, "n")


def test_database_stopped_mid_batch(inst):
    """AUTHs in flight when MariaDB stops: each gets its own success or a
    temporary failure (the connection closes without a reply), never a
    refusal or another account's reply; afterwards authd recovers."""
    users = [u for i, u in enumerate(make_users(inst, "s"))
             if i % 6 not in (0, 3)]
    set_conf(inst, authd_cache_ttl="0")
    stopped = False
    try:
        results = []

        def one(k):
            u, p = users[k % len(users)]
            return auth(inst, u, p, f"198.18.200.{k % 250 + 1}"), (u, p)

        with concurrent.futures.ThreadPoolExecutor(24) as ex:
            first = [ex.submit(one, k) for k in range(400)]
            time.sleep(0.2)
            inst.stop_db()
            stopped = True
            rest = [ex.submit(one, k) for k in range(400, 480)]
            for f in first + rest:
                results.append(f.result())
        ok = temp = 0
        for out, (u, p) in results:
            if out == b"":
                temp += 1
            else:
                assert expect_ok(inst, out, u, p), (u, out[:200])
                ok += 1
        # some went through before the stop, the last ones could not
        assert temp > 0 and ok > 0, (ok, temp)
    finally:
        if stopped:
            inst.start_db()
    try:
        deadline = time.time() + 30
        u, p = users[0]
        while True:
            out = auth(inst, u, p, "198.18.201.1")
            if out != b"" or time.time() > deadline:
                break
            time.sleep(0.5)
        assert expect_ok(inst, out, u, p), out[:200]
    finally:
        set_conf(inst, authd_cache_ttl="5s")
        drop_users(inst, "s")
