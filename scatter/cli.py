"""The ``scatter`` command line.

- ``scatter run PIPELINE [--head]``: a classification pipeline (``digits``, ``mnist``, ``textures``,
  ``mnist1d``, ``rotated-mnist``, ``spherical-mnist``) with its JSON/Markdown/PNG report;
- ``scatter extract INPUT OUTPUT --transform 1d|2d``: scattering features of a ``.npy``/``.npz`` file or a folder
  of images, in batches with bounded memory; with ``--scheduler local|ADDRESS``, on a Dask cluster, chunk by
  chunk (``.npy`` and ``.zarr`` inputs and outputs);
- ``scatter info``: versions, Numba threading layer and cache directory;
- ``scatter plot-filters``: a PNG of a filter bank;
- ``scatter bench stability --dataset mnist|digits|textures``: the benchmark of stability to distortions
  (``pipelines.stability``) with its JSON/Markdown/PNG report.

Errors in the input end with a one-line message on stderr and exit status 2, never a traceback, and leave no
partial output file.
"""

import argparse
import contextlib
import inspect
import logging
import os
import sys
from pathlib import Path

import numpy as np

from ._atomic import atomic_directory, atomic_path
from ._progress import progress

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


class CommandError(Exception):
    """An error in the command's input, reported as one line."""


# --- run ---------------------------------------------------------------------------------------------------


def _run(args):
    from pipelines import get_pipeline
    from pipelines._common import print_summary

    run = get_pipeline(args.pipeline)
    options = {}
    if args.head:
        if "head" not in inspect.signature(run).parameters:
            raise CommandError(f"--head: pipeline {args.pipeline!r} has no head (rotated-mnist and spherical-mnist have)")
        options["head"] = True
    head_options = {
        # option: (its parameter of run, its value, the pipelines it suits)
        "--no-svm": ("svm", False if args.no_svm else None, "whose head has an SVM baseline"),
        "--members": ("members", args.members, "whose head is an ensemble of seeds"),
    }
    for flag, (parameter, value, suits) in head_options.items():
        if value is None:
            continue
        if parameter not in inspect.signature(run).parameters or not args.head:
            without = "" if args.head else " without --head"
            raise CommandError(f"{flag}: only with --head, for pipelines {suits} (spherical-mnist); "
                               f"got pipeline {args.pipeline!r}{without}")
        options[parameter] = value
    report = run(
        n_train=args.n_train, n_test=args.n_test, data_dir=args.data_dir, out=args.out, quiet=args.quiet, **options
    )
    print_summary(report, args.out)
    return 0


# --- extract -----------------------------------------------------------------------------------------------


def _load_images(folder):
    """Grayscale float images of a folder, sorted by name; all must have the same size."""
    from PIL import Image, UnidentifiedImageError

    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not paths:
        raise CommandError(f"{folder}: no image files ({', '.join(_IMAGE_SUFFIXES)})")
    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                images.append(np.asarray(image.convert("F"), dtype=np.float32))
        except (UnidentifiedImageError, OSError) as exc:
            raise CommandError(f"{path}: cannot read image ({exc})") from exc
        if images[-1].shape != images[0].shape:
            raise CommandError(f"{path}: size {images[-1].shape} differs from {paths[0].name}'s {images[0].shape}")
    return np.stack(images)


def _load_input(path, key):
    """The input array: memory-mapped for ``.npy``, one array of an ``.npz``, or a folder of images."""
    path = Path(path)
    if not path.exists():
        raise CommandError(f"{path}: no such file or directory")
    if path.is_dir():
        return _load_images(path)
    try:
        if path.suffix == ".npy":
            return np.load(path, mmap_mode="r", allow_pickle=False)
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                names = archive.files
                if key is None and len(names) != 1:
                    raise CommandError(f"{path}: holds {names}; choose one with --key")
                name = key if key is not None else names[0]
                if name not in names:
                    raise CommandError(f"{path}: no array {name!r}; it holds {names}")
                return archive[name]
    except (ValueError, OSError) as exc:
        raise CommandError(f"{path}: cannot read ({exc})") from exc
    raise CommandError(f"{path}: expected a .npy or .npz file or a folder of images")


def _build_transform(args, signal_shape, module=None):
    """The transform the options ask for, from ``module``: :mod:`scatter.grid` (the default) or
    :mod:`scatter.sklearn` (whose transformers take the same arguments and give the same features)."""
    if module is None:
        from . import grid as module

    if args.transform == "2d":
        if len(signal_shape) != 2:
            raise CommandError(f"--transform 2d needs images (n, H, W); got samples of shape {signal_shape}")
        return module.Scattering2D(args.J, signal_shape, L=args.L, max_order=args.max_order, fft=args.fft)
    if len(signal_shape) != 1:
        raise CommandError(f"--transform 1d needs signals (n, N); got samples of shape {signal_shape}")
    return module.Scattering1D(args.J, signal_shape, Q=args.Q, T=args.T, max_order=args.max_order, fft=args.fft)


