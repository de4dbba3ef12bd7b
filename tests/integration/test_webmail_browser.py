"""youju-webmail in a real browser (headless Chromium, issue 12).

The browser part is webmail_browser.py, run with /usr/bin/python3 (Debian's
python3-selenium belongs to the system interpreter).  This module makes the
mailboxes and the mail it reads; screenshots of every page, at 1280 and
360 px, stay in build/test-artifacts/webmail/ (git-ignored).
"""
import os
import subprocess
import sys

from test_imap_state import PASSWORD, user  # noqa: E402
from test_webmail_api import GBK_MSG, imap, msg  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"


def test_webmail_in_browser(inst):
    for path in (SYSTEM_PYTHON, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert os.path.exists(path), f"{path} missing (run scripts/deps.sh)"
    addr = user(inst, "wmbrowser")
    rcpt = user(inst, "wmbrowser2")
    m = imap(inst, addr)
    m.append("INBOX", "", None, GBK_MSG)
    m.append("INBOX", "", None, msg("plain one", "Bob <bob@example.com>",
                                    "Fri, 05 Jun 2026 08:00:00 +0000"))
    m.logout()
    imap(inst, rcpt).logout()
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(k, None)
    art = os.path.join(inst.srcdir, "build", "test-artifacts", "webmail")
    cmd = [SYSTEM_PYTHON, os.path.join(HERE, "webmail_browser.py"),
           "--url", f"http://127.0.0.1:{inst.ports['webmail']}",
           "--imap", str(inst.ports["imap"]), "--user", addr,
           "--password", PASSWORD, "--rcpt", rcpt, "--artifacts", art]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=600)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        raise AssertionError("webmail_browser.py failed "
                             f"(status {r.returncode}):\n{r.stdout[-3000:]}"
                             f"\n{r.stderr[-6000:]}")
