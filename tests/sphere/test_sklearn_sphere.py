"""The scikit-learn transformer ``scatter.sklearn.SphericalScattering``.

Oracles: the core transform ``scatter.sphere.scattering.SphericalScattering`` (the layer it wraps), output
reshaped here with NumPy; post-processing written here; hand-written feature names; pandas; scikit-learn's
estimator checks.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from scatter.sklearn import SphericalScattering
from scatter.sphere.scattering import SphericalScattering as Core

# ---------------------------------------------------------------------------------------------------------
# scikit-learn's estimator checks

#: Checks that fit data whose n_features is no sphere grid: with L=None the bandlimit is read from the grid,
#: n_features = L (2L - 1) = 6, 15, 28, ... for "gl" (L >= 2), and these checks fit 2, 3, 5 or 10 features.
#: The behaviour they check is tested below on grids (the test named in each reason).
_NOT_A_GRID = "fits {n}-feature data, which is no GL grid (n_features = L (2L - 1), L >= 2); on grids: {test}"
EXPECTED_FAILED = {
    check: _NOT_A_GRID.format(n=n, test=test)
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
        ("check_estimators_nan_inf", 3, "test_non_finite_input_raises"),
        ("check_fit2d_predict1d", 3, "test_one_dimensional_input_raises"),
        ("check_estimators_pickle", 3, "test_pickle_round_trip"),
        ("check_pipeline_consistency", 3, "test_transform_is_deterministic"),
        ("check_fit_idempotent", 2, "test_transform_is_deterministic"),
        ("check_dict_unchanged", 3, "test_transform_is_deterministic"),
        ("check_transformer_general", 3, "test_transform_is_deterministic"),
        ("check_methods_sample_order_invariance", 3, "test_batches_and_jobs_do_not_change_features"),
        ("check_methods_subset_invariance", 3, "test_batches_and_jobs_do_not_change_features"),
        ("check_fit2d_1sample", 10, "test_single_sample"),
        ("check_fit_check_is_fitted", 2, "test_unfitted_transformer_raises"),
        ("check_n_features_in_after_fitting", 4, "test_fit_returns_self_and_keeps_params"),
        ("check_positive_only_tag_during_fit", 4, "test_input_layouts_and_dtypes"),
    ]
}


@parametrize_with_checks(
    [SphericalScattering(max_order=1, log_eps=1e-6)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED,
    xfail_strict=True,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------------------------------------
# Features


def _maps(rng, L, sampling="gl", n=4, dtype=np.float64):
    shape = (L, 2 * L - 1) if sampling == "gl" else (2 * L, 2 * L)
    return rng.standard_normal((n,) + shape).astype(dtype)


@pytest.mark.parametrize("sampling", ["gl", "dh"])
@pytest.mark.parametrize("output, J0", [("invariant", 0), ("equivariant", 2)])
@pytest.mark.parametrize("layout", ["flat", "maps"])
def test_features_are_the_core_output_flattened(rng, sampling, output, J0, layout):
    L = 8
    maps = _maps(rng, L, sampling)
    X = maps.reshape(len(maps), -1) if layout == "flat" else maps
    estimator = SphericalScattering(J0=J0, sampling=sampling, output=output, oversampling=2.0).fit(X)
    core = Core(L, J0=J0, sampling=sampling, output=output, oversampling=2.0)
    expected = core(maps).reshape(len(maps), -1)
    assert estimator.L_ == L and estimator.shape_ == maps.shape[1:]
    assert estimator.n_output_features_ == expected.shape[1]
    np.testing.assert_allclose(estimator.transform(X), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "params", [dict(log_eps=1e-3, normalize_order2=True), dict(output="equivariant", J0=2, log_eps=0.1)], ids=repr
)
def test_transform_coefficients_gives_the_features_of_transform(rng, params):
    L = 8
    maps = _maps(rng, L)
    estimator = SphericalScattering(oversampling=2.0, batch_size=2, **params).fit(maps)
    core = Core(L, J0=params.get("J0", 0), output=params.get("output", "invariant"), oversampling=2.0)
    S = core(maps)
    got = estimator.transform_coefficients(S)
    np.testing.assert_allclose(got, estimator.transform(maps), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(estimator.transform_coefficients(S.reshape(len(S), -1)), got)
    with pytest.raises(ValueError, match="S must hold the raw scattering coefficients"):
        estimator.transform_coefficients(S[:, 1:])


@pytest.mark.parametrize("eps", [1e-6, 0.1])
def test_log_and_order2_normalisation(rng, eps):
    L = 8
    maps = _maps(rng, L)
    S = Core(L)(maps)
    meta = Core(L).meta()
    expected = S.copy()
    for c, key in enumerate(meta["key"]):
        if len(key) == 2:
            expected[:, c] = S[:, c] / (np.abs(S[:, meta["key"].index(key[:1])]) + 0.5)
    expected[:, 1:] = np.log(eps + np.abs(expected[:, 1:]))
    got = SphericalScattering(log_eps=eps, normalize_order2=True, normalize_eps=0.5).fit_transform(maps)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_feature_names(rng):
    maps = _maps(rng, 8)
    names = SphericalScattering(max_order=2).fit(maps).get_feature_names_out().tolist()
    assert names[:5] == ["order0", "order1_j1=0", "order1_j1=1", "order1_j1=2", "order1_j1=3"]
    assert names[5:] == ["order2_j1=1_j2=0", "order2_j1=2_j2=0", "order2_j1=2_j2=1", "order2_j1=3_j2=0",
                         "order2_j1=3_j2=1", "order2_j1=3_j2=2"]
    eq = SphericalScattering(J0=1, output="equivariant", max_order=1).fit(maps).get_feature_names_out().tolist()
    # Bandlimit 2: a GL grid of 2 rings and 3 longitudes per path.
    assert eq[:7] == [f"order0_ring={r}_lon={k}" for r in range(2) for k in range(3)] + ["order1_j1=1_ring=0_lon=0"]


def test_pandas_output(rng):
    pd = pytest.importorskip("pandas")
    maps = _maps(rng, 8)
    X = pd.DataFrame(maps.reshape(4, -1), columns=[f"p{i}" for i in range(maps[0].size)])
    estimator = SphericalScattering().set_output(transform="pandas").fit(X)
    out = estimator.transform(X)
    assert isinstance(out, pd.DataFrame)
    assert out.columns.tolist() == estimator.get_feature_names_out().tolist()
    np.testing.assert_allclose(out.to_numpy(), Core(8)(maps), rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# Conventions on grids (the estimator checks that need one)


def test_fit_returns_self_and_keeps_params(rng):
    maps = _maps(rng, 8)
    estimator = SphericalScattering(lam=2.0, oversampling=3.0)
    params = estimator.get_params()
    assert estimator.fit(maps, np.arange(4)) is estimator
    assert estimator.get_params() == params and estimator.n_features_in_ == maps[0].size
    assert clone(estimator).get_params() == params


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("convert", ["array", "list", "fortran", "readonly"])
def test_input_layouts_and_dtypes(rng, dtype, convert):
    X = _maps(rng, 8, dtype=dtype).reshape(4, -1)
    expected = SphericalScattering().fit_transform(X)
    if convert == "list":
        data = X.tolist()
    elif convert == "fortran":
        data = np.asfortranarray(X)
    elif convert == "readonly":
        data = X.copy()
        data.setflags(write=False)
    else:
        data = X
    got = SphericalScattering().fit_transform(data)
    assert got.dtype == (np.float64 if convert == "list" else dtype)
    np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_raises(rng, bad):
    X = _maps(rng, 8).reshape(4, -1)
    estimator = SphericalScattering().fit(X)
    X[1, 3] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        estimator.transform(X)


def test_one_dimensional_input_raises(rng):
    with pytest.raises(ValueError, match="Expected 2D array"):
        SphericalScattering().fit(_maps(rng, 8)[0, 0])


def test_unfitted_transformer_raises(rng):
    with pytest.raises(NotFittedError):
        SphericalScattering().transform(_maps(rng, 8))


def test_single_sample(rng):
    maps = _maps(rng, 8, n=1)
    np.testing.assert_allclose(SphericalScattering().fit_transform(maps), Core(8)(maps), rtol=1e-12)


def test_pickle_round_trip(rng):
    maps = _maps(rng, 8)
    estimator = SphericalScattering().fit(maps)
    again = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(again.transform(maps), estimator.transform(maps))


def test_transform_is_deterministic(rng):
    maps = _maps(rng, 8)
    estimator = SphericalScattering().fit(maps)
    np.testing.assert_array_equal(estimator.transform(maps), estimator.transform(maps.copy()))


@pytest.mark.parametrize("batch_size, n_jobs", [(1, None), (3, 2), (100, -1)])
def test_batches_and_jobs_do_not_change_features(rng, batch_size, n_jobs):
    maps = _maps(rng, 8, n=5)
    expected = SphericalScattering().fit_transform(maps)
    got = SphericalScattering(batch_size=batch_size, n_jobs=n_jobs).fit_transform(maps)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(SphericalScattering().fit(maps).transform(maps[::-1]), expected[::-1], rtol=1e-13)


# ---------------------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    "params, X_shape, error, match",
    [
        (dict(), (3, 10), ValueError, "n_features=10 is no 'gl' grid"),
        (dict(sampling="dh"), (3, 15), ValueError, "n_features=15 is no 'dh' grid"),
        (dict(L=8), (3, 8 * 16), ValueError, r"L=8 with sampling='gl' needs maps of shape \(8, 15\)"),
        (dict(L=8), (3, 15, 8), ValueError, r"maps of shape \(15, 8\)"),
        (dict(output="maps"), (3, 15), ValueError, "output must be one of"),
        (dict(sampling="healpix"), (3, 15), ValueError, "sampling must be one of"),
        (dict(lam=0.5), (3, 15), ValueError, "lam must be a real number > 1"),
        (dict(oversampling=0), (3, 15), ValueError, "oversampling must be None or a real number >= 1"),
        (dict(log_eps=-1.0), (3, 15), ValueError, "log_eps must be None or a real number > 0"),
        (dict(batch_size=0), (3, 15), ValueError, "batch_size must be"),
        (dict(normalize_order2=True, output="equivariant"), (3, 15), ValueError, "normalize_order2=True needs"),
        (dict(max_order=3), (3, 15), ValueError, "max_order must be"),
    ],
)
def test_invalid_parameters_raise_in_fit(rng, params, X_shape, error, match):
    estimator = SphericalScattering(**params)
    with pytest.raises(error, match=match):
        estimator.fit(rng.standard_normal(X_shape))
    assert not hasattr(estimator, "scattering_")


def test_transform_rejects_another_grid(rng):
    estimator = SphericalScattering().fit(_maps(rng, 8))
    with pytest.raises(ValueError, match="fitted on"):
        estimator.transform(rng.standard_normal((4, 8, 14)))


def test_init_stores_parameters_only():
    estimator = SphericalScattering(L="anything", lam="x")
    assert estimator.L == "anything" and estimator.lam == "x"
