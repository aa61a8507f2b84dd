"""Sparse plans for multiplying a half spectrum by a filter and periodizing the product.

A scattering layer multiplies the spectrum of a real signal by a band-limited filter, then subsamples in
space, which periodizes the product in frequency. Both steps touch only the frequencies where the filter
is not negligible, so a plan lists those frequencies once, at construction, with where to read them in the
half spectrum (``rfftn`` layout) and where they land on the coarser grid.

Those frequencies come in runs along the last axis whose source and destination both advance one by one
(the source backwards for frequencies read from their Hermitian mirror), so a plan stores runs
(segments), and the kernel's inner loop is a unit-stride multiply-accumulate with no index arrays.
"""

import numpy as np

from . import _kernels

#: Filter values below this fraction of the filter's peak are dropped, by the dtype of the plan's weights.
#: For the Gaussian-shaped Morlet and low-pass filters, 1e-13 (float64) truncates each filter beyond 7.6
#: standard deviations and changes the outputs by less than 1e-13 relative; 1e-8 (float32, whose rounding
#: unit is 6e-8) beyond 6.1 standard deviations, which drops a fifth of the terms of large filters.
SUPPORT_EPS = {np.dtype(np.float64): 1e-13, np.dtype(np.float32): 1e-8}


def periodization_plan(h, factor, half, dtype):
    """Plan of ``out[k] = mean over the factor^d aliases q of k of X[q] h[q]`` on a grid ``factor`` times coarser.

    Parameters
    ----------
    h : ndarray, shape (N,) or (M, N), real
        Filter on the full grid (dimensions divisible by ``factor``).
    factor : int
        Subsampling factor per axis.
    half : bool
        Whether the output is a half spectrum (for an inverse real FFT) or a full one.
    dtype : dtype
        Real dtype of the weights.

    Returns
    -------
    dict
        ``seg_src``, ``seg_dst``, ``seg_len`` (int64): each segment's first source and destination index and
        its length; ``weight`` (``dtype``): the weights of the segments' terms, one after the other;
        ``n_direct``: the segments read directly (the others read conjugated mirrors, backwards);
        ``shape``: the full coarse grid; ``half``. For :func:`scatter.grid._kernels.multiply_periodize`.
    """
    full = h.shape
    coarse = tuple(n // factor for n in full)
    n_cols = coarse[-1] // 2 + 1 if half else coarse[-1]
    eps = SUPPORT_EPS[np.dtype(dtype)]
    keep = np.abs(h) > eps * np.abs(h).max() if h.any() else np.zeros(h.shape, bool)
    idx = np.nonzero(keep)
    dest = [i % c for i, c in zip(idx, coarse)]
    on_grid = dest[-1] < n_cols
    idx = [i[on_grid] for i in idx]
    dest = [d[on_grid] for d in dest]
    weight = h[tuple(idx)] / factor ** h.ndim
    # Frequencies past the last axis' Nyquist are held by their mirror -q in the half spectrum.
    half_len = full[-1] // 2 + 1
    mirrored = idx[-1] >= half_len
    src_idx = [np.where(mirrored, (n - i) % n, i) for i, n in zip(idx, full)]
    src = np.ravel_multi_index(src_idx, full[:-1] + (half_len,))
    dst = np.ravel_multi_index(dest, coarse[:-1] + (n_cols,))
    # Terms come in row-major order of the full grid; direct ones first, then mirrored ones.
    order = np.argsort(mirrored, kind="stable")
    src, dst, mirrored = src[order], dst[order], mirrored[order]
    step = np.where(mirrored, -1, 1)
    starts = np.ones(src.size, bool)
    starts[1:] = (src[1:] - src[:-1] != step[1:]) | (dst[1:] - dst[:-1] != 1) | (mirrored[1:] != mirrored[:-1])
    first = np.flatnonzero(starts)
    return {
        "seg_src": np.ascontiguousarray(src[first], dtype=np.int64),
        "seg_dst": np.ascontiguousarray(dst[first], dtype=np.int64),
        "seg_len": np.diff(np.append(first, src.size)).astype(np.int64),
        "weight": np.ascontiguousarray(weight[order], dtype=dtype),
        "n_direct": int(np.count_nonzero(~mirrored[first])),
        "shape": coarse,
        "half": half,
    }


def apply_plan(spectrum_half, plan):
    """Run a plan on a batch of half spectra ``(B, ...)``; returns the coarse spectra ``(B, ...)``."""
    n_batch = spectrum_half.shape[0]
    coarse = plan["shape"]
    cols = coarse[-1] // 2 + 1 if plan["half"] else coarse[-1]
    out = np.empty((n_batch, int(np.prod(coarse[:-1], dtype=np.int64)) * cols), spectrum_half.dtype)
    _kernels.multiply_periodize(
        spectrum_half.reshape(n_batch, -1),
        plan["seg_src"],
        plan["seg_dst"],
        plan["seg_len"],
        plan["n_direct"],
        plan["weight"],
        out,
    )
    return out.reshape((n_batch,) + coarse[:-1] + (cols,))
