"""Throughput of feature extraction on Dask against the in-process transform.

Workload: MNIST-sized images (28x28 float32; random values: the cost does not depend on them), 2D scattering
J=2, L=8, order 2 (81 channels of 7x7, 3969 features per image), read from a ``.npy`` file on disk.

Peers, measured in the same run:

- ``in-process``: ``scatter.sklearn.Scattering2D(J=2).fit(x).transform(x)`` on the memory-mapped file
  (batches in sequence, each on all the CPUs through the core transform's threads), and the same on one thread
  (what every Dask task runs);
- ``dask transform, k workers``: the same transformer on a dask array read chunk by chunk from the file, computed
  on a ``LocalCluster(n_workers=k, threads_per_worker=1, processes=True)`` (no dashboard, no worker profiler,
  no ``MALLOC_TRIM_THRESHOLD_``, as ``scatter extract --scheduler local`` starts it) and gathered into memory;
- ``scatter extract --scheduler, k workers``: the command line end to end on that cluster (reading, transform,
  writing the ``.npy`` output through the client).

Each cluster is started once (its start-up time is reported apart) and warmed up (every worker imports scatter
and loads the Numba kernels from the on-disk cache) before the timed runs; the in-process transform is warmed up
too. Throughput is images per second, the median and the best of ``--repeats`` runs, and the ratio of the
median to the in-process median. Prints a Markdown table and writes it as the section
``## Feature extraction on Dask (benchmarks/dask_extract.py)`` of ``benchmarks/RESULTS.md`` (``--out``; other
sections are kept).

Run: ``PYTHONPATH=. python benchmarks/dask_extract.py [--n-images 20000] [--repeats 3]``.
"""

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import RESULTS_PATH, write_section  # noqa: E402

TITLE = "## Feature extraction on Dask (benchmarks/dask_extract.py)"

SHAPE = (28, 28)
J = 2


def _warm_worker():
    """Import scatter and run a tiny transform, so that the Numba kernels are loaded before the timings."""
    import numpy as np

    from scatter.sklearn import Scattering2D

    x = np.zeros((2,) + SHAPE, np.float32)
    Scattering2D(J=J).fit(x).transform(x)
    return os.getpid()


def _timed(run, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def _row(label, workers, times, n_images, reference=None, startup=None):
    rates = [n_images / t for t in times]
    median = statistics.median(rates)
    ratio = "1.00" if reference is None else f"{median / reference:.2f}"
    start = "" if startup is None else f"{startup:.1f}"
    return [label, workers, f"{median:.0f}", f"{max(rates):.0f}", ratio, start], median


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=20000, help="images (default 20000)")
    parser.add_argument("--chunk", type=int, default=1000, help="images per Dask chunk (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per peer (default 3)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="cluster sizes (default 1 2)")
    parser.add_argument("--out", default=str(RESULTS_PATH), help="Markdown file whose section to replace")
    args = parser.parse_args(argv)

    import dask
    import dask.array as da
    from distributed import Client, LocalCluster

    from scatter.cli import _LOCAL_WORKER_CONFIG, _NpyRows
    from scatter.cli import main as scatter_main
    from scatter.sklearn import Scattering2D

    n = args.n_images
    rows = []
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    with tempfile.TemporaryDirectory(prefix="scatter-dask-bench-") as tmp:
        source = Path(tmp) / "images.npy"
        np.save(source, np.random.default_rng(0).standard_normal((n,) + SHAPE).astype(np.float32))
        x = np.load(source, mmap_mode="r")

        estimator = Scattering2D(J=J).fit(x[:2])
        estimator.transform(x[:2])  # warm-up
        row, reference = _row("in-process", "-", _timed(lambda: estimator.transform(x), args.repeats), n)
        rows.append(row)
        print(" | ".join(map(str, row)), flush=True)
        # What each Dask task runs: the transformer's copy for tasks, its core transform on one thread.
        single = estimator._for_tasks()
        row, _ = _row("in-process, one thread", "-", _timed(lambda: single.transform(x), args.repeats), n, reference)
        rows.append(row)
        print(" | ".join(map(str, row)), flush=True)

        reader = _NpyRows(source, 2)
        X = da.from_array(reader, chunks=(args.chunk,) + SHAPE, asarray=False, meta=np.empty((0, 0, 0), np.float32))
        on_dask = Scattering2D(J=J).fit(X)
        for n_workers in args.workers:
            start = time.perf_counter()
            # As scatter extract --scheduler local starts its cluster (see scatter.cli._LOCAL_WORKER_CONFIG).
            with dask.config.set(_LOCAL_WORKER_CONFIG):
                cluster = LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            client = Client(cluster)
            client.run(_warm_worker)
            startup = time.perf_counter() - start
            try:
                times = _timed(lambda: client.compute(on_dask.transform(X)).result(), args.repeats)
                row, _ = _row("dask transform", n_workers, times, n, reference, startup)
                rows.append(row)
                print(" | ".join(map(str, row)), flush=True)
                argv = ["extract", str(source), str(Path(tmp) / "features.npy"), "--transform", "2d", "--J", str(J)]
                argv += ["--batch-size", str(args.chunk), "--scheduler", cluster.scheduler_address, "-q"]
                times = _timed(lambda: scatter_main(argv), args.repeats)
                row, _ = _row("scatter extract --scheduler", n_workers, times, n, reference)
                rows.append(row)
                print(" | ".join(map(str, row)), flush=True)
            finally:
                client.close()
                cluster.close()

    header = ["Peer", "Workers", "Images/s (median)", "Images/s (best)", "Ratio to in-process", "Cluster start-up (s)"]
    table = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    table += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    text = "\n".join(
        [
            TITLE,
            "",
            f"{n} images 28x28 float32, 2D scattering J={J}, L=8, order 2 (3969 features per image), "
            f"chunks of {args.chunk} images, {args.repeats} timed runs per peer after a warm-up. "
            f"Machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}"
            + (f"; 1-minute load average {load_start:.1f} at the start, {load[0]:.1f} at the end." if load else "."),
            "",
            *table,
            "",
            "Reading the figures: a worker runs one task at a time on one thread, so one worker compares with the",
            "in-process transform on one thread, and k workers can at best reach k times that, up to the number of",
            "free cores. A load average above the CPU count means other processes were competing for the CPUs:",
            "the figures are then perturbed, and adding a worker may not add a free core.",
            "",
            "Produced by `benchmarks/dask_extract.py`.",
            "",
        ]
    )
    print("\n" + "\n".join(table))
    write_section(TITLE, text, args.out)
    print(f"\n{args.out}")


if __name__ == "__main__":
    main()
