"""Fast construction of the grid filter banks: values against slow direct evaluations, caching, read-only arrays.

The references here evaluate the defining sums the obvious way, with every term: the 2D Gabor filter as the
sum of its 5 x 5 periodic images on the whole grid (the definition in ``gabor_2d``'s docstring), the 1D
periodised Gaussian over all its periods, and the l1 norm in time by a full inverse FFT (``np.fft``). The
fast code skips terms below ``exp(-60)`` of the peak (2D) or that underflow to 0 (1D) and batches its FFTs;
the results must agree to 1e-12 relative.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scatter
from scatter.grid import filters_1d, filters_2d

KYMATIO_PI = 3.1415


def rel_err(actual, expected):
    """``max |actual - expected| / max |expected|``."""
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def quadratic_form(sigma, theta, slant):
    """``R_theta diag(1, slant^2) R_theta^T / (2 sigma^2)`` written out from the rotation matrix."""
    c, s = math.cos(theta), math.sin(theta)
    rotation = np.array([[c, -s], [s, c]])
    return rotation @ np.diag([1.0, slant**2]) @ rotation.T / (2 * sigma**2)


def gabor_reference(M, N, sigma, theta, xi, slant):
    """The periodic Gabor filter summed over all 5 x 5 periodic images of the whole grid, every term kept."""
    q = quadratic_form(sigma, theta, slant)
    images = np.arange(-2, 3)
    u = (np.arange(M)[:, None] + M * images[None, :])[:, None, :, None]
    v = (np.arange(N)[:, None] + N * images[None, :])[None, :, None, :]
    quad = q[0, 0] * u**2 + 2 * q[0, 1] * u * v + q[1, 1] * v**2
    terms = np.exp(-quad + 1j * xi * (math.cos(theta) * u + math.sin(theta) * v))
    return terms.sum(axis=(2, 3)) / (2 * KYMATIO_PI * sigma**2 / slant)


def morlet_reference(M, N, sigma, theta, xi, slant):
    wave = gabor_reference(M, N, sigma, theta, xi, slant)
    envelope = gabor_reference(M, N, sigma, theta, 0.0, slant)
    return wave - wave.sum() / envelope.sum() * envelope


def crop_reference(h_hat, res):
    """Lowest ``M / 2^res x N / 2^res`` frequencies in FFT order, by their signed indices."""
    M, N = h_hat.shape
    rows = np.rint(np.fft.fftfreq(M >> res) * (M >> res)).astype(int) % M
    cols = np.rint(np.fft.fftfreq(N >> res) * (N >> res)).astype(int) % N
    return h_hat[np.ix_(rows, cols)]


# -------------------------------------------------------------------------------------------------------
# 2D: spatial filters
# -------------------------------------------------------------------------------------------------------

#: (M, N, sigma, theta, slant, xi): small and wide envelopes, elongated ones (slant 0.5) at several angles,
#: and envelopes as wide as the grid (sigma / slant = 16 on 16 x 24), where every periodic image counts.
GABOR_CASES = [
    (32, 32, 0.8, 0.0, 0.5, 3 * np.pi / 4),
    (32, 24, 1.6, 0.7, 0.5, 3 * np.pi / 8),
    (40, 40, 3.2, 2.3, 0.5, 3 * np.pi / 16),
    (24, 40, 2.0, np.pi / 2, 1.0, 0.0),
    (16, 24, 8.0, 1.1, 0.5, 0.3),
    (48, 16, 5.0, 3.0, 0.75, 0.1),
]


@pytest.mark.parametrize("M, N, sigma, theta, slant, xi", GABOR_CASES)
def test_gabor_2d_matches_sum_over_all_periodic_images(M, N, sigma, theta, slant, xi):
    expected = gabor_reference(M, N, sigma, theta, xi, slant)
    assert rel_err(filters_2d.gabor_2d(M, N, sigma, theta, xi, slant), expected) <= 1e-13


@pytest.mark.parametrize("M, N, sigma, theta, slant, xi", [c for c in GABOR_CASES if c[-1]])
def test_morlet_2d_matches_direct_evaluation(M, N, sigma, theta, slant, xi):
    expected = morlet_reference(M, N, sigma, theta, xi, slant)
    assert rel_err(filters_2d.morlet_2d(M, N, sigma, theta, xi, slant), expected) <= 1e-13


def test_morlet_2d_writes_into_out():
    out = np.full((32, 24), np.nan, np.complex128)
    result = filters_2d.morlet_2d(32, 24, 1.6, 0.7, 1.0, 0.5, out=out)
    assert result is out
    assert rel_err(out, morlet_reference(32, 24, 1.6, 0.7, 1.0, 0.5)) <= 1e-13


@settings(max_examples=40, deadline=None)
@given(
    M=st.integers(4, 24),
    N=st.integers(4, 24),
    sigma=st.floats(0.3, 6.0),
    theta=st.floats(0.0, math.pi),
    slant=st.floats(0.25, 1.0),
    threshold=st.floats(1.0, 80.0),
)
def test_ellipse_points_hold_every_lattice_point_below_threshold(M, N, sigma, theta, slant, threshold):
    # Property: the enumeration holds every lattice point of [-2M, 3M) x [-2N, 3N) with Q(u, v) <= threshold,
    # once, and each point's cell is (u mod M, v mod N).
    q = quadratic_form(sigma, theta, slant)
    u, v, cell = filters_2d._ellipse_points(q, M, N, threshold)
    uu, vv = np.meshgrid(np.arange(-2 * M, 3 * M), np.arange(-2 * N, 3 * N), indexing="ij")
    inside = q[0, 0] * uu**2 + 2 * q[0, 1] * uu * vv + q[1, 1] * vv**2 <= threshold
    listed = set(zip(u.astype(int).tolist(), v.astype(int).tolist()))
    assert len(listed) == u.size
    assert set(zip(uu[inside].tolist(), vv[inside].tolist())) <= listed
    assert all(-2 * M <= a < 3 * M and -2 * N <= b < 3 * N for a, b in listed)
    np.testing.assert_array_equal(cell, (u.astype(int) % M) * N + v.astype(int) % N)


# -------------------------------------------------------------------------------------------------------
# 2D: the bank
# -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("M, N, J, L", [(40, 24, 3, 6), (32, 32, 2, 4)])
def test_filter_bank_2d_matches_direct_evaluation(M, N, J, L):
    bank = filters_2d.filter_bank_2d(M, N, J, L)
    for n, psi in enumerate(bank["psi"]):
        j, theta = divmod(n, L)
        angle = (L // 2 - 1 - theta) * np.pi / L
        spectrum = np.fft.fft2(morlet_reference(M, N, 0.8 * 2**j, angle, 0.75 * np.pi / 2**j, 4 / L)).real
        for r, level in enumerate(psi["levels"]):
            assert rel_err(level, crop_reference(spectrum, r)) <= 1e-12, (n, r)
    spectrum = np.fft.fft2(gabor_reference(M, N, 0.8 * 2 ** (J - 1), 0.0, 0.0, 1.0)).real
    for r, level in enumerate(bank["phi"]["levels"]):
        assert rel_err(level, crop_reference(spectrum, r)) <= 1e-12, r


def test_filter_bank_2d_in_several_fft_batches_matches_one(monkeypatch):
    one = filters_2d.filter_bank_2d(32, 16, 2, 3)
    monkeypatch.setattr(filters_2d, "_FFT_BATCH_SAMPLES", 2 * 32 * 16)
    filters_2d._cached_filter_bank_2d.cache_clear()
    try:
        batched = filters_2d._cached_filter_bank_2d(32, 16, 2, 3)
    finally:
        filters_2d._cached_filter_bank_2d.cache_clear()
    for a, b in zip(one["psi"] + [one["phi"]], batched["psi"] + [batched["phi"]]):
        for x, y in zip(a["levels"], b["levels"]):
            assert rel_err(y, x) <= 1e-15


def _all_levels_2d(bank):
    return [lvl for p in bank["psi"] for lvl in p["levels"]] + list(bank["phi"]["levels"])


def _all_levels_1d(bank):
    return [lvl for key in ("psi1", "psi2") for p in bank[key] for lvl in p["levels"]] + list(bank["phi"]["levels"])


def test_filter_bank_2d_arrays_are_read_only():
    bank = filters_2d.filter_bank_2d(32, 32, 2, 4)
    for level in _all_levels_2d(bank):
        assert not level.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        bank["psi"][0]["levels"][0][0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        bank["phi"]["levels"][1][:] = 0.0


def test_filter_bank_2d_is_cached_with_fresh_containers():
    first = filters_2d.filter_bank_2d(32, 32, 2, 4)
    first["psi"][0]["levels"].append("edited")
    first["phi"]["j"] = -1
    second = filters_2d.filter_bank_2d(32, 32, 2, 4)
    assert second["psi"][0]["levels"][0] is first["psi"][0]["levels"][0]
    assert len(second["psi"][0]["levels"]) == 1
    assert second["phi"]["j"] == 2


def test_scattering_2d_filters_are_read_only_and_unchanged_by_a_transform(rng):
    S = scatter.grid.Scattering2D(J=2, shape=(16, 16), L=4)
    levels = _all_levels_2d(S.filters)
    copies = [lvl.copy() for lvl in levels]
    S(rng.standard_normal((3, 16, 16)))
    S(rng.standard_normal((2, 16, 16)).astype(np.float32))
    for level, copy in zip(levels, copies):
        assert not level.flags.writeable
        np.testing.assert_array_equal(level, copy)


# -------------------------------------------------------------------------------------------------------
# 1D
# -------------------------------------------------------------------------------------------------------


def periodized_gaussian_reference(N, center, sigma, periods):
    """``mean over m in [1 - P, P - 1]`` of ``exp(-(k / N + m - center)^2 / (2 sigma^2))``, every term kept."""
    k = np.arange(N)[None, :] / N
    m = np.arange(1 - periods, periods)[:, None]
    return np.exp(-((k + m - center) ** 2) / (2 * sigma**2)).mean(axis=0)


def _periods(sigma):
    """Kymatio's number of periods: ``min(ceil(sqrt(-2 sigma^2 ln 1e-7) + 1), 5)``."""
    return min(int(math.ceil(math.sqrt(-2 * sigma**2 * math.log(1e-7)) + 1)), 5)


