"""The order of youju-mta's flushes (docs/queue.md, "Durability"), read
from the system calls themselves: strace attached to youju-mta and its
queue manager while several SMTP sessions send at once.  For every
message:
- receive: a syncfs began after the rename into active/ (so after every
  write of the file) and ended before the "250 ... queued as <ID>" was
  sent;
- delivery: a syncfs began after the last write of the Maildir file
  (into tmp/) and ended before its link into new/ (Maildir's rule: a
  name in new/ only for bytes on disk), and another began after that
  link and ended before the queue file left active/ (renamed into
  recycle/ or unlinked).
A reordering (a 250 before its flush, a file named in new/ before its
bytes were flushed, a queue file retired before the delivery is on
disk) fails here.  Real client: smtplib, one session per
thread.

And what a crash before that flush may leave, made by hand: a name in
active/ whose bytes are torn.  Its checksum (K and C records) fails, the
queue manager moves it to corrupt/ and delivers nothing; the same file
intact is delivered."""
import os
import pwd
import re
import shutil
import signal
import smtplib
import subprocess
import threading
import time
import uuid

import proctree
from test_mta import crc32c

HOST = "127.0.0.1"
SESSIONS = 6
PER_SESSION = 4
DOMAIN = "extmail.org"


def rcpt(i):
    return f"qsync{i}@{DOMAIN}"


def add_mailboxes(inst):
    for i in range(SESSIONS * PER_SESSION):
        a = rcpt(i)
        if inst.sql(f"SELECT username FROM mailbox WHERE username = '{a}'"):
            continue
        local = a.split("@")[0]
        inst.sql("INSERT INTO mailbox (username, uid, password, name, "
                 "maildir, homedir, quota, domain, uidnumber, gidnumber, "
                 f"active) VALUES ('{a}', '{local}', '', '{local}', "
                 f"'{DOMAIN}/{local}/Maildir/', '{DOMAIN}/{local}', '0', "
                 f"'{DOMAIN}', 1000, 1000, 1)")


# one strace -f -ttt -T line: pid, start time, call, args, result, duration
LINE = re.compile(r"^(\d+)\s+(\d+\.\d+) (\w+)\((.*)\)\s+=\s+(-?\d+)"
                  r".*<(\d+\.\d+)>$")


# a directory descriptor and a name relative to it, as strace -y shows
# the *at() calls' arguments: 5</spool/active>, "6B0..."
AT_ARG = re.compile(r'\d+<([^>]*)>, "([^"]*)"')


def resolve_at(name, args):
    """The arguments of linkat, renameat2 and unlinkat with each directory
    descriptor and relative name joined into one path, as link, rename
    and unlink would show it (the delivery works relative to a Maildir
    and a queue directory it holds open)."""
    if name not in ("linkat", "renameat", "renameat2", "unlinkat"):
        return args
    return AT_ARG.sub(lambda m: '"' + os.path.normpath(
        os.path.join(m.group(1), m.group(2))) + '"', args)


def parse(path):
    """Completed calls as (start, end, name, args, result, tid); the
    unfinished/resumed halves of one call are joined."""
    calls, pending = [], {}
    with open(path, errors="replace") as f:
        for raw in f:
            raw = raw.rstrip("\n")
            m = re.match(r"^(\d+)\s+(\d+\.\d+) (.*) <unfinished \.\.\.>$",
                         raw)
            if m:
                pending[m.group(1)] = (m.group(2), m.group(3))
                continue
            m = re.match(r"^(\d+)\s+(\d+\.\d+) <\.\.\. (\w+) resumed>(.*)$",
                         raw)
            if m and m.group(1) in pending:
                start, head = pending.pop(m.group(1))
                raw = f"{m.group(1)} {start} {head}{m.group(4)}"
            m = LINE.match(raw)
            if m:
                start = float(m.group(2))
                calls.append((start, start + float(m.group(6)),
                              m.group(3),
                              resolve_at(m.group(3), m.group(4)),
                              int(m.group(5)), int(m.group(1))))
    return calls


def session(inst, first, acked, lock):
    with smtplib.SMTP(HOST, inst.ports["smtp"], timeout=60) as s:
        s.ehlo("client.example.net")
        for k in range(PER_SESSION):
            to = rcpt(first + k)
            code, text = s.sendmail(
                "a@example.net", [to],
                f"From: <a@example.net>\r\nTo: <{to}>\r\n"
                f"Subject: sync order\r\n\r\n{'y' * 3000}\r\n"), None
            with lock:
                acked.append(to)


