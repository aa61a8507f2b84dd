"""Speed of scatter's grid scattering transforms against Kymatio 0.3.0 (NumPy and torch CPU frontends).

What it measures
----------------
For each workload (a transform configuration and a float32 batch, order 2) and each implementation
(``scatter``, ``scatter-fftw`` (``fft="fftw"``) when pyFFTW imports, ``scatter-fftw-native`` (the same on
an FFTW built for the CPU, with ``--native-fftw``), ``kymatio-numpy``, and ``kymatio-torch`` on the CPU
when torch imports):

construction
    Seconds to build the transform object (filter banks).
warm-up
    Seconds of the first call, on a batch of :data:`WARMUP_BATCH` items. For scatter this is where Numba
    compiles its kernels or loads them from its on-disk cache, and where the periodization plans are built.
    ``scatter-fftw`` then makes one more untimed call, on the whole batch, in which FFTW plans the FFTs of
    its shapes (``FFTW_MEASURE``); its seconds follow the warm-up's after a ``+``. Each run gives its
    processes an FFTW wisdom file of their own, empty at first, so these are the planning times of a new
    machine (later processes of a user read the plans from the file).
throughput
    Items per second on the whole batch after warm-up: median (and best) of ``--repeats`` timed calls, or
    of fewer (at least one) once the timed calls have taken ``--budget`` seconds, in each of ``--rounds``
    processes, pooled.
ratio
    scatter's median throughput divided by the peer's, on the peer's row, and scatter-fftw's (and
    scatter-fftw-native's) in the next column(s).
max rel err
    On a small float64 batch, :math:`\\max|s - k| / \\max|k|` between scatter (``s``, on each backend)
    and Kymatio's NumPy frontend (``k``), on scatter's rows.

How
---
Every (workload, implementation) pair, and every accuracy check, runs in a fresh Python process (this
script re-invoked with ``--child``), so warm-up times include the cost a user sees in a new process, one
implementation's threads or caches do not affect another's, and memory is returned between runs. With
``--rounds N`` each (workload, implementation) runs in N processes, the implementations taking turns
(scatter, scatter-fftw, Kymatio NumPy, Kymatio torch, scatter, ...), so that a state of the machine that lasts
minutes weighs on all of them alike; construction and warm-up are those of the first round. The child
prints one JSON line; the parent collects them, prints a Markdown table and the issue's targets (scatter at
least as fast as Kymatio torch CPU on W1-W3), and writes the section ``## Speed (benchmarks/speed.py)`` of
``benchmarks/RESULTS.md`` (other sections of that file are kept).

FFTW: ``scatter-fftw`` calls the FFTW that pyFFTW's wheel carries (3.3.5, SIMD up to AVX);
``--native-fftw PREFIX`` adds ``scatter-fftw-native``, whose processes call the FFTW that
``benchmarks/native_fftw.py`` built for the CPU under ``PREFIX`` (through ``LD_PRELOAD``), with a wisdom file
of their own. Each process reports the FFTW it called (release and SIMD codelets), listed with the machine.

Threads: scatter uses its defaults (``workers`` = CPU count; Numba's own default thread count); torch
gets ``torch.set_num_threads(os.cpu_count())`` and runs under ``torch.no_grad()``; Kymatio's NumPy
frontend runs as it comes.

Usage::

    python benchmarks/speed.py [--workloads W1,W2,W3] [--repeats N] [--rounds N] [--budget SECONDS] [--quick]
                               [--no-torch] [--native-fftw PREFIX] [--write-results | --no-write-results]

The machine's 1-minute load average is recorded when each measurement starts. It includes this benchmark's
own previous measurements, so values up to the core count are expected; well above it, other processes were
competing for the CPU and the figures are perturbed (thread pools that spin, like torch's, suffer most).
"""

import argparse
import dataclasses
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402
import native_fftw  # noqa: E402

SECTION_TITLE = "## Speed (benchmarks/speed.py)"

#: Items in the first (warm-up) call, and in the float64 accuracy check.
WARMUP_BATCH = 2
CHECK_BATCH = 2
SEED = 20240613

