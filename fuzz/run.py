#!/usr/bin/env python3
"""Run the fuzz targets in fuzz/targets.py with atheris (coverage-guided libFuzzer).

  python fuzz/run.py tokenizer --time 600          # one target, 10 minutes
  python fuzz/run.py --all --time 15               # every target in turn (what .ci/run does)
  python fuzz/run.py kernels --replay crash-file   # re-run inputs, no atheris needed
  python fuzz/run.py --list

The seed corpus in fuzz/corpus/TARGET is read but never written (new inputs go to a scratch
folder; --grow writes them back). A failing input is saved as fuzz/crashes/TARGET-crash-*.
For C++ coverage and memory checking, build the extension with -DPYFAST_NLP_FUZZ=ON (clang)
and preload atheris's asan_with_fuzzer.so: FUZZING.md has the commands.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _fuzz_one(name: str, seconds: int, grow: bool, extra: list) -> None:
    import atheris
    # Third-party modules first, uninstrumented: coverage is wanted for our code only (and
    # instrumenting scipy costs a minute at start-up).
    import numpy  # noqa: F401
    import scipy.sparse  # noqa: F401
    try:
        import Stemmer  # noqa: F401
    except ImportError:
        pass

    with atheris.instrument_imports(include=["pyfast_nlp", "targets"]):
        import pyfast_nlp  # noqa: F401  (instrumented: Python-side coverage)
        import targets
    target = targets.TARGETS[name]
    import warnings

    warnings.simplefilter("error", RuntimeWarning)  # a NaN cast or overflow is a silent wrong answer
    seed = HERE / "corpus" / name
    seed.mkdir(parents=True, exist_ok=True)
    crashes = HERE / "crashes"
    crashes.mkdir(exist_ok=True)
    scratch = seed if grow else Path(tempfile.mkdtemp(prefix=f"pfn-corpus-{name}-"))
    args = [sys.argv[0], str(scratch)] + ([] if grow else [str(seed)])
    args += [f"-max_total_time={seconds}", "-rss_limit_mb=4096", "-timeout=20", "-max_len=4096",
             f"-artifact_prefix={crashes}/{name}-", "-print_final_stats=1"] + extra
    atheris.Setup(args, target)
    atheris.Fuzz()


def _replay(name: str, paths: list) -> int:
    import warnings

    import targets

    warnings.simplefilter("error", RuntimeWarning)

    target = targets.TARGETS[name]
    files = []
    for p in map(Path, paths):
        files += sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        target(f.read_bytes())
    print(f"{name}: {len(files)} inputs replayed, no failure")
    return len(files)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", nargs="?")
    ap.add_argument("--all", action="store_true", help="fuzz every target in turn, each in its own process")
    ap.add_argument("--time", type=int, default=60, help="seconds per target (default 60)")
    ap.add_argument("--replay", nargs="+", metavar="PATH", help="run these files/folders through the target")
    ap.add_argument("--grow", action="store_true", help="write new coverage back into fuzz/corpus/TARGET")
    ap.add_argument("--list", action="store_true")
    args, extra = ap.parse_known_args()
    sys.path.insert(0, str(HERE))
    if args.list:
        import targets

        print("\n".join(targets.TARGETS))
        return 0
    if args.all:
        import targets

        failed = []
        for name in targets.TARGETS:
            t0 = time.time()
            cmd = [sys.executable, __file__, name, "--time", str(args.time)] + (["--grow"] if args.grow else []) + extra
            rc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            stats = [ln for ln in rc.stdout.splitlines() if ln.startswith(("stat::number_of_executed_units", "#"))]
            runs = next((ln.split(":")[-1].strip() for ln in stats if "number_of_executed_units" in ln), "?")
            print(f"{name:26s} {time.time() - t0:6.1f} s  {runs:>8s} inputs  {'ok' if rc.returncode == 0 else 'FAILED'}",
                  flush=True)
            if rc.returncode != 0:  # the finding: the Python exception or sanitizer report, and the input
                err = rc.stdout
                at = max(err.find("=== Uncaught Python exception"), err.find("ERROR: AddressSanitizer"),
                         err.find("runtime error:"))
                print(err[at:][:4000] if at >= 0 else err[-4000:], file=sys.stderr)
                print("\n".join(ln for ln in err.splitlines() if "Test unit written" in ln), file=sys.stderr)
                failed.append(name)
        if failed:
            print("failed:", ", ".join(failed), file=sys.stderr)
        return 1 if failed else 0
    if not args.target:
        ap.error("name a target (--list shows them) or pass --all")
    if args.replay:
        _replay(args.target, args.replay)
        return 0
    _fuzz_one(args.target, args.time, args.grow, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
