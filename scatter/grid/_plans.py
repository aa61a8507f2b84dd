"""Sparse plans for multiplying a spectrum by a filter and periodizing the product.

A scattering layer multiplies the spectrum of a real signal by a band-limited filter, then subsamples in
space, which periodizes the product in frequency. Both steps touch only the frequencies where the filter
is not negligible, so a plan lists those frequencies once, at construction, with where to read them in the
full spectrum and where they land on the coarser grid.

The transforms compute half spectra (``rfftn``) and complete them once by Hermitian symmetry
(:func:`complete_spectrum`); every plan that reads a spectrum then reads it directly. The frequencies a plan
reads come in runs along the last axis whose source and destination both advance one by one, so a plan
stores runs (segments) in units of the real and imaginary parts, and the kernel's inner loop is a
unit-stride multiply-accumulate over real numbers, with no index arrays, which vectorises.
"""

import math

import numpy as np

from . import _kernels

#: Filter values below this fraction of the filter's peak are dropped, by the dtype of the plan's weights.
#: For the Gaussian-shaped Morlet and low-pass filters, 1e-13 (float64) truncates each filter beyond 7.6
#: standard deviations and changes the outputs by less than 1e-13 relative; 1e-8 (float32, whose rounding
#: unit is 6e-8) beyond 6.1 standard deviations, which drops a fifth of the terms of large filters.
SUPPORT_EPS = {np.dtype(np.float64): 1e-13, np.dtype(np.float32): 1e-8}


