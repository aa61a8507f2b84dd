"""Throughput of 2D scattering against image size and against J: scatter and Kymatio 0.3.0.

What it measures
----------------
Images per second of the 2D transform (L = 8, order 2, float32 batches):

- against the image size ``n x n`` for n in 32, 64, 128, 256, 512, at J = 3;
- against J in 1 .. 5, at 128 x 128;

for scatter (its defaults: one thread per CPU), Kymatio's torch frontend on the CPU
(``torch.set_num_threads(os.cpu_count())``, under ``torch.no_grad()``) and, unless ``--no-numpy``,
Kymatio's NumPy frontend; the transforms are built exactly as in ``speed.py``.

How
---
Every (implementation, point) runs in a fresh process. The child builds the transform, calls it on one
image (it compiles or loads scatter's Numba kernels and is not timed), then sizes the batch so that a call takes about ``--target`` seconds (default 2 s,
at most :data:`MAX_BATCH` images; :func:`calibrate_batch`) and times ``--repeats`` calls of that batch (fewer once they have taken
``--budget`` seconds). Throughput is the batch size over the median time.

Output: a table per sweep (throughputs and scatter's ratio to each peer) printed and written to the section
``## Scaling (benchmarks/scaling.py)`` of ``benchmarks/RESULTS.md`` (other sections are kept), and the
figure ``benchmarks/scaling.png`` (two panels, log scales), both written atomically.

Usage::

    python benchmarks/scaling.py [--repeats N] [--target S] [--no-numpy] [--no-torch] [--quick]
                                 [--png PATH] [--write-results | --no-write-results]

``--quick`` is a smoke run (sizes 32 and 64, J 1 and 2, batches of about 0.5 s, one timed call, no
Kymatio NumPy) that writes nothing unless ``--png`` or ``--write-results`` is given.
"""

import argparse
import datetime
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402
import speed  # noqa: E402

SECTION_TITLE = "## Scaling (benchmarks/scaling.py)"
SCRIPT = Path(__file__).resolve()
PNG_PATH = Path(__file__).resolve().parent / "scaling.png"
SIZES = (32, 64, 128, 256, 512)
SIZE_J = 3
JS = (1, 2, 3, 4, 5)
J_SIZE = 128
L = 8
QUICK_SIZES = (32, 64)
QUICK_JS = (1, 2)
MAX_BATCH = 4096
CHILD_TIMEOUT_S = 1800
IMPLEMENTATIONS = ("scatter", "kymatio-torch", "kymatio-numpy")
STYLES = {"scatter": ("C0", "o"), "kymatio-torch": ("C3", "s"), "kymatio-numpy": ("C1", "^")}


def workload(n, J, batch=1):
    return speed.Workload(f"{n}x{n}-J{J}", 2, batch, (n, n), {"J": J, "L": L})


# --------------------------------------------------------------------------------------------------------
# Child side.
# --------------------------------------------------------------------------------------------------------


def measure_point(implementation, n, J, target_s, repeats, budget_s):
    """Throughput of one implementation at one (size, J), batch sized to take about ``target_s`` per call."""
    import numpy as np

    w = workload(n, J)
    start = time.perf_counter()
    transform = speed.BUILDERS[implementation](w)
    construct_s = time.perf_counter() - start
    start = time.perf_counter()
    transform(speed.make_batch(w, 1, np.float32))
    warmup_s = time.perf_counter() - start
    batch = calibrate_batch(transform, w, target_s)
    x = speed.make_batch(w, batch, np.float32)
    runs = []
    while len(runs) < repeats and sum(runs) < budget_s:
        start = time.perf_counter()
        transform(x)
        runs.append(time.perf_counter() - start)
    return {
        "construct_s": construct_s,
        "warmup_s": warmup_s,
        "batch": batch,
        "runs_s": runs,
        "throughput": batch / statistics.median(runs),
    }


