r"""Spherical harmonic transform of real maps on Gauss–Legendre, Driscoll–Healy and HEALPix grids.

Spherical harmonics are orthonormal with the Condon–Shortley phase (the convention of healpy, ducc0 and
s2fft):

.. math::
    Y_\ell^m(\theta, \phi) = \lambda_\ell^m(\theta) e^{i m \phi}, \qquad
    \lambda_\ell^m(\theta) = (-1)^m \sqrt{\frac{2\ell + 1}{4\pi} \frac{(\ell - m)!}{(\ell + m)!}}
    P_\ell^m(\cos\theta),

with :math:`P_\ell^m` without the phase. A real map of bandlimit :math:`L` is
:math:`f = \sum_{\ell < L} \sum_{|m| \le \ell} f_{\ell m} Y_\ell^m` with
:math:`f_{\ell, -m} = (-1)^m \overline{f_{\ell m}}`, so only :math:`0 \le m \le \ell` is stored, in an array
``flm[..., l, m]`` of shape ``(..., L, L)`` that is zero for ``m > l``.

Algorithm: a real FFT along each ring, then the Legendre step as BLAS matrix products, for each :math:`m`,
against tables of :math:`\lambda_\ell^m(\theta_j)` on the northern rings; the north–south symmetry
:math:`\lambda_\ell^m(\pi - \theta) = (-1)^{\ell + m} \lambda_\ell^m(\theta)` halves the work. The tables are
cached per grid; above :data:`TABLE_BYTES_MAX` they are computed on the fly, a block of :math:`m` at a time.
"""

import os
from functools import lru_cache

import numpy as np
from scipy import fft as sp_fft

from .._validation import check_int, check_signal
from . import _kernels
from .sampling import _check_L, check_sampling, gauss_legendre_grid, driscoll_healy_grid, healpix_nside, healpix_rings

__all__ = ["forward_sht", "inverse_sht", "TABLE_BYTES_MAX"]

#: Largest Legendre table kept in memory (bytes); larger grids compute their tables per block of m.
TABLE_BYTES_MAX = 96 * 2**20
#: Size of a block of table computed on the fly (bytes).
_BLOCK_BYTES = 8 * 2**20


def _workers():
    return os.cpu_count() or 1


