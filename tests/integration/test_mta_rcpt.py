"""youju-mta's RCPT step on the event loop (issue 10, mta/smtpd_rcpt.c):
when no RCPT restriction can block, the recipient's youju-authd lookup is
asked asynchronously from the SMTP loop and the restrictions run there;
otherwise (or when a step would block after all) they run in the worker
pool as before.  Either way the replies, their order under PIPELINING and
the log lines stay as they were: pipelined groups of mixed accepted and
refused recipients, from several clients at once; youju-authd frozen
(451, the session goes on) and restarted under a kept connection; a list
with a policy service (worker path) and a table value that is a list
(checked on the loop, finished in a worker).

Runs on the shared instance; outside clients connect from 127.0.0.2."""
import os
import re
import signal
import socket
import socketserver
import subprocess
import threading
import time

import harness
import proctree
import test_mta
from test_mta import HOST
from test_mta_restrictions import etc, settings

OUT = "127.0.0.2"
CONFIG = dict(test_mta.CONFIG)
PM = "postmaster@extmail.org"

ACCEPT = "250 2.1.5 Ok"


def unknown(a):
    return (f"550 5.1.1 <{a}>: Recipient address rejected: User unknown in "
            f"virtual mailbox table")


def relay(a):
    return f"554 5.7.1 <{a}>: Relay access denied"


def tempfail(a):
    return f"451 4.3.0 <{a}>: Temporary lookup failure"


class Client:
    """A raw SMTP client from an outside address: one write per group of
    commands, replies read line by line."""

    def __init__(self, inst, helo="outside.example", timeout=30):
        self.s = socket.socket()
        self.s.bind((OUT, 0))
        self.s.settimeout(timeout)
        self.s.connect((HOST, inst.ports["smtp"]))
        self.f = self.s.makefile("rb")
        assert self.reply().startswith("220 ")
        self.s.sendall(f"EHLO {helo}\r\n".encode())
        assert self.reply().startswith("250 ")

    def reply(self):
        """One reply (its last line for a multi-line one)."""
        while True:
            line = self.f.readline()
            assert line.endswith(b"\r\n"), line
            text = line[:-2].decode()
            if text[3:4] != "-":
                return text

    def send(self, *cmds):
        """Sends the commands in one write; their replies, in order."""
        self.s.sendall(b"".join(c.encode() + b"\r\n" for c in cmds))
        return [self.reply() for _ in cmds]

    def close(self):
        self.f.close()
        self.s.close()


def rcpt_mode(inst):
    """Where the running SMTP process checks RCPT, from its start line."""
    found = re.findall(r"RCPT checks on the (event loop|worker threads)",
                       inst.maillog())
    assert found, "no RCPT checks line in the log"
    return found[-1]


def queue_id(reply):
    m = re.match(r"250 2\.0\.0 Ok: queued as ([0-9A-F]+)$", reply)
    assert m, reply
    return m.group(1)


def test_rcpt_on_the_loop_by_default(inst):
    """The default restriction lists need no blocking step."""
    since = inst.log_size()
    with settings(inst, smtpd_relay_restrictions=""):
        inst.wait_log(r"RCPT checks on the event loop", since=since)
        assert rcpt_mode(inst) == "event loop"


def test_pipelined_rcpts_keep_order(inst):
    """Accepted and refused recipients, a syntax error and a recipient
    with no domain, DATA and the message in one write: each reply in
    order, the refusals logged in order, and the message delivered to the
    accepted ones."""
    since = inst.log_size()
    c = Client(inst)
    try:
        cmds = ["MAIL FROM:<order@example.net>",
                f"RCPT TO:<{PM}>",
                "RCPT TO:<nobody1@extmail.org>",
                "RCPT TO:<far@example.com>",
                "RCPT TO:<a b>",
                "RCPT TO:<nodomain>",
                "RCPT TO:<postmaster>",
                "RCPT TO:<nobody2@extmail.org>",
                f"RCPT TO:<{PM.upper()}>",
                "DATA"]
        want = ["250 2.1.0 Ok", ACCEPT, unknown("nobody1@extmail.org"),
                relay("far@example.com"),
                "501 5.1.3 Bad recipient address syntax",
                relay("nodomain"), ACCEPT, unknown("nobody2@extmail.org"),
                ACCEPT, "354 End data with <CR><LF>.<CR><LF>"]
        got = c.send(*cmds)
        assert got == want, got
        got = c.send("Subject: pipelined order\r\n\r\nbody\r\n.", "NOOP",
                     "QUIT")
        qid = queue_id(got[0])
        assert got[1:] == ["250 2.0.0 Ok", "221 2.0.0 Bye"], got
    finally:
        c.close()
    m = inst.wait_log(re.escape(qid) + r": to=<postmaster@extmail\.org>.*"
                      r"status=sent", since=since)
    log = inst.maillog()[since:]
    rejects = re.findall(r"reject: RCPT from \S+: \d{3} \S+ <([^>]*)>", log)
    assert rejects == ["nobody1@extmail.org", "far@example.com", "nodomain",
                       "nobody2@extmail.org"], rejects
    assert m


