"""How close scatter's grid transforms come to the cost of their own FFTs.

What it measures
----------------
For each workload of ``speed.py`` (W1-W5, float32, order 2):

scatter
    Seconds per call of scatter's transform on the whole batch, after warm-up (as ``speed.py`` builds and
    calls it), median of ``--repeats`` calls.
FFT limit
    Seconds of the FFTs alone that the same call performs, replayed at the same sizes, dtypes and keyword
    arguments, over the same chunks of the batch on the same threads, through the same functions
    (:mod:`scatter.grid._fft`: ``scipy.fft``, or FFTW with ``--fft fftw``): median of ``--repeats`` replays
    after one warm-up replay (in which FFTW plans).
scatter / FFT limit
    The ratio; the issue's target is at most 2.
FFT-only limit
    The same for the FFTs the transform performs when every low pass goes through transforms (Kymatio's
    algorithm: forward FFT of each modulus, product with the low pass, inverse FFT), that is with the low
    passes computed in space (``plans["lowpass"]``) turned off. scatter computes the low passes of the
    moduli no wavelet reads in space where that is cheaper, which removes FFTs from the first limit.

How the FFTs are recorded and replayed
--------------------------------------
In a fresh process, the transform is built and called once on the batch while every module of ``scatter``
that holds :mod:`scatter.grid._fft` sees a recording proxy instead, and every module that holds
:func:`scatter.grid._batch.map_chunks` sees a wrapper that notes its arguments (thread count, samples per
item) and which FFT calls each chunk makes (function, input shape and dtype, keyword arguments). The replay
then calls :func:`~scatter.grid._batch.map_chunks` with those arguments, and each chunk makes the same FFT
calls on input arrays allocated (aligned, as the transform's, by :func:`scatter.grid._fft.empty`, and filled
with normal random values) before the timing; outputs are allocated by the FFTs as in the transform.

In-place inverse FFTs (``ifft_inplace``) are replayed orthonormal instead of normalised by ``1/N``: both
scale by a constant in the same pass (pocketfft multiplies by the factor whenever it is not 1), but an
orthonormal transform keeps the magnitudes of a buffer that is transformed again and again, where ``1/N``
would drive it into subnormal numbers, which are slow. FFTW's are unnormalised (the transforms fold
``1/N`` into the filters) and are replayed as they are: their buffers grow into infinities and NaNs, which
FFTW transforms at the same speed (measured: 1.87 ms for 500 x 40 x 40 complex64 values, normal, NaN or
infinite). The inverse real FFTs may overwrite their input, so
each replay first copies its recorded input into a scratch buffer and transforms that; the copies (of
the small coarse spectra) are timed too, which makes the limit slightly larger than the FFTs alone.

FFTs called other than through :mod:`scatter.grid._fft` are not seen; the script reports an error when it
sees none at all.

Usage::

    python benchmarks/fft_limit.py [--workloads W1,W4] [--repeats N] [--quick] [--breakdown]
                                   [--fft {pocketfft,fftw}] [--native-fftw PREFIX]
                                   [--write-results | --no-write-results]

``--fft fftw`` measures scatter on FFTW (``fft="fftw"``, the ``scatter-fftw`` row of ``speed.py``) against
the replay of its FFTW calls, and writes its own section, ``## FFT limit, FFTW (benchmarks/fft_limit.py)``.
With ``--native-fftw PREFIX`` as well, the processes call the FFTW built for the CPU under ``PREFIX`` by
``benchmarks/native_fftw.py`` (``scatter-fftw-native`` in ``speed.py``), and the section is
``## FFT limit, native FFTW (benchmarks/fft_limit.py)``.

The transform, the replay of its FFTs and the replay of the FFT-only algorithm's are timed in turn, one call
of each per turn, in one fresh process per ``--rounds``: the three see the same state of the machine (a
shared 2-core machine's speed drifts by tens of percent from minute to minute, and from one process to the
next), and their ratios are paired measurements. The table goes to standard output and to the section
``## FFT limit (benchmarks/fft_limit.py)`` of ``benchmarks/RESULTS.md`` (other sections are kept).
"""

import argparse
import dataclasses
import datetime
import os
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402
import native_fftw  # noqa: E402
import speed  # noqa: E402

