r"""Benchmark of stability to distortions: deformations against noise, translations and rotations.

For a probe set of images (MNIST test digits, scikit-learn's digits or texture patches), every representation
of :func:`representations` is measured in the same run, on the same distortions:

- :math:`D_f`, :math:`G_f` and :math:`R_f = D_f / G_f` (Petrini et al. 2021) for smooth random deformations of
  typical displacement :math:`\delta` (a sweep; the headline value at :math:`\delta = 0.6` pixel, cutoff
  :math:`c = 3`) against Gaussian noise of the same norm, image by image; the headline is repeated over
  independent draws to give its spread;
- the Lipschitz ratio :math:`\|f(\tau x) - f(x)\| / (\|x\| \|\nabla\tau\|_\infty)` against
  :math:`\|\nabla\tau\|_\infty` (pixels per pixel, from the fields' coefficients);
- invariance curves: median relative change :math:`\|f(g x) - f(x)\| / \|f(x)\|` against the size of a
  translation (circular, band-limited, in a random direction per image) and against a rotation angle
  (bilinear, zero outside);
- optionally, a quick accuracy per representation (standardised features, RBF SVM).

Writes ``report.json``, ``report.md`` and PNG plots into ``out``. Run it as ``scatter bench stability`` or
``python -m pipelines.stability``.
"""

import argparse
import json
import math
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np

from scatter import __version__
from scatter import distortions as dist
from scatter._atomic import atomic_path, write_text
from scatter._progress import progress
from scatter._validation import check_choice, check_int
from scatter.stability import (
    RandomConvNet,
    WaveletCoefficients,
    as_feature_map,
    invariance_curve,
    lipschitz_ratio,
    stability_from_features,
)

DATASETS = ("mnist", "digits", "textures")
#: Typical displacements of the sweep, in pixels (RMS of the displacement vector, both components), and the
#: headline one. 0.85 = 0.6 * sqrt(2) is an RMS displacement of 0.6 pixel per axis.
DELTAS = (0.15, 0.3, 0.6, 0.85, 1.2, 2.4)
HEADLINE_DELTA = 0.6
CUTOFF = 3
#: Translation sizes (pixels) and rotation angles (degrees) of the invariance curves.
SHIFTS = (0.5, 1.0, 2.0, 4.0, 8.0)
ANGLES = (5.0, 10.0, 20.0, 45.0, 90.0, 180.0)
LOG_EPS = 1e-3
#: Independent draws at the headline displacement.
N_REPEATS = 3
#: The S^2 invariance curves: bandlimit of the Gauss-Legendre grid (maps bandlimited at half of it), number of
#: random maps, and rotation angles (degrees, about random axes).
SPHERE_L, SPHERE_MAPS, SPHERE_ANGLES = 32, 12, (5.0, 20.0, 45.0, 90.0, 180.0)


# ---------------------------------------------------------------------------------------------------------
# data


def load_probes(dataset, n_images, data_dir=None, random_state=0):
    """Probe images ``(n, side, side)`` in [0, 1] (roughly), plus a labelled split for the accuracy figure."""
    dataset = check_choice(dataset, "dataset", DATASETS)
    from scatter import datasets

    if dataset == "mnist":
        test, y_test = datasets.load_mnist(data_dir, split="test")
        train, y_train = datasets.load_mnist(data_dir, split="train")
        scale = 255.0
        probes = test[:n_images]
    elif dataset == "digits":
        from sklearn.model_selection import train_test_split

        images, labels = datasets.load_digits()
        scale = 16.0
        probes = images[:n_images]
        train, test, y_train, y_test = train_test_split(images, labels, test_size=0.4, random_state=random_state)
    else:
        per_class = max(1, math.ceil(n_images / 3))
        train, test, y_train, y_test = datasets.load_textures(
            32, n_train_per_class=per_class, n_test_per_class=per_class, random_state=random_state
        )
        scale = 1.0
        probes = test[np.random.default_rng(random_state).permutation(len(test))[:n_images]]
    as_float = lambda a: np.asarray(a, dtype=np.float64) / scale  # noqa: E731
    return as_float(probes), (as_float(train), y_train, as_float(test), y_test)