def _check_finite(flat, start, batch_size, source):
    """``start`` after checking that the batch there holds only finite values (an error names the sample)."""
    _check_finite_rows(np.asarray(flat[start : start + batch_size]), start, source)
    return start


def _check_finite_rows(batch, start, source):
    """Raise naming the first non-finite value of ``batch``, whose first row is sample ``start``."""
    if batch.dtype.kind == "f" and not np.isfinite(batch).all():
        bad = np.argwhere(~np.isfinite(batch))
        first = (int(bad[0][0]) + start,) + tuple(int(i) for i in bad[0][1:])
        raise CommandError(f"{source}: non-finite value (NaN or inf) in sample {first[0]}, at index {first}")


def _write_parquet(features, path):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise CommandError("writing .parquet needs pyarrow: pip install pyarrow") from exc
    table = pa.table({f"f{i}": features[:, i] for i in range(features.shape[1])})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _extract(args):
    if args.scheduler is not None:
        return _extract_on_dask(args)
    if any(_is_zarr(path) for path in (args.input, args.output)):
        raise CommandError("reading or writing .zarr runs on Dask: add --scheduler local (or an address)")
    data = _load_input(args.input, args.key)
    n_dims = 2 if args.transform == "2d" else 1
    if data.ndim < n_dims + 1:
        raise CommandError(f"{args.input}: expected a batch of {n_dims}D samples; got an array of shape {data.shape}")
    if data.dtype.kind not in "biuf":
        raise CommandError(f"{args.input}: expected real numbers; got dtype {data.dtype}")
    S = _build_transform(args, data.shape[-n_dims:])
    batch_shape = data.shape[:-n_dims]
    flat = data.reshape((-1,) + data.shape[-n_dims:])
    out_path = Path(args.output)
    if out_path.suffix not in (".npy", ".parquet"):
        raise CommandError(f"{out_path}: the output must end in .npy or .parquet")
    dtype = np.float32 if flat.dtype.kind == "f" and flat.dtype.itemsize <= 4 else np.float64  # as the transforms
    n_features = S.n_channels * int(np.prod(S.output_shape))
    starts = range(0, len(flat), args.batch_size)
    bar = progress(starts, total=len(starts), desc="scattering", quiet=args.quiet, unit="batch")
    batches = (_check_finite(flat, start, args.batch_size, args.input) for start in bar)

    def features_of(start):
        return S(flat[start : start + args.batch_size]).reshape(-1, n_features)

    try:
        if out_path.suffix == ".parquet":
            features = np.empty((len(flat), n_features), dtype)
            for start in batches:
                features[start : start + args.batch_size] = features_of(start)
            _write_parquet(features, out_path)
        else:
            with atomic_path(out_path) as tmp:
                out = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(len(flat), n_features))
                for start in batches:
                    out[start : start + args.batch_size] = features_of(start)
                out.flush()
                del out
    finally:
        bar.close()  # before any error message reaches stderr
    shape = batch_shape + (S.n_channels,) + S.output_shape
    if not args.quiet:
        print(f"{out_path}: {len(flat)} samples x {n_features} features (per sample: {shape[len(batch_shape):]})")
    return 0


# --- extract on a Dask cluster --------------------------------------------------------------------------------


def _is_zarr(path):
    return str(path).rstrip("/").endswith(".zarr")


def _is_url(path):
    return "://" in str(path)


class _NpyRows:
    """A ``.npy`` file as an array of samples ``(n, *signal_shape)`` (the leading axes merged), read by path.

    Dask's tasks take it in place of the array: it pickles as its path, and each read maps the file and
    copies the rows asked for, on whichever worker runs the task (the file must be visible there).
    """

    def __init__(self, path, n_dims):
        self.path = str(Path(path).resolve())
        header = np.load(self.path, mmap_mode="r", allow_pickle=False)
        self.source_shape, self.dtype = header.shape, header.dtype
        n_batch = len(self.source_shape) - n_dims
        if n_batch > 1:
            self.shape = (int(np.prod(self.source_shape[:n_batch])),) + self.source_shape[n_batch:]
        else:
            self.shape = self.source_shape
        self.ndim = len(self.shape)

    def __getitem__(self, index):
        rows = np.load(self.path, mmap_mode="r", allow_pickle=False).reshape(self.shape)
        return np.array(rows[index])