SECTION_TITLE = "## FFT limit (benchmarks/fft_limit.py)"
SCRIPT = Path(__file__).resolve()
CHILD_TIMEOUT_S = 1800
TARGET_RATIO = 2.0
#: FFT functions replayed orthonormal, and those replayed on a fresh copy of their input (see the docstring).
_INVERSE_INPLACE = {"ifft_inplace"}
_OVERWRITING = {"irfft"}
#: What a recorded call notes for an output buffer (``out=``) that the transform passes, and reuses.
REUSED = "reused"
#: The functions of :mod:`scatter.grid._fft` that transform (the others, like ``empty``, are not recorded).
FFT_FUNCTIONS = {"rfft_full", "ifft_inplace", "irfft"}


# --------------------------------------------------------------------------------------------------------
# Child side: record, replay, time.
# --------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FFTCall:
    """One call of a :mod:`scatter.grid._fft` function: its name, its first argument's shape and dtype, its
    keywords."""

    name: str
    shape: tuple
    dtype: str
    kwargs: tuple  # sorted (key, value) pairs, values hashable

    def describe(self):
        options = ", ".join(f"{k}={v}" for k, v in self.kwargs)
        return f"{self.name}({self.dtype}{list(self.shape)}{', ' + options if options else ''})"


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


class Recorder:
    """Notes the FFT calls of each chunk, per thread, and the arguments of ``map_chunks``."""

    def __init__(self):
        self.local = threading.local()
        self.lock = threading.Lock()
        self.chunks = []  # (chunk length, [FFTCall, ...]) in completion order
        self.map_calls = []  # (n_items, n_threads, samples_per_item)

    def fft_proxy(self, module):
        recorder = self

        class Proxy:
            def __getattr__(self, name):
                target = getattr(module, name)
                if name not in FFT_FUNCTIONS:
                    return target

                def call(x, *args, **kwargs):
                    calls = getattr(recorder.local, "calls", None)
                    if calls is not None:
                        if args:
                            raise RuntimeError(f"_fft.{name} called with positional options {args}; record them")
                        x_arr = np.asarray(x)
                        # An output buffer the transform reuses is noted as such; the replay reuses one too.
                        items = tuple(sorted((k, REUSED if k == "out" else _hashable(v))
                                             for k, v in kwargs.items() if not (k == "out" and v is None)))
                        calls.append(FFTCall(name, x_arr.shape, x_arr.dtype.str, items))
                    return target(x, *args, **kwargs)

                return call

        return Proxy()

    def map_chunks_wrapper(self, real_map_chunks):
        recorder = self

        def map_chunks(transform, x, out, n_threads, samples_per_item, **options):
            with recorder.lock:
                recorder.map_calls.append((x.shape[0], n_threads, samples_per_item, tuple(sorted(options.items()))))

            def recorded(chunk, *args):
                recorder.local.calls = []
                try:
                    return transform(chunk, *args)
                finally:
                    with recorder.lock:
                        recorder.chunks.append((len(chunk), recorder.local.calls))
                    recorder.local.calls = None

            return real_map_chunks(recorded, x, out, n_threads, samples_per_item, **options)

        return map_chunks


def record_transform(transform, x):
    """Call ``transform(x)`` once with the FFTs and ``map_chunks`` of every scatter module instrumented.

    Returns ``(map_args, calls_by_length)``: the single ``(n_items, n_threads, samples_per_item)`` of
    ``map_chunks`` and, per chunk length, the list of FFT calls of such a chunk.
    """
    from scatter.grid import _batch, _fft

    recorder = Recorder()
    patched = []
    for name, module in list(sys.modules.items()):
        if not (name == "scatter" or name.startswith("scatter.")) or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is _fft:
                patched.append((module, attr, value))
                setattr(module, attr, recorder.fft_proxy(_fft))
            elif value is _batch.map_chunks and module is not _batch:
                patched.append((module, attr, value))
                setattr(module, attr, recorder.map_chunks_wrapper(_batch.map_chunks))
    try:
        transform(x)
    finally:
        for module, attr, value in patched:
            setattr(module, attr, value)
    if len(recorder.map_calls) != 1:
        raise RuntimeError(f"expected one map_chunks call per transform, saw {len(recorder.map_calls)}")
    calls_by_length = {}
    for length, calls in recorder.chunks:
        if not calls:
            raise RuntimeError("no FFT call recorded: does scatter still call scatter.grid._fft through the module?")
        if calls_by_length.setdefault(length, calls) != calls:
            raise RuntimeError(f"two chunks of {length} items made different FFT calls")
    return recorder.map_calls[0], calls_by_length


