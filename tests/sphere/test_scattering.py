"""Spherical scattering (``scatter.sphere.scattering``).

Oracles: a slow direct implementation written here over ``scipy.special.sph_harm_y`` (tests/sphere/
scattering_oracle.py) -- with the same multiresolution grids (agreement to rounding) and at full resolution
(every modulus on one fine grid: agreement to the discretisation error); rotations done in space by
synthesising the map at rotated points (independent of ``scatter.sphere.rotations``); the frame inequality
(non-expansiveness) as a property test.
"""

import doctest
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scattering_oracle as oracle
from scatter.sphere import scattering as scattering_module
from scatter.sphere.scattering import (
    SphericalScattering,
    default_oversampling,
    modulus_bandlimits,
    scattering_paths,
    spherical_scattering,
)
from scatter.sphere.wavelets import axisymmetric_filter_bank


def test_docstring_examples():
    failed, attempted = doctest.testmod(scattering_module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0


def _oracle(S, flm, equivariant=False, full_resolution=None):
    """The oracle's scattering with the filters of ``S``; ``full_resolution=M``: every modulus at bandlimit M."""
    bank = S.filters
    grids = modulus_bandlimits(bank, S.oversampling) if full_resolution is None else [full_resolution] * len(bank["j"])
    b = bank["phi_bandlimit"] if equivariant else None
    return oracle.scattering(flm, bank["psi"], bank["phi"], bank["bandlimit"], grids, S.max_order, b)


def _dh_map(flm, L):
    """The map of ``flm`` on the Driscoll-Healy grid theta_j = pi (2j + 1) / 4L, phi_k = pi k / L."""
    theta = np.pi * (2 * np.arange(2 * L) + 1) / (4 * L)
    phi = np.pi * np.arange(2 * L) / L
    return oracle.synthesize_at(flm, *np.meshgrid(theta, phi, indexing="ij"))


# ---------------------------------------------------------------------------------------------------------
# Against the oracle


@pytest.mark.parametrize("max_order", [0, 1, 2])
@pytest.mark.parametrize("lam, J0", [(2.0, 0), (1.6, 1)])
def test_invariant_output_matches_direct_implementation(rng, max_order, lam, J0):
    L = 8
    S = SphericalScattering(L, J0=J0, lam=lam, max_order=max_order, oversampling=2)
    flm = oracle.random_flm(rng, L, (3,))
    got = S(oracle.synthesize(flm))
    expected = _oracle(S, flm)
    assert got.shape == (3, S.n_channels) == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_driscoll_healy_input_gives_the_same_output(rng):
    L = 8
    flm = oracle.random_flm(rng, L, (2,))
    gl = SphericalScattering(L, sampling="gl")(oracle.synthesize(flm))
    dh = SphericalScattering(L, sampling="dh")(_dh_map(flm, L))
    np.testing.assert_allclose(dh, gl, rtol=1e-10, atol=1e-12)


def test_equivariant_output_matches_direct_implementation(rng):
    L, J0 = 8, 2
    S = SphericalScattering(L, J0=J0, output="equivariant", oversampling=2)
    flm = oracle.random_flm(rng, L, (2,))
    got = S(oracle.synthesize(flm))
    b = S.filters["phi_bandlimit"]
    assert b == 4 and got.shape == (2, S.n_channels, b, 2 * b - 1) and S.output_shape == got.shape[1:]
    expected = oracle.synthesize(_oracle(S, flm, equivariant=True))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_multiresolution_is_close_to_full_resolution(rng):
    """Oversampling 4 (the default from L = 32 on) against every modulus on the grid of bandlimit 3L (no
    multiresolution); the oracle's dense harmonics keep the grids small."""
    L = 8
    S = SphericalScattering(L, oversampling=4.0)
    flm = oracle.random_flm(rng, L, (2,))
    got = S(oracle.synthesize(flm))
    full = _oracle(S, flm, full_resolution=3 * L)
    error = np.linalg.norm(got - full) / np.linalg.norm(full)
    assert error < 5e-3
    # ... and it is the discretisation, not a mistake: the oracle at the default grids agrees to rounding.
    np.testing.assert_allclose(got, _oracle(S, flm), rtol=1e-10, atol=1e-12)


def test_order_zero_is_the_mean_and_order_one_the_mean_modulus(rng):
    """Order 0: the mean of the map; order 1 at the finest wavelet: the mean of |f * psi_J| on a fine grid."""
    L = 8
    flm = oracle.random_flm(rng, L)
    S = SphericalScattering(L, max_order=1, oversampling=8)
    out = S(oracle.synthesize(flm))
    assert out[0] == pytest.approx(flm[0, 0].real / math.sqrt(4 * math.pi), rel=1e-12)
    np.testing.assert_allclose(out[0], oracle.mean(oracle.synthesize(flm), L), rtol=1e-12)
    filtered = flm * S.filters["psi"][-1][:, None]
    fine = np.abs(oracle.synthesize(filtered, 4 * L))
    assert out[-1] == pytest.approx(oracle.mean(fine, 4 * L), rel=2e-3)


# ---------------------------------------------------------------------------------------------------------
# Rotations


def _rotation(rng):
    alpha, gamma = rng.uniform(0, 2 * np.pi, 2)
    return oracle.rotation_matrix_zyz(alpha, np.arccos(rng.uniform(-1, 1)), gamma)


@pytest.mark.parametrize("L", [8, 16, 32])
def test_rotation_invariance_with_default_settings(rng, L):
    """Inputs bandlimited at L/2, rotated by random rotations: relative error <= 1e-3 at every L."""
    n = 3
    flm = oracle.random_flm(rng, L, (n,), band=L // 2)
    rotated = np.stack([oracle.rotated_map(flm[i], _rotation(rng)) for i in range(n)])
    S = SphericalScattering(L)
    a, b = S(oracle.synthesize(flm)), S(rotated)
    assert np.linalg.norm(a - b) / np.linalg.norm(a) <= 1e-3


def test_rotation_invariance_with_rotate_flm(rng):
    """The same, rotating with ``scatter.sphere.rotations.rotate_flm`` and synthesising with ``inverse_sht``."""
    rotations = pytest.importorskip("scatter.sphere.rotations", reason="scatter.sphere.rotations not built yet")
    from scatter.sphere.sht import inverse_sht

    L, n = 32, 3
    flm = oracle.random_flm(rng, L, (n,), band=L // 2)
    rotated = np.stack([rotations.rotate_flm(flm[i], rotations.random_rotation(rng)) for i in range(n)])
    S = SphericalScattering(L)
    a, b = S(inverse_sht(flm, L)), S(inverse_sht(rotated, L))
    assert np.linalg.norm(a - b) / np.linalg.norm(a) <= 1e-3


def test_default_oversampling():
    """max(4, 128 / L), resolved by the transform and reported by ``modulus_bandlimits``."""
    assert [default_oversampling(L) for L in (4, 16, 32, 64, 256)] == [32.0, 8.0, 4.0, 4.0, 4.0]
    S = SphericalScattering(16)
    assert S.oversampling == 8.0
    # bandlimits 2, 4, 8, 16, 16 of the wavelets j = 0..4 at lambda = 2, times 8
    assert modulus_bandlimits(S.filters).tolist() == [16, 32, 64, 128, 128]


def test_invariance_error_falls_with_oversampling(rng):
    L, n = 16, 3
    flm = oracle.random_flm(rng, L, (n,), band=L // 2)
    rotated = np.stack([oracle.rotated_map(flm[i], _rotation(rng)) for i in range(n)])
    maps = oracle.synthesize(flm)
    errors = []
    for oversampling in (1.0, 2.0, 6.0):
        S = SphericalScattering(L, oversampling=oversampling)
        a, b = S(maps), S(rotated)
        errors.append(np.linalg.norm(a - b) / np.linalg.norm(a))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-3


def test_equivariance(rng):
    """Transform of the rotated map = rotation of the transform, compared in harmonic space at bandlimit 4."""
    L, J0 = 16, 2
    S = SphericalScattering(L, J0=J0, output="equivariant")
    b = S.filters["phi_bandlimit"]
    flm = oracle.random_flm(rng, L, band=L // 2)
    R = _rotation(rng)
    out = S(oracle.synthesize(flm))
    out_of_rotated = S(oracle.rotated_map(flm, R))
    c = oracle.analyze(out, b)
    rotated_out = oracle.analyze(np.stack([oracle.rotated_map(ci, R, b) for ci in c]), b)
    c_of_rotated = oracle.analyze(out_of_rotated, b)
    error = np.sqrt(oracle.norm2(c_of_rotated - rotated_out).sum() / oracle.norm2(rotated_out).sum())
    assert error < 2e-3
    # Not trivially: the rotation moves the coefficients.
    assert np.sqrt(oracle.norm2(c - rotated_out).sum() / oracle.norm2(c).sum()) > 0.1


# ---------------------------------------------------------------------------------------------------------
# Non-expansiveness


_S8 = SphericalScattering(8)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1e-3, 0.1, 1.0, 10.0]), band=st.integers(1, 8))
def test_non_expansive(seed, scale, band):
    """||S f - S g|| <= ||f - g||_rms = sqrt(mean |f - g|^2), for maps of bandlimit L = 8."""
    rng = np.random.default_rng(seed)
    L, S = 8, _S8
    f = oracle.random_flm(rng, L)
    g = f + scale * oracle.random_flm(rng, L, band=band)
    distance = np.sqrt(oracle.norm2(f - g) / (4 * np.pi))
    assert np.linalg.norm(S(oracle.synthesize(f)) - S(oracle.synthesize(g))) <= distance * (1 + 1e-9)


def test_constant_shift_saturates_the_bound():
    """f - g constant: only order 0 moves, by exactly the rms distance."""
    L = 8
    S = SphericalScattering(L)
    maps = oracle.synthesize(oracle.random_flm(np.random.default_rng(1), L))
    diff = S(maps + 0.5) - S(maps)
    assert diff[0] == pytest.approx(0.5, rel=1e-12)
    np.testing.assert_allclose(diff[1:], 0.0, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# Layout, dtypes and validation


def test_paths_meta_and_shapes():
    S = SphericalScattering(16, J0=1)
    meta = S.meta()
    keys = meta["key"]
    assert keys == scattering_paths(S.filters, 2)
    assert keys[0] == () and keys[1:5] == [(1,), (2,), (3,), (4,)]
    assert all(p[1] < p[0] for p in keys if len(p) == 2)
    assert S.n_channels == len(keys) == 1 + 4 + 6
    assert meta["order"].tolist() == [len(p) for p in keys]
    assert np.isnan(meta["j"][0]).all() and meta["j"][-1].tolist() == [4.0, 3.0]
    assert meta["bandlimit"].tolist()[:5] == [16, 4, 8, 16, 16]
    assert S.grid_shape == (16, 31) and S.output_shape == (11,)
    assert SphericalScattering(16, sampling="dh").grid_shape == (32, 32)


def test_batch_shape_and_dtype(rng):
    L = 8
    maps = oracle.synthesize(oracle.random_flm(rng, L, (2, 3)))
    S = SphericalScattering(L)
    out = S(maps)
    assert out.shape == (2, 3, S.n_channels) and out.dtype == np.float64
    np.testing.assert_allclose(out[1, 2], S(maps[1, 2]), rtol=1e-12)
    out32 = S(maps.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out, rtol=1e-5, atol=1e-6)
    assert S(np.zeros((0,) + S.grid_shape)).shape == (0, S.n_channels)


def test_plain_function_matches_the_class(rng):
    L = 8
    maps = oracle.synthesize(oracle.random_flm(rng, L, (2,)))
    bank = axisymmetric_filter_bank(L)
    got = spherical_scattering(maps, bank, 2, "invariant", sampling="gl", oversampling=3.0)
    np.testing.assert_array_equal(got, SphericalScattering(L, oversampling=3.0)(maps))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(L=1), ValueError, "L must be"),
        (dict(L=8, output="maps"), ValueError, "output must be one of"),
        (dict(L=8, sampling="healpix"), ValueError, "sampling must be one of"),
        (dict(L=8, max_order=3), ValueError, "max_order must be"),
        (dict(L=8, oversampling=0.5), ValueError, "oversampling must be None or a real number >= 1"),
        (dict(L=8, oversampling="2"), TypeError, "oversampling must be None or a real number >= 1"),
        (dict(L=8, lam=1.0), ValueError, "lam must be a real number > 1"),
        (dict(L=8, J0=5), ValueError, "J0=5 is above the finest scale"),
    ],
)
def test_bad_parameters_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        SphericalScattering(**kwargs)