def calibrate_batch(transform, w, target_s):
    """A batch size whose call takes about ``target_s``.

    A call costs a fixed overhead plus a cost per image. The batch doubles until a call takes at least a third
    of ``target_s`` and doubling the batch costs at least 1.6 times as much (the per-image cost dominates),
    or until a call takes ``target_s``; the size is then extrapolated linearly from the last call.
    """
    import numpy as np

    def seconds(batch):
        """Best of two calls: one call slowed by another process should not stop the search."""
        x = speed.make_batch(w, batch, np.float32)
        best = math.inf
        for _ in range(2):
            start = time.perf_counter()
            transform(x)
            best = min(best, time.perf_counter() - start)
        return max(best, 1e-6)

    batch, t = 1, seconds(1)
    while batch < MAX_BATCH and t < target_s:
        t2 = seconds(2 * batch)
        batch, dominated, t = 2 * batch, t2 >= 1.6 * t, t2
        if dominated and t >= target_s / 3:
            break
    return int(min(MAX_BATCH, max(1, round(batch * target_s / t))))


def child_main(job):
    result = measure_point(job["implementation"], job["n"], job["J"], job["target_s"], job["repeats"], job["budget_s"])
    _results.print_result(result)
    return 0


# --------------------------------------------------------------------------------------------------------
# Parent side.
# --------------------------------------------------------------------------------------------------------


def run_sweep(points, implementations, args):
    """``{(n, J): {implementation: result}}`` over ``points``, each in a fresh process."""
    results = {}
    for n, J in points:
        results[n, J] = {}
        for implementation in implementations:
            job = {"implementation": implementation, "n": n, "J": J, "target_s": args.target}
            job.update(repeats=args.repeats, budget_s=args.budget)
            load = os.getloadavg()[0]
            r = _results.run_child(SCRIPT, job, CHILD_TIMEOUT_S)
            r["load"] = load
            results[n, J][implementation] = r
            status = f"error: {r['error']}" if "error" in r else f"{r['throughput']:,.1f} img/s (batch {r['batch']})"
            _results.log(f"  {n}x{n} J={J} {implementation}: {status}")
    return results


def fmt_rate(value):
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def sweep_table(results, implementations, label):
    header = [label] + [f"{i} (img/s)" for i in implementations]
    header += [f"scatter / {i}" for i in implementations if i != "scatter"] + ["Load"]
    rows = []
    for (n, J), per in results.items():
        row = [f"{n}x{n}" if label == "Size" else str(J)]
        for i in implementations:
            r = per[i]
            row.append(f"error: {r['error']}" if "error" in r else f"{fmt_rate(r['throughput'])} (batch {r['batch']})")
        ours = per.get("scatter", {}).get("throughput")
        for i in implementations:
            if i == "scatter":
                continue
            theirs = per[i].get("throughput")
            row.append(f"{ours / theirs:.1f}x" if ours and theirs else "")
        row.append(f"{max(r['load'] for r in per.values()):.1f}")
        rows.append(row)
    return _results.markdown_table(header, rows)