def _lazy_input(args, n_dims):
    """The input as a dask array of samples ``(n, *signal_shape)`` in chunks of ``--batch-size`` samples.

    ``.npy`` files and ``.zarr`` arrays are read chunk by chunk on the workers; ``.npz`` files and folders
    of images are loaded here and sent with the graph. Also returns the input's leading (batch) shape.
    """
    import dask.array as da

    path = args.input
    if _is_zarr(path):
        if not _is_url(path) and not Path(path).exists():
            raise CommandError(f"{path}: no such file or directory")
        try:
            data = da.from_zarr(str(path), component=args.key)
        except ImportError as exc:
            raise CommandError(f"reading .zarr needs zarr: pip install zarr ({exc})") from exc
        except (ValueError, KeyError, OSError) as exc:
            raise CommandError(f"{path}: cannot read as zarr ({exc})") from exc
        batch_shape = data.shape[: max(data.ndim - n_dims, 0)]
        if data.ndim > n_dims + 1:
            data = data.reshape((-1,) + data.shape[-n_dims:])
        if data.ndim == n_dims + 1:
            data = data.rechunk((args.batch_size,) + data.shape[1:])
        return data, batch_shape
    if Path(path).suffix == ".npy" and Path(path).is_file():
        try:
            rows = _NpyRows(path, n_dims)
        except (ValueError, OSError) as exc:
            raise CommandError(f"{path}: cannot read ({exc})") from exc
        chunks = (args.batch_size,) + rows.shape[1:]
        meta = np.empty((0,) * rows.ndim, rows.dtype)
        stat = Path(rows.path).stat()
        name = "npy-" + _token(rows.path, stat.st_mtime_ns, stat.st_size)
        batch_shape = rows.source_shape[: max(len(rows.source_shape) - n_dims, 0)]
        return da.from_array(rows, chunks=chunks, meta=meta, name=name, asarray=False), batch_shape
    data = _load_input(path, args.key)
    batch_shape = data.shape[: max(data.ndim - n_dims, 0)]
    if data.ndim > n_dims:
        data = data.reshape((-1,) + data.shape[data.ndim - n_dims :])
    return da.from_array(data, chunks=(args.batch_size,) + data.shape[1:]), batch_shape


def _token(*values):
    from dask.base import tokenize

    return tokenize(*values)


def _finite_chunk(block, source, block_info=None):
    """``block`` after checking its values are finite; errors name the sample (from the chunk's location)."""
    _check_finite_rows(block, block_info[0]["array-location"][0][0], source)
    return block


#: Dask settings of the workers that ``--scheduler local`` starts. Without a dashboard, the statistical profiler
#: only costs time (it samples the computing thread's stack every 10 ms). Distributed sets MALLOC_TRIM_THRESHOLD_
#: in its workers' environment to return freed memory to the OS eagerly, which also fixes glibc's mmap threshold
#: at 128 KiB: every temporary array of the transform is then mapped and page-faulted anew. Each costs some 30%
#: of the throughput here; a task's memory is bounded by its chunk, so neither is needed.
_LOCAL_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


