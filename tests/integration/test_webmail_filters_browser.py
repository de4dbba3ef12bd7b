"""youju-webmail's Filters page in a real browser (headless Chromium,
issue 15): a rule and an auto-reply made in the forms, mail sent over SMTP
filed (seen over IMAP) and answered, the rule edited and deleted, the
script edited as text and the form brought back.  The browser part is
webmail_filters_browser.py, run with /usr/bin/python3 (Debian's
python3-selenium); screenshots stay in build/test-artifacts/webmail/."""
import os
import subprocess
import sys

from test_imap_state import PASSWORD, user  # noqa: E402
from test_webmail_api import imap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"


def test_filters_in_browser(inst):
    for path in (SYSTEM_PYTHON, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert os.path.exists(path), f"{path} missing (run scripts/deps.sh)"
    addr = user(inst, "wfbrowser")
    peer = user(inst, "wfbpeer")
    imap(inst, addr).logout()
    imap(inst, peer).logout()
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(k, None)
    art = os.path.join(inst.srcdir, "build", "test-artifacts", "webmail")
    os.makedirs(art, exist_ok=True)
    cmd = [SYSTEM_PYTHON, os.path.join(HERE, "webmail_filters_browser.py"),
           "--url", f"http://127.0.0.1:{inst.ports['webmail']}",
           "--imap", str(inst.ports["imap"]),
           "--smtp", str(inst.ports["smtp"]), "--user", addr,
           "--password", PASSWORD, "--peer", peer, "--artifacts", art]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=600)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        raise AssertionError("webmail_filters_browser.py failed "
                             f"(status {r.returncode}):\n{r.stdout[-3000:]}"
                             f"\n{r.stderr[-6000:]}")