def replay_plan(calls, only=None):
    """FFT calls to replay (optionally only those of the functions in ``only``), in-place inverses orthonormal."""
    plan = []
    for call in calls:
        if only is not None and call.name not in only:
            continue
        kwargs = dict(call.kwargs)
        if call.name in _INVERSE_INPLACE and kwargs.get("normalised", True):
            kwargs["orthonormal"] = True
        plan.append((call.name, (call.shape, call.dtype), kwargs))
    return plan


def make_buffers(plan, seed):
    """One aligned input array per distinct (shape, dtype) of ``plan``, filled with standard normal values."""
    from scatter.grid import _fft

    rng = np.random.default_rng(seed)
    buffers = {}
    for _, key, _ in plan:
        if key not in buffers:
            shape, dtype = key
            values = rng.standard_normal(shape)
            if np.dtype(dtype).kind == "c":
                values = values + 1j * rng.standard_normal(shape)
            buffers[key] = _fft.empty(shape, dtype)
            buffers[key][...] = values
    return buffers


def replay(map_args, calls_by_length, only=None):
    """A function that replays the recorded FFTs over the same chunks and threads; and its buffers' bytes."""
    from scatter.grid import _fft
    from scatter.grid._batch import map_chunks

    n_items, n_threads, samples_per_item, options = map_args
    options = dict(options)
    index = np.arange(n_items)
    sink = np.zeros(n_items)
    # Chunk boundaries are those map_chunks makes; each chunk (identified by its first index) gets its own
    # buffers, since chunks run at the same time. A dry run over the indices collects the boundaries.
    starts = {}

    def collect(chunk, out_chunk, *workers):
        starts[int(chunk[0])] = len(chunk)

    map_chunks(collect, index, sink, n_threads, samples_per_item, **options)
    per_chunk = {}
    for start, length in starts.items():
        plan = replay_plan(calls_by_length[length], only)
        per_chunk[start] = (plan, make_buffers(plan, seed=start))
    n_bytes = sum(b.nbytes for _, buffers in per_chunk.values() for b in buffers.values())
    functions = {name: getattr(_fft, name) for name in {c.name for calls in calls_by_length.values() for c in calls}}
    # Scratch copies of the inputs of the FFTs that may overwrite them, per chunk.
    scratch = {
        start: {key: _fft.empty(*key) for name, key, _ in plan if name in _OVERWRITING}
        for start, (plan, buffers) in per_chunk.items()
    }

    # Output buffers of the calls into a buffer the transform reuses (the spectra of real signals), per chunk.
    outputs = {
        start: {key: _fft.empty(key[0], np.result_type(key[1], np.complex64))
                for _, key, kwargs in plan if kwargs.get("out") == REUSED}
        for start, (plan, buffers) in per_chunk.items()
    }

    def run_chunk(chunk, out_chunk, *workers):  # the FFT calls carry their recorded workers
        plan, buffers = per_chunk[int(chunk[0])]
        copies = scratch[int(chunk[0])]
        for name, key, kwargs in plan:
            if kwargs.get("out") == REUSED:
                functions[name](buffers[key], **dict(kwargs, out=outputs[int(chunk[0])][key]))
            elif name in _OVERWRITING:
                np.copyto(copies[key], buffers[key])
                functions[name](copies[key], **kwargs)
            else:
                functions[name](buffers[key], **kwargs)

    def run():
        map_chunks(run_chunk, index, sink, n_threads, samples_per_item, **options)

    return run, n_bytes


def fft_only(transform, dtype):
    """Turn off the transform's low passes in space for ``dtype``: every low pass goes through FFTs."""
    plans = transform._plans(np.dtype(dtype))
    transform._plan_cache[np.dtype(dtype)] = dict(plans, lowpass=[None] * len(plans["lowpass"]))