IMPLEMENTATIONS = ("scatter", "scatter-fftw", "scatter-fftw-native", "kymatio-numpy", "kymatio-torch")
OURS = IMPLEMENTATIONS[:3]
PEERS = IMPLEMENTATIONS[3:]
#: scatter's implementations on FFTW (the native one differs by the library its processes preload).
ON_FFTW = ("scatter-fftw", "scatter-fftw-native")
#: Each child gets this long before it is abandoned (and reported as an error).
CHILD_TIMEOUT_S = 1800
#: ``--quick`` divides every batch by this (keeping at least WARMUP_BATCH items).
QUICK_DIVISOR = 8


@dataclasses.dataclass(frozen=True)
class Workload:
    """A transform configuration and the batch it is timed on."""

    name: str
    ndim: int
    batch: int
    shape: tuple
    params: dict

    @property
    def unit(self):
        return "img/s" if self.ndim == 2 else "signals/s"

    def describe(self):
        size = "x".join(map(str, self.shape))
        options = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.ndim}D, batch {self.batch} x {size}, {options}, order 2, float32"


WORKLOADS = {
    w.name: w
    for w in (
        Workload("W1", 2, 1000, (32, 32), {"J": 2, "L": 8}),
        Workload("W2", 2, 32, (256, 256), {"J": 4, "L": 8}),
        Workload("W3", 1, 16, (65536,), {"J": 8, "Q": 8}),
        Workload("W4", 2, 96, (224, 224), {"J": 3, "L": 8}),
        Workload("W5", 1, 32, (4096,), {"J": 8, "Q": 8}),
    )
}
QUICK_WORKLOADS = ("W1", "W2", "W3")

#: Issue targets: scatter at least as fast as Kymatio torch CPU. Reference throughputs (items/s) measured
#: earlier on a 2-core machine, shown beside this run's figures.
TARGET_WORKLOADS = ("W1", "W2", "W3")
REFERENCE = {
    "W1": {"kymatio-numpy": 838.0, "kymatio-torch": 1523.0},
    "W2": {"kymatio-numpy": 11.2, "kymatio-torch": 12.2},
    "W3": {"kymatio-numpy": 4.9, "kymatio-torch": 15.0},
}


# --------------------------------------------------------------------------------------------------------
# Child side: build, warm up, time, check.
# --------------------------------------------------------------------------------------------------------


def install_sph_harm_shim():
    """Give SciPy >= 1.17 back the ``scipy.special.sph_harm`` that Kymatio 0.3.0 imports."""
    import scipy.special

    if not hasattr(scipy.special, "sph_harm"):
        scipy.special.sph_harm = lambda m, n, theta, phi: scipy.special.sph_harm_y(n, m, phi, theta)


def make_batch(workload, n_items, dtype):
    """Seeded standard normal batch ``(n_items, *shape)``, the same in every process."""
    rng = np.random.default_rng(SEED)
    return rng.standard_normal((n_items, *workload.shape)).astype(dtype)


def build_scatter(workload, fft="pocketfft"):
    """scatter's transform of the workload, as a callable on NumPy batches, on the FFT library ``fft``."""
    import scatter

    cls = scatter.Scattering2D if workload.ndim == 2 else scatter.Scattering1D
    return cls(shape=workload.shape, max_order=2, fft=fft, **workload.params)


def build_scatter_fftw(workload):
    return build_scatter(workload, "fftw")


def _kymatio_arguments(workload):
    shape = workload.shape if workload.ndim == 2 else workload.shape[0]
    return {"shape": shape, "max_order": 2, **workload.params}


def build_kymatio_numpy(workload):
    """Kymatio's NumPy frontend for the workload."""
    install_sph_harm_shim()
    import kymatio.numpy

    cls = kymatio.numpy.Scattering2D if workload.ndim == 2 else kymatio.numpy.Scattering1D
    return cls(**_kymatio_arguments(workload))


def build_kymatio_torch(workload):
    """Kymatio's torch frontend on the CPU, wrapped to take NumPy batches and run without autograd."""
    install_sph_harm_shim()
    import kymatio.torch
    import torch

    torch.set_num_threads(os.cpu_count())
    cls = kymatio.torch.Scattering2D if workload.ndim == 2 else kymatio.torch.Scattering1D
    transform = cls(**_kymatio_arguments(workload))

    def call(x):
        with torch.no_grad():
            return transform(torch.from_numpy(x))

    return call


BUILDERS = {"scatter": build_scatter, "scatter-fftw": build_scatter_fftw, "scatter-fftw-native": build_scatter_fftw,
            "kymatio-numpy": build_kymatio_numpy, "kymatio-torch": build_kymatio_torch}


