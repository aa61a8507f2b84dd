"""Nodes and quadrature weights of the sphere grids (``scatter.sphere.sampling``).

Oracles: NumPy's ``leggauss`` and ducc0's ``GL_thetas``/``GL_weights`` for the Gauss–Legendre grid, healpy's
``pix2ang`` for HEALPix, and closed-form integrals (Legendre polynomials, Fourier modes) for the exactness
of the quadratures.
"""

import numpy as np
import pytest
from scipy import special

from scatter.sphere import driscoll_healy_grid, gauss_legendre_grid, grid_shape, healpix_rings, sampling_grid
from scatter.sphere.sampling import _SAMPLINGS, driscoll_healy_weights


@pytest.mark.parametrize("L", [1, 2, 7, 40])
def test_gauss_legendre_matches_numpy_leggauss(L):
    theta, phi, w = gauss_legendre_grid(L)
    x, a = np.polynomial.legendre.leggauss(L)
    np.testing.assert_allclose(np.cos(theta), x[::-1], atol=1e-14)
    # leggauss loses ~1e-12 on the polar weights (ducc0 and mpmath agree with ours to 1e-14 there).
    np.testing.assert_allclose(w * (2 * L - 1) / (2 * np.pi), a[::-1], rtol=1e-11)
    np.testing.assert_allclose(phi, 2 * np.pi * np.arange(2 * L - 1) / (2 * L - 1))


@pytest.mark.parametrize("L", [3, 64, 257, 512])
def test_gauss_legendre_matches_ducc0(L):
    ducc0 = pytest.importorskip("ducc0")
    theta, phi, w = gauss_legendre_grid(L)
    np.testing.assert_allclose(theta, ducc0.misc.GL_thetas(L), atol=1e-14)
    np.testing.assert_allclose(w, ducc0.misc.GL_weights(L, 2 * L - 1), rtol=3e-12)


def test_gauss_legendre_is_symmetric_and_ordered():
    theta, _, w = gauss_legendre_grid(101)
    assert np.all(np.diff(theta) > 0)
    np.testing.assert_allclose(theta + theta[::-1], np.pi, atol=1e-15)
    np.testing.assert_array_equal(w, w[::-1])


def test_driscoll_healy_nodes():
    theta, phi, w = driscoll_healy_grid(30)
    assert theta.shape == phi.shape == w.shape == (60,)
    np.testing.assert_allclose(theta, np.pi * (2 * np.arange(60) + 1) / 120)
    np.testing.assert_allclose(phi, 2 * np.pi * np.arange(60) / 60)


@pytest.mark.parametrize(("name", "n_exact"), [("gl", lambda L: 2 * L - 1), ("dh", lambda L: 2 * L)])
@pytest.mark.parametrize("L", [1, 4, 9, 32])
def test_quadrature_integrates_legendre_polynomials_exactly(name, n_exact, L):
    """int P_n(cos theta) dOmega = 4 pi delta_{n0} for every degree the grid is exact for."""
    theta, phi, w = sampling_grid(L, name)
    degrees = np.arange(n_exact(L))
    values = special.eval_legendre(degrees[:, None], np.cos(theta)[None, :])
    integrals = phi.size * values @ w
    expected = np.where(degrees == 0, 4 * np.pi, 0.0)
    np.testing.assert_allclose(integrals, expected, atol=1e-12)


@pytest.mark.parametrize("name", ["gl", "dh"])
def test_quadrature_integrates_products_of_harmonics(name, rng):
    """<Y_l1^m, Y_l2^m> = delta_{l1 l2} for degrees below L, with SciPy's harmonics on the grid."""
    L = 6
    theta, phi, w = sampling_grid(L, name)
    tt, pp = np.meshgrid(theta, phi, indexing="ij")
    for m in range(L):
        Y = np.stack([special.sph_harm_y(ell, m, tt, pp) for ell in range(m, L)])
        gram = np.einsum("aij,bij,i->ab", Y, Y.conj(), w)
        np.testing.assert_allclose(gram, np.eye(L - m), atol=1e-13)


def test_driscoll_healy_weights_fail_beyond_bandlimit():
    """Sanity of the exactness test: degree 2L is no longer integrated exactly."""
    L = 5
    theta = np.pi * (2 * np.arange(2 * L) + 1) / (4 * L)
    a = driscoll_healy_weights(L)
    assert abs(a @ special.eval_legendre(2 * L, np.cos(theta))) > 1e-6


@pytest.mark.parametrize("nside", [1, 2, 3, 8])
def test_healpix_rings_match_healpy(nside):
    hp = pytest.importorskip("healpy")
    theta, n_phi, phi0, start = healpix_rings(nside)
    assert n_phi.sum() == 12 * nside**2
    t_ref, p_ref = hp.pix2ang(nside, np.arange(12 * nside**2))
    t = np.repeat(theta, n_phi)
    p = np.concatenate([phi0[i] + 2 * np.pi * np.arange(n) / n for i, n in enumerate(n_phi)])
    np.testing.assert_allclose(t, t_ref, atol=1e-14)
    np.testing.assert_allclose(p, p_ref, atol=1e-14)
    np.testing.assert_array_equal(start, np.concatenate(([0], np.cumsum(n_phi)[:-1])))


@pytest.mark.parametrize(
    ("args", "kwargs", "shape"),
    [((5, "gl"), {}, (5, 9)), ((30, "dh"), {}, (60, 60)), ((1,), {}, (1, 1)), ((8, "HEALPix"), {"nside": 4}, (192,))],
)
def test_grid_shape(args, kwargs, shape):
    assert grid_shape(*args, **kwargs) == shape


def test_sampling_dispatch_dict():
    assert set(_SAMPLINGS) == {"gl", "dh"}
    for name, fn in _SAMPLINGS.items():
        theta, phi, _ = fn(6)
        assert (theta.size, phi.size) == grid_shape(6, name)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: grid_shape(0), ValueError, "L must be"),
        (lambda: grid_shape(2.0), TypeError, "L must be an integer"),
        (lambda: grid_shape(4, "mw"), ValueError, "sampling must be one of"),
        (lambda: grid_shape(4, "healpix"), ValueError, "needs nside"),
        (lambda: grid_shape(4, "healpix", nside=0), ValueError, "nside must be"),
        (lambda: sampling_grid(4, "healpix"), ValueError, "sampling must be one of"),
        (lambda: healpix_rings(True), TypeError, "nside must be an integer"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
