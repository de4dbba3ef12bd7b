"""The mailbox layer (lib/mailbox, issue 10) through youju-mra with imaplib,
poplib and a raw socket: COPYUID on COPY and UID COPY, the untagged
COPYUID before the EXPUNGEs of MOVE (RFC 4315 §3, RFC 6851 §4.3), flag
changes from two sessions that must both survive, quota on COPY (refused
and recorded), and POP3 DELE recorded in maildirsize."""
import os
import poplib
import re
import socket

# one way to make a test mailbox and log in, shared with test_imap_state
from test_imap_state import PASSWORD, login, maildir, user  # noqa: E402


def append(m, box, subject, flags=None, pad=0):
    msg = (f"From: a@example.com\r\nSubject: {subject}\r\n\r\n"
           f"body{'x' * pad}\r\n").encode()
    typ, data = m.append(box, flags, None, msg)
    assert typ == "OK", data
    return data[0].decode()


def usage(md):
    """(bytes, count) summed from maildirsize, with its definition line."""
    with open(os.path.join(md, "maildirsize")) as f:
        lines = f.read().splitlines()
    b = c = 0
    for line in lines[1:]:
        x, y = line.split()
        b += int(x)
        c += int(y)
    return lines[0], b, c


def uidvalidity(m, box):
    typ, data = m.status(box, "(UIDVALIDITY)")
    assert typ == "OK", data
    return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))


class Raw:
    """A line-level IMAP client, to see the order of untagged lines."""

    def __init__(self, inst, addr):
        self.s = socket.create_connection(("127.0.0.1", inst.ports["imap"]),
                                          timeout=20)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0
        lines = self.cmd(f'LOGIN "{addr}" "{PASSWORD}"')
        assert b" OK " in lines[-1], lines

    def cmd(self, text):
        self.n += 1
        tag = f"r{self.n}"
        self.s.sendall(f"{tag} {text}\r\n".encode())
        out = []
        while True:
            line = self.f.readline()
            assert line, out
            out.append(line.rstrip(b"\r\n"))
            if line.startswith(tag.encode() + b" "):
                return out

    def close(self):
        self.s.close()


def test_copy_answers_copyuid(inst):
    addr = user(inst, "copyuid")
    m = login(inst, addr)
    for i in range(3):
        append(m, "INBOX", f"c{i}", r"(\Seen $Label1)" if i == 0 else None)
    assert m.create("Dest")[0] == "OK"
    m.select("INBOX")
    dv = uidvalidity(m, "Dest")
    # imaplib's uid() drops the tagged text: the command by hand
    typ, data = m._simple_command("UID", "COPY", "1:3", "Dest")
    assert typ == "OK", data
    assert data[0].decode() == f"[COPYUID {dv} 1:3 1:3] Copy completed.", data
    # COPY by sequence number: the destination UIDs go on
    typ, data = m.copy("2,3", "Dest")
    assert typ == "OK", data
    assert data[0].decode() == f"[COPYUID {dv} 2:3 4:5] Copy completed.", data
    typ, data = m.copy("1,3", "Dest")
    assert data[0].decode() == f"[COPYUID {dv} 1,3 6:7] Copy completed.", data
    # the copies are there under those UIDs, with flags and keywords
    m.select("Dest")
    typ, data = m.uid("FETCH", "1:7", "(UID FLAGS)")
    got = b" ".join(x for x in data if isinstance(x, bytes))
    assert len(data) == 7 and got.count(b"UID") == 7, data
    flags = {int(u): set(f.split()) for u, f in
             re.findall(rb"UID (\d+) FLAGS \(([^)]*)\)", got)}
    for uid in (1, 6):
        assert {rb"\Seen", b"$Label1"} <= flags[uid], data
    assert rb"\Seen" not in flags[2] and b"$Label1" not in flags[2], data
    # a copy is a hard link of the same file
    md = maildir(inst, addr)
    src = os.listdir(os.path.join(md, "cur"))
    dst = os.listdir(os.path.join(md, ".Dest", "cur"))
    inodes = {os.stat(os.path.join(md, "cur", n)).st_ino for n in src}
    assert all(os.stat(os.path.join(md, ".Dest", "cur", n)).st_ino in inodes
               for n in dst), (src, dst)
    # nothing selected: Dovecot's answer, no COPYUID
    m.select("INBOX")
    typ, data = m._simple_command("UID", "COPY", "99", "Dest")
    assert typ == "OK" and data[0] == b"No messages found.", data
    m.logout()