def timed(fn, *args):
    """``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def numba_setup():
    """Numba's threading layer and thread count (meaningful once a parallel kernel has run)."""
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "not started"
    return {"numba_threading_layer": layer, "numba_threads": numba.get_num_threads()}


def measure(workload, implementation, repeats, budget_s):
    """Construction, warm-up and steady-state times of one implementation on one workload.

    The whole batch is timed ``repeats`` times, or fewer (at least once) when the timed calls have already
    taken ``budget_s`` seconds.
    """
    construct_s, transform = timed(BUILDERS[implementation], workload)
    warmup_s, _ = timed(transform, make_batch(workload, WARMUP_BATCH, np.float32))
    x = make_batch(workload, workload.batch, np.float32)
    planning_s = timed(transform, x)[0] if implementation in ON_FFTW else None
    runs = []
    while len(runs) < repeats and sum(runs) < budget_s:
        runs.append(timed(transform, x)[0])
    result = {"construct_s": construct_s, "warmup_s": warmup_s, "runs_s": runs, "planning_s": planning_s}
    if implementation in OURS:
        result.update(numba_setup(), scatter_workers=transform.workers)
    if implementation in ON_FFTW:
        result["fftw_version"] = native_fftw.fftw_version()
    if implementation == "kymatio-torch":
        import torch

        result["torch_threads"] = torch.get_num_threads()
    return result


def check_accuracy(workload, implementation="scatter"):
    """Max relative error of scatter (``implementation``) against Kymatio NumPy on a small float64 batch."""
    x = make_batch(workload, CHECK_BATCH, np.float64)
    ours = np.asarray(BUILDERS[implementation](workload)(x))
    theirs = np.asarray(build_kymatio_numpy(workload)(x))
    if ours.shape != theirs.shape:
        return {"error": f"shape {ours.shape} != Kymatio's {theirs.shape}"}
    return {"max_rel_err": float(np.abs(ours - theirs).max() / np.abs(theirs).max())}


def child_main(job):
    """Run one job (``{"kind": "time" | "check", "workload": ..., "batch": ..., ...}``) and print its JSON."""
    workload = dataclasses.replace(WORKLOADS[job["workload"]], batch=job["batch"])
    if job["kind"] == "time":
        result = measure(workload, job["implementation"], job["repeats"], job["budget_s"])
    else:
        result = check_accuracy(workload, job.get("implementation", "scatter"))
    _results.print_result(result)
    return 0


# --------------------------------------------------------------------------------------------------------
# Parent side: run the children, gather the machine's description, report.
# --------------------------------------------------------------------------------------------------------


def run_child(job, env=None):
    """Run a job in a fresh interpreter (with the variables ``env``); its result dict, or ``{"error": ...}``
    when it failed."""
    return _results.run_child(Path(__file__).resolve(), job, CHILD_TIMEOUT_S, env)


def summarize(timing, batch):
    """Add median and best throughput (items/s) to a timing result."""
    if "runs_s" in timing:
        timing["throughput"] = batch / statistics.median(timing["runs_s"])
        timing["best_throughput"] = batch / min(timing["runs_s"])
    return timing


def pool_rounds(rounds):
    """One timing result from the results of several processes (``--rounds``) of one implementation: the
    first process's construction, warm-up and settings (a new process on a machine that never ran it), the
    timed calls of all of them, and the highest load seen; the first error if any failed."""
    for result in rounds:
        if "error" in result:
            return result
    pooled = dict(rounds[0])
    pooled["runs_s"] = [run for result in rounds for run in result["runs_s"]]
    pooled["load"] = max(result["load"] for result in rounds)
    return pooled


def run_workload(workload, implementations, args, log):
    """Timings of every implementation, the implementations taking turns over ``args.rounds`` rounds of one
    fresh process each, and scatter's accuracy check, on one workload."""
    rounds = {implementation: [] for implementation in implementations}
    for k in range(args.rounds):
        for implementation in implementations:
            log(f"  {workload.name} {implementation}" + (f" (round {k + 1} of {args.rounds})" if args.rounds > 1 else "")
                + " ...")
            job = {"kind": "time", "workload": workload.name, "batch": workload.batch, "implementation": implementation}
            job.update(repeats=args.repeats, budget_s=args.budget)
            load = os.getloadavg()[0]
            timing = run_child(job, args.child_env.get(implementation))
            result = {**summarize(timing, workload.batch), "load": load}
            rounds[implementation].append(result)
            log(f"    {short_status(result, workload.unit)}")
    results = {implementation: summarize(pool_rounds(r), workload.batch) for implementation, r in rounds.items()}
    for implementation in OURS:
        if implementation in implementations:
            log(f"  {workload.name} accuracy check ({implementation}) ...")
            job = {"kind": "check", "workload": workload.name, "batch": workload.batch, "implementation": implementation}
            results[f"check {implementation}"] = run_child(job, args.child_env.get(implementation))
    return results


