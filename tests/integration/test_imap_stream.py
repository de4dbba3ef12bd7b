"""IMAP FETCH produced as the client reads (issue 6 items 5 and 7): a
FETCH 1:* BODY.PEEK[] over a folder of more than 40 MB completes, every
literal is the file with CR LF line ends (NUL as 0x80) byte for byte, and
the youju-mra worker serving the session does not grow by anything near
the folder's size; a command pipelined behind a FETCH is answered after
it; partial and header sections are still right."""
import hashlib
import imaplib
import os
import pwd
import random
import re
import socket
import time

USER = "stream@extmail.org"
PASSWORD = "stream-pw1"
LOCAL, DOMAIN = USER.split("@")
COUNT = 44
SIZE = 1024 * 1024

_msgs = []


def _crlf(raw):
    return re.sub(rb"(?<!\r)\n", b"\r\n", raw).replace(b"\0", b"\x80")


def _message(rnd, i):
    """About SIZE bytes: LF and CR LF line ends, a NUL now and then, and
    in the first one a CR LF split across the 64 KiB read boundary."""
    head = (f"From: a{i}@example.com\nTo: {USER}\n"
            f"Subject: stream {i}\nMessage-ID: <s{i}@example.com>\n\n")
    raw = bytearray(head.encode())
    if i == 0:
        raw += b"a" * (65535 - len(raw)) + b"\r\n"
    while len(raw) < SIZE:
        n = rnd.choice((0, 1, 70, 76, 500, 1500))
        line = bytes(rnd.choice(b"abcdefghij .\0") for _ in range(40))
        line = (line * (n // 40 + 1))[:n]
        raw += line + (b"\r\n" if rnd.random() < 0.3 else b"\n")
    return bytes(raw)


def setup(inst):
    if _msgs:
        return _msgs
    inst.sql(f"DELETE FROM mailbox WHERE username='{USER}'")
    inst.sql("INSERT INTO mailbox (username, uid, password, name, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active) VALUES "
             f"('{USER}', '{LOCAL}', '{{PLAIN}}{PASSWORD}', 'Stream', "
             f"'{DOMAIN}/{LOCAL}/Maildir/', '{DOMAIN}/{LOCAL}', '0', "
             f"'{DOMAIN}', 1000, 1000, 1)")
    login(inst).logout()  # creates the Maildir
    md = inst.path("mailbox", DOMAIN, LOCAL, "Maildir")
    rnd = random.Random(11)
    now = int(time.time())
    for i in range(COUNT):
        raw = _message(rnd, i)
        # every other name carries W= (the CR LF size), the rest are
        # counted by the server
        name = f"{now - COUNT + i}.M{i}P1.stream,S={len(raw)}"
        if i % 2:
            name += f",W={len(_crlf(raw))}"
        tmp = os.path.join(md, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(raw)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("vmail")
            os.chown(tmp, pw.pw_uid, pw.pw_gid)
        os.rename(tmp, os.path.join(md, "cur", name + ":2,"))
        _msgs.append(_crlf(raw))
    return _msgs


def login(inst):
    m = imaplib.IMAP4("127.0.0.1", inst.ports["imap"], timeout=300)
    m.login(USER, PASSWORD)
    return m


def _status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(key)


def test_fetch_all_bodies_streams(inst):
    msgs = setup(inst)
    total = sum(len(x) for x in msgs)
    assert total > 40 * 1024 * 1024
    since = inst.log_size()
    m = login(inst)
    pid = int(inst.wait_log(rf"imap-login: Login: user=<{re.escape(USER)}>"
                            r".*?mpid=(\d+)", since=since).group(1))
    typ, data = m.select("INBOX", readonly=True)
    assert typ == "OK" and int(data[0]) == COUNT, data
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")  # the peak RSS restarts from now
    base = _status_kib(pid, "VmHWM")
    typ, data = m.fetch("1:*", "(RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK", data
    got = {}
    for item in data:
        if isinstance(item, tuple):
            head = item[0].decode()
            seq = int(head.split()[0])
            size = int(re.search(r"RFC822\.SIZE (\d+)", head).group(1))
            assert size == len(item[1]), (seq, size, len(item[1]))
            got[seq] = hashlib.sha256(item[1]).digest()
    assert len(got) == COUNT
    for i, want in enumerate(msgs):
        assert got[i + 1] == hashlib.sha256(want).digest(), i + 1
    peak = _status_kib(pid, "VmHWM")
    m.logout()
    # building the reply whole would take more than 40 MB; produced as
    # the client reads, it holds the output high-water mark and a chunk
    assert peak - base < 16 * 1024, (base, peak)


def test_fetch_partial_and_header(inst):
    msgs = setup(inst)
    m = login(inst)
    m.select("INBOX", readonly=True)
    typ, data = m.fetch("3", "(BODY.PEEK[]<0.100> BODY.PEEK[HEADER])")
    assert typ == "OK", data
    parts = {}
    for item in data:
        if isinstance(item, tuple):
            parts[item[0]] = item[1]
    want = msgs[2]
    vals = list(parts.values())
    assert want[:100] in vals, parts.keys()
    assert want[:want.index(b"\r\n\r\n") + 4] in vals, parts.keys()
    # the whole message after other items, by UID
    typ, data = m.uid("FETCH", "1:*", "(FLAGS RFC822)")
    assert typ == "OK"
    bodies = [item[1] for item in data if isinstance(item, tuple)]
    assert len(bodies) == COUNT
    assert hashlib.sha256(bodies[5]).digest() == \
        hashlib.sha256(msgs[5]).digest()
    m.logout()


def _read_until(sock, end, limit=400 * 1024 * 1024):
    buf = bytearray()
    while end not in buf:
        chunk = sock.recv(1 << 20)
        assert chunk, bytes(buf[-200:])
        buf += chunk
        assert len(buf) < limit
    return bytes(buf)


def test_noop_pipelined_behind_fetch(inst):
    msgs = setup(inst)
    s = socket.create_connection(("127.0.0.1", inst.ports["imap"]),
                                 timeout=300)
    try:
        _read_until(s, b"\r\n")
        s.sendall(f"l LOGIN {USER} {PASSWORD}\r\n".encode())
        _read_until(s, b"l OK")
        s.sendall(b"s SELECT INBOX\r\n")
        _read_until(s, b"s OK")
        # several MB of reply: produced over many rounds, while the NOOP
        # (sent in the same packet) waits
        s.sendall(b"f FETCH 1:8 (BODY.PEEK[])\r\nn NOOP\r\n")
        out = _read_until(s, b"\r\nn OK")
        f_ok = out.index(b"\r\nf OK Fetch completed")
        assert out.index(b"\r\nn OK") > f_ok
        # the literals come whole, in order, before the tagged reply
        pos = 0
        for i in range(8):
            hdr = f"* {i + 1} FETCH (BODY[] {{{len(msgs[i])}}}\r\n"
            pos = out.index(hdr.encode(), pos) + len(hdr)
            assert out[pos:pos + len(msgs[i])] == msgs[i], i
            pos += len(msgs[i])
            assert out[pos:pos + 3] == b")\r\n"
            pos += 3
        assert pos == f_ok + 2, out[pos:f_ok + 40]
        s.sendall(b"o LOGOUT\r\n")
        _read_until(s, b"o OK")
    finally:
        s.close()


def test_wrong_size_in_name_keeps_session_in_step(inst):
    """A W= that does not match the file (written by a broken agent):
    the literal still has the announced size (padded with spaces or cut),
    so the client can read the next response."""
    setup(inst)
    m = login(inst)
    m.create("Odd")
    md = inst.path("mailbox", DOMAIN, LOCAL, "Maildir", ".Odd")
    raw = b"Subject: odd\n\n" + b"line\n" * 20000
    real = len(_crlf(raw))
    now = int(time.time())
    for i, w in enumerate((real + 1000, real - 1000)):
        name = f"{now + i}.M{i}P2.odd,S={len(raw)},W={w}:2,"
        path = os.path.join(md, "cur", name)
        with open(path, "wb") as f:
            f.write(raw)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("vmail")
            os.chown(path, pw.pw_uid, pw.pw_gid)
    m.select("Odd")
    typ, data = m.fetch("1:2", "(BODY.PEEK[])")
    assert typ == "OK", data
    bodies = [item[1] for item in data if isinstance(item, tuple)]
    want = _crlf(raw)
    assert bodies[0] == want + b" " * 1000
    assert bodies[1] == want[:real - 1000]
    assert m.noop()[0] == "OK"
    m.logout()
