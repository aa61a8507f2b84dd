"""What every pipeline does: extract features with a progress bar, fit and score classifiers, write reports."""

import argparse
import json
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix

from scatter import __version__
from scatter._atomic import write_text
from scatter._progress import progress
from scatter.plotting import plot_confusion


def extract(transformer, X, *, quiet=False, desc="scattering", batch_size=500):
    """Fitted ``transformer``'s features of ``X``, batch by batch under a progress bar.

    The transformer is fitted on the first sample if it is not fitted yet (scattering transformers only
    read the signal shape in ``fit``).
    """
    if not hasattr(transformer, "n_output_features_"):
        transformer.fit(X[:1])
    out = None
    starts = range(0, len(X), batch_size)
    for start in progress(starts, total=len(starts), desc=desc, quiet=quiet, unit="batch"):
        features = transformer.transform(X[start : start + batch_size])
        if out is None:
            out = np.empty((len(X), features.shape[1]), features.dtype)
        out[start : start + len(features)] = features
    return out


def evaluate(name, model, X_train, y_train, X_test, y_test, extra_seconds=0.0):
    """Fit ``model``, predict the test set, and return a result dict (accuracy, error, seconds, predictions)."""
    start = time.perf_counter()
    model.fit(X_train, y_train)
    predicted = model.predict(X_test)
    seconds = time.perf_counter() - start + extra_seconds
    accuracy = float(np.mean(predicted == y_test))
    return {"model": name, "accuracy": accuracy, "error": 1.0 - accuracy, "seconds": seconds, "predicted": predicted}


def report_fields(pipeline, main_result, n_train, n_test, start):
    """The fields every report starts with: the pipeline, its headline result, the data sizes and the run time."""
    return {
        "pipeline": pipeline,
        "accuracy": main_result["accuracy"],
        "error": main_result["error"],
        "n_train": int(n_train),
        "n_test": int(n_test),
        "seconds": time.perf_counter() - start,
    }


def subsample(X, y, n, name, random_state=0):
    """``n`` samples of ``(X, y)`` drawn without replacement, reproducibly (all of them for ``n=None``)."""
    if n is None or n >= len(X):
        return X, y
    if n < 1:
        raise ValueError(f"{name} must be at least 1; got {n}")
    order = np.random.default_rng(random_state).permutation(len(X))[:n]
    return X[order], y[order]


def write_report(out_dir, report, results, labels, y_test):
    """Write ``report.json``, ``report.md`` and one confusion-matrix PNG per model into ``out_dir``.

    ``report`` holds the pipeline-level fields; ``results`` the per-model dicts from :func:`evaluate`
    (their predictions go into the confusion matrices, not into the JSON).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = []
    for result in results:
        predicted = result.pop("predicted")
        path = out_dir / f"confusion_{re.sub(r'[^A-Za-z0-9]+', '_', result['model']).strip('_')}.png"
        cm = confusion_matrix(y_test, predicted, labels=np.arange(len(labels)))
        plot_confusion(cm, labels, path, title=f"{report['pipeline']}: {result['model']}")
        figures.append(path.name)
    report = {
        **report,
        "results": results,
        "figures": figures + report.get("figures", []),
        "environment": {"scatter": __version__, "python": platform.python_version(), "machine": platform.machine()},
    }
    write_text(out_dir / "report.json", json.dumps(report, indent=2, default=_jsonable) + "\n")
    write_text(out_dir / "report.md", markdown_table(report))
    return report


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (Path, tuple)):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def markdown_table(report):
    """Markdown summary of a report: one row per model."""
    lines = [
        f"# Pipeline `{report['pipeline']}`",
        "",
        f"{report['n_train']} training and {report['n_test']} test samples; {report['seconds']:.1f} s in all.",
        "",
        "| model | accuracy | error | seconds |",
        "| --- | --- | --- | --- |",
    ]
    for r in report["results"]:
        lines.append(f"| {r['model']} | {100 * r['accuracy']:.2f}% | {100 * r['error']:.2f}% | {r['seconds']:.1f} |")
    lines += ["", "Parameters: " + ", ".join(f"`{k}={v}`" for k, v in report["params"].items()), ""]
    lines += [f"![{name}]({name})" for name in report["figures"]]
    return "\n".join(lines) + "\n"


def add_common_arguments(parser, default_out):
    """The options every pipeline takes."""
    parser.add_argument("--n-train", type=int, default=None, help="number of training samples (default: all)")
    parser.add_argument("--n-test", type=int, default=None, help="number of test samples (default: all)")
    parser.add_argument("--data-dir", default=None, help="data directory (default: $SCATTER_DATA)")
    parser.add_argument("--out", default=default_out, help=f"output directory (default: {default_out})")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return parser


def main(run, name, argv=None):
    """Command-line entry of one pipeline: parse the common options, run it, print the summary."""
    parser = add_common_arguments(argparse.ArgumentParser(prog=f"python -m pipelines.{name}"), f"out/{name}")
    args = parser.parse_args(argv)
    report = run(n_train=args.n_train, n_test=args.n_test, data_dir=args.data_dir, out=args.out, quiet=args.quiet)
    print_summary(report, args.out)
    return 0


def print_summary(report, out):
    """One line per model, and where the report went."""
    for r in report["results"]:
        print(f"{report['pipeline']}: {r['model']}: accuracy {100 * r['accuracy']:.2f}% ({r['seconds']:.1f} s)")
    print(f"report: {Path(out) / 'report.json'}", file=sys.stderr)
