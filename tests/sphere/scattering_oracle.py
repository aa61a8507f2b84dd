"""Slow, direct spherical harmonics for the wavelet and scattering tests: the oracle, independent of scatter.sphere.

Spherical harmonics come from ``scipy.special.sph_harm_y`` (orthonormal, Condon-Shortley phase), the
Gauss-Legendre rule from ``numpy.polynomial.legendre.leggauss``; maps are synthesised and analysed by
explicit sums over the degrees, the orders and the grid points. Sizes stay small (L <= 32).
"""

import functools

import numpy as np
from scipy import fft, special


@functools.lru_cache(maxsize=16)
def gl_grid(L, n_phi=None):
    """Colatitudes (increasing), longitudes and per-ring weights (summing to 4 pi over the grid) of the GL grid.

    ``n_phi`` longitudes, ``2L - 1`` by default; any ``n_phi >= 2L - 1`` keeps the quadrature exact for
    bandlimit ``L``.
    """
    x, w = np.polynomial.legendre.leggauss(L)
    order = np.argsort(-x)
    n_phi = 2 * L - 1 if n_phi is None else n_phi
    return np.arccos(x[order]), 2 * np.pi * np.arange(n_phi) / n_phi, w[order] * 2 * np.pi / n_phi


def harmonics(L, theta, phi):
    """``Y[l, m, *points]`` for 0 <= m <= l < L (zero above the diagonal) at points ``(theta, phi)``."""
    theta, phi = np.broadcast_arrays(np.asarray(theta, float), np.asarray(phi, float))
    Y = np.zeros((L, L) + theta.shape, complex)
    for ell in range(L):
        for m in range(ell + 1):
            Y[ell, m] = special.sph_harm_y(ell, m, theta, phi)
    return Y


def fast_longitudes(M):
    """Longitudes of the scattering's modulus grids: the smallest fast real FFT length >= 2M - 1."""
    return fft.next_fast_len(2 * M - 1, real=True)


@functools.lru_cache(maxsize=16)
def _grid_harmonics(L, n_phi=None):
    theta, phi, _ = gl_grid(L, n_phi)
    return harmonics(L, *np.meshgrid(theta, phi, indexing="ij"))


def synthesize_at(flm, theta, phi):
    """Real map ``sum_{l, |m| <= l} f_lm Y_lm`` at arbitrary points, from ``flm[..., l, m]`` with m >= 0."""
    L = flm.shape[-1]
    Y = harmonics(L, theta, phi)
    weight = np.where(np.arange(L) == 0, 1.0, 2.0)
    return _contract(flm * weight, Y)


def _contract(flm, Y):
    """``Re sum_lm flm[..., l, m] Y[l, m, *points]``."""
    L = flm.shape[-1]
    batch = flm.shape[:-2]
    points = Y.shape[2:]
    out = (flm.reshape(-1, L * L) @ Y.reshape(L * L, -1)).real
    return out.reshape(batch + points)


def synthesize(flm, M=None, n_phi=None):
    """Real map on the GL grid of bandlimit ``M`` (default: that of ``flm``; ``n_phi`` longitudes), coefficients
    zero-padded."""
    L = flm.shape[-1]
    M = L if M is None else M
    Y = _grid_harmonics(M, n_phi)[:L, :L]
    weight = np.where(np.arange(L) == 0, 1.0, 2.0)
    return _contract(flm * weight, Y)


def analyze(maps, M):
    """Coefficients ``[l, m]``, m >= 0, of real maps on the GL grid of bandlimit ``M`` (any number of
    longitudes ``>= 2M - 1``), by quadrature."""
    _, _, w = gl_grid(M, maps.shape[-1])
    Y = _grid_harmonics(M, maps.shape[-1])
    weighted = maps * w[:, None]
    batch = maps.shape[:-2]
    out = weighted.reshape(-1, Y[0, 0].size) @ Y.reshape(M * M, -1).conj().T
    return out.reshape(batch + (M, M)) * np.tri(M)


def mean(maps, M):
    """Mean over the sphere of maps on the GL grid of bandlimit ``M``."""
    _, _, w = gl_grid(M)
    return np.einsum("...tp,t->...", maps, w) / (4 * np.pi)


def random_flm(rng, L, batch=(), band=None):
    """Random coefficients of a real map of bandlimit ``band`` (default ``L``), padded to ``(..., L, L)``."""
    band = L if band is None else band
    c = rng.standard_normal(batch + (band, band)) + 1j * rng.standard_normal(batch + (band, band))
    c[..., 0] = c[..., 0].real
    c *= np.tri(band)
    out = np.zeros(batch + (L, L), complex)
    out[..., :band, :band] = c
    return out


def norm2(flm):
    """Squared L2 norm over the sphere of the real map with coefficients ``flm`` (Parseval)."""
    weight = np.where(np.arange(flm.shape[-1]) == 0, 1.0, 2.0)
    return (np.abs(flm) ** 2 * weight).sum(axis=(-2, -1))


def rotation_matrix_zyz(alpha, beta, gamma):
    """``Rz(alpha) Ry(beta) Rz(gamma)``."""

    def rz(a):
        return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])

    ry = np.array([[np.cos(beta), 0, np.sin(beta)], [0, 1, 0], [-np.sin(beta), 0, np.cos(beta)]])
    return rz(alpha) @ ry @ rz(gamma)


def rotated_map(flm, R, M=None):
    """``(R f)(w) = f(R^T w)`` on the GL grid of bandlimit ``M``, by synthesis at the rotated points."""
    L = flm.shape[-1]
    M = L if M is None else M
    theta, phi, _ = gl_grid(M)
    theta, phi = np.meshgrid(theta, phi, indexing="ij")
    xyz = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    x, y, z = np.einsum("ji,j...->i...", R, xyz)
    return synthesize_at(flm, np.arccos(np.clip(z, -1, 1)), np.arctan2(y, x))


def scattering(flm, psi, phi, bandlimits, grid_bandlimits, max_order=2, equivariant_bandlimit=None):
    """Spherical scattering by explicit sums: every modulus on its own GL grid ``grid_bandlimits[i]``, with
    :func:`fast_longitudes` longitudes.

    ``psi`` (n_j, L) rows in increasing scale; paths ``()``, ``(i1,)``, ``(i1, i2)`` with ``i2 < i1``. Passing
    the same large bandlimit for every wavelet gives the full-resolution transform (no multiresolution).
    Returns the means (``equivariant_bandlimit=None``) or the coefficients of the low-passed maps.
    """
    n_j = len(psi)

    def out(c):
        if equivariant_bandlimit is None:
            return c[..., 0, 0].real / np.sqrt(4 * np.pi)
        b = equivariant_bandlimit
        return c[..., :b, :b] * phi[:b, None]

    def modulus(c, i):
        b, M = bandlimits[i], grid_bandlimits[i]
        u = np.abs(synthesize(c[..., :b, :b] * psi[i, :b, None], M, fast_longitudes(M)))
        return analyze(u, M)

    result = [out(flm)]
    first = [modulus(flm, i) for i in range(n_j)] if max_order >= 1 else []
    result += [out(c) for c in first]
    if max_order >= 2:
        result += [out(modulus(first[i1], i2)) for i1 in range(n_j) for i2 in range(n_j) if i2 < i1]
    return np.stack(result, axis=-1 if equivariant_bandlimit is None else -3)
