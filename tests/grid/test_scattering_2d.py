"""Tests of the 2D scattering transform (``scatter.Scattering2D`` and ``scatter.grid.scattering_2d``).

Expected values come from Kymatio 0.3.0 (the oracle), from closed forms derived in the comments, or from
the transform's own output on a *different* but mathematically equivalent input (shifted, rotated, scaled,
re-laid-out in memory), never from the code under test on the same input.
"""

import functools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import ndimage

import scatter
from scatter.grid.filters_2d import filter_bank_2d, littlewood_paley_2d
from scatter.grid.scattering_2d import scattering_2d
from tests.grid.test_cascade import assert_fills_its_slice, assert_rejects_a_wrong_out
from tests.grid.test_kernels import EXTREME_POWERS_OF_TWO, with_lowpass_form

#: Relative tolerance against Kymatio in float64: Kymatio builds its filters in complex64, so the two agree to
#: ~1e-7; 1e-5 leaves two orders of magnitude of margin and still catches any wrong filter, path or padding.
KYMATIO_RTOL = 1e-5

#: float32 computations against the float64 result (the accumulated rounding of float32 FFTs is ~1e-7..1e-6).
FLOAT32_RTOL = 1e-4


def rel_err(actual, expected):
    """max |actual - expected| / max |expected|."""
    return float(np.abs(np.asarray(actual, float) - expected).max() / np.abs(expected).max())


