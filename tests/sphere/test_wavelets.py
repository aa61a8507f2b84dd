"""Axisymmetric scale-discretised wavelets (``scatter.sphere.wavelets``).

Oracles: ``scipy.integrate.quad`` for the kernel integrals, the closed-form limits of the kernel, the frame
identity, and maps synthesised and analysed by explicit sums over ``scipy.special.sph_harm_y`` (the
convolution computed in space as an integral against the zonal kernel, by Gauss-Legendre quadrature).
"""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special

import scattering_oracle as oracle
from scatter.sphere import wavelets
from scatter.sphere.wavelets import (
    axisymmetric_convolve,
    axisymmetric_filter_bank,
    default_J,
    kernel_harmonics,
    scale_kernel,
    schwartz_bump,
)


def test_docstring_examples():
    failed, attempted = doctest.testmod(wavelets, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0


# ---------------------------------------------------------------------------------------------------------
# The kernel k_lambda


def _quad_kernel(t, lam):
    """k_lambda(t) by adaptive quadrature of the Schwartz bump written out here."""

    def integrand(x):
        u = 2 * lam / (lam - 1) * (x - 1 / lam) - 1
        return np.exp(-2.0 / (1.0 - u * u)) / x if abs(u) < 1 else 0.0

    def integral(a):
        return integrate.quad(integrand, a, 1.0, epsabs=1e-300, epsrel=1e-13, limit=200)[0]

    return integral(max(t, 1 / lam)) / integral(1 / lam)


@pytest.mark.parametrize("lam", [1.25, 2.0, 3.0])
def test_kernel_matches_adaptive_quadrature(lam):
    t = np.linspace(1 / lam, 1.0, 17)[1:-1]
    expected = [_quad_kernel(v, lam) for v in t]
    np.testing.assert_allclose(scale_kernel(t, lam), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("lam", [1.5, 2.0, 4.0])
def test_kernel_limits(lam):
    below = np.array([0.0, 0.1 / lam, 1.0 / lam])
    above = np.array([1.0, 1.5, 10.0])
    assert np.all(scale_kernel(below, lam) == 1.0)
    assert np.all(scale_kernel(above, lam) == 0.0)


def test_kernel_is_smooth_and_decreasing():
    t = np.linspace(0.4, 1.1, 2001)
    k = scale_kernel(t, 2.0)
    assert np.all(np.diff(k) <= 1e-15)
    # C-infinity: no jump in the derivative at the ends of the transition band.
    assert np.abs(np.diff(k, 2)).max() < 1e-4


def test_schwartz_bump_closed_form():
    # The centre of (1/lam, 1) maps to u = 0, where s = e^-1; the bump vanishes outside.
    lam = 3.0
    centre = (1 + 1 / lam) / 2
    np.testing.assert_allclose(schwartz_bump([centre], lam), [np.exp(-1.0)], rtol=1e-15)
    assert np.all(schwartz_bump([0.0, 1 / lam, 1.0, 2.0], lam) == 0.0)


@pytest.mark.parametrize("lam", [1, 0.5, -2.0, np.inf, np.nan])
def test_bad_lambda_raises(lam):
    with pytest.raises(ValueError, match="lam must be a real number > 1"):
        scale_kernel([0.5], lam)


@pytest.mark.parametrize("lam", ["2", None, True])
def test_lambda_of_wrong_type_raises(lam):
    with pytest.raises(TypeError, match="lam must be a real number > 1"):
        axisymmetric_filter_bank(8, lam)


# ---------------------------------------------------------------------------------------------------------
# The filter bank


@pytest.mark.parametrize("L, lam, J0", [(8, 2.0, 0), (32, 2.0, 2), (30, np.sqrt(2), 3), (17, 3.0, 1), (64, 1.6, 0)])
def test_frame_identity(L, lam, J0):
    bank = axisymmetric_filter_bank(L, lam, J0)
    total = bank["phi"] ** 2 + (bank["psi"] ** 2).sum(axis=0)
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "L, lam, J", [(2, 2.0, 0), (3, 2.0, 1), (32, 2.0, 5), (33, 2.0, 5), (34, 2.0, 6), (30, 3.0, 4)]
)
def test_default_J_is_the_smallest_covering_scale(L, lam, J):
    assert default_J(L, lam) == J
    assert lam**J >= L - 1 and (J == 0 or lam ** (J - 1) < L - 1)


@pytest.mark.parametrize("L, lam, J0", [(32, 2.0, 0), (40, 1.5, 2), (30, 3.0, 1)])
def test_profiles_follow_the_kernel_and_their_support(L, lam, J0):
    bank = axisymmetric_filter_bank(L, lam, J0)
    ell = np.arange(L)
    np.testing.assert_allclose(bank["phi"] ** 2, [_quad_kernel(v / lam**J0, lam) for v in ell], atol=1e-12)
    for j, row, bandlimit in zip(bank["j"], bank["psi"], bank["bandlimit"]):
        expected = [_quad_kernel(v / lam ** (j + 1), lam) - _quad_kernel(v / lam**j, lam) for v in ell]
        np.testing.assert_allclose(row**2, expected, atol=1e-12)
        # Supported on lam^(j-1) < l < lam^(j+1); the bandlimit is one more than the last possible degree.
        assert np.all(row[(ell <= lam ** (j - 1)) | (ell >= lam ** (j + 1))] == 0)
        assert bandlimit == min(L, int(np.ceil(lam ** (j + 1))))
        assert row[bandlimit - 1] > 0 or bandlimit == L
    assert bank["phi_bandlimit"] == min(L, int(np.ceil(lam**J0)))
    assert np.all(bank["phi"][bank["phi_bandlimit"] :] == 0)


def test_explicit_smaller_J_covers_only_up_to_lambda_J():
    bank = axisymmetric_filter_bank(32, 2.0, 0, J=3)
    total = bank["phi"] ** 2 + (bank["psi"] ** 2).sum(axis=0)
    np.testing.assert_allclose(total[:9], 1.0, atol=1e-12)
    assert np.all(total[16:] == 0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(L=0), ValueError, "L must be"),
        (dict(L=8.0), TypeError, "L must be an integer"),
        (dict(L=8, J0=-1), ValueError, "J0 must be"),
        (dict(L=8, J0=4), ValueError, "J0=4 is above the finest scale J=3"),
        (dict(L=8, J0=2, J=1), ValueError, "J must be None or an integer >= J0=2"),
    ],
)
def test_bad_parameters_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        axisymmetric_filter_bank(**kwargs)


