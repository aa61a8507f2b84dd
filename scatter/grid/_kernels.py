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


# Reassociating and contracting the sums of products is harmless and lets LLVM vectorise the inner loops.
@njit(cache=True, nogil=True, fastmath={"contract", "reassoc"})
def multiply_periodize(x_half, seg_src, seg_dst, seg_len, n_direct, weight, out):
    """Sparse product of half spectra with a filter, periodized onto a coarser grid, by segments.

    For each image ``b``: ``out[b] = 0``, then for every segment ``s`` with ``a, d, n = seg_src[s],
    seg_dst[s], seg_len[s]`` and its weights ``w`` (consecutive in ``weight``): ``out[b, d + i] +=
    X[b, a + i] * w[i]`` for the first ``n_direct`` segments and ``conj(X[b, a - i]) * w[i]`` for the others
    (frequencies held by their Hermitian mirror), ``0 <= i < n``. Arrays are flattened per image; the plan
    comes from :func:`scatter.grid._plans.periodization_plan`.
    """
    n_batch = x_half.shape[0]
    n_out = out.shape[1]
    n_segments = seg_src.shape[0]
    for b in range(n_batch):
        x = x_half[b]
        row = out[b]
        for k in range(n_out):
            row[k] = 0
        w = 0
        for s in range(n_direct):
            a, d = seg_src[s], seg_dst[s]
            for i in range(seg_len[s]):
                row[d + i] += x[a + i] * weight[w + i]
            w += seg_len[s]
        for s in range(n_direct, n_segments):
            a, d = seg_src[s], seg_dst[s]
            for i in range(seg_len[s]):
                row[d + i] += np.conj(x[a - i]) * weight[w + i]
            w += seg_len[s]