@pytest.mark.parametrize(
    "maps, error, match",
    [
        (np.zeros((8, 16)), ValueError, r"maps must have shape \(\.\.\., 8, 15\)"),
        (np.zeros((8, 15), complex), TypeError, "maps must be real"),
        (np.full((8, 15), np.nan), ValueError, "non-finite"),
    ],
)
def test_bad_maps_raise(maps, error, match):
    with pytest.raises(error, match=match):
        SphericalScattering(8)(maps)


# ---------------------------------------------------------------------------------------------------------
# Coefficients of the scattering maps and their cross spectra


def test_scattering_coefficients_give_both_outputs(rng):
    from scatter.sphere.scattering import scattering_coefficients

    L = 8
    maps = oracle.synthesize(oracle.random_flm(rng, L, (2,)))
    S = SphericalScattering(L, J0=1)
    c = scattering_coefficients(maps, S.filters, 6, 2, oversampling=S.oversampling)
    assert c.shape == (2, S.n_channels, 6, 6)
    np.testing.assert_allclose(c[:, :, 0, 0].real / np.sqrt(4 * np.pi), S(maps), rtol=1e-10, atol=1e-13)
    b = S.filters["phi_bandlimit"]
    low = oracle.synthesize(c[..., :b, :b] * S.filters["phi"][:b, None])
    equivariant = SphericalScattering(L, J0=1, output="equivariant")(maps)
    np.testing.assert_allclose(equivariant, low, rtol=1e-10, atol=1e-13)


