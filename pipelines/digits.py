"""Digits: 2D scattering + scaler + RBF SVM on scikit-learn's bundled 8x8 digits, against raw pixels.

The scattering scale ``J`` and the SVM's ``C`` are chosen by 5-fold cross-validation on the training set;
the test set is scored once.
"""

import time

import numpy as np
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from scatter import sklearn as scatter_sklearn
from scatter.datasets import load_digits
from scatter.plotting import plot_filters_2d

from ._common import evaluate, main, report_fields, subsample, write_report

#: Candidate parameters, searched by cross-validation on the training set.
PARAM_GRID = {"scattering2d__J": [1, 2], "svc__C": [1.0, 10.0]}


def run(*, n_train=None, n_test=None, data_dir=None, out="out/digits", quiet=False, random_state=0):
    """Run the pipeline and write its report into ``out``; returns the report dict.

    ``data_dir`` is unused (the digits ship with scikit-learn); it is accepted like every pipeline's.
    """
    start = time.perf_counter()
    images, labels = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.3, random_state=random_state, stratify=labels
    )
    X_train, y_train = subsample(X_train, y_train, n_train, "n_train", random_state)
    X_test, y_test = subsample(X_test, y_test, n_test, "n_test", random_state)
    scattering = make_pipeline(
        scatter_sklearn.Scattering2D(J=1, shape=(8, 8), L=8, log_eps=1e-2), StandardScaler(), SVC(C=10.0)
    )
    search = GridSearchCV(scattering, PARAM_GRID, cv=5)
    results = [
        evaluate("scattering + SVM", search, X_train, y_train, X_test, y_test),
        evaluate(
            "raw pixels + SVM",
            make_pipeline(StandardScaler(), SVC(C=10.0)),
            X_train.reshape(len(X_train), -1),
            y_train,
            X_test.reshape(len(X_test), -1),
            y_test,
        ),
    ]
    best = search.best_estimator_.named_steps["scattering2d"]
    plot_filters_2d(best.scattering_.filters, f"{out}/filters.png")
    report = {
        **report_fields("digits", results[0], len(X_train), len(X_test), start),
        "params": {
            "J": best.J,
            "L": best.L,
            "log_eps": best.log_eps,
            "C": search.best_params_["svc__C"],
            "search": {k: list(v) for k, v in PARAM_GRID.items()},
            "cv_accuracy": float(search.best_score_),
        },
        "figures": ["filters.png"],
    }
    return write_report(out, report, results, [str(i) for i in np.unique(labels)], y_test)


if __name__ == "__main__":
    raise SystemExit(main(run, "digits"))
