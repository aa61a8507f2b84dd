"""Closed-form and oracle checks of the 2D Morlet filter bank (``scatter.grid.filters_2d``).

Expected values come from hand derivations (Poisson summation for the periodised Gaussians, direct index
constructions for the spectrum crop) or from Kymatio 0.3.0's ``filter_bank``, never from ``scatter``.

Derivation used throughout. ``gabor_2d(M, N, sigma, theta, xi, slant)`` is

    g(u) = s / (2 * 3.1415 * sigma^2) * sum_{e in {-2..2}^2} exp(-v^T Q v + i xi e_theta . v),  v = u + e*(M, N),

with ``Q = R_theta diag(1, s^2) R_theta^T / (2 sigma^2)``, ``det Q = s^2 / (4 sigma^4)`` and
``e_theta = (cos theta, sin theta)`` in (row, column) coordinates. For ``sigma / s`` small against the grid
the 5 x 5 images are the whole lattice ``Z^2`` up to ``exp(-(2M)^2 s^2 / (2 sigma^2))``, and Poisson
summation ``sum_{v in Z^2} exp(-v^T Q v + i w . v) = pi / sqrt(det Q) * sum_{m in Z^2}
exp(-(w + 2 pi m)^T Q^{-1} (w + 2 pi m) / 4)`` with ``pi / sqrt(det Q) = 2 pi sigma^2 / s`` gives the DFT

    g_hat(omega) = (pi / 3.1415) * sum_{m in Z^2} exp(-(omega - xi e_theta + 2 pi m)^T Q^{-1} (...) / 4),

``Q^{-1} = 2 sigma^2 R_theta diag(1, 1 / s^2) R_theta^T``. Its value at ``omega = 0`` with ``xi = 0`` is the
sum of the filter: ``(pi / 3.1415) * sum_m exp(-pi^2 m^T Q^{-1} m)``, which is ``pi / 3.1415`` up to a
correction below 1e-16 once ``sigma >= 2`` (and ~1e-5 at ``sigma = 0.8``).
"""

import functools
import math

import numpy as np
import pytest
from scipy import fft as sp_fft

from scatter.grid.filters_2d import (
    crop_spectrum_2d,
    filter_bank_2d,
    gabor_2d,
    littlewood_paley_2d,
    morlet_2d,
    padded_shape_2d,
)

#: The truncated value of pi that Kymatio 0.3.0 (and so ``scatter``) uses in the Gabor normalisation.
KYMATIO_PI = 3.1415

#: Poisson dual-lattice terms ``|m_i| <= 4`` are enough: the smallest ``sigma`` used here is 0.5, for which
#: the first dropped term is below ``exp(-pi^2 * 2 * 0.25 * 25) ~ 1e-54``.
_DUAL = np.arange(-4, 5)


def _inverse_quadratic(sigma, theta, slant):
    """``Q^{-1} = 2 sigma^2 R diag(1, 1 / s^2) R^T`` of the Gabor envelope (see the module docstring)."""
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    return 2.0 * sigma**2 * rotation @ np.diag([1.0, 1.0 / slant**2]) @ rotation.T


def gabor_hat_closed_form(M, N, sigma, theta, xi, slant):
    """DFT of ``gabor_2d`` by Poisson summation: a periodised Gaussian centred at ``xi e_theta``."""
    q_inv = _inverse_quadratic(sigma, theta, slant)
    w1 = 2 * np.pi * np.fft.fftfreq(M)[:, None, None, None] - xi * math.cos(theta)
    w2 = 2 * np.pi * np.fft.fftfreq(N)[None, :, None, None] - xi * math.sin(theta)
    a = w1 + 2 * np.pi * _DUAL[None, None, :, None]
    b = w2 + 2 * np.pi * _DUAL[None, None, None, :]
    quad = q_inv[0, 0] * a * a + 2 * q_inv[0, 1] * a * b + q_inv[1, 1] * b * b
    return np.pi / KYMATIO_PI * np.exp(-quad / 4).sum(axis=(2, 3))


def gabor_sum_closed_form(sigma, theta, slant):
    """Sum over the grid of ``gabor_2d(..., xi=0)``: ``(pi / 3.1415) sum_m exp(-pi^2 m^T Q^{-1} m)``."""
    q_inv = _inverse_quadratic(sigma, theta, slant)
    a, b = np.meshgrid(_DUAL, _DUAL, indexing="ij")
    quad = q_inv[0, 0] * a * a + 2 * q_inv[0, 1] * a * b + q_inv[1, 1] * b * b
    return np.pi / KYMATIO_PI * np.exp(-np.pi**2 * quad).sum()