def n_channels(J, L, max_order):
    """Closed form: 1 + J L at order 1, plus L^2 J (J - 1) / 2 order-2 paths (pairs j1 < j2, L^2 angles)."""
    return 1 + J * L + (L * L * J * (J - 1) // 2 if max_order == 2 else 0)


@functools.lru_cache(maxsize=None)
def transform(J, shape, L=8, max_order=2, out_type="array", padding="reflect"):
    """Cached ``scatter.Scattering2D`` (building a filter bank costs more than a small transform)."""
    return scatter.Scattering2D(J, shape, L=L, max_order=max_order, out_type=out_type, padding=padding)


# ---------------------------------------------------------------------------------------------------------
# 1. Oracle: Kymatio 0.3.0
# ---------------------------------------------------------------------------------------------------------

#: (shape, J, L, max_order): square, non-square, odd sizes, 2^J == min(shape), every J in 1..4, L in {4, 6, 8}.
ORACLE_CONFIGS = [
    ((32, 32), 2, 8, 2),
    ((33, 27), 2, 6, 2),
    ((64, 48), 3, 8, 2),
    ((31, 40), 3, 4, 1),
    ((16, 16), 4, 8, 2),
    ((20, 20), 1, 8, 2),
    ((17, 64), 2, 8, 2),
    ((16, 40), 4, 4, 1),
    ((24, 20), 2, 6, 1),
    ((9, 13), 3, 4, 2),
]


def _oracle_id(cfg):
    (M, N), J, L, mo = cfg
    return f"{M}x{N}-J{J}-L{L}-order{mo}"


@pytest.mark.parametrize("cfg", ORACLE_CONFIGS, ids=_oracle_id)
def test_matches_kymatio(cfg, rng, kymatio_numpy):
    shape, J, L, max_order = cfg
    x = rng.standard_normal((2,) + shape)
    expected = kymatio_numpy.Scattering2D(J=J, shape=shape, L=L, max_order=max_order)(x)
    out = transform(J, shape, L, max_order)(x)
    assert out.shape == expected.shape
    assert out.dtype == np.float64
    assert rel_err(out, expected) <= KYMATIO_RTOL


@pytest.mark.parametrize("shape, J, L", [((32, 32), 2, 8), ((24, 36), 2, 6), ((32, 24), 3, 4)])
def test_periodic_padding_matches_kymatio_pre_padded(shape, J, L, rng, kymatio_numpy):
    # Kymatio with pre_pad=True takes an image already of the padded size P and does not pad it: that is our
    # periodic mode on a P-sized image, except that Kymatio still drops one output pixel on each side.
    from kymatio.scattering2d.utils import compute_padding

    padded = tuple(compute_padding(*shape, J))
    x = rng.standard_normal((2,) + padded)
    expected = kymatio_numpy.Scattering2D(J=J, shape=shape, L=L, pre_pad=True)(x)
    out = transform(J, padded, L, padding="periodic")(x)
    assert out.shape[-2:] == (padded[0] >> J, padded[1] >> J)
    assert rel_err(out[..., 1:-1, 1:-1], expected) <= KYMATIO_RTOL


@pytest.mark.parametrize("shape, J, L", [((32, 32), 2, 8), ((33, 27), 3, 6)])
def test_list_output_matches_kymatio_list(shape, J, L, rng, kymatio_numpy):
    x = rng.standard_normal((2, 3) + shape)
    expected = kymatio_numpy.Scattering2D(J=J, shape=shape, L=L, out_type="list")(x)
    out = transform(J, shape, L, out_type="list")(x)
    assert len(out) == len(expected)
    assert [(e["j"], e["theta"], e["n"]) for e in out] == [(e["j"], e["theta"], e["n"]) for e in expected]
    assert [e["order"] for e in out] == [len(e["n"]) for e in expected]
    assert [e["coef"].shape for e in out] == [e["coef"].shape for e in expected]
    assert rel_err(np.stack([e["coef"] for e in out]), np.stack([e["coef"] for e in expected])) <= KYMATIO_RTOL


@pytest.mark.parametrize("out_type", ["list", "dict"])
def test_structured_outputs_agree_with_array(out_type, rng):
    shape, J, L = (32, 32), 2, 4
    x = rng.standard_normal((2, 3) + shape)
    array = transform(J, shape, L)(x)
    out = transform(J, shape, L, out_type=out_type)(x)
    keys = transform(J, shape, L).meta()["key"]
    if out_type == "dict":
        assert list(out) == list(keys)
        coefs = [out[k] for k in keys]
    else:
        assert [e["n"] for e in out] == list(keys)
        coefs = [e["coef"] for e in out]
    np.testing.assert_array_equal(np.stack(coefs, axis=-3), array)


@pytest.mark.parametrize("shape, J, L", [((32, 32), 2, 8), ((33, 27), 2, 6)])
def test_float32_matches_kymatio_and_float64(shape, J, L, rng, kymatio_numpy):
    x = rng.standard_normal((2,) + shape)
    out32 = transform(J, shape, L)(x.astype(np.float32))
    assert out32.dtype == np.float32
    assert rel_err(out32, transform(J, shape, L)(x)) <= FLOAT32_RTOL
    assert rel_err(out32, kymatio_numpy.Scattering2D(J=J, shape=shape, L=L)(x)) <= FLOAT32_RTOL


@pytest.mark.parametrize(
    "shape, J, padding", [((32, 32), 2, "reflect"), ((28, 36), 3, "reflect"), ((64, 48), 3, "periodic")]
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("form", ["taps", "matrices"])
def test_low_passes_in_space_equal_the_transforms(shape, J, padding, dtype, form, rng):
    """The low passes of the moduli no wavelet reads, computed in space by their taps or by matrix products,
    give the FFT route's outputs."""
    S = transform(J, shape, padding=padding)
    plans = with_lowpass_form(S._plans(np.dtype(dtype)), S.filters["phi"]["levels"], form)
    assert any(p is not None for p in plans["lowpass"])
    fft_only = dict(plans, lowpass=[None] * J)
    x = rng.standard_normal((3,) + shape).astype(dtype)
    got = scattering_2d(x, S.filters, 2, padding, 1, plans)
    expected = scattering_2d(x, S.filters, 2, padding, 1, fft_only)
    assert rel_err(got, expected) <= (1e-12 if dtype == np.float64 else 1e-6)


@pytest.mark.parametrize("padding", ["reflect", "periodic"])
def test_writes_into_the_callers_output(padding, rng):
    """``out=``: the outputs go into the given slice of a larger array, bit for bit those of a new array, and
    the rest of the array is left alone; an array of another shape or dtype is refused."""
    S = transform(2, (24, 20), padding=padding)
    x = rng.standard_normal((5, 24, 20)).astype(np.float32)
    plans = S._plans(np.dtype(np.float32))

    def compute(out=None):
        return scattering_2d(x, S.filters, 2, padding, 1, plans, out=out)

    expected = compute()
    assert_fills_its_slice(compute, expected)
    assert_rejects_a_wrong_out(compute, expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_image_gets_the_same_bits_in_any_batch(dtype, rng):
    """With pocketfft, an image's outputs do not depend on the batch it comes in, on any number of threads:
    its low passes by matrix products (one product per image) included."""
    S = scatter.Scattering2D(3, (64, 48), workers=2)
    assert sum("col_matrix" in p for p in S._plans(np.dtype(dtype))["lowpass"]) >= 2
    x = rng.standard_normal((1037, 64, 48)).astype(dtype)
    whole = S(x)
    for start, stop in [(0, 1), (5, 6), (3, 17), (511, 530), (1000, 1037)]:
        np.testing.assert_array_equal(S(x[start:stop]), whole[start:stop])


# ---------------------------------------------------------------------------------------------------------
# 2. Channel count, output shape, meta()
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cfg", ORACLE_CONFIGS, ids=_oracle_id)
def test_channel_count_and_output_shape(cfg):
    shape, J, L, max_order = cfg
    S = transform(J, shape, L, max_order)
    out = S(np.zeros(shape))
    # Kymatio's reflect padding to P = (floor(M / 2^J) + 2) 2^J, then one output pixel dropped per side:
    # M' = P / 2^J - 2 = floor(M / 2^J).
    expected = (n_channels(J, L, max_order), shape[0] // 2**J, shape[1] // 2**J)
    assert out.shape == expected
    assert (S.n_channels,) + tuple(S.output_shape) == expected


@pytest.mark.parametrize("shape, J", [((32, 32), 2), ((64, 48), 3), ((16, 16), 4)])
def test_periodic_output_shape(shape, J):
    out = transform(J, shape, 4, padding="periodic")(np.zeros(shape))
    assert out.shape == (n_channels(J, 4, 2), shape[0] >> J, shape[1] >> J)


@pytest.mark.parametrize("J, L, max_order", [(1, 8, 2), (2, 8, 2), (3, 6, 2), (4, 4, 2), (3, 8, 1)])
def test_meta_is_consistent_with_paths(J, L, max_order):
    meta = transform(J, (32, 32), L, max_order).meta()
    C = n_channels(J, L, max_order)
    n_order2 = L * L * J * (J - 1) // 2 if max_order == 2 else 0
    assert len(meta["key"]) == C
    assert meta["order"].shape == (C,)
    assert meta["j"].shape == meta["theta"].shape == meta["n"].shape == (C, max_order)
    np.testing.assert_array_equal(meta["order"], [0] + [1] * (J * L) + [2] * n_order2)
    # Order 1, in n1 = j1 L + theta1 order (Kymatio's).
    n1 = np.arange(J * L)
    np.testing.assert_array_equal(meta["j"][1 : 1 + J * L, 0], n1 // L)
    np.testing.assert_array_equal(meta["theta"][1 : 1 + J * L, 0], n1 % L)
    assert np.isnan(meta["j"][0]).all() and np.isnan(meta["theta"][0]).all()
    if max_order == 2:
        j = meta["j"][1 + J * L :]
        assert (j[:, 1] > j[:, 0]).all()
        expected_pairs = [(a, b) for a in range(J * L) for b in range(J * L) if b // L > a // L]
        assert [tuple(k) for k in meta["key"][1 + J * L :]] == expected_pairs
        pairs = np.array(expected_pairs, float).reshape(-1, 2)
        np.testing.assert_array_equal(meta["n"][1 + J * L :], pairs)
        np.testing.assert_array_equal(meta["j"][1 + J * L :], pairs // L)
        np.testing.assert_array_equal(meta["theta"][1 + J * L :], pairs % L)


@pytest.mark.parametrize("J, L, max_order", [(2, 8, 2), (3, 6, 2), (3, 8, 1)])
def test_meta_matches_list_entries(J, L, max_order):
    S = transform(J, (32, 32), L, max_order)
    meta = S.meta()
    entries = transform(J, (32, 32), L, max_order, out_type="list")(np.zeros((32, 32)))
    assert len(entries) == len(meta["key"])
    for c, entry in enumerate(entries):
        order = entry["order"]
        assert order == meta["order"][c] == len(entry["n"])
        assert tuple(entry["n"]) == tuple(meta["key"][c])
        assert entry["j"] == tuple(meta["j"][c, :order].astype(int))
        assert entry["theta"] == tuple(meta["theta"][c, :order].astype(int))
        assert np.isnan(meta["j"][c, order:]).all()


# ---------------------------------------------------------------------------------------------------------
# 3. Mathematics
# ---------------------------------------------------------------------------------------------------------

# --- Non-expansiveness -----------------------------------------------------------------------------------
#
# Let every filter be divided by a constant c. For real signals a, b on a grid G_r (resolution r, counting
# norm ||v||^2 = sum |v|^2, Parseval ||v||^2 = (1/|G_r|) sum_omega |v_hat|^2) and d = a - b:
#
# * Wavelet branch: || |a * psi| - |b * psi| || <= ||d * psi|| (|.| is 1-Lipschitz), and subsampling the result
#   by 2^(j - r) only keeps some of its samples, so its norm does not grow. For real d, |d_hat| is even and
#   ||d * psi||^2 = (1/|G_r|) sum |d_hat|^2 (psi_hat(omega)^2 + psi_hat(-omega)^2) / 2.
# * Low-pass branch, subsampled by k = 2^(J - r): the coarse spectrum is the mean over the k^2 aliases w_i of
#   d_hat(w_i) phi_hat(w_i), and Cauchy-Schwarz gives
#       k^2 ||((d * phi) subsampled)||^2 <= (1/|G_r|) sum_omega |d_hat|^2 |phi_hat(omega)| P_r(omega),
#   with P_r(omega) = sum_i |phi_hat(w_i)| the periodisation of |phi_hat| over the aliases of omega.
#
# So if B_r(omega) = |phi_hat| P_r + 1/2 sum_psi (psi_hat(omega)^2 + psi_hat(-omega)^2) (sum over the wavelets
# applied at resolution r: all at r = 0, those with j > r at r = j1 >= 1) is <= 1 on every G_r, induction over
# the layers gives, with r_c the scale of the last wavelet of channel c (0 for S_0, j1 for S_1, j2 for S_2),
#
#       sum_c 2^(2 (J - r_c)) ||S_c x - S_c y||^2 <= ||x - y||^2.
#
# The weight 2^(2(J - r_c)) is what this argument supports: the tempting 2^(2J) for every channel (the "physical" L2
# norm of the coarse grid) would need subsampling |x * psi| by 2^j1 to preserve energy, which it does not
# (|x * psi| is not band-limited), and even the low pass aliases: phi_hat(pi / 2^J) ~ 0.45, so the coherent
# "comb" below breaks the 2^(2J)-weighted inequality for a bank normalised by max A alone (see
# test_lowpass_subsampling_aliases_comb). B_r >= A because P_r >= |phi_hat|: max B ~ 1.18 for this bank.


def _scaled_bank(bank, c):
    """Copy of ``bank`` with every filter (phi and psi, all levels) divided by ``c``."""

    def scale(entry):
        return {**entry, "levels": [h / c for h in entry["levels"]]}

    return {**bank, "phi": scale(bank["phi"]), "psi": [scale(p) for p in bank["psi"]]}


def _mirror(h):
    """h(-omega) on the DFT grid of ``h``."""
    return h[np.ix_((-np.arange(h.shape[0])) % h.shape[0], (-np.arange(h.shape[1])) % h.shape[1])]


def _aliasing_littlewood_paley_max(bank):
    """max over resolutions r and frequencies of B_r (see the derivation above)."""
    J = bank["J"]
    worst = 0.0
    for r in range(J):
        phi = np.abs(bank["phi"]["levels"][r])
        m, n = phi.shape
        k = 2 ** (J - r)
        periodised = np.tile(phi.reshape(k, m // k, k, n // k).sum(axis=(0, 2)), (k, k))
        B = phi * periodised
        for psi in bank["psi"]:
            if r == 0 or psi["j"] > r:
                h = psi["levels"][r]
                B = B + 0.5 * (h**2 + _mirror(h) ** 2)
        worst = max(worst, float(B.max()))
    return worst


@functools.lru_cache(maxsize=None)
def _contractive_setup(M, J, L, max_order):
    """Bank on an M x M grid normalised so that max B_r = 1, and the channel weights 2^(2 (J - r_c))."""
    bank = filter_bank_2d(M, M, J, L)
    normalised = _scaled_bank(bank, np.sqrt(_aliasing_littlewood_paley_max(bank)))
    psi = bank["psi"]
    last_scale = [0] + [p["j"] for p in psi]
    if max_order == 2:
        last_scale += [p2["j"] for p1 in psi for p2 in psi if p2["j"] > p1["j"]]
    weights = 4.0 ** (J - np.array(last_scale, float))
    return normalised, weights


def _weighted_distances(x, y, M, J, L, max_order):
    """(sqrt(sum_c w_c ||S_c x - S_c y||^2), ||x - y||) for the normalised bank."""
    bank, weights = _contractive_setup(M, J, L, max_order)
    S = scattering_2d(np.stack([x, y]), bank, max_order, padding="periodic")
    assert S.shape[1] == weights.size
    diff = ((S[0] - S[1]) ** 2).sum(axis=(-2, -1))
    return float(np.sqrt(weights @ diff)), float(np.linalg.norm(x - y))


def assert_non_expansive(x, y, M, J, L, max_order):
    """The inequality, up to floating-point rounding.

    It holds in exact arithmetic; the computed S x and S y each carry rounding errors of order
    eps ||x|| (a few FFTs deep), which matter when x - y is tiny next to x (hypothesis finds such pairs:
    a spike of 40 and a perturbation of 2e-16). 1e-12 (||x|| + ||y||) bounds that with a wide margin.
    """
    distance_S, distance_x = _weighted_distances(x, y, M, J, L, max_order)
    rounding = 1e-12 * (np.linalg.norm(x) + np.linalg.norm(y))
    assert distance_S <= distance_x * (1 + 1e-12) + rounding
    return distance_S / distance_x


CONTRACTIVE_CONFIGS = [(16, 1, 8, 2), (16, 2, 8, 2), (16, 3, 4, 2), (16, 2, 6, 1)]

_images = hnp.arrays(np.float64, (16, 16), elements=st.floats(-100, 100, allow_nan=False, allow_infinity=False))


@pytest.mark.parametrize("M, J, L, max_order", CONTRACTIVE_CONFIGS)
@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(x=_images, d=_images, scale=st.sampled_from([1.0, 1e-2, 1e-5]))
def test_non_expansive(M, J, L, max_order, x, d, scale):
    y = x + scale * d
    assume(np.any(x != y))
    assert_non_expansive(x, y, M, J, L, max_order)


def _comb(bank):
    """Real image whose spectrum is phi_hat on the aliases of frequency 0 for subsampling by 2^J, else 0."""
    M, N = bank["shape"]
    J = bank["J"]
    spectrum = np.zeros((M, N))
    step_m, step_n = M >> J, N >> J
    spectrum[::step_m, ::step_n] = bank["phi"]["levels"][0][::step_m, ::step_n]
    return np.fft.ifft2(spectrum).real, spectrum


@pytest.mark.parametrize("M, J, L, max_order", CONTRACTIVE_CONFIGS)
@pytest.mark.parametrize("kind", ["zero-and-delta", "zero-and-constant", "zero-and-comb"])
def test_non_expansive_on_extremal_pairs(M, J, L, max_order, kind):
    # The constant and the comb nearly saturate the bound (ratio ~0.85): the normalisation is not loose.
    x = np.zeros((M, M))
    if kind == "zero-and-delta":
        y = np.zeros((M, M))
        y[3, 5] = 1.0
    elif kind == "zero-and-constant":
        y = np.ones((M, M))
    else:
        y = _comb(filter_bank_2d(M, M, J, L))[0]
    ratio = assert_non_expansive(x, y, M, J, L, max_order)
    if kind != "zero-and-delta":
        assert ratio**2 >= 0.5


@pytest.mark.parametrize("M, N, J", [(32, 32, 1), (32, 32, 2), (32, 24, 3)])
def test_lowpass_subsampling_aliases_comb(M, N, J):
    # d_hat = phi_hat on the alias lattice Lam = {(a M / 2^J, b N / 2^J)} of frequency 0. Then (d * phi)_hat =
    # phi_hat^2 on Lam, and subsampling by 2^J folds all of Lam onto frequency 0, so S_0 d is the constant
    # sum_Lam phi_hat^2 / (M N); ||d||^2 = sum_Lam phi_hat^2 / (M N) gives
    # 2^(2J) ||S_0 d||^2 / ||d||^2 = sum_Lam phi_hat^2 > max_omega A(omega) (for J <= 2 on this bank):
    # the 2^(2J)-weighted "physical" inequality fails even for S_0 with a bank normalised by max A.
    bank = filter_bank_2d(M, N, J, 4)
    d, spectrum = _comb(bank)
    alias_energy = float((spectrum**2).sum())
    S0 = transform(J, (M, N), 4, 1, padding="periodic")(d)[0]
    np.testing.assert_allclose(S0, alias_energy / (M * N), rtol=1e-12, atol=0)
    assert 4**J * (S0**2).sum() / (d**2).sum() == pytest.approx(alias_energy, rel=1e-10)
    if J <= 2:
        assert alias_energy > littlewood_paley_2d(bank).max()


# --- Invariances and covariances -------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _digit_image():
    """A handwritten digit from scikit-learn's bundled data set, upsampled 8x to 64 x 64 (cubic spline)."""
    from sklearn.datasets import load_digits

    return ndimage.zoom(load_digits().images[0], 8, order=3)


def _smooth_random_image(rng):
    return ndimage.gaussian_filter(rng.standard_normal((64, 64)), 2.0, mode="wrap")


@pytest.mark.parametrize("image", ["digit", "smooth-random"])
@pytest.mark.parametrize("shift", [(1, 0), (2, 3), (4, 4)])
def test_translation_invariance_improves_with_J(image, shift, rng):
    x = _digit_image() if image == "digit" else _smooth_random_image(rng)
    moved = np.roll(x, shift, axis=(0, 1))
    changes = []
    for J in (1, 2, 3):
        S = transform(J, (64, 64), 8, padding="periodic")
        reference = S(x)
        changes.append(np.linalg.norm(S(moved) - reference) / np.linalg.norm(reference))
    assert changes[0] > changes[1] > changes[2], changes


@pytest.mark.parametrize("J", [1, 2, 3])
@pytest.mark.parametrize("cells", [(1, 0), (-1, 2), (3, 3)])
def test_periodic_shift_by_multiples_of_2_to_the_J_is_exact(J, cells, rng):
    # Circular convolutions commute with circular shifts, and a shift by 2^J a is a shift by a of the grid
    # subsampled by 2^J (every intermediate grid is subsampled by a divisor of 2^J).
    x = rng.standard_normal((32, 32))
    S = transform(J, (32, 32), 4, padding="periodic")
    moved = S(np.roll(x, (cells[0] * 2**J, cells[1] * 2**J), axis=(0, 1)))
    np.testing.assert_allclose(moved, np.roll(S(x), cells, axis=(-2, -1)), rtol=0, atol=1e-12 * np.abs(S(x)).max())


@pytest.mark.parametrize("J, L, max_order", [(2, 8, 2), (2, 4, 2), (2, 6, 1), (3, 8, 1), (4, 4, 1)])
def test_rotation_by_90_degrees_permutes_orientations(J, L, max_order, rng):
    # y(u) = x(R u) with R(i, j) = (j, -i) on the periodic grid (y = roll(rot90(x), 1, axis 0)). Then
    # y * psi_a = (x * psi_a o R^{-1})(R u), and psi_a o R^{-1} = psi_{a - pi/2} (its carrier direction e_a
    # becomes R e_a = e_{a - pi/2}). The wavelet of orientation index t has angle (L/2 - 1 - t) pi / L, so angle
    # a - pi/2 is index t + L/2; indices are mod L because psi_{a + pi} = conj(psi_a) and |x * conj psi| =
    # |x * psi| for real x. The low pass is isotropic. Hence S(y)[path t] = R(S(x)[path t + L/2]) on the
    # output grid, where R maps the coarse grid onto itself.
    # Exact only where no wavelet is applied on a subsampled grid (order 1, or J <= 2): a wavelet level cropped
    # to the grid subsampled by 2^r keeps the negative Nyquist frequency -m/2 but not +m/2 (Kymatio's crop),
    # and R maps one to the other, so at order 2 with J >= 3 covariance holds only up to the (small, ~1e-3)
    # wavelet values at that Nyquist frequency.
    M = 32
    x = rng.standard_normal((M, M))

    def rotate(a):
        return np.roll(np.rot90(a, axes=(-2, -1)), 1, axis=-2)

    S = transform(J, (M, M), L, max_order, padding="periodic")
    meta = S.meta()
    source = {key: c for c, key in enumerate(meta["key"])}

    def turned(n):
        return (n // L) * L + (n % L + L // 2) % L

    permutation = [source[tuple(turned(n) for n in key)] for key in meta["key"]]
    expected = rotate(S(x)[permutation])
    out = S(rotate(x))
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-10 * np.abs(expected).max())


# --- Special inputs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("padding", ["reflect", "periodic"])
def test_zero_input_gives_zero_output(padding):
    out = transform(2, (32, 32), 8, padding=padding)(np.zeros((2, 32, 32)))
    assert out.shape == (2, 81, 8, 8)
    assert not out.any()


@pytest.mark.parametrize("padding", ["reflect", "periodic"])
@pytest.mark.parametrize("c", [1.0, -3.5, 1e3])
def test_constant_input(padding, c):
    # A constant has only the DC frequency: S_0 = c phi_hat(0) everywhere (phi_hat(0) = pi / 3.1415 up to
    # exp(-2 pi^2 sigma^2) corrections, i.e. the low pass integrates to 1 within 1e-4), and psi_hat(0) = 0
    # (zero-mean Morlet wavelets) makes every |x * psi| and so orders 1 and 2 vanish. Reflect padding of a
    # constant is the same constant.
    S = transform(2, (32, 32), 8, padding=padding)
    phi0 = S.filters["phi"]["levels"][0][0, 0]
    assert abs(phi0 - 1.0) <= 1e-4
    out = S(np.full((32, 32), c))
    np.testing.assert_allclose(out[0], c * phi0, rtol=1e-12, atol=0)
    assert abs(out[0] - c).max() <= 1e-4 * abs(c)
    assert np.abs(out[1:]).max() <= 1e-10 * abs(c)


@pytest.mark.parametrize("a", [-2.5, 1e-3, 7.0, 1e3])
def test_homogeneity(a, rng):
    # Convolutions are linear and |a z| = |a| |z|: S_0(a x) = a S_0(x), S_{1,2}(a x) = |a| S_{1,2}(x).
    x = rng.standard_normal((32, 32))
    S = transform(2, (32, 32), 8)
    expected = S(x) * np.r_[a, np.full(80, abs(a))][:, None, None]
    assert rel_err(S(a * x), expected) <= 1e-12


@pytest.mark.parametrize(
    "dtype, a",
    [
        pytest.param(np.float32, 1e18, id="float32-1e18"),
        pytest.param(np.float32, 1e-15, id="float32-1e-15"),
        pytest.param(np.float32, 1e20, id="float32-1e20"),
        pytest.param(np.float32, 1e-25, id="float32-1e-25"),
        pytest.param(np.float64, 1e150, id="float64-1e150"),
        pytest.param(np.float64, 1e160, id="float64-1e160"),
        pytest.param(np.float64, 1e-170, id="float64-1e-170"),
    ],
)
def test_homogeneity_at_extreme_magnitudes(dtype, a, rng):
    # Every value stays well inside the dtype's range (|S| ~ a), so S(a x) = a S(x) must hold to rounding.
    x = rng.standard_normal((16, 16))
    S = transform(2, (16, 16), 8)
    out = S((a * x).astype(dtype))
    assert out.dtype == dtype
    assert np.isfinite(out).all()
    tol = FLOAT32_RTOL if dtype == np.float32 else 1e-10
    assert rel_err(out.astype(np.float64) / a, S(x)) <= tol


@pytest.mark.parametrize("dtype, k", EXTREME_POWERS_OF_TWO)
@pytest.mark.parametrize("padding", ["reflect", "periodic"])
def test_powers_of_two_scale_the_output_to_the_bit(dtype, k, padding, rng):
    # Every step is exact under a power-of-two scaling, S(2^k x) = 2^k S(x), whatever the dtype's range allows
    # for x itself: the transform works on signals brought to a peak in [1/2, 1).
    x = rng.uniform(-1, 1, (3, 16, 16)).astype(dtype)
    S = transform(2, (16, 16), 8, padding=padding)
    scaled = S(np.ldexp(x, k))
    assert scaled.dtype == dtype
    assert np.isfinite(scaled).all()
    np.testing.assert_array_equal(scaled, np.ldexp(S(x), k))


# --- Batch shapes and dtypes -----------------------------------------------------------------------------


def test_batch_shape_agnostic(rng):
    x = rng.standard_normal((2, 3, 32, 24))
    S = transform(2, (32, 24), 6)
    out = S(x)
    C = n_channels(2, 6, 2)
    assert out.shape == (2, 3, C, 8, 6)
    for index in np.ndindex(2, 3):
        np.testing.assert_allclose(out[index], S(x[index][None])[0], rtol=0, atol=1e-13)


def test_single_image_has_no_batch_axis(rng):
    x = rng.standard_normal((32, 24))
    S = transform(2, (32, 24), 6)
    out = S(x)
    assert out.shape == (n_channels(2, 6, 2), 8, 6)
    np.testing.assert_allclose(out, S(np.stack([x, -x]))[0], rtol=0, atol=1e-13)


@pytest.mark.parametrize("shape, J, L", [((32, 32), 2, 8), ((20, 28), 2, 4), ((64, 48), 3, 6)])
def test_float32_agrees_with_float64(shape, J, L, rng):
    x = rng.standard_normal((2,) + shape)
    S = transform(J, shape, L)
    out32 = S(x.astype(np.float32))
    assert out32.dtype == np.float32
    assert rel_err(out32, S(x.astype(np.float32).astype(np.float64))) <= FLOAT32_RTOL


def test_workers_do_not_change_the_result(rng):
    x = rng.standard_normal((3, 32, 32))
    one = scatter.Scattering2D(2, (32, 32), L=4, workers=1)(x)
    two = scatter.Scattering2D(2, (32, 32), L=4, workers=2)(x)
    np.testing.assert_allclose(one, two, rtol=0, atol=1e-13 * np.abs(one).max())


@pytest.mark.parametrize("padding", ["reflect", "periodic"])
def test_input_is_not_modified(padding, rng):
    x = rng.standard_normal((2, 32, 32))
    copy = x.copy()
    transform(2, (32, 32), 4, padding=padding)(x)
    np.testing.assert_array_equal(x, copy)


# ---------------------------------------------------------------------------------------------------------
# 4. Bad and unusual inputs
# ---------------------------------------------------------------------------------------------------------

SHAPE = (32, 24)


@pytest.fixture
def image(rng):
    return rng.standard_normal((2,) + SHAPE)


@pytest.mark.parametrize("bad_shape", [(2, 32, 23), (2, 24, 32), (32,), (24,), (2, 33, 24)])
def test_wrong_trailing_shape(bad_shape):
    # The message names the argument, the expected trailing shape and the shape received.
    with pytest.raises(ValueError, match=r"^x\b") as error:
        transform(2, SHAPE, 4)(np.zeros(bad_shape))
    assert "32, 24" in str(error.value)
    assert str(bad_shape) in str(error.value)


@pytest.mark.parametrize("shape, J", [((32, 32), 6), ((7, 64), 3), ((64, 15), 4)])
def test_J_too_large_for_shape(shape, J):
    with pytest.raises(ValueError, match=rf"\bJ\b.*\b{J}\b") as error:
        scatter.Scattering2D(J, shape)
    assert str(shape) in str(error.value)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_input(value, image):
    image[1, 3, 4] = value
    image[1, 20, 0] = value
    # The message names x, gives the number of bad values (2) and the first one's index (1, 3, 4).
    with pytest.raises(ValueError, match=r"^x\b.*\b2\b.*\(1, 3, 4\)"):
        transform(2, SHAPE, 4)(image)


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint16])
def test_integer_input_is_cast_to_float64(dtype, rng):
    x = rng.integers(0, 100, (2,) + SHAPE)
    out = transform(2, SHAPE, 4)(x.astype(dtype))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, transform(2, SHAPE, 4)(x.astype(np.float64)))


def test_bool_input_is_cast_to_float64(image):
    mask = image > 0
    out = transform(2, SHAPE, 4)(mask)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, transform(2, SHAPE, 4)(mask.astype(np.float64)))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_input_is_rejected(dtype, image):
    with pytest.raises(TypeError, match=r"^x\b.*complex"):
        transform(2, SHAPE, 4)(image.astype(dtype))


@pytest.mark.parametrize("values", [np.array([["a"] * 24] * 32), np.full(SHAPE, None, dtype=object)])
def test_non_numeric_input_is_rejected(values):
    with pytest.raises(TypeError, match=r"^x\b.*\bdtype\b"):
        transform(2, SHAPE, 4)(values)


@pytest.mark.parametrize("layout", ["strided-columns", "strided-batch", "transposed", "fortran"])
def test_non_contiguous_input(layout, image):
    if layout == "strided-columns":
        wide = np.zeros((2, 32, 48))
        wide[:, :, ::2] = image
        x = wide[:, :, ::2]
    elif layout == "strided-batch":
        tall = np.zeros((4, 32, 24))
        tall[::2] = image
        x = tall[::2]
    elif layout == "transposed":
        x = np.ascontiguousarray(image.transpose(0, 2, 1)).transpose(0, 2, 1)
    else:
        x = np.asfortranarray(image)
    assert not x.flags.c_contiguous
    np.testing.assert_array_equal(transform(2, SHAPE, 4)(x), transform(2, SHAPE, 4)(image))


@pytest.mark.parametrize("padding", ["reflect", "periodic"])
def test_read_only_input(padding, image):
    x = image.copy()
    x.flags.writeable = False
    S = transform(2, SHAPE, 4, padding=padding)
    np.testing.assert_array_equal(S(x), S(image))


def test_big_endian_float64_input(image):
    x = image.astype(">f8")
    out = transform(2, SHAPE, 4)(x)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, transform(2, SHAPE, 4)(image))


def test_big_endian_float32_input_stays_float32(image):
    x32 = image.astype(np.float32)
    out = transform(2, SHAPE, 4)(x32.astype(">f4"))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, transform(2, SHAPE, 4)(x32))


def test_float16_input_is_computed_in_float32(image):
    x16 = image.astype(np.float16)
    out = transform(2, SHAPE, 4)(x16)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, transform(2, SHAPE, 4)(x16.astype(np.float32)))


@pytest.mark.parametrize("batch", [(0,), (2, 0), (0, 3)])
def test_empty_batch(batch):
    S = transform(2, SHAPE, 4)
    out = S(np.zeros(batch + SHAPE))
    assert out.shape == batch + (n_channels(2, 4, 2), 8, 6)
    assert out.dtype == np.float64


@pytest.mark.parametrize(
    "kwargs, error, name, value",
    [
        ({"J": 0}, ValueError, "J", "0"),
        ({"J": -1}, ValueError, "J", "-1"),
        ({"J": 2.5}, TypeError, "J", "2.5"),
        ({"J": True}, TypeError, "J", "True"),
        ({"J": "2"}, TypeError, "J", "'2'"),
        ({"L": 0}, ValueError, "L", "0"),
        ({"L": 8.0}, TypeError, "L", "8.0"),
        ({"max_order": 0}, ValueError, "max_order", "0"),
        ({"max_order": 3}, ValueError, "max_order", "3"),
        ({"out_type": "foo"}, ValueError, "out_type", "'foo'"),
        ({"out_type": None}, ValueError, "out_type", "None"),
        ({"padding": "zero"}, ValueError, "padding", "'zero'"),
        ({"shape": (32,)}, TypeError, "shape", "(32,)"),
        ({"shape": "abc"}, TypeError, "shape", "'abc'"),
        ({"shape": (32, 32, 32)}, TypeError, "shape", "(32, 32, 32)"),
        ({"shape": (32, 0)}, ValueError, "shape", "0"),
        ({"shape": (32.0, 32)}, TypeError, "shape", "32.0"),
        ({"padding": "periodic", "shape": (30, 32)}, ValueError, "padding", "(30, 32)"),
        ({"workers": 0}, ValueError, "workers", "0"),
    ],
    ids=lambda v: ",".join(f"{k}={w!r}" for k, w in v.items()) if isinstance(v, dict) else None,
)
def test_invalid_parameters(kwargs, error, name, value):
    # The documented error type, with a message that starts by naming the parameter and quotes the value.
    arguments = {"J": 2, "shape": (32, 32), **kwargs}
    with pytest.raises(error, match=rf"^{name}\b") as raised:
        scatter.Scattering2D(**arguments)
    assert value in str(raised.value)


@pytest.mark.parametrize("J", [np.int64(2), np.int32(2)])
def test_numpy_integer_parameters_are_accepted(J, rng):
    x = rng.standard_normal((32, 32))
    out = scatter.Scattering2D(J, (np.int64(32), 32), L=np.int16(4))(x)
    np.testing.assert_array_equal(out, transform(2, (32, 32), 4)(x))
