#!/usr/bin/env python3
"""Run the system tests: every tests/system/test_*.py module, in order.

A module declares CONF (extra config lines) and test functions taking a
started Suite, run in the order written; a module may set FRESH = True on
a function to give it its own suite (for destructive tests).  A module
with SUITE = False needs no Ballast at all (a connector against its own
servers): each test gets a Scratch, a folder of its own under the test
base, removed afterwards.  Prints one
line per test and ends with "system: N passed, N failed".
"""
import importlib.util
import inspect
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def load(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tests_of(mod):
    fns = [f for n, f in vars(mod).items() if n.startswith("test_") and inspect.isfunction(f)]
    return sorted(fns, key=lambda f: f.__code__.co_firstlineno)


def check_sanitizer(suite):
    text = suite.log_text()
    for mark in SANITIZER_MARKS:
        if mark in text:
            i = text.index(mark)
            raise AssertionError("sanitizer report in the daemons' log:\n" + text[i:i + 3000])


class Scratch:
    """What a SUITE = False test gets: a folder, nothing running."""
    def __init__(self, name):
        import tempfile
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="x-", dir=harness.test_base())
        os.chmod(self.dir, 0o755)

    def log_tail(self, n=40):
        return "(no suite)"

    def destroy(self):
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)


def run_one(mod, fn, results, shared):
    name = "%s.%s" % (mod.__name__, fn.__name__)
    t0 = time.monotonic()
    suite = None
    try:
        if not getattr(mod, "SUITE", True):
            suite = Scratch(fn.__name__)
            fn(suite)
        elif getattr(fn, "FRESH", False):
            suite = harness.Suite(fn.__name__, getattr(mod, "CONF", ""))
            if getattr(fn, "START", True):
                suite.start()
            fn(suite)
            check_sanitizer(suite)
        else:
            fn(shared())
        results.append((name, True))
        print("ok   %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
    except Exception as e:
        results.append((name, False))
        print("FAIL %s: %s" % (name, e), flush=True)
        if not isinstance(e, AssertionError):
            traceback.print_exc(file=sys.stdout)
        s = suite or (shared.suite if hasattr(shared, "suite") else None)
        if s is not None:
            print("---- log tail ----\n%s\n------------------" % s.log_tail(30), flush=True)
    finally:
        if suite is not None:
            suite.destroy()


class Shared:
    """One started suite per module, made on first use."""
    def __init__(self, mod):
        self.mod = mod
        self.suite = None

    def __call__(self):
        if self.suite is None:
            self.suite = harness.Suite(self.mod.__name__, getattr(self.mod, "CONF", ""))
            self.suite.start()
        return self.suite


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    only = sys.argv[1:]
    results = []
    for fname in sorted(os.listdir(here)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        mod = load(os.path.join(here, fname))
        shared = Shared(mod)
        for fn in tests_of(mod):
            if only and not any(o in "%s.%s" % (mod.__name__, fn.__name__) for o in only):
                continue
            run_one(mod, fn, results, shared)
        if shared.suite is not None:
            name = "%s.no_sanitizer_reports" % mod.__name__
            try:
                check_sanitizer(shared.suite)
                results.append((name, True))
                print("ok   %s" % name)
            except AssertionError as e:
                results.append((name, False))
                print("FAIL %s: %s" % (name, e))
            shared.suite.destroy()
    p = sum(1 for _, ok in results if ok)
    f = len(results) - p
    print("system: %d passed, %d failed" % (p, f))
    return 1 if f else 0


if __name__ == "__main__":
    sys.exit(main())
