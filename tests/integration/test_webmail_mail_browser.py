"""youju-webmail's search, drafts, replies, conversations, charsets and
folder tools in a real browser (headless Chromium, issue 12).

The browser part is webmail_mail_browser.py, run with /usr/bin/python3
(Debian's python3-selenium belongs to the system interpreter); this
module makes the mailboxes and the mail.  Screenshots go to
build/test-artifacts/webmail-mail/ (git-ignored).
"""
import os
import subprocess
import sys

from test_imap_state import PASSWORD, user  # noqa: E402
from test_webmail_api import imap, msg  # noqa: E402
from test_webmail_mail import cjk_msg  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"
BIG5 = "繁體中文的郵件"
JIS = "日本語のメールです"


def test_webmail_mail_in_browser(inst):
    for path in (SYSTEM_PYTHON, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert os.path.exists(path), f"{path} missing (run scripts/deps.sh)"
    addr = user(inst, "wmbrowse3")
    rcpt = user(inst, "wmbrowse4")
    m = imap(inst, addr)
    m.append("INBOX", "", None, cjk_msg("big5 letter", BIG5, "big5"))
    m.append("INBOX", "", None, cjk_msg("jis letter", JIS, "iso-2022-jp"))
    m.append("INBOX", "", None,
             cjk_msg("mislabelled", BIG5, "big5", "iso-8859-1"))
    m.append("INBOX", "", None, msg(
        "plans", "Ann <ann@a.example>", "Mon, 02 Mar 2026 10:00:00 +0000",
        body="Shall we meet at the harbour?\r\n",
        extra="References: <r1@a.example>\r\n").replace(
        b"Message-ID: <", b"Message-ID: <plans-", 1))
    m.logout()
    imap(inst, rcpt).logout()
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(k, None)
    art = os.path.join(inst.srcdir, "build", "test-artifacts", "webmail-mail")
    os.makedirs(art, exist_ok=True)
    cmd = [SYSTEM_PYTHON, os.path.join(HERE, "webmail_mail_browser.py"),
           "--url", f"http://127.0.0.1:{inst.ports['webmail']}",
           "--imap", str(inst.ports["imap"]), "--user", addr,
           "--password", PASSWORD, "--rcpt", rcpt, "--artifacts", art]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=600)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        raise AssertionError("webmail_mail_browser.py failed "
                             f"(status {r.returncode}):\n{r.stdout[-3000:]}"
                             f"\n{r.stderr[-6000:]}")
