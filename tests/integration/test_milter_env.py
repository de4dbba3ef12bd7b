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
  setting's; {cert_subject}/{cert_issuer} of a client certificate
  (smtpd_tls_ask_ccert), {auth_author} (MAIL FROM's AUTH=), {mail_mailer}
  and {rcpt_mailer} (virtual, smtp).
- The ESMTP arguments of SMFIR_ADDRCPT_PAR (NOTIFY, ORCPT kept) and
  SMFIR_CHGFROM (RET, ENVID, BODY kept; SIZE and others ignored, logged).
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


def test_milter_esmtp_arguments(inst):
    """smfi_addrcpt_par's and smfi_chgfrom's ESMTP arguments: the kept
    ones land in the queue file's envelope, the others are logged."""
    _setup_dir(inst)
    m = PyMilter()
    try:
        with settings(inst, smtpd_milters=f"inet:127.0.0.1:{m.port}"):
            token = f"args{time.time_ns()}"
            msg = (f"From: <someone@example.net>\r\nTo: <{USER}>\r\n"
                   f"Subject: args\r\n"
                   f"X-Milter-Do: fromargs=new@example.org addpar={OTHER}"
                   "\r\n"
                   "X-Milter-From-Args: RET=HDRS ENVID=env+2B1 "
                   "BODY=8BITMIME SIZE=99 FOO=1\r\n"
                   "X-Milter-Rcpt-Args: NOTIFY=SUCCESS,DELAY "
                   "ORCPT=rfc822;orig+40example.com BAR=2\r\n"
                   f"Message-ID: <{token}@example.net>\r\n\r\n"
                   f"token {token}\r\n").encode()
            since = inst.log_size()
            with qmgr_paused(inst):
                code, reply = _outside(inst, [USER], msg)
                assert code == 250, reply
                qid = queued_id(reply)
                recs, _ = parse_queue_file(queued_file(inst, qid))
            assert ("S", "new@example.org") in recs, recs
            assert ("A", "ret=HDRS") in recs, recs
            assert ("A", "envid=env+2B1") in recs, recs
            assert ("A", "body=8BITMIME") in recs, recs
            # the added recipient's DSN records come right before it
            i = recs.index(("R", OTHER))
            assert recs[i - 2:i] == [("O", "rfc822;orig+40example.com"),
                                     ("N", "10")], recs
            # the original recipient has none
            j = recs.index(("R", USER))
            assert recs[j - 1][0] not in ("O", "N"), recs
            for a in ("SIZE=99", "FOO=1", "BAR=2"):
                inst.wait_log(rf"{qid}: ignoring ESMTP argument from "
                              rf"milter: \"{a}\"", since=since)
            # bad values: dropped with Postfix's warning, the change done
            msg2 = (msg.replace(b"RET=HDRS ENVID=env+2B1", b"RET=ALL")
                    .replace(b"NOTIFY=SUCCESS,DELAY", b"NOTIFY=NEVER,DELAY")
                    .replace(token.encode(), token.encode() + b"b"))
            with qmgr_paused(inst):
                code, reply = _outside(inst, [USER], msg2)
                assert code == 250, reply
                qid2 = queued_id(reply)
                recs, _ = parse_queue_file(queued_file(inst, qid2))
            assert ("S", "new@example.org") in recs, recs
            assert not any(v.startswith("ret=") for k, v in recs
                           if k == "A"), recs
            i = recs.index(("R", OTHER))
            assert recs[i - 1] == ("O", "rfc822;orig+40example.com"), recs
            inst.wait_log(rf"{qid2}: Bad RET parameter from milter: "
                          r'"RET=ALL"', since=since)
            inst.wait_log(rf"{qid2}: Bad NOTIFY parameter from milter: "
                          r'"NOTIFY=NEVER,DELAY"', since=since)
    finally:
        m.close()


def _client_cert(tmp):
    """A CA and a client certificate it issued (CN=client.test)."""
    def ossl(*a):
        subprocess.run(["openssl", *a], check=True, capture_output=True,
                       cwd=tmp)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    ossl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt",
         "-subj", "/O=youju tests/CN=Youju Test CA", "-days", "2")
    ossl("req", *ec, "-keyout", "c.key", "-out", "c.csr",
         "-subj", "/CN=client.test")
    ossl("x509", "-req", "-in", "c.csr", "-CA", "ca.crt", "-CAkey",
         "ca.key", "-CAcreateserial", "-out", "c.crt", "-days", "2")
    return os.path.join(tmp, "c.crt"), os.path.join(tmp, "c.key")


def test_milter_macros_values(inst):
    """The macros that had no value: {cert_subject} and {cert_issuer} of
    the client certificate (smtpd_tls_ask_ccert = yes), {auth_author}
    (AUTH= of MAIL FROM), {mail_mailer} and {rcpt_mailer} (the transport:
    "virtual" for a hosted domain, "smtp" for another)."""
    _setup_dir(inst)
    m = PyMilter()
    tmp = tempfile.mkdtemp(prefix="youju-ccert-")
    crt, key = _client_cert(tmp)
    try:
        with settings(inst, smtpd_milters=f"inet:127.0.0.1:{m.port}",
                      smtpd_tls_ask_ccert="yes"):
            s = smtp(inst, "submission")
            s.ehlo("client.example")
            ctx = _ctx()
            ctx.load_cert_chain(crt, key)
            s.starttls(context=ctx)
            s.ehlo("client.example")
            assert s.login(USER, "extmail")[0] == 235
            msg = (f"From: <{USER}>\r\nTo: <friend@example.com>\r\n"
                   "Subject: macros\r\n\r\nbody\r\n").encode()
            with qmgr_paused(inst):
                assert s.mail(USER, [f"AUTH={USER}"])[0] == 250
                assert s.rcpt(OTHER)[0] == 250
                assert s.rcpt("friend@example.com")[0] == 250
                code, r = s.data(msg)
                assert code == 250, r
            seen = m.seen(0)
            h = seen["helo"]
            assert h.get("{cert_subject}") == "client.test", h
            assert h.get("{cert_issuer}") == "Youju Test CA", h
            assert h.get("{cipher_bits}", "").isdigit(), h
            ml = seen["mail"]
            assert ml.get("{auth_author}") == USER, ml
            assert ml.get("{mail_mailer}") == "virtual", ml
            assert [r.get("{rcpt_mailer}") for r in seen["rcpt"]] == \
                ["virtual", "smtp"], seen
            # without a certificate, and with AUTH=<>: not sent
            with qmgr_paused(inst):
                assert s.mail(USER, ["AUTH=<>"])[0] == 250
                assert s.rcpt(OTHER)[0] == 250
                code, r = s.data(msg)
                assert code == 250, r
            s.quit()
            assert "{auth_author}" not in m.seen(1)["mail"], m.seen(1)
            s = smtp(inst, "submission")
            s.ehlo("client.example")
            s.starttls(context=_ctx())
            s.ehlo("client.example")
            assert s.login(USER, "extmail")[0] == 235
            with qmgr_paused(inst):
                assert s.sendmail(USER, [OTHER], msg) == {}
            s.quit()
            h = m.seen(2)["helo"]
            assert "{cert_subject}" not in h and "{cert_issuer}" not in h, h
            assert h.get("{tls_version}", "").startswith("TLS"), h
    finally:
        m.close()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
