"""Morlet filter bank of the 1D scattering transform, in Kymatio 0.3.0's conventions.

Frequencies are in cycles per sample, in ``[0, 1)``; every filter is built directly in the Fourier domain.
"""

import functools
import math
import os
import warnings

import numpy as np
from scipy import fft as sp_fft

__all__ = [
    "morlet_1d",
    "gauss_1d",
    "sigma_psi",
    "xi_max",
    "max_dyadic_subsampling",
    "filter_params_1d",
    "temporal_support",
    "padding_1d",
    "border_indices",
    "filter_bank_1d",
    "littlewood_paley_1d",
]

#: Spectral width of the low-pass filter for T = 1; it is ``SIGMA0 / T`` in general.
SIGMA0 = 0.1
#: Aliasing tolerance: a filter may be subsampled by ``2^j`` when ``xi + ALPHA sigma < 2^-(j+1)``.
ALPHA = 5.0
#: Overlap of neighbouring wavelets: they cross at ``R_PSI`` times their peak.
R_PSI = math.sqrt(0.5)


def _periods(sigma, eps=1e-7):
    """Number ``P`` of periods each side so that the Gaussian of width ``sigma`` falls below ``eps`` (at most 5)."""
    return min(int(math.ceil(math.sqrt(-2.0 * sigma**2 * math.log(eps)) + 1)), 5)


#: ``exp(-x)`` is exactly 0 in float64 for ``x`` above about 745.13: Gaussian terms beyond this exponent are
#: not evaluated (skipping them changes nothing, bit for bit).
_UNDERFLOW_EXPONENT = 750.0


def _periodized_gaussian(N, center, sigma, out=None):
    r"""``mean_{m = 1-P}^{P-1} exp(-(k/N + m - center)^2 / (2 sigma^2))`` for ``k = 0 .. N-1``.

    Only the frequencies within :math:`\sigma \sqrt{2 \cdot 750}` of ``center`` are evaluated: beyond, the
    terms underflow to 0. The periods are added one after the other, as a mean over them would. The result
    is written into ``out`` (float64, shape (N,)) when given.
    """
    P = _periods(sigma)
    reach = sigma * math.sqrt(2.0 * _UNDERFLOW_EXPONENT)
    total = np.zeros(N, np.float64) if out is None else out
    total[:] = 0.0
    for period in range(1 - P, P):
        # Frequencies f = i / N with i in [period N, (period + 1) N), kept where |f - center| <= reach.
        low = max(period * N, math.floor((center - reach) * N) - 1)
        high = min((period + 1) * N, math.ceil((center + reach) * N) + 2)
        if low >= high:
            continue
        freqs = np.arange(low, high, dtype=np.float64) / N
        total[low - period * N : high - period * N] += np.exp(-((freqs - center) ** 2) / (2.0 * sigma**2))
    total /= 2 * P - 1
    return total