class _LegendrePlan:
    """Legendre tables of one grid: the northern rings (equator included), per m."""

    def __init__(self, L, theta, on_the_fly=None):
        self.L = L
        self.n_rings = theta.size
        self.n_north = (theta.size + 1) // 2
        th = theta[: self.n_north]
        self.x = np.ascontiguousarray(np.cos(th))
        self.sin = np.ascontiguousarray(np.sin(th))
        # Exact zero at the equator (HEALPix, odd GL): the odd part vanishes there.
        if theta.size % 2:
            self.x[-1] = 0.0
            self.sin[-1] = 1.0
        rows = np.array([L - m for m in range(L)], dtype=np.int64)
        self.offsets = np.concatenate(([0], np.cumsum(rows)[:-1])).astype(np.int64)
        table_bytes = int(rows.sum()) * self.n_north * 8
        if on_the_fly is None:
            on_the_fly = table_bytes > TABLE_BYTES_MAX
        self.on_the_fly = on_the_fly
        self.table = None if on_the_fly else self._compute(0, L)

    def _compute(self, m_start, m_stop):
        offsets = self.offsets[m_start:m_stop] - self.offsets[m_start]
        n_rows = int(sum(self.L - m for m in range(m_start, m_stop)))
        out = np.empty((n_rows, self.n_north))
        _kernels.legendre_table(self.x, self.sin, m_start, m_stop, self.L, offsets, out)
        return out

    def blocks(self):
        """Yield ``(m, even, odd)``: the tables of ``l = m, m+2, ...`` and ``l = m+1, m+3, ...``."""
        L = self.L
        if self.table is not None:
            blocks = [(0, L, self.table, self.offsets)]
        else:
            blocks = self._lazy_blocks()
        for m_start, m_stop, table, offsets in blocks:
            for m in range(m_start, m_stop):
                base = offsets[m] - offsets[m_start]
                n_even = (L - m + 1) // 2
                yield m, table[base: base + n_even], table[base + n_even: base + L - m]

    def _lazy_blocks(self):
        L = self.L
        row_budget = max(1, _BLOCK_BYTES // (8 * self.n_north))
        m_start = 0
        while m_start < L:
            m_stop, rows = m_start, 0
            while m_stop < L and (rows == 0 or rows + (L - m_stop) <= row_budget):
                rows += L - m_stop
                m_stop += 1
            yield m_start, m_stop, self._compute(m_start, m_stop), self.offsets
            m_start = m_stop


@lru_cache(maxsize=8)
def _ring_grid(L, sampling):
    """``(theta, weights, n_phi, plan)`` of a ring grid."""
    theta, phi, weights = gauss_legendre_grid(L) if sampling == "gl" else driscoll_healy_grid(L)
    return theta, weights, phi.size, _LegendrePlan(L, theta)


@lru_cache(maxsize=4)
def _healpix_grid(L, nside):
    theta, n_phi, phi0, start = healpix_rings(nside)
    return theta, n_phi, phi0, start, _LegendrePlan(L, theta)


def _analysis(F, plan):
    """Legendre step of the forward transform: ``F`` (B, n_rings, L) weighted ring spectra -> (B, L, L)."""
    B, n_rings, L = F.shape
    n_north, n_pairs = plan.n_north, n_rings // 2
    # Symmetric and antisymmetric combinations of the ring pairs, as (m, ring, batch).
    F = F.transpose(2, 1, 0)
    north, south = F[:, :n_pairs], F[:, n_rings - 1: n_rings - 1 - n_pairs: -1] if n_pairs else F[:, :0]
    sym = np.empty((L, n_north, B), dtype=np.complex128)
    anti = np.empty((L, n_north, B), dtype=np.complex128)
    np.add(north, south, out=sym[:, :n_pairs])
    np.subtract(north, south, out=anti[:, :n_pairs])
    if n_rings % 2:
        sym[:, -1] = F[:, n_pairs]
        anti[:, -1] = 0.0
    out = np.zeros((L, L, B), dtype=np.complex128)  # (m, l, batch)
    for m, even, odd in plan.blocks():
        out[m, m::2] = (even @ sym[m].view(np.float64)).view(np.complex128)
        if odd.shape[0]:
            out[m, m + 1::2] = (odd @ anti[m].view(np.float64)).view(np.complex128)
    return out.transpose(2, 1, 0)


def _synthesis(flm, plan):
    """Legendre step of the inverse transform: ``flm`` (B, L, L) -> ring spectra (B, n_rings, L)."""
    B, L, _ = flm.shape
    n_rings, n_north, n_pairs = plan.n_rings, plan.n_north, plan.n_rings // 2
    coef = np.ascontiguousarray(flm.transpose(2, 1, 0))  # (m, l, batch)
    out = np.empty((L, n_rings, B), dtype=np.complex128)
    for m, even, odd in plan.blocks():
        e = (even.T @ coef[m, m::2].view(np.float64)).view(np.complex128)
        if odd.shape[0]:
            o = (odd.T @ coef[m, m + 1::2].view(np.float64)).view(np.complex128)
        else:
            o = np.zeros_like(e)
        out[m, :n_pairs] = e[:n_pairs] + o[:n_pairs]
        out[m, n_rings - 1: n_rings - 1 - n_pairs: -1] = e[:n_pairs] - o[:n_pairs]
        if n_rings % 2:
            out[m, n_pairs] = e[n_pairs]
    return out.transpose(2, 1, 0)


def _check_maps(maps, L, sampling):
    if sampling == "healpix":
        arr = np.asarray(maps)
        if arr.ndim < 1:
            raise ValueError(f"maps must have shape (..., 12 * nside**2) for sampling='healpix'; got {arr.shape}")
        shape = (12 * healpix_nside(arr.shape[-1]) ** 2,)
    else:
        shape = (L, 2 * L - 1) if sampling == "gl" else (2 * L, 2 * L)
    maps = check_signal(maps, shape, name="maps")
    return maps.astype(np.float64, copy=False)


def forward_sht(maps, L, sampling="gl"):
    r"""Spherical harmonic coefficients of real maps of bandlimit ``L``.

    Parameters
    ----------
    maps : array_like, shape (..., *grid)
        Real maps, grid ``(L, 2L - 1)`` for ``"gl"``, ``(2L, 2L)`` for ``"dh"`` (see
        :func:`scatter.sphere.grid_shape`) or ``(12 nside^2,)`` in RING ordering for ``"healpix"``; any
        batch shape. float32 input is accepted and computed in float64.
    L : int
        Bandlimit: degrees :math:`0 \le \ell < L` are computed.
    sampling : {"gl", "dh", "healpix"}
        Grid of the maps.

    Returns
    -------
    flm : ndarray of complex128, shape (..., L, L)
        ``flm[..., l, m]`` for :math:`0 \le m \le \ell < L`; zero for ``m > l``.

    Raises
    ------
    TypeError
        If ``L`` is not an integer or ``maps`` is not real.
    ValueError
        For ``L < 1``, an unknown sampling, a grid that does not match ``L`` or non-finite values.

    Notes
    -----
    Quadrature with the weights :math:`w_j` of the grid:

    .. math::
        f_{\ell m} = \sum_j w_j \lambda_\ell^m(\theta_j) \sum_k f(\theta_j, \phi_k) e^{-i m \phi_k},

    exact for maps of bandlimit ``L`` on ``"gl"`` and ``"dh"``. On HEALPix the weights are the pixel area
    :math:`4\pi / (12 n_{side}^2)` (healpy's ``map2alm`` with ``iter=0``): an approximation, accurate for
    bandlimits well below :math:`2 n_{side}`, and the inverse is not provided there.

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.sphere import forward_sht, inverse_sht
    >>> flm = np.zeros((4, 4), complex); flm[2, 1] = 1 - 2j
    >>> np.allclose(forward_sht(inverse_sht(flm, 4), 4), flm)
    True
    """
    L = _check_L(L)
    sampling = check_sampling(sampling)
    maps = _check_maps(maps, L, sampling)
    batch = maps.shape[: maps.ndim - (1 if sampling == "healpix" else 2)]
    if sampling == "healpix":
        x = maps.reshape(-1, maps.shape[-1])
        theta, n_phi, phi0, start, plan = _healpix_grid(L, healpix_nside(maps.shape[-1]))
        F = _healpix_ring_spectra(x, L, n_phi, phi0, start)
    else:
        theta, weights, n_phi, plan = _ring_grid(L, sampling)
        x = maps.reshape(-1, *maps.shape[-2:])
        F = sp_fft.rfft(x, axis=-1, workers=_workers())[:, :, :L]
        F *= weights[:, None]
    return _analysis(F, plan).reshape(*batch, L, L)


def _healpix_ring_spectra(x, L, n_phi, phi0, start):
    """Weighted ring spectra ``sum_k f_k e^{-i m phi_k}`` for m < L, aliased onto each ring's n_phi points."""
    B = x.shape[0]
    F = np.empty((B, n_phi.size, L), dtype=np.complex128)
    m = np.arange(L)
    weight = 4 * np.pi / x.shape[1]
    for i in range(n_phi.size):
        n = int(n_phi[i])
        c = sp_fft.fft(x[:, start[i]: start[i] + n], axis=-1)
        F[:, i] = c[:, m % n] * (np.exp(-1j * m * phi0[i]) * weight)
    return F


def _check_flm(flm, L):
    flm = np.asarray(flm)
    if flm.dtype.kind not in "biufc":
        raise TypeError(f"flm must be a numeric array; got dtype {flm.dtype}")
    if flm.ndim < 2 or flm.shape[-2:] != (L, L):
        raise ValueError(f"flm must have shape (..., L, L) = (..., {L}, {L}) for L={L}; got {flm.shape}")
    flm = flm.astype(np.complex128, copy=False)
    if flm.size and not np.isfinite(flm).all():
        raise ValueError("flm contains non-finite values (NaN or inf)")
    return flm


def inverse_sht(flm, L, sampling="gl"):
    r"""Real maps of bandlimit ``L`` from their spherical harmonic coefficients.

    Parameters
    ----------
    flm : array_like, shape (..., L, L)
        Coefficients ``flm[..., l, m]`` for :math:`0 \le m \le \ell < L`, as returned by
        :func:`forward_sht`; entries with ``m > l`` are ignored, and so is the imaginary part of ``m = 0``
        (the maps are real).
    L : int
        Bandlimit.
    sampling : {"gl", "dh"}
        Grid of the maps.

    Returns
    -------
    maps : ndarray of float64, shape (..., *grid)
        Grid ``(L, 2L - 1)`` for ``"gl"``, ``(2L, 2L)`` for ``"dh"``.

    Raises
    ------
    TypeError, ValueError
        For a bad ``L``, an unknown sampling, ``"healpix"``, or ``flm`` of the wrong shape or non-finite.

    Notes
    -----
    .. math::
        f(\theta_j, \phi_k) = \sum_{\ell < L} \sum_{|m| \le \ell} f_{\ell m} Y_\ell^m(\theta_j, \phi_k)
        = \operatorname{Re} \sum_{m = 0}^{L-1} (2 - \delta_{m0}) e^{i m \phi_k}
        \sum_{\ell = m}^{L-1} f_{\ell m} \lambda_\ell^m(\theta_j).

    Examples
    --------
    >>> import numpy as np
    >>> flm = np.zeros((3, 3), complex); flm[0, 0] = np.sqrt(4 * np.pi)
    >>> np.allclose(inverse_sht(flm, 3, "dh"), 1.0)
    True
    """
    L = _check_L(L)
    sampling = check_sampling(sampling, allow_healpix=False)
    flm = _check_flm(flm, L)
    batch = flm.shape[:-2]
    theta, weights, n_phi, plan = _ring_grid(L, sampling)
    G = _synthesis(flm.reshape(-1, L, L), plan)
    spec = np.zeros((G.shape[0], G.shape[1], n_phi // 2 + 1), dtype=np.complex128)
    spec[:, :, :L] = G
    maps = sp_fft.irfft(spec, n=n_phi, axis=-1, norm="forward", workers=_workers())
    return maps.reshape(*batch, *maps.shape[-2:])