# ---------------------------------------------------------------------------------------------------------
# Convolution


@pytest.mark.parametrize("L, lam, J0", [(12, 2.0, 0), (16, 1.5, 1)])
def test_parseval_on_random_maps(rng, L, lam, J0):
    """||f||^2 = ||f * phi||^2 + sum_j ||f * psi_j||^2, every norm by quadrature of a synthesised map."""
    bank = axisymmetric_filter_bank(L, lam, J0)
    flm = oracle.random_flm(rng, L, (3,))
    _, _, w = oracle.gl_grid(L)

    def energy(coefficients):
        # A map of bandlimit L squared has bandlimit 2L - 1: the GL rule of L rings integrates it exactly.
        return np.einsum("btp,t->b", oracle.synthesize(coefficients) ** 2, w)

    parts = [energy(axisymmetric_convolve(flm, bank["phi"]))]
    parts += [energy(axisymmetric_convolve(flm, row)) for row in bank["psi"]]
    np.testing.assert_allclose(np.sum(parts, axis=0), energy(flm), rtol=1e-12)
    assert all(np.all(p >= 0) for p in parts) and sum(np.all(p > 0) for p in parts) >= 3


def test_convolution_is_the_spatial_integral_against_the_zonal_kernel(rng):
    """(f * psi)(w) = int f(w') psi(angle(w, w')) dw', with psi(gamma) = sum_l psi_l0 Y_l0(gamma)."""
    L = 10
    bank = axisymmetric_filter_bank(L, 2.0, 0)
    profile = bank["psi"][2]
    flm = oracle.random_flm(rng, L)
    theta, phi, w = oracle.gl_grid(L)
    tt, pp = np.meshgrid(theta, phi, indexing="ij")
    xyz = np.stack([np.sin(tt) * np.cos(pp), np.sin(tt) * np.sin(pp), np.cos(tt)]).reshape(3, -1)
    cos_gamma = np.clip(xyz.T @ xyz, -1, 1)
    ell = np.arange(L)
    # Y_l0(gamma) = sqrt((2l + 1) / 4 pi) P_l(cos gamma)
    zonal = sum(
        kernel_harmonics(profile)[l] * np.sqrt((2 * l + 1) / (4 * np.pi)) * special.eval_legendre(l, cos_gamma)
        for l in ell
    )
    f = oracle.synthesize(flm).reshape(-1)
    weights = np.broadcast_to(w[:, None], tt.shape).reshape(-1)
    direct = zonal @ (weights * f)
    harmonic = oracle.synthesize(axisymmetric_convolve(flm, profile)).reshape(-1)
    np.testing.assert_allclose(direct, harmonic, rtol=1e-10, atol=1e-10 * np.abs(harmonic).max())


@settings(max_examples=15, deadline=None)
@given(L=st.integers(2, 48), lam=st.floats(1.2, 4.0), J0=st.integers(0, 3))
def test_frame_identity_property(L, lam, J0):
    if J0 > default_J(L, lam):
        return
    bank = axisymmetric_filter_bank(L, lam, J0)
    assert np.all(bank["psi"] >= 0) and np.all(bank["phi"] >= 0)
    np.testing.assert_allclose(bank["phi"] ** 2 + (bank["psi"] ** 2).sum(axis=0), 1.0, atol=1e-12)


@pytest.mark.parametrize(
    "flm, profile, match",
    [
        (np.ones((3, 4)), np.ones(4), r"flm must have shape \(\.\.\., L, L\)"),
        (np.ones((4, 4)), np.ones(3), "at least L=4"),
    ],
)
def test_convolve_bad_shapes_raise(flm, profile, match):
    with pytest.raises(ValueError, match=match):
        axisymmetric_convolve(flm, profile)
