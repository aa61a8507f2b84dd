"""Oracle and closed-form checks of the 1D Morlet filter bank (``scatter.grid.filters_1d``).

Expected values come from Kymatio 0.3.0 (``kymatio.scattering1d.filter_bank`` and ``.utils``, and the
padding its ``Scattering1D`` frontend computes), from ``np.fft``, or from hand derivations written out
next to each test; never from ``scatter`` itself.
"""

import math
import warnings

import numpy as np
import pytest

from scatter.grid.filters_1d import (
    border_indices,
    filter_bank_1d,
    filter_params_1d,
    gauss_1d,
    littlewood_paley_1d,
    max_dyadic_subsampling,
    morlet_1d,
    padding_1d,
    sigma_psi,
    temporal_support,
    xi_max,
)

kfb = pytest.importorskip("kymatio.scattering1d.filter_bank")
kutils = pytest.importorskip("kymatio.scattering1d.utils")

#: Kymatio 0.3.0's constants of the 1D bank (``ScatteringBase1D.build``).
SIGMA0 = 0.1
ALPHA = 5.0
R_PSI = math.sqrt(0.5)

BORDER_WARNING = "Signal support is too small to avoid border effects"


def rel_err(actual, expected):
    """``max |actual - expected| / max |expected|``."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


# --------------------------------------------------------------------------------------------------------
# morlet_1d / gauss_1d
# --------------------------------------------------------------------------------------------------------

# (N, xi, sigma): high and low centre frequencies, narrow and wide filters; sigma = 1.0 makes Kymatio's
# number of periods P = ceil(sqrt(2 sigma^2 ln 1e7) + 1) = 7 hit the cap of 5.
MORLET_CASES = [
    (256, 0.35, 0.14),
    (1024, 0.435, 0.0226),
    (1000, 0.1, 0.01),
    (4096, 0.01, 0.0015625),
    (777, 0.25, 0.3),
    (64, 0.45, 1.0),
    (2048, 0.002, 0.0004),
    (512, 0.0009765625, 0.00078125),
]


@pytest.mark.parametrize(("N", "xi", "sigma"), MORLET_CASES)
def test_morlet_1d_matches_kymatio(N, xi, sigma):
    expected = kfb.morlet_1d(N, xi, sigma)
    psi = morlet_1d(N, xi, sigma)
    assert psi.shape == (N,)
    assert rel_err(psi, expected) <= 1e-12


@pytest.mark.parametrize(("N", "sigma"), [(256, 0.1), (1024, 0.0015625), (1000, 0.025), (64, 1.0), (4096, 1e-4)])
def test_gauss_1d_matches_kymatio(N, sigma):
    expected = kfb.gauss_1d(N, sigma)
    phi = gauss_1d(N, sigma)
    assert rel_err(phi, expected) <= 1e-12
    assert rel_err(morlet_1d(N, None, sigma), expected) <= 1e-12


@pytest.mark.parametrize(("N", "xi", "sigma"), MORLET_CASES)
def test_morlet_1d_closed_form_properties(N, xi, sigma):
    """Zero mean, unit l1 norm in time, real spectrum, and |psi_hat| <= ||psi||_1 = 1 (triangle inequality)."""
    psi = morlet_1d(N, xi, sigma)
    assert psi.dtype == np.float64  # real in Fourier: the Gaussians are real
    # psi_hat(0) = g_xi(0) - (g_xi(0) / g_0(0)) g_0(0) = 0, up to one rounding of the ratio.
    assert abs(psi[0]) <= 8 * np.finfo(float).eps * np.abs(psi).max()
    time = np.fft.ifft(psi)
    assert np.abs(time).sum() == pytest.approx(1.0, rel=1e-12)
    # |psi_hat(w)| = |sum_t psi(t) e^{-iwt}| <= sum_t |psi(t)| = 1
    assert np.abs(psi).max() <= 1.0 + 1e-12


@pytest.mark.parametrize(("N", "sigma"), [(256, 0.1), (1024, 0.0015625), (1000, 0.025), (4096, 1e-4), (64, 0.05)])
def test_gauss_1d_unit_dc(N, sigma):
    """phi is a sampled, periodised Gaussian: non-negative in time, so sum_t phi = sum_t |phi| = 1 = phi_hat(0).

    For the low-pass widths the transform uses, sigma = 0.1 / T <= 0.1, the periods dropped from the
    periodisation are below exp(-1 / (2 sigma^2)) <= exp(-50) of the peak, so the time filter is
    non-negative to rounding.
    """
    phi = gauss_1d(N, sigma)
    time = np.fft.ifft(phi)
    assert np.abs(time.imag).max() <= 1e-15
    assert time.real.min() >= -1e-15
    assert phi[0] == pytest.approx(1.0, abs=1e-12)
    assert np.abs(phi).max() <= 1.0 + 1e-12


@pytest.mark.parametrize(("xi", "sigma"), [(0.25, 0.01), (0.125, 0.005)])
def test_morlet_1d_gabor_limit_has_unit_peak(xi, sigma):
    """For xi / sigma >= 25 the Morlet correction is exp(-xi^2 / (2 sigma^2)) < 1e-135: psi is a Gabor, whose
    modulus in time is the Gaussian envelope, so ||psi||_1 = g_hat(0) and the (on-grid) peak is exactly 1."""
    N = 4096
    psi = morlet_1d(N, xi, sigma)
    k = int(round(xi * N))
    assert k / N == xi
    assert psi[k] == pytest.approx(1.0, abs=1e-9)
    assert int(np.argmax(psi)) == k


# --------------------------------------------------------------------------------------------------------
# sigma_psi, xi_max, max_dyadic_subsampling, filter_params_1d
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("Q", [1, 2, 3, 8, 12, 16])
@pytest.mark.parametrize("xi", [0.35, 0.1, 0.003])
@pytest.mark.parametrize("r", [R_PSI, 0.5, 0.9])
def test_sigma_psi_matches_kymatio(xi, Q, r):
    assert sigma_psi(xi, Q, r) == pytest.approx(kfb.compute_sigma_psi(xi, Q, r=r), rel=1e-14)


@pytest.mark.parametrize("Q", [1, 2, 8, 12])
def test_sigma_psi_neighbours_cross_at_r(Q):
    """Gaussians exp(-(w - xi)^2 / 2 sigma^2) of centres xi, f xi and widths sigma, f sigma (f = 2^(-1/Q))
    meet where (xi - w) / sigma = (w - f xi) / (f sigma), i.e. w = 2 f xi / (1 + f); both take the value r
    there by the definition of sigma_psi."""
    xi = 0.3
    f = 2.0 ** (-1.0 / Q)
    sigma = sigma_psi(xi, Q)
    w = 2 * f * xi / (1 + f)
    upper = math.exp(-((w - xi) ** 2) / (2 * sigma**2))
    lower = math.exp(-((w - f * xi) ** 2) / (2 * (f * sigma) ** 2))
    assert upper == pytest.approx(R_PSI, rel=1e-12)
    assert lower == pytest.approx(R_PSI, rel=1e-12)


@pytest.mark.parametrize("Q", list(range(1, 21)))
def test_xi_max_matches_kymatio(Q):
    assert xi_max(Q) == pytest.approx(kfb.compute_xi_max(Q), rel=1e-15)


@pytest.mark.parametrize(("Q", "expected"), [(1, 0.35), (2, 0.35), (8, 1 / (1 + 2**0.375)), (12, 1 / (1 + 2**0.25))])
def test_xi_max_closed_form(Q, expected):
    # 1 / (1 + 2^(3/Q)) is 1/9 and 0.26 for Q = 1, 2 (below 0.35); 0.435 and 0.457 for Q = 8, 12.
    assert xi_max(Q) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("xi", "sigma", "alpha"),
    [(0.35, 0.14, 5.0), (0.1, 0.01, 5.0), (0.01, 0.001, 5.0), (0.2, 0.01, 5.0), (0.001, 1e-4, 5.0), (0.05, 0.01, 2.0),
     (0.0, 0.1 / 1024, 5.0), (0.3, 0.0, 1.0)],
)
def test_max_dyadic_subsampling_matches_kymatio_and_definition(xi, sigma, alpha):
    j = max_dyadic_subsampling(xi, sigma, alpha)
    assert isinstance(j, int)
    assert j == kfb.get_max_dyadic_subsampling(xi, sigma, alpha)
    # Definition: the largest j with b = min(xi + alpha sigma, 1/2) <= 2^-(j+1).
    b = min(xi + alpha * sigma, 0.5)
    assert b <= 2.0 ** (-(j + 1))
    assert b > 2.0 ** (-(j + 2))


@pytest.mark.parametrize("Q", [1, 2, 4, 8, 12, 16])
@pytest.mark.parametrize("J", [1, 2, 4, 6, 8, 10, 13])
def test_filter_params_1d_matches_kymatio(J, Q):
    sigma_min = SIGMA0 / 2**J
    xis, sigmas, js = filter_params_1d(sigma_min, Q)
    kxis, ksigmas, kjs = kfb.compute_params_filterbank(sigma_min, Q, ALPHA, R_PSI)
    assert len(xis) == len(kxis) and len(sigmas) == len(ksigmas)
    np.testing.assert_allclose(xis, kxis, rtol=1e-13)
    np.testing.assert_allclose(sigmas, ksigmas, rtol=1e-13)
    assert list(js) == list(kjs)


@pytest.mark.parametrize("Q", [1, 2, 8, 12])
def test_filter_params_1d_structure(Q):
    """Constant-Q region: ratios 2^(1/Q) of consecutive xi and sigma from xi_max; then Q - 1 wavelets of width
    sigma_min with centres (1 - q/Q) times the last constant-Q centre."""
    sigma_min = SIGMA0 / 2**8
    xis, sigmas, _ = filter_params_1d(sigma_min, Q)
    n_cq = len(xis) - (Q - 1)
    assert xis[0] == pytest.approx(xi_max(Q), rel=1e-15)
    assert sigmas[0] == pytest.approx(kfb.compute_sigma_psi(xi_max(Q), Q), rel=1e-14)
    for n in range(1, n_cq):
        assert xis[n - 1] / xis[n] == pytest.approx(2 ** (1 / Q), rel=1e-13)
        assert sigmas[n - 1] / sigmas[n] == pytest.approx(2 ** (1 / Q), rel=1e-13)
    # The constant-Q region stops at the first sigma <= 2^(1/Q) sigma_min.
    assert sigmas[n_cq - 1] <= sigma_min * 2 ** (1 / Q) * (1 + 1e-13)
    if n_cq > 1:
        assert sigmas[n_cq - 2] > sigma_min * 2 ** (1 / Q)
    elbow = xis[n_cq - 1]
    for q in range(1, Q):
        assert xis[n_cq - 1 + q] == pytest.approx(elbow * (1 - q / Q), rel=1e-13)
        assert sigmas[n_cq - 1 + q] == sigma_min


# --------------------------------------------------------------------------------------------------------
# temporal_support, padding_1d, border_indices
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("N", "sigma", "criterion"),
    [(1024, 0.1 / 64, 1e-3), (4096, 0.1 / 256, 1e-3), (1000, 0.1 / 16, 1e-3), (1024, 0.1 / 64, 1e-5), (777, 0.1, 1e-2)],
)
def test_temporal_support_matches_kymatio(N, sigma, criterion):
    h_hat = gauss_1d(N, sigma)
    expected = kfb.compute_temporal_support(kfb.gauss_1d(N, sigma).reshape(1, -1), criterion_amplitude=criterion)
    assert temporal_support(h_hat, criterion) == expected


@pytest.mark.parametrize(("N", "sigma"), [(64, 0.1 / 64), (256, 0.1 / 256), (100, 0.1 / 100)])
def test_temporal_support_too_small_warns_like_kymatio(N, sigma):
    with pytest.warns(UserWarning, match=BORDER_WARNING):
        expected = kfb.compute_temporal_support(kfb.gauss_1d(N, sigma).reshape(1, -1))
    with pytest.warns(UserWarning, match=BORDER_WARNING):
        got = temporal_support(gauss_1d(N, sigma))
    assert got == expected == N // 2


def _kymatio_padding(N, T):
    """Kymatio's padded length and padding, as its ``Scattering1D`` frontend computes them."""
    kymatio_numpy = pytest.importorskip("kymatio.numpy")
    S = kymatio_numpy.Scattering1D(J=1, shape=N, T=T, max_order=1)
    return S._N_padded, S.pad_left, S.pad_right