def test_flush_order_receive_and_delivery(inst):
    assert shutil.which("strace"), "strace missing (scripts/deps.sh)"
    add_mailboxes(inst)
    since = inst.log_size()
    out = inst.path("tmp-strace-sync.txt")
    # -y: a descriptor's path in its calls (which file a write went to)
    cmd = ["strace", "-f", "-ttt", "-T", "-y", "-s", "120", "-o", out,
           "-e",
           "trace=syncfs,fsync,fdatasync,rename,renameat2,link,linkat,"
           "unlink,unlinkat,write,writev,sendto,sendmsg,pwrite64"]
    for p in proctree.descendants(inst.daemon_pid("youju-mta")):
        cmd += ["-p", str(p)]
    st = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)  # attached to every thread
        acked, lock = [], threading.Lock()
        threads = [threading.Thread(target=session,
                                    args=(inst, i * PER_SESSION, acked,
                                          lock))
                   for i in range(SESSIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(acked) == SESSIONS * PER_SESSION
        ids = {}
        deadline = time.time() + 60
        while time.time() < deadline:
            log = inst.maillog()[since:]
            for m in re.finditer(r"([0-9A-F]{16}): to=<(qsync\d+@[^>]+)>"
                                 r".*status=sent", log):
                ids[m.group(2)] = m.group(1)
            done = set(re.findall(r"([0-9A-F]{16}): removed", log))
            if len(ids) == len(acked) and set(ids.values()) <= done:
                break
            time.sleep(0.2)
        assert len(ids) == len(acked), "not every message was delivered"
        time.sleep(0.5)
    finally:
        st.send_signal(signal.SIGINT)
        st.wait(30)
    calls = parse(out)
    os.unlink(out)
    syncs = [(c[0], c[1]) for c in calls if c[2] == "syncfs" and c[4] == 0]
    assert syncs, "no syncfs at all"

    def flushed_between(after, before):
        return any(s > after and e < before for s, e in syncs)

    def one(pred, what):
        found = [c for c in calls if pred(c)]
        assert found, what
        return found[-1]

    for addr, qid in ids.items():
        local = addr.split("@")[0]
        ren = one(lambda c: c[2] in ("rename", "renameat2") and
                  f"incoming/{qid}" in c[3] and f"active/{qid}" in c[3]
                  and c[4] == 0, f"{qid}: no rename into active/")
        reply = one(lambda c: c[2] in ("write", "sendto", "writev",
                                       "sendmsg") and
                    f"queued as {qid}" in c[3],
                    f"{qid}: no 250 reply seen")
        assert flushed_between(ren[1], reply[0]), \
            f"{qid}: 250 sent without a flush after its rename"
        link = one(lambda c: c[2] in ("link", "linkat") and
                   f"/{local}/Maildir/new/" in c[3] and c[4] == 0,
                   f"{qid}: no link into {local}'s new/")
        m = re.match(r'"([^"]*/Maildir/tmp/[^"]+)"', link[3])
        assert m, f"{qid}: link not from tmp/: {link[3]}"
        tmp = m.group(1)
        # the descriptor as strace -y shows it: 7</path/of/the/file>
        fd_of = "/" + "/".join(tmp.split("/")[-4:]) + ">,"
        writes = [c for c in calls
                  if c[2] in ("write", "writev", "pwrite64") and
                  re.match(r"\d+<", c[3]) and
                  fd_of in c[3].split(" ", 1)[0]]
        assert writes, f"{qid}: no write into {tmp} seen"
        assert flushed_between(max(c[1] for c in writes), link[0]), \
            f"{qid}: linked into new/ before a flush of its bytes"
        gone = one(lambda c: (c[2] in ("rename", "renameat2") and
                              f"active/{qid}" in c[3] and
                              f"recycle/{qid}" in c[3]) or
                   (c[2] in ("unlink", "unlinkat") and
                    f"active/{qid}" in c[3]),
                   f"{qid}: queue file never left active/")
        assert flushed_between(link[1], gone[0]), \
            f"{qid}: queue file retired before the delivery was flushed"


def queue_file(qid, to, body):
    """A queue file as youju-mta writes it (docs/queue.md), with its
    checksum."""
    head = (b"YOUJU-QUEUE 1\nI " + qid.encode() + b"\nK crc32c\nT 1.0\n"
            b"S a@example.net\nR " + to.encode() + b"\nM ")
    tail = b"\n" + body + b"\nE\n"
    crc = crc32c(head + b"0" * 20 + tail)
    return head + b"%020d" % len(body) + tail + b"C %08x\n" % crc


def put_active(inst, qid, data):
    """Written in incoming/, then renamed into active/ (the queue manager
    sees it at once), owned by the mail user as youju-mta's files."""
    tmp = inst.path("spool", "incoming", qid)
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    pw = pwd.getpwnam("vmail")
    os.chown(tmp, pw.pw_uid, pw.pw_gid)
    os.rename(tmp, inst.path("spool", "active", qid))


def in_maildir(inst, addr, token):
    local = addr.split("@")[0]
    d = inst.path("mailbox", DOMAIN, local, "Maildir", "new")
    n = 0
    for name in os.listdir(d) if os.path.isdir(d) else []:
        with open(os.path.join(d, name), "rb") as f:
            n += token.encode() in f.read()
    return n


def test_torn_queue_file_goes_to_corrupt(inst):
    add_mailboxes(inst)
    to = rcpt(0)
    since = inst.log_size()
    good, torn = "0000000200000AB1", "0000000200000AB2"
    tg, tt = uuid.uuid4().hex, uuid.uuid4().hex
    put_active(inst, good, queue_file(good, to,
                                      f"Subject: {tg}\n\nintact\n".encode()))
    data = bytearray(queue_file(torn, to,
                                f"Subject: {tt}\n\n{'z' * 600}\n".encode()))
    # a block of the message that never reached the disk: zeros
    at = data.index(b"zzzz")
    data[at:at + 512] = bytes(512)
    put_active(inst, torn, bytes(data))
    inst.wait_log(rf"{torn}: corrupt queue file: checksum mismatch",
                  since=since)
    inst.wait_log(rf"{good}: removed", since=since)
    assert os.path.exists(inst.path("spool", "corrupt", torn))
    assert not os.path.exists(inst.path("spool", "active", torn))
    assert in_maildir(inst, to, tg) == 1
    assert in_maildir(inst, to, tt) == 0
    os.unlink(inst.path("spool", "corrupt", torn))
