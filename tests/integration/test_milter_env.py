"""Milter envelope changes and macros (issue 16), with a real milter
library: tests/integration/milter_py.py on Debian's python3-milter
(pymilter over Sendmail's libmilter), started by the test.

- SMFIR_CHGFROM, SMFIR_DELRCPT, SMFIR_ADDRCPT, SMFIR_ADDRCPT_PAR: the
  queue file's envelope is the changed one and the mail is delivered to
  the added recipient, not to the deleted one; with every recipient
  deleted the message is discarded.
- SMFIR_ADDHEADER, SMFIR_INSHEADER, SMFIR_CHGHEADER, SMFIR_REPLBODY.
- milter_*_macros with Postfix's defaults (j, {daemon_name}, i,
  {mail_addr}, {rcpt_addr}, {auth_authen}, {tls_version} ...), and the
  list the milter asked for at connect (smfi_setsymlist) replacing the
  setting's.
"""
import json
import os
import subprocess
import tempfile
import time

from test_delivery import find_in_maildir
from test_mta import (USER, OutsideSMTP, _ctx, parse_queue_file, qmgr_paused,
                      queued_file, queued_id, smtp)
from test_mta_dkim import SYS_PY, _port, _setup_dir, _wait_port
from test_mta_restrictions import settings

HERE = os.path.dirname(os.path.abspath(__file__))
OTHER = "other@extmail.org"
BOSS = "boss@other.test"


class PyMilter:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="youju-pymilter-")
        self.log = os.path.join(self.tmp, "seen.jsonl")
        self.port = _port()
        self.proc = subprocess.Popen(
            [SYS_PY, os.path.join(HERE, "milter_py.py"), str(self.port),
             self.log], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_port(self.port, self.proc, "pymilter")

    def seen(self, n):
        """The n-th message's record (0-based), waiting for it."""
        deadline = time.time() + 10
        while True:
            try:
                with open(self.log) as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) > n:
                return json.loads(lines[n])
            assert time.time() < deadline, "the milter saw no message"
            time.sleep(0.1)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _msg(todo, token, subject="hello"):
    return (f"From: <someone@example.net>\r\nTo: <{USER}>\r\n"
            f"Subject: {subject}\r\nX-Milter-Do: {todo}\r\n"
            f"Message-ID: <{token}@example.net>\r\n\r\n"
            f"token {token}\r\n").encode()


def _outside(inst, rcpts, msg):
    s = OutsideSMTP(inst)
    s.ehlo("outside.example")
    assert s.mail("someone@example.net")[0] == 250
    for r in rcpts:
        code, m = s.rcpt(r)
        assert code == 250, (r, m)
    code, reply = s.data(msg)
    s.quit()
    return code, reply.decode()