def short_status(result, unit):
    if "error" in result:
        return f"error: {result['error']}"
    return (
        f"construct {result['construct_s']:.2f} s, warm-up {warmup(result)} s, "
        f"{format_rate(result['throughput'])} {unit}"
    )


def warmup(result):
    """The warm-up's seconds, and FFTW's planning call's after a ``+``."""
    text = f"{result['warmup_s']:.3f}"
    return text + (f" + {result['planning_s']:.3f}" if result.get("planning_s") is not None else "")


def read_first(path, prefix):
    """Value after ``:`` of the first line of ``path`` starting with ``prefix``; None if absent."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_info():
    """Description of the machine and software, without importing the benchmarked packages."""
    mem_kb = read_first("/proc/meminfo", "MemTotal")
    ram = f"{int(mem_kb.split()[0]) / 2**20:.1f} GiB" if mem_kb else "unknown"
    names = ("numpy", "scipy", "numba", "pyfftw", "kymatio", "torch", "scatter")
    versions = {name: package_version(name) for name in names}
    return {
        "cpu": read_first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "ram": ram,
        "python": platform.python_version(),
        "versions": versions,
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "thread_env": {k: os.environ[k] for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ},
    }


def format_rate(value):
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table_rows(workloads, results, implementations):
    """Rows of the results table, one per (workload, implementation)."""
    rows = []
    width = len(results_header(implementations))
    for w in workloads:
        ours = {name: results[w.name].get(name, {}) for name in OURS if name in implementations}
        for implementation in implementations:
            r = results[w.name][implementation]
            if "error" in r:
                rows.append([w.name, implementation, "", "", f"error: {r['error']}"] + [""] * (width - 5))
                continue
            ratios = [
                f"{ours[name]['throughput'] / r['throughput']:.2f}x"
                if implementation in PEERS and "throughput" in ours[name] else ""
                for name in ours
            ]
            err = ""
            if implementation in OURS:
                check = results[w.name].get(f"check {implementation}", {"error": "not run"})
                err = f"{check['max_rel_err']:.1e}" if "max_rel_err" in check else f"error: {check['error']}"
            rows.append(
                [
                    w.name,
                    implementation,
                    f"{r['construct_s']:.3f}",
                    warmup(r),
                    f"{format_rate(r['throughput'])} {w.unit}",
                    f"{format_rate(r['best_throughput'])}",
                    str(len(r["runs_s"])),
                    *ratios,
                    err,
                    f"{r['load']:.1f}",
                ]
            )
    return rows


def results_header(implementations):
    """Columns of the results table: a ratio column for each of scatter's implementations that ran."""
    ratios = [f"{name} / peer" for name in OURS if name in implementations]
    return ["Workload", "Implementation", "Construct (s)", "Warm-up (s)", "Throughput (median)", "Best", "Runs",
            *ratios, "Max rel err vs Kymatio (float64)", "Load"]


def verdict(ours, bar):
    """"yes" when throughput ``ours`` reaches ``bar``, "NO" when not, "n/a" when either is missing."""
    if not ours or not bar:
        return "n/a"
    return "yes" if ours >= bar else "NO"


def target_rows(results):
    """Issue targets: scatter's throughput at least Kymatio torch CPU's, on W1-W3 where they ran."""
    rows = []
    for name in TARGET_WORKLOADS:
        if name not in results:
            continue
        ours = results[name].get("scatter", {}).get("throughput")
        torch_now = results[name].get("kymatio-torch", {}).get("throughput")
        reference = REFERENCE[name]["kymatio-torch"]
        rows.append(
            [
                name,
                format_rate(ours) if ours else "error",
                format_rate(torch_now) if torch_now else "not run",
                format_rate(reference),
                format_rate(REFERENCE[name]["kymatio-numpy"]),
                f"{verdict(ours, torch_now)} (this run), {verdict(ours, reference)} (reference)",
            ]
        )
    return rows


