"""Distortions of ``scatter.distortions``.

Oracles: closed forms (the mode sum of the displacement-temperature relation written out by hand, zero sines on
the border, ``np.roll``, ``np.rot90``, Haar moments of SO(3)); SciPy's ``ndimage.map_coordinates``,
``ndimage.fourier_shift``, ``ndimage.rotate`` and ``ndimage.affine_transform``; finite differences
(``np.gradient``) of the displacement fields; and the empirical mean of many random fields.
"""

import numpy as np
import pytest
from scipy import ndimage

from scatter import distortions as dist

# ---------------------------------------------------------------------------------------------------------
# random diffeomorphisms: the fields


@pytest.mark.parametrize("n, cutoff", [(28, 3), (16, 5), (9, 1)])
def test_field_vanishes_on_the_border(rng, n, cutoff):
    coefficients = dist.diffeo_coefficients(20, 0.01, cutoff, random_state=rng)
    tau = dist.diffeo_field(coefficients, n)
    assert tau.shape == (20, 2, n, n)
    scale = np.abs(tau).max()
    assert scale > 0
    for edge in (tau[..., 0, :], tau[..., -1, :], tau[..., :, 0], tau[..., :, -1]):
        np.testing.assert_allclose(edge, 0.0, atol=1e-13 * scale)


def test_coefficients_keep_only_the_modes_inside_the_disc(rng):
    # c = 3: modes with sqrt(i^2 + j^2) < 3.5, i.e. all (i, j) in {1, 2, 3}^2 but (2, 3), (3, 2), (3, 3).
    c = dist.diffeo_coefficients(50, 1.0, 3, random_state=rng)
    zero = np.zeros((3, 3), bool)
    zero[1, 2] = zero[2, 1] = zero[2, 2] = True
    assert np.all(c[:, :, zero] == 0)
    assert np.all(c[:, :, ~zero] != 0)


def test_coefficient_variances_are_T_over_i2_plus_j2():
    T = 0.3
    c = dist.diffeo_coefficients(20000, T, 3, random_state=5)
    i, j = np.meshgrid([1, 2, 3], [1, 2, 3], indexing="ij")
    expected = np.where(i**2 + j**2 < 3.5**2, T / (i**2 + j**2), 0.0)
    np.testing.assert_allclose(c.var(axis=(0, 1)), expected, rtol=0.05)


def test_zero_temperature_is_the_identity(rng):
    x = rng.random((4, 12, 12))
    np.testing.assert_array_equal(dist.random_diffeo(x, 0.0, 3, random_state=0), x)
    np.testing.assert_allclose(dist.random_diffeo(x, 0.0, 3, order=3, random_state=0), x, atol=1e-12)
    signals = rng.random((3, 20))
    np.testing.assert_array_equal(dist.time_warp(signals, 0.0, 4, random_state=0), signals)


def test_seed_makes_draws_reproducible(rng):
    x = rng.random((5, 16, 16))
    a = dist.random_diffeo(x, 1e-3, 3, random_state=7)
    b = dist.random_diffeo(x, 1e-3, 3, random_state=7)
    c = dist.random_diffeo(x, 1e-3, 3, random_state=8)
    d = dist.random_diffeo(x, 1e-3, 3, random_state=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, d)
    assert not np.allclose(a, c)
    s = rng.random((2, 30))
    np.testing.assert_array_equal(
        dist.time_warp(s, 1e-3, 3, random_state=1), dist.time_warp(s, 1e-3, 3, random_state=1)
    )


def test_every_image_gets_its_own_field(rng):
    x = np.repeat(rng.random((1, 16, 16)), 3, axis=0)
    y = dist.random_diffeo(x, 1e-3, 3, random_state=0)
    assert not np.allclose(y[0], y[1])
    assert dist.random_diffeo(x.reshape(3, 1, 16, 16), 1e-3, 3, random_state=0).shape == (3, 1, 16, 16)


def _mode_sum_by_hand(cutoff):
    return sum(1 / (i * i + j * j) for i in range(1, 20) for j in range(1, 20) if i * i + j * j < (cutoff + 0.5) ** 2)


