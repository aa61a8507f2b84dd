"""Speed of scatter's spherical harmonic transform against ducc0 on the Gauss–Legendre grid.

What it measures
----------------
For each bandlimit ``L`` and batch size ``B``, the time per map of

inverse
    :func:`scatter.sphere.inverse_sht` (synthesis: coefficients -> maps on the ``(L, 2L - 1)`` GL grid),
forward
    :func:`scatter.sphere.forward_sht` (analysis: maps -> coefficients),

and, in the same run when ducc0 imports, of ``ducc0.sht.experimental.synthesis_2d`` and ``analysis_2d``
(geometry ``"GL"``, ``nthreads`` = the thread count scatter uses, i.e. ``os.cpu_count()``), called once per
map. Times are wall-clock seconds per map: the median and the best of ``--repeats`` timed calls on the whole
batch after one untimed warm-up call (Numba compilation or cache loading, the Legendre tables). The
construction time (first call at this ``L``, tables included) is reported separately. scatter and ducc0
take turns within each repeat, so both see the same load. The ratio column is scatter's median over
ducc0's median (below 1: scatter is faster).

The machine's 1-minute load average is printed with each row: on a shared machine the figures are noisy,
and multi-threaded timings suffer most when other processes compete for the cores.

Usage::

    python benchmarks/sht.py [--L 64,128,256,512] [--batches 1,64] [--repeats 5] [--out benchmarks/results_sht.md]
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scatter.sphere import forward_sht, inverse_sht  # noqa: E402

try:
    import ducc0
except ImportError:  # ducc0 is optional: scatter alone is timed
    ducc0 = None


def timed(fns, repeats):
    """``{name: (median wall, best wall, best CPU)}`` seconds of ``repeats`` calls of each function after one
    untimed call.

    The functions take turns within each repeat, so scatter and its peer see the same machine load. CPU time
    (``time.process_time``: every thread of the process) is the work done, whatever the competition for the
    cores.
    """
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    cpu = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {name: (statistics.median(t), min(t), min(cpu[name])) for name, t in times.items()}


def random_flm(rng, L, B):
    flm = rng.standard_normal((B, L, L)) + 1j * rng.standard_normal((B, L, L))
    flm = np.tril(flm)
    flm[..., 0] = flm[..., 0].real
    return flm


def measure(L, B, repeats, rng):
    n_threads = os.cpu_count() or 1
    flm = random_flm(rng, L, B)
    start = time.perf_counter()
    maps = inverse_sht(flm[:1], L)
    forward_sht(maps, L)
    setup = time.perf_counter() - start
    maps = inverse_sht(flm, L)
    rows = []
    fns = {"inverse": lambda: inverse_sht(flm, L), "forward": lambda: forward_sht(maps, L)}
    err = np.linalg.norm(forward_sht(maps, L) - flm) / np.linalg.norm(flm)
    if ducc0 is not None:
        alms = [np.concatenate([f[m:, m] for m in range(L)])[None] for f in flm]

        def d_inverse():
            for alm in alms:
                ducc0.sht.experimental.synthesis_2d(
                    alm=alm, lmax=L - 1, spin=0, geometry="GL", ntheta=L, nphi=2 * L - 1, nthreads=n_threads
                )

        def d_forward():
            for x in maps:
                ducc0.sht.experimental.analysis_2d(map=x[None], lmax=L - 1, spin=0, geometry="GL", nthreads=n_threads)

        fns.update({"ducc0 inverse": d_inverse, "ducc0 forward": d_forward})
    results = timed(fns, repeats)
    inv, fwd = results["inverse"], results["forward"]
    peer = {name: results["ducc0 " + name] for name in ("inverse", "forward") if "ducc0 " + name in results}
    load = os.getloadavg()[0]
    for name, ours in (("inverse", inv), ("forward", fwd)):
        row = {
            "L": L, "B": B, "transform": name, "median_ms": 1e3 * ours[0] / B, "best_ms": 1e3 * ours[1] / B,
            "cpu_ms": 1e3 * ours[2] / B, "setup_s": setup, "load": load, "round_trip": err,
        }
        if name in peer:
            row["ducc0_median_ms"] = 1e3 * peer[name][0] / B
            row["ducc0_best_ms"] = 1e3 * peer[name][1] / B
            row["ducc0_cpu_ms"] = 1e3 * peer[name][2] / B
            row["ratio"] = row["median_ms"] / row["ducc0_median_ms"]
        rows.append(row)
    return rows


def table(rows):
    head = (
        "| L | batch | transform | scatter median (ms/map) | scatter best | ducc0 median (ms/map) | ducc0 best "
        "| ratio (median) | scatter CPU (ms/map) | ducc0 CPU | first call at L (s) | round trip | load |\n"
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    lines = []
    for r in rows:
        has = "ratio" in r
        d_med = f"{r['ducc0_median_ms']:.3f}" if has else "-"
        d_best = f"{r['ducc0_best_ms']:.3f}" if has else "-"
        d_cpu = f"{r['ducc0_cpu_ms']:.3f}" if has else "-"
        ratio = f"{r['ratio']:.2f}" if has else "-"
        lines.append(
            f"| {r['L']} | {r['B']} | {r['transform']} | {r['median_ms']:.3f} | {r['best_ms']:.3f} | {d_med} | "
            f"{d_best} | {ratio} | {r['cpu_ms']:.3f} | {d_cpu} | {r['setup_s']:.2f} | {r['round_trip']:.1e} | "
            f"{r['load']:.1f} |"
        )
    return head + "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--L", default="64,128,256,512", help="bandlimits, comma separated")
    parser.add_argument("--batches", default="1,64", help="batch sizes, comma separated")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results_sht.md")),
                        help="Markdown file written with the table ('' to skip)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    for L in (int(v) for v in args.L.split(",")):
        for B in (int(v) for v in args.batches.split(",")):
            new = measure(L, B, args.repeats, rng)
            lines = table(new).splitlines()
            print("\n".join(lines if not rows else lines[2:]), flush=True)
            rows += new
    ducc_version = getattr(ducc0, "__version__", "not installed") if ducc0 is not None else "not installed"
    header = (
        f"## Spherical harmonic transform (benchmarks/sht.py)\n\n"
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, ducc0 {ducc_version} with nthreads={os.cpu_count()}, GL grid, float64, "
        f"{args.repeats} repeats after a warm-up, scatter and ducc0 taking turns. Wall time per map (median and best) "
        f"and CPU time per map (best; all threads). The load column is the 1-minute load average: above the CPU "
        f"count, other processes competed for the cores and the wall times are noisy.\n\n"
    )
    text = header + table(rows)
    print()
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
