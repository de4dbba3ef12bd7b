"""NOTIFY SELECTED-DELAYED (RFC 5465 §5.2): only the expunges of the
selected mailbox wait for a command that may report them; a flag change
and a new message that come together with an expunge are told at once,
with the message numbers the client knows (the expunged message keeps
its place until then)."""
import re
import socket

from test_imap_modern import Raw, ok
from test_imap_state import user


def msg(subject):
    return f"Subject: {subject}\r\n\r\nbody\r\n".encode()


def unsolicited(r, until, timeout=20):
    """Lines the server sends with no command in progress, until the
    predicate holds for what was read."""
    r.s.settimeout(timeout)
    seen = []
    try:
        while not until(seen):
            line = r.f.readline()
            assert line, seen
            seen.append(line.rstrip(b"\r\n"))
    except socket.timeout:
        raise AssertionError(f"timed out; got {seen}")
    finally:
        r.s.settimeout(20)
    return seen


def test_selected_delayed_holds_only_expunges(inst):
    addr = user(inst, "notifydel")
    r = Raw(inst, addr)
    other = Raw(inst, addr)
    for k in range(1, 5):
        ok(other.cmd("APPEND INBOX ", msg(f"m{k}")))
    ok(r.cmd("SELECT INBOX"))
    ok(r.cmd("NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge "
             "FlagChange))"))
    ok(other.cmd("SELECT INBOX"))
    # message 2 expunged, then 4 flagged and a fifth appended
    ok(other.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)"))
    ok(other.cmd("EXPUNGE"))
    ok(other.cmd("STORE 3 +FLAGS.SILENT (\\Flagged)"))  # was 4
    ok(other.cmd("APPEND INBOX ", msg("m5")))

    def done(seen):
        return (any(b"FETCH" in ln and b"\\Flagged" in ln for ln in seen)
                and any(ln == b"* 5 EXISTS" for ln in seen))
    seen = unsolicited(r, done)
    # the flag change of message 4 as the client numbers it, the new one
    # as the fifth: message 2 is still counted
    assert any(re.fullmatch(rb"\* 4 FETCH \(FLAGS \(.*\\Flagged.*\)\)", ln)
               for ln in seen), seen
    assert not any(b"EXPUNGE" in ln or b"VANISHED" in ln for ln in seen), \
        seen
    # FETCH and SEARCH may not report expunges either (RFC 3501 §7.4.1)
    lines = ok(r.cmd("FETCH 4:5 (UID FLAGS)"))
    assert not any(b"EXPUNGE" in ln for ln in lines), lines
    assert any(ln.startswith(b"* 5 FETCH (UID 5 ") for ln in lines), lines
    # NOOP may: message 2 goes (and the count after it), nothing else is
    # told again
    lines = ok(r.cmd("NOOP"))
    assert lines[:-1] in ([b"* 2 EXPUNGE"], [b"* 2 EXPUNGE", b"* 4 EXISTS"]), \
        lines
    lines = ok(r.cmd("FETCH 1:* (UID)"))
    uids = [int(x) for x in re.findall(rb"UID (\d+)", b"".join(lines))]
    assert uids == [1, 3, 4, 5], lines
    # an expunge alone is held too, and told at the next NOOP
    ok(other.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)"))
    ok(other.cmd("EXPUNGE"))
    ok(other.cmd("STORE 1 +FLAGS.SILENT (\\Seen)"))  # was 3
    seen = unsolicited(r, lambda s: any(b"\\Seen" in ln for ln in s))
    assert seen[-1].startswith(b"* 2 FETCH"), seen
    assert not any(b"EXPUNGE" in ln for ln in seen), seen
    lines = ok(r.cmd("NOOP"))
    assert lines[:-1] in ([b"* 1 EXPUNGE"], [b"* 1 EXPUNGE", b"* 3 EXISTS"]), \
        lines
    r.close()
    other.close()
