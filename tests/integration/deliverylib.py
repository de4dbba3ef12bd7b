"""Shared by the delivery test modules: one transport table for the shared
instance (transport_maps names one map; each module adds its routes), so
that running one module alone (-k) or all of them gives the same routes.
Imported normally (sys.modules caches it), so every module sees the same
file."""
import glob
import os
import smtplib
import tempfile
import time

# the map re-reads the file when it changes
_TDIR = tempfile.mkdtemp(prefix="youju-transport-")
TRANSPORT = os.path.join(_TDIR, "transport")
with open(TRANSPORT, "w") as _f:
    _f.write("# test routes\n")
os.chmod(_TDIR, 0o755)
os.chmod(TRANSPORT, 0o644)


def add_routes(text):
    """Appends transport(5) lines (at import time of a test module)."""
    with open(TRANSPORT, "a") as f:
        f.write(text)


def wait_token(dirs, token, timeout=15, count=1):
    """[(path, bytes)] of the files in dirs (Maildir new/, cur/ ...) that
    hold token, once there are count of them or timeout seconds passed
    (fewer then); a file renamed away meanwhile is skipped."""
    deadline = time.time() + timeout
    while True:
        hits = []
        for p in [p for d in dirs for p in glob.glob(os.path.join(d, "*"))]:
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                continue
            if token.encode() in data:
                hits.append((p, data))
        if len(hits) >= count or time.time() > deadline:
            return hits
        time.sleep(0.05)


def outside_rejects(inst, outside, unknown=None):
    """From the address outside (not in mynetworks): a relay attempt,
    refused 554, and with unknown an unknown local user, refused 550."""
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20,
                      source_address=(outside, 0)) as s:
        s.ehlo("outside.example")
        s.mail("someone@example.net")
        code, _ = s.rcpt("victim@example.com")
        assert code == 554, code
        if unknown is not None:
            code, msg = s.rcpt(unknown)
            assert code == 550, (code, msg)
            s.rset()
