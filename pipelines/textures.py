"""Textures: rotation-invariant scattering vs raw pixels on brick, grass and gravel patches (scikit-image).

Training patches are upright; test patches come from disjoint regions of the images, once upright and once
rotated by random angles. The scattering features are pooled over rotations (modulus of the Fourier transform
over the orientation index) and averaged over positions: invariant to translations and, up to the angular
sampling of the wavelets, to rotations. Raw pixels are neither.
"""

import time

from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from scatter import sklearn as scatter_sklearn
from scatter.datasets import TEXTURE_NAMES, load_textures

from ._common import evaluate, extract, main, report_fields, write_report

PARAMS = {"patch_size": 32, "J": 3, "L": 8, "log_eps": 1e-3, "orientation": "fourier", "spatial": "global", "C": 10.0}


def run(*, n_train=None, n_test=None, data_dir=None, out="out/textures", quiet=False, random_state=0):
    """Run the pipeline with ``n_train`` and ``n_test`` patches in all (default 300 each; split across the three
    textures); ``data_dir`` is unused (the images ship with scikit-image). Writes and returns the report."""
    start = time.perf_counter()
    p = PARAMS
    per_class_train = max(1, (n_train or 300) // len(TEXTURE_NAMES))
    per_class_test = max(1, (n_test or 300) // len(TEXTURE_NAMES))
    splits = {}
    for name, rotate in (("upright", False), ("rotated", True)):
        X_train, X_test, y_train, y_test = load_textures(
            p["patch_size"],
            n_train_per_class=per_class_train,
            n_test_per_class=per_class_test,
            rotate_test=rotate,
            random_state=random_state,
        )
        splits[name] = X_test
    scattering = scatter_sklearn.Scattering2D(
        J=p["J"],
        shape=(p["patch_size"], p["patch_size"]),
        L=p["L"],
        log_eps=p["log_eps"],
        orientation=p["orientation"],
        spatial=p["spatial"],
    )
    tic = time.perf_counter()
    F_train = extract(scattering, X_train, quiet=quiet, desc="scattering train")
    F_tests = {name: extract(scattering, X, quiet=quiet, desc=f"scattering {name}") for name, X in splits.items()}
    scattering_seconds = time.perf_counter() - tic
    flat = {name: X.reshape(len(X), -1) for name, X in splits.items()}
    results = []
    for name in splits:
        classifier = make_pipeline(StandardScaler(), SVC(C=p["C"]))
        results.append(
            evaluate(f"scattering + SVM, {name} test", classifier, F_train, y_train, F_tests[name], y_test,
                     scattering_seconds / 2)
        )
        results.append(
            evaluate(f"raw pixels + SVM, {name} test", make_pipeline(StandardScaler(), SVC(C=p["C"])),
                     X_train.reshape(len(X_train), -1), y_train, flat[name], y_test)
        )
    main_result = results[2]  # rotation-invariant scattering on the rotated test set
    report = {
        **report_fields("textures", main_result, len(X_train), len(y_test), start),
        "accuracy_by_model": {r["model"]: r["accuracy"] for r in results},
        "params": dict(p),
    }
    return write_report(out, report, results, list(TEXTURE_NAMES), y_test)


if __name__ == "__main__":
    raise SystemExit(main(run, "textures"))
