"""Wigner-D rotations of bandlimited signals (``scatter.sphere.rotations``).

Oracles: the explicit factorial sum for Wigner's small d, SciPy's ``sph_harm_y`` (d^l_{m0} and the direct
evaluation of f(R^-1 omega)), the closed form of degree 1 (linear functions a . omega), SciPy's Rotation for
Euler angles, and the Haar law of the rotation angle.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats
from scipy.spatial.transform import Rotation

from scatter.sphere import (
    euler_from_matrix,
    forward_sht,
    inverse_sht,
    matrix_from_euler,
    random_rotation,
    rotate_flm,
    sampling_grid,
    wigner_d_small,
)


def random_flm(rng, L, batch=()):
    flm = rng.standard_normal((*batch, L, L)) + 1j * rng.standard_normal((*batch, L, L))
    flm = np.tril(flm)
    flm[..., 0] = flm[..., 0].real
    return flm


def wigner_d_explicit(ell, mp, m, beta):
    """Wigner's explicit sum (e.g. Sakurai, Modern Quantum Mechanics, eq. 3.8.33)."""
    total = 0.0
    for s in range(2 * ell + 1):
        facts = (ell + m - s, s, mp - m + s, ell - mp - s)
        if min(facts) < 0:
            continue
        total += (
            (-1) ** (mp - m + s)
            * math.cos(beta / 2) ** (2 * ell + m - mp - 2 * s)
            * math.sin(beta / 2) ** (mp - m + 2 * s)
            / math.prod(math.factorial(f) for f in facts)
        )
    return total * math.sqrt(
        math.factorial(ell + mp) * math.factorial(ell - mp) * math.factorial(ell + m) * math.factorial(ell - m)
    )


@pytest.mark.parametrize("beta", [0.0, 0.3, np.pi / 2, 2.5, np.pi])
def test_wigner_d_matches_explicit_sum(beta):
    d = wigner_d_small(9, beta)
    for ell in range(9):
        ref = np.array(
            [[wigner_d_explicit(ell, mp, m, beta) for m in range(-ell, ell + 1)] for mp in range(-ell, ell + 1)]
        )
        np.testing.assert_allclose(d[ell], ref, atol=1e-13)


def test_wigner_d_degree_one_closed_form():
    beta = 1.1
    c, s = np.cos(beta), np.sin(beta)
    ref = np.array(
        [
            [(1 - c) / 2, s / np.sqrt(2), (1 + c) / 2][::-1],
            [-s / np.sqrt(2), c, s / np.sqrt(2)],
            [(1 - c) / 2, -s / np.sqrt(2), (1 + c) / 2],
        ]
    )
    # rows m' = -1, 0, 1; columns m = -1, 0, 1: d^1_{-1,-1} = (1 + cos)/2, d^1_{-1,0} = sin/sqrt2, ...
    np.testing.assert_allclose(wigner_d_small(2, beta)[1], ref, atol=1e-15)


@pytest.mark.parametrize("beta", [0.05, 1.3, 3.1])
def test_wigner_d_large_degree_orthogonal_and_matches_legendre(beta):
    """At l = 255: d^l is orthogonal, and d^l_{m0}(beta) = sqrt(4 pi / (2l + 1)) Y_l^m(beta, 0)."""
    L = 256
    d = wigner_d_small(L, beta)
    top = d[L - 1]
    np.testing.assert_allclose(top @ top.T, np.eye(2 * L - 1), atol=1e-11)
    for ell in (100, 255):
        m = np.arange(0, ell + 1)
        ref = np.sqrt(4 * np.pi / (2 * ell + 1)) * special.sph_harm_y(ell, m, beta, 0.0).real
        np.testing.assert_allclose(d[ell][ell:, ell], ref, atol=1e-11)


def test_wigner_d_symmetries():
    """d^l_{m'm}(beta) = (-1)^{m - m'} d^l_{m m'}(beta) = d^l_{-m, -m'}(beta), and d(-beta) = d(beta)^T."""
    L, beta = 12, 0.8
    for ell, d in enumerate(wigner_d_small(L, beta)):
        m = np.arange(-ell, ell + 1)
        sign = (-1.0) ** (m[None, :] - m[:, None])
        np.testing.assert_allclose(d, sign * d.T, atol=1e-14)
        np.testing.assert_allclose(d, d[::-1, ::-1].T, atol=1e-14)
        np.testing.assert_allclose(wigner_d_small(L, -beta)[ell], d.T, atol=1e-14)


def direct_rotated_map(flm, R, theta, phi):
    """f(R^-1 omega) on the grid, by direct summation of SciPy's harmonics at the rotated points."""
    L = flm.shape[-1]
    tt, pp = np.meshgrid(theta, phi, indexing="ij")
    omega = np.stack([np.sin(tt) * np.cos(pp), np.sin(tt) * np.sin(pp), np.cos(tt)], axis=-1)
    v = omega @ R  # rows are R^T omega = R^-1 omega
    t2 = np.arccos(np.clip(v[..., 2], -1, 1))
    p2 = np.arctan2(v[..., 1], v[..., 0])
    out = np.zeros(tt.shape)
    for ell in range(L):
        for m in range(ell + 1):
            term = flm[ell, m] * special.sph_harm_y(ell, m, t2, p2)
            out += term.real if m == 0 else 2 * term.real
    return out