def periodization_plan(h, factor, half, dtype, inverse_norm=False):
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
    inverse_norm : bool, default False
        Also divide by the number of points of the coarse grid: the normalisation of the inverse FFT that
        follows, which then runs unnormalised (FFTW's, which would otherwise scale in a pass of its own).

    Returns
    -------
    dict
        ``seg_src``, ``seg_dst``, ``seg_len`` (int64): each segment's first source and destination index and
        its length, counted in real numbers of the flattened complex arrays (twice the complex index);
        ``weight`` (``dtype``): the weights of the segments' terms, one after the other, each twice (for the
        real and the imaginary part); ``shape``: the full coarse grid; ``half``; ``mirror_from``: the first
        column past the last axis' Nyquist frequency that the plan reads (the axis' length if none), from
        which :func:`complete_spectrum` must complete the spectra the plan reads; ``out_shape``: the shape of
        one item's output (``shape``, its last axis cut to ``N // 2 + 1`` when ``half``). For :func:`apply_plan`.
    """
    full = h.shape
    coarse = tuple(n // factor for n in full)
    n_cols = coarse[-1] // 2 + 1 if half else coarse[-1]
    eps = SUPPORT_EPS[np.dtype(dtype)]
    keep = np.abs(h) > eps * np.abs(h).max() if h.any() else np.zeros(h.shape, bool)
    idx = np.nonzero(keep)  # row-major order of the full grid
    dest = [i % c for i, c in zip(idx, coarse)]
    on_grid = dest[-1] < n_cols
    idx = [i[on_grid] for i in idx]
    dest = [d[on_grid] for d in dest]
    weight = h[tuple(idx)] / factor ** h.ndim
    if inverse_norm:
        weight = weight / math.prod(coarse)
    src = np.ravel_multi_index(idx, full)
    dst = np.ravel_multi_index(dest, coarse[:-1] + (n_cols,))
    starts = np.ones(src.size, bool)
    starts[1:] = (np.diff(src) != 1) | (np.diff(dst) != 1)
    first = np.flatnonzero(starts)
    mirrored = idx[-1][idx[-1] > full[-1] // 2]
    return {
        "seg_src": 2 * src[first].astype(np.int64),
        "seg_dst": 2 * dst[first].astype(np.int64),
        "seg_len": 2 * np.diff(np.append(first, src.size)).astype(np.int64),
        "weight": np.repeat(weight, 2).astype(dtype),
        "shape": coarse,
        "out_shape": coarse[:-1] + (n_cols,),
        "half": half,
        "mirror_from": int(mirrored.min()) if mirrored.size else full[-1],
    }


def complete_spectrum(full, readers):
    r"""Complete in place spectra ``(B, ..., N)`` of real signals whose columns ``0 .. N // 2`` are set.

    :math:`X[p, q] = \overline{X[-p, -q]}` for the frequencies ``q > N // 2`` of the last axis (1 or 2
    axes), from the first column that one of the plans ``readers`` reads (``mirror_from``): the columns
    before it stay unset, and only those plans may read the result. Returns ``full``.
    """
    _kernels.hermitian_complete(full.reshape(full.shape[0], -1, full.shape[-1]),
                                min(plan["mirror_from"] for plan in readers))
    return full


def apply_plan(spectrum, plan, empty=np.empty):
    """Run a plan on a batch of full spectra ``(B, ...)``; returns the coarse spectra ``(B, ...)``, in an
    array from ``empty`` (:func:`scatter.grid._fft.allocator`)."""
    n_batch = spectrum.shape[0]
    out = empty((n_batch,) + plan["out_shape"], spectrum.dtype)
    real = out.real.dtype
    _kernels.multiply_periodize(
        spectrum.reshape(n_batch, -1).view(real),
        plan["seg_src"],
        plan["seg_dst"],
        plan["seg_len"],
        plan["weight"],
        out.reshape(n_batch, -1).view(real),
    )
    return out


def _window(v, eps):
    """Taps of the periodic filter ``v``: the offsets ``lo .. hi`` (within half a period of 0) outside which
    ``|v|`` is below ``eps`` of its peak, and ``v`` at them."""
    n = v.size
    offsets = np.arange(-((n - 1) // 2), n // 2 + 1)
    kept = offsets[np.abs(v[offsets % n]) > eps * np.abs(v).max()]
    lo, hi = int(kept.min()), int(kept.max())
    return lo, hi, v[np.arange(lo, hi + 1) % n]


def lowpass_plan(h, factor, first, count, dtype):
    r"""Plan of the low pass :math:`S[i] = (u \circledast \phi)[\mathrm{factor} \cdot (\mathrm{first} + i)]`
    computed in space, or ``None`` when the filter is not separable.

    The product of a spectrum with ``h`` periodized by ``factor`` (:func:`periodization_plan`) and inverted
    is the circular convolution of the signal with :math:`\phi = \mathcal{F}^{-1} h` sampled every
    ``factor`` points. When :math:`\phi[p, q] = a[p]\, b[q]` (the Gaussian low pass is), the few samples a
    scattering keeps cost two short 1D correlations, with no transform of the signal.

    Parameters
    ----------
    h : ndarray, shape (N,) or (M, N), real
        Filter's spectrum on the signal's grid, symmetric (:math:`\phi` real).
    factor : int
        Subsampling factor per axis.
    first, count : tuple of int
        First output index and number of outputs per axis, on the coarse grid.
    dtype : dtype
        Real dtype of the weights.

    Returns
    -------
    dict or None
        For :func:`scatter.grid._kernels.separable_lowpass`: ``row_src`` (rows read per output row),
        ``row_w``, ``col_src`` (first column read per output column) and ``col_w``.
    """
    eps = SUPPORT_EPS[np.dtype(dtype)]
    phi = np.fft.ifftn(h).real.reshape((-1,) + h.shape[-1:])
    if phi[0, 0] <= 0:
        return None
    a, b = phi[:, 0], phi[0] / phi[0, 0]
    if np.abs(phi - np.outer(a, b)).max() > 1e-13 * np.abs(phi).max():
        return None
    first = (0,) * (2 - len(first)) + tuple(first)
    count = (1,) * (2 - len(count)) + tuple(count)
    # Output row i reads rows R_i - e for the row offsets e; output column k the columns C_k - hi .. C_k - lo.
    lo, hi, row_w = _window(a, eps)
    rows = factor * (first[0] + np.arange(count[0]))  # 1D: one row, 0
    row_src = (rows[:, None] - np.arange(lo, hi + 1)[None, :]) % a.size
    lo, hi, col_w = _window(b, eps)
    cols = factor * (first[1] + np.arange(count[1]))
    return {
        "row_src": np.ascontiguousarray(row_src, dtype=np.int64),
        "row_w": row_w.astype(dtype),
        "col_src": ((cols - hi) % b.size).astype(np.int64),
        "col_w": col_w[::-1].astype(dtype),
    }


#: How many times faster BLAS's matrix products (:func:`numpy.matmul`, one product per signal) run the
#: multiply-adds of a low pass than the taps of :func:`scatter.grid._kernels.separable_lowpass`, whose inner
#: loops are as short as a coarse row. Measured (float32, one thread, 500 signals): W1's 20x20 moduli to 8x8
#: outputs, where both forms make the same 4480 multiply-adds per signal, 0.12 ms against 0.33 ms.
MATRIX_SPEEDUP = 2.5

#: Cost of the transforms a low pass in space saves (the forward real FFT of the signal, the product with the
#: filter and the inverse FFT of the outputs), per ``n log2 n`` of the signal's ``n`` samples, in multiply-adds
#: of the low pass's taps. Measured at the benchmarks' sizes (float32, one thread): the two take the same
#: time where the multiply-adds are 2.5 to 3 ``n log2 n`` (2D grids of 60x60 to 120x120, whose low passes
#: at the coarsest levels have taps over the whole period), and the space is 3.5 to 10 times faster where
#: they are 0.3 to 1.3 ``n log2 n``.
FFT_COST_PER_N_LOG_N = 2.5


def _tap_cost(plan, shape):
    """Multiply-adds of the low pass by its taps per signal of ``shape``: :func:`scatter.grid._kernels.lowpass_1d`
    for 1D signals, :func:`scatter.grid._kernels.separable_lowpass` (rows, then columns) for images."""
    n_rows, n_taps = plan["row_src"].shape
    columns = n_rows * plan["col_src"].size * plan["col_w"].size
    return columns if len(shape) == 1 else n_rows * n_taps * int(shape[-1]) + columns


def _matrix_cost(plan, shape):
    """Multiply-adds of the matrix products of :func:`lowpass_matrices` per image of ``shape``."""
    height, width = shape
    n_rows, n_cols = plan["row_src"].shape[0], plan["col_src"].size
    return height * width * n_cols + n_rows * height * n_cols


def lowpass_matrices(plan, shape):
    r"""The :func:`lowpass_plan` ``plan`` of images of ``shape`` as matrices: :math:`S_b = A\, u_b\, C` for
    each image :math:`u_b`.

    :math:`C[c, k] = \sum_s w^{col}_s [c \equiv c_k + s \pmod W]` (``W`` columns by the ``n`` output columns)
    and :math:`A[i, r] = \sum_t w^{row}_t [r = r_{i,t}]` (the ``m`` output rows by ``H`` rows): the same sums
    as :func:`scatter.grid._kernels.separable_lowpass`, with zeros where no tap reaches.

    Returns
    -------
    tuple of ndarray
        ``(A, C)`` in the dtype of the plan's weights, C-contiguous.
    """
    height, width = shape
    dtype = plan["col_w"].dtype
    n_rows, n_row_taps = plan["row_src"].shape
    rows = np.zeros((n_rows, height), np.float64)
    np.add.at(rows, (np.repeat(np.arange(n_rows), n_row_taps), plan["row_src"].ravel()),
              np.tile(plan["row_w"].astype(np.float64), n_rows))
    return rows.astype(dtype), np.ascontiguousarray(_fold_taps(plan["col_w"], plan["col_src"], width).T, dtype)


def _fold_taps(weights, starts, n):
    r""":math:`F[k, c] = \sum_s w_s [c \equiv a_k + s \pmod n]`: the taps ``weights`` read from ``starts``
    :math:`a_k` on a period of ``n``, as one row of weights over the period per output (float64)."""
    folded = np.zeros((len(starts), n), np.float64)
    reached = (np.asarray(starts)[:, None] + np.arange(weights.size)[None, :]) % n  # (output, tap)
    np.add.at(folded, (np.broadcast_to(np.arange(len(starts))[:, None], reached.shape), reached),
              np.broadcast_to(weights.astype(np.float64)[None, :], reached.shape))
    return folded


def lowpass_taps_1d(plan, n):
    r"""The :func:`lowpass_plan` ``plan`` of 1D signals of ``n`` samples for
    :func:`scatter.grid._kernels.lowpass_1d`: ``(starts, taps)`` with
    :math:`S[k] = \sum_s \mathrm{taps}_s\, u[(\mathrm{starts}_k + s) \bmod n]`.

    The taps are the column taps times the single row weight; more taps than samples wrap onto the same
    samples and are added up first, into ``n`` taps from each output's first sample.
    """
    weights = plan["col_w"].astype(np.float64) * float(plan["row_w"][0])
    starts = np.asarray(plan["col_src"], np.int64) % n
    if weights.size > n:
        weights = _fold_taps(weights, [0], n)[0]
    return starts, weights.astype(plan["col_w"].dtype)


def cheaper_in_space(plan, shape):
    """Whether the :func:`lowpass_plan` ``plan`` on a signal of ``shape`` costs less than the transforms, by
    its taps or by its :func:`lowpass_matrices`."""
    direct = _tap_cost(plan, shape)
    if _matrix_row_block(plan, shape) is not None:
        direct = min(direct, _matrix_cost(plan, shape) / MATRIX_SPEEDUP)
    n = int(np.prod(shape))
    return direct < FFT_COST_PER_N_LOG_N * n * max(np.log2(n), 1.0)


#: Largest matrix product (multiply-adds) the low passes hand BLAS: OpenBLAS runs products up to 2^18 on the
#: calling thread, where the transforms' own threads expect them, and splits larger ones over threads of its own.
MAX_MATRIX_PRODUCT = 1 << 18


def _matrix_row_block(plan, shape):
    """Rows of an image per product by the column matrix (the largest divisor of the row count that keeps the
    product within :data:`MAX_MATRIX_PRODUCT`), or ``None`` when even one row, or the product by the row
    matrix, exceeds it, or for 1D signals (:func:`lowpass_taps_1d` instead)."""
    if len(shape) == 1:
        return None
    height, width = shape
    n_rows, n_cols = plan["row_src"].shape[0], plan["col_src"].size
    if n_rows * height * n_cols > MAX_MATRIX_PRODUCT:
        return None
    fitting = [d for d in range(1, height + 1) if height % d == 0 and d * width * n_cols <= MAX_MATRIX_PRODUCT]
    return max(fitting) if fitting else None


def lowpass_in_space(h, factor, first, count, dtype):
    """The :func:`lowpass_plan` of these arguments where it is :func:`cheaper_in_space`, else ``None``. For 1D
    signals with its :func:`lowpass_taps_1d` as ``starts_1d`` and ``taps_1d``; for images, where its
    :func:`lowpass_matrices` are cheaper than its taps, with them as ``row_matrix`` and ``col_matrix``, and the
    rows of an image per product by ``col_matrix`` as ``matrix_rows`` (:func:`_matrix_row_block`)."""
    plan = lowpass_plan(h, factor, first, count, dtype)
    if plan is None or not cheaper_in_space(plan, h.shape):
        return None
    if h.ndim == 1:
        plan["starts_1d"], plan["taps_1d"] = lowpass_taps_1d(plan, h.size)
        return plan
    block = _matrix_row_block(plan, h.shape)
    if block is not None and _matrix_cost(plan, h.shape) < MATRIX_SPEEDUP * _tap_cost(plan, h.shape):
        plan["row_matrix"], plan["col_matrix"] = lowpass_matrices(plan, h.shape)
        plan["matrix_rows"] = block
    return plan
