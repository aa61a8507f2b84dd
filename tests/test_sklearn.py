"""The scikit-learn transformers of ``scatter.sklearn``.

Oracles: the core transforms of ``scatter.grid`` (the lower layer the transformers wrap), reshaped as
Kymatio's sklearn frontend does; Kymatio's sklearn frontend itself; post-processing written here with NumPy;
hand-written feature names; rotation covariance of the 2D transform; and scikit-learn's estimator checks.
"""

import os
import pickle
import re
import subprocess
import sys
import textwrap
import threading
import tracemalloc

import joblib
import numpy as np
import pytest
from numba.core.dispatcher import Dispatcher
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

import scatter
import scatter.sklearn
from scatter.grid import _kernels
from scatter.sklearn import Scattering1D, Scattering2D

# The core warns when a signal is shorter than the support of its low-pass filter, as Kymatio does; the
# estimator checks feed signals of 1 to 10 samples.
SHORT_SIGNAL_WARNING = "ignore:Signal support is too small:UserWarning"

# ---------------------------------------------------------------------------------------------------------
# scikit-learn's estimator checks
# ---------------------------------------------------------------------------------------------------------

#: Checks of Scattering2D(J=1) that fit data whose n_features is not an image: with shape=None, flattened
#: input is read as square images, which need a side of at least 2^J = 2, i.e. n_features in {4, 9, 16, ...};
#: 2, 3, 5 and 10 features are no image of any shape with both sides >= 2, except 10 = 2 x 5, whose
#: orientation (2 x 5 or 5 x 2) cannot be told. Scattering1D, which shares fit, transform and validation
#: with Scattering2D, passes every one of them; the 2D-specific behaviour they check is tested below on
#: square images (the test named in each reason).
_NOT_AN_IMAGE = "fits {n}-feature data, which is no square image of side >= 2^J = 2; on square images: {test}"
EXPECTED_FAILED_2D = {
    check: _NOT_AN_IMAGE.format(n=n, test=test)
    for check, n, test in [
        ("check_fit_score_takes_y", 3, "test_fit_returns_self_and_keeps_params"),
        ("check_estimators_overwrite_params", 2, "test_fit_returns_self_and_keeps_params"),
        ("check_dont_overwrite_parameters", 3, "test_fit_returns_self_and_keeps_params"),
        ("check_estimators_fit_returns_self", 2, "test_fit_returns_self_and_keeps_params"),
        ("check_n_features_in", 2, "test_fit_returns_self_and_keeps_params"),
        ("check_readonly_memmap_input", 2, "test_input_layouts_and_dtypes"),
        ("check_estimators_dtypes", 5, "test_input_layouts_and_dtypes"),
        ("check_dtype_object", 10, "test_input_layouts_and_dtypes"),
        ("check_f_contiguous_array_estimator", 3, "test_input_layouts_and_dtypes"),
        ("check_transformer_data_not_an_array", 3, "test_input_layouts_and_dtypes"),
        ("check_transformer_preserve_dtypes", 3, "test_input_layouts_and_dtypes"),
        ("check_array_api_input", 10, "test_array_api_checks_in_a_fresh_process"),
        ("check_estimators_nan_inf", 3, "test_non_finite_input_raises"),
        ("check_fit2d_predict1d", 3, "test_one_dimensional_input_raises"),
        ("check_estimators_pickle", 3, "test_round_trip_gives_identical_features"),
        ("check_pipeline_consistency", 3, "test_transform_is_deterministic"),
        ("check_fit_idempotent", 2, "test_transform_is_deterministic"),
        ("check_dict_unchanged", 3, "test_transform_is_deterministic"),
        ("check_transformer_general", 3, "test_transform_is_deterministic"),
        ("check_methods_sample_order_invariance", 3, "test_batches_and_jobs_do_not_change_features"),
        ("check_methods_subset_invariance", 3, "test_batches_and_jobs_do_not_change_features"),
        ("check_fit2d_1sample", 10, "test_single_sample"),
        ("check_fit_check_is_fitted", 2, "test_unfitted_transformer_raises"),
    ]
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_2D if isinstance(estimator, Scattering2D) else {}


@pytest.mark.filterwarnings(SHORT_SIGNAL_WARNING)
@parametrize_with_checks(
    [
        Scattering1D(J=1),
        Scattering1D(J=1, spatial="global", log_eps=1e-6, normalize_order2=True),
        Scattering2D(J=1),
    ],
    expected_failed_checks=_expected_failed_checks,
    xfail_strict=True,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_array_api_checks_in_a_fresh_process():
    """``check_array_api_input`` is skipped above unless SciPy's array API mode is set before SciPy loads.

    It runs here in a process that sets it: Scattering1D passes it, and Scattering2D, on square images,
    gives the same features with scikit-learn's array API dispatch on as off.
    """
    script = textwrap.dedent(
        """
        import warnings
        import numpy as np
        import sklearn
        from sklearn.utils.estimator_checks import check_array_api_input
        from scatter.sklearn import Scattering1D, Scattering2D
        warnings.filterwarnings("ignore", "Signal support is too small")
        check_array_api_input("Scattering1D", Scattering1D(J=1), "numpy", expect_only_array_outputs=False)
        X = np.random.default_rng(0).standard_normal((4, 16))
        expected = Scattering2D(J=1).fit_transform(X)
        with sklearn.config_context(array_api_dispatch=True):
            np.testing.assert_array_equal(Scattering2D(J=1).fit_transform(X), expected)
        print("passed")
        """
    )
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "passed"


# ---------------------------------------------------------------------------------------------------------
# Features against the core transforms and Kymatio
# ---------------------------------------------------------------------------------------------------------

CASES_1D = [
    dict(J=3),
    dict(J=4, Q=(2, 1), T=8),
    dict(J=3, Q=2, max_order=1),
    dict(J=2, padding="periodic"),
]
CASES_2D = [
    dict(J=2, shape=(16, 16), L=4),
    dict(J=1, shape=(12, 20), L=6, max_order=1),
    dict(J=2, shape=(16, 12), L=3, padding="periodic"),
]


def _params_id(params):
    return ",".join(f"{key}={value}" for key, value in params.items()).replace(" ", "")


def _rtol(dtype):
    return 1e-5 if dtype == np.float32 else 1e-12


@pytest.mark.parametrize("params", CASES_1D, ids=_params_id)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_1d_features_are_the_core_output_flattened(rng, params, dtype):
    X = rng.standard_normal((5, 128)).astype(dtype)
    core = scatter.Scattering1D(shape=128, **params)
    got = Scattering1D(**params).fit(X).transform(X)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, core(X).reshape(5, -1), rtol=_rtol(dtype), atol=_rtol(dtype) * np.abs(X).max())


@pytest.mark.parametrize("params", CASES_2D, ids=_params_id)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["flat", "images"])
def test_2d_features_are_the_core_output_flattened(rng, params, dtype, layout):
    shape = params["shape"]
    images = rng.standard_normal((4,) + shape).astype(dtype)
    X = images.reshape(4, -1) if layout == "flat" else images
    core = scatter.Scattering2D(**params)
    estimator = Scattering2D(**params).fit(X)
    got = estimator.transform(X)
    expected = core(images).reshape(4, -1)
    assert got.dtype == dtype
    assert estimator.n_output_features_ == core.n_channels * np.prod(core.output_shape) == got.shape[1]
    np.testing.assert_allclose(got, expected, rtol=_rtol(dtype), atol=_rtol(dtype) * np.abs(X).max())