@pytest.mark.parametrize(
    "N, center, sigma",
    [(4096, 0.0, 0.1 / 256), (4096, 0.43, 0.016), (777, 0.25, 0.3), (64, 0.45, 1.0), (1000, 0.1, 0.01), (513, 0.9, 0.2)],
)
def test_periodized_gaussian_matches_sum_over_all_periods(N, center, sigma):
    expected = periodized_gaussian_reference(N, center, sigma, _periods(sigma))
    assert rel_err(filters_1d._periodized_gaussian(N, center, sigma), expected) <= 1e-14


@pytest.mark.parametrize("N", [64, 65, 1000, 1001])
def test_l1_norms_in_time_match_full_inverse_fft(N, rng):
    spectra = rng.standard_normal((3, N))
    expected = np.abs(np.fft.ifft(spectra, axis=-1)).sum(axis=-1)
    np.testing.assert_allclose(filters_1d._l1_norms_in_time(spectra), expected, rtol=1e-13, atol=0)


def morlet_1d_reference(N, xi, sigma):
    low = periodized_gaussian_reference(N, 0.0, sigma, _periods(sigma))
    h = low
    if xi is not None:
        gabor = periodized_gaussian_reference(N, xi, sigma, _periods(sigma))
        h = gabor - gabor[0] / low[0] * low
    return h / np.abs(np.fft.ifft(h)).sum()


