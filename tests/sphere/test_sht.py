"""Spherical harmonic transform (``scatter.sphere.sht``).

Oracles: ducc0's ``synthesis_2d``/``analysis_2d`` (geometry "GL", and "F1", ducc0's name for the
Driscoll–Healy colatitudes pi (2j + 1) / (4L)), SciPy's ``sph_harm_y`` summed directly on the grid, healpy's
``map2alm`` for HEALPix input, and the round trip.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from scatter.sphere import forward_sht, grid_shape, inverse_sht, sampling_grid
from scatter.sphere import sht as sht_module

_DUCC_GEOMETRY = {"gl": "GL", "dh": "F1"}


def random_flm(rng, L, batch=()):
    """Random coefficients of real maps of bandlimit L: m <= l, real for m = 0."""
    flm = rng.standard_normal((*batch, L, L)) + 1j * rng.standard_normal((*batch, L, L))
    flm = np.tril(flm)
    flm[..., 0] = flm[..., 0].real
    return flm


def rel_err(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def to_ducc(flm):
    """Pack [l, m] into ducc0's m-major alm layout (index m * (2 lmax + 3 - m) / 2 + l)."""
    L = flm.shape[-1]
    return np.concatenate([flm[..., m:, m] for m in range(L)], axis=-1)


def direct_synthesis(flm, theta, phi):
    """sum_{l, |m| <= l} f_lm Y_l^m(theta, phi) with SciPy's harmonics (m < 0 through the reality condition)."""
    L = flm.shape[-1]
    tt, pp = np.meshgrid(theta, phi, indexing="ij")
    out = np.zeros(tt.shape)
    for ell in range(L):
        for m in range(ell + 1):
            term = flm[ell, m] * special.sph_harm_y(ell, m, tt, pp)
            out += term.real if m == 0 else 2 * term.real
    return out


@pytest.mark.parametrize("sampling", ["gl", "dh"])
@pytest.mark.parametrize("L", [1, 2, 5, 16, 33, 128])
def test_round_trip(sampling, L, rng):
    flm = random_flm(rng, L)
    maps = inverse_sht(flm, L, sampling)
    assert maps.shape == grid_shape(L, sampling) and maps.dtype == np.float64
    back = forward_sht(maps, L, sampling)
    assert back.dtype == np.complex128
    assert rel_err(back, flm) <= 1e-12


@pytest.mark.parametrize("sampling", ["gl", "dh"])
def test_round_trip_L512(sampling, rng):
    """Large bandlimit: tables computed on the fly (above TABLE_BYTES_MAX), no underflow near the poles."""
    L = 512
    flm = random_flm(rng, L)
    assert rel_err(forward_sht(inverse_sht(flm, L, sampling), L, sampling), flm) <= 1e-12


@pytest.mark.parametrize("sampling", ["gl", "dh"])
@pytest.mark.parametrize("L", [1, 4, 31, 64])
def test_inverse_matches_ducc0(sampling, L, rng):
    ducc0 = pytest.importorskip("ducc0")
    flm = random_flm(rng, L, (2,))
    ntheta, nphi = grid_shape(L, sampling)
    ref = np.stack([
        ducc0.sht.experimental.synthesis_2d(
            alm=to_ducc(f)[None], lmax=L - 1, spin=0, geometry=_DUCC_GEOMETRY[sampling], ntheta=ntheta, nphi=nphi
        )[0]
        for f in flm
    ])
    np.testing.assert_allclose(inverse_sht(flm, L, sampling), ref, rtol=0, atol=1e-10 * np.abs(ref).max())


