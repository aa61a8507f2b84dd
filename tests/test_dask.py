"""Feature extraction on Dask: the transformers on dask arrays, joblib's Dask backend, ``scatter extract --scheduler``.

Oracles: the same transformers (and ``scatter extract``) run in-process on NumPy arrays, themselves tested against
Kymatio; the results of a Dask run must equal them bit for bit (``np.array_equal``), whatever the chunking. The
distributed tests share one real ``LocalCluster`` of two single-threaded worker processes per module; one of them
kills a worker process in the middle of a run. Counters installed in the workers (``client.run``) show that the
filters are shipped, not rebuilt, and that the per-dtype plans are built at most once per worker.
"""

import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scatter.cli import main
from scatter.sklearn import Scattering1D, Scattering2D

HAS_DASK = all(importlib.util.find_spec(name) is not None for name in ("dask", "distributed"))
HAS_ZARR = importlib.util.find_spec("zarr") is not None
NO_DASK = 'dask and distributed are not installed: pip install "scatter[dask]"'
requires_dask = pytest.mark.skipif(not HAS_DASK, reason=NO_DASK)
requires_zarr = pytest.mark.skipif(not HAS_ZARR, reason="zarr is not installed")

if HAS_DASK:
    import cloudpickle
    import dask
    import dask.array as da

    # The helpers below run in the worker processes, which cannot import this test module: ship them by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])


class ChunkComputed(Exception):
    """Raised by a chunk that a lazy operation must not compute."""


def _forbidden(block):
    raise ChunkComputed("this chunk must not be computed")


def _slow(block, seconds):
    time.sleep(seconds)
    return block


def _install_counters():
    """In a worker: count the calls that build 2D filter banks and plans (reset to zero)."""
    module = importlib.import_module("scatter.grid.scattering_2d")
    if not hasattr(module, "_test_calls"):
        build_bank, build_plans = module.filter_bank_2d, module.plans_2d

        def filter_bank_2d(*args, **kwargs):
            module._test_calls["filter_bank_2d"] += 1
            return build_bank(*args, **kwargs)

        def plans_2d(*args, **kwargs):
            module._test_calls["plans_2d"] += 1
            return build_plans(*args, **kwargs)

        module.filter_bank_2d, module.plans_2d = filter_bank_2d, plans_2d
    module._test_calls = {"filter_bank_2d": 0, "plans_2d": 0}


def _read_counters():
    return dict(importlib.import_module("scatter.grid.scattering_2d")._test_calls)


def _kernel_cache_misses():
    """In a process: the Numba kernels' cache misses (compilations not loaded from the on-disk cache)."""
    from numba.core.dispatcher import Dispatcher

    from scatter.grid import _kernels

    kernels = {name: k for name, k in vars(_kernels).items() if isinstance(k, Dispatcher)}
    return {name: sum(k.stats.cache_misses.values()) for name, k in kernels.items()}


@pytest.fixture(scope="module")
def client():
    """A client of a real LocalCluster: two worker processes of one thread each, shared by the module."""
    if not HAS_DASK:
        pytest.skip(NO_DASK)
    import logging

    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    )
    client = Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def counters(client):
    """Fresh counters in every worker; a callable returning them per worker."""
    client.wait_for_workers(2, timeout=60)
    client.run(_install_counters)
    return lambda: client.run(_read_counters)


def images(rng, n, shape=(16, 16), dtype=np.float64):
    return rng.standard_normal((n,) + shape).astype(dtype)


# ---------------------------------------------------------------------------------------------------------
# the transformers on dask arrays: laziness, meta, chunks, dtype (dask's threaded or synchronous scheduler)
# ---------------------------------------------------------------------------------------------------------