# ---------------------------------------------------------------------------------------------------------
# representations


def representations(side, *, kymatio=False):
    """``[(name, factory)]``: every representation that fits images of ``side`` pixels; ``factory()`` builds it.

    Scattering uses scatter's scikit-learn ``Scattering2D`` (L = 8, Kymatio's mirror padding); "order m"
    is the full feature vector of orders 0 to m, as Kymatio outputs it.
    """
    from scatter.sklearn import Scattering2D

    reps = [("pixels", lambda: (lambda x: x)), ("DWT db2", lambda: WaveletCoefficients("db2"))]
    max_J = int(math.log2(side))
    for J in range(1, min(4, max_J) + 1):
        for order in (1, 2):
            build = lambda J=J, order=order: Scattering2D(J, max_order=order, n_jobs=-1)  # noqa: E731
            reps.append((f"scattering J={J} order {order}", build))
    J = min(3, max_J)
    reps += [
        (f"log scattering J={J}", lambda: Scattering2D(J, log_eps=LOG_EPS, n_jobs=-1)),
        (f"orientation-averaged scattering J={J}", lambda: Scattering2D(J, orientation="average", n_jobs=-1)),
        (f"globally averaged scattering J={J}", lambda: Scattering2D(J, spatial="global", n_jobs=-1)),
        (
            f"orientation- and globally averaged scattering J={J}",
            lambda: Scattering2D(J, orientation="average", spatial="global", n_jobs=-1),
        ),
    ]
    n_layers = min(3, max_J)
    reps.append((f"random CNN ({n_layers} layers)", lambda: RandomConvNet((16, 32, 64)[:n_layers], random_state=0)))
    if kymatio:
        reps.append((f"Kymatio scattering J={J} order 2", lambda: _kymatio_scattering(J, side)))
    return reps


def _kymatio_scattering(J, side):
    """Kymatio 0.3.0's NumPy 2D scattering (the cross-check), as a batch callable."""
    import scipy.special

    if not hasattr(scipy.special, "sph_harm"):  # Kymatio 0.3.0 imports it; SciPy 1.17 removed it.
        scipy.special.sph_harm = lambda m, n, theta, phi: scipy.special.sph_harm_y(n, m, phi, theta)
    from kymatio.numpy import Scattering2D

    S = Scattering2D(J=J, shape=(side, side), L=8)
    return lambda x: S(np.ascontiguousarray(x, dtype=np.float64)).reshape(len(x), -1)


# ---------------------------------------------------------------------------------------------------------
# distortions


def draw_distortions(x, deltas, cutoff, n_repeats, headline, random_state=0):
    """Deformed and noisy probes for every delta (and ``n_repeats`` draws at ``headline``), with their fields."""
    n = x.shape[-1]
    rng = np.random.default_rng(random_state)
    draws = []
    for delta, repeat in [(d, 0) for d in deltas] + [(headline, r) for r in range(1, n_repeats)]:
        T = dist.temperature_for_displacement(delta, n, cutoff)
        deformed, coefficients = dist.random_diffeo(x, T, cutoff, random_state=rng, return_field=True)
        tau = dist.diffeo_field(coefficients, n)
        draws.append(
            {
                "delta": delta,
                "repeat": repeat,
                "temperature": T,
                "deformed": deformed,
                "noisy": dist.matched_noise(x, deformed, random_state=rng),
                "measured_delta": float(np.sqrt(np.mean(np.sum(tau**2, axis=1)))),
                "gradient_norm": dist.diffeo_gradient_norm(coefficients, n),
                "pairing_seed": int(rng.integers(2**31)),
            }
        )
    return draws


def _transformed(x, shifts, angles, random_state=0):
    """Translated (circular, random direction per image) and rotated probes."""
    phi = np.random.default_rng(random_state).uniform(0, 2 * np.pi, len(x))
    direction = np.stack([np.sin(phi), np.cos(phi)], axis=1)
    translated = [dist.translate(x, s * direction, boundary="circular") for s in shifts]
    rotated = [dist.rotate(x, a) for a in angles]
    return translated, rotated