def interleaved_runs(functions, repeats, budget_s):
    """Seconds of each of ``functions`` (a dict of callables), called in turn, one call each per turn, for
    ``repeats`` turns or until ``budget_s`` seconds have passed (at least one turn)."""
    runs = {name: [] for name in functions}
    turns = runs[next(iter(functions))]  # one entry per completed turn
    start = time.perf_counter()
    while not turns or (len(turns) < repeats and time.perf_counter() - start < budget_s):
        for name, fn in functions.items():
            begin = time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - begin)
    return runs


def measure_fft_limit(workload, repeats, budget_s, breakdown, fft="pocketfft"):
    """Record the FFTs of one transform of the workload's batch on the FFT library ``fft``, and those of the
    FFT-only algorithm; time the transform and the two replays, interleaved call by call."""
    transform = speed.build_scatter(workload, fft)
    all_fft = speed.build_scatter(workload, fft)
    fft_only(all_fft, np.float32)
    warm_up = speed.make_batch(workload, speed.WARMUP_BATCH, np.float32)
    transform(warm_up)
    all_fft(warm_up)
    x = speed.make_batch(workload, workload.batch, np.float32)
    map_args, calls_by_length = record_transform(transform, x)
    all_map_args, all_calls_by_length = record_transform(all_fft, x)
    if all_map_args != map_args:
        raise RuntimeError(f"the FFT-only transform chunks the batch differently: {all_map_args} != {map_args}")
    del all_fft
    run, n_bytes = replay(map_args, calls_by_length)
    run_all, _ = replay(map_args, all_calls_by_length)
    functions = {"scatter": lambda: transform(x), "fft": run, "all_fft": run_all}
    for fn in functions.values():
        fn()  # warm-up: FFT plans on the whole batch, first touch of the buffers
    runs = interleaved_runs(functions, repeats, budget_s)
    result = {
        "scatter_runs_s": runs["scatter"],
        "runs_s": runs["fft"],
        "all_fft_runs_s": runs["all_fft"],
        "map_chunks": {"n_items": map_args[0], "n_threads": map_args[1], "samples_per_item": map_args[2],
                       **dict(map_args[3])},
        "chunks": {str(k): len(v) for k, v in sorted(calls_by_length.items())},
        "buffer_bytes": n_bytes,
        "calls": summarize_calls(calls_by_length),
        "all_fft_calls": summarize_calls(all_calls_by_length),
    }
    if breakdown:
        result["by_function_s"] = {}
        names = sorted({c.name for calls in calls_by_length.values() for c in calls})
        for name in names:
            run_one, _ = replay(map_args, calls_by_length, only={name})
            run_one()
            result["by_function_s"][name] = statistics.median(interleaved_runs({name: run_one}, repeats, budget_s)[name])
    return result