@requires_dask
@pytest.mark.parametrize("estimator", [Scattering2D(J=2, L=4), Scattering1D(J=3)], ids=["2d", "1d"])
def test_fit_and_transform_compute_nothing(estimator):
    shape = (16, 16) if isinstance(estimator, Scattering2D) else (128,)
    X = da.zeros((90,) + shape, chunks=(30,) + shape).map_blocks(_forbidden, dtype=np.float64)
    Y = estimator.fit(X).transform(X)
    assert isinstance(Y, da.Array)
    with pytest.raises(ChunkComputed):
        Y.compute(scheduler="sync")


@requires_dask
@pytest.mark.parametrize(
    ("dtype", "out_dtype"),
    [(np.float32, np.float32), (np.float64, np.float64), (np.int16, np.float64), (np.bool_, np.float64)],
)
@pytest.mark.parametrize("sample_chunks", [(40, 40, 20), (7, 50, 43)], ids=["regular", "irregular"])
def test_meta_chunks_dtype(rng, dtype, out_dtype, sample_chunks):
    x = (rng.uniform(0, 3, (100, 16, 16))).astype(dtype)
    X = da.from_array(x, chunks=(sample_chunks, 16, 16))
    estimator = Scattering2D(J=2, L=4).fit(X)
    Y = estimator.transform(X)
    n_out = estimator.n_output_features_
    assert n_out == 25 * 4 * 4
    assert Y.shape == (100, n_out)
    assert Y.chunks == (sample_chunks, (n_out,))
    assert Y.dtype == out_dtype
    assert type(Y._meta) is np.ndarray and Y._meta.ndim == 2 and Y._meta.dtype == out_dtype
    y = Y.compute(scheduler="threads")
    assert y.dtype == out_dtype
    assert np.array_equal(y, Scattering2D(J=2, L=4).fit(x).transform(x))


@requires_dask
@pytest.mark.parametrize(
    "chunks", [(25, 8, 16), (25, 16, 4), ((60, 40), (3, 13), (16,))], ids=["rows", "columns", "irregular"]
)
def test_chunked_image_axes_are_merged(rng, chunks):
    x = images(rng, 100)
    X = da.from_array(x, chunks=chunks)
    Y = Scattering2D(J=2, L=4).fit(X).transform(X)
    assert Y.chunks[0] == X.chunks[0]
    assert len(Y.chunks[1]) == 1
    assert np.array_equal(Y.compute(scheduler="threads"), Scattering2D(J=2, L=4).fit(x).transform(x))


@requires_dask
def test_flattened_input_and_feature_chunks_1d(rng):
    x = rng.standard_normal((70, 256))
    X = da.from_array(x, chunks=(20, 64))
    estimator = Scattering1D(J=4, Q=2, spatial="global", log_eps=1e-3).fit(X)
    Y = estimator.transform(X)
    assert Y.chunks == ((20, 20, 20, 10), (estimator.n_output_features_,))
    assert np.array_equal(Y.compute(scheduler="threads"), estimator.transform(x))


@requires_dask
def test_unknown_sample_chunks(rng):
    x = images(rng, 60)
    X = da.from_array(x, chunks=(20, 16, 16))
    keep = x[:, 0, 0] > 0
    selected = X[da.from_array(keep, chunks=20)]
    assert np.isnan(selected.shape[0])
    estimator = Scattering2D(J=2, L=4, spatial="global").fit(X)
    y = estimator.transform(selected).compute(scheduler="threads")
    assert np.array_equal(y, estimator.transform(x[keep]))


@requires_dask
def test_fit_on_dask_sets_what_fit_on_numpy_sets(rng):
    x = images(rng, 30, (16, 12))
    on_dask = Scattering2D(J=2, L=4).fit(da.from_array(x, chunks=(10, 16, 12)))
    on_numpy = Scattering2D(J=2, L=4).fit(x)
    assert on_dask.shape_ == on_numpy.shape_ == (16, 12)
    assert on_dask.n_features_in_ == on_numpy.n_features_in_ == 192
    assert on_dask.n_output_features_ == on_numpy.n_output_features_
    np.testing.assert_array_equal(on_dask.get_feature_names_out(), on_numpy.get_feature_names_out())
    # A transformer fitted on NumPy transforms dask arrays, and the reverse.
    assert np.array_equal(on_numpy.transform(da.from_array(x, chunks=10)).compute(), on_dask.transform(x))