PADDING_CASES = [(1024, 64), (1000, 100), (777, 16), (4096, 256), (513, 8), (256, 2), (64, 1), (4096, 4096), (256, 256),
                 (64, 64), (3, 1), (100, 50)]


@pytest.mark.parametrize(("N", "T"), PADDING_CASES)
def test_padding_1d_matches_kymatio(N, T):
    # Kymatio (and scatter) warn when the low pass is too wide for the signal: T close to N.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = _kymatio_padding(N, T)
    kymatio_warned = any(BORDER_WARNING in str(w.message) for w in caught)
    if kymatio_warned:
        with pytest.warns(UserWarning, match=BORDER_WARNING):
            got = padding_1d(N, T)
    else:
        got = padding_1d(N, T)
    assert tuple(got) == tuple(int(v) for v in expected)
    n_padded, left, right = got
    assert n_padded & (n_padded - 1) == 0 and n_padded >= N
    assert left + right + N == n_padded
    assert (left, right) == kutils.compute_padding(n_padded, N)


@pytest.mark.parametrize(("log2_T", "J", "start", "end"), [(6, 6, 0, 1024), (4, 8, 12, 1012), (8, 3, 127, 904),
                                                             (0, 0, 5, 10), (10, 2, 1, 2), (3, 3, 0, 0)])
