"""Numba kernels of the grid scattering transforms.

Only ``@njit`` code lives here. Every kernel is parallel over the batch (the outermost ``prange``) and
works in the dtype of its input, so float32 stays float32 and complex64 stays complex64.

Spectra of real signals are stored as halves, the way ``scipy.fft.rfftn`` returns them: the last axis
holds the frequencies ``0 .. N // 2`` and the others are read through Hermitian symmetry,
``X[-p, -q] = conj(X[p, q])``.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def reflect_pad_1d(x, left, out):
    """Write ``x`` (B, N) into ``out`` (B, Np) with ``left`` samples of mirror padding before it.

    Mirror reflection without repeating the edge sample (NumPy's ``mode="reflect"``), repeated as often as
    the padding needs.
    """
    n_batch, n = x.shape
    n_out = out.shape[1]
    period = 2 * (n - 1)
    for b in prange(n_batch):
        for t in range(n_out):
            src = t - left
            if period == 0:
                src = 0
            else:
                src %= period
                if src >= n:
                    src = period - src
            out[b, t] = x[b, src]


@njit(cache=True, parallel=True)
def reflect_pad_2d(x, top, left, out):
    """2D version of :func:`reflect_pad_1d`: mirror padding along both trailing axes."""
    n_batch, m, n = x.shape
    m_out, n_out = out.shape[1], out.shape[2]
    period_m = 2 * (m - 1)
    period_n = 2 * (n - 1)
    for b in prange(n_batch):
        for r in range(m_out):
            src_r = r - top
            if period_m == 0:
                src_r = 0
            else:
                src_r %= period_m
                if src_r >= m:
                    src_r = period_m - src_r
            for c in range(n_out):
                src_c = c - left
                if period_n == 0:
                    src_c = 0
                else:
                    src_c %= period_n
                    if src_c >= n:
                        src_c = period_n - src_c
                out[b, r, c] = x[b, src_r, src_c]


@njit(cache=True, parallel=True)
def multiply_periodize_1d(x_half, filt, factor, out):
    """Multiply a half spectrum by a filter and periodize the product by ``factor``.

    ``out[b, k] = (1 / s) * sum_{i < s} X[b, k + i n] h[k + i n]`` with ``s = factor`` and
    ``n = N / s``, for ``k < out.shape[1]`` (``n`` for a full spectrum, ``n // 2 + 1`` for a half one).
    In the signal domain this is the convolution with ``h`` followed by subsampling by ``s``.
    """
    n_batch = x_half.shape[0]
    n_half = x_half.shape[1]
    n_full = filt.shape[0]
    n_sub = n_full // factor
    n_cols = out.shape[1]
    scale = 1.0 / factor
    for b in prange(n_batch):
        for k in range(n_cols):
            acc = x_half[b, 0] * 0
            for i in range(factor):
                q = k + i * n_sub
                h = filt[q]
                if q < n_half:
                    acc += x_half[b, q] * h
                else:
                    acc += np.conj(x_half[b, n_full - q]) * h
            out[b, k] = acc * scale


@njit(cache=True, parallel=True)
def multiply_periodize_2d(x_half, filt, factor, out):
    """2D version of :func:`multiply_periodize_1d`.

    ``out[b, k1, k2] = (1 / s^2) * sum_{i, j < s} X[b, k1 + i m, k2 + j n] h[k1 + i m, k2 + j n]`` with
    ``(m, n) = (M / s, N / s)``, for ``k2 < out.shape[2]``.
    """
    n_batch = x_half.shape[0]
    n_half = x_half.shape[2]
    m_full, n_full = filt.shape
    m_sub = m_full // factor
    n_sub = n_full // factor
    n_cols = out.shape[2]
    scale = 1.0 / (factor * factor)
    for b in prange(n_batch):
        for k1 in range(m_sub):
            for k2 in range(n_cols):
                out[b, k1, k2] = 0
        for i in range(factor):
            for k1 in range(m_sub):
                p = k1 + i * m_sub
                p_mirror = (m_full - p) % m_full
                for j in range(factor):
                    for k2 in range(n_cols):
                        q = k2 + j * n_sub
                        h = filt[p, q]
                        if q < n_half:
                            out[b, k1, k2] += x_half[b, p, q] * h
                        else:
                            out[b, k1, k2] += np.conj(x_half[b, p_mirror, n_full - q]) * h
        for k1 in range(m_sub):
            for k2 in range(n_cols):
                out[b, k1, k2] *= scale


@njit(cache=True, parallel=True)
def modulus(z, out):
    """``out = |z|`` elementwise over arrays flattened to (B, n)."""
    n_batch, n = z.shape
    for b in prange(n_batch):
        for t in range(n):
            v = z[b, t]
            out[b, t] = np.sqrt(v.real * v.real + v.imag * v.imag)
