"""youju-webmail's settings, contacts and NetDisk pages in a real browser
(headless Chromium, issue 12).  The browser part is
webmail_settings_browser.py, run with /usr/bin/python3 (Debian's
python3-selenium); screenshots stay in build/test-artifacts/webmail/."""
import os
import subprocess
import sys

from test_imap_state import PASSWORD, user  # noqa: E402
from test_webmail_api import imap, msg  # noqa: E402

# POP3 fetch from this instance's own youju-mra on 127.0.0.1
CONFIG = {"webmail_popfetch_allow_private": "yes"}
HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"


def test_settings_in_browser(inst):
    for path in (SYSTEM_PYTHON, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert os.path.exists(path), f"{path} missing (run scripts/deps.sh)"
    addr = user(inst, "wmsbrowser")
    peer = user(inst, "wmsbpeer")
    m = imap(inst, addr)
    for i in range(12):
        m.append("INBOX", "", None, msg(f"settings {i}",
                                        "Sender <sender@example.com>",
                                        "Fri, 05 Jun 2026 08:00:00 +0000"))
    m.logout()
    m = imap(inst, peer)
    m.append("INBOX", "", None, msg("from the peer", "Peer <p@example.com>",
                                    "Fri, 05 Jun 2026 09:00:00 +0000"))
    m.logout()
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(k, None)
    art = os.path.join(inst.srcdir, "build", "test-artifacts", "webmail")
    os.makedirs(art, exist_ok=True)
    cmd = [SYSTEM_PYTHON, os.path.join(HERE, "webmail_settings_browser.py"),
           "--url", f"http://127.0.0.1:{inst.ports['webmail']}",
           "--imap", str(inst.ports["imap"]), "--user", addr,
           "--password", PASSWORD, "--newpass", "Browser-New-Pass-1",
           "--peer", peer, "--pop3", str(inst.ports["pop3"]),
           "--artifacts", art]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=600)
    finally:
        inst.sql(f"UPDATE mailbox SET password='{{PLAIN}}{PASSWORD}' "
                 f"WHERE username='{addr}'")
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        raise AssertionError("webmail_settings_browser.py failed "
                             f"(status {r.returncode}):\n{r.stdout[-3000:]}"
                             f"\n{r.stderr[-6000:]}")