@pytest.mark.parametrize("n, cutoff", [(28, 3), (16, 2), (32, 5)])
def test_temperature_formula(n, cutoff):
    delta = 0.6
    expected = 2 * delta**2 / ((n - 1) ** 2 * _mode_sum_by_hand(cutoff))
    assert dist.temperature_for_displacement(delta, n, cutoff) == pytest.approx(expected, rel=1e-12)
    assert dist.typical_displacement(expected, n, cutoff) == pytest.approx(delta, rel=1e-12)


def test_mode_sum_of_cutoff_3():
    # 1/2 + 2/5 + 1/8 + 2/10: the modes (1,1), (1,2), (2,1), (2,2), (1,3), (3,1).
    assert _mode_sum_by_hand(3) == pytest.approx(1.225)
    assert dist.temperature_for_displacement(1.0, 28, 3) == pytest.approx(2 / (27**2 * 1.225))


@pytest.mark.parametrize("n, cutoff, delta", [(28, 3, 0.6), (16, 2, 1.5), (32, 5, 0.3)])
def test_displacement_temperature_relation_holds_empirically(n, cutoff, delta):
    T = dist.temperature_for_displacement(delta, n, cutoff)
    tau = dist.diffeo_field(dist.diffeo_coefficients(1500, T, cutoff, random_state=11), n)
    measured = np.sqrt(np.mean(np.sum(tau**2, axis=1)))
    assert measured == pytest.approx(delta, rel=0.10)


@pytest.mark.parametrize("n, cutoff, delta", [(40, 3, 0.6), (64, 6, 2.0)])
def test_displacement_temperature_relation_holds_empirically_in_1d(n, cutoff, delta):
    T = dist.temperature_for_displacement(delta, n, cutoff, ndim=1)
    expected = 2 * delta**2 / (n * (n - 1) * sum(1 / i**2 for i in range(1, cutoff + 1)))
    assert T == pytest.approx(expected, rel=1e-12)
    _, tau = dist.time_warp(np.zeros((3000, n)), T, cutoff, random_state=3, return_field=True)
    assert np.sqrt(np.mean(tau**2)) == pytest.approx(delta, rel=0.10)
    np.testing.assert_allclose(tau[:, [0, -1]], 0.0, atol=1e-12)


def test_paper_approximation_is_the_large_cutoff_limit():
    # Petrini et al.: delta^2 ~ pi n^2 T ln(c) / 4; the exact mode sum differs by a constant that the log
    # outgrows, so the ratio of the two temperatures tends to 1 as c grows (slowly).
    n = 1000
    ratios = [
        dist.temperature_for_displacement(1.0, n, c) / (4 / (np.pi * n**2 * np.log(c))) for c in (10, 100, 400)
    ]
    assert abs(ratios[2] - 1) < abs(ratios[1] - 1) < abs(ratios[0] - 1)
    assert ratios[2] == pytest.approx(1, abs=0.2)


@pytest.mark.parametrize("n, cutoff", [(64, 3), (96, 5)])
def test_gradient_norm_against_finite_differences(rng, n, cutoff):
    coefficients = dist.diffeo_coefficients(6, 1e-4, cutoff, random_state=rng)
    tau = dist.diffeo_field(coefficients, n)
    d_rows, d_cols = np.gradient(tau, axis=(2, 3))  # pixels per pixel; second-order in the interior
    jacobian = np.stack([d_rows, d_cols], axis=-1)  # (B, a, M, N, b)
    jacobian = np.moveaxis(jacobian, 1, -2)  # (B, M, N, a, b)
    expected = np.linalg.norm(jacobian[:, 1:-1, 1:-1], ord=2, axis=(-2, -1)).reshape(6, -1).max(axis=1)
    np.testing.assert_allclose(dist.diffeo_gradient_norm(coefficients, n), expected, rtol=0.02)


def test_gradient_norm_of_a_single_mode():
    # tau_0 = n C sin(pi u) sin(pi v): d tau_0/d row = n/(n-1) C pi cos(pi u) sin(pi v), largest (C pi n/(n-1))
    # where |cos(pi u) sin(pi v)| = 1 (u = 0, v = 1/2: on the grid for odd n); the Jacobian has one non-zero
    # row, whose norm is sqrt(d_row^2 + d_col^2) = C pi n/(n-1) there.
    n, C = 33, 0.01
    coefficients = np.zeros((1, 2, 1, 1))
    coefficients[0, 0, 0, 0] = C
    assert dist.diffeo_gradient_norm(coefficients, n)[0] == pytest.approx(C * np.pi * n / (n - 1), rel=1e-12)


