"""Rotated MNIST: scattering + SVM against scattering + the C_L-equivariant head, on rotated digits.

Two settings: train on upright digits and test on digits rotated by uniformly random angles (does the model
generalise to rotations it never saw?), and train and test on rotated digits. The 28x28 digits are placed on a
33x33 canvas centred on pixel (16, 16) (MNIST centres each digit's mass on its field), rotated there about that
pixel, cropped to 32x32 and rolled so that the centre sits at the periodic grid's origin: a quarter turn of the
image is then exactly a quarter turn of the grid about its origin, to which the head's outputs are invariant.

- ``scattering + SVM``: 2D scattering (J=3, L=8, periodic), modulus of the Fourier transform over
  orientations (invariant to shifts of the orientation index), log, standardised, RBF SVM;
- ``scattering + head`` (``--head``, needs PyTorch): :class:`scatter.head.ScatteringHeadClassifier` on the
  same scattering.

With ``--head`` each set of images is scattered once: the head reads the raw coefficients
(``input="coefficients"``) and the SVM's features are their post-processing
(:meth:`scatter.sklearn.Scattering2D.transform_coefficients`), the very features of a run without the head.
``scattering_seconds`` is the time of that pass; each model's ``seconds`` include a third of it (and, for the
SVM, of the post-processing).
"""

import argparse
import time

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from scatter import sklearn as scatter_sklearn
from scatter.datasets import load_mnist
from scatter.distortions import rotate

from ._common import add_common_arguments, evaluate, extract, print_summary, report_fields, subsample, write_report

PARAMS = {"J": 3, "L": 8, "log_eps": 1e-3, "C": 10.0, "head_hidden": (32, 32), "head_epochs": 20}
DEFAULT_N_TRAIN, DEFAULT_N_TEST = 10000, 2000
SETTINGS = ("upright/rotated", "rotated/rotated")


def centred_on_origin(images, angles=None):
    """28x28 digits on the 32x32 periodic grid with their centre (pixel 16, 16 of a 33x33 canvas) at the
    origin, rotated first by ``angles`` degrees (one per image) about that centre when given."""
    canvas = np.pad(images.astype(np.float64) / 255.0, ((0, 0), (2, 3), (2, 3)))
    if angles is not None:
        canvas = rotate(canvas, angles)
    return np.roll(canvas[:, :32, :32], (-16, -16), axis=(1, 2)).astype(np.float32)


def run(*, n_train=None, n_test=None, data_dir=None, out="out/rotated-mnist", quiet=False, random_state=0,
        head=False):
    """Run both settings on ``n_train`` training and ``n_test`` test digits (default 10000 and 2000);
    with ``head``, also the equivariant head. Writes and returns the report."""
    start = time.perf_counter()
    p = PARAMS
    X_train, y_train = load_mnist(data_dir, split="train")
    X_test, y_test = load_mnist(data_dir, split="test")
    X_train, y_train = subsample(X_train, y_train, n_train or DEFAULT_N_TRAIN, "n_train", random_state)
    X_test, y_test = subsample(X_test, y_test, n_test or DEFAULT_N_TEST, "n_test", random_state)
    rng = np.random.default_rng(random_state)
    images = {
        "upright": centred_on_origin(X_train),
        "rotated": centred_on_origin(X_train, rng.uniform(0, 360, len(X_train))),
        "test": centred_on_origin(X_test, rng.uniform(0, 360, len(X_test))),
    }
    scattering = scatter_sklearn.Scattering2D(
        J=p["J"], shape=(32, 32), L=p["L"], padding="periodic", orientation="fourier", log_eps=p["log_eps"]
    )
    tic = time.perf_counter()
    pooling_seconds = 0.0
    if head:
        # One scattering pass per set: the head reads the raw coefficients, the SVM's features are derived from them.
        raw = scatter_sklearn.Scattering2D(J=p["J"], shape=(32, 32), L=p["L"], padding="periodic")
        coefficients = {name: extract(raw, x, quiet=quiet, desc=f"scattering {name}") for name, x in images.items()}
        scattering_seconds = time.perf_counter() - tic
        tic = time.perf_counter()
        scattering.fit(images["test"][:1])
        features = {name: scattering.transform_coefficients(c) for name, c in coefficients.items()}
        pooling_seconds = time.perf_counter() - tic
    else:
        features = {name: extract(scattering, x, quiet=quiet, desc=f"scattering {name}") for name, x in images.items()}
        scattering_seconds = time.perf_counter() - tic
    results = []
    for setting in SETTINGS:
        train = setting.split("/")[0]
        svm = make_pipeline(StandardScaler(), SVC(C=p["C"]))
        results.append(
            evaluate(f"scattering + SVM, {setting}", svm, features[train], y_train, features["test"], y_test,
                     (scattering_seconds + pooling_seconds) / 3)
        )
        if head:
            from scatter.head import ScatteringHeadClassifier

            model = ScatteringHeadClassifier(
                J=p["J"], L=p["L"], shape=(32, 32), padding="periodic", input="coefficients", log_eps=p["log_eps"],
                hidden=p["head_hidden"], max_epochs=p["head_epochs"], random_state=random_state, verbose=not quiet,
            )
            results.append(
                evaluate(f"scattering + head, {setting}", model, coefficients[train], y_train, coefficients["test"],
                         y_test, scattering_seconds / 3)
            )
    by_model = {r["model"]: r["accuracy"] for r in results}
    main_result = results[1] if head else results[0]  # upright training, rotated test
    report = {
        **report_fields("rotated-mnist", main_result, len(X_train), len(X_test), start),
        "accuracy_by_model": by_model,
        "params": {**p, "head": bool(head), "scattering_seconds": scattering_seconds},
    }
    return write_report(out, report, results, [str(i) for i in range(10)], y_test)


def main(argv=None):
    """``python -m pipelines.rotated_mnist [--head]``."""
    parser = add_common_arguments(argparse.ArgumentParser(prog="python -m pipelines.rotated_mnist"),
                                  "out/rotated-mnist")
    parser.add_argument("--head", action="store_true", help="also train the equivariant head (needs PyTorch)")
    args = parser.parse_args(argv)
    report = run(n_train=args.n_train, n_test=args.n_test, data_dir=args.data_dir, out=args.out, quiet=args.quiet,
                 head=args.head)
    print_summary(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
