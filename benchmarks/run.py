"""Run every benchmark side by side and write benchmarks/RESULTS.md (``make bench``).

``--quick`` runs smaller sizes (a smoke test of the harness, in about a
minute); the numbers in RESULTS.md come from a full run. ``--only`` picks
benchmarks by number, e.g. ``--only 1 4``.
"""
import argparse
import datetime
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_full_batch  # noqa: E402
import bench_memory  # noqa: E402
import bench_minibatch  # noqa: E402
import bench_r  # noqa: E402
import bench_scaling  # noqa: E402
from common import machine, warm_up  # noqa: E402


def _s(seconds):
    return "n/a" if seconds is None else f"{seconds:.3f} s"


def _verdict(ok):
    return "**met**" if ok else "**missed**"


def report_full_batch(r):
    t = r["times"]
    ours = t["torchlinreg (gram engine)"]
    loop = next(v for k, v in t.items() if k.startswith("tutorial autograd loop"))
    lines = [f"## 1. Full batch: n = {r['n']:,}, p = {r['p']}, Adam, {r['steps']:,} steps, "
             "every step tracked", "",
             "| method | time | time / torchlinreg |", "|---|---:|---:|"]
    lines += [f"| {k} | {_s(v)} | {'n/a' if v is None else f'{v / ours:.2f}'} |" for k, v in t.items()]
    lm = t.get("R lm()")
    lines += ["", "Autograd loops ran for fewer steps; their time is the per-step time × 1,000 "
              "(each step is the same full pass over the rows). R's time is `system.time(lm(y ~ ., "
              "data))` inside one R session (reading the data not timed); Python times are "
              "medians of repeated calls in a warm process (the very first optimizer step of a "
              "process imports parts of torch, about 2-3 s once).", "",
              f"- torchlinreg's coefficients after 1,000 steps vs exact OLS: max relative "
              f"difference {r['max_rel_diff_vs_ols']:.1e}; lm()'s first coefficients match "
              f"ols() to 1e-8: {r['lm_coef_matches']}.",
              f"- Target: no slower than lm(): {_verdict(lm is not None and ours <= lm)} "
              f"({'lm() not available: ' + str(r['lm_error']) if lm is None else f'lm() time / torchlinreg time = {lm / ours:.2f}'}).",
              f"- Target: >= 30x faster than the autograd loop: {_verdict(loop / ours >= 30)} "
              f"({loop / ours:.0f}x)."]
    return lines


def report_minibatch(r):
    per = r["per_epoch"]
    ours = per["torchlinreg (gram engine)"][0]
    lines = [f"## 2. Minibatch SGD: n = {r['n']:,}, p = {r['p']}, batch {r['batch_size']}, "
             f"{r['epochs']} epochs", "",
             "| method | s / epoch | rows / s | how measured | rows/s vs torchlinreg |",
             "|---|---:|---:|---|---:|"]
    for k, (sec, how) in per.items():
        lines.append(f"| {k} | {sec:.3f} | {r['n'] / sec:,.0f} | {how} | {ours / sec:.2f} |")
    loader = per["tutorial Dataset + DataLoader loop"][0]
    sgd = per["sklearn SGDRegressor (penalty=None, batch size 1)"][0]
    lines += ["", f"- torchlinreg's training loss after the epochs: {r['final_loss']:.5f} "
              f"(exact least squares: {r['exact_loss']:.5f}).",
              f"- Target: >= 10x the DataLoader loop's rows/s: {_verdict(loader / ours >= 10)} "
              f"({loader / ours:.1f}x).",
              f"- Target: faster per epoch than SGDRegressor: {_verdict(ours < sgd)} "
              f"({sgd / ours:.2f}x its speed)."]
    if ours >= sgd:
        per_batch = ours / (r["n"] / r["batch_size"]) * 1e6
        lines.append(f"  Reason: every minibatch is one `optimizer.step()` of a torch optimizer "
                     "called from Python, as the engine must (so every torch optimizer behaves "
                     "as in torch), plus its closed-form gradient: about "
                     f"{per_batch:.0f} µs per batch of {r['batch_size']} rows here, of which the "
                     "step (with torch's profiling wrapper) is about half. SGDRegressor makes "
                     "its per-row updates in compiled Cython: "
                     f"{sgd / r['n'] * 1e6:.2f} µs a row, {sgd / r['n'] * r['batch_size'] * 1e6:.0f} µs "
                     f"per {r['batch_size']} rows.")
    return lines


def report_r(r):
    if "skipped" in r:
        return ["## 3. From R: torch_lm() vs the Python function", "", f"Not run: {r['skipped']}"]
    big = r["torch_lm_large_s"] / r["python_bridge_large_s"] - 1
    return [f"## 3. From R: torch_lm() vs the Python functions (1,000 Adam steps)", "",
            "| data | torch_lm() in R | bridge.fit_matrix() in Python | torchlinreg.fit() in Python |",
            "|---|---:|---:|---:|",
            f"| mtcars (mpg ~ .) | {_s(r['torch_lm_mtcars_s'])} | {_s(r['python_bridge_mtcars_s'])} | "
            f"{_s(r['python_fit_mtcars_s'])} |",
            f"| n = {r['n']:,}, p = {r['p']} | {_s(r['torch_lm_large_s'])} | "
            f"{_s(r['python_bridge_large_s'])} | {_s(r['python_fit_large_s'])} |", "",
            "`bridge.fit_matrix()` is the Python function torch_lm() calls: the fit plus fitted "
            "values, residuals and inference. torch_lm() adds model.frame/model.matrix and "
            "the conversions.", "",
            f"- Target: the R layer adds <= 20% on the large case: {_verdict(big <= 0.2)} "
            f"(+{big:.0%} over fit_matrix; "
            f"+{r['torch_lm_large_s'] / r['python_fit_large_s'] - 1:.0%} over fit())."]


