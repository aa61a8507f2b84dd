"""Canonical frames of spherical maps (``scatter.sphere.frames``).

Oracles: moments by direct Gauss-Legendre quadrature (SciPy's nodes and ``sph_harm_y``), closed forms of
polynomial bumps at a known direction (their axes by symmetry), the tensor law of the moments, exact maps
evaluated at the stereographic preimages of the pixels, and ``rotate_flm`` map by map.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special
from scipy.spatial.transform import Rotation

from scatter.sphere import cross_spectra, forward_sht, random_rotation, rotate_flm, sampling_grid
from scatter.sphere.frames import canonical_frame, moment_tensors, rotate_to_frames, stereographic_patch


def random_flm(rng, L, batch=()):
    flm = rng.standard_normal((*batch, L, L)) + 1j * rng.standard_normal((*batch, L, L))
    flm = np.tril(flm)
    flm[..., 0] = flm[..., 0].real
    return flm


def gl_points(L):
    """Gauss-Legendre nodes (SciPy) and longitudes: unit vectors (3, L, 2L-1) and quadrature weights (L, 2L-1)."""
    x, w = special.roots_legendre(L)
    theta = np.arccos(x)
    phi = 2 * np.pi * np.arange(2 * L - 1) / (2 * L - 1)
    theta, phi = np.meshgrid(theta, phi, indexing="ij")
    omega = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    return omega, theta, phi, np.broadcast_to(w[:, None] * 2 * np.pi / (2 * L - 1), theta.shape)


def synthesise(flm, theta, phi):
    """Real map of coefficients ``flm`` at (theta, phi), by SciPy's spherical harmonics."""
    out = np.zeros(theta.shape)
    L = flm.shape[-1]
    for ell in range(L):
        out += (flm[ell, 0] * special.sph_harm_y(ell, 0, theta, phi)).real
        for m in range(1, ell + 1):
            out += 2 * (flm[ell, m] * special.sph_harm_y(ell, m, theta, phi)).real
    return out


def map_coefficients(function, L):
    """Coefficients of a polynomial map of degree < L, by the (exact) GL quadrature of the library's grid."""
    theta, phi, _ = sampling_grid(L, "gl")
    theta, phi = np.meshgrid(theta, phi, indexing="ij")
    omega = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    return forward_sht(function(omega), L, "gl")


def test_moments_match_direct_quadrature(rng):
    L = 6
    flm = random_flm(rng, L)
    omega, theta, phi, w = gl_points(L + 3)
    f = synthesise(flm, theta, phi)
    d, M, T = moment_tensors(flm)
    np.testing.assert_allclose(d, np.einsum("iab,ab->i", omega, f * w), atol=1e-12)
    np.testing.assert_allclose(M, np.einsum("iab,jab,ab->ij", omega, omega, f * w), atol=1e-12)
    np.testing.assert_allclose(T, np.einsum("iab,jab,kab,ab->ijk", omega, omega, omega, f * w), atol=1e-12)


def test_moments_of_a_constant_map():
    flm = np.zeros((4, 4), complex)
    flm[0, 0] = np.sqrt(4 * np.pi)  # f = 1
    d, M, T = moment_tensors(flm)
    np.testing.assert_allclose(d, 0, atol=1e-13)
    np.testing.assert_allclose(M, 4 * np.pi / 3 * np.eye(3), atol=1e-13)  # int omega_i omega_j = 4 pi / 3 delta
    np.testing.assert_allclose(T, 0, atol=1e-13)


def test_moments_transform_as_tensors(rng):
    flm = random_flm(rng, 5)
    Q = random_rotation(rng)
    d, M, T = moment_tensors(flm)
    d2, M2, T2 = moment_tensors(rotate_flm(flm, Q))
    np.testing.assert_allclose(d2, Q @ d, atol=1e-12)
    np.testing.assert_allclose(M2, Q @ M @ Q.T, atol=1e-12)
    np.testing.assert_allclose(T2, np.einsum("ia,jb,kc,abc->ijk", Q, Q, Q, T), atol=1e-12)


