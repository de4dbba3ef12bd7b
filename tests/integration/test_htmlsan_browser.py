"""lib/htmlsan's corpus in a real browser (headless Chromium + selenium).

test_htmlsan (tests/unit/lib) writes the sanitized output of every corpus
file to a directory (HTMLSAN_DUMP_DIR); htmlsan_browser.py, run with the
system interpreter (Debian's python3-selenium), loads each one in a
sandboxed iframe under the message CSP, the raw corpus file the same way,
and the sanitized output in a script-enabled frame without CSP, with a
loopback canary server: no request and no script side effect allowed.
Needs no daemon of the instance: the sanitizer is a library.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"


def test_htmlsan_corpus_in_browser(inst):
    for path in (SYSTEM_PYTHON, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        assert os.path.exists(path), f"{path} missing (run scripts/deps.sh)"
    src = inst.srcdir
    unit = os.path.join(src, "build", "san", "unit", "lib", "test_htmlsan")
    r = subprocess.run(["make", "--no-print-directory", "-C", src,
                        "build/san/unit/lib/test_htmlsan"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    with tempfile.TemporaryDirectory() as pages:
        env = dict(os.environ, HTMLSAN_DUMP_DIR=pages)
        r = subprocess.run([unit], capture_output=True, text=True, env=env,
                           timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        assert len(os.listdir(pages)) >= 40, os.listdir(pages)
        env = dict(os.environ)
        for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
            env.pop(k, None)
        r = subprocess.run(
            [SYSTEM_PYTHON, os.path.join(HERE, "htmlsan_browser.py"),
             "--pages", pages,
             "--corpus", os.path.join(src, "tests", "unit", "lib",
                                      "htmlsan_corpus")],
            capture_output=True, text=True, env=env, timeout=900)
        sys.stdout.write(r.stdout[-2000:])
        assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