def report_memory(r):
    lines = [f"## 4. Peak memory: n = {r['n']:,}, p = {r['p']}, float32", "",
             "| engine | data | peak RSS over the process before the data | ratio to data |",
             "|---|---:|---:|---:|"]
    for engine in ("gram", "autograd"):
        m = r[engine]
        if "error" in m:
            lines.append(f"| {engine} | failed: {m['error'][-120:]} | | |")
            continue
        lines.append(f"| {engine} | {m['data_mib']:.0f} MiB | {m['fit_peak_over_baseline_mib']:.0f} MiB "
                     f"| {m['ratio_to_data']:.2f} |")
    g = r["gram"]
    if "error" not in g:
        lines += ["", "Measured in a fresh process: the peak resident size during the fit (VmHWM, "
                  "reset by /proc/self/clear_refs once the data exist) minus the resident size "
                  "after importing torch and before making the data; the data itself counts as "
                  f"1.0. Peak reset worked: {g.get('peak_reset')}.", "",
                  f"- Target: <= 1.5x the data (gram engine, the default): "
                  f"{_verdict(g['ratio_to_data'] <= 1.5)} ({g['ratio_to_data']:.2f}x)."]
    return lines


def report_scaling(r):
    lines = [f"## 5. Scaling: {r['steps']:,} Adam steps, every step tracked", "",
             "| n | p | torchlinreg | numpy lstsq |", "|---:|---:|---:|---:|"]
    for row in r["by_n"] + r["by_p"]:
        lines.append(f"| {row['n']:,} | {row['p']} | {_s(row['torchlinreg_s'])} | {_s(row['lstsq_s'])} |")
    lines += ["", "The statistics cost one O(n p²) pass; the 1,000 steps then cost O(p²) each, "
              "independent of n."]
    if r.get("plot"):
        lines += ["", f"![scaling]({r['plot']})"]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a minute or so")
    parser.add_argument("--only", nargs="*", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"))
    parser.add_argument("--render", action="store_true",
                        help="rewrite RESULTS.md from RESULTS.json without running anything")
    args = parser.parse_args(argv)
    if args.render:
        return render(args.output)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    warm_up()
    info = machine()
    results, sections = {}, []
    steps = {
        1: ("full_batch", lambda: bench_full_batch.run(args.quick), report_full_batch),
        2: ("minibatch", lambda: bench_minibatch.run(args.quick), report_minibatch),
        3: ("r", lambda: bench_r.run(args.quick), report_r),
        4: ("memory", lambda: bench_memory.run(HERE, args.quick), report_memory),
        5: ("scaling", lambda: bench_scaling.run(HERE, args.quick), report_scaling),
    }
    for number in args.only:
        name, run, report = steps[number]
        print(f"benchmark {number} ({name}) ...", flush=True)
        results[name] = run()
        sections += report(results[name]) + [""]
        print("\n".join(report(results[name])), flush=True)
    elapsed = time.perf_counter() - started
    header = ["# Benchmarks", "",
              f"Run by `make bench` (`benchmarks/run.py{' --quick' if args.quick else ''}`) on "
              f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC in {elapsed / 60:.1f} min.",
              "", f"Machine: {info['cpu']}, {info['cores']} cores ({info['torch_threads']} torch "
              f"threads), {info['memory_gib']} GiB; Python {info['python']}, torch {info['torch']}, "
              f"numpy {info['numpy']}, scikit-learn {info['sklearn']}, {info['r']}. "
              f"Load average (1 min) at start {load_before:.1f}, at end {os.getloadavg()[0]:.1f}: "
              "other work on this shared 2-core machine makes single timings noisy; ratios "
              "between methods measured in the same minute are the robust numbers.", ""]
    header += ["Reproduce with `make bench` or `.venv/bin/python benchmarks/run.py [--quick] "
               "[--only 1 4]` (R_LIBS pointing at the installed R package for benchmark 3); "
               "raw numbers in `RESULTS.json`. torchlinreg runs with its defaults "
               "(`engine=\"auto\"`, i.e. the sufficient-statistics engine, float64) unless "
               "a row says otherwise.", ""]
    if args.quick:
        header += ["**Quick run: smaller sizes than the targets name; not the reference numbers.**", ""]
    with open(args.output, "w") as f:
        f.write("\n".join(header + sections))
    with open(os.path.splitext(args.output)[0] + ".json", "w") as f:
        json.dump({"machine": info, "quick": args.quick, "results": results}, f, indent=1,
                  default=str)
    print(f"wrote {args.output} in {elapsed:.0f} s")


REPORTS = {"full_batch": report_full_batch, "minibatch": report_minibatch, "r": report_r,
           "memory": report_memory, "scaling": report_scaling}


def render(output):
    """Rewrite the sections of RESULTS.md from RESULTS.json (after changing the wording)."""
    with open(os.path.splitext(output)[0] + ".json") as f:
        stored = json.load(f)
    with open(output) as f:
        text = f.read()
    header = text[: text.index("## ")]
    sections = []
    for name, result in stored["results"].items():
        sections += REPORTS[name](result) + [""]
    with open(output, "w") as f:
        f.write(header + "\n".join(sections))


if __name__ == "__main__":
    main()
