"""The ``scatter`` command line.

``scatter run`` extracts the 2D scattering features of scikit-learn's bundled digits and reports their shape
and the throughput; ``scatter info`` prints versions and the Numba set-up.
"""

import argparse
import sys
import time

import numpy as np


def _run(args):
    from sklearn.datasets import load_digits

    from .grid import Scattering2D

    images = load_digits().images.astype(np.float32)
    S = Scattering2D(J=args.J, shape=images.shape[1:], L=args.L)
    S(images[:2])  # load the compiled kernels before timing
    start = time.perf_counter()
    features = S(images)
    seconds = time.perf_counter() - start
    print(f"digits: {images.shape[0]} images of {images.shape[1]}x{images.shape[2]} pixels")
    print(f"{S!r}")
    print(f"features: shape {features.shape} ({features[0].size} per image), dtype {features.dtype}")
    print(f"throughput: {images.shape[0] / seconds:,.0f} images/s ({seconds * 1e3:.1f} ms)")
    return 0


def _info(args):
    import numba
    import scipy

    from . import __version__

    print(f"scatter {__version__}")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}")
    from .grid import _kernels

    _kernels.modulus(np.zeros((1, 1), np.complex128), np.zeros((1, 1)))  # starts the threading layer
    print(f"numba threads: {numba.get_num_threads()}, threading layer: {numba.threading_layer()}")
    print(f"numba cache dir: {numba.config.CACHE_DIR or '(beside each module, in __pycache__)'}")
    return 0


def build_parser():
    """Argument parser of the ``scatter`` command."""
    parser = argparse.ArgumentParser(prog="scatter", description="Wavelet scattering transforms.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="extract 2D scattering features of scikit-learn's digits")
    run.add_argument("--J", type=int, default=2, help="number of scales (default 2)")
    run.add_argument("--L", type=int, default=8, help="number of orientations (default 8)")
    run.set_defaults(func=_run)
    info = sub.add_parser("info", help="versions, Numba threading layer and cache directory")
    info.set_defaults(func=_info)
    return parser


def main(argv=None):
    """Entry point of the ``scatter`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"scatter: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
