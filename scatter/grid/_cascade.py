"""The steps of the scattering cascade that the 1D and 2D transforms share, on one chunk of a batch."""

import numpy as np

from . import _fft, _kernels
from ._plans import apply_plan, complete_spectrum


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
    """

    def __init__(self, ndim, plans, out, window, dtype, workers):
        self.ndim, self.plans, self.out, self.window = ndim, plans, out, window
        self.dtype, self.workers = dtype, workers

    def spectrum(self, u, readers):
        """Full spectra of the real ``u``, completed for the plans ``readers``."""
        return complete_spectrum(_fft.rfft_full(u, ndim=self.ndim, workers=self.workers), readers)

    def modulus(self, coarse_spectrum):
        """``|F^-1 X|`` of coarse spectra ``X`` (overwritten)."""
        z = _fft.ifft_inplace(coarse_spectrum, ndim=self.ndim, workers=self.workers)
        return np.abs(z, out=np.empty(z.shape, self.dtype))  # numpy's vectorised hypot

    def lowpass(self, full, level, channel):
        """Channel ``channel`` from full spectra at resolution ``level``: product with the low pass, inverse FFT."""
        plan = self.plans["phi"][level]
        s = _fft.irfft(apply_plan(full, plan), ndim=self.ndim, n_last=plan["shape"][-1], workers=self.workers)
        self.out[:, channel] = s[(slice(None),) + self.window]

    def last_lowpass(self, u, level, channel):
        """The low pass of moduli ``u`` that no wavelet reads: in space when that is cheaper."""
        plan = self.plans["lowpass"][level]
        if plan is None:
            self.lowpass(self.spectrum(u, [self.plans["phi"][level]]), level, channel)
            return
        target = self.out[:, channel]
        rows = u.reshape((u.shape[0], -1, u.shape[-1]))
        if self.ndim == 1:
            target = target[:, None]
        _kernels.separable_lowpass(rows, plan["row_src"], plan["row_w"], plan["col_src"], plan["col_w"], target)