@pytest.mark.parametrize("N, J, Q, T", [(2048, 6, (8, 2), 64), (1024, 3, (1, 1), 4)])
def test_filter_bank_1d_matches_direct_evaluation(N, J, Q, T):
    bank = filters_1d.filter_bank_1d(N, J, Q, T)
    for key in ("psi1", "psi2"):
        for psi in bank[key]:
            expected = morlet_1d_reference(N, psi["xi"], psi["sigma"])
            for k, level in enumerate(psi["levels"]):
                assert rel_err(level, expected.reshape(2**k, -1).mean(axis=0)) <= 1e-12
    expected = morlet_1d_reference(N, None, 0.1 / T)
    for k, level in enumerate(bank["phi"]["levels"]):
        assert rel_err(level, expected.reshape(2**k, -1).mean(axis=0)) <= 1e-12


def test_filter_bank_1d_in_several_fft_batches_matches_one(monkeypatch):
    one = filters_1d.filter_bank_1d(512, 4, (4, 1), 16)
    monkeypatch.setattr(filters_1d, "_FFT_BATCH_SAMPLES", 3 * 512)
    filters_1d._cached_filter_bank_1d.cache_clear()
    try:
        batched = filters_1d._cached_filter_bank_1d(512, 4, 4, 1, 16)
    finally:
        filters_1d._cached_filter_bank_1d.cache_clear()
    for a, b in zip(_all_levels_1d(one), _all_levels_1d(batched)):
        assert rel_err(b, a) <= 1e-15


def test_filter_bank_1d_arrays_are_read_only_and_cached():
    first = filters_1d.filter_bank_1d(512, 4, (4, 1), 16)
    for level in _all_levels_1d(first):
        assert not level.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        first["psi1"][0]["levels"][0][3] = 1.0
    first["psi2"].clear()
    second = filters_1d.filter_bank_1d(512, 4, (4, 1), 16)
    assert second["psi1"][0]["levels"][0] is first["psi1"][0]["levels"][0]
    assert len(second["psi2"]) > 0


def test_scattering_1d_filters_are_read_only_and_unchanged_by_a_transform(rng):
    S = scatter.grid.Scattering1D(J=4, shape=256, Q=4)
    levels = _all_levels_1d(S.filters)
    copies = [lvl.copy() for lvl in levels]
    S(rng.standard_normal((2, 256)))
    S(rng.standard_normal((2, 256)).astype(np.float32))
    for level, copy in zip(levels, copies):
        assert not level.flags.writeable
        np.testing.assert_array_equal(level, copy)