def _skew_offset():
    """``c`` with int (1 + a)^3 (b^3 - c b) b = 0 for a = n.w, b = t.w (n, t orthonormal), in closed form.

    In coordinates a = cos(theta), b = sin(theta) cos(phi): the longitude integrals give 3 pi / 4 and pi, and
    the colatitude ones are polynomial integrals over [-1, 1].
    """
    P = np.polynomial.Polynomial
    weight = P([1, 1]) ** 3
    i4 = (weight * P([1, 0, -1]) ** 2).integ()
    i2 = (weight * P([1, 0, -1])).integ()
    return 0.75 * (i4(1) - i4(-1)) / (i2(1) - i2(-1))


def bump(n, t, spread=0.5, skew=0.2):
    """A polynomial bump centred on ``n``, spread along ``t`` (orthogonal to ``n``) and heavier towards ``+t``.

    ``(1 + a)^3 (1 + spread b^2 + skew (b^3 - c b))`` with ``a = n.w``, ``b = t.w`` and ``c`` from
    :func:`_skew_offset`: the skew term has no dipole, and the bump is symmetric under the reflection
    ``s -> -s`` (``s = n x t``), so its centre of mass is on ``n``; its second moment in the plane of ``t``
    and ``s`` is diagonal with the larger value on ``t``; its third moment along ``t`` has the sign of
    ``skew``. Degree 6.
    """
    c = _skew_offset()

    def function(omega):
        a = np.einsum("i,i...->...", n, omega)
        b = np.einsum("i,i...->...", t, omega)
        return (1 + a) ** 3 * (1 + spread * b**2 + skew * (b**3 - c * b))

    return function


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frame_of_a_bump_at_a_known_direction(seed):
    n, t = Rotation.random(random_state=seed).as_matrix().T[:2]
    flm = map_coefficients(bump(n, t), 8)
    R, scores = canonical_frame(flm, return_scores=True)
    np.testing.assert_allclose(R[2], n, atol=1e-12)
    np.testing.assert_allclose(R[0], t, atol=1e-12)
    np.testing.assert_allclose(R[1], np.cross(n, t), atol=1e-12)
    assert np.all(scores > 1e-3)


def test_frame_sign_follows_the_third_moment():
    n, t = np.array([0.0, 0.0, -1.0]), np.array([1.0, 0.0, 0.0])
    R_plus = canonical_frame(map_coefficients(bump(n, t, skew=0.2), 8))
    R_minus = canonical_frame(map_coefficients(bump(n, t, skew=-0.2), 8))
    np.testing.assert_allclose(R_plus[0], t, atol=1e-12)
    np.testing.assert_allclose(R_minus[0], -t, atol=1e-12)


def test_symmetric_bump_has_a_degenerate_sign():
    n, t = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    R, scores = canonical_frame(map_coefficients(bump(n, t, skew=0.0), 8), return_scores=True)
    np.testing.assert_allclose(R[2], n, atol=1e-12)
    np.testing.assert_allclose(np.abs(R[0] @ t), 1.0, atol=1e-12)  # the axis, up to its sign
    assert scores[0] > 0.1 and scores[1] > 0.01 and scores[2] < 1e-12


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_frame_is_equivariant(seed):
    rng = np.random.default_rng(seed)
    flm = random_flm(rng, 6)
    Q = random_rotation(rng)
    R = canonical_frame(flm)
    R_rotated = canonical_frame(rotate_flm(flm, Q))
    np.testing.assert_allclose(R_rotated, R @ Q.T, atol=1e-9)
    # Hence the aligned map does not depend on the rotation.
    np.testing.assert_allclose(rotate_flm(rotate_flm(flm, Q), R_rotated), rotate_flm(flm, R), atol=1e-8)


def test_frames_are_proper_rotations(rng):
    R = canonical_frame(random_flm(rng, 5, (20,)))
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), (20, 3, 3)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)


def test_aligned_map_separates_mirror_images(rng):
    flm = random_flm(rng, 6)
    mirrored = flm * (-1.0) ** np.add.outer(np.arange(6), np.arange(6))  # f(x, y, -z): l + m parity
    aligned = rotate_flm(flm, canonical_frame(flm))
    aligned_mirror = rotate_flm(mirrored, canonical_frame(mirrored))
    # The rotation invariants (cross spectra) cannot tell them apart; the aligned maps do.
    np.testing.assert_allclose(cross_spectra(mirrored[None]), cross_spectra(flm[None]), atol=1e-12)
    assert np.abs(aligned - aligned_mirror).max() > 0.1 * np.abs(aligned).max()


