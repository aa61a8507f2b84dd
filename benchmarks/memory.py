"""Peak memory of the scikit-learn transformer on the 60,000 MNIST training images.

What it measures
----------------
In a fresh process per variant: load the MNIST training set (``scatter.datasets.load_mnist``, no
download), prepare the input matrix ``X`` (60000, 784), then run
``scatter.sklearn.Scattering2D(J=3, L=8, shape=(28, 28), batch_size=1000).fit_transform(X)`` with the
other parameters at their defaults. Variants:

``float32``
    ``X = images.reshape(60000, 784).astype(np.float32) / 255``: float32 in, float32 features out.
``uint8``
    ``X`` is the ``uint8`` array as loaded; scikit-learn's validation casts it to float64, so the features
    are float64.

Reported, in MB (10^6 bytes):

baseline
    Resident memory (``VmRSS``) after importing scatter and loading the data, and after preparing ``X``.
peak during fit_transform
    The high-water mark of resident memory (``VmHWM``) over the call, after resetting it once ``X`` is
    ready (``/proc/self/clear_refs``), so the loading's own peak (decompression) does not count.
ru_maxrss
    ``resource.getrusage(RUSAGE_SELF).ru_maxrss``: the peak over the whole process (loading included).
tracemalloc peak
    With ``--tracemalloc``, in a second fresh process with ``tracemalloc`` started before loading (slow): the peak of the memory
    allocated through Python and NumPy during ``fit_transform`` (C++ temporaries of the FFT library are not
    seen), and the largest allocation sites at that peak.
X, output
    The sizes of the input matrix and of the feature matrix.

The target of the performance issue is a peak below 1.5 GB. Usage::

    python benchmarks/memory.py [--data-dir DIR] [--variants float32,uint8] [--quick] [--tracemalloc]
                                [--write-results | --no-write-results]

``--data-dir`` defaults to ``$SCATTER_DATA``; without MNIST files there, the script says so and exits
without measuring. ``--quick`` transforms the first 6000 images only and does not write. Results go to the
section ``## Memory (benchmarks/memory.py)`` of ``benchmarks/RESULTS.md`` (other sections are kept).
"""

import argparse
import datetime
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402

SECTION_TITLE = "## Memory (benchmarks/memory.py)"
SCRIPT = Path(__file__).resolve()
TARGET_MB = 1500.0
BATCH_SIZE = 1000
VARIANTS = ("float32", "uint8")
QUICK_N = 6000
CHILD_TIMEOUT_S = 3600
MB = 1e6


def proc_status(field):
    """A ``kB`` field of ``/proc/self/status`` in bytes (None where there is no /proc)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak():
    """Reset ``VmHWM`` to the current resident size (Linux >= 4.0); whether it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def prepare(variant, n):
    """The MNIST training images as the transformer's input ``X`` for ``variant``."""
    import numpy as np

    from scatter.datasets import load_mnist

    images, _ = load_mnist(os.environ["SCATTER_DATA"], split="train", n=n, download=False)
    rss_loaded = proc_status("VmRSS")
    flat = images.reshape(images.shape[0], -1)
    X = flat.astype(np.float32) / np.float32(255) if variant == "float32" else flat
    return X, rss_loaded