def test_cross_spectra_against_the_sum_over_negative_orders(rng):
    from scatter.sphere.scattering import cross_spectra

    L, P = 6, 3
    c = oracle.random_flm(rng, L, (P,))
    m = np.arange(L)
    # c_{l,-m} = (-1)^m conj(c_{lm}) for real maps.
    negative = ((-1.0) ** m) * c.conj()
    expected = np.zeros((L, P, P))
    for ell in range(L):
        full = np.concatenate([negative[:, ell, 1 : ell + 1], c[:, ell, : ell + 1]], axis=1)
        expected[ell] = (full @ full.conj().T).real / (2 * ell + 1)
    np.testing.assert_allclose(cross_spectra(c), expected, rtol=1e-12, atol=1e-14)


def test_cross_spectra_are_rotation_invariant(rng):
    from scatter.sphere.scattering import cross_spectra

    L, P = 10, 4
    c = oracle.random_flm(rng, L, (P,))
    R = _rotation(rng)
    rotated = oracle.analyze(np.stack([oracle.rotated_map(ci, R) for ci in c]), L)
    np.testing.assert_allclose(cross_spectra(rotated), cross_spectra(c), rtol=1e-9, atol=1e-10)
    assert np.abs(rotated - c).max() > 0.1


def test_cross_spectra_bad_shape_raises():
    from scatter.sphere.scattering import cross_spectra

    with pytest.raises(ValueError, match=r"clm must have shape \(\.\.\., P, L, L\)"):
        cross_spectra(np.zeros((3, 4)))