def plot(size_results, j_results, implementations, path):
    """Two log-scale panels, throughput against size and against J, written atomically to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scatter._atomic import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    panels = (
        (axes[0], size_results, lambda key: key[0], f"image size n (n x n), J = {SIZE_J}", True),
        (axes[1], j_results, lambda key: key[1], f"J ({J_SIZE} x {J_SIZE})", False),
    )
    for ax, results, xkey, xlabel, logx in panels:
        for i in implementations:
            points = [(xkey(k), per[i]["throughput"]) for k, per in results.items() if "throughput" in per[i]]
            if points:
                color, marker = STYLES.get(i, ("k", "x"))
                ax.plot(*zip(*points), marker=marker, color=color, label=i)
        ax.set_yscale("log")
        if logx:
            ax.set_xscale("log", base=2)
        keys = [xkey(k) for k in results]
        ax.set_xticks(keys, [str(k) for k in keys])
        ax.set_xlabel(xlabel)
        ax.set_ylabel("images / s")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"2D scattering throughput (L = {L}, order 2, float32, {os.cpu_count()} cores)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def report(size_results, j_results, implementations, args, seconds, load_before, png):
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info = speed.machine_info()
    v = info["versions"]
    parts = [
        SECTION_TITLE,
        "",
        f"Run on {date} in {seconds:.0f} s with `{' '.join(['python', 'benchmarks/scaling.py', *args.argv])}`.",
        "",
        f"- CPU: {info['cpu']}; cores (os.cpu_count): {info['cores']}; RAM: {info['ram']}",
        f"- Python {info['python']}, numpy {v['numpy']}, scipy {v['scipy']}, numba {v['numba']}, "
        f"kymatio {v['kymatio']}, torch {v['torch']}, scatter {v['scatter']}",
        f"- Load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f}",
        f"- Settings: batches sized for about {args.target:g} s per call, median of up to {args.repeats} calls "
        f"(budget {args.budget:g} s)" + (", quick" if args.quick else ""),
        "",
        f"Images per second of 2D scattering (L = {L}, order 2, float32), each point in a fresh process after "
        "warm-up (Numba compilation excluded); the batch size of each point is in parentheses. Load: the "
        "highest 1-minute load average when the point's measurements started.",
        "",
        f"Against image size (J = {SIZE_J}):",
        "",
        sweep_table(size_results, implementations, "Size"),
        "",
        f"Against J ({J_SIZE} x {J_SIZE}):",
        "",
        sweep_table(j_results, implementations, "J"),
        "",
    ]
    if png is not None:
        inside = Path(png).resolve().parent == _results.RESULTS_PATH.parent
        parts += [f"![Throughput against image size and J]({Path(png).name if inside else Path(png).resolve()})", ""]
    return "\n".join(parts)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per point (default 3)")
    parser.add_argument("--target", type=float, default=2.0, help="seconds per timed call (default 2)")
    parser.add_argument("--budget", type=float, default=20.0, help="stop repeating after this many seconds (default 20)")
    parser.add_argument("--no-torch", action="store_true", help="skip Kymatio's torch frontend")
    parser.add_argument("--no-numpy", action="store_true", help="skip Kymatio's NumPy frontend")
    parser.add_argument("--quick", action="store_true", help="smoke run: small sweeps, short calls, no writing")
    parser.add_argument("--png", type=Path, help=f"figure path (default {PNG_PATH.name} beside this script)")
    return _results.add_output_options(parser, "Scaling section and the figure")


def main(argv=None):
    import importlib.util
    import json

    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.child:
        return child_main(json.loads(args.child))
    if args.repeats < 1 or args.target <= 0 or args.budget <= 0:
        raise SystemExit("--repeats must be at least 1, --target and --budget positive")
    args.argv = argv
    if args.quick:
        args.target, args.repeats = min(args.target, 0.5), 1
    implementations = ["scatter"]
    if not args.no_torch:
        if importlib.util.find_spec("torch") is None:
            _results.log("torch is not installed: Kymatio torch is skipped")
        else:
            implementations.append("kymatio-torch")
    if not args.no_numpy and not args.quick:
        implementations.append("kymatio-numpy")
    sizes, js = (QUICK_SIZES, QUICK_JS) if args.quick else (SIZES, JS)
    write = args.write_results if args.write_results is not None else not args.quick
    png = args.png if args.png is not None else (PNG_PATH if write else None)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    _results.log(f"throughput against size (J = {SIZE_J}):")
    size_results = run_sweep([(n, SIZE_J) for n in sizes], implementations, args)
    _results.log(f"throughput against J ({J_SIZE} x {J_SIZE}):")
    j_results = run_sweep([(J_SIZE, J) for J in js], implementations, args)
    if png is not None:
        plot(size_results, j_results, implementations, png)
        _results.log(f"wrote {png}")
    section = report(size_results, j_results, implementations, args, time.perf_counter() - start, load_before, png)
    print(section)
    if write:
        _results.write_section(SECTION_TITLE, section)
        _results.log(f"wrote {_results.RESULTS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
