"""The FFTs of the grid transforms, through ``scipy.fft`` (pocketfft).

Each function transforms a batch over its last ``ndim`` axes on ``workers`` threads (default 1; the
transforms pass 1 and parallelise over chunks of the batch instead) and releases the GIL. pocketfft's
results do not depend on how many signals share a call, so a signal's scattering is the same, to the last
bit, in any batch or chunk (the Dask path relies on it). ducc0 was measured as well: it took 65-85% of
pocketfft's time for the 2D transforms of the speed benchmark (10-14% off whole 2D scatterings), but its
results change in the last bits with the batch (its SIMD lanes span several transforms), so it is not used.

The transforms call these functions through the module (``_fft.rfft_full(...)``, keywords only), which lets
``benchmarks/fft_limit.py`` record and replay them.
"""

import numpy as np
from scipy import fft as sp_fft

_FORWARD = {1: sp_fft.rfft, 2: sp_fft.rfft2}
_INVERSE = {1: sp_fft.ifft, 2: sp_fft.ifft2}


def rfft_full(u, ndim, workers=1):
    """Spectra of the real ``u`` in a buffer of the full spectrum's shape, whose columns ``0 .. N // 2``
    (the half spectrum, :func:`numpy.fft.rfftn` layout, unnormalised) are set and the others are not; for
    :func:`scatter.grid._plans.complete_spectrum`."""
    half = _FORWARD[ndim](u, workers=workers)
    full = np.empty(u.shape, half.dtype)
    full[..., : half.shape[-1]] = half
    return full


def ifft_inplace(z, ndim, workers=1, orthonormal=False):
    """Inverse complex FFT of ``z`` in place, normalised by ``1 / N`` (:func:`numpy.fft.ifftn`), or by
    ``1 / sqrt(N)`` with ``orthonormal`` (for replays that transform one buffer again and again, whose
    values would otherwise shrink into subnormal numbers); returns the result, ``z`` itself."""
    return _INVERSE[ndim](z, workers=workers, overwrite_x=True, norm="ortho" if orthonormal else None)


def irfft(z, ndim, n_last, workers=1):
    """Inverse real FFT of the half spectra ``z`` to signals of ``n_last`` samples on the last axis,
    normalised by ``1 / N`` (:func:`numpy.fft.irfftn`); ``z`` may be overwritten."""
    if ndim == 1:
        return sp_fft.irfft(z, n=n_last, workers=workers, overwrite_x=True)
    return sp_fft.irfftn(z, s=z.shape[z.ndim - ndim : -1] + (n_last,), axes=tuple(range(-ndim, 0)), workers=workers,
                         overwrite_x=True)