@pytest.mark.parametrize(
    "name, params",
    [("Scattering1D", dict(J=3, shape=128, Q=2)), ("Scattering2D", dict(J=2, shape=(16, 12), L=4))],
)
@pytest.mark.parametrize("fft", ["pocketfft", "fftw"])
def test_drop_in_for_kymatio_sklearn(rng, kymatio_numpy, name, params, fft):
    """The same call on ``kymatio.sklearn`` and ``scatter.sklearn`` (on either FFT library) gives the same
    features."""
    kymatio_sklearn = pytest.importorskip("kymatio.sklearn")
    if fft == "fftw":
        pytest.importorskip("pyfftw", reason="pyFFTW (the fftw extra) is not installed")
    X = rng.standard_normal((3, int(np.prod(params["shape"]))))
    expected = getattr(kymatio_sklearn, name)(**params).transform(X)
    estimator = getattr(scatter.sklearn, name)(**params, fft=fft).fit(X)
    assert estimator.scattering_.fft == fft
    got = estimator.transform(X)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("cls", [Scattering1D, Scattering2D])
def test_unknown_fft_library_is_refused_at_fit(cls, rng):
    X = rng.standard_normal((2, 256))
    estimator = cls(J=2, fft="numpy")
    with pytest.raises(ValueError, match=r"fft must be one of \['fftw', 'pocketfft'\]; got 'numpy'"):
        estimator.fit(X)


# ---------------------------------------------------------------------------------------------------------
# Post-processing against NumPy
# ---------------------------------------------------------------------------------------------------------


def _core_and_output(kind, rng, n_samples=3):
    """A core transform, its input and its output ``(B, C, *positions)``."""
    if kind == "1d":
        core, X = scatter.Scattering1D(4, 256, Q=2), rng.standard_normal((n_samples, 256))
    else:
        core, X = scatter.Scattering2D(2, (16, 16), L=4), rng.standard_normal((n_samples, 16 * 16))
    return core, X, core(X.reshape((n_samples,) + core.shape))


def _estimator(kind, **params):
    if kind == "1d":
        return Scattering1D(4, Q=2, **params)
    return Scattering2D(2, L=4, **params)