# ---------------------------------------------------------------------------------------------------------
# measurement


def _relative_change(f_moved, fx):
    return float(np.median(np.linalg.norm(f_moved - fx, axis=1) / np.linalg.norm(fx, axis=1)))


def _accuracy(features, split, random_state):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X_train, y_train, X_test, y_test = split
    model = make_pipeline(StandardScaler(), SVC(C=10.0, random_state=random_state))
    model.fit(features(X_train), y_train)
    return float(np.mean(model.predict(features(X_test)) == y_test))


def measure(name, factory, x, draws, translated, rotated, *, split=None, random_state=0):
    """Every metric of one representation on the prepared distortions.

    All the images go through the feature map in one call: scattering's cost per call is mostly fixed on
    small images.
    """
    start = time.perf_counter()
    f = factory()
    features = as_feature_map(f, x)
    batches = [x] + [b for d in draws for b in (d["deformed"], d["noisy"])] + list(translated) + list(rotated)
    all_features = features(np.concatenate(batches)).reshape(len(batches), len(x), -1)
    fx, rest = all_features[0], iter(all_features[1:])
    result = {"name": name, "n_features": int(fx.shape[1]), "sweep": [], "repeats": []}
    for draw in draws:
        fd, fn = next(rest), next(rest)
        ratios = {
            average: stability_from_features(fx, fd, fn, average=average, random_state=draw["pairing_seed"])
            for average in ("median", "mean", "feature_median")
        }
        lipschitz = lipschitz_ratio(lambda _: fd, x, draw["deformed"], draw["gradient_norm"], fx=fx)
        row = {
            "delta": draw["delta"],
            "D": ratios["median"]["D"],
            "G": ratios["median"]["G"],
            "R": ratios["median"]["R"],
            "R_mean": ratios["mean"]["R"],
            "R_feature_median": ratios["feature_median"]["R"],
            "lipschitz_median": float(np.median(lipschitz)),
            "gradient_norm_median": float(np.median(draw["gradient_norm"])),
        }
        (result["sweep"] if draw["repeat"] == 0 else result["repeats"]).append(row)
    result["translation"] = [_relative_change(next(rest), fx) for _ in translated]
    result["rotation"] = [_relative_change(next(rest), fx) for _ in rotated]
    if split is not None:
        result["accuracy"] = _accuracy(features, split, random_state)
    result["seconds"] = time.perf_counter() - start
    return result


def _headline(result, headline):
    rows = [r for r in result["sweep"] if r["delta"] == headline] + result["repeats"]
    values = np.array([r["R"] for r in rows])
    return rows[0], float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else float("nan")