def _closed_form_tolerance(M, N, sigma, slant):
    """Tolerance of the Poisson closed forms for filters built with 5 x 5 periodic images.

    The images cover the lattice up to a distance ``2 min(M, N)`` from the grid; the dropped Gaussian terms
    are below ``exp(-lambda_min (2 min(M, N))^2)`` with ``lambda_min = min(1, s^2) / (2 sigma^2)`` the
    smallest curvature of the envelope. A factor 100 covers their number; 1e-10 is the rounding floor.
    """
    lam = min(1.0, slant**2) / (2.0 * sigma**2)
    return max(1e-10, 100.0 * math.exp(-lam * (2 * min(M, N)) ** 2))


def _relative_error(actual, expected):
    return np.abs(actual - expected).max() / np.abs(expected).max()


# ---------------------------------------------------------------------------------------------------------
# gabor_2d and morlet_2d
# ---------------------------------------------------------------------------------------------------------

#: (sigma, theta, slant): sigma / slant <= 4 on 32 x 32 grids keeps the lattice truncation below 1e-20.
GABOR_PARAMS = [
    (0.5, 0.0, 1.0),
    (0.8, 0.0, 1.0),
    (0.8, 0.7, 0.5),
    (1.6, 2.0, 0.5),
    (2.0, np.pi / 8, 1.0),
    (3.0, 3 * np.pi / 4, 0.75),
]


@pytest.mark.parametrize("sigma, theta, slant", GABOR_PARAMS)
def test_gabor_lowpass_sum_matches_poisson_closed_form(sigma, theta, slant):
    g = gabor_2d(32, 32, sigma, theta, 0.0, slant)
    expected = gabor_sum_closed_form(sigma, theta, slant)
    assert abs(g.sum() - expected) <= 1e-13 * expected


@pytest.mark.parametrize("sigma", [2.0, 3.0, 4.0])
def test_gabor_lowpass_sums_to_pi_over_kymatio_pi(sigma):
    # For sigma >= 2 the Poisson corrections are below exp(-2 pi^2 sigma^2) < 1e-34: the sum is exactly the
    # continuous integral 2 pi sigma^2 / s divided by the normalisation 2 * 3.1415 * sigma^2 / s.
    g = gabor_2d(40, 40, sigma, 0.3, 0.0, 1.0)
    assert g.sum().real == pytest.approx(np.pi / KYMATIO_PI, rel=1e-14, abs=0)
    assert abs(g.sum().imag) <= 1e-15


@pytest.mark.parametrize("sigma, theta, slant", GABOR_PARAMS)
@pytest.mark.parametrize("xi", [0.0, 3 * np.pi / 8, 3 * np.pi / 4])
def test_gabor_spectrum_matches_periodised_gaussian(sigma, theta, slant, xi):
    M, N = 32, 24
    g_hat = sp_fft.fft2(gabor_2d(M, N, sigma, theta, xi, slant))
    expected = gabor_hat_closed_form(M, N, sigma, theta, xi, slant)
    assert _relative_error(g_hat, expected) <= 1e-12


@pytest.mark.parametrize("sigma, theta, slant", [(0.8, 0.0, 0.5), (1.6, 1.1, 0.5), (3.2, 2.5, 1.0)])
def test_morlet_has_zero_mean(sigma, theta, slant):
    psi = morlet_2d(32, 32, sigma, theta, 3 * np.pi / 4 / sigma * 0.8, slant)
    assert abs(psi.sum()) <= 1e-14 * np.abs(psi).sum()


@pytest.mark.parametrize("sigma, theta, slant", [(0.8, 0.0, 0.5), (1.6, 1.1, 0.5), (3.2, 2.5, 1.0)])
def test_morlet_spectrum_is_gabor_minus_scaled_envelope(sigma, theta, slant):
    # psi_hat = g_hat_xi - kappa g_hat_0 with kappa = g_hat_xi(0) / g_hat_0(0), both from the closed form.
    M, N = 32, 32
    xi = 0.6 * np.pi / sigma
    wave = gabor_hat_closed_form(M, N, sigma, theta, xi, slant)
    envelope = gabor_hat_closed_form(M, N, sigma, theta, 0.0, slant)
    expected = wave - wave[0, 0] / envelope[0, 0] * envelope
    psi_hat = sp_fft.fft2(morlet_2d(M, N, sigma, theta, xi, slant))
    assert _relative_error(psi_hat, expected) <= 1e-12
    assert abs(psi_hat[0, 0]) <= 1e-14 * np.abs(psi_hat).max()