def _l1_norms_in_time(spectra):
    r"""``sum_t |h(t)|`` of the real spectra ``h_hat`` (rows of ``spectra``), with ``h = ifft(h_hat)``.

    A real spectrum gives :math:`h(-t) = \overline{h(t)}`, so the sum over :math:`t` is
    :math:`|h(0)| + 2 \sum_{0 < t < N/2} |h(t)| + |h(N/2)|` (the last term for even ``N``), read from the
    half-length transform ``rfft(h_hat) / N`` :math:`= \overline{h(t)}`, :math:`t \le N/2`.
    """
    N = spectra.shape[-1]
    half = np.abs(sp_fft.rfft(spectra, axis=-1, workers=os.cpu_count()))
    inner = half[..., 1 : (N + 1) // 2].sum(axis=-1)
    edges = half[..., 0] + (half[..., N // 2] if N % 2 == 0 else 0.0)
    return (edges + 2.0 * inner) / N


def _morlet_1d_unnormalized(N, xi, sigma, out=None):
    """:func:`morlet_1d` before its division by the l1 norm in time (written into ``out`` when given)."""
    if not xi:
        return _periodized_gaussian(N, 0.0, sigma, out)
    low = _periodized_gaussian(N, 0.0, sigma)
    gabor = _periodized_gaussian(N, xi, sigma, out)
    gabor -= np.multiply(low, gabor[0] / low[0], out=low)
    return gabor


def morlet_1d(N, xi, sigma):
    r"""Fourier transform of a Morlet wavelet (or, with ``xi=None``, of a Gaussian low-pass filter).

    Parameters
    ----------
    N : int
        Signal length.
    xi : float or None
        Centre frequency in cycles per sample, in (0, 1); ``None`` for the low-pass filter.
    sigma : float
        Spectral width.

    Returns
    -------
    ndarray of float64, shape (N,)
        Values at the frequencies ``np.fft.fftfreq(N)`` (real: the filters are real in Fourier).

    Notes
    -----
    With :math:`\hat g_c(\omega) = \frac{1}{2P-1}\sum_{m=1-P}^{P-1} e^{-(\omega + m - c)^2 / 2\sigma^2}` the
    Gaussian periodised over :math:`2P - 1` periods (:math:`P` the smallest number of periods at which it
    falls below :math:`10^{-7}`, at most 5),

    .. math:: \hat\psi = \hat g_\xi - \frac{\hat g_\xi(0)}{\hat g_0(0)} \hat g_0, \qquad
              \hat\phi = \hat g_0,

    then divided by the :math:`\ell^1` norm of the filter in time, :math:`\sum_t |\psi(t)|`. The
    subtraction makes :math:`\hat\psi(0) = 0`.

    Examples
    --------
    >>> psi = morlet_1d(256, xi=0.25, sigma=0.05)
    >>> psi.shape, bool(abs(psi[0]) < 1e-12)
    ((256,), True)
    """
    h = _morlet_1d_unnormalized(N, xi, sigma)
    return h / _l1_norms_in_time(h)


def gauss_1d(N, sigma):
    """Fourier transform of the Gaussian low-pass filter of width ``sigma``: ``morlet_1d(N, None, sigma)``."""
    return morlet_1d(N, None, sigma)


def sigma_psi(xi, Q, r=R_PSI):
    r"""Spectral width of a wavelet of centre ``xi`` in a bank with ``Q`` wavelets per octave.

    .. math:: \sigma = \xi \, \frac{1 - 2^{-1/Q}}{1 + 2^{-1/Q}} \, \frac{1}{\sqrt{2 \ln(1/r)}}

    so that neighbouring wavelets :math:`\xi` and :math:`2^{-1/Q}\xi` cross at :math:`r` times their peak.
    """
    factor = 2.0 ** (-1.0 / Q)
    return xi * (1.0 - factor) / (1.0 + factor) / math.sqrt(2.0 * math.log(1.0 / r))


def xi_max(Q):
    r"""Centre frequency of the highest wavelet: :math:`\max(1 / (1 + 2^{3/Q}), 0.35)`."""
    return max(1.0 / (1.0 + 2.0 ** (3.0 / Q)), 0.35)


def max_dyadic_subsampling(xi, sigma, alpha=ALPHA):
    r"""Largest :math:`j` with :math:`\min(\xi + \alpha\sigma, 1/2) \le 2^{-(j+1)}`: subsampling by :math:`2^j` does not alias."""
    return int(math.floor(-math.log2(min(xi + alpha * sigma, 0.5)))) - 1


def filter_params_1d(sigma_min, Q, alpha=ALPHA, r=R_PSI):
    r"""Centre frequencies, widths and maximal subsamplings of a Morlet bank.

    A constant-Q region, :math:`\xi_{n+1} = 2^{-1/Q}\xi_n` and :math:`\sigma_{n+1} = 2^{-1/Q}\sigma_n` from
    :func:`xi_max` while :math:`\sigma_n > 2^{1/Q}\sigma_{min}`, then ``Q - 1`` wavelets of width
    :math:`\sigma_{min}` with centres spaced linearly from the last one down towards 0.

    Returns
    -------
    xis, sigmas, js : lists of equal length
    """
    top = xi_max(Q)
    sigma_top = sigma_psi(top, Q, r)
    xis, sigmas = [], []
    if sigma_top > sigma_min:
        xis, sigmas = [top], [sigma_top]
        while sigmas[-1] > sigma_min * 2.0 ** (1.0 / Q):
            xis.append(xis[-1] / 2.0 ** (1.0 / Q))
            sigmas.append(sigmas[-1] / 2.0 ** (1.0 / Q))
        elbow = xis[-1]
    else:
        elbow = sigma_top
    for q in range(1, Q):
        xis.append(elbow - q / Q * elbow)
        sigmas.append(sigma_min)
    js = [max_dyadic_subsampling(xi, sigma, alpha) for xi, sigma in zip(xis, sigmas)]
    return xis, sigmas, js


def temporal_support(h_hat, criterion=1e-3):
    r"""Half support of a centred filter: the smallest :math:`n` with :math:`\sum_{t \ge n} |h(t)| \le \epsilon`.

    Sums run over the first half of the periodic filter. If no such :math:`n` exists within half the
    length, returns half the length and warns that border effects are unavoidable.
    """
    h = np.abs(sp_fft.ifft(h_hat))
    half = h.shape[-1] // 2
    tail = np.cumsum(h[:half][::-1])[::-1]
    below = np.flatnonzero(tail <= criterion)
    if below.size == 0:
        warnings.warn("Signal support is too small to avoid border effects", UserWarning, stacklevel=3)
        return half
    return int(below[0]) + 1


def padding_1d(N, T):
    r"""Padded length and left/right padding of a signal of length ``N`` for low-pass scale ``T``.

    The padded length is :math:`2^{\min(\lceil \log_2(N + 2p) \rceil, \lfloor \log_2(3N - 2) \rfloor)}`
    with :math:`p = 3 \times` :func:`temporal_support` of the low-pass filter, split evenly (the extra
    sample on the right).
    """
    min_to_pad = 3 * temporal_support(gauss_1d(N, SIGMA0 / T))
    j_pad = min(int(np.ceil(np.log2(N + 2 * min_to_pad))), int(np.floor(np.log2(3 * N - 2))))
    n_padded = 2**j_pad
    left = (n_padded - N) // 2
    return n_padded, left, n_padded - N - left


def border_indices(log2_T, J, start, end):
    """Start and end of the unpadded signal after subsampling by ``2^j``, for ``j = 0 .. max(log2_T, J)``.

    Both bounds are divided by two and rounded up at each level.
    """
    starts, ends = [start], [end]
    for _ in range(max(log2_T, J)):
        starts.append(-(-starts[-1] // 2))
        ends.append(-(-ends[-1] // 2))
    return starts, ends


def _periodize(h_hat, level):
    """Spectrum of the filter after subsampling by ``2^level``: the mean of its ``2^level`` periods."""
    return h_hat.reshape(2**level, -1).mean(axis=0)


def filter_bank_1d(N, J, Q, T):
    r"""Fourier-domain Morlet filter bank of the 1D scattering transform.

    Parameters
    ----------
    N : int
        Padded signal length (a power of two).
    J : int
        Scale of the widest wavelets, :math:`\sigma_{min} = \sigma_0 / 2^J`.
    Q : tuple of two ints
        Wavelets per octave at orders 1 and 2.
    T : int
        Averaging scale: the low-pass filter has width :math:`\sigma_0 / T`.

    Returns
    -------
    bank : dict
        ``"phi"``: ``{"xi": 0, "sigma", "j": floor(log2 T), "levels"}``; ``"psi1"`` and ``"psi2"``: lists of
        ``{"xi", "sigma", "j", "levels"}``, where ``j`` is the largest subsampling without aliasing
        (:func:`max_dyadic_subsampling`) and ``levels[k]`` the filter's spectrum after subsampling by
        :math:`2^k` (:func:`_periodize`). First-order wavelets keep level 0 only; second-order wavelets keep
        the levels their first-order parents reach; the low-pass filter keeps up to
        :math:`\min(\max_n j_n, \lfloor\log_2 T\rfloor)`.
        The arrays are read-only and shared by every call with the same arguments: banks are built once per
        ``(N, J, Q, T)`` and the last :data:`_CACHE_SIZE` are kept; the dicts and lists are new at each call.
        The l1 norms of :func:`morlet_1d` are computed by batched FFTs.

    Examples
    --------
    >>> bank = filter_bank_1d(1024, J=6, Q=(8, 1), T=64)
    >>> len(bank["psi1"]), len(bank["psi2"]), bank["phi"]["j"]
    (38, 7, 6)
    """
    Q1, Q2 = (int(q) for q in Q)
    N, J, T = int(N), int(J), int(T)
    bank = _cached_filter_bank_1d(N, J, Q1, Q2, T)
    # Fresh containers around the shared read-only arrays: a caller may edit its dicts without affecting others.
    return {
        "phi": dict(bank["phi"], levels=list(bank["phi"]["levels"])),
        "psi1": [dict(p, levels=list(p["levels"])) for p in bank["psi1"]],
        "psi2": [dict(p, levels=list(p["levels"])) for p in bank["psi2"]],
        "J": J,
        "Q": (Q1, Q2),
        "T": T,
        "N": N,
    }


#: Largest number of samples normalised in one batched FFT while building a bank (16 MiB of float64).
_FFT_BATCH_SAMPLES = 1 << 21

#: Filter banks kept in memory, the most recently used (the bank of 65536-sample signals, J = 8, Q = 8, padded
#: to 131072 samples, takes 72 MB).
_CACHE_SIZE = 4


def _read_only(array):
    array.setflags(write=False)
    return array


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached_filter_bank_1d(N, J, Q1, Q2, T):
    """:func:`filter_bank_1d` computed once per ``(N, J, Q1, Q2, T)``, with read-only arrays."""
    sigma_min = SIGMA0 / 2.0**J
    xi1s, sigma1s, j1s = filter_params_1d(sigma_min, Q1)
    xi2s, sigma2s, j2s = filter_params_1d(sigma_min, Q2)
    specs = list(zip(xi1s, sigma1s)) + list(zip(xi2s, sigma2s)) + [(None, SIGMA0 / T)]
    # Every filter before its l1 normalisation, then the norms by batched FFTs.
    bases = []
    per_batch = max(1, _FFT_BATCH_SAMPLES // N)
    for first in range(0, len(specs), per_batch):
        batch = specs[first : first + per_batch]
        raw = np.empty((len(batch), N), np.float64)
        for row, (xi, sigma) in zip(raw, batch):
            _morlet_1d_unnormalized(N, xi, sigma, out=row)
        raw /= _l1_norms_in_time(raw)[:, None]
        bases.extend(_read_only(raw))
    psi1 = [
        {"xi": xi, "sigma": sigma, "j": j, "levels": [_read_only(base)]}
        for xi, sigma, j, base in zip(xi1s, sigma1s, j1s, bases)
    ]
    psi2 = []
    for xi, sigma, j2, base in zip(xi2s, sigma2s, j2s, bases[len(xi1s) :]):
        top_level = max([j1 for j1 in j1s if j2 > j1], default=0)
        levels = [_read_only(_periodize(base, k)) for k in range(top_level + 1)]
        psi2.append({"xi": xi, "sigma": sigma, "j": j2, "levels": levels})
    log2_T = int(math.floor(math.log2(T)))
    top_level = min(max(max(j1s), max(j2s)), log2_T)
    levels = [_read_only(_periodize(bases[-1], k)) for k in range(top_level + 1)]
    phi = {"xi": 0.0, "sigma": SIGMA0 / T, "j": log2_T, "levels": levels}
    return {"phi": phi, "psi1": psi1, "psi2": psi2}


def littlewood_paley_1d(bank, order=1):
    r"""Littlewood–Paley sum of the order-``order`` wavelets and the low pass, at full resolution.

    .. math:: A(\omega) = |\hat\phi(\omega)|^2 + \frac{1}{2}\sum_n \big(|\hat\psi_n(\omega)|^2 + |\hat\psi_n(-\omega)|^2\big)

    Wavelets are analytic (positive frequencies only); the symmetrised sum is the energy a real signal
    sees. Bounds :math:`a \le A \le b` give :math:`a\|x\|^2 \le \|Wx\|^2 \le b\|x\|^2` for real :math:`x`.
    """
    total = bank["phi"]["levels"][0] ** 2
    for psi in bank[f"psi{order}"]:
        h = psi["levels"][0]
        total = total + 0.5 * (h**2 + np.roll(h[::-1], 1) ** 2)
    return total
