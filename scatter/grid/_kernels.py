"""Numba kernels of the grid scattering transforms.

Only ``@njit`` code lives here. Every kernel is serial and releases the GIL: the transforms run chunks of
the batch on several Python threads at once (:func:`scatter.grid._batch.map_chunks`), which keeps every core
busy without the barriers of a parallel loop per call. Kernels work in the dtype of their input, so float32
stays float32 and complex64 stays complex64.

Spectra of real signals are stored as halves, the way ``scipy.fft.rfftn`` returns them: the last axis
holds the frequencies ``0 .. N // 2`` and the others are read through Hermitian symmetry,
``X[-p, -q] = conj(X[p, q])``.
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _reflect_index(i, n):
    """Index into a length-``n`` axis of position ``i`` of its mirror extension (edge not repeated)."""
    period = 2 * (n - 1)
    if period == 0:
        return 0
    i %= period
    return period - i if i >= n else i


@njit(cache=True, nogil=True)
def reflect_pad_1d(x, left, out):
    """Write ``x`` (B, N) into ``out`` (B, Np) with ``left`` samples of mirror padding before it.

    Mirror reflection without repeating the edge sample (NumPy's ``mode="reflect"``), repeated as often as
    the padding needs.
    """
    n_batch, n = x.shape
    for b in range(n_batch):
        for t in range(out.shape[1]):
            out[b, t] = x[b, _reflect_index(t - left, n)]


@njit(cache=True, nogil=True)
def reflect_pad_2d(x, top, left, out):
    """2D version of :func:`reflect_pad_1d`: mirror padding along both trailing axes."""
    n_batch, m, n = x.shape
    for b in range(n_batch):
        for r in range(out.shape[1]):
            src_r = _reflect_index(r - top, m)
            for c in range(out.shape[2]):
                out[b, r, c] = x[b, src_r, _reflect_index(c - left, n)]


@njit(cache=True, nogil=True)
def multiply_periodize(x_half, src, dst, weight, n_direct, out):
    """Sparse product of half spectra with a filter, periodized onto a coarser grid.

    For each image ``b``: ``out[b] = 0``, then ``out[b, dst[t]] += X[b, src[t]] * weight[t]``, where ``X`` is
    read directly for ``t < n_direct`` and conjugated for the others (frequencies held by their Hermitian
    mirror). Arrays are flattened per image; the plan comes from :func:`scatter.grid._plans.periodization_plan`.
    """
    n_batch = x_half.shape[0]
    n_out = out.shape[1]
    n_terms = src.shape[0]
    for b in range(n_batch):
        x = x_half[b]
        row = out[b]
        for k in range(n_out):
            row[k] = 0
        for t in range(n_direct):
            row[dst[t]] += x[src[t]] * weight[t]
        for t in range(n_direct, n_terms):
            row[dst[t]] += np.conj(x[src[t]]) * weight[t]


@njit(cache=True, nogil=True)
def modulus(z, out):
    """``out = |z|`` elementwise over arrays flattened to (B, n)."""
    n_batch, n = z.shape
    for b in range(n_batch):
        for t in range(n):
            out[b, t] = abs(z[b, t])  # hypot: no overflow or underflow of the squares