@requires_dask
@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: da.zeros((10, 16, 16, 2)), ValueError, r"shape \(n_samples, n_features\) or \(n_samples, M, N\)"),
        (lambda: da.zeros((10, 16, 16), dtype=np.complex128), TypeError, "complex128"),
        (lambda: da.zeros((10, 8, 8)), ValueError, r"samples of shape \(8, 8\).*\(16, 16\)"),
        (lambda: da.zeros((10, 100)), ValueError, "X has 100 features, but Scattering2D is expecting 256"),
    ],
    ids=["4d", "complex", "image-shape", "n-features"],
)
def test_transform_rejects_bad_dask_input(rng, make, error, match):
    estimator = Scattering2D(J=2, L=4).fit(images(rng, 4))
    with pytest.raises(error, match=match):
        estimator.transform(make())


@requires_dask
def test_fit_rejects_3d_dask_input_for_1d():
    with pytest.raises(ValueError, match=r"shape \(n_samples, n_features\); got shape \(10, 8, 8\)"):
        Scattering1D(J=2).fit(da.zeros((10, 8, 8)))


@requires_dask
def test_non_finite_chunk_raises_at_compute(rng):
    x = images(rng, 40)
    x[33, 2, 5] = np.nan
    X = da.from_array(x, chunks=(10, 16, 16))
    Y = Scattering2D(J=2, L=4).fit(X).transform(X)  # lazy: no error yet
    assert np.array_equal(Y[:30].compute(scheduler="sync"), Scattering2D(J=2, L=4).fit(x[:30]).transform(x[:30]))
    with pytest.raises(ValueError, match="NaN"):
        Y.compute(scheduler="sync")


@requires_dask
def test_graph_holds_one_copy_of_the_transformer(rng):
    X = da.from_array(images(rng, 100), chunks=(10, 16, 16))
    estimator = Scattering2D(J=2, L=4).fit(X)
    Y = estimator.transform(X)
    graph = dict(Y.__dask_graph__())
    holders = [key for key in graph if isinstance(key, str) and key.startswith("Scattering2D-")]
    assert len(holders) == 1
    tasks = [(Y.name, i, 0) for i in range(len(Y.chunks[0]))]
    assert len(tasks) == 10
    assert all(holders[0] in dask.core.get_dependencies(graph, task) for task in tasks)
    # The same transformer gives the same key (deterministic token): two transforms in one graph share it.
    both = da.concatenate([Y, estimator.transform(X[:50])])
    assert len([key for key in dict(both.__dask_graph__()) if str(key).startswith("Scattering2D-")]) == 1
    # The transformer in the graph shares the fitted filters (no copy on the client) and runs on one thread.
    shipped = getattr(graph[holders[0]], "value", graph[holders[0]])
    assert isinstance(shipped, Scattering2D)
    assert shipped.scattering_.filters is estimator.scattering_.filters
    assert shipped.scattering_.workers == 1