def test_move_sends_copyuid_before_expunge(inst):
    addr = user(inst, "moveuid")
    m = login(inst, addr)
    for i in range(4):
        append(m, "INBOX", f"m{i}")
    assert m.create("Arch")[0] == "OK"
    dv = uidvalidity(m, "Arch")
    m.logout()
    r = Raw(inst, addr)
    r.cmd("SELECT INBOX")
    lines = r.cmd("UID MOVE 2:3 Arch")
    assert lines[0] == f"* OK [COPYUID {dv} 2:3 1:2] Moved UIDs.".encode(), \
        lines
    assert lines[1:3] == [b"* 2 EXPUNGE", b"* 2 EXPUNGE"], lines
    assert lines[3].endswith(b"OK Move completed."), lines
    lines = r.cmd("MOVE 2 Arch")  # sequence 2 is UID 4 now
    assert lines[0] == f"* OK [COPYUID {dv} 4 3] Moved UIDs.".encode(), lines
    assert lines[1] == b"* 2 EXPUNGE", lines
    lines = r.cmd("UID FETCH 1:* (UID)")
    assert lines[:-1] == [b"* 1 FETCH (UID 1)"], lines
    lines = r.cmd("SELECT Arch")
    assert b"* 3 EXISTS" in lines, lines
    r.close()


def test_concurrent_store_keeps_both(inst):
    addr = user(inst, "racer")
    m = login(inst, addr)
    append(m, "INBOX", "race", r"(\Seen \Flagged)")
    m.logout()
    a, b = Raw(inst, addr), Raw(inst, addr)
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    # imaptest's case: one session adds, the other (not synced) removes
    lines = a.cmd(r"STORE 1 +FLAGS (\Answered)")
    assert lines[-1].endswith(b"OK Store completed."), lines
    lines = b.cmd(r"STORE 1 -FLAGS.SILENT (\Seen)")
    assert lines[-1].endswith(b"OK Store completed."), lines
    lines = b.cmd(r"STORE 1 +FLAGS.SILENT ($Work)")
    lines = a.cmd(r"STORE 1 -FLAGS.SILENT (\Flagged)")
    c = Raw(inst, addr)
    c.cmd("SELECT INBOX")
    lines = c.cmd("FETCH 1 (FLAGS)")
    got = re.match(rb"\* 1 FETCH \(FLAGS \(([^)]*)\)\)$", lines[0])
    assert got, lines
    assert set(got.group(1).split()) - {rb"\Recent"} == \
        {rb"\Answered", b"$Work"}, lines
    md = maildir(inst, addr)
    names = os.listdir(os.path.join(md, "cur"))
    assert len(names) == 1 and names[0].endswith(":2,Ra"), names
    for x in (a, b, c):
        x.close()


def test_copy_over_quota_refused_and_recorded(inst):
    addr = user(inst, "cquota", quota="600S")
    md = maildir(inst, addr)
    m = login(inst, addr)
    append(m, "INBOX", "q1", pad=150)
    append(m, "INBOX", "q2", pad=150)
    assert m.create("Keep")[0] == "OK"
    line, b0, c0 = usage(md)
    assert line == "600S" and c0 == 2 and 350 < b0 < 450, (line, b0, c0)
    m.select("INBOX")
    typ, data = m.copy("1:2", "Keep")
    assert typ == "NO" and data[0] == b"[OVERQUOTA] Quota exceeded.", data
    assert usage(md)[1:] == (b0, c0)
    assert os.listdir(os.path.join(md, ".Keep", "cur")) == []
    typ, data = m.copy("1", "Keep")
    assert typ == "OK" and b"COPYUID" in data[0], data
    _, b1, c1 = usage(md)
    assert c1 == 3 and b1 - b0 == b0 // 2, (b0, b1)
    # APPEND now is over too, with the same text
    typ, data = m.append("INBOX", None, None, b"Subject: x\r\n\r\n" +
                         b"y" * 300 + b"\r\n")
    assert typ == "NO" and data[0] == b"[OVERQUOTA] Quota exceeded.", data
    # MOVE within the Maildir needs no room and changes no usage
    typ, data = m.uid("MOVE", "2", "Keep")
    assert typ == "OK", data
    assert usage(md)[1:] == (b1, c1)
    m.logout()


def test_imap_expunge_and_pop3_dele_update_maildirsize(inst):
    addr = user(inst, "popdel", quota="100000S,50C")
    md = maildir(inst, addr)
    m = login(inst, addr)
    for i in range(3):
        append(m, "INBOX", f"p{i}", pad=10 * i)
    _, b0, c0 = usage(md)
    assert c0 == 3, c0
    m.select("INBOX")
    m.store("1", "+FLAGS", r"(\Deleted)")
    m.expunge()
    _, b1, c1 = usage(md)
    assert c1 == 2 and b0 - b1 > 0, (b0, b1)
    m.logout()
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=15)
    p.user(addr)
    p.pass_(PASSWORD)
    count, octets = p.stat()
    assert count == 2
    size2 = int(p.list(2).split()[2])
    p.dele(2)
    p.quit()
    _, b2, c2 = usage(md)
    assert c2 == 1, c2
    # POP3 sizes are CRLF sizes; the file has LF or CRLF as appended
    assert b1 - b2 in (size2, size2 - 4), (b1, b2, size2)
    assert len(os.listdir(os.path.join(md, "cur"))) + \
        len(os.listdir(os.path.join(md, "new"))) == 1