@pytest.mark.parametrize("kind", ["1d", "2d"])
@pytest.mark.parametrize("eps", [1e-6, 0.1])
def test_log_of_orders_1_and_2(rng, kind, eps):
    core, X, S = _core_and_output(kind, rng)
    expected = S.copy()
    expected[:, 1:] = np.log(eps + np.abs(S[:, 1:]))
    got = _estimator(kind, log_eps=eps).fit(X).transform(X)
    np.testing.assert_allclose(got, expected.reshape(len(X), -1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["1d", "2d"])
@pytest.mark.parametrize("eps", [1e-6, 0.5])
def test_order2_normalized_by_its_parent(rng, kind, eps):
    core, X, S = _core_and_output(kind, rng)
    meta = core.meta()
    expected = S.copy()
    for c in np.flatnonzero(meta["order"] == 2):
        # In Kymatio's channel order, the order-1 channel of wavelet n1 is channel 1 + n1.
        parent = 1 + int(meta["n"][c, 0])
        expected[:, c] = S[:, c] / (np.abs(S[:, parent]) + eps)
    assert (meta["order"] == 2).sum() > 0
    got = _estimator(kind, normalize_order2=True, normalize_eps=eps).fit(X).transform(X)
    np.testing.assert_allclose(got, expected.reshape(len(X), -1), rtol=1e-12)


def test_1d_global_average_is_the_core_global_average(rng):
    X = rng.standard_normal((3, 256))
    expected = scatter.Scattering1D(4, 256, Q=2, average="global")(X)
    got = Scattering1D(4, Q=2, spatial="global").fit(X).transform(X)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_2d_global_average_is_the_mean_over_positions(rng):
    core, X, S = _core_and_output("2d", rng)
    got = Scattering2D(2, L=4, spatial="global").fit(X).transform(X)
    np.testing.assert_allclose(got, S.mean(axis=(2, 3)), rtol=1e-12)


@pytest.mark.parametrize("orientation", ["average", "fourier"])
@pytest.mark.parametrize("L", [4, 5])
@pytest.mark.parametrize("spatial", ["local", "global"])
def test_orientation_pooling_values_and_names(rng, orientation, L, spatial):
    J, shape = 3, (16, 16)
    core = scatter.Scattering2D(J, shape, L=L)
    X = rng.standard_normal((2,) + shape)
    S = core(X)
    meta = core.meta()
    channel = {
        tuple((int(j), int(t)) for j, t in zip(meta["j"][c, :o], meta["theta"][c, :o])): c
        for c, o in enumerate(meta["order"])
    }

    def pool(orbit):
        values = np.stack([S[:, c] for c in orbit], axis=-1)  # (B, H, W, L): the rotation r last
        if orientation == "average":
            return [values.mean(axis=-1)]
        return list(np.moveaxis(np.abs(np.fft.fft(values, axis=-1))[..., : L // 2 + 1], -1, 0))

    ks = [""] if orientation == "average" else [f"_k={k}" for k in range(L // 2 + 1)]
    channels, labels = [S[:, 0]], ["order0"]
    for j1 in range(J):
        channels += pool([channel[((j1, r),)] for r in range(L)])
        labels += [f"order1_j1={j1}{k}" for k in ks]
    for j1 in range(J):
        for j2 in range(j1 + 1, J):
            for d in range(L):
                channels += pool([channel[((j1, r), (j2, (r + d) % L))] for r in range(L)])
                labels += [f"order2_j1={j1}_j2={j2}_dtheta={d}{k}" for k in ks]
    expected = np.stack(channels, axis=1)
    if spatial == "global":
        expected = expected.mean(axis=(2, 3))
    else:
        h, w = core.output_shape
        labels = [f"{label}_y={y}_x={x}" for label in labels for y in range(h) for x in range(w)]

    estimator = Scattering2D(J, L=L, orientation=orientation, spatial=spatial).fit(X.reshape(2, -1))
    np.testing.assert_allclose(estimator.transform(X), expected.reshape(2, -1), rtol=1e-12, atol=1e-14)
    assert estimator.get_feature_names_out().tolist() == labels


def test_orientation_pooling_of_order_1_only(rng):
    X = rng.standard_normal((2, 16, 16))
    estimator = Scattering2D(2, L=4, max_order=1, orientation="fourier", spatial="global").fit(X)
    names = ["order0"] + [f"order1_j1={j1}_k={k}" for j1 in range(2) for k in range(3)]
    assert estimator.get_feature_names_out().tolist() == names
    S = scatter.Scattering2D(2, (16, 16), L=4, max_order=1)(X)  # (2, 9, 4, 4)
    # Pooling comes before the average over positions: |DFT| over theta1 at each position, then the mean.
    order1 = np.abs(np.fft.fft(S[:, 1:].reshape(2, 2, 4, 4, 4), axis=2))[:, :, :3].mean(axis=(3, 4))
    expected = np.concatenate([S[:, 0].mean(axis=(1, 2))[:, None], order1.reshape(2, 6)], axis=1)
    np.testing.assert_allclose(estimator.transform(X), expected, rtol=1e-12)


def _rotate_90(images):
    """Rotation by 90 degrees about pixel (0, 0) of periodic images: it maps the subsampling grid to itself."""
    return np.roll(np.rot90(images, axes=(1, 2)), 1, axis=1)


@pytest.mark.parametrize("orientation", ["average", "fourier"])
@pytest.mark.parametrize("L", [4, 8])
def test_orientation_pooling_is_rotation_invariant(rng, orientation, L):
    X = rng.standard_normal((3, 16, 16))
    estimator = Scattering2D(2, L=L, padding="periodic", orientation=orientation, spatial="global").fit(X)
    features = estimator.transform(X)
    np.testing.assert_allclose(estimator.transform(_rotate_90(X)), features, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("L", [4, 8])
def test_rotation_shifts_the_named_orientations(rng, L):
    """Without pooling, a rotation by 90 degrees = (L/2) pi/L moves feature theta to theta + L/2 mod L."""
    X = rng.standard_normal((2, 16, 16))
    estimator = Scattering2D(2, L=L, padding="periodic", spatial="global").fit(X)
    names = list(estimator.get_feature_names_out())
    before = dict(zip(names, estimator.transform(X).T))
    after = dict(zip(names, estimator.transform(_rotate_90(X)).T))

    def rotated(name):
        return re.sub(r"theta(\d)=(\d+)", lambda m: f"theta{m[1]}={(int(m[2]) + L // 2) % L}", name)

    for name in names:
        np.testing.assert_allclose(after[rotated(name)], before[name], rtol=1e-10, atol=1e-14)
    assert not np.allclose(estimator.transform(_rotate_90(X)), estimator.transform(X))


def test_post_processing_composes_in_the_documented_order(rng):
    """normalize, then pool orientations, then average over positions, then log."""
    core, X, S = _core_and_output("2d", rng)
    eps_n, eps = 1e-3, 1e-2
    meta = core.meta()
    for c in np.flatnonzero(meta["order"] == 2):
        S[:, c] /= np.abs(S[:, 1 + int(meta["n"][c, 0])]) + eps_n
    L = 4
    order1 = S[:, 1 : 1 + 2 * L].reshape(3, 2, L, 4, 4).mean(axis=2)
    # J = 2: the order-2 channels (n1, n2) are n1 = theta1 (j1 = 0), n2 = L + theta2 (j2 = 1), in that order.
    order2 = S[:, 1 + 2 * L :].reshape(3, L, L, 4, 4)
    order2 = np.stack([np.mean([order2[:, r, (r + d) % L] for r in range(L)], axis=0) for d in range(L)], axis=1)
    pooled = np.concatenate([S[:, :1], order1, order2], axis=1).mean(axis=(2, 3))
    pooled[:, 1:] = np.log(eps + np.abs(pooled[:, 1:]))
    estimator = Scattering2D(
        2, L=L, normalize_order2=True, normalize_eps=eps_n, orientation="average", spatial="global", log_eps=eps
    )
    np.testing.assert_allclose(estimator.fit(X).transform(X), pooled, rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# Features of precomputed coefficients
# ---------------------------------------------------------------------------------------------------------

POST_PROCESSING_2D = [
    dict(orientation="fourier", log_eps=1e-3),
    dict(),
    dict(log_eps=1e-2),
    dict(normalize_order2=True, orientation="average", spatial="global", log_eps=1e-2),
]
POST_PROCESSING_1D = [dict(), dict(log_eps=1e-3, normalize_order2=True), dict(spatial="global", log_eps=0.1)]


@pytest.mark.parametrize(
    ("kind", "params"),
    [("2d", p) for p in POST_PROCESSING_2D] + [("1d", p) for p in POST_PROCESSING_1D],
    ids=lambda value: value if isinstance(value, str) else _params_id(value),
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["channels", "flat"])
def test_transform_coefficients_gives_the_features_of_transform(rng, kind, params, dtype, layout):
    """The post-processing of one scattering pass is what transform returns, in any batches."""
    core, X, _ = _core_and_output(kind, rng, n_samples=7)
    X = X.astype(dtype)
    estimator = _estimator(kind, batch_size=3, **params).fit(X)
    S = core(X.reshape((7,) + core.shape))
    given = S.reshape(7, -1) if layout == "flat" else S
    kept = given.copy()
    got = estimator.transform_coefficients(given)
    assert got.dtype == dtype
    np.testing.assert_array_equal(given, kept)  # the coefficients are not modified
    np.testing.assert_allclose(got, estimator.transform(X), rtol=_rtol(dtype), atol=_rtol(dtype))
    # Coefficients of the transformer's own core transform give the very same numbers.
    own = estimator.transform_coefficients(estimator.scattering_(X.reshape((7,) + core.shape)))
    np.testing.assert_array_equal(own, estimator.transform(X))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda S: S[:, :-1], r"S must hold .*\(n_samples, 25, 4, 4\) or \(n_samples, 400\).*shape \(3, 24, 4, 4\)"),
        (lambda S: S[..., :3], r"\(n_samples, 25, 4, 4\).* got shape \(3, 25, 4, 3\)"),
        (lambda S: S.reshape(3, -1)[:, 1:], r"\(n_samples, 400\).* got shape \(3, 399\)"),
        (lambda S: S[0], r"got shape \(25, 4, 4\)"),
        (lambda S: S.reshape(-1), r"Expected 2D array"),
        (lambda S: S + 1j, r"[Cc]omplex"),
        (lambda S: np.where(S > 0.1, np.nan, S), r"S contains NaN"),
    ],
    ids=["channels", "positions", "flat", "no-samples-axis", "1d", "complex", "nan"],
)
def test_transform_coefficients_rejects_other_coefficients(rng, change, match):
    core, X, S = _core_and_output("2d", rng)
    estimator = _estimator("2d", orientation="fourier").fit(X)
    with pytest.raises(ValueError, match=match):
        estimator.transform_coefficients(change(S))


def test_transform_coefficients_needs_a_fitted_transformer(rng):
    _, _, S = _core_and_output("2d", rng)
    with pytest.raises(NotFittedError):
        _estimator("2d").transform_coefficients(S)


# ---------------------------------------------------------------------------------------------------------
# Feature names
# ---------------------------------------------------------------------------------------------------------


def test_2d_feature_names_by_hand(rng):
    # J=2, L=8 on 16 x 16: 1 + 16 + 64 channels of 4 x 4 (reflect padding to 24 x 24, one border pixel dropped).
    # Channel of order1 (j1, theta1): 1 + 8 j1 + theta1; of order2 (theta1, theta2) with j1=0, j2=1:
    # 17 + 8 theta1 + theta2. Feature: 16 channel + 4 y + x.
    X = rng.standard_normal((2, 256))
    names = Scattering2D(2).fit(X).get_feature_names_out()
    assert names.dtype == object and len(names) == 81 * 16
    assert names[1] == "order0_y=0_x=1"
    assert names[16 * 4 + 9] == "order1_j1=0_theta1=3_y=2_x=1"
    assert names[16 * 14 + 15] == "order1_j1=1_theta1=5_y=3_x=3"
    assert names[16 * 46 + 9] == "order2_j1=0_theta1=3_j2=1_theta2=5_y=2_x=1"
    assert names[-1] == "order2_j1=0_theta1=7_j2=1_theta2=7_y=3_x=3"
    assert len(set(names)) == len(names)


def test_2d_feature_names_global(rng):
    X = rng.standard_normal((2, 8, 8))
    names = Scattering2D(2, L=2, spatial="global").fit(X).get_feature_names_out()
    assert names.tolist() == [
        "order0",
        "order1_j1=0_theta1=0",
        "order1_j1=0_theta1=1",
        "order1_j1=1_theta1=0",
        "order1_j1=1_theta1=1",
        "order2_j1=0_theta1=0_j2=1_theta2=0",
        "order2_j1=0_theta1=0_j2=1_theta2=1",
        "order2_j1=0_theta1=1_j2=1_theta2=0",
        "order2_j1=0_theta1=1_j2=1_theta2=1",
    ]


def test_1d_feature_names(rng):
    # J=3 on 128 samples: T = 8, so 16 time samples per channel; order-1 channel c is wavelet n1 = c - 1.
    X = rng.standard_normal((2, 128))
    estimator = Scattering1D(3).fit(X)
    names = estimator.get_feature_names_out()
    assert names[0] == "order0_t=0"
    assert names[15] == "order0_t=15"
    assert names[16 + 2] == "order1_n1=0_t=2"
    assert names[3 * 16 + 5] == "order1_n1=2_t=5"
    meta = estimator.scattering_.meta()
    order2 = [key for key in meta["key"] if len(key) == 2]
    expected = [f"order2_n1={n1}_n2={n2}_t={t}" for n1, n2 in order2 for t in range(16)]
    assert order2
    assert names[-len(expected) :].tolist() == expected
    assert len(names) == estimator.transform(X).shape[1]
    global_names = Scattering1D(3, spatial="global").fit(X).get_feature_names_out()
    assert global_names[:3].tolist() == ["order0", "order1_n1=0", "order1_n1=1"]


def test_feature_names_check_input_features(rng):
    X = rng.standard_normal((2, 64))
    estimator = Scattering1D(2).fit(X)
    names = estimator.get_feature_names_out([f"x{i}" for i in range(64)])
    assert names.tolist() == estimator.get_feature_names_out().tolist()
    with pytest.raises(ValueError, match="input_features should have length equal to number of features"):
        estimator.get_feature_names_out(["x0"])


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_pandas_output(rng, kind):
    pd = pytest.importorskip("pandas", reason="set_output(transform='pandas') needs pandas")
    core, X, _ = _core_and_output(kind, rng)
    frame = pd.DataFrame(X, index=[10, 11, 12], columns=[f"pixel{i}" for i in range(X.shape[1])])
    estimator = _estimator(kind, orientation="fourier") if kind == "2d" else _estimator(kind)
    out = estimator.set_output(transform="pandas").fit(frame).transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert out.columns.tolist() == estimator.get_feature_names_out().tolist()
    assert out.index.tolist() == [10, 11, 12]
    np.testing.assert_array_equal(out.to_numpy(), clone(estimator).set_output(transform="default").fit_transform(X))
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        estimator.get_feature_names_out([f"x{i}" for i in range(X.shape[1])])


# ---------------------------------------------------------------------------------------------------------
# Shapes, validation and errors
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "X_shape, shape, expected",
    [
        ((3, 16), None, (4, 4)),
        ((3, 6, 10), None, (6, 10)),
        ((3, 60), (6, 10), (6, 10)),
        ((3, 6, 10), (6, 10), (6, 10)),
    ],
)
def test_2d_shape_inference(rng, X_shape, shape, expected):
    X = rng.standard_normal(X_shape)
    estimator = Scattering2D(1, shape, L=2).fit(X)
    assert estimator.shape_ == expected
    assert estimator.n_features_in_ == np.prod(expected)
    images = X.reshape((3,) + expected)
    np.testing.assert_array_equal(estimator.transform(images), estimator.transform(images.reshape(3, -1)))


def test_1d_shape_inference(rng):
    estimator = Scattering1D(2).fit(rng.standard_normal((3, 72)))
    assert estimator.shape_ == (72,) and estimator.n_features_in_ == 72


@pytest.mark.parametrize(
    "estimator, X_shape, match",
    [
        (Scattering2D(1), (3, 12), "n_features=12 is not a perfect square"),
        (Scattering2D(1, (4, 4)), (3, 12), r"X has n_features=12; shape=\(4, 4\) needs 16"),
        (Scattering2D(1, (4, 6)), (3, 6, 4), r"X has images of shape \(6, 4\)"),
        (Scattering2D(2), (3, 9), r"J=2 needs signals of at least 2\^J = 4 samples per axis; got shape \(3, 3\)"),
        (Scattering1D(1), (3, 1), "n_features=1"),
        (Scattering1D(3), (3, 4), r"J=3 needs signals of at least 2\^J = 8 samples"),
        (Scattering1D(2, 32), (3, 64), "X has n_features=64; shape=32 needs 32"),
        (Scattering1D(2), (3, 4, 4), "Found array with dim 3"),
    ],
    ids=str,
)
def test_fit_rejects_signals_that_do_not_fit(rng, estimator, X_shape, match):
    with pytest.raises(ValueError, match=match):
        estimator.fit(rng.standard_normal(X_shape))


def test_transform_rejects_another_shape(rng):
    estimator = Scattering2D(1, L=2).fit(rng.standard_normal((2, 4, 6)))
    with pytest.raises(ValueError, match=r"X has samples of shape \(6, 4\); the transformer was fitted on \(4, 6\)"):
        estimator.transform(rng.standard_normal((2, 6, 4)))
    with pytest.raises(ValueError, match="X has 25 features, but Scattering2D is expecting 24 features"):
        estimator.transform(rng.standard_normal((2, 25)))


@pytest.mark.parametrize(
    "estimator, error, match",
    [
        (Scattering1D(0), ValueError, r"J must be an integer in \[1, inf\]; got 0"),
        (Scattering1D(1.5), TypeError, "J must be an integer; got 1.5"),
        (Scattering1D(2, Q=0), ValueError, r"Q\[0\] must be an integer in \[1, inf\]; got 0"),
        (Scattering1D(2, T=100), ValueError, r"T must be None or an integer in \[1, N=64\]; got 100"),
        (Scattering1D(2, max_order=3), ValueError, r"max_order must be an integer in \[1, 2\]; got 3"),
        (Scattering1D(2, shape=(8, 8)), TypeError, "shape must be an int or a 1-tuple"),
        (Scattering1D(2, padding="zero"), ValueError, r"padding must be one of \['periodic', 'reflect'\]; got 'zero'"),
        (Scattering1D(2, spatial="mean"), ValueError, r"spatial must be one of \['global', 'local'\]; got 'mean'"),
        (Scattering1D(2, log_eps=0), ValueError, "log_eps must be None or a real number > 0; got 0"),
        (Scattering1D(2, log_eps="1e-3"), TypeError, "log_eps must be None or a real number > 0; got '1e-3'"),
        (Scattering1D(2, log_eps=True), TypeError, "log_eps must be None or a real number > 0; got True"),
        (Scattering1D(2, normalize_order2=1), TypeError, "normalize_order2 must be True or False; got 1"),
        (Scattering1D(2, normalize_eps=-1.0), ValueError, r"normalize_eps must be a real number > 0; got -1.0"),
        (Scattering1D(2, normalize_eps=float("nan")), ValueError, "normalize_eps must be a real number > 0; got nan"),
        (Scattering1D(2, batch_size=0), ValueError, r"batch_size must be an integer in \[1, inf\]; got 0"),
        (Scattering1D(2, n_jobs=0), ValueError, "n_jobs must be None or a non-zero integer"),
        (Scattering1D(2, n_jobs=1.0), TypeError, "n_jobs must be None or a non-zero integer; got 1.0"),
        (Scattering2D(1, L=0), ValueError, r"L must be an integer in \[1, inf\]; got 0"),
        (Scattering2D(1, shape=64), TypeError, "shape must be a tuple of 2 ints; got 64"),
        (
            Scattering2D(1, orientation="max"),
            ValueError,
            r"orientation must be one of \['average', 'fourier', 'none'\]; got 'max'",
        ),
        (Scattering2D(3, padding="periodic"), ValueError, r"padding='periodic' needs a shape divisible by 2\^J = 8"),
    ],
    ids=str,
)
def test_invalid_parameters_raise_in_fit(rng, estimator, error, match):
    X = rng.standard_normal((2, 64)) if isinstance(estimator, Scattering1D) else rng.standard_normal((2, 12, 12))
    params = estimator.get_params()
    with pytest.raises(error, match=match):
        estimator.fit(X)
    assert estimator.get_params() == params


def test_init_stores_parameters_only():
    estimator = Scattering2D("two", shape="square", L=-1, orientation="sideways", batch_size=None)
    assert estimator.get_params()["J"] == "two"
    assert estimator.get_params()["orientation"] == "sideways"
    assert not [name for name in vars(estimator) if name.endswith("_")]


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_fit_returns_self_and_keeps_params(rng, kind):
    _, X, _ = _core_and_output(kind, rng)
    estimator = _estimator(kind, log_eps=1e-3)
    params = estimator.get_params()
    assert estimator.fit(X, y=np.arange(len(X))) is estimator
    assert estimator.get_params() == params
    public = {name for name in vars(estimator) if not name.startswith("_")}
    assert public - set(params) == {"n_features_in_", "shape_", "scattering_", "n_output_features_"}
    assert estimator.n_features_in_ == X.shape[1]


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_unfitted_transformer_raises(rng, kind):
    estimator = _estimator(kind)
    with pytest.raises(NotFittedError):
        estimator.transform(rng.standard_normal((2, 256)))
    with pytest.raises(NotFittedError):
        estimator.get_feature_names_out()


@pytest.mark.parametrize("kind", ["1d", "2d"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_raises(rng, kind, bad):
    _, X, _ = _core_and_output(kind, rng)
    X_bad = X.copy()
    X_bad[1, 7] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        _estimator(kind).fit(X_bad)
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        _estimator(kind).fit(X).transform(X_bad)


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_one_dimensional_input_raises(rng, kind):
    _, X, _ = _core_and_output(kind, rng)
    estimator = _estimator(kind).fit(X)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array instead"):
        estimator.transform(X[0])


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_single_sample(rng, kind):
    core, X, S = _core_and_output(kind, rng, n_samples=1)
    got = _estimator(kind).fit(X).transform(X)
    np.testing.assert_allclose(got, S.reshape(1, -1), rtol=1e-12)


@pytest.mark.parametrize("kind", ["1d", "2d"])
@pytest.mark.parametrize(
    "convert, dtype",
    [
        (lambda X: X.astype(np.float32), np.float32),
        (lambda X: X.astype(np.float16), np.float64),
        (lambda X: np.round(10 * X).astype(np.int32), np.float64),
        (lambda X: X.astype(object), np.float64),
        (lambda X: np.asfortranarray(X), np.float64),
        (lambda X: X.tolist(), np.float64),
        ("memmap", np.float64),
    ],
    ids=["float32", "float16", "int32", "object", "fortran", "list", "readonly-memmap"],
)
def test_input_layouts_and_dtypes(rng, tmp_path, kind, convert, dtype):
    core, X, _ = _core_and_output(kind, rng)
    if convert == "memmap":
        np.save(tmp_path / "X.npy", X)
        data = np.load(tmp_path / "X.npy", mmap_mode="r")
        values = X
    else:
        data = convert(X)
        values = np.asarray(data, dtype=dtype)
    got = _estimator(kind).fit(data).transform(data)
    assert got.dtype == dtype
    expected = core(values.reshape((len(X),) + core.shape)).reshape(len(X), -1)
    np.testing.assert_allclose(got, expected, rtol=_rtol(dtype), atol=_rtol(dtype) * np.abs(values).max())
    with pytest.raises(ValueError, match="could not convert string to float"):
        _estimator(kind).fit(np.full(X.shape, "a", dtype=object))


def test_tags():
    for estimator in (Scattering1D(1), Scattering2D(1)):
        tags = get_tags(estimator)
        assert tags.requires_fit
        assert not tags.input_tags.allow_nan and not tags.input_tags.sparse
        assert tags.transformer_tags.preserves_dtype == ["float64", "float32"]
    assert get_tags(Scattering2D(1)).input_tags.three_d_array
    assert not get_tags(Scattering1D(1)).input_tags.three_d_array


# ---------------------------------------------------------------------------------------------------------
# Batches, jobs, memory
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size, n_jobs", [(1, None), (4, None), (4, 2), (3, -1), (256, 2)])
@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_batches_and_jobs_do_not_change_features(rng, kind, batch_size, n_jobs):
    core, X, S = _core_and_output(kind, rng, n_samples=11)
    estimator = _estimator(kind, batch_size=batch_size, n_jobs=n_jobs).fit(X)
    expected = S.reshape(11, -1)
    np.testing.assert_allclose(estimator.transform(X), expected, rtol=1e-12, atol=1e-15)
    order = rng.permutation(11)
    np.testing.assert_allclose(estimator.transform(X[order]), expected[order], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(estimator.transform(X[2:7]), expected[2:7], rtol=1e-12, atol=1e-15)


def test_transform_calls_the_core_once_per_batch(rng):
    X = rng.standard_normal((10, 64))
    estimator = Scattering2D(1, L=2, batch_size=4).fit(X)
    expected = estimator.transform(X)
    calls, core = [], estimator.scattering_
    estimator.scattering_ = lambda x: calls.append(x.shape) or core(x)
    np.testing.assert_array_equal(estimator.transform(X), expected)
    assert calls == [(4, 8, 8), (4, 8, 8), (2, 8, 8)]


@pytest.mark.parametrize("n_jobs, workers, in_threads", [(None, 2, False), (1, 2, False), (2, 1, True), (-1, 1, True)])
def test_jobs_run_batches_on_threads_sharing_the_cpus(rng, monkeypatch, n_jobs, workers, in_threads):
    """n_jobs != 1 runs the batches on other threads of this process; the core's threads are the CPUs / n_jobs."""
    X = rng.standard_normal((10, 64))
    expected = Scattering2D(1, L=2).fit(X).transform(X)
    monkeypatch.setattr(scatter.sklearn, "cpu_count", lambda: 2)
    monkeypatch.setattr(scatter.sklearn, "effective_n_jobs", lambda n_jobs: {None: 1, 1: 1, 2: 2, -1: 2}[n_jobs])
    estimator = Scattering2D(1, L=2, batch_size=3, n_jobs=n_jobs).fit(X)
    assert estimator.scattering_.workers == workers
    where, core = [], estimator.scattering_
    estimator.scattering_ = lambda x: where.append((os.getpid(), threading.get_ident())) or core(x)
    np.testing.assert_allclose(estimator.transform(X), expected, rtol=1e-12)
    assert len(where) == 4 and {pid for pid, _ in where} == {os.getpid()}
    assert any(thread != threading.get_ident() for _, thread in where) == in_threads


def test_failed_fit_leaves_the_transformer_unfitted(rng):
    estimator = Scattering2D(3)
    with pytest.raises(ValueError, match="J=3 needs"):
        estimator.fit(rng.standard_normal((2, 16)))
    with pytest.raises(NotFittedError):
        estimator.transform(rng.standard_normal((2, 16)))


def test_memory_is_bounded_by_the_batch(rng):
    X = rng.standard_normal((128, 32 * 32))

    def extra_memory(batch_size):
        estimator = Scattering2D(2, L=4, batch_size=batch_size).fit(X[:1])
        estimator.transform(X[:2])  # plans built, kernels loaded
        tracemalloc.start()
        try:
            out = estimator.transform(X)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return peak - out.nbytes

    # The memory beyond the output grows with the batch: 8 samples at a time need less than 1/8 of 128.
    assert 8 * extra_memory(8) < extra_memory(128)


# ---------------------------------------------------------------------------------------------------------
# Round trips, determinism, compilation
# ---------------------------------------------------------------------------------------------------------

ROUND_TRIP = [
    Scattering1D(3, Q=2, log_eps=1e-4),
    Scattering2D(2, L=4, orientation="fourier", normalize_order2=True),
    Scattering2D(1, L=3, spatial="global", batch_size=2, n_jobs=2),
]


def _pickle(fitted, X, tmp_path):
    return pickle.loads(pickle.dumps(fitted))


def _joblib(fitted, X, tmp_path):
    joblib.dump(fitted, tmp_path / "estimator.joblib")
    return joblib.load(tmp_path / "estimator.joblib")


def _clone(fitted, X, tmp_path):
    copy = clone(fitted)
    assert not [name for name in vars(copy) if name.endswith("_")]
    return copy.fit(X)


@pytest.mark.parametrize("estimator", ROUND_TRIP, ids=repr)
@pytest.mark.parametrize("round_trip", [_pickle, _joblib, _clone], ids=["pickle", "joblib", "clone"])
def test_round_trip_gives_identical_features(rng, tmp_path, estimator, round_trip):
    X = rng.standard_normal((5, 256))
    fitted = clone(estimator).fit(X)
    copy = round_trip(fitted, X, tmp_path)
    assert copy.get_params() == estimator.get_params()
    np.testing.assert_array_equal(copy.transform(X), fitted.transform(X))
    assert copy.get_feature_names_out().tolist() == fitted.get_feature_names_out().tolist()


@pytest.mark.parametrize("estimator", ROUND_TRIP, ids=repr)
def test_transform_is_deterministic(rng, estimator):
    X = rng.standard_normal((5, 256))
    first = clone(estimator).fit(X)
    state = {name: value for name, value in vars(first).items() if not name.startswith("_")}
    features = first.transform(X)
    np.testing.assert_array_equal(first.transform(X), features)
    np.testing.assert_array_equal(clone(estimator).fit(X).fit(X).transform(X), features)
    np.testing.assert_array_equal(clone(estimator).fit_transform(X), features)
    assert {name: value for name, value in vars(first).items() if not name.startswith("_")} == state


def _compiled():
    """Signatures and cache misses of every Numba kernel of the grid transforms."""
    kernels = {name: k for name, k in vars(_kernels).items() if isinstance(k, Dispatcher)}
    assert kernels
    return {name: (list(k.signatures), dict(k.stats.cache_misses)) for name, k in kernels.items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_new_instances_compile_nothing(rng, dtype):
    Scattering1D(3).fit(rng.standard_normal((2, 128)).astype(dtype)).transform(
        rng.standard_normal((2, 128)).astype(dtype)
    )
    Scattering2D(2, L=4).fit(rng.standard_normal((2, 16, 16)).astype(dtype)).transform(
        rng.standard_normal((2, 16, 16)).astype(dtype)
    )
    before = _compiled()
    # Other instances, other shapes and parameters, read-only input: the same kernels, no new signature.
    X1 = rng.standard_normal((3, 200)).astype(dtype)
    X1.flags.writeable = False
    Scattering1D(4, Q=2, log_eps=1e-3).fit(X1).transform(X1)
    X2 = rng.standard_normal((3, 12, 20)).astype(dtype)
    X2.flags.writeable = False
    Scattering2D(1, L=6, orientation="fourier", batch_size=2, n_jobs=2).fit(X2).transform(X2)
    assert _compiled() == before


# ---------------------------------------------------------------------------------------------------------
# In a pipeline
# ---------------------------------------------------------------------------------------------------------


def test_grid_search_over_orientation_pooling(rng):
    """Horizontal against vertical stripes: a 90-degree rotation of each other, which orientation pooling
    cannot tell apart and the oriented features can."""
    n, size = 20, 8
    phases = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    rows = np.sin(2 * np.pi * np.arange(size)[:, None] / 4 + phases) * np.ones((1, size))
    X = np.concatenate([rows, np.swapaxes(rows, 1, 2)]) + 0.1 * rng.standard_normal((2 * n, size, size))
    y = np.repeat([0, 1], n)
    order = rng.permutation(2 * n)
    pipeline = make_pipeline(Scattering2D(1, L=4, spatial="global"), StandardScaler(), NearestCentroid())
    grid = GridSearchCV(pipeline, {"scattering2d__orientation": ["average", "none"]}, cv=2)
    grid.fit(X[order].reshape(2 * n, -1), y[order])
    assert grid.best_params_ == {"scattering2d__orientation": "none"}
    assert grid.best_score_ == 1.0
    scores = dict(zip(grid.cv_results_["param_scattering2d__orientation"], grid.cv_results_["mean_test_score"]))
    assert scores["average"] < 0.8


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.bool_])
def test_integer_input_is_cast_batch_by_batch_to_float64(rng, dtype):
    """Integer images are not copied whole to float64 by the validation; each batch is cast when transformed,
    which gives the features of the float64 images."""
    images = (rng.random((7, 8, 8)) * (2 if dtype is np.bool_ else 200)).astype(dtype)
    transformer = Scattering2D(J=1, batch_size=3).fit(images)
    got = transformer.transform(images)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, Scattering2D(J=1, batch_size=3).fit_transform(images.astype(np.float64)))
