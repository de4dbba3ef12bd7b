"""youju-mta's group commit (docs/queue.md, Durability): many SMTP sessions
commit at once and share the fsync of active/; a 250 still means the
message is durable.  kill -9 of youju-mta in the middle of such a stream,
then a restart: every message that got its 250 is delivered (at least
once).  Real client: smtplib, one persistent session per thread."""
import glob
import os
import re
import signal
import smtplib
import threading
import time
import uuid

import harness

HOST = "127.0.0.1"
RCPT = "groupcommit@extmail.org"
SESSIONS = 12


def add_mailbox(inst):
    if inst.sql(f"SELECT username FROM mailbox WHERE username = '{RCPT}'"):
        return
    local, dom = RCPT.split("@")
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{RCPT}', '{local}', '', '{local}', '{dom}/{local}/Maildir/',"
             f" '{dom}/{local}', '0', '{dom}', 1000, 1000, 1)")


def tokens_in_maildir(inst):
    local, dom = RCPT.split("@")
    found = {}
    for p in glob.glob(inst.path("mailbox", dom, local, "Maildir", "new",
                                 "*")):
        try:
            with open(p, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        for t in re.findall(rb"gc-([0-9a-f]{32})", data):
            found[t.decode()] = found.get(t.decode(), 0) + 1
    return found


def session(inst, acked, lock, stop):
    """Sends one message per transaction over one connection until stopped
    or the server goes away; records the token of every 250."""
    try:
        with smtplib.SMTP(HOST, inst.ports["smtp"], timeout=20) as s:
            s.ehlo("client.example.net")
            while not stop.is_set():
                token = uuid.uuid4().hex
                msg = (f"From: <a@example.net>\r\nTo: <{RCPT}>\r\n"
                       f"Subject: gc-{token}\r\n\r\n"
                       + "x" * 2000 + "\r\n").encode()
                code, _ = s.mail("a@example.net")
                if code != 250:
                    return
                code, _ = s.rcpt(RCPT)
                if code != 250:
                    return
                code, _ = s.data(msg)
                if code == 250:
                    with lock:
                        acked.append(token)
    except (OSError, smtplib.SMTPException):
        pass


def run_sessions(inst, seconds, kill=False):
    acked, lock, stop = [], threading.Lock(), threading.Event()
    threads = [threading.Thread(target=session,
                                args=(inst, acked, lock, stop))
               for _ in range(SESSIONS)]
    for t in threads:
        t.start()
    deadline = time.time() + seconds
    # under load the first commits may take a while: wait for some 250s
    while time.time() < deadline or len(acked) < SESSIONS:
        if time.time() > deadline + 30:
            break
        time.sleep(0.05)
    pid = inst.daemon_pid("youju-mta")
    if kill:
        assert pid > 0
        os.kill(pid, signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(60)
    return acked, pid


def wait_all(inst, tokens, timeout=60):
    """Waits until every token is delivered, or until nothing more has
    arrived for `timeout` seconds (a slow ASan build under load delivers
    a long stream slowly; a lost message never arrives)."""
    deadline = time.time() + timeout
    seen = -1
    while True:
        found = tokens_in_maildir(inst)
        missing = [t for t in tokens if t not in found]
        if len(found) != seen:
            seen = len(found)
            deadline = time.time() + timeout
        if not missing or time.time() > deadline:
            return found, missing
        time.sleep(0.2)


def test_parallel_sessions_all_delivered(inst):
    add_mailbox(inst)
    acked, _ = run_sessions(inst, 1.0)
    assert len(acked) >= SESSIONS, f"only {len(acked)} accepted"
    found, missing = wait_all(inst, acked)
    why = [ln for ln in inst.maillog().splitlines()
           if "status=deferred" in ln or "status=bounced" in ln][-5:]
    assert not missing, \
        f"{len(missing)} of {len(acked)} not delivered; {why}"
    assert all(found[t] == 1 for t in acked), "duplicates without a crash"


def test_kill9_during_group_commit_loses_nothing(inst):
    add_mailbox(inst)
    since = inst.log_size()
    acked, pid = run_sessions(inst, 1.5, kill=True)
    assert acked, "no message was accepted"
    harness.wait_gone(pid)
    r = inst.start()
    assert inst.daemon_pid("youju-mta") not in (0, pid), r.stdout
    inst.wait_log(r"queue manager started", since=since)
    found, missing = wait_all(inst, acked)
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged lost"
    dups = sum(1 for t in acked if found[t] > 1)
    print(f"group commit kill -9: {len(acked)} acknowledged over "
          f"{SESSIONS} sessions, {dups} duplicated")