# ---------------------------------------------------------------------------------------------------------
# resampling


_SCIPY_MODES = {"nearest": "nearest", "zero": "grid-constant", "circular": "grid-wrap"}


@pytest.mark.parametrize("boundary", ["nearest", "zero", "circular"])
def test_bilinear_warp_against_map_coordinates(rng, boundary):
    x = rng.random((3, 10, 13))
    tau = rng.normal(scale=2.0, size=(3, 2, 10, 13))
    out = dist.warp(x, tau, boundary=boundary)
    rows = np.arange(10)[:, None] - tau[:, 0]
    cols = np.arange(13)[None, :] - tau[:, 1]
    for b in range(3):
        expected = ndimage.map_coordinates(x[b], [rows[b], cols[b]], order=1, mode=_SCIPY_MODES[boundary])
        np.testing.assert_allclose(out[b], expected, atol=1e-12)


def test_cubic_warp_reproduces_a_smooth_image_shifted(rng):
    # A slowly varying image shifted by a constant subpixel amount, read away from the border.
    u = np.arange(32.0)
    image = np.sin(2 * np.pi * u[:, None] / 32) * np.cos(2 * np.pi * u[None, :] / 32)
    tau = np.full((2, 32, 32), 0.37)
    expected = np.sin(2 * np.pi * (u[:, None] - 0.37) / 32) * np.cos(2 * np.pi * (u[None, :] - 0.37) / 32)
    cubic = dist.warp(image, tau, order=3, boundary="circular")
    linear = dist.warp(image, tau, order=1, boundary="circular")
    assert np.abs(cubic - expected).max() < 1e-3
    assert np.abs(cubic - expected).max() < np.abs(linear - expected).max() / 5


def test_warp_keeps_float32(rng):
    x = rng.random((2, 8, 8)).astype(np.float32)
    assert dist.warp(x, np.zeros((2, 2, 8, 8))).dtype == np.float32
    assert dist.random_diffeo(x, 1e-3, 3, random_state=0).dtype == np.float32


# ---------------------------------------------------------------------------------------------------------
# symmetries


@pytest.mark.parametrize("shift", [(1, 2), (-3, 5), (0, -7), (12, 0)])
def test_integer_circular_shift_is_roll(rng, shift):
    x = rng.random((2, 9, 12))
    np.testing.assert_allclose(dist.translate(x, shift), np.roll(x, shift, axis=(1, 2)), atol=1e-12)


def test_per_image_shifts(rng):
    x = rng.random((3, 8, 8))
    shifts = np.array([[1, 0], [0, 2], [-1, -1]])
    out = dist.translate(x, shifts)
    for b in range(3):
        np.testing.assert_allclose(out[b], np.roll(x[b], shifts[b], axis=(0, 1)), atol=1e-12)


@pytest.mark.parametrize("shape", [(16, 16), (9, 11)])
def test_subpixel_circular_shift_against_scipy_fourier_shift(rng, shape):
    x = rng.random(shape)
    shift = (0.3, -1.7)
    expected = np.fft.ifftn(ndimage.fourier_shift(np.fft.fftn(x), shift)).real
    np.testing.assert_allclose(dist.translate(x, shift), expected, atol=1e-12)


def test_subpixel_circular_shifts_compose(rng):
    x = rng.random((15, 15))  # odd: no Nyquist frequency, the shifts are unitary and compose exactly
    back = dist.translate(dist.translate(x, (0.4, 2.25)), (-0.4, -2.25))
    np.testing.assert_allclose(back, x, atol=1e-12)


def test_integer_zero_padded_shift(rng):
    x = rng.random((6, 7))
    expected = np.zeros_like(x)
    expected[2:, :4] = x[:-2, 3:]
    np.testing.assert_array_equal(dist.translate(x, (2, -3), boundary="zero"), expected)


def test_subpixel_zero_padded_shift_against_map_coordinates(rng):
    x = rng.random((8, 8))
    out = dist.translate(x, (0.5, 1.25), boundary="zero")
    rows, cols = np.meshgrid(np.arange(8) - 0.5, np.arange(8) - 1.25, indexing="ij")
    np.testing.assert_allclose(out, ndimage.map_coordinates(x, [rows, cols], order=1, mode="grid-constant"))