@contextlib.contextmanager
def _dask_client(scheduler):
    """A client of a new LocalCluster (``"local"``: one single-threaded worker process per CPU) or of a scheduler."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler == "local":
        n_workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        with (
            dask.config.set(_LOCAL_WORKER_CONFIG),
            LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, ValueError, TypeError) as exc:
        raise CommandError(f"--scheduler {scheduler}: cannot connect ({exc})") from exc
    with client:
        yield client


@contextlib.contextmanager
def _atomic_output(path):
    """The path to write to: a temporary one renamed to ``path`` on success, or ``path`` itself for a URL."""
    if _is_url(path):
        yield str(path)
        return
    with atomic_directory(path) if _is_zarr(path) else atomic_path(path) as tmp:
        yield str(tmp)


def _write_zarr_rows(block, path, start):
    """Write ``block`` into rows ``start:`` of the zarr array at ``path``; runs on a worker."""
    import zarr

    zarr.open_array(path, mode="r+")[start : start + len(block)] = block
    return len(block)


def _extract_on_dask(args):
    """``scatter extract --scheduler``: features computed on a Dask cluster, written chunk by chunk."""
    try:
        import dask
        from distributed import as_completed
    except ImportError as exc:
        raise CommandError(f'--scheduler needs dask and distributed: pip install "scatter[dask]" ({exc})') from exc
    out_path = args.output
    if not (_is_zarr(out_path) or Path(out_path).suffix == ".npy"):
        raise CommandError(f"{out_path}: with --scheduler, the output must end in .npy or .zarr")
    if _is_url(out_path) and not _is_zarr(out_path):
        raise CommandError(f"{out_path}: a URL output must be a .zarr store")
    n_dims = 2 if args.transform == "2d" else 1
    data, batch_shape = _lazy_input(args, n_dims)
    if data.ndim != n_dims + 1:
        raise CommandError(f"{args.input}: expected a batch of {n_dims}D samples; got an array of shape {data.shape}")
    if data.dtype.kind not in "biuf":
        raise CommandError(f"{args.input}: expected real numbers; got dtype {data.dtype}")
    dtype = np.float32 if data.dtype.kind == "f" and data.dtype.itemsize <= 4 else np.float64  # as the transforms
    data = data.astype(dtype).map_blocks(_finite_chunk, str(args.input), dtype=dtype)
    from . import sklearn

    transformer = _build_transform(args, data.shape[1:], sklearn).fit(data)
    features = transformer.transform(data)
    n_samples, n_features = features.shape
    rows = np.cumsum((0,) + features.chunks[0][:-1])
    with _dask_client(args.scheduler) as client, _atomic_output(out_path) as target:
        if _is_zarr(out_path):
            import zarr

            # Every chunk of features is one chunk of the zarr array: the workers write them without a lock.
            size = features.chunks[0][0]
            if any(c != size for c in features.chunks[0][:-1]) or features.chunks[0][-1] > size:
                size = args.batch_size
                features = features.rechunk({0: size})
                rows = np.cumsum((0,) + features.chunks[0][:-1])
            zarr.open_array(target, mode="w", shape=features.shape, chunks=(size, n_features), dtype=dtype)
            blocks = features.to_delayed().ravel()
            tasks = [dask.delayed(_write_zarr_rows)(block, target, int(r)) for block, r in zip(blocks, rows)]
        else:
            out = np.lib.format.open_memmap(target, mode="w+", dtype=dtype, shape=(n_samples, n_features))
            tasks = list(features.to_delayed().ravel())
        futures = client.compute(tasks)
        start_of = dict(zip((f.key for f in futures), (int(r) for r in rows)))
        bar = progress(as_completed(futures), total=len(futures), desc="scattering", quiet=args.quiet, unit="chunk")
        try:
            for future in bar:
                result = future.result()
                if not _is_zarr(out_path):
                    start = start_of[future.key]
                    out[start : start + len(result)] = result
                future.release()
            if not _is_zarr(out_path):
                out.flush()
                del out
        finally:
            bar.close()  # before any error message reaches stderr
            client.cancel(futures)
    shape = batch_shape + (transformer.scattering_.n_channels,) + transformer.scattering_.output_shape
    if not args.quiet:
        print(f"{out_path}: {n_samples} samples x {n_features} features (per sample: {shape[len(batch_shape):]})")
    return 0


# --- info and plot-filters ----------------------------------------------------------------------------------


def _info(args):
    import numba
    import scipy

    from . import __version__
    from .grid import _kernels

    print(f"scatter {__version__}")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}")
    # The kernels are serial; scatter runs batch chunks on a thread pool. Report Numba's setting all the same.
    print(f"numba threads: {numba.get_num_threads()}, threading layer: {numba.config.THREADING_LAYER}")
    print(f"numba cache dir: {numba.config.CACHE_DIR or Path(_kernels.__file__).parent / '__pycache__'}")
    return 0


def _plot_filters(args):
    from . import grid
    from .plotting import plot_filters_1d, plot_filters_2d

    if args.transform == "2d":
        S = grid.Scattering2D(args.J, (args.size, args.size), L=args.L)
        plot_filters_2d(S.filters, args.output)
    else:
        S = grid.Scattering1D(args.J, args.size, Q=args.Q, T=args.T)
        plot_filters_1d(S.filters, args.output)
    print(args.output)
    return 0


# --- bench -------------------------------------------------------------------------------------------------


def _bench(args):
    from pipelines.stability import print_summary, run_stability_benchmark

    report = run_stability_benchmark(
        args.dataset, n_images=args.n_images, data_dir=args.data_dir, out=args.out, quiet=args.quiet,
        accuracy=args.accuracy, kymatio=args.kymatio,
    )
    print_summary(report, args.out)
    return 0


# --- parser --------------------------------------------------------------------------------------------------


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def _add_transform_options(parser):
    parser.add_argument("--transform", choices=("1d", "2d"), required=True, help="1D signals or 2D images")
    parser.add_argument("--J", type=int, default=2, help="number of scales (default 2)")
    parser.add_argument("--L", type=int, default=8, help="2D: orientations (default 8)")
    parser.add_argument("--Q", type=int, default=1, help="1D: wavelets per octave (default 1)")
    parser.add_argument("--T", type=int, default=None, help="1D: averaging scale (default 2^J)")


def build_parser():
    """Argument parser of the ``scatter`` command."""
    from pipelines import PIPELINES

    parser = argparse.ArgumentParser(prog="scatter", description="Wavelet scattering transforms.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a classification pipeline and write its report")
    run.add_argument("pipeline", nargs="?", default="digits", help=f"one of {', '.join(PIPELINES)} (default digits)")
    run.add_argument("--n-train", type=_positive, default=None, help="number of training samples (default: all)")
    run.add_argument("--n-test", type=_positive, default=None, help="number of test samples (default: all)")
    run.add_argument("--data-dir", default=None, help="data directory (default: $SCATTER_DATA)")
    run.add_argument("--out", default=None, help="output directory (default: out/PIPELINE)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    run.add_argument("--head", action="store_true", help="also train the learnable equivariant head (needs PyTorch)")
    run.add_argument(
        "--no-svm", action="store_true",
        help="with --head: the head only, without the SVM baseline, whose cost grows with the square of --n-train "
        "(spherical-mnist)",
    )
    run.add_argument(
        "--members", type=_positive, default=None,
        help="with --head: heads per model, seeded in turn, their probabilities averaged (spherical-mnist; "
        "default: the pipeline's)",
    )
    run.set_defaults(func=_run)

    extract = sub.add_parser("extract", help="scattering features of a .npy/.npz file or a folder of images")
    extract.add_argument("input", help=".npy or .npz file (n, ..., N) or (n, ..., H, W), or a folder of images")
    extract.add_argument("output", help="output .npy (or .parquet with pyarrow): one row of features per sample")
    _add_transform_options(extract)
    extract.add_argument("--max-order", type=int, default=2, help="highest order, 1 or 2 (default 2)")
    extract.add_argument("--key", default=None, help="array name inside an .npz file")
    extract.add_argument("--batch-size", type=_positive, default=256, help="samples per batch (default 256)")
    extract.add_argument(
        "--fft",
        choices=("pocketfft", "fftw"),
        default="pocketfft",
        help="FFT library: pocketfft (default; the same features to the bit in any batch) or fftw (faster; "
        "needs scatter[fftw])",
    )
    extract.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    extract.add_argument(
        "--scheduler",
        default=None,
        metavar="local|ADDRESS",
        help="run on Dask: 'local' starts a LocalCluster (a worker process per CPU), an address such as "
        "tcp://host:8786 uses that cluster's scheduler; reads and writes .npy or .zarr chunk by chunk "
        "(chunks of --batch-size samples). Needs scatter[dask]",
    )
    extract.set_defaults(func=_extract)

    info = sub.add_parser("info", help="versions, Numba threading layer and cache directory")
    info.set_defaults(func=_info)

    plot = sub.add_parser("plot-filters", help="PNG of a filter bank")
    plot.add_argument("output", nargs="?", default="filters.png", help="output PNG (default filters.png)")
    _add_transform_options(plot)
    plot.add_argument("--size", type=int, default=64, help="signal length or image side (default 64)")
    plot.set_defaults(func=_plot_filters)

    bench = sub.add_parser("bench", help="benchmark of representations; writes its report")
    bench.add_argument("benchmark", choices=("stability",), help="stability: to deformations, noise and symmetries")
    bench.add_argument("--dataset", choices=("mnist", "digits", "textures"), default="mnist", help="probe images")
    bench.add_argument("--data-dir", default=None, help="data directory (default: $SCATTER_DATA)")
    bench.add_argument("--n-images", type=_positive, default=300, help="probe images (default 300)")
    bench.add_argument("--out", default="out/stability", help="output directory (default: out/stability)")
    bench.add_argument("--accuracy", type=_positive, nargs=2, metavar=("N_TRAIN", "N_TEST"), default=None,
                       help="also a quick accuracy per representation (RBF SVM) on N_TRAIN/N_TEST images")
    bench.add_argument("--kymatio", action="store_true", help="add Kymatio's scattering as a cross-check")
    bench.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    bench.set_defaults(func=_bench)
    return parser


def main(argv=None):
    """Entry point of the ``scatter`` console script."""
    args = build_parser().parse_args(argv)
    if getattr(args, "out", "") is None:
        args.out = f"out/{args.pipeline}"
    try:
        return args.func(args)
    except (CommandError, ValueError, TypeError, OSError, ImportError) as exc:
        print(f"scatter: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("scatter: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
