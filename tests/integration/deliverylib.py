"""Shared by the delivery test modules: one transport table for the shared
instance (transport_maps names one map; each module adds its routes), so
that running one module alone (-k) or all of them gives the same routes.
Imported normally (sys.modules caches it), so every module sees the same
file."""
import os
import tempfile

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