@requires_dask
@settings(max_examples=20, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_any_chunking_gives_the_in_process_features(data):
    # Property: the features of a sample do not depend on which other samples share its chunk (or batch).
    n = data.draw(st.integers(1, 40), label="n_samples")
    sizes = []
    while sum(sizes) < n:
        sizes.append(data.draw(st.integers(1, n - sum(sizes)), label="chunk"))
    batch_size = data.draw(st.integers(1, 16), label="batch_size")
    dtype = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    x = np.random.default_rng(n).standard_normal((n, 8, 8)).astype(dtype)
    estimator = Scattering2D(J=1, L=2, batch_size=batch_size).fit(x)
    Y = estimator.transform(da.from_array(x, chunks=(tuple(sizes), 8, 8)))
    assert np.array_equal(Y.compute(scheduler="sync"), Scattering2D(J=1, L=2).fit(x).transform(x))


# ---------------------------------------------------------------------------------------------------------
# on a real distributed LocalCluster (two worker processes)
# ---------------------------------------------------------------------------------------------------------


def _dataset(seed, n, shape, chunks):
    """A dask array generated on the workers (no data in the graph) and the same values in-process."""
    X = da.random.default_rng(seed).standard_normal((n,) + shape, chunks=(chunks,) + shape)
    return X, X.compute(scheduler="sync")


@requires_dask
def test_distributed_transform_matches_in_process(client, counters):
    X, x = _dataset(1, 240, (16, 16), 20)
    # In-process first: its kernels are compiled, or loaded, and in the on-disk cache before the workers run.
    expected = Scattering2D(J=2, L=4).fit(x).transform(x)
    misses_before = client.run(_kernel_cache_misses)
    estimator = Scattering2D(J=2, L=4).fit(X)
    y = client.compute(estimator.transform(X)).result()
    assert np.array_equal(y, expected)
    # The workers loaded the kernels from Numba's on-disk cache: no compilation in a worker.
    assert client.run(_kernel_cache_misses) == misses_before
    calls = counters()
    # 12 chunks on 2 workers: no filter bank is built on a worker (it comes with the transformer), and the
    # plans (derived per dtype from the filters) are built once at most per worker, not once per chunk.
    assert all(c["filter_bank_2d"] == 0 for c in calls.values())
    assert all(c["plans_2d"] <= 1 for c in calls.values())
    assert sum(c["plans_2d"] for c in calls.values()) >= 1


@requires_dask
def test_distributed_transform_1d_float32(client):
    X, x = _dataset(2, 300, (256,), 64)
    X, x = X.astype(np.float32), x.astype(np.float32)
    estimator = Scattering1D(J=5, Q=4).fit(X)
    y = client.compute(estimator.transform(X)).result()
    assert y.dtype == np.float32
    assert np.array_equal(y, Scattering1D(J=5, Q=4).fit(x).transform(x))


@requires_dask
def test_joblib_dask_backend(client, counters):
    import joblib

    x = np.random.default_rng(3).standard_normal((120, 16, 16))
    expected = Scattering2D(J=2, L=4).fit(x).transform(x)
    estimator = Scattering2D(J=2, L=4, batch_size=10, n_jobs=2).fit(x)
    with joblib.parallel_backend("dask", client=client):
        y = estimator.transform(x)
    assert np.array_equal(y, expected)
    calls = counters()
    # The 12 batches ran on the workers, which received the transformer once (scattered, not per task).
    assert sum(c["plans_2d"] for c in calls.values()) >= 1
    assert all(c["plans_2d"] <= 1 and c["filter_bank_2d"] == 0 for c in calls.values())


# ---------------------------------------------------------------------------------------------------------
# scatter extract --scheduler
# ---------------------------------------------------------------------------------------------------------


def run_cli(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@requires_dask
@pytest.mark.parametrize(
    ("transform", "sample_shape", "options"),
    [("2d", (2, 75, 16, 16), ("--L", "4")), ("1d", (150, 256), ("--J", "4", "--Q", "2"))],
    ids=["2d", "1d"],
)
def test_extract_scheduler_matches_in_process(capsys, client, tmp_path, transform, sample_shape, options):
    x = np.random.default_rng(5).standard_normal(sample_shape).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    common = ("extract", tmp_path / "x.npy")
    argv = ("--transform", transform, *options, "--batch-size", "32", "-q")
    assert run_cli(capsys, *common, tmp_path / "in_process.npy", *argv) == (0, "", "")
    address = client.cluster.scheduler_address
    status, out, err = run_cli(capsys, *common, tmp_path / "dask.npy", *argv, "--scheduler", address)
    assert (status, out, err) == (0, "", "")
    expected = np.load(tmp_path / "in_process.npy")
    features = np.load(tmp_path / "dask.npy")
    assert features.shape[0] == 150 and features.dtype == np.float32
    assert np.array_equal(features, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dask.npy", "in_process.npy", "x.npy"]


@requires_dask
def test_extract_scheduler_on_fftw_agrees_with_in_process(capsys, client, tmp_path):
    """On FFTW the workers' features agree with the in-process ones to rounding (not to the bit: their
    chunks are other batch shapes)."""
    pytest.importorskip("pyfftw", reason="pyFFTW (the fftw extra) is not installed")
    x = np.random.default_rng(7).standard_normal((70, 16, 16))
    np.save(tmp_path / "x.npy", x)
    argv = ("--transform", "2d", "--L", "4", "--batch-size", "32", "--fft", "fftw", "-q")
    assert run_cli(capsys, "extract", tmp_path / "x.npy", tmp_path / "in_process.npy", *argv) == (0, "", "")
    address = client.cluster.scheduler_address
    status, out, err = run_cli(capsys, "extract", tmp_path / "x.npy", tmp_path / "dask.npy", *argv,
                               "--scheduler", address)
    assert (status, out, err) == (0, "", "")
    expected = np.load(tmp_path / "in_process.npy")
    features = np.load(tmp_path / "dask.npy")
    assert features.shape == expected.shape
    np.testing.assert_allclose(features, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())


@requires_dask
@requires_zarr
def test_extract_scheduler_zarr_in_and_out(capsys, client, tmp_path):
    import zarr

    x = np.random.default_rng(6).integers(0, 255, (100, 16, 16)).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    stored = zarr.open_array(tmp_path / "x.zarr", mode="w", shape=x.shape, chunks=(30, 16, 16), dtype=x.dtype)
    stored[:] = x
    argv = ("--transform", "2d", "--L", "4", "--batch-size", "24", "-q")
    assert run_cli(capsys, "extract", tmp_path / "x.npy", tmp_path / "ref.npy", *argv)[0] == 0
    address = client.cluster.scheduler_address
    assert run_cli(capsys, "extract", tmp_path / "x.zarr", tmp_path / "f.zarr", *argv, "--scheduler", address)[0] == 0
    assert run_cli(capsys, "extract", tmp_path / "x.zarr", tmp_path / "f.npy", *argv, "--scheduler", address)[0] == 0
    expected = np.load(tmp_path / "ref.npy")
    features = zarr.open_array(tmp_path / "f.zarr", mode="r")
    assert features.dtype == np.float64 and features.chunks == (24, expected.shape[1])
    assert np.array_equal(features[:], expected)
    assert np.array_equal(np.load(tmp_path / "f.npy"), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.npy", "f.zarr", "ref.npy", "x.npy", "x.zarr"]


@requires_dask
def test_extract_scheduler_summary_and_progress(capsys, client, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((50, 16, 16)))
    argv = ("extract", tmp_path / "x.npy", tmp_path / "f.npy", "--transform", "2d", "--L", "4", "--batch-size", "20")
    status, out, _ = run_cli(capsys, *argv, "--scheduler", client.cluster.scheduler_address)
    assert status == 0
    assert out == f"{tmp_path / 'f.npy'}: 50 samples x 400 features (per sample: (25, 4, 4))\n"


@requires_dask
def test_extract_scheduler_non_finite_names_the_sample(capsys, client, tmp_path):
    x = np.zeros((60, 16, 16))
    x[47, 3, 4] = np.inf
    np.save(tmp_path / "x.npy", x)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    argv = ("extract", tmp_path / "x.npy", out_dir / "f.npy", "--transform", "2d", "--batch-size", "20", "-q")
    status, out, err = run_cli(capsys, *argv, "--scheduler", client.cluster.scheduler_address)
    assert status == 2 and out == ""
    assert err.splitlines() == [
        f"scatter: error: {tmp_path / 'x.npy'}: non-finite value (NaN or inf) in sample 47, at index (47, 3, 4)"
    ]
    assert list(out_dir.iterdir()) == []


@requires_dask
@pytest.mark.parametrize(
    ("output", "scheduler", "message"),
    [
        ("f.parquet", "tcp://127.0.0.1:8786", "with --scheduler, the output must end in .npy or .zarr"),
        ("f.zarr", None, "reading or writing .zarr runs on Dask: add --scheduler local"),
    ],
    ids=["parquet", "zarr-without-scheduler"],
)
def test_extract_scheduler_errors(capsys, tmp_path, output, scheduler, message):
    np.save(tmp_path / "x.npy", np.zeros((5, 16, 16)))
    argv = ["extract", tmp_path / "x.npy", tmp_path / output, "--transform", "2d"]
    status, _, err = run_cli(capsys, *argv, *(["--scheduler", scheduler] if scheduler else []))
    assert status == 2
    assert len(err.splitlines()) == 1 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


# ---------------------------------------------------------------------------------------------------------
# a worker killed in the middle of a run (last of the cluster tests: its nanny restarts it meanwhile)
# ---------------------------------------------------------------------------------------------------------


@requires_dask
def test_killed_worker_tasks_are_recomputed(client):
    X, x = _dataset(4, 240, (16, 16), 20)
    # Slow chunks (0.25 s each, 12 of them on 2 workers) leave time to kill a worker in the middle of the run.
    X = X.map_blocks(_slow, 0.25, dtype=X.dtype)
    estimator = Scattering2D(J=2, L=4).fit(X)
    pids = client.run(os.getpid)
    # Only these two workers: the one restarted by its nanny (slow to import scatter) does not take tasks.
    futures = client.compute(list(estimator.transform(X).to_delayed().ravel()), workers=list(pids))
    deadline = time.monotonic() + 60
    while sum(f.done() for f in futures) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    done_before = sum(f.done() for f in futures)
    busy = [worker for worker, keys in client.processing().items() if keys and worker in pids]
    victim = busy[0] if busy else next(iter(pids))
    os.kill(pids[victim], signal.SIGKILL)
    assert 2 <= done_before < len(futures)
    y = np.concatenate(client.gather(futures))
    assert np.array_equal(y, Scattering2D(J=2, L=4).fit(x).transform(x))
    assert pids[victim] not in client.run(os.getpid).values()  # (its nanny starts a new worker process)


# ---------------------------------------------------------------------------------------------------------
# without dask
# ---------------------------------------------------------------------------------------------------------


def test_scatter_works_without_dask(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 16, 16)))
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["dask"] = sys.modules["distributed"] = None  # "import dask" now raises ImportError
        import joblib
        import numpy as np
        from scatter.cli import main
        from scatter.sklearn import Scattering2D

        x = np.random.default_rng(0).standard_normal((6, 16, 16))
        y = Scattering2D(J=2, L=4, n_jobs=2, batch_size=2).fit(x).transform(x)
        assert y.shape == (6, 400)
        with joblib.parallel_backend("threading"):
            assert np.array_equal(Scattering2D(J=2, L=4, n_jobs=2, batch_size=2).fit(x).transform(x), y)
        assert "dask" not in [m.split(".")[0] for m in sys.modules if sys.modules[m] is not None]
        status = main(["extract", r"{tmp_path / 'x.npy'}", r"{tmp_path / 'f.npy'}", "--transform", "2d",
                       "--scheduler", "local", "-q"])
        assert status == 2
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        'scatter: error: --scheduler needs dask and distributed: pip install "scatter[dask]" '
        "(import of dask halted; None in sys.modules)"
    ]
    assert not Path(tmp_path / "f.npy").exists()