def targets_table(results):
    rows = target_rows(results)
    return _results.markdown_table(TARGET_HEADER, rows) if rows else "(none of W1-W3 was run)"


TARGET_HEADER = [
    "Workload",
    "scatter",
    "Kymatio torch (this run)",
    "Kymatio torch (ref., 2 cores)",
    "Kymatio numpy (ref., 2 cores)",
    "scatter >= Kymatio torch",
]


def threading_info(results):
    """Numba threading layer and thread counts reported by the children (a started layer wins)."""
    keys = ("numba_threading_layer", "numba_threads", "scatter_workers", "torch_threads")
    found = {}
    for per_workload in results.values():
        for result in per_workload.values():
            found.update({k: result[k] for k in keys if k in result and result[k] != "not started"})
    found.setdefault("numba_threading_layer", "not started (scatter ran no Numba-parallel kernel)")
    found["fftw_versions"] = {
        name: sorted({r.get("fftw_version") or "unknown" for per_workload in results.values()
                      for key, r in per_workload.items() if key == name and "error" not in r})
        for name in ON_FFTW
    }
    return found


def machine_lines(info, numba_info, load_before, load_after, args):
    """Bullet list describing the machine, software and run settings."""
    v = info["versions"]
    coretype = info["openblas_coretype"]
    return [
        f"- CPU: {info['cpu']}; cores (os.cpu_count): {info['cores']}; RAM: {info['ram']}",
        f"- Python {info['python']}, numpy {v['numpy']}, scipy {v['scipy']}, numba {v['numba']}, "
        f"pyfftw {v['pyfftw']}, kymatio {v['kymatio']}, torch {v['torch']}, scatter {v['scatter']}",
        f"- Numba threading layer: {numba_info['numba_threading_layer']}, Numba threads: "
        f"{numba_info.get('numba_threads', 'unknown')}; scatter workers: "
        f"{numba_info.get('scatter_workers', 'unknown')}; torch threads: {numba_info.get('torch_threads', 'not run')}",
        *[f"- FFTW of {name}: {', '.join(versions)}"
          + (f" (preloaded from {args.native_fftw})" if name == "scatter-fftw-native" else " (pyFFTW's wheel)")
          for name, versions in numba_info["fftw_versions"].items() if versions],
        f"- OPENBLAS_CORETYPE: {'set to ' + repr(coretype) if coretype else 'not set'}"
        + "".join(f"; {k}={val}" for k, val in info["thread_env"].items()),
        f"- Load average (1 min) before / after the run: {load_before:.2f} / {load_after:.2f} "
        "(other processes on the machine perturb the timings)",
        f"- Settings: repeats {args.repeats} (budget {args.budget:g} s of timed calls) in each of {args.rounds} "
        f"process(es) per workload and implementation, warm-up batch "
        f"{WARMUP_BATCH}, accuracy batch {CHECK_BATCH} (float64)"
        + (f", quick (batches / {QUICK_DIVISOR})" if args.quick else ""),
    ]


def report(workloads, results, implementations, info, numba_info, loads, args, seconds):
    """The Markdown section: date, machine, workloads, results table, targets."""
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        SECTION_TITLE,
        "",
        f"Run on {date} in {seconds:.0f} s with `{' '.join(['python', 'benchmarks/speed.py', *args.argv])}`.",
        "",
        *machine_lines(info, numba_info, *loads, args),
        "",
        "Workloads:",
        "",
        *[f"- {w.name}: {w.describe()}" for w in workloads],
        "",
        "Construct: building the transform. Warm-up: first call on a batch of "
        f"{WARMUP_BATCH} (Numba compiles or loads its cache here); for scatter-fftw, + the seconds of an "
        "untimed first call on the whole batch, where FFTW plans its FFTs. Throughput: items per second on the whole "
        f"batch, median (and best) of the timed calls after warm-up, pooled over the rounds' processes (Runs: how "
        f"many; fewer than {args.repeats} per process when they exceeded the budget). Construct and warm-up: "
        "those of the first round's process. scatter / peer, scatter-fftw / peer: ratios of median "
        "throughputs (scatter-fftw: the FFTs by FFTW, `fft=\"fftw\"`; scatter-fftw-native: the same on an FFTW "
        "built for this CPU by benchmarks/native_fftw.py). Max rel "
        f"err: max|s - k| / max|k| against Kymatio NumPy on a float64 batch of {CHECK_BATCH}. Load: the "
        "machine's 1-minute load average when the measurement started; it includes this benchmark's previous "
        "measurements, so values up to the core count are expected, and well above it other processes were "
        "competing for the CPU and the figures are perturbed.",
        "",
        _results.markdown_table(results_header(implementations), table_rows(workloads, results, implementations)),
        "",
        "Issue targets (scatter at least as fast as Kymatio torch CPU on W1-W3):",
        "",
        targets_table(results),
        "",
    ]
    return "\n".join(parts)