def run_stability_benchmark(
    dataset="mnist",
    *,
    n_images=300,
    data_dir=None,
    out="out/stability",
    quiet=False,
    deltas=None,
    headline_delta=HEADLINE_DELTA,
    cutoff=CUTOFF,
    n_repeats=None,
    accuracy=None,
    kymatio=False,
    random_state=0,
):
    """Run the benchmark; writes ``report.json``, ``report.md`` and the plots into ``out`` and returns the report.

    Parameters
    ----------
    dataset : {"mnist", "digits", "textures"}
        Probe images: the first ``n_images`` MNIST test digits, scikit-learn's digits, or texture test patches.
    n_images : int, default 300
        Size of the probe set (>= 2).
    data_dir : str, optional
        MNIST's directory (default ``$SCATTER_DATA``).
    out : str or Path
        Output directory.
    quiet : bool
        No progress bar.
    deltas : sequence of float, optional
        Typical displacements of the sweep, in pixels (default :data:`DELTAS`); ``headline_delta`` is added if
        missing.
    cutoff : int
        Cutoff :math:`c` of the deformations.
    n_repeats : int, optional
        Independent draws (default :data:`N_REPEATS`) at ``headline_delta``: their spread is the noise of the
        headline :math:`R_f`.
    accuracy : (int, int), optional
        Training and test sizes of a quick accuracy figure per representation (standardised features, RBF
        SVM); ``None`` skips it.
    kymatio : bool
        Add Kymatio's NumPy scattering (order 2 at the J of the other variants) as a cross-check.
    random_state : int
        Seed of every draw.
    """
    start = time.perf_counter()
    n_images = check_int(n_images, "n_images", min_value=2)
    n_repeats = check_int(N_REPEATS if n_repeats is None else n_repeats, "n_repeats", min_value=1)
    deltas = tuple(sorted(set(float(d) for d in (DELTAS if deltas is None else deltas)) | {float(headline_delta)}))
    x, split = load_probes(dataset, n_images, data_dir, random_state)
    if accuracy is not None:
        n_train, n_test = accuracy
        X_train, y_train, X_test, y_test = split
        rng = np.random.default_rng(random_state)
        train = rng.permutation(len(X_train))[:n_train]
        test = rng.permutation(len(X_test))[:n_test]
        split = (X_train[train], y_train[train], X_test[test], y_test[test])
    else:
        split = None
    side = x.shape[-1]
    cutoff = check_int(cutoff, "cutoff", min_value=1, max_value=side - 2)
    draws = draw_distortions(x, deltas, cutoff, n_repeats, float(headline_delta), random_state)
    translated, rotated = _transformed(x, SHIFTS, ANGLES, random_state)
    reps = representations(side, kymatio=kymatio)
    results = []
    for name, factory in progress(reps, total=len(reps), desc="representations", quiet=quiet, unit="rep"):
        results.append(measure(name, factory, x, draws, translated, rotated, split=split, random_state=random_state))
    sphere = sphere_invariance(random_state=random_state)
    report = {
        "benchmark": "stability",
        "dataset": dataset,
        "n_images": int(len(x)),
        "image_side": int(side),
        "cutoff": cutoff,
        "headline_delta": float(headline_delta),
        "n_repeats": n_repeats,
        "interpolation": "bilinear",
        "deformations": [
            {
                "delta": d["delta"],
                "repeat": d["repeat"],
                "temperature": d["temperature"],
                "measured_delta": d["measured_delta"],
                "gradient_norm_median": float(np.median(d["gradient_norm"])),
            }
            for d in draws
        ],
        "shifts": list(SHIFTS),
        "angles": list(ANGLES),
        "accuracy_split": None if split is None else [len(split[0]), len(split[2])],
        "results": results,
        "sphere": sphere,
        "seconds": time.perf_counter() - start,
        "environment": {"scatter": __version__, "python": platform.python_version(), "machine": platform.machine()},
    }
    write_report(out, report)
    return report


# ---------------------------------------------------------------------------------------------------------
# SO(3): invariance on the sphere


def _power_spectrum(maps, L):
    """Energy per degree, sum_m |f_lm|^2 (both signs of m): an exact rotation invariant."""
    from scatter.sphere import forward_sht

    flm = forward_sht(maps, L)
    weights = np.full(L, 2.0)
    weights[0] = 1.0
    return np.einsum("blm,m->bl", np.abs(flm) ** 2, weights)


