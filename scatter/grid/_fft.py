"""The FFTs of the grid transforms: ducc0 for 2D batches, ``scipy.fft`` (pocketfft) for 1D.

Each function transforms a batch over its last ``ndim`` axes on ``workers`` threads (default 1; the
transforms pass 1 and parallelise over chunks of the batch instead) and releases the GIL. On the batches of
the speed benchmark, ducc0 took 65-85% of pocketfft's time for the 2D transforms (10-14% off whole 2D
scatterings) and about the same for 1D, where pocketfft stays: its results do not depend on how many
signals share a call, while ducc0's differ in the last bits with the batch (its SIMD lanes span several
transforms), by less than 1e-15 relative. The forward transform returns a buffer of the full spectrum's
shape with the half spectrum in its left part, which :func:`scatter.grid._plans.complete_spectrum` then
completes in place.

The transforms call these functions through the module (``_fft.rfft_full(...)``, keywords only), which lets
``benchmarks/fft_limit.py`` record and replay them.
"""

import ducc0
import numpy as np
from scipy import fft as sp_fft


def _axes(ndim):
    return tuple(range(-ndim, 0))


def _threads(workers):
    return 1 if workers is None else workers


def rfft_full(u, ndim, workers=1):
    """Spectra of the real ``u`` in a buffer of the full spectrum's shape, whose columns ``0 .. N // 2``
    (the half spectrum, :func:`numpy.fft.rfftn` layout, unnormalised) are set and the others are not."""
    n_half = u.shape[-1] // 2 + 1
    full = np.empty(u.shape, np.result_type(u.dtype, np.complex64))
    if ndim == 1:
        full[..., :n_half] = sp_fft.rfft(u, workers=_threads(workers))
    else:
        ducc0.fft.r2c(u, axes=_axes(ndim), out=full[..., :n_half], nthreads=_threads(workers))
    return full


def ifft_inplace(z, ndim, workers=1, orthonormal=False):
    """Inverse complex FFT of ``z`` in place, normalised by ``1 / N`` (:func:`numpy.fft.ifftn`), or by
    ``1 / sqrt(N)`` with ``orthonormal`` (for replays that transform one buffer again and again, whose
    values would otherwise shrink into subnormal numbers); returns ``z``."""
    if ndim == 1:
        return sp_fft.ifft(z, workers=_threads(workers), overwrite_x=True, norm="ortho" if orthonormal else None)
    inorm = 1 if orthonormal else 2
    return ducc0.fft.c2c(z, axes=_axes(ndim), forward=False, inorm=inorm, out=z, nthreads=_threads(workers))


def irfft(z, ndim, n_last, workers=1):
    """Inverse real FFT of the half spectra ``z`` to signals of ``n_last`` samples on the last axis,
    normalised by ``1 / N`` (:func:`numpy.fft.irfftn`); ``z`` may be overwritten."""
    if ndim == 1:
        return sp_fft.irfft(z, n=n_last, workers=_threads(workers), overwrite_x=True)
    return ducc0.fft.c2r(z, axes=_axes(ndim), lastsize=n_last, forward=False, inorm=2, nthreads=_threads(workers),
                         allow_overwriting_input=True)
