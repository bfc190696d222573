"""Run every example in examples/ and fail if any fails (`make examples`).

Python examples run with this interpreter (the project's .venv under
make); R examples (*.R) with Rscript, when Rscript is installed. Each gets
--plot-dir, a fresh directory under one temporary root (or --plot-dir).

    python examples/run_all.py [--plot-dir DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def commands(plot_root):
    """(name, argv) for every example, Python first, then R."""
    for script in sorted(HERE.glob("*.py")):
        if script.name == Path(__file__).name or script.name.startswith("_"):
            continue
        yield script.name, [sys.executable, str(script), "--plot-dir", str(plot_root / script.stem)]
    rscript = shutil.which("Rscript")
    for script in sorted(HERE.glob("*.R")):
        if rscript is None:
            yield script.name, None
        else:
            yield script.name, [rscript, str(script), "--plot-dir", str(plot_root / script.stem)]


def environment():
    """As `make` sets it: R finds the package in .Rlib and reticulate this Python."""
    env = dict(os.environ)
    rlib = HERE.parent / ".Rlib"
    if rlib.is_dir() and "R_LIBS" not in env:
        env["R_LIBS"] = str(rlib)
    env.setdefault("TORCHLINREG_PYTHON", sys.executable)
    return env


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plot-dir", help="root for the examples' figures (default: a temp dir)")
    args = parser.parse_args(argv)
    plot_root = Path(args.plot_dir or tempfile.mkdtemp(prefix="torchlinreg-examples-"))
    results = []
    for name, argv_ in commands(plot_root):
        if argv_ is None:
            print(f"== {name}: FAILED (Rscript not found)", flush=True)
            results.append((name, "no Rscript", 0.0))
            continue
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        code = subprocess.run(argv_, cwd=HERE.parent, env=environment()).returncode
        seconds = time.perf_counter() - start
        results.append((name, "ok" if code == 0 else f"exit {code}", seconds))
        print(flush=True)
    print(f"figures under {plot_root}")
    for name, status, seconds in results:
        print(f"{name:28s} {status:12s} {seconds:6.1f} s")
    failed = [name for name, status, _ in results if status != "ok"]
    print(f"{len(results) - len(failed)} of {len(results)} examples passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