def summarize_calls(calls_by_length):
    """Per chunk length: how many calls of each kind (function, trailing shape, dtype, keywords)."""
    summary = {}
    for length, calls in sorted(calls_by_length.items()):
        kinds = Counter(dataclasses.replace(c, shape=c.shape[1:]).describe() for c in calls)
        summary[str(length)] = [f"{n} x {kind}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1])]
    return summary


def child_main(job):
    workload = dataclasses.replace(speed.WORKLOADS[job["workload"]], batch=job["batch"])
    result = measure_fft_limit(workload, job["repeats"], job["budget_s"], job.get("breakdown", False),
                               job.get("fft", "pocketfft"))
    if job.get("fft") == "fftw":
        result["fftw_version"] = native_fftw.fftw_version()
    _results.print_result(result)
    return 0


# --------------------------------------------------------------------------------------------------------
# Parent side.
# --------------------------------------------------------------------------------------------------------


def measure_workload(workload, args):
    """scatter's time, the FFT limit and the FFT-only limit, interleaved in one fresh process per round
    (``--rounds``); medians over all the rounds' calls."""
    runs = {"scatter_runs_s": [], "runs_s": [], "all_fft_runs_s": []}
    result, loads = {}, []
    for _ in range(args.rounds):
        loads.append(os.getloadavg()[0])
        job = {"workload": workload.name, "batch": workload.batch, "repeats": args.repeats, "budget_s": args.budget}
        job.update(breakdown=args.breakdown, fft=args.fft)
        result = _results.run_child(SCRIPT, job, CHILD_TIMEOUT_S, args.child_env)
        if "error" in result:
            return {"error": result["error"]}
        for key in runs:
            runs[key] += result[key]
    scatter_s, fft_s = statistics.median(runs["scatter_runs_s"]), statistics.median(runs["runs_s"])
    all_fft_s = statistics.median(runs["all_fft_runs_s"])
    return {**result, "scatter_s": scatter_s, "fft_s": fft_s, "ratio": scatter_s / fft_s, "load": max(loads),
            "scatter_runs": len(runs["scatter_runs_s"]), "fft_runs": len(runs["runs_s"]), "all_fft_s": all_fft_s,
            "all_fft_ratio": scatter_s / all_fft_s}


HEADER = ["Workload", "scatter (s)", "FFT limit (s)", "scatter / FFT limit", "<= 2x", "FFT-only limit (s)",
          "scatter / FFT-only limit", "FFT calls per chunk (FFT-only)", "Chunks", "Load"]


def _count_calls(calls):
    """FFT calls per chunk length, from :func:`summarize_calls`: ``"242 (500 items)"``."""
    return ", ".join(f"{sum(int(s.split(' x ')[0]) for s in v)} ({k} items)" for k, v in calls.items())


def _inner_limit():
    from scatter.grid._batch import MAX_INNER_THREADS_SAMPLES

    return MAX_INNER_THREADS_SAMPLES


def table_rows(workloads, results):
    rows = []
    for w in workloads:
        r = results[w.name]
        if "error" in r:
            rows.append([w.name, "", "", f"error: {r['error']}"] + [""] * (len(HEADER) - 4))
            continue
        mc = r["map_chunks"]
        rows.append(
            [
                w.name,
                f"{r['scatter_s']:.4f}",
                f"{r['fft_s']:.4f}",
                f"{r['ratio']:.2f}",
                "yes" if r["ratio"] <= TARGET_RATIO else "NO",
                f"{r['all_fft_s']:.4f}",
                f"{r['all_fft_ratio']:.2f}",
                f"{_count_calls(r['calls'])} ({_count_calls(r['all_fft_calls'])})",
                f"{mc['n_items']} items on {mc['n_threads']} threads"
                + (" (inside the FFTs)" if mc.get("inner_threads") and len(r["chunks"]) == 1
                   and mc["n_items"] * mc["samples_per_item"] <= _inner_limit() else ""),
                f"{r['load']:.1f}",
            ]
        )
    return rows


def v_fftw():
    return speed.package_version("pyfftw")


def section_title(fft, native=False):
    if fft == "pocketfft":
        return SECTION_TITLE
    return f"## FFT limit, {'native ' if native else ''}FFTW (benchmarks/fft_limit.py)"


def report(workloads, results, args, seconds, load_before):
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    library = "scipy.fft"
    if args.fft == "fftw":
        versions = sorted({r.get("fftw_version") or "unknown" for r in results.values() if "error" not in r})
        origin = (f"built by benchmarks/native_fftw.py, preloaded from {args.native_fftw}" if args.native_fftw
                  else "pyFFTW's wheel")
        library = f"FFTW {', '.join(versions)} ({origin}) through pyFFTW {v_fftw()}, fft=\"fftw\""
    info = speed.machine_info()
    v = info["versions"]
    parts = [
        section_title(args.fft, bool(args.native_fftw)),
        "",
        f"Run on {date} in {seconds:.0f} s with `{' '.join(['python', 'benchmarks/fft_limit.py', *args.argv])}`.",
        "",
        f"- CPU: {info['cpu']}; cores (os.cpu_count): {info['cores']}; RAM: {info['ram']}",
        f"- Python {info['python']}, numpy {v['numpy']}, scipy {v['scipy']}, numba {v['numba']}, scatter {v['scatter']}",
        f"- Load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f}",
        f"- Settings: {args.repeats} timed calls of each per process, {args.rounds} process(es) per workload"
        + (f", quick (batches / {speed.QUICK_DIVISOR})" if args.quick else ""),
        "",
        "Workloads:",
        "",
        *[f"- {w.name}: {w.describe()}" for w in workloads],
        "",
        "scatter: seconds per call on the whole batch after warm-up, median. FFT limit: "
        f"seconds of the same call's FFTs alone (scatter.grid._fft: {library}; same sizes, "
        "dtypes and options, same chunks of the batch on the same threads; in-place inverse FFTs replayed "
        "orthonormal), median. The transform and the two replays are called in turn, one call each per turn, "
        "in the same fresh process, so that they share the machine's state. Target: scatter / FFT limit <= 2. "
        "FFT-only limit: the "
        "same for the FFTs of the algorithm with every low pass through FFTs (Kymatio's), which scatter "
        "replaces by low passes in space where cheaper. Load: the highest 1-minute load average seen when the "
        "measurements started (above the core count, other processes perturbed the figures).",
        "",
        _results.markdown_table(HEADER, table_rows(workloads, results)),
        "",
    ]
    for w in workloads:
        r = results[w.name]
        if "error" in r:
            continue
        parts.append(f"FFT calls of one chunk, {w.name} (count x function(dtype[shape without the batch], options)):")
        parts.append("")
        for length, kinds in r["calls"].items():
            parts.append(f"- chunk of {length} items: " + "; ".join(kinds))
        if "by_function_s" in r:
            parts.append(
                "- replay time by function alone: "
                + ", ".join(f"{name} {s:.4f} s" for name, s in r["by_function_s"].items())
            )
        parts.append("")
    return "\n".join(parts)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", help=f"comma-separated subset of {','.join(speed.WORKLOADS)} (default: all)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed calls of the transform and of each replay per process (default 5)")
    parser.add_argument("--rounds", type=int, default=1, help="processes per workload (default 1)")
    parser.add_argument("--budget", type=float, default=60.0, help="stop repeating after this many seconds (default 60)")
    parser.add_argument("--quick", action="store_true", help=f"batches / {speed.QUICK_DIVISOR}, no writing")
    parser.add_argument("--breakdown", action="store_true", help="also time the replay of each FFT function alone")
    parser.add_argument("--fft", choices=("pocketfft", "fftw"), default="pocketfft",
                        help="FFT library of scatter's transforms (default pocketfft)")
    parser.add_argument("--native-fftw", metavar="PREFIX",
                        help="with --fft fftw: call the FFTW built under PREFIX by benchmarks/native_fftw.py")
    return _results.add_output_options(parser, "FFT limit section")


def main(argv=None):
    import json

    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.child:
        return child_main(json.loads(args.child))
    if args.repeats < 1 or args.rounds < 1 or args.budget <= 0:
        raise SystemExit("--repeats and --rounds must be at least 1 and --budget positive")
    args.argv = argv
    if args.native_fftw and args.fft != "fftw":
        raise SystemExit("--native-fftw needs --fft fftw")
    names = args.workloads.split(",") if args.workloads else list(speed.WORKLOADS)
    unknown = [n for n in names if n not in speed.WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workload(s) {unknown}; choose from {', '.join(speed.WORKLOADS)}")
    workloads = [speed.WORKLOADS[n] for n in names]
    if args.quick:
        workloads = [
            dataclasses.replace(w, batch=max(speed.WARMUP_BATCH, w.batch // speed.QUICK_DIVISOR)) for w in workloads
        ]
    speed.fresh_fftw_wisdom()
    try:
        args.child_env = native_fftw.preload_environment(args.native_fftw) if args.native_fftw else None
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    results = {}
    for w in workloads:
        _results.log(f"{w.name}: {w.describe()} ...")
        results[w.name] = measure_workload(w, args)
        r = results[w.name]
        _results.log(
            f"  error: {r['error']}"
            if "error" in r
            else f"  scatter {r['scatter_s']:.4f} s, FFT limit {r['fft_s']:.4f} s, ratio {r['ratio']:.2f}"
        )
    section = report(workloads, results, args, time.perf_counter() - start, load_before)
    print(section)
    if args.write_results if args.write_results is not None else not args.quick:
        _results.write_section(section_title(args.fft, bool(args.native_fftw)), section)
        _results.log(f"wrote {_results.RESULTS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