def test_milter_envelope_changes_and_macros(inst):
    _setup_dir(inst)
    m = PyMilter()
    try:
        with settings(inst, smtpd_milters=f"inet:127.0.0.1:{m.port}"):
            token = f"env{time.time_ns()}"
            todo = (f"from=changed@example.org del={USER} add={BOSS} "
                    "hdr=yes body=yes")
            with qmgr_paused(inst):
                code, reply = _outside(inst, [USER, OTHER],
                                       _msg(todo, token))
                assert code == 250, reply
                qid = queued_id(reply)
                recs, msg = parse_queue_file(queued_file(inst, qid))
            assert ("S", "changed@example.org") in recs, recs
            assert [v for k, v in recs if k == "R"] == [OTHER, BOSS], recs
            hdr, body = msg.split(b"\n\n", 1)
            assert b"\nX-Py-Added: yes" in hdr, hdr
            assert b"\nSubject: changed by pymilter" in hdr, hdr
            # index 0 is the first field the milter saw: after our
            # Received: (and Authentication-Results:), which milters are
            # not shown (as in Postfix)
            assert hdr.startswith(b"Received: "), hdr
            assert b"\nX-Py-First: top\nFrom: " in hdr, hdr
            assert hdr.index(b"X-Py-First") < hdr.index(b"\nFrom: ") < \
                hdr.index(b"X-Py-Added"), hdr
            assert body == b"Body replaced by pymilter.\n", body
            # delivered to the added recipient and the kept one, not to
            # the deleted one (the body was replaced: find it by the
            # Message-ID)
            assert find_in_maildir(inst, BOSS, token), "not delivered"
            assert find_in_maildir(inst, OTHER, token), "not delivered"
            assert not find_in_maildir(inst, USER, token, timeout=1)
            inst.wait_log(rf"{qid}: milter: change sender: "
                          r"<someone@example\.net> -> <changed@example\.org>")
            inst.wait_log(rf"{qid}: to=<{BOSS}>, .*status=sent")

            seen = m.seen(0)
            host = inst.youju("conf", "-h", "myhostname",
                              check=True).stdout.strip()
            # the milter's own list (setsymlist) replaced
            # milter_connect_macros: {client_addr} is sent, "_" is not
            c = seen["connect"]
            assert c.get("j") == host and c.get("{daemon_name}") == host, c
            assert c.get("v") == "youju", c
            assert c.get("{client_addr}") == seen["client"][1], (c, seen)
            assert c.get("{client_port}", "").isdigit(), c
            assert "_" not in c and "{daemon_addr}" not in c, c
            # Postfix's default lists for the other steps
            assert seen["mail"].get("i") == qid, seen
            assert seen["mail"].get("{mail_addr}") == "someone@example.net"
            assert seen["mail"].get("{mail_host}") == "example.net"
            assert "{auth_authen}" not in seen["mail"], seen
            assert [r.get("{rcpt_addr}") for r in seen["rcpt"]] == \
                [USER, OTHER], seen
            assert seen["rcpt"][1].get("{rcpt_host}") == "extmail.org"
            for step in ("data", "eoh", "eom"):
                assert seen[step] == {"i": qid}, (step, seen)
            assert seen["mail_from"] == "<someone@example.net>", seen

            # every recipient deleted: discarded
            token2 = f"all{time.time_ns()}"
            since = inst.log_size()
            code, reply = _outside(inst, [USER], _msg(f"del={USER}", token2))
            assert code == 250, reply
            inst.wait_log(r"milter: no recipient left: discarded",
                          since=since)
            assert not find_in_maildir(inst, USER, token2, timeout=1)

            # an authenticated client over TLS: {auth_*}, {tls_version};
            # SMFIR_ADDRCPT_PAR
            s = smtp(inst, "submission")
            s.ehlo("client.example")
            s.starttls(context=_ctx())
            s.ehlo("client.example")
            assert s.login(USER, "extmail")[0] == 235
            token3 = f"auth{time.time_ns()}"
            msg = (f"From: <{USER}>\r\nTo: <friend@example.com>\r\n"
                   f"Subject: x\r\nX-Milter-Do: addpar={OTHER}\r\n\r\n"
                   f"token {token3}\r\n").encode()
            with qmgr_paused(inst):
                code, reply = s.sendmail(USER, ["friend@example.com"], msg), \
                    None
                s.quit()
            assert code == {}, code
            assert find_in_maildir(inst, OTHER, token3), "not delivered"
            seen = m.seen(2)
            assert seen["mail"].get("{auth_authen}") == USER, seen
            assert seen["mail"].get("{auth_type}") in ("PLAIN", "LOGIN"), \
                seen
            assert seen["helo"].get("{tls_version}", "").startswith("TLS"), \
                seen
            assert seen["helo"].get("{cipher}"), seen
    finally:
        m.close()


def test_milter_macros_setting(inst):
    """milter_mail_macros set to one name: only that one is sent."""
    m = PyMilter()
    try:
        with settings(inst, smtpd_milters=f"inet:127.0.0.1:{m.port}",
                      milter_mail_macros="{mail_addr}",
                      milter_rcpt_macros=""):
            code, reply = _outside(inst, [USER], _msg("", "macros"))
            assert code == 250, reply
            seen = m.seen(0)
            assert seen["mail"] == {"{mail_addr}": "someone@example.net"}, \
                seen
            assert seen["rcpt"] == [{}], seen
    finally:
        m.close()