def test_pipelined_sessions_at_once(inst):
    """Eight clients pipelining 16 recipients each at the same time: every
    session gets its own replies, in its own order."""
    results = {}

    def one(k):
        cmds, want = ["MAIL FROM:<s%d@example.net>" % k], ["250 2.1.0 Ok"]
        for i in range(16):
            kind = (i + k) % 4
            if kind < 2:
                cmds.append(f"RCPT TO:<{PM}>")
                want.append(ACCEPT)
            elif kind == 2:
                a = f"nobody-{k}-{i}@extmail.org"
                cmds.append(f"RCPT TO:<{a}>")
                want.append(unknown(a))
            else:
                a = f"x{k}-{i}@example.com"
                cmds.append(f"RCPT TO:<{a}>")
                want.append(relay(a))
        cmds += ["RSET", "QUIT"]
        want += ["250 2.0.0 Ok", "221 2.0.0 Bye"]
        # smtpd_soft_error_limit (10): no error sleep in this test
        assert sum(not w.startswith(("2", "3")) for w in want) <= 9
        c = Client(inst)
        try:
            results[k] = (c.send(*cmds), want)
        except Exception as e:  # reported below
            results[k] = (repr(e), want)
        finally:
            c.close()

    threads = [threading.Thread(target=one, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 8
    for k, (got, want) in sorted(results.items()):
        assert got == want, (k, got)


def _authd_processes(inst):
    return proctree.descendants(inst.daemon_pid("youju-authd"))


def _flush(inst):
    assert harness.unix_request(inst.authd_socket, b"FLUSH test\n") == \
        b"OK\n"


def _add_mailbox(inst, user):
    local, dom = user.split("@")
    inst.sql("INSERT INTO mailbox (username, uid, password, maildir, "
             "homedir, quota, domain, uidnumber, gidnumber, active, name) "
             f"VALUES ('{user}', '{local}', '', '{dom}/{local}/Maildir/', "
             f"'{dom}/{local}', '5242880', '{dom}', '1000', '1000', '1', "
             f"'{local}')")


def _del_mailbox(inst, user):
    inst.sql(f"DELETE FROM mailbox WHERE username='{user}'")


def test_rcpt_answer_reused_without_authd(inst):
    """lookup9: a recipient looked up a moment ago is answered from the
    MTA's copy of youju-authd's answer (lib/authc_cache), without a round
    trip: accepted while authd is frozen (on main: 451 after the 10 s
    deadline)."""
    _flush(inst)
    pids = _authd_processes(inst)
    c = Client(inst)
    try:
        assert c.send("MAIL FROM:<reuse@example.net>", f"RCPT TO:<{PM}>") \
            == ["250 2.1.0 Ok", ACCEPT]
        for p in pids:
            os.kill(p, signal.SIGSTOP)
        try:
            got = c.send(f"RCPT TO:<{PM}>", "NOOP")
        finally:
            for p in pids:
                os.kill(p, signal.SIGCONT)
        assert got == [ACCEPT, "250 2.0.0 Ok"], got
        c.send("QUIT")
    finally:
        c.close()


def test_reused_answer_void_at_once(inst):
    """A mailbox turned off in SQL: the MTA's copy of its answer goes at
    once with a FLUSH (what youju-webadmin sends), the mailbox's PASSWD, a
    reload of authd and a restart of its server process, as authd's own
    cache does, and by itself within authd_cache_ttl."""
    u = "reuse-off@extmail.org"

    def flush():
        _flush(inst)

    def passwd():
        # authd's rows cache still has the mailbox on: the change goes
        # through, and drops the row (and the clients' copies)
        assert harness.unix_request(
            inst.authd_socket,
            f"PASSWD imap\t{u}\told\tnew\n".encode()) == b"OK\n"

    def reload():
        since = inst.log_size()
        inst.reload("youju-authd")
        inst.wait_log(r"configuration reloaded", since=since)

    def restart():
        since = inst.log_size()
        for p in proctree.children(inst.daemon_pid("youju-authd")):
            os.kill(p, signal.SIGKILL)
        inst.wait_log(r"authd: listening on", since=since)

    def ttl():
        time.sleep(5.2)  # authd_cache_ttl

    pw = subprocess.run(["openssl", "passwd", "-1", "old"],
                        capture_output=True, text=True,
                        check=True).stdout.strip()
    for event in (flush, passwd, reload, restart, ttl):
        _add_mailbox(inst, u)
        inst.sql(f"UPDATE mailbox SET password='{pw}' WHERE username='{u}'")
        _flush(inst)
        c = Client(inst)
        try:
            assert c.send("MAIL FROM:<off@example.net>", f"RCPT TO:<{u}>",
                          f"RCPT TO:<{u}>") == [
                "250 2.1.0 Ok", ACCEPT, ACCEPT], event.__name__
            inst.sql(f"UPDATE mailbox SET active=0 WHERE username='{u}'")
            event()
            assert c.send(f"RCPT TO:<{u}>") == [unknown(u)], event.__name__
            c.send("QUIT")
        finally:
            c.close()
            _del_mailbox(inst, u)


def test_authd_frozen_mid_rcpt(inst):
    """youju-authd stopped (SIGSTOP) under a RCPT: 451 when its deadline
    passes, the recipients pipelined behind it keep their order, and the
    session goes on; once it runs again the next RCPT is accepted."""
    pids = _authd_processes(inst)
    c = Client(inst)
    try:
        assert c.send("MAIL FROM:<frozen@example.net>") == ["250 2.1.0 Ok"]
        # PM's answer, reused from an earlier test, is void after a
        # FLUSH (authd's generation): the RCPT must ask authd
        _flush(inst)
        for p in pids:
            os.kill(p, signal.SIGSTOP)
        try:
            got = c.send(f"RCPT TO:<{PM}>", "RCPT TO:<nodomain>", "NOOP")
        finally:
            for p in pids:
                os.kill(p, signal.SIGCONT)
        assert got == [tempfail(PM), relay("nodomain"), "250 2.0.0 Ok"], got
        assert c.send(f"RCPT TO:<{PM}>", "RSET", "QUIT") == [
            ACCEPT, "250 2.0.0 Ok", "221 2.0.0 Bye"]
    finally:
        c.close()


def test_authd_restarted_under_kept_connections(inst):
    """youju-authd's server process killed between two recipients: the
    kept connection is found closed and the lookup asked again on a new
    one (the master restarts the server); no 4xx."""
    master = inst.daemon_pid("youju-authd")
    c = Client(inst)
    try:
        assert c.send("MAIL FROM:<restart@example.net>",
                      f"RCPT TO:<{PM}>") == ["250 2.1.0 Ok", ACCEPT]
        since = inst.log_size()
        servers = [p for p in proctree.children(master)]
        assert servers
        for p in servers:
            os.kill(p, signal.SIGKILL)
        got = c.send(f"RCPT TO:<{PM}>", "RCPT TO:<nobody3@extmail.org>",
                     "QUIT")
        assert got == [ACCEPT, unknown("nobody3@extmail.org"),
                       "221 2.0.0 Bye"], got
        assert not re.search(r"Temporary lookup failure",
                             inst.maillog()[since:])
    finally:
        c.close()


class _Policy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _policy_server(seen):
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            while True:
                attrs = {}
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    line = line.rstrip(b"\n").decode()
                    if not line:
                        break
                    k, _, v = line.partition("=")
                    attrs[k] = v
                seen.append((attrs.get("protocol_state"),
                             attrs.get("recipient")))
                if attrs.get("recipient") == "polrej@extmail.org":
                    act = "REJECT refused by policy"
                else:
                    act = "DUNNO"
                self.wfile.write(f"action={act}\n\n".encode())

    srv = _Policy(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_blocking_list_runs_in_workers(inst):
    """A list with check_policy_service can block: RCPT stays in the
    worker pool, with the same replies and order."""
    seen = []
    srv = _policy_server(seen)
    port = srv.server_address[1]
    try:
        since = inst.log_size()
        with settings(inst, smtpd_recipient_restrictions=(
                "permit_mynetworks, reject_unauth_destination, "
                f"check_policy_service inet:127.0.0.1:{port}")):
            inst.wait_log(r"RCPT checks on the worker threads", since=since)
            assert rcpt_mode(inst) == "worker threads"
            c = Client(inst)
            try:
                got = c.send("MAIL FROM:<pol@example.net>",
                             f"RCPT TO:<{PM}>", "RCPT TO:<polrej@extmail.org>",
                             "RCPT TO:<far2@example.com>", f"RCPT TO:<{PM}>",
                             "QUIT")
            finally:
                c.close()
        assert got == ["250 2.1.0 Ok", ACCEPT,
                       "554 5.7.1 <polrej@extmail.org>: Recipient address "
                       "rejected: refused by policy",
                       relay("far2@example.com"), ACCEPT,
                       "221 2.0.0 Bye"], got
        assert seen == [("RCPT", PM), ("RCPT", "polrej@extmail.org"),
                        ("RCPT", PM)], seen
    finally:
        srv.shutdown()
        srv.server_close()


def test_table_list_value_finishes_in_a_worker(inst):
    """A table in memory keeps RCPT on the loop; a value that is itself a
    restriction list stops the loop's evaluation and the worker finishes
    it, in order with the recipients around it."""
    table = etc(inst, "rcpt_access", "listed@extmail.org "
                "permit_mynetworks reject\nbad@extmail.org REJECT no\n")
    since = inst.log_size()
    with settings(inst, smtpd_recipient_restrictions=(
            "permit_mynetworks, reject_unauth_destination, "
            f"check_recipient_access hash:{table}")):
        inst.wait_log(r"RCPT checks on the event loop", since=since)
        c = Client(inst)
        try:
            got = c.send("MAIL FROM:<tab@example.net>", f"RCPT TO:<{PM}>",
                         "RCPT TO:<listed@extmail.org>",
                         "RCPT TO:<bad@extmail.org>", f"RCPT TO:<{PM}>",
                         "QUIT")
        finally:
            c.close()
    assert got == ["250 2.1.0 Ok", ACCEPT,
                   "554 5.7.1 <listed@extmail.org>: Recipient address "
                   "rejected: Access denied",
                   "554 5.7.1 <bad@extmail.org>: Recipient address "
                   "rejected: no", ACCEPT, "221 2.0.0 Bye"], got


def test_vanished_client_mid_lookup(inst):
    """A client that sends its RCPTs and goes at once: the session ends
    cleanly (lost connection logged), and the next client is served."""
    since = inst.log_size()
    s = socket.socket()
    s.bind((OUT, 0))
    s.settimeout(10)
    s.connect((HOST, inst.ports["smtp"]))
    s.recv(4096)
    s.sendall(b"EHLO gone.example\r\nMAIL FROM:<gone@example.net>\r\n"
              + b"".join(f"RCPT TO:<{PM}>\r\n".encode() for _ in range(5)))
    s.close()
    inst.wait_log(r"(lost connection after RCPT|disconnect) from "
                  r"unknown\[127\.0\.0\.2\]", since=since)
    c = Client(inst)
    try:
        assert c.send("MAIL FROM:<after@example.net>", f"RCPT TO:<{PM}>",
                      "QUIT") == ["250 2.1.0 Ok", ACCEPT, "221 2.0.0 Bye"]
    finally:
        c.close()
    time.sleep(0.2)
    assert "AddressSanitizer" not in inst.maillog()[since:]
