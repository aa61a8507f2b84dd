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
cached per grid (the 8 most recent grids); above :data:`TABLE_BYTES_MAX` they are computed on the fly, a block
of :math:`m` at a time.

Threads: the blocks of :math:`m` run on ``os.cpu_count()`` threads, each block one Numba call that keeps the
GIL released, with BLAS limited to one thread meanwhile (threadpoolctl; a threaded BLAS under these threads
spins and loses far more than it gains on products this small). The limit is process-wide while a transform
runs. Small transforms run on the calling thread. Large batches are processed in chunks of bounded memory.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
from scipy import fft as sp_fft

from .._validation import check_signal
from . import _kernels
from .sampling import _check_L, check_sampling, gauss_legendre_grid, driscoll_healy_grid, healpix_nside, healpix_rings

__all__ = ["forward_sht", "inverse_sht", "TABLE_BYTES_MAX"]

#: Largest Legendre table kept in memory (bytes); larger grids compute their tables per block of m.
TABLE_BYTES_MAX = 96 * 2**20
#: Largest block of table computed on the fly by one thread (bytes).
_BLOCK_BYTES = 16 * 2**20
#: Largest batch chunk, in bytes of ring spectra (complex128): bounds the memory of the intermediate arrays
#: (tables computed on the fly are computed again for every chunk).
_CHUNK_BYTES = 256 * 2**20
#: Orders m per block of work: a block is gathered, multiplied and scattered by one thread.
_M_PER_BLOCK = 16


def _n_threads():
    return os.cpu_count() or 1


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limit = None
_blas_controller = None


@contextmanager
def _single_threaded_blas():
    """Run BLAS on one thread: the transforms run their own threads over blocks of m, and a threaded BLAS
    under them (or on a loaded machine) spins and loses far more than it gains on these small products.

    The limit is process-wide (threadpoolctl); it is reference-counted so that transforms running at the same
    time in several threads restore the user's setting only when the last one ends.
    """
    global _blas_users, _blas_limit, _blas_controller
    with _blas_lock:
        if _blas_users == 0:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
                _blas_limit = None
            else:
                if _blas_controller is None:  # scanning the loaded libraries costs ~1 ms: once
                    _blas_controller = ThreadpoolController()
                _blas_limit = _blas_controller.limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limit is not None:
                _blas_limit.restore_original_limits()
                _blas_limit = None


_pool = None
_pool_key = None


def _thread_pool():
    """One pool for every transform: starting threads at each call costs more than a small transform.

    A forked child (multiprocessing) inherits the pool object but not its threads: it gets a new pool.
    """
    global _pool, _pool_key
    key = (os.getpid(), _n_threads())
    if _pool is None or _pool_key != key:
        _pool = ThreadPoolExecutor(max_workers=key[1], thread_name_prefix="scatter-sht")
        _pool_key = key
    return _pool


#: Below this many flops of Legendre products, a transform runs on the calling thread alone: threads and the
#: BLAS thread limit cost more than they save (and OpenBLAS keeps products this small on one thread).
_THREADED_FLOPS = 4_000_000


def _run_blocks(task, blocks, flops):
    """``task(block)`` for every block, on up to ``os.cpu_count()`` threads (the work releases the GIL)."""
    if flops < _THREADED_FLOPS or min(_n_threads(), len(blocks)) <= 1:
        for block in blocks:
            task(block)
        return
    with _single_threaded_blas():
        list(_thread_pool().map(task, blocks))


