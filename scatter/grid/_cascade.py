"""The steps of the scattering cascade that the 1D and 2D transforms share, on one chunk of a batch."""

import numpy as np

from . import _fft, _kernels
from ._plans import apply_plan, complete_spectrum


def unit_scales(x):
    r"""Powers of two :math:`2^{-e_b}` that bring the peak :math:`\max |x_b|` of each signal into
    :math:`[1/2, 1)`, shape ``(B,)`` in the dtype of ``x`` (``(B, ...)``, real).

    Scattering is positively homogeneous, :math:`S(c x) = c\, S(x)` for :math:`c > 0`, and a power of two
    scales every floating-point step exactly, so ``S(x) = S(x * s) / s`` to the last bit, wherever ``x`` sits
    in the dtype's range. :math:`|e_b|` is capped two binades inside the exponent range, which keeps the
    scales and their inverses normal numbers; all-zero signals get 1.
    """
    flat = x.reshape(x.shape[0], int(np.prod(x.shape[1:])))
    peak = np.maximum(flat.max(axis=1, initial=0), -flat.min(axis=1, initial=0))
    cap = np.finfo(x.dtype).maxexp - 3
    exponent = np.clip(np.frexp(peak)[1], -cap, cap)
    return np.ldexp(np.ones(x.shape[0], x.dtype), -exponent)


def to_unit_scale(x, shape, empty, offsets=None):
    """The signals ``x`` (B, N) or (B, M, N) times their :func:`unit_scales`, in a new array of ``shape`` from
    ``empty``: mirror-padded with ``offsets`` samples before them on each axis (``(left,)`` or ``(top, left)``,
    :func:`~scatter.grid._kernels.reflect_pad_1d`), or copied as they are (``None``). Returns it and the
    scales, by which the outputs are then divided."""
    scales = unit_scales(x)
    scaled = empty(shape, x.dtype)
    if offsets is None:
        np.multiply(x, scales.reshape((-1,) + (1,) * (x.ndim - 1)), out=scaled)
    else:
        pad = _kernels.reflect_pad_1d if x.ndim == 2 else _kernels.reflect_pad_2d
        pad(x, *offsets, scales, scaled)
    return scaled, scales


def output_array(out, shape, dtype):
    """A new array of ``shape`` and ``dtype`` for a transform's outputs when ``out`` is None, else ``out`` once
    checked to have them (a ValueError naming ``out`` otherwise)."""
    if out is None:
        return np.empty(shape, dtype)
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(f"out must have shape {shape} and dtype {dtype}, got {out.shape} and {out.dtype}")
    return out


class CascadeSteps:
    """Spectra, moduli and low passes of a chunk over ``ndim`` axes, the low passes written into ``out``.

    Parameters
    ----------
    ndim : {1, 2}
        Axes of a signal.
    plans : dict
        The transform's plans (``"phi"`` and ``"lowpass"`` per level).
    out : ndarray, shape (B, C, ...)
        Output channels; the low passes keep the part ``window`` (slices per axis) of their grid.
    window : tuple of slice
    dtype : dtype
        Real dtype of the moduli.
    workers : int or None
        Threads of the FFTs.
    fft : {"pocketfft", "fftw"}
        FFT library (:mod:`scatter.grid._fft`).
    """

    def __init__(self, ndim, plans, out, window, dtype, workers, fft="pocketfft"):
        self.ndim, self.plans, self.out, self.window = ndim, plans, out, window
        self.dtype, self.workers, self.fft = dtype, workers, fft
        self.empty = _fft.allocator(fft)
        self._buffers = {}

    def _buffer(self, role, shape, dtype):
        """The chunk's buffer for ``role`` of this shape and dtype: made once, then reused by every step of that
        role, whose result the cascade consumes before the next such step."""
        key = (role, shape, dtype)
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = self.empty(shape, dtype)
        return buffer

    def spectrum(self, u, readers, reuse=None):
        """Full spectra of the real ``u``, completed for the plans ``readers``; with ``reuse`` (a role of
        :meth:`_buffer`), in the chunk's buffer of that role and shape, whose previous contents must no longer be
        needed, and which no step may write while these spectra are read."""
        out = self._buffer(reuse, u.shape, np.result_type(u.dtype, np.complex64)) if reuse else None
        return complete_spectrum(_fft.rfft_full(u, ndim=self.ndim, workers=self.workers, backend=self.fft, out=out),
                                 readers)

    def product(self, full, plan):
        """Coarse spectra of the product of full spectra with a wavelet, in a reused buffer: the next
        :meth:`modulus` consumes them."""
        return apply_plan(full, plan, lambda shape, dtype: self._buffer("product", shape, dtype))

    def modulus(self, coarse_spectrum):
        """``|F^-1 X|`` of coarse spectra ``X`` (overwritten), for signals brought to :func:`unit_scales`; on
        FFTW the plans that made ``X`` carry the ``1 / N`` of the inverse FFT (``plans_*d(..., fft="fftw")``).
        In a reused buffer: the next step consumes it."""
        z = _fft.ifft_inplace(coarse_spectrum, ndim=self.ndim, workers=self.workers, normalised=not _fft.unnormalised_inverse(self.fft),
                              backend=self.fft)
        out = self._buffer("modulus", z.shape, self.dtype)
        _kernels.modulus(z.reshape(-1).view(self.dtype), out.reshape(-1))
        return out

    def lowpass(self, full, level, channel):
        """Channel ``channel`` from full spectra at resolution ``level``: product with the low pass, inverse FFT."""
        plan = self.plans["phi"][level]
        coarse = apply_plan(full, plan, self.empty)
        s = _fft.irfft(coarse, ndim=self.ndim, n_last=plan["shape"][-1], workers=self.workers, backend=self.fft)
        self.out[:, channel] = s[(slice(None),) + self.window]

    def last_lowpass(self, u, level, channel):
        """The low pass of moduli ``u`` that no wavelet reads: in space when that is cheaper, by the taps (for
        images, by matrix products where these are cheaper; :func:`scatter.grid._plans.lowpass_in_space`)."""
        plan = self.plans["lowpass"][level]
        if plan is None:
            self.lowpass(self.spectrum(u, [self.plans["phi"][level]]), level, channel)
            return
        target = self.out[:, channel]
        if self.ndim == 1:
            _kernels.lowpass_1d(u, plan["starts_1d"], plan["taps_1d"], target)
            return
        if "col_matrix" in plan:
            # Products of the same shapes for every image, in any batch, so that an image's sums, hence its bits,
            # do not depend on the batch; each small enough for BLAS to run it on this thread.
            n_batch, height, width = u.shape
            blocks = u.reshape(n_batch * (height // plan["matrix_rows"]), plan["matrix_rows"], width)
            columns = self._buffer("columns", blocks.shape[:-1] + plan["col_matrix"].shape[-1:], u.dtype)
            np.matmul(blocks, plan["col_matrix"], out=columns)
            columns = columns.reshape(n_batch, height, -1)
            np.matmul(plan["row_matrix"], columns, out=target)
            return
        _kernels.separable_lowpass(u, plan["row_src"], plan["row_w"], plan["col_src"], plan["col_w"], target)