@pytest.mark.parametrize(
    "kind, xi",
    # A Morlet wavelet with xi = 0 is identically zero, hence not in the list.
    [
        ("gabor", 0.0),
        ("gabor", 3 * np.pi / 8),
        ("gabor", 3 * np.pi / 4),
        ("morlet", 3 * np.pi / 8),
        ("morlet", 3 * np.pi / 4),
    ],
)
def test_filter_spectra_are_real(kind, xi):
    # g(-u) = conj(g(u)) on the periodic grid, so the DFT is real (up to the lattice truncation, ~1e-300).
    make = gabor_2d if kind == "gabor" else morlet_2d
    h_hat = sp_fft.fft2(make(32, 40, 1.2, 0.9, xi, 0.5))
    assert np.abs(h_hat.imag).max() <= 1e-14 * np.abs(h_hat.real).max()


# ---------------------------------------------------------------------------------------------------------
# crop_spectrum_2d
# ---------------------------------------------------------------------------------------------------------

#: (M, N, res) with even cropped sizes M >> res, N >> res, as on every grid the filter bank is built on.
CROP_CASES = [(8, 8, 1), (16, 12, 1), (16, 24, 2), (32, 64, 3), (64, 32, 4), (64, 64, 5)]


def _fft_order_indices(m, M):
    """Indices on an ``M`` grid of the ``m`` lowest DFT frequencies in FFT order (``0..m/2-1, -m/2..-1``)."""
    return np.rint(np.fft.fftfreq(m) * m).astype(int) % M


@pytest.mark.parametrize("M, N, res", CROP_CASES)
def test_crop_spectrum_shape(M, N, res):
    assert crop_spectrum_2d(np.zeros((M, N)), res).shape == (M >> res, N >> res)


@pytest.mark.parametrize("M, N, res", [(30, 30, 1), (12, 16, 2), (40, 24, 3)])
def test_crop_spectrum_shape_for_odd_cropped_size(M, N, res):
    assert crop_spectrum_2d(np.zeros((M, N)), res).shape == (M >> res, N >> res)


@pytest.mark.parametrize("M, N, res", [(30, 30, 1), (12, 20, 2)])
def test_crop_spectrum_odd_size_matches_kymatio(M, N, res, rng):
    from kymatio.scattering2d.filter_bank import periodize_filter_fft

    h = rng.standard_normal((M, N))
    np.testing.assert_allclose(crop_spectrum_2d(h, res), periodize_filter_fft(h, res), rtol=0, atol=1e-6)


@pytest.mark.parametrize("M, N, res", CROP_CASES)
def test_crop_spectrum_keeps_lowest_frequencies(M, N, res, rng):
    h = rng.standard_normal((M, N))
    m, n = M >> res, N >> res
    expected = h[np.ix_(_fft_order_indices(m, M), _fft_order_indices(n, N))]
    np.testing.assert_array_equal(crop_spectrum_2d(h, res), expected)


@pytest.mark.parametrize("M, N, res", CROP_CASES)
def test_crop_of_bandlimited_spectrum_is_spectrum_of_subsampled_signal(M, N, res, rng):
    # If h_hat vanishes outside the crop, h(2^r p) = (1 / (M N)) sum_k h_hat(k) e^{2 pi i k.p / (M/2^r, N/2^r)}
    # = ifft2(crop)(p) / 4^r: the cropped spectrum is the filter seen on the grid subsampled by 2^r.
    m, n = M >> res, N >> res
    h_hat = np.zeros((M, N), complex)
    rows, cols = _fft_order_indices(m, M), _fft_order_indices(n, N)
    h_hat[np.ix_(rows, cols)] = rng.standard_normal((m, n)) + 1j * rng.standard_normal((m, n))
    h = sp_fft.ifft2(h_hat)
    subsampled = h[:: 1 << res, :: 1 << res]
    np.testing.assert_allclose(sp_fft.ifft2(crop_spectrum_2d(h_hat, res)) / 4**res, subsampled, rtol=0, atol=1e-14)