@pytest.mark.parametrize("L", [1, 4, 31, 64])
def test_forward_gl_matches_ducc0_analysis(L, rng):
    """On the GL grid ducc0's analysis_2d is the quadrature itself: equal on maps that are not bandlimited."""
    ducc0 = pytest.importorskip("ducc0")
    maps = rng.standard_normal((2, *grid_shape(L, "gl")))
    ref = np.stack(
        [ducc0.sht.experimental.analysis_2d(map=x[None], lmax=L - 1, spin=0, geometry="GL")[0] for x in maps]
    )
    out = forward_sht(maps, L, "gl")
    np.testing.assert_allclose(to_ducc(out), ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    assert np.all(np.triu(out, 1) == 0)


@pytest.mark.parametrize("L", [2, 5, 32])
def test_forward_dh_matches_ducc0_analysis_on_bandlimited_maps(L, rng):
    """ducc0's DH-type ("F1") analysis is exact on maps of bandlimit L, as the DH quadrature is."""
    ducc0 = pytest.importorskip("ducc0")
    flm = random_flm(rng, L)
    maps = ducc0.sht.experimental.synthesis_2d(
        alm=to_ducc(flm)[None], lmax=L - 1, spin=0, geometry="F1", ntheta=2 * L, nphi=2 * L
    )
    ref = ducc0.sht.experimental.analysis_2d(map=maps, lmax=L - 1, spin=0, geometry="F1")[0]
    np.testing.assert_allclose(to_ducc(forward_sht(maps[0], L, "dh")), ref, rtol=0, atol=1e-10 * np.abs(ref).max())


@pytest.mark.parametrize("sampling", ["gl", "dh"])
@pytest.mark.parametrize("L", [3, 20])
def test_forward_is_weighted_adjoint_synthesis_of_ducc0(sampling, L, rng):
    """f_lm = sum_jk w_j f_jk conj(Y_lm(theta_j, phi_k)): ducc0's adjoint synthesis of the weighted map."""
    ducc0 = pytest.importorskip("ducc0")
    maps = rng.standard_normal(grid_shape(L, sampling))
    _, _, w = sampling_grid(L, sampling)
    ref = ducc0.sht.experimental.adjoint_synthesis_2d(
        map=(maps * w[:, None])[None], lmax=L - 1, spin=0, geometry=_DUCC_GEOMETRY[sampling]
    )[0]
    np.testing.assert_allclose(to_ducc(forward_sht(maps, L, sampling)), ref, rtol=0, atol=1e-10 * np.abs(ref).max())


@pytest.mark.parametrize("sampling", ["gl", "dh"])
def test_inverse_matches_scipy_harmonics(sampling, rng):
    L = 7
    flm = random_flm(rng, L)
    theta, phi, _ = sampling_grid(L, sampling)
    np.testing.assert_allclose(inverse_sht(flm, L, sampling), direct_synthesis(flm, theta, phi), atol=1e-12)


@pytest.mark.parametrize("sampling", ["gl", "dh"])
@pytest.mark.parametrize(("ell", "m"), [(0, 0), (3, 0), (3, 2), (6, 6), (5, 1)])
def test_forward_of_scipy_harmonic(sampling, ell, m):
    """Re Y_l^m = (Y_l^m + (-1)^m Y_l^-m) / 2 has the single stored coefficient f_lm = 1/2 (1 for m = 0)."""
    L = 7
    theta, phi, _ = sampling_grid(L, sampling)
    tt, pp = np.meshgrid(theta, phi, indexing="ij")
    flm = forward_sht(special.sph_harm_y(ell, m, tt, pp).real, L, sampling)
    expected = np.zeros((L, L), complex)
    expected[ell, m] = 1.0 if m == 0 else 0.5
    np.testing.assert_allclose(flm, expected, atol=1e-13)


def test_batch_shapes(rng):
    L = 9
    flm = random_flm(rng, L, (2, 3))
    maps = inverse_sht(flm, L)
    assert maps.shape == (2, 3, L, 2 * L - 1)
    np.testing.assert_allclose(maps[1, 2], inverse_sht(flm[1, 2], L), atol=1e-14)
    back = forward_sht(maps, L)
    assert back.shape == (2, 3, L, L)
    np.testing.assert_allclose(back[0, 1], forward_sht(maps[0, 1], L), atol=1e-14)
    assert forward_sht(np.zeros((0, L, 2 * L - 1)), L).shape == (0, L, L)


def test_float32_and_integer_input(rng):
    L = 6
    maps = inverse_sht(random_flm(rng, L), L)
    np.testing.assert_allclose(
        forward_sht(maps.astype(np.float32), L), forward_sht(maps.astype(np.float32).astype(np.float64), L)
    )
    assert forward_sht(np.ones((L, 2 * L - 1), dtype=np.int32), L).dtype == np.complex128


def test_on_the_fly_tables_match_cached(rng, monkeypatch):
    L = 40
    flm = random_flm(rng, L, (3,))
    maps = inverse_sht(flm, L)
    cached = forward_sht(maps, L)
    monkeypatch.setattr(sht_module, "TABLE_BYTES_MAX", 0)
    monkeypatch.setattr(sht_module, "_BLOCK_BYTES", 4096)
    sht_module._ring_grid.cache_clear()
    try:
        plan = sht_module._ring_grid(L, "gl", L)[-1]
        assert plan.on_the_fly
        np.testing.assert_allclose(forward_sht(maps, L), cached, atol=1e-14)
        np.testing.assert_allclose(inverse_sht(flm, L), maps, atol=1e-13)
    finally:
        sht_module._ring_grid.cache_clear()


@pytest.mark.parametrize(("ell", "m"), [(1023, 1000), (1023, 10), (800, 790), (1023, 0), (1022, 511)])
def test_legendre_tables_at_large_degree_match_ducc0(ell, m):
    """Normalised Legendre values at L = 1024 (nodes near the poles included) against ducc0's synthesis of
    the single coefficient f_lm = 1/2 (1 for m = 0), whose map at phi = 0 is lambda_l^m(theta).

    The tolerance is the conditioning of lambda_l^m in cos(theta) near the poles (dP_l/dx = l^2/2 at x = 1):
    one rounding of cos(theta_j) moves lambda_1023 by ~1e-11, and both codes round it their own way."""
    ducc0 = pytest.importorskip("ducc0")
    L = 1024
    theta, _, _ = sampling_grid(L, "gl")
    plan = sht_module._LegendrePlan(L, theta, on_the_fly=True)
    table = plan._compute(m, m + 1)
    assert np.all(np.isfinite(table))
    row = (ell - m) // 2 if (ell - m) % 2 == 0 else (L - m + 1) // 2 + (ell - m) // 2
    flm = np.zeros((ell + 1, ell + 1), complex)
    flm[ell, m] = 1.0 if m == 0 else 0.5
    ref = ducc0.sht.experimental.synthesis_2d(
        alm=to_ducc(flm)[None], lmax=ell, spin=0, geometry="GL", ntheta=L, nphi=2 * ell + 1
    )[0, : plan.n_north, 0]
    np.testing.assert_allclose(table[row], ref, rtol=0, atol=2e-10)
    if m > 500:  # far in the evanescent zone near the poles: values underflow to exact zeros, not NaN
        assert table[row, 0] == 0.0


@settings(max_examples=20, deadline=None)
@given(L=st.integers(1, 12), shift=st.integers(0, 30), seed=st.integers(0, 2**32 - 1))
def test_longitude_shift_is_a_phase(L, shift, seed):
    """Rotating a DH map by k longitude steps multiplies f_lm by exp(-i m 2 pi k / 2L)."""
    rng = np.random.default_rng(seed)
    flm = random_flm(rng, L)
    maps = inverse_sht(flm, L, "dh")
    shifted = forward_sht(np.roll(maps, shift, axis=-1), L, "dh")
    phase = np.exp(-1j * np.arange(L) * 2 * np.pi * shift / (2 * L))
    np.testing.assert_allclose(shifted, flm * phase, atol=1e-12)


@pytest.mark.parametrize("nside", [4, 8])
def test_healpix_forward_matches_healpy(nside, rng):
    hp = pytest.importorskip("healpy")
    L = 2 * nside
    maps = rng.standard_normal((2, 12 * nside**2))
    out = forward_sht(maps, L, "healpix")
    for b in range(2):
        ref = hp.map2alm(maps[b], lmax=L - 1, iter=0, use_weights=False)
        np.testing.assert_allclose(to_ducc(out[b]), ref, atol=1e-12)


def test_healpix_forward_recovers_bandlimited_coefficients(rng):
    """Pixel-area quadrature is approximate: a low bandlimit is recovered to a small relative error."""
    hp = pytest.importorskip("healpy")
    nside, L = 32, 16
    flm = random_flm(rng, L)
    maps = hp.alm2map(to_ducc(flm), nside, lmax=L - 1)
    assert rel_err(forward_sht(maps, L, "healpix"), flm) < 1e-2


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: forward_sht(np.zeros((4, 7)), 4.0), TypeError, "L must be an integer"),
        (lambda: forward_sht(np.zeros((4, 7)), 0), ValueError, "L must be"),
        (lambda: forward_sht(np.zeros((4, 7)), 4, "ecp"), ValueError, "sampling must be one of"),
        (lambda: forward_sht(np.zeros((8, 8)), 4), ValueError, r"maps must have shape \(\.\.\., 4, 7\)"),
        (lambda: forward_sht(np.zeros((4, 7)), 4, "dh"), ValueError, r"maps must have shape \(\.\.\., 8, 8\)"),
        (lambda: forward_sht(np.full((4, 7), np.nan), 4), ValueError, "non-finite"),
        (lambda: forward_sht(np.zeros((4, 7), complex), 4), TypeError, "maps must be real"),
        (lambda: forward_sht(np.zeros(50), 4, "healpix"), ValueError, "12 \\* nside\\*\\*2"),
        (lambda: inverse_sht(np.zeros((4, 5)), 4), ValueError, r"flm must have shape"),
        (lambda: inverse_sht(np.zeros((4, 4)), 4, "healpix"), ValueError, "sampling must be one of"),
        (lambda: inverse_sht(np.full((4, 4), np.inf), 4), ValueError, "non-finite"),
        (lambda: inverse_sht(np.array([["a"]]), 1), TypeError, "numeric"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_batch_chunks_match_single_chunk(rng, monkeypatch):
    L = 12
    flm = random_flm(rng, L, (7,))
    maps = inverse_sht(flm, L, "dh")
    whole = forward_sht(maps, L, "dh")
    monkeypatch.setattr(sht_module, "_CHUNK_BYTES", 1)  # one map per chunk
    np.testing.assert_allclose(forward_sht(maps, L, "dh"), whole, atol=1e-14)
    np.testing.assert_allclose(inverse_sht(flm, L, "dh"), maps, atol=1e-14)


def test_inverse_ignores_upper_triangle_and_imaginary_m0(rng):
    L = 8
    flm = random_flm(rng, L)
    noisy = flm + np.triu(rng.standard_normal((L, L)), 1)
    noisy[:, 0] += 1j * rng.standard_normal(L)
    np.testing.assert_allclose(inverse_sht(noisy, L), inverse_sht(flm, L), atol=1e-14)


def test_concurrent_calls_and_blas_threads_restored(rng):
    """Transforms in several threads at once are correct and leave the BLAS thread count as it was."""
    from concurrent.futures import ThreadPoolExecutor

    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]
    L = 24
    flms = [random_flm(rng, L, (3,)) for _ in range(6)]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda f: forward_sht(inverse_sht(f, L), L), flms))
    for f, back in zip(flms, results):
        assert rel_err(back, f) <= 1e-12
    after = [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]
    assert after == before