def select_workloads(args):
    """Workloads to run, with batches scaled down under ``--quick``."""
    names = args.workloads.split(",") if args.workloads else list(QUICK_WORKLOADS if args.quick else WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        raise SystemExit(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    workloads = [WORKLOADS[n] for n in names]
    if args.quick:
        workloads = [dataclasses.replace(w, batch=max(WARMUP_BATCH, w.batch // QUICK_DIVISOR)) for w in workloads]
    return workloads


def fresh_fftw_wisdom():
    """Give this run's processes an FFTW wisdom file of their own, empty at first (unless
    ``SCATTER_FFTW_WISDOM`` is set): scatter-fftw's first process plans from nothing, as on a new machine,
    and the processes after it reuse its plans, as a user's later processes do."""
    if "SCATTER_FFTW_WISDOM" not in os.environ:
        os.environ["SCATTER_FFTW_WISDOM"] = os.path.join(tempfile.mkdtemp(prefix="scatter-bench-"), "wisdom.npz")


def select_implementations(args, log):
    chosen = list(IMPLEMENTATIONS)
    has_pyfftw = importlib.util.find_spec("pyfftw") is not None
    if not has_pyfftw:
        log('pyFFTW is not installed: scatter-fftw is skipped (pip install -e ".[fftw]" to include it)')
        chosen.remove("scatter-fftw")
    if not (has_pyfftw and args.native_fftw):
        chosen.remove("scatter-fftw-native")
    if args.no_torch:
        chosen.remove("kymatio-torch")
    elif importlib.util.find_spec("torch") is None:
        log("torch is not installed: Kymatio torch is skipped (install torch==2.13.0 in the venv to include it)")
        chosen.remove("kymatio-torch")
    return tuple(chosen)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--workloads",
        help=f"comma-separated subset of {','.join(WORKLOADS)} "
        f"(default: all; {','.join(QUICK_WORKLOADS)} with --quick)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per measurement (default 3)")
    parser.add_argument(
        "--budget",
        type=float,
        default=120.0,
        help="seconds of timed calls after which repeating stops early (at least one call; default 120)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="processes per (workload, implementation), the implementations taking turns (default 1)",
    )
    parser.add_argument("--quick", action="store_true", help=f"batches / {QUICK_DIVISOR}, W1-W3 only, no writing")
    parser.add_argument("--no-torch", action="store_true", help="skip Kymatio's torch frontend")
    parser.add_argument("--native-fftw", metavar="PREFIX",
                        help="also time scatter on the FFTW built under PREFIX by benchmarks/native_fftw.py")
    return _results.add_output_options(parser, "Speed section")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.child:
        return child_main(json.loads(args.child))
    if args.repeats < 1 or args.rounds < 1 or args.budget <= 0:
        raise SystemExit("--repeats and --rounds must be at least 1 and --budget positive")
    args.argv = argv

    def log(message):
        print(message, file=sys.stderr, flush=True)

    fresh_fftw_wisdom()
    workloads = select_workloads(args)
    implementations = select_implementations(args, log)
    args.child_env = {}
    if "scatter-fftw-native" in implementations:
        try:
            args.child_env["scatter-fftw-native"] = native_fftw.preload_environment(args.native_fftw)
        except FileNotFoundError as error:
            raise SystemExit(str(error)) from None
    info = machine_info()
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    results = {}
    for w in workloads:
        log(f"{w.name}: {w.describe()}")
        results[w.name] = run_workload(w, implementations, args, log)
    seconds = time.perf_counter() - start
    loads = (load_before, os.getloadavg()[0])
    section = report(workloads, results, implementations, info, threading_info(results), loads, args, seconds)
    print(section)
    if args.write_results if args.write_results is not None else not args.quick:
        _results.write_section(SECTION_TITLE, section)
        log(f"wrote {_results.RESULTS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
