"""The console's graph and status pages in a real browser (headless
Chromium through mailgraph_browser.py, with /usr/bin/python3 as
test_webadmin_browser.py does).  youju-mailgraph is stopped while the
browser looks, so the status page must show it stopped; it is started
again afterwards.  Screenshots stay in build/test-artifacts/mailgraph/.
"""
import os
import signal
import subprocess
import sys
import time

import test_mailgraph_web as mw

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"

CONFIG = mw.CONFIG


def test_graph_and_status_pages_in_browser(inst):
    for path in (SYSTEM_PYTHON, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert os.path.exists(path), f"{path} missing (run scripts/deps.sh)"
    mw.setup_domains(inst)
    pid = inst.live_pid("youju-mailgraph")
    assert pid > 0, "youju-mailgraph is not running"
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 20
    while inst.live_pid("youju-mailgraph") == pid:
        assert time.time() < deadline, "youju-mailgraph did not stop"
        time.sleep(0.05)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    cmd = [SYSTEM_PYTHON, os.path.join(HERE, "mailgraph_browser.py"),
           "--url", f"http://127.0.0.1:{inst.ports['webadmin']}",
           "--artifacts", os.path.join(inst.srcdir, "build",
                                       "test-artifacts", "mailgraph"),
           "--domain", mw.PM_DOMAIN,
           "--pm", f"pm@{mw.PM_DOMAIN}", "--pm-password", "pm-pass-123",
           "--stopped", "youju-mailgraph"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=900)
    finally:
        s = inst.youju("start", timeout=180)
        assert s.returncode == 0, s.stdout + s.stderr
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        raise AssertionError("mailgraph_browser.py failed "
                             f"(status {r.returncode}):\n{r.stdout[-3000:]}"
                             f"\n{r.stderr[-6000:]}")
    assert inst.live_pid("youju-mailgraph") > 0