@pytest.mark.parametrize("n", [8, 9])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_rotation_by_quarter_turns_is_rot90(rng, n, k):
    x = rng.random((2, n, n))
    np.testing.assert_allclose(dist.rotate(x, 90 * k), np.rot90(x, k, axes=(1, 2)), atol=1e-12)
    np.testing.assert_allclose(dist.rotate(x, -90 * k), np.rot90(x, -k, axes=(1, 2)), atol=1e-12)


@pytest.mark.parametrize("angle", [17.0, -33.0, 120.0])
def test_rotation_against_scipy(rng, angle):
    x = rng.random((11, 11))
    expected = ndimage.rotate(x, angle, reshape=False, order=1, mode="grid-constant")
    np.testing.assert_allclose(dist.rotate(x, angle), expected, atol=1e-12)


def test_per_image_angles(rng):
    x = rng.random((2, 8, 8))
    out = dist.rotate(x, [90, 180])
    np.testing.assert_allclose(out[0], np.rot90(x[0]), atol=1e-12)
    np.testing.assert_allclose(out[1], np.rot90(x[1], 2), atol=1e-12)


@pytest.mark.parametrize("scale", [0.7, 1.0, 1.6])
def test_dilation_against_affine_transform(rng, scale):
    x = rng.random((10, 12))
    centre = np.array([4.5, 5.5])
    expected = ndimage.affine_transform(
        x, np.eye(2) / scale, offset=centre - centre / scale, order=1, mode="grid-constant"
    )
    np.testing.assert_allclose(dist.dilate(x, scale), expected, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# noise and rotations of the sphere


def test_matched_noise_has_the_norm_of_the_distortion(rng):
    x = rng.random((6, 10, 10))
    deformed = dist.random_diffeo(x, 5e-3, 3, random_state=1)
    noisy = dist.matched_noise(x, deformed, random_state=2)
    np.testing.assert_allclose(
        np.linalg.norm((noisy - x).reshape(6, -1), axis=1), np.linalg.norm((deformed - x).reshape(6, -1), axis=1)
    )
    np.testing.assert_array_equal(noisy, dist.matched_noise(x, deformed, random_state=2))


def test_matched_noise_is_white():
    x = np.zeros((200, 16, 16))
    noisy = dist.matched_noise(x, x + 1.0, random_state=0)  # ||eta|| = 16 per image: variance 1 per pixel
    assert abs(noisy.mean()) < 0.01
    assert np.mean(noisy**2) == pytest.approx(1.0, rel=1e-12)
    correlation = np.mean(noisy[:, :, 1:] * noisy[:, :, :-1])
    assert abs(correlation) < 0.02


def test_random_rotations_are_haar_distributed():
    R = dist.random_rotations(20000, random_state=0)
    np.testing.assert_allclose(R @ np.swapaxes(R, 1, 2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0)
    # Haar moments: E[R] = 0, E[R_ij^2] = 1/3, E[trace R] = 0 (and E[trace^2] = 1).
    np.testing.assert_allclose(R.mean(axis=0), 0.0, atol=0.02)
    np.testing.assert_allclose((R**2).mean(axis=0), 1 / 3, atol=0.02)
    assert np.mean(np.trace(R, axis1=1, axis2=2) ** 2) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("angle", [0.0, 30.0, 90.0, 180.0])
def test_rotations_by_angle(angle):
    R = dist.rotations_by_angle(angle, 500, random_state=0)
    np.testing.assert_allclose(R @ np.swapaxes(R, 1, 2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0)
    cos = np.clip((np.trace(R, axis1=1, axis2=2) - 1) / 2, -1, 1)
    np.testing.assert_allclose(np.degrees(np.arccos(cos)), angle, atol=1e-5)
    if 0 < angle < 180:
        # The axis is the fixed direction of R, (R - R^T) / 2 = sin(theta) K; uniform axes average to zero.
        axes = np.stack([R[:, 2, 1] - R[:, 1, 2], R[:, 0, 2] - R[:, 2, 0], R[:, 1, 0] - R[:, 0, 1]], axis=1)
        axes /= np.linalg.norm(axes, axis=1, keepdims=True)
        np.testing.assert_allclose(np.einsum("bij,bj->bi", R, axes), axes, atol=1e-12)
        assert np.linalg.norm(axes.mean(axis=0)) < 0.15


def test_rotate_sphere_pairs_signals_with_rotations(rng):
    points = rng.normal(size=(4, 10, 3))
    R = dist.random_rotations(4, random_state=1)
    out = dist.rotate_sphere(points, R, lambda p, M: p @ M.T)
    for b in range(4):
        np.testing.assert_allclose(out[b], points[b] @ R[b].T)
    np.testing.assert_allclose(dist.rotate_sphere(points, np.eye(3), lambda p, M: p @ M.T), points)


@pytest.mark.parametrize(
    "rotations, rotate, error, match",
    [
        (np.eye(3), "not callable", TypeError, "rotate"),
        (np.diag([1.0, 1.0, -1.0]), lambda p, M: p, ValueError, "rotation matrices"),
        (np.eye(3)[:2], lambda p, M: p, ValueError, "rotations"),
        (np.eye(3), lambda p, M: p[:1], ValueError, "rotate returned"),
    ],
)
def test_rotate_sphere_validation(rotations, rotate, error, match):
    with pytest.raises(error, match=match):
        dist.rotate_sphere(np.zeros((2, 5, 3)), rotations, rotate)


# ---------------------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x: dist.random_diffeo(x, -1.0, 3), ValueError, "temperature"),
        (lambda x: dist.random_diffeo(x, float("nan"), 3), ValueError, "temperature"),
        (lambda x: dist.random_diffeo(x, "hot", 3), TypeError, "temperature"),
        (lambda x: dist.random_diffeo(x, 1e-3, 0), ValueError, "cutoff"),
        (lambda x: dist.random_diffeo(x, 1e-3, 15), ValueError, "cutoff must be at most n - 2 = 14"),
        (lambda x: dist.random_diffeo(x, 1e-3, 2.5), TypeError, "cutoff"),
        (lambda x: dist.random_diffeo(x, 1e-3, 3, order=2), ValueError, "order"),
        (lambda x: dist.random_diffeo(x, 1e-3, 3, boundary="mirror"), ValueError, "boundary"),
        (lambda x: dist.random_diffeo(x, 1e-3, 3, random_state="seed"), TypeError, "random_state"),
        (lambda x: dist.random_diffeo(x, 1e-3, 3, random_state=-1), ValueError, "random_state"),
        (lambda x: dist.random_diffeo(x[:, :, :10], 1e-3, 3), ValueError, "square"),
        (lambda x: dist.random_diffeo(x + 1j, 1e-3, 3), TypeError, "real"),
        (lambda x: dist.random_diffeo(np.full_like(x, np.nan), 1e-3, 3), ValueError, "non-finite"),
        (lambda x: dist.random_diffeo(x.astype(str), 1e-3, 3), TypeError, "numeric"),
        (lambda x: dist.warp(x, np.zeros((2, 2, 16, 15))), ValueError, "displacement must have shape"),
        (lambda x: dist.translate(x, (1, 2, 3)), ValueError, "shift"),
        (lambda x: dist.translate(x, np.zeros((3, 2))), ValueError, "shift"),
        (lambda x: dist.translate(x, (1, 2), boundary="nearest"), ValueError, "boundary"),
        (lambda x: dist.rotate(x, [1.0, 2.0, 3.0]), ValueError, "angle"),
        (lambda x: dist.dilate(x, 0.0), ValueError, "scale"),
        (lambda x: dist.dilate(x, -2.0), ValueError, "scale"),
        (lambda x: dist.matched_noise(x, x[:1]), ValueError, "distorted"),
        (lambda x: dist.temperature_for_displacement(-0.5, 28, 3), ValueError, "delta"),
        (lambda x: dist.temperature_for_displacement(0.5, 28, 3, ndim=3), ValueError, "ndim"),
        (lambda x: dist.diffeo_coefficients(-1, 1.0, 3), ValueError, "n_fields"),
        (lambda x: dist.time_warp(np.zeros((2, 2)), 1e-3, 1), ValueError, "at least 3 samples"),
        (lambda x: dist.random_rotations(2.0), TypeError, "n"),
    ],
)
def test_invalid_parameters_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call(np.zeros((2, 16, 16)))
