"""The ``scatter`` command line.

- ``scatter run PIPELINE``: a classification pipeline (``digits``, ``mnist``, ``textures``, ``mnist1d``) with its
  JSON/Markdown/PNG report;
- ``scatter extract INPUT OUTPUT --transform 1d|2d``: scattering features of a ``.npy``/``.npz`` file or a folder
  of images, in batches with bounded memory;
- ``scatter info``: versions, Numba threading layer and cache directory;
- ``scatter plot-filters``: a PNG of a filter bank.

Errors in the input end with a one-line message on stderr and exit status 2, never a traceback, and leave no
partial output file.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from ._atomic import atomic_path
from ._progress import progress

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


class CommandError(Exception):
    """An error in the command's input, reported as one line."""


# --- run ---------------------------------------------------------------------------------------------------


def _run(args):
    from pipelines import get_pipeline
    from pipelines._common import print_summary

    run = get_pipeline(args.pipeline)
    report = run(n_train=args.n_train, n_test=args.n_test, data_dir=args.data_dir, out=args.out, quiet=args.quiet)
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


def _build_transform(args, signal_shape):
    from . import grid

    if args.transform == "2d":
        if len(signal_shape) != 2:
            raise CommandError(f"--transform 2d needs images (n, H, W); got samples of shape {signal_shape}")
        return grid.Scattering2D(args.J, signal_shape, L=args.L, max_order=args.max_order)
    if len(signal_shape) != 1:
        raise CommandError(f"--transform 1d needs signals (n, N); got samples of shape {signal_shape}")
    return grid.Scattering1D(args.J, signal_shape, Q=args.Q, T=args.T, max_order=args.max_order)


def _check_finite(flat, start, batch_size, source):
    """``start`` after checking that the batch there holds only finite values (an error names the sample)."""
    batch = np.asarray(flat[start : start + batch_size])
    if batch.dtype.kind == "f" and not np.isfinite(batch).all():
        bad = np.argwhere(~np.isfinite(batch))
        first = (int(bad[0][0]) + start,) + tuple(int(i) for i in bad[0][1:])
        raise CommandError(f"{source}: non-finite value (NaN or inf) in sample {first[0]}, at index {first}")
    return start


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


# --- info and plot-filters ----------------------------------------------------------------------------------


def _info(args):
    import numba
    import scipy

    from . import __version__
    from .grid import _kernels

    print(f"scatter {__version__}")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}")
    # The kernels are serial; scatter runs batch chunks on a thread pool. Report Numba's layer all the same.
    _kernels.modulus(np.zeros((1, 1), np.complex128), np.zeros((1, 1)))
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
    run.set_defaults(func=_run)

    extract = sub.add_parser("extract", help="scattering features of a .npy/.npz file or a folder of images")
    extract.add_argument("input", help=".npy or .npz file (n, ..., N) or (n, ..., H, W), or a folder of images")
    extract.add_argument("output", help="output .npy (or .parquet with pyarrow): one row of features per sample")
    _add_transform_options(extract)
    extract.add_argument("--max-order", type=int, default=2, help="highest order, 1 or 2 (default 2)")
    extract.add_argument("--key", default=None, help="array name inside an .npz file")
    extract.add_argument("--batch-size", type=_positive, default=256, help="samples per batch (default 256)")
    extract.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
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