@pytest.mark.parametrize("sampling", ["gl", "dh"])
@pytest.mark.parametrize("form", ["matrix", "euler"])
def test_rotation_is_active_against_direct_evaluation(sampling, form, rng):
    L = 7
    flm = random_flm(rng, L)
    R = random_rotation(rng)
    rotation = R if form == "matrix" else np.array(euler_from_matrix(R))
    theta, phi, _ = sampling_grid(L, sampling)
    np.testing.assert_allclose(
        inverse_sht(rotate_flm(flm, rotation), L, sampling), direct_rotated_map(flm, R, theta, phi), atol=1e-12
    )


def linear_flm(a, L=3):
    """Coefficients of f(omega) = a . omega: f_10 = sqrt(4 pi / 3) a_z, f_11 = sqrt(2 pi / 3) (-a_x + i a_y)."""
    flm = np.zeros((L, L), complex)
    flm[1, 0] = np.sqrt(4 * np.pi / 3) * a[2]
    flm[1, 1] = np.sqrt(2 * np.pi / 3) * (-a[0] + 1j * a[1])
    return flm


def test_degree_one_rotates_like_the_matrix(rng):
    """(R f)(omega) = a . R^-1 omega = (R a) . omega."""
    a = rng.standard_normal(3)
    R = random_rotation(rng)
    np.testing.assert_allclose(rotate_flm(linear_flm(a), R), linear_flm(R @ a), atol=1e-14)


def test_composition_and_inverse(rng):
    L = 24
    flm = random_flm(rng, L, (2,))
    R1, R2 = random_rotation(rng), random_rotation(rng)
    np.testing.assert_allclose(rotate_flm(rotate_flm(flm, R2), R1), rotate_flm(flm, R1 @ R2), atol=1e-12)
    np.testing.assert_allclose(rotate_flm(rotate_flm(flm, R1), R1.T), flm, atol=1e-12)


def test_rotation_of_maps_matches_forward_transform(rng):
    """Rotate in harmonic space vs. rotating the synthesized map and transforming it back (DH grid)."""
    L = 6
    flm = random_flm(rng, L)
    R = random_rotation(rng)
    theta, phi, _ = sampling_grid(L, "dh")
    np.testing.assert_allclose(forward_sht(direct_rotated_map(flm, R, theta, phi), L, "dh"),
                               rotate_flm(flm, R), atol=1e-12)


def test_batch_and_z_rotation(rng):
    L = 10
    flm = random_flm(rng, L, (2, 3))
    alpha = 0.7
    expected = flm * np.exp(-1j * np.arange(L) * alpha)
    np.testing.assert_allclose(rotate_flm(flm, (alpha, 0.0, 0.0)), expected, atol=1e-14)
    np.testing.assert_allclose(rotate_flm(flm, (0.3, 0.0, alpha - 0.3)), expected, atol=1e-14)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    L=st.integers(1, 20),
)
def test_rotation_is_unitary_per_degree(seed, L):
    """Rotations preserve the power of every degree: sum_m |f_lm|^2 (m < 0 included)."""
    rng = np.random.default_rng(seed)
    flm = random_flm(rng, L)
    out = rotate_flm(flm, random_rotation(rng))

    def power(c):
        return np.abs(c[:, 0]) ** 2 + 2 * (np.abs(c[:, 1:]) ** 2).sum(axis=1)

    np.testing.assert_allclose(power(out), power(flm), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("angles", [(0.1, 0.2, 0.3), (-2.0, 3.0, 1.0), (1.0, 0.0, 0.0), (0.5, np.pi, 0.0)])
def test_euler_matrix_round_trip_and_scipy(angles):
    R = matrix_from_euler(*angles)
    np.testing.assert_allclose(R, Rotation.from_euler("ZYZ", angles).as_matrix(), atol=1e-15)
    np.testing.assert_allclose(matrix_from_euler(*euler_from_matrix(R)), R, atol=1e-14)


def test_random_rotation_is_haar():
    """The rotation angle of a Haar rotation has CDF (w - sin w) / pi on [0, pi]."""
    rng = np.random.default_rng(7)
    Rs = [random_rotation(rng) for _ in range(2000)]
    for R in Rs[:5]:
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-14)
        assert np.isclose(np.linalg.det(R), 1.0)
    angle = np.arccos(np.clip((np.array([np.trace(R) for R in Rs]) - 1) / 2, -1, 1))
    assert stats.kstest(angle, lambda w: (w - np.sin(w)) / np.pi).pvalue > 1e-3
    z = np.array([R[:, 2] for R in Rs])  # image of the north pole: uniform on the sphere
    assert stats.kstest(z[:, 2], stats.uniform(-1, 2).cdf).pvalue > 1e-3
    np.testing.assert_array_equal(random_rotation(3), random_rotation(np.random.default_rng(3)))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: rotate_flm(np.zeros((3, 3)), np.eye(3) * 2), ValueError, "rotation matrix"),
        (lambda: rotate_flm(np.zeros((3, 3)), np.diag([1.0, 1.0, -1.0])), ValueError, "determinant"),
        (lambda: rotate_flm(np.zeros((3, 3)), (1.0, 2.0)), ValueError, "Euler angles"),
        (lambda: rotate_flm(np.zeros((3, 4)), (1.0, 2.0, 3.0)), ValueError, r"shape \(\.\.\., L, L\)"),
        (lambda: rotate_flm(np.zeros((3, 3)), (1.0, np.nan, 3.0)), ValueError, "beta must be finite"),
        (lambda: wigner_d_small(0, 0.1), ValueError, "L must be"),
        (lambda: wigner_d_small(3, "a"), TypeError, "beta must be a real number"),
        (lambda: matrix_from_euler(0.0, np.inf, 0.0), ValueError, "beta must be finite"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