def sphere_invariance(L=SPHERE_L, n_maps=SPHERE_MAPS, angles=SPHERE_ANGLES, random_state=0):
    r"""Invariance curves on :math:`S^2`: relative change of representations of random maps against rotations.

    Maps: white spectra bandlimited at :math:`L/2` on the Gauss-Legendre grid of bandlimit ``L``. For each
    angle, each map is rotated exactly in harmonic space (Wigner-D) by that angle about an axis drawn
    uniformly (:func:`scatter.distortions.rotations_by_angle`, :func:`scatter.distortions.rotate_sphere`).

    Returns
    -------
    dict
        ``L``, ``n_maps``, ``angles`` and ``curves``: representation name -> median
        :math:`\|f(Rx) - f(x)\| / \|f(x)\|` per angle. The maps themselves change by order one; their power
        spectrum is an exact invariant (the error floor); spherical scattering's invariant output is invariant
        up to the sampling of its moduli (``oversampling``).
    """
    from scatter import SphericalScattering
    from scatter.sphere import default_oversampling, forward_sht, inverse_sht, rotate_flm

    rng = np.random.default_rng(random_state)
    half = L // 2
    flm = np.zeros((n_maps, L, L), complex)
    ell, m = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    band = (m <= ell) & (ell < half)
    flm[:, band] = rng.standard_normal((n_maps, band.sum())) + 1j * rng.standard_normal((n_maps, band.sum()))
    flm[:, :, 0] = flm[:, :, 0].real
    maps = inverse_sht(flm, L)

    def rotate(signal, matrix):
        return inverse_sht(rotate_flm(forward_sht(signal, L), matrix), L)

    representations = {
        "map": lambda x: x.reshape(len(x), -1),
        "power spectrum": lambda x: _power_spectrum(x, L),
        "spherical scattering, oversampling 2": SphericalScattering(L, oversampling=2.0),
        f"spherical scattering, oversampling {default_oversampling(L):g} (default)": SphericalScattering(L),
    }
    curves = {}
    for name, f in representations.items():
        curves[name] = invariance_curve(
            lambda x: np.asarray(f(x), dtype=np.float64).reshape(len(x), -1),
            maps,
            lambda x, angle: dist.rotate_sphere(
                x, dist.rotations_by_angle(angle, len(x), random_state=rng.integers(2**32)), rotate
            ),
            angles,
        ).tolist()
    return {"L": L, "n_maps": n_maps, "angles": list(angles), "curves": curves}


# ---------------------------------------------------------------------------------------------------------
# report


def _slug(name):
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")


def _log_axes(ax, xlabel, ylabel, title):
    from matplotlib.ticker import NullFormatter

    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel, title=title)
    # No labels on minor ticks: log axes spanning less than a decade would label every one of them.
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="major", alpha=0.3)


def _colours():
    from cycler import cycler
    from matplotlib import colormaps

    # tab20 in the order dark, light, dark, ...: up to 20 distinct lines (tab10 repeats after 10).
    colours = colormaps["tab20"].colors
    return cycler(color=colours[::2] + colours[1::2])


def _save_png(fig, path):
    # A fixed layout (legend in the right margin): "tight" bounding boxes would draw every figure twice.
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    return path


def plot_report(report, out):
    """PNG plots of a report (D_f, G_f, R_f against δ; Lipschitz ratio; invariance curves); their file names."""
    from scatter.plotting import _figure

    out = Path(out)
    results = report["results"]
    figures = []

    fig = _figure(figsize=(16, 4.5))
    fig.subplots_adjust(left=0.05, right=0.78, wspace=0.3, bottom=0.13)
    axes = fig.subplots(1, 3)
    for ax in axes:
        ax.set_prop_cycle(_colours())
    for r in results:
        d = [row["delta"] for row in r["sweep"]]
        for ax, key in zip(axes, ("D", "G", "R")):
            ax.plot(d, [row[key] for row in r["sweep"]], marker="o", label=r["name"])
    for ax, key in zip(axes, ("D_f", "G_f", "R_f = D_f / G_f")):
        _log_axes(ax, "typical displacement δ (pixels)", key, key)
    axes[2].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.04, 0.5))
    fig.suptitle(f"{report['dataset']}: stability to deformations (c = {report['cutoff']}) against noise")
    figures.append(_save_png(fig, out / "stability_sweep.png").name)

    change = "median ‖f(gx) − f(x)‖ / ‖f(x)‖"
    panels = [
        ("lipschitz", "‖∇τ‖∞ (pixels per pixel, median)", "median ‖f(τx) − f(x)‖ / (‖x‖ ‖∇τ‖∞)",
         "Lipschitz ratio",
         lambda r: ([row["gradient_norm_median"] for row in r["sweep"]],
                    [row["lipschitz_median"] for row in r["sweep"]])),
        ("invariance_translation", "translation (pixels)", change, "invariance to translation",
         lambda r: (report["shifts"], r["translation"])),
        ("invariance_rotation", "rotation (degrees)", change, "invariance to rotation",
         lambda r: (report["angles"], r["rotation"])),
    ]
    for name, xlabel, ylabel, title, series in panels:
        fig = _figure(figsize=(9, 4.5))
        fig.subplots_adjust(left=0.1, right=0.62, bottom=0.13)
        ax = fig.subplots()
        ax.set_prop_cycle(_colours())
        for r in results:
            ax.plot(*series(r), marker="o", label=r["name"])
        _log_axes(ax, xlabel, ylabel, f"{report['dataset']}: {title}")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.03, 0.5))
        figures.append(_save_png(fig, out / f"{name}.png").name)
    sphere = report.get("sphere")
    if sphere:
        fig = _figure(figsize=(9, 4.5))
        fig.subplots_adjust(left=0.1, right=0.62, bottom=0.13)
        ax = fig.subplots()
        for name, curve in sphere["curves"].items():
            ax.plot(sphere["angles"], np.maximum(curve, 1e-17), marker="o", label=name)
        _log_axes(ax, "rotation angle (degrees)", change, f"S²: invariance to rotations (L = {sphere['L']})")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.03, 0.5))
        figures.append(_save_png(fig, out / "invariance_sphere.png").name)
    return figures