@settings(max_examples=20, deadline=None)
@given(L=st.integers(1, 16), sampling=st.sampled_from(["gl", "dh"]), seed=st.integers(0, 2**32 - 1))
def test_parseval(L, sampling, seed):
    """int f^2 dOmega (exact quadrature of a product of bandlimited maps) = sum_l |f_l0|^2 + 2 sum_{m>0} |f_lm|^2."""
    rng = np.random.default_rng(seed)
    flm = random_flm(rng, L)
    maps = inverse_sht(flm, L, sampling)
    _, _, w = sampling_grid(L, sampling)
    energy = np.sum(w[:, None] * maps**2)
    power = np.sum(np.abs(flm[:, 0]) ** 2) + 2 * np.sum(np.abs(flm[:, 1:]) ** 2)
    np.testing.assert_allclose(energy, power, rtol=1e-12)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # Python >= 3.12 warns on fork with threads
def test_transform_works_in_a_forked_child(rng):
    """The thread pool is per process: a child forked after a threaded transform does not hang."""
    import multiprocessing

    L = 96
    flm = random_flm(rng, L, (8,))
    maps = inverse_sht(flm, L)  # large enough to run on the thread pool in the parent
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        back = pool.apply_async(forward_sht, (maps, L)).get(timeout=120)
    assert rel_err(back, flm) <= 1e-12
