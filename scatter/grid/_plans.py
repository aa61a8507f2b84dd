"""Sparse plans for multiplying a half spectrum by a filter and periodizing the product.

A scattering layer multiplies the spectrum of a real signal by a band-limited filter, then subsamples in
space, which periodizes the product in frequency. Both steps touch only the frequencies where the filter
is not negligible, so a plan lists those frequencies once, at construction, with where to read them in the
half spectrum (``rfftn`` layout) and where they land on the coarser grid.
"""

import numpy as np

from . import _kernels

#: Filter values below this fraction of the filter's peak are dropped. For the Gaussian-shaped Morlet and
#: low-pass filters this truncates each filter beyond 7.6 standard deviations; the dropped terms change the
#: outputs by less than 1e-13 relative.
SUPPORT_EPS = 1e-13


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
    dict with ``src``, ``dst`` (int64), ``weight`` (``dtype``), ``n_direct`` and ``shape`` (the full
    coarse grid), for :func:`scatter.grid._kernels.multiply_periodize`.
    """
    full = h.shape
    coarse = tuple(n // factor for n in full)
    n_cols = coarse[-1] // 2 + 1 if half else coarse[-1]
    keep = np.abs(h) > SUPPORT_EPS * np.abs(h).max() if h.any() else np.zeros(h.shape, bool)
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
    order = np.argsort(mirrored, kind="stable")
    return {
        "src": np.ascontiguousarray(src[order], dtype=np.int64),
        "dst": np.ascontiguousarray(dst[order], dtype=np.int64),
        "weight": np.ascontiguousarray(weight[order], dtype=dtype),
        "n_direct": int(np.count_nonzero(~mirrored)),
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
        spectrum_half.reshape(n_batch, -1), plan["src"], plan["dst"], plan["weight"], plan["n_direct"], out
    )
    return out.reshape((n_batch,) + coarse[:-1] + (cols,))