def test_batch_shape_is_kept(rng):
    flm = random_flm(rng, 4, (2, 3))
    R, scores = canonical_frame(flm, return_scores=True)
    assert R.shape == (2, 3, 3, 3) and scores.shape == (2, 3, 3)
    np.testing.assert_allclose(R[1, 2], canonical_frame(flm[1, 2]), atol=1e-14)


def test_degenerate_map_gets_a_rotation():
    flm = np.zeros((4, 4), complex)
    flm[0, 0] = 1.0  # a constant: every step is degenerate
    R, scores = canonical_frame(flm, return_scores=True)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
    np.testing.assert_allclose(scores, 0.0, atol=1e-12)


def test_rotate_to_frames_rotates_each_map_by_its_own_rotation(rng):
    clm = random_flm(rng, 5, (3, 2))
    frames = np.stack([random_rotation(rng) for _ in range(3)])
    out = rotate_to_frames(clm, frames)
    for b in range(3):
        np.testing.assert_allclose(out[b], rotate_flm(clm[b], frames[b]), atol=1e-14)


@pytest.mark.parametrize(
    "flm, match",
    [
        (np.zeros((4, 5)), "shape"),
        (np.zeros((3, 3)), "L >= 4"),
        (np.full((4, 4), np.nan), "non-finite"),
    ],
)
def test_bad_coefficients_raise(flm, match):
    with pytest.raises(ValueError, match=match):
        canonical_frame(flm)


def test_bad_types_raise():
    with pytest.raises(TypeError, match="flm"):
        moment_tensors(np.full((4, 4), "a"))
    with pytest.raises(TypeError, match="return_scores"):
        canonical_frame(np.zeros((4, 4)), return_scores=1)


@pytest.mark.parametrize("frames_shape", [(2, 3, 3), (3, 3), (3, 3, 2)])
def test_rotate_to_frames_rejects_mismatched_frames(frames_shape):
    with pytest.raises(ValueError, match="frames"):
        rotate_to_frames(np.zeros((3, 4, 4), complex), np.zeros(frames_shape))


def test_patch_samples_the_map_at_the_stereographic_preimages():
    def function(omega):
        x, y, z = omega
        return x + 2 * y**2 - z**3 + x * y * z

    size, h = 5, 0.4
    patch = stereographic_patch(map_coefficients(function, 6), size, h)
    u = (np.arange(size) - 2) * h
    u, v = np.meshgrid(u, u, indexing="ij")
    r2 = u**2 + v**2
    omega = np.stack([4 * u, 4 * v, 4 - r2]) / (4 + r2)  # (u, v) = 2 (x, y) / (1 + z), inverted
    np.testing.assert_allclose(np.linalg.norm(omega, axis=0), 1.0, atol=1e-14)
    np.testing.assert_allclose(patch, function(omega), atol=1e-12)


def test_patch_rotates_with_rotations_about_the_pole(rng):
    flm = random_flm(rng, 8)
    patch = stereographic_patch(flm, 6, 0.3)
    half_turn = stereographic_patch(rotate_flm(flm, (np.pi, 0.0, 0.0)), 6, 0.3)
    quarter_turn = stereographic_patch(rotate_flm(flm, (np.pi / 2, 0.0, 0.0)), 6, 0.3)
    np.testing.assert_allclose(half_turn, patch[::-1, ::-1], atol=1e-11)
    np.testing.assert_allclose(quarter_turn, np.rot90(patch), atol=1e-11)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"size": 0}, ValueError, "size"),
        ({"size": 2.5}, TypeError, "size"),
        ({"spacing": 0.0}, ValueError, "spacing"),
        ({"spacing": "1"}, TypeError, "spacing"),
        ({"spacing": np.inf}, ValueError, "spacing"),
    ],
)
def test_bad_patch_parameters_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        stereographic_patch(np.zeros((4, 4), complex), **kwargs)