def test_border_indices_match_kymatio(log2_T, J, start, end):
    starts, ends = border_indices(log2_T, J, start, end)
    kstarts, kends = kutils.compute_border_indices(log2_T, J, start, end)
    assert len(starts) == len(ends) == max(log2_T, J) + 1
    assert list(starts) == [kstarts[k] for k in range(len(kstarts))]
    assert list(ends) == [kends[k] for k in range(len(kends))]


# --------------------------------------------------------------------------------------------------------
# filter_bank_1d
# --------------------------------------------------------------------------------------------------------

BANK_CASES = [
    (1024, 6, (8, 1), 64),
    (4096, 8, (12, 1), 256),
    (256, 3, (1, 1), 8),
    (2048, 5, (4, 2), 100),
    (512, 2, (2, 3), 3),
    (128, 7, (16, 4), 128),
    (8192, 9, (1, 1), 16),
    (64, 1, (1, 1), 1),
]


@pytest.mark.parametrize(("N", "J", "Q", "T"), BANK_CASES)
def test_filter_bank_1d_matches_kymatio_level_by_level(N, J, Q, T):
    bank = filter_bank_1d(N, J, Q, T)
    kphi, kpsi1, kpsi2 = kfb.scattering_filter_factory(N, J, Q, T, r_psi=R_PSI, sigma0=SIGMA0, alpha=ALPHA)
    assert bank["N"] == N and bank["J"] == J and tuple(bank["Q"]) == tuple(Q) and bank["T"] == T

    def compare(ours, theirs):
        assert ours["xi"] == pytest.approx(theirs["xi"], rel=1e-13, abs=0)
        assert ours["sigma"] == pytest.approx(theirs["sigma"], rel=1e-13)
        assert ours["j"] == theirs["j"]
        assert len(ours["levels"]) == len(theirs["levels"])
        for k, (h, kh) in enumerate(zip(ours["levels"], theirs["levels"])):
            assert h.shape == kh.shape == (N // 2**k,)
            assert rel_err(h, kh) <= 1e-12

    compare(bank["phi"], kphi)
    assert len(bank["psi1"]) == len(kpsi1)
    assert len(bank["psi2"]) == len(kpsi2)
    for ours, theirs in zip(bank["psi1"], kpsi1):
        compare(ours, theirs)
    for ours, theirs in zip(bank["psi2"], kpsi2):
        compare(ours, theirs)


@pytest.mark.parametrize(("N", "J", "Q", "T"), BANK_CASES[:4])
def test_filter_bank_levels_are_periodisations(N, J, Q, T):
    """levels[k][m] = 2^-k sum_p levels[0][m + p N / 2^k]: the spectrum of the filter decimated by 2^k in time."""
    bank = filter_bank_1d(N, J, Q, T)
    for filt in [bank["phi"], *bank["psi1"], *bank["psi2"]]:
        base = filt["levels"][0]
        time = np.fft.ifft(base)
        for k, h in enumerate(filt["levels"]):
            # Decimating h(t) by 2^k keeps samples t = 2^k n; its DFT is the mean of the 2^k spectral periods.
            expected = np.fft.fft(time[:: 2**k])
            assert np.abs(h - expected).max() <= 1e-13 * np.abs(base).max()


# --------------------------------------------------------------------------------------------------------
# Littlewood-Paley sum
# --------------------------------------------------------------------------------------------------------


def _lp_definition(bank, order):
    """A(w) = phi_hat(w)^2 + 1/2 sum_n (|psi_n(w)|^2 + |psi_n(-w)|^2), with -w at index (-k) mod N."""
    N = bank["N"]
    neg = (-np.arange(N)) % N
    total = np.abs(bank["phi"]["levels"][0]) ** 2
    for psi in bank[f"psi{order}"]:
        h = psi["levels"][0]
        total = total + 0.5 * (np.abs(h) ** 2 + np.abs(h[neg]) ** 2)
    return total


@pytest.mark.parametrize(("N", "J", "Q", "T"), BANK_CASES[:5])
@pytest.mark.parametrize("order", [1, 2])
def test_littlewood_paley_matches_definition(N, J, Q, T, order):
    bank = filter_bank_1d(N, J, Q, T)
    np.testing.assert_allclose(littlewood_paley_1d(bank, order), _lp_definition(bank, order), rtol=1e-13, atol=1e-15)


LP_N = 4096


@pytest.mark.parametrize("Q", [1, 8])
@pytest.mark.parametrize("J", [3, 6, 8])
@pytest.mark.parametrize("order", [1, 2])
def test_littlewood_paley_global_bounds(Q, J, order):
    """0 < A(w) <= 1 on every frequency, with the maximum A(0) = 1.

    Derivation. At w = 0 every Morlet vanishes (psi_hat(0) = 0) and phi_hat(0) = sum_t phi(t) = ||phi||_1 = 1
    (phi >= 0), so A(0) = 1. |phi_hat| and |psi_hat| never exceed their l1 norm 1. With T = 2^J the low pass
    has the width sigma_min of the widest wavelets, so where phi_hat^2 is large (|w| < sigma_min) the
    wavelets, centred at >~ 2.4 sigma_min (the lowest centre is the last constant-Q centre sigma / c, divided
    by Q; c = sigma / xi of sigma_psi), are small; in the band the wavelet part is about 1/2 (the factor 1/2
    of the symmetrisation times a sum of squares near 1, see below). So 1 is an upper bound attained at DC.
    Positivity: phi_hat > 0, and a Morlet g_xi - kappa g_0 vanishes only where
    -(w - xi)^2 = 2 sigma^2 ln(kappa) - w^2 = -xi^2 - w^2, i.e. at w = 0; so no frequency up to Nyquist is
    annihilated (the smallest values, ~3e-4 for Q = 8, are at Nyquist, past the highest wavelet).
    """
    bank = filter_bank_1d(LP_N, J, (Q, Q) if order == 2 else (Q, 1), 2**J)
    A = littlewood_paley_1d(bank, order)
    assert A.shape == (LP_N,)
    assert A[0] == pytest.approx(1.0, abs=1e-12)
    assert A.max() <= 1.0 + 1e-12
    assert A.min() > 0.0


def _constant_q_band(J, Q):
    """Frequencies from the lowest to the highest constant-Q centre (wavelets wider than sigma_min)."""
    sigma_min = SIGMA0 / 2**J
    xis, sigmas, _ = kfb.compute_params_filterbank(sigma_min, Q, ALPHA, R_PSI)
    cq = [xi for xi, s in zip(xis, sigmas) if s > sigma_min]
    assert len(cq) >= 2, "the configuration must have a constant-Q region"
    w = np.fft.fftfreq(LP_N)
    return (w >= min(cq)) & (w <= max(cq))


@pytest.mark.parametrize("Q", [1, 8])
@pytest.mark.parametrize("J", [3, 6, 8])
def test_littlewood_paley_constant_q_band_bounds(Q, J):
    """On the constant-Q band 1/4 <= A(w) <= 0.8 for any Q.

    Derivation (sigma_psi: neighbouring wavelets cross at r = sqrt(1/2) of their peak ~ 1). Between two
    neighbouring centres, w lies on one side of their crossing, where the wavelet of that side is >= r:
    sum_n |psi_n(w)|^2 >= r^2 = 1/2, hence A >= 1/2 * 1/2 = 1/4 (phi only adds). Above: the nearest wavelet
    contributes <= 1, the adjacent one on the far side of a crossing <= r^2 = 1/2, and the others lie beyond a
    second crossing, their Gaussian tails adding < 0.1 in total; A <= 1/2 (1 + 1/2 + 0.1) = 0.8.
    """
    bank = filter_bank_1d(LP_N, J, (Q, 1), 2**J)
    A = littlewood_paley_1d(bank, 1)
    band = _constant_q_band(J, Q)
    assert A[band].min() >= 0.25
    assert A[band].max() <= 0.8


@pytest.mark.parametrize("J", [3, 6, 8])
def test_littlewood_paley_ripple_large_q(J):
    """For large Q (here 8) neighbours have nearly equal widths (ratio 2^(1/8) = 1.09), spaced by
    Delta = 2 sqrt(ln 2) sigma (crossing at r: (Delta/2)^2 / (2 sigma^2) = ln(1/r)). For equal widths the sum of
    squares sum_m exp(-(u - m Delta)^2 / sigma^2) is 2 r^2 = 1 at the crossings (its minimum) and
    1 + 2 e^{-Delta^2/sigma^2} + 2 e^{-4 Delta^2/sigma^2} = 1 + 2/16 + 2/16^4 at the peaks (its maximum).
    So A = 1/2 of that lies in [1/2, 0.5625]; we allow 1% for the unequal widths and the Morlet correction.
    """
    bank = filter_bank_1d(LP_N, J, (8, 1), 2**J)
    A = littlewood_paley_1d(bank, 1)
    band = _constant_q_band(J, 8)
    low, high = 0.5, 0.5 * (1 + 2 / 16 + 2 / 16**4)
    assert A[band].min() >= low * 0.99
    assert A[band].max() <= high * 1.01