def child_main(job):
    traced = job.get("tracemalloc", False)
    if traced:
        import tracemalloc

        tracemalloc.start()
    import scatter.sklearn

    X, rss_loaded = prepare(job["variant"], job["n"])
    result = {"rss_loaded": rss_loaded, "rss_ready": proc_status("VmRSS"), "x_bytes": X.nbytes}
    transformer = scatter.sklearn.Scattering2D(J=3, L=8, shape=(28, 28), batch_size=BATCH_SIZE)
    if traced:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        features = transformer.fit_transform(X)
        current, peak = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot()
        top = snapshot.statistics("lineno")[:6]
        result.update(
            traced_before=before,
            traced_peak=peak,
            traced_after=current,
            top_sites=[f"{s.size / MB:.0f} MB at {s.traceback[0].filename}:{s.traceback[0].lineno}" for s in top],
        )
    else:
        result["peak_reset"] = reset_peak()
        start = time.perf_counter()
        features = transformer.fit_transform(X)
        result["seconds"] = time.perf_counter() - start
        result["hwm"] = proc_status("VmHWM")
        result["rss_after"] = proc_status("VmRSS")
        # ru_maxrss is in kB on Linux.
        result["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result.update(out_bytes=features.nbytes, out_shape=list(features.shape), out_dtype=str(features.dtype))
    _results.print_result(result)
    return 0


def find_mnist(data_dir):
    """The directory to load MNIST from, or None when its training files are not there."""
    if not data_dir:
        return None
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    for folder in (Path(data_dir), Path(data_dir) / "mnist"):
        if all((folder / n).exists() or (folder / (n + ".gz")).exists() for n in names):
            return str(data_dir)
    return None


def fmt(value):
    return "n/a" if value is None else f"{value / MB:,.0f}"


HEADER = ["Variant", "Images", "RSS after loading", "RSS with X", "Peak during fit_transform", "ru_maxrss",
          "< 1.5 GB", "tracemalloc peak", "X", "Output", "Time (s)"]


def table_rows(results, n):
    rows = []
    for variant, (r, t) in results.items():
        if "error" in r:
            rows.append([variant, n, f"error: {r['error']}"] + [""] * 8)
            continue
        peak = r["hwm"] if r.get("peak_reset") else None
        worst = max(v for v in (peak, r["ru_maxrss"]) if v is not None)
        traced = f"{t['traced_peak'] / MB:,.0f} (from {t['traced_before'] / MB:,.0f})" if "traced_peak" in t else "not run"
        rows.append(
            [
                variant,
                f"{n:,}",
                fmt(r["rss_loaded"]),
                fmt(r["rss_ready"]),
                fmt(peak),
                fmt(r["ru_maxrss"]),
                "yes" if worst < TARGET_MB * MB else "NO",
                traced,
                f"{fmt(r['x_bytes'])} ({'float32' if variant == 'float32' else 'uint8'})",
                f"{fmt(r['out_bytes'])} ({r['out_dtype']}, {r['out_shape'][0]:,} x {r['out_shape'][1]:,})",
                f"{r['seconds']:.1f}",
            ]
        )
    return rows


def report(results, n, args, seconds, load_before):
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        SECTION_TITLE,
        "",
        f"Run on {date} in {seconds:.0f} s with `{' '.join(['python', 'benchmarks/memory.py', *args.argv])}`; "
        f"1-minute load average before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} (it perturbs the "
        "times, not the memory figures).",
        "",
        f"`scatter.sklearn.Scattering2D(J=3, L=8, shape=(28, 28), batch_size={BATCH_SIZE}).fit_transform(X)` on "
        f"the first {n:,} MNIST training images, each variant in a fresh process. Memory in MB (10^6 bytes). "
        "RSS: resident memory after loading the data and after preparing X. Peak during fit_transform: VmHWM "
        "reset once X is ready. ru_maxrss: peak of the whole process. tracemalloc peak (with --tracemalloc): "
        "memory allocated through Python/NumPy at the peak of fit_transform (and before it), in a separate process. "
        f"Target: peak below {TARGET_MB / 1000:g} GB.",
        "",
        _results.markdown_table(HEADER, table_rows(results, n)),
        "",
    ]
    for variant, (r, t) in results.items():
        if t.get("top_sites"):
            parts += [f"Largest allocations at the end of fit_transform ({variant}): " + "; ".join(t["top_sites"]), ""]
    return "\n".join(parts)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("SCATTER_DATA"), help="MNIST folder (default: $SCATTER_DATA)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated subset of {','.join(VARIANTS)}")
    parser.add_argument("--quick", action="store_true", help=f"first {QUICK_N} images only, no writing")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace NumPy/Python allocations (slow)")
    return _results.add_output_options(parser, "Memory section")


def main(argv=None):
    import json

    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.child:
        return child_main(json.loads(args.child))
    args.argv = argv
    data_dir = find_mnist(args.data_dir)
    if data_dir is None:
        print(
            f"MNIST training files not found in {args.data_dir!r} (nor in its mnist/ folder): pass --data-dir or set "
            "SCATTER_DATA; nothing measured.",
            file=sys.stderr,
        )
        return 0
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    n = QUICK_N if args.quick else 60000
    env = {"SCATTER_DATA": data_dir}
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    results = {}
    for variant in variants:
        _results.log(f"{variant}: {n} images ...")
        job = {"variant": variant, "n": n}
        plain = _results.run_child(SCRIPT, job, CHILD_TIMEOUT_S, env)
        traced = _results.run_child(SCRIPT, {**job, "tracemalloc": True}, CHILD_TIMEOUT_S, env) if args.tracemalloc else {}
        results[variant] = (plain, traced)
        if "error" in plain:
            _results.log(f"  error: {plain['error']}")
        else:
            _results.log(f"  peak {fmt(plain['hwm'])} MB, ru_maxrss {fmt(plain['ru_maxrss'])} MB")
    section = report(results, n, args, time.perf_counter() - start, load_before)
    print(section)
    if args.write_results if args.write_results is not None else not args.quick:
        _results.write_section(SECTION_TITLE, section)
        _results.log(f"wrote {_results.RESULTS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