@pytest.mark.parametrize("M, N, res", [(16, 16, 1), (32, 24, 2), (24, 40, 2), (64, 32, 3)])
def test_crop_matches_kymatio_periodize_filter_fft(M, N, res, rng, kymatio_numpy):
    from kymatio.scattering2d.filter_bank import periodize_filter_fft

    h = rng.standard_normal((M, N))
    np.testing.assert_allclose(crop_spectrum_2d(h, res), periodize_filter_fft(h, res), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# padded_shape_2d
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, J", [((32, 32), 2), ((33, 27), 2), ((31, 40), 3), ((16, 16), 4), ((17, 64), 2)])
def test_padded_shape_matches_kymatio(shape, J, kymatio_numpy):
    from kymatio.scattering2d.utils import compute_padding

    assert padded_shape_2d(shape, J) == tuple(compute_padding(*shape, J))


@pytest.mark.parametrize("shape, J", [((32, 32), 2), ((33, 27), 2), ((31, 40), 3), ((16, 16), 4), ((17, 64), 2)])
def test_padded_shape_leaves_a_border_of_at_least_2_to_the_J(shape, J):
    # Hand derivation: P = (floor((M + 2^J) / 2^J) + 1) 2^J is a multiple of 2^J with P - M in (2^J, 2^{J+1}],
    # and P / 2^J - 2 = floor(M / 2^J) output pixels remain after dropping one on each side.
    for size, padded in zip(shape, padded_shape_2d(shape, J)):
        assert padded % 2**J == 0
        assert 2**J < padded - size <= 2 ** (J + 1)
        assert padded // 2**J - 2 == size // 2**J


# ---------------------------------------------------------------------------------------------------------
# filter_bank_2d: structure, closed forms and agreement with Kymatio
# ---------------------------------------------------------------------------------------------------------

#: (M, N, J, L) grids, multiples of 2^J as the bank requires.
BANK_CONFIGS = [(32, 32, 2, 8), (40, 24, 3, 6), (64, 48, 3, 8), (16, 16, 1, 4), (48, 32, 4, 8)]


@functools.lru_cache(maxsize=None)
def _bank(M, N, J, L):
    return filter_bank_2d(M, N, J, L)


@functools.lru_cache(maxsize=None)
def _kymatio_bank(M, N, J, L):
    pytest.importorskip("kymatio.numpy")
    from kymatio.scattering2d.filter_bank import filter_bank

    return filter_bank(M, N, J, L)


def _psi_cases():
    return [(cfg, n) for cfg in BANK_CONFIGS for n in range(cfg[2] * cfg[3])]


def _id(case):
    (M, N, J, L), n = case
    return f"{M}x{N}-J{J}-L{L}-psi{n}"


@pytest.mark.parametrize("M, N, J, L", BANK_CONFIGS)
def test_bank_structure(M, N, J, L):
    bank = _bank(M, N, J, L)
    assert (bank["J"], bank["L"], tuple(bank["shape"])) == (J, L, (M, N))
    assert len(bank["psi"]) == J * L
    assert [(p["j"], p["theta"]) for p in bank["psi"]] == [(j, t) for j in range(J) for t in range(L)]
    assert bank["phi"]["j"] == J
    assert [h.shape for h in bank["phi"]["levels"]] == [(M >> r, N >> r) for r in range(J)]


@pytest.mark.parametrize("case", _psi_cases(), ids=_id)
def test_bank_wavelet_levels(case):
    (M, N, J, L), n = case
    psi = _bank(M, N, J, L)["psi"][n]
    j = n // L
    # Levels r < min(j + 1, max(J - 1, 1)): the resolutions r = j1 < j2 = j at which the second layer applies
    # psi_j, plus r = 0 for the first layer (Kymatio's rule).
    n_levels = min(j + 1, max(J - 1, 1))
    assert [h.shape for h in psi["levels"]] == [(M >> r, N >> r) for r in range(n_levels)]
    assert all(h.dtype == np.float64 for h in psi["levels"])


@pytest.mark.parametrize("case", _psi_cases(), ids=_id)
def test_bank_wavelet_parameters_and_spectrum(case):
    # Documented design: sigma = 0.8 2^j, xi = 3 pi / 4 / 2^j, slant 4 / L, angle (floor(L/2) - 1 - theta) pi / L;
    # level 0 is the real DFT of that Morlet wavelet, i.e. the closed form above.
    (M, N, J, L), n = case
    psi = _bank(M, N, J, L)["psi"][n]
    j, theta = divmod(n, L)
    sigma, xi, angle = 0.8 * 2**j, 0.75 * np.pi / 2**j, (L // 2 - 1 - theta) * np.pi / L
    assert psi["sigma"] == pytest.approx(sigma, rel=1e-15)
    assert psi["xi"] == pytest.approx(xi, rel=1e-15)
    assert psi["angle"] == pytest.approx(angle, rel=1e-15, abs=1e-15)
    wave = gabor_hat_closed_form(M, N, sigma, angle, xi, 4.0 / L)
    envelope = gabor_hat_closed_form(M, N, sigma, angle, 0.0, 4.0 / L)
    expected = (wave - wave[0, 0] / envelope[0, 0] * envelope).real
    assert _relative_error(psi["levels"][0], expected) <= _closed_form_tolerance(M, N, sigma, 4.0 / L)


@pytest.mark.parametrize("M, N, J, L", BANK_CONFIGS)
def test_bank_lowpass_spectrum(M, N, J, L):
    sigma = 0.8 * 2 ** (J - 1)
    levels = _bank(M, N, J, L)["phi"]["levels"]
    expected = gabor_hat_closed_form(M, N, sigma, 0.0, 0.0, 1.0).real
    assert _relative_error(levels[0], expected) <= _closed_form_tolerance(M, N, sigma, 1.0)
    # phi_hat(0) = (pi / 3.1415)(1 + O(exp(-2 pi^2 sigma^2))): the low pass integrates to 1 within 3e-5.
    assert abs(levels[0][0, 0] - 1.0) <= 1e-4


@pytest.mark.parametrize("M, N, J, L", BANK_CONFIGS)
def test_bank_levels_are_crops_of_level_zero(M, N, J, L):
    bank = _bank(M, N, J, L)
    phi = bank["phi"]["levels"]
    for r in range(1, J):
        rows, cols = _fft_order_indices(M >> r, M), _fft_order_indices(N >> r, N)
        np.testing.assert_array_equal(phi[r], phi[0][np.ix_(rows, cols)])


@pytest.mark.parametrize("M, N, J, L", BANK_CONFIGS)
def test_bank_lowpass_matches_kymatio(M, N, J, L, kymatio_numpy):
    ours = _bank(M, N, J, L)["phi"]["levels"]
    theirs = _kymatio_bank(M, N, J, L)["phi"]["levels"]
    assert len(ours) == len(theirs)
    for r, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, f"level {r}"
        # Kymatio builds its filters in complex64: agreement to ~1e-7, asserted at 1e-5 of each filter's max.
        assert _relative_error(a, b) <= 1e-5, f"level {r}"


@pytest.mark.parametrize("case", _psi_cases(), ids=_id)
def test_bank_wavelet_matches_kymatio(case, kymatio_numpy):
    (M, N, J, L), n = case
    ours = _bank(M, N, J, L)["psi"][n]
    theirs = _kymatio_bank(M, N, J, L)["psi"][n]
    assert (ours["j"], ours["theta"]) == (theirs["j"], theirs["theta"])
    assert len(ours["levels"]) == len(theirs["levels"])
    for r, (a, b) in enumerate(zip(ours["levels"], theirs["levels"])):
        assert a.shape == b.shape, f"level {r}"
        assert _relative_error(a, b) <= 1e-5, f"level {r}"


@pytest.mark.parametrize("M, N, J, bad", [(30, 32, 2, "M=30"), (32, 20, 3, "N=20")])
def test_bank_rejects_grid_not_divisible_by_2_to_the_J(M, N, J, bad):
    with pytest.raises(ValueError, match=f"multiple of 2\\^J = {2**J}; got {bad}"):
        filter_bank_2d(M, N, J, 4)


@pytest.mark.parametrize(
    "J, L, error, name",
    [(0, 8, ValueError, "J"), (2.0, 8, TypeError, "J"), (True, 8, TypeError, "J"), (2, 0, ValueError, "L")],
)
def test_bank_rejects_bad_parameters(J, L, error, name):
    with pytest.raises(error, match=rf"^{name} must be"):
        filter_bank_2d(32, 32, J, L)


# ---------------------------------------------------------------------------------------------------------
# Littlewood-Paley sum
# ---------------------------------------------------------------------------------------------------------

#: Upper frame bound of Kymatio's Morlet design for L in {4, 6, 8}. The design (octave scales sigma = 0.8 2^j,
#: centre frequencies 3 pi / 4 2^-j, L orientations with slant 4 / L, a Gaussian low pass matched to the
#: coarsest scale) aims at a near-tight frame: A(omega) ~ 1, with overlaps of neighbouring Gaussians adding a
#: few percent (about 1.05 at most for J <= 6 on grids up to 256^2; exactly (pi / 3.1415)^2 at omega = 0).
#: 1.1 is the tolerance of that design, 10% above a tight frame; it is not fitted to the output of a run.
LP_UPPER = 1.1

#: Lower frame bound inside the disc |omega| <= 3 pi / 4 (up to the centre frequency xi_0 = 3 pi / 4 of the
#: finest wavelets, below the band edge): the low pass and the octave wavelets leave no hole there, A stays
#: above about 0.58 for every J, L in {4, 6, 8}. Beyond it, towards the corners (pi, pi) of the frequency
#: square, only the tails of the j = 0 wavelets reach and A drops to ~0.05 (L = 6), but stays positive.
LP_LOWER_INNER = 0.5
LP_LOWER_ALL = 0.03

LP_CONFIGS = [
    (64, 64, 3, 8),
    (64, 64, 2, 8),
    (64, 64, 4, 8),
    (64, 48, 3, 8),
    (64, 64, 3, 4),
    (64, 64, 3, 6),
    (32, 32, 1, 8),
]


def _radius(M, N):
    w1 = 2 * np.pi * np.fft.fftfreq(M)[:, None]
    w2 = 2 * np.pi * np.fft.fftfreq(N)[None, :]
    return np.hypot(w1, w2)


@pytest.mark.parametrize("M, N, J, L", LP_CONFIGS)
def test_littlewood_paley_upper_bound(M, N, J, L):
    A = littlewood_paley_2d(_bank(M, N, J, L))
    assert A.max() <= LP_UPPER


@pytest.mark.parametrize("M, N, J, L", LP_CONFIGS)
def test_littlewood_paley_lower_bound_below_band_edge(M, N, J, L):
    A = littlewood_paley_2d(_bank(M, N, J, L))
    assert A[_radius(M, N) <= 3 * np.pi / 4].min() >= LP_LOWER_INNER
    assert A.min() >= LP_LOWER_ALL


@pytest.mark.parametrize("M, N, J, L", LP_CONFIGS)
def test_littlewood_paley_at_zero_frequency(M, N, J, L):
    # Morlet wavelets have zero mean, so A(0) = phi_hat(0)^2 = (pi / 3.1415)^2 (Poisson corrections < 1e-16 for
    # the low-pass width 0.8 2^{J-1} >= 1.6; ~7e-6 relative at J = 1).
    A = littlewood_paley_2d(_bank(M, N, J, L))
    tol = 1e-12 if J >= 2 else 3e-5
    assert A[0, 0] == pytest.approx((np.pi / KYMATIO_PI) ** 2, rel=tol)


@pytest.mark.parametrize("M, N, J, L", [(32, 32, 2, 8), (40, 24, 3, 6), (16, 16, 1, 4)])
def test_littlewood_paley_matches_formula_on_kymatio_bank(M, N, J, L, kymatio_numpy):
    # A(omega) = phi_hat^2 + 1/2 sum (psi_hat(omega)^2 + psi_hat(-omega)^2), written here with explicit negated
    # frequency indices, on Kymatio's filters.
    bank = _kymatio_bank(M, N, J, L)
    neg_rows, neg_cols = (-np.arange(M)) % M, (-np.arange(N)) % N
    expected = bank["phi"]["levels"][0].astype(float) ** 2
    for psi in bank["psi"]:
        h = psi["levels"][0].astype(float)
        expected = expected + 0.5 * (h**2 + h[np.ix_(neg_rows, neg_cols)] ** 2)
    A = littlewood_paley_2d(_bank(M, N, J, L))
    assert _relative_error(A, expected) <= 1e-5