class _LegendrePlan:
    """Legendre tables of one grid on its northern rings (equator included), and its blocks of orders m."""

    def __init__(self, L, theta, on_the_fly=None):
        self.L = L
        self.n_rings = theta.size
        self.n_north = (theta.size + 1) // 2
        th = theta[: self.n_north]
        self.x = np.ascontiguousarray(np.cos(th))
        self.sin = np.ascontiguousarray(np.sin(th))
        # Exact values at the equator (HEALPix, odd GL): the odd functions vanish there.
        if theta.size % 2:
            self.x[-1] = 0.0
            self.sin[-1] = 1.0
        rows = L - np.arange(L, dtype=np.int64)
        self.offsets = np.concatenate(([0], np.cumsum(rows))).astype(np.int64)
        table_bytes = int(self.offsets[-1]) * self.n_north * 8
        if on_the_fly is None:
            on_the_fly = table_bytes > TABLE_BYTES_MAX
        self.on_the_fly = on_the_fly
        per_block = _M_PER_BLOCK
        if on_the_fly:
            per_block = max(1, min(per_block, _BLOCK_BYTES // (8 * L * self.n_north)))
        self.blocks = [(m, min(m + per_block, L)) for m in range(0, L, per_block)]
        self._table = None if on_the_fly else self._compute(0, L)

    def flops(self, n_maps):
        """Flops of the Legendre products of a transform of ``n_maps`` maps."""
        return 4 * int(self.offsets[-1]) * self.n_north * n_maps

    def _compute(self, m_start, m_stop):
        offsets = self.offsets[m_start:m_stop] - self.offsets[m_start]
        out = np.empty((int(self.offsets[m_stop] - self.offsets[m_start]), self.n_north))
        _kernels.legendre_table(self.x, self.sin, m_start, m_stop, self.L, offsets, out)
        return out

    def cached_table(self):
        """The table of every order, or an empty array when the tables are computed on the fly."""
        return self._table if self._table is not None else np.empty((0, self.n_north))


#: Internal grid of the private ring transforms: the Gauss-Legendre rings of a bandlimit with the smallest fast
#: FFT length of longitudes that is at least ``2 L - 1`` (``2 L - 1`` itself can be prime: 31, 127, 8191), which
#: keeps the quadrature exact for bandlimit ``L``. Used for the scattering's intermediate moduli.
_GL_FAST = "gl-fast"


@lru_cache(maxsize=16)
def _ring_grid(L, sampling, grid_L):
    """``(theta, weights, n_phi, plan)`` of the ring grid of bandlimit ``grid_L``, with the Legendre plan of the
    degrees below ``L``."""
    if sampling == _GL_FAST:
        theta, _, weights = gauss_legendre_grid(grid_L)
        n_phi = sp_fft.next_fast_len(2 * grid_L - 1, real=True)
        return theta, weights * ((2 * grid_L - 1) / n_phi), n_phi, _LegendrePlan(L, theta)
    theta, phi, weights = gauss_legendre_grid(grid_L) if sampling == "gl" else driscoll_healy_grid(grid_L)
    return theta, weights, phi.size, _LegendrePlan(L, theta)


@lru_cache(maxsize=4)
def _healpix_grid(L, nside):
    theta, n_phi, phi0, start = healpix_rings(nside)
    return theta, n_phi, phi0, start, _LegendrePlan(L, theta)


def _analysis(F, weights, plan, out=None):
    """Legendre step of the forward transform.

    ``F`` (B, n_rings, >= L) ring spectra, ``weights`` (n_north,) ring weights -> ``flm`` (B, L, L).
    """
    B, L = F.shape[0], plan.L
    if out is None:
        out = np.empty((B, L, L), dtype=np.complex128)
    out[:] = 0.0
    weights = np.ascontiguousarray(weights[: plan.n_north], dtype=np.float64)
    table = plan.cached_table()

    def task(block):
        _kernels.analysis_block(F, weights, table, plan.x, plan.sin, L, plan.offsets, block[0], block[1], out)

    _run_blocks(task, plan.blocks, plan.flops(B))
    return out


def _synthesis(flm, plan, n_modes):
    """Legendre step of the inverse transform: ``flm`` (B, L, L) -> ring spectra (B, n_rings, n_modes)."""
    B, L = flm.shape[0], plan.L
    G = np.empty((B, plan.n_rings, n_modes), dtype=np.complex128)
    G[:, :, L:] = 0.0
    table = plan.cached_table()

    def task(block):
        _kernels.synthesis_block(flm, table, plan.x, plan.sin, L, plan.offsets, block[0], block[1], G)

    _run_blocks(task, plan.blocks, plan.flops(B))
    return G


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
        weights = np.full(plan.n_north, 4 * np.pi / x.shape[1])
    else:
        return _ring_analysis(maps.reshape(-1, *maps.shape[-2:]), L, sampling, L).reshape(*batch, L, L)
    return _analysis(F, weights, plan).reshape(*batch, L, L)


def _ring_analysis(x, L, sampling, grid_L):
    """Coefficients of degrees below ``L`` of maps ``x`` (B, *grid) on the ring grid of bandlimit ``grid_L``.

    With ``L < grid_L`` this is the first ``L`` degrees of the full analysis at ``grid_L``, at a fraction of
    its cost (not validated: ``x`` float64 of the right shape).
    """
    theta, weights, n_phi, plan = _ring_grid(L, sampling, grid_L)
    out = np.empty((x.shape[0], L, L), dtype=np.complex128)
    for start, stop in _chunks(x.shape[0], x.shape[1] * (n_phi // 2 + 1)):
        F = sp_fft.rfft(x[start:stop], axis=-1, workers=_fft_workers(x[start:stop].size))
        _analysis(F, weights, plan, out[start:stop])
    return out


def _fft_workers(size):
    """FFT threads: several only for large batches (pocketfft starts its threads at every call)."""
    return _n_threads() if size >= 1 << 18 else 1


def _chunks(n_items, spectrum_size):
    """Bounds of the batch chunks: at most ``_CHUNK_BYTES`` of complex spectra each."""
    size = max(1, _CHUNK_BYTES // (16 * spectrum_size))
    return [(i, min(i + size, n_items)) for i in range(0, n_items, size)] or [(0, 0)]


def _healpix_ring_spectra(x, L, n_phi, phi0, start):
    """Ring spectra ``sum_k f_k e^{-i m phi_k}`` for m < L, aliased onto each ring's n_phi points."""
    B = x.shape[0]
    F = np.empty((B, n_phi.size, L), dtype=np.complex128)
    m = np.arange(L)
    for i in range(n_phi.size):
        n = int(n_phi[i])
        c = sp_fft.fft(x[:, start[i]: start[i] + n], axis=-1)
        F[:, i] = c[:, m % n] * np.exp(-1j * m * phi0[i])
    return F


def _check_flm(flm, L):
    flm = np.asarray(flm)
    if flm.dtype.kind not in "biufc":
        raise TypeError(f"flm must be a numeric array; got dtype {flm.dtype}")
    if flm.ndim < 2 or flm.shape[-2:] != (L, L):
        raise ValueError(f"flm must have shape (..., L, L) = (..., {L}, {L}) for L={L}; got {flm.shape}")
    flm = np.ascontiguousarray(flm, dtype=np.complex128)
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
    maps = _ring_synthesis(flm.reshape(-1, L, L), sampling, L)
    return maps.reshape(*flm.shape[:-2], *maps.shape[-2:])


def _ring_synthesis(flm, sampling, grid_L):
    """Maps on the ring grid of bandlimit ``grid_L`` of coefficients ``flm`` (B, L, L) with ``L <= grid_L``:
    the same as zero-padding them to ``grid_L``, at a fraction of the cost (not validated: ``flm`` complex128,
    C-contiguous)."""
    L = flm.shape[-1]
    theta, weights, n_phi, plan = _ring_grid(L, sampling, grid_L)
    chunks = _chunks(flm.shape[0], plan.n_rings * (n_phi // 2 + 1))
    maps = None if len(chunks) == 1 else np.empty((flm.shape[0], plan.n_rings, n_phi))
    for start, stop in chunks:
        G = _synthesis(flm[start:stop], plan, n_phi // 2 + 1)
        part = sp_fft.irfft(G, n=n_phi, axis=-1, norm="forward", workers=_fft_workers(G.size * 2))
        del G
        if maps is None:
            maps = part  # a single chunk: no copy
        else:
            maps[start:stop] = part
    return maps
