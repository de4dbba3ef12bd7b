#!/usr/bin/env python3
"""Integration test runner.

Starts one throw-away instance (harness.Instance), runs every function named
test_* of every tests/integration/test_*.py module against it, in file and
definition order, then tears the instance down, also on failure, Ctrl-C or
SIGTERM.  Ends with the line `N passed, N failed` and a non-zero exit status
on any failure.

    run.py --bin BUILD/san/bin --srcdir . [-k SUBSTRING] [--keep]
"""
import argparse
import importlib.util
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def load_modules(pattern):
    mods = []
    for name in sorted(os.listdir(HERE)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3],
                                                      os.path.join(HERE, name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        tests = [(n, f) for n, f in vars(mod).items()
                 if n.startswith("test_") and callable(f)]
        tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
        if pattern:
            # "a,b": the tests whose name contains any of the parts
            parts = pattern.split(",")
            tests = [t for t in tests
                     if any(p in f"{mod.__name__}::{t[0]}" for p in parts)]
        if tests:
            mods.append((mod, tests))
    return mods


def sanitizer_text(inst, seen):
    """The daemons' sanitizer reports since the last call, or "".  One
    fails the test that was running: its process exited (the master
    restarted it), which a client sees, if at all, only as a dropped
    connection."""
    return "".join(f"--- sanitizer report {name} ---\n{text[-6000:]}\n"
                   for name, text in inst.sanitizer_reports(seen))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("-k", dest="pattern", default="",
                    help="substrings of module::test, comma-separated")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    def on_term(signo, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    mods = load_modules(args.pattern)
    extra = {}
    for mod, _ in mods:
        extra.update(getattr(mod, "CONFIG", {}))
    passed = failed = 0
    san_seen = set()
    inst = harness.Instance(args.bin, args.srcdir, keep=args.keep,
                            extra_conf=extra)
    print(f"integration: instance in {inst.home}", flush=True)
    try:
        t0 = time.time()
        inst.start()
        print(f"integration: instance up in {time.time() - t0:.1f}s",
              flush=True)
        for mod, tests in mods:
            for name, fn in tests:
                label = f"{mod.__name__}::{name}"
                t0 = time.time()
                err = None
                try:
                    fn(inst)
                except Exception:
                    err = traceback.format_exc()
                san = sanitizer_text(inst, san_seen)
                if err or san:
                    failed += 1
                    print(f"FAIL {label} ({time.time() - t0:.1f}s)")
                    print((err or "") + san, end="")
                else:
                    passed += 1
                    print(f"ok   {label} ({time.time() - t0:.1f}s)")
                sys.stdout.flush()
    except KeyboardInterrupt:
        print("integration: interrupted")
        failed += 1
    except Exception:
        traceback.print_exc(file=sys.stdout)
        failed += 1
    finally:
        if failed:
            print("--- maillog tail ---")
            print(inst.maillog()[-4000:])
        # (the reports of the daemons' stopping, before the files go)
        try:
            inst.stop()
            san = sanitizer_text(inst, san_seen)
        except Exception:
            san = traceback.format_exc()
        if san:
            print(f"FAIL stopping the instance\n{san}", end="")
            failed += 1
        inst.teardown()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
