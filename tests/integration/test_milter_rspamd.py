"""rspamd (Debian's package) as a milter (issue 16): its proxy worker in
milter mode with self_scan, on a configuration this test writes into the
instance — no Lua rules, no Redis, no network (its DNS points at a closed
port), Hyperscan off and a four-line TLD list so that it starts in about
a second.  GTUBE detection is rspamd's own C code:

- rspamd's add-header GTUBE variant ("YJS*...", enable_test_patterns):
  rspamd answers add_header, its proxy adds "X-Spam: Yes", and youju's
  delivery files the message into the mailbox's Junk folder
  (docs/delivery.md, junk_verdict).
- the standard GTUBE string: rspamd rejects, youju answers the client
  with rspamd's reply (554 5.7.1 Gtube pattern) and logs Postfix's milter-reject line.
- a clean message is delivered to the inbox without X-Spam.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

from test_delivery import find_in_maildir, maildir_of
from test_mta import USER, OutsideSMTP
from test_mta_dkim import _port, _wait_port
from test_mta_restrictions import settings

RSPAMD = "/usr/bin/rspamd"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# rspamd's variant asking for the add_header action
GTUBE_ADD_HEADER = "Y" + GTUBE[1:]


def _conf(tmp, port):
    with open(os.path.join(tmp, "tld.dat"), "w") as f:
        f.write("com\norg\nnet\ntest\n")
    with open(os.path.join(tmp, "rspamd.conf"), "w") as f:
        f.write(f"""options {{
  pidfile = "{tmp}/rspamd.pid";
  tempdir = "{tmp}";
  disable_hyperscan = true;
  enable_test_patterns = true;
  url_tld = "{tmp}/tld.dat";
  dns {{ nameserver = ["127.0.0.1:9"]; timeout = 1s; retransmits = 1; }}
}}
logging {{ type = "file"; filename = "{tmp}/rspamd.log"; level = "info"; }}
actions {{ reject = 15; add_header = 6; greylist = 4; }}
worker "rspamd_proxy" {{
  bind_socket = "127.0.0.1:{port}";
  milter = yes;
  upstream "local" {{ default = yes; self_scan = yes; }}
  timeout = 120s;
  count = 1;
  spam_header = "X-Spam";
  reject_message = "Spam message rejected";
}}
""")


def _send(inst, body, token):
    s = OutsideSMTP(inst)
    s.ehlo("mail.sender.example")
    assert s.mail("someone@example.net")[0] == 250
    assert s.rcpt(USER)[0] == 250
    msg = (f"From: <someone@example.net>\r\nTo: <{USER}>\r\n"
           f"Subject: test {token}\r\nMessage-ID: <{token}@example.net>\r\n"
           f"\r\n{body}\r\ntoken {token}\r\n").encode()
    code, reply = s.data(msg)
    s.quit()
    return code, reply.decode()


def test_rspamd_gtube_to_junk(inst):
    assert os.path.exists(RSPAMD), "rspamd is not installed (scripts/deps.sh)"
    tmp = tempfile.mkdtemp(prefix="youju-rspamd-")
    port = _port()
    _conf(tmp, port)
    if os.geteuid() == 0:
        shutil.chown(tmp, "_rspamd", "_rspamd")
        for f in os.listdir(tmp):
            shutil.chown(os.path.join(tmp, f), "_rspamd", "_rspamd")
        user = ["-u", "_rspamd", "-g", "_rspamd"]
    else:
        user = []
    proc = subprocess.Popen(
        [RSPAMD, "-f", "-c", os.path.join(tmp, "rspamd.conf"), *user,
         "--var", f"DBDIR={tmp}", "--var", f"RUNDIR={tmp}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        _wait_port(port, proc, "rspamd")
        with settings(inst, smtpd_milters=f"inet:127.0.0.1:{port}"):
            since = inst.log_size()
            # the add-header GTUBE: accepted, X-Spam: Yes, into Junk
            token = f"spam{time.time_ns()}"
            code, reply = _send(inst, GTUBE_ADD_HEADER, token)
            assert code == 250, reply
            inst.wait_log(r": to=<postmaster@extmail\.org>, .*status=sent "
                          r"\(delivered to maildir folder Junk\)",
                          since=since, timeout=20)
            junk = os.path.join(maildir_of(inst, USER), ".Junk", "new")
            hits = [open(os.path.join(junk, f), "rb").read()
                    for f in os.listdir(junk)]
            hits = [h for h in hits if token.encode() in h]
            assert len(hits) == 1, os.listdir(junk)
            assert b"\nX-Spam: Yes\n" in hits[0], hits[0]
            assert not find_in_maildir(inst, USER, token, timeout=0)

            # a clean message: the inbox, no X-Spam
            token = f"ham{time.time_ns()}"
            code, reply = _send(inst, "Lunch at noon?", token)
            assert code == 250, reply
            hits = find_in_maildir(inst, USER, token, timeout=20)
            assert len(hits) == 1, "not delivered to the inbox"
            assert b"\nX-Spam:" not in hits[0][1], hits[0][1]

            # the standard GTUBE: rspamd rejects with its reply
            code, reply = _send(inst, GTUBE, f"rej{time.time_ns()}")
            assert code == 554, (code, reply)
            # (the text is the reason rspamd's GTUBE pre-result gives)
            assert reply == "5.7.1 Gtube pattern", reply
            inst.wait_log(r": milter-reject: END-OF-MESSAGE from "
                          r"\S+: 5\.7\.1 Gtube pattern",
                          since=since)
    except Exception:
        try:
            with open(os.path.join(tmp, "rspamd.log")) as f:
                print("rspamd.log:", f.read()[-6000:])
        except OSError:
            pass
        raise
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