def markdown_report(report):
    """Markdown tables of a report: the headline, the sweep of R_f, the invariance curves."""
    h = report["headline_delta"]
    has_accuracy = report["accuracy_split"] is not None
    lines = [
        f"# Stability to distortions: `{report['dataset']}`",
        "",
        f"{report['n_images']} probe images of {report['image_side']}x{report['image_side']} pixels; smooth random "
        f"deformations (Petrini et al. 2021) with cutoff c = {report['cutoff']}, bilinear interpolation, against "
        "Gaussian noise of the same norm image by image; "
        f"{report['seconds']:.0f} s in all.",
        "",
        f"## Headline: typical displacement δ = {h} pixel",
        "",
        "D_f, G_f, R_f: medians over the probes of the squared distances (R_f of the identity is 1 by construction). "
        f"R_f ± sd: mean and standard deviation over {report['n_repeats']} independent draws of the deformations, "
        "noise and pairings. R_f mean: means instead of medians. R_f paper code: per-feature medians summed over "
        "the features, as in Petrini et al.'s code. "
        "Lipschitz: median of ‖f(τx) − f(x)‖ / (‖x‖ ‖∇τ‖∞).",
        "",
    ]
    header = "| representation | features | D_f | G_f | R_f | R_f ± sd | R_f mean | R_f paper code | Lipschitz |"
    rule = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    if has_accuracy:
        header += " accuracy |"
        rule += " ---: |"
    lines += [header, rule]
    for r in report["results"]:
        row, mean, sd = _headline(r, h)
        line = (
            f"| {r['name']} | {r['n_features']} | {row['D']:.3g} | {row['G']:.3g} | {row['R']:.3f} | "
            f"{mean:.3f} ± {sd:.3f} | {row['R_mean']:.3f} | {row['R_feature_median']:.3f} | "
            f"{row['lipschitz_median']:.3g} |"
        )
        if has_accuracy:
            line += f" {100 * r['accuracy']:.1f}% |"
        lines.append(line)
    if has_accuracy:
        n_train, n_test = report["accuracy_split"]
        lines += ["", f"Accuracy: standardised features, RBF SVM (C = 10), {n_train} training / {n_test} test images."]
    deformations = [d for d in report["deformations"] if d["repeat"] == 0]
    lines += ["", "## R_f against the typical displacement", ""]
    lines += ["| representation | " + " | ".join(f"δ = {d['delta']:g}" for d in deformations) + " |"]
    lines += ["| --- |" + " ---: |" * len(deformations)]
    for r in report["results"]:
        lines.append(f"| {r['name']} | " + " | ".join(f"{row['R']:.3f}" for row in r["sweep"]) + " |")
    lines += [
        "",
        "Deformations: " + "; ".join(
            f"δ = {d['delta']:g}: T = {d['temperature']:.3g}, measured RMS displacement {d['measured_delta']:.3f} px, "
            f"median ‖∇τ‖∞ {d['gradient_norm_median']:.3f}"
            for d in deformations
        ) + ".",
    ]
    for key, xs, unit in (("translation", report["shifts"], "px"), ("rotation", report["angles"], "°")):
        lines += ["", f"## Invariance to {key}: median ‖f(gx) − f(x)‖ / ‖f(x)‖", ""]
        lines += ["| representation | " + " | ".join(f"{v:g}{unit}" for v in xs) + " |"]
        lines += ["| --- |" + " ---: |" * len(xs)]
        for r in report["results"]:
            lines.append(f"| {r['name']} | " + " | ".join(f"{v:.3f}" for v in r[key]) + " |")
    lines += [
        "",
        "Translations: circular, band-limited (Fourier phase ramp), in a random direction per image. Rotations: "
        "bilinear, about the image centre, zero outside. The relative change of log scattering is relative to "
        f"‖log(ε + S)‖ (ε = {LOG_EPS:g}), dominated by the logarithms of small coefficients: compare it with the "
        "other log-domain figures only.",
        "",
        "Scattering: scatter's `Scattering2D` (L = 8, Kymatio's mirror padding); order m is the whole feature "
        "vector of orders 0 to m, as Kymatio outputs it (J = 1 has no order-2 path, so its two rows agree).",
        "",
    ]
    sphere = report["sphere"]
    lines += [f"## Invariance to rotations on the sphere: median ‖f(Rx) − f(x)‖ / ‖f(x)‖", ""]
    lines += ["| representation | " + " | ".join(f"{a:g}°" for a in sphere["angles"]) + " |"]
    lines += ["| --- |" + " ---: |" * len(sphere["angles"])]
    for name, curve in sphere["curves"].items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.1e}" for v in curve) + " |")
    lines += [
        "",
        f"{sphere['n_maps']} random maps bandlimited at {sphere['L'] // 2} on the Gauss–Legendre grid of bandlimit "
        f"{sphere['L']}, each rotated exactly (Wigner-D) about a uniformly drawn axis.",
        "",
    ]
    lines += [f"![{name}]({name})" for name in report["figures"]]
    return "\n".join(lines) + "\n"


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_report(out, report):
    """Plots, ``report.json`` and ``report.md`` in ``out``, each written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report["figures"] = plot_report(report, out)
    write_text(out / "report.json", json.dumps(report, indent=2, default=_jsonable) + "\n")
    write_text(out / "report.md", markdown_report(report))
    return report


def print_summary(report, out):
    """R_f at the headline displacement, one line per representation, and where the report went."""
    h = report["headline_delta"]
    for r in report["results"]:
        row, mean, sd = _headline(r, h)
        extra = f", accuracy {100 * r['accuracy']:.1f}%" if "accuracy" in r else ""
        print(f"{report['dataset']}: {r['name']}: R_f = {row['R']:.3f} (mean of draws {mean:.3f} ± {sd:.3f}){extra}")
    print(f"report: {Path(out) / 'report.json'}", file=sys.stderr)


def main(argv=None):
    """``python -m pipelines.stability``: the options of ``scatter bench stability``."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.stability")
    parser.add_argument("--dataset", choices=DATASETS, default="mnist")
    parser.add_argument("--n-images", type=int, default=300)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default="out/stability")
    parser.add_argument("--accuracy", type=int, nargs=2, metavar=("N_TRAIN", "N_TEST"), default=None)
    parser.add_argument("--kymatio", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    report = run_stability_benchmark(
        args.dataset, n_images=args.n_images, data_dir=args.data_dir, out=args.out, quiet=args.quiet,
        accuracy=args.accuracy, kymatio=args.kymatio,
    )
    print_summary(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
