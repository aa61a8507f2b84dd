"""Morlet filter bank of the 2D scattering transform, in Kymatio 0.3.0's conventions."""

import functools
import os

import numpy as np
from scipy import fft as sp_fft

from .._validation import check_int

__all__ = ["gabor_2d", "morlet_2d", "filter_bank_2d", "crop_spectrum_2d", "littlewood_paley_2d", "padded_shape_2d"]

#: Kymatio normalises its Gabor filters with this truncated value of pi; we keep it so that outputs agree
#: with Kymatio 0.3.0 to 1e-7 rather than to 3e-5 (the relative error of the truncation).
KYMATIO_PI = 3.1415


#: Lattice points whose envelope is below exp(-60) ~ 1e-26 are below the rounding error of the filter's peak
#: and are not evaluated: together they change a filter by less than 1e-20 of its peak.
_NEGLIGIBLE_EXPONENT = 60.0


def _curvature(sigma, theta, slant):
    """Quadratic form ``R_theta diag(1, slant^2) R_theta^T / (2 sigma^2)`` of the Gabor envelope."""
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return rotation @ np.diag([1.0, slant * slant]) @ rotation.T / (2.0 * sigma * sigma)


def _ellipse_points(curvature, M, N, threshold):
    """Lattice points ``(u, v)`` of ``[-2M, 3M) x [-2N, 3N)`` around the ellipse ``Q(u, v) <= threshold``.

    ``Q(u, v) = q00 u^2 + 2 q01 u v + q11 v^2 = q11 (v + q01 u / q11)^2 + (q00 - q01^2 / q11) u^2``: row ``u``
    holds points when its second term is at most ``threshold``, and then the points of an interval around
    ``-q01 u / q11``. Each interval is widened by one point on each side against rounding (the extra points
    are evaluated too; their terms are below ``exp(-threshold)`` as well, or close to it).
    """
    q00, q01, q11 = curvature[0, 0], curvature[0, 1], curvature[1, 1]
    schur = q00 - q01 * q01 / q11
    u_max = np.sqrt(threshold / schur)
    u = np.arange(max(-2 * M, int(np.floor(-u_max)) - 1), min(3 * M - 1, int(np.ceil(u_max)) + 1) + 1)
    room = threshold - schur * u * u
    u = u[room >= 0]
    half = np.sqrt(np.maximum(room[room >= 0], 0.0) / q11)
    centre = -q01 * u / q11
    v_lo = np.maximum(-2 * N, np.floor(centre - half).astype(np.int64) - 1)
    v_hi = np.minimum(3 * N - 1, np.ceil(centre + half).astype(np.int64) + 1)
    counts = np.maximum(v_hi - v_lo + 1, 0)
    rows = np.repeat(u, counts)
    starts = np.repeat(v_lo - np.cumsum(counts) + counts, counts)
    cols = starts + np.arange(rows.size)
    return rows.astype(np.float64), cols.astype(np.float64), (rows % M) * N + cols % N


def _periodic_gabor(M, N, sigma, theta, xi, slant, with_wave, out=None):
    """Normalised periodic Gabor filter (complex128, or None without ``with_wave``) and its envelope (float64).

    Both are the sums of :func:`gabor_2d` over the 5 x 5 periodic images, evaluated once per lattice point
    of the ellipse where the envelope is above ``exp(-_NEGLIGIBLE_EXPONENT)`` (:func:`_ellipse_points`) and
    added into the point's cell of the periodic grid. The Gabor filter is written into ``out`` when given.
    """
    curvature = _curvature(sigma, theta, slant)
    u, v, cell = _ellipse_points(curvature, M, N, _NEGLIGIBLE_EXPONENT)
    quadratic = curvature[0, 0] * u * u + 2.0 * curvature[0, 1] * u * v + curvature[1, 1] * v * v
    weight = np.exp(-quadratic)
    norm = 2.0 * KYMATIO_PI * sigma * sigma / slant
    envelope = np.bincount(cell, weight, minlength=M * N).reshape(M, N)
    envelope /= norm
    if not with_wave:
        return None, envelope
    phase = xi * (np.cos(theta) * u + np.sin(theta) * v)
    wave = np.empty((M, N), np.complex128) if out is None else out
    wave.real = np.bincount(cell, weight * np.cos(phase), minlength=M * N).reshape(M, N)
    wave.imag = np.bincount(cell, weight * np.sin(phase), minlength=M * N).reshape(M, N)
    wave /= norm
    return wave, envelope


def gabor_2d(M, N, sigma, theta, xi, slant=1.0):
    r"""Gabor filter on an ``M x N`` periodic grid, in the spatial domain.

    Parameters
    ----------
    M, N : int
        Grid size.
    sigma : float
        Width of the Gaussian envelope, in pixels.
    theta : float
        Orientation of the envelope and of the carrier, in radians.
    xi : float
        Carrier frequency, in radians per pixel.
    slant : float
        Aspect ratio of the envelope: its width across the carrier is ``sigma / slant``.

    Returns
    -------
    ndarray of complex128, shape (M, N)

    Notes
    -----
    With :math:`R_\theta` the rotation by :math:`\theta` and :math:`D = \mathrm{diag}(1, s^2)`,

    .. math::

        g(u) = \frac{s}{2 \pi \sigma^2} \sum_{e \in \{-2..2\}^2}
               \exp\Big(-\frac{(u + e \odot (M, N))^\top R_\theta D R_\theta^{-1} (u + e \odot (M, N))}{2\sigma^2}
               + i \xi (\cos\theta, \sin\theta) \cdot (u + e \odot (M, N))\Big)

    for :math:`u \in [0, M) \times [0, N)`: the 5 x 5 periodic images make the filter periodic on the grid.
    As in Kymatio, :math:`\pi` in the normalisation is :data:`KYMATIO_PI`. Terms whose envelope is below
    :math:`e^{-60}` are skipped (they change the filter by less than 1e-20 of its peak), so only the
    lattice points of an ellipse around 0 are evaluated.

    Examples
    --------
    >>> g = gabor_2d(16, 16, sigma=1.0, theta=0.0, xi=0.0)
    >>> round(float(g.real.sum()), 3)
    1.0
    """
    wave, envelope = _periodic_gabor(M, N, sigma, theta, xi, slant, with_wave=xi != 0)
    return envelope.astype(np.complex128) if wave is None else wave


def morlet_2d(M, N, sigma, theta, xi, slant=0.5, out=None):
    r"""Morlet wavelet: a Gabor filter minus its envelope scaled to give zero mean.

    .. math:: \psi(u) = g_{\sigma,\theta,\xi}(u) - \kappa\, g_{\sigma,\theta,0}(u), \qquad
              \kappa = \frac{\sum_u g_{\sigma,\theta,\xi}(u)}{\sum_u g_{\sigma,\theta,0}(u)}

    Parameters are those of :func:`gabor_2d`, and ``out``, an optional complex128 array of shape (M, N) to
    write the result into. Returns a complex128 array of shape (M, N) whose sum is 0 (``out`` if given).

    Examples
    --------
    >>> psi = morlet_2d(32, 32, sigma=0.8, theta=0.0, xi=3 * np.pi / 4)
    >>> bool(abs(psi.sum()) < 1e-12)
    True
    """
    wave, envelope = _periodic_gabor(M, N, sigma, theta, xi, slant, with_wave=True, out=out)
    kappa = wave.sum() / envelope.sum()
    wave.real -= kappa.real * envelope
    wave.imag -= kappa.imag * envelope
    return wave


def crop_spectrum_2d(h_hat, res):
    r"""Restrict a spectrum on an ``M x N`` grid to the ``M / 2^res x N / 2^res`` grid of lowest frequencies.

    Keeps the frequencies :math:`|k_1| < M / 2^{res+1}`, :math:`|k_2| < N / 2^{res+1}` (plus the negative
    Nyquist row and column), laid out in FFT order on the smaller grid. This is the filter seen by a signal
    that was subsampled by :math:`2^{res}`, as Kymatio defines it.
    """
    M, N = h_hat.shape
    if M % 2**res or N % 2**res:
        raise ValueError(f"crop_spectrum_2d needs a grid divisible by 2^res = {2**res}; got {h_hat.shape}")
    m, n = M >> res, N >> res
    # The first floor(m / 2) and the last ceil(m / 2) frequencies: an odd m keeps one more negative one.
    # Copied as four blocks (non-negative / negative frequencies along each axis).
    top, left = m // 2, n // 2
    bottom, right = m - top, n - left
    out = np.empty((m, n), h_hat.dtype)
    out[:top, :left] = h_hat[:top, :left]
    out[:top, left:] = h_hat[:top, N - right :]
    out[top:, :left] = h_hat[M - bottom :, :left]
    out[top:, left:] = h_hat[M - bottom :, N - right :]
    return out


def padded_shape_2d(shape, J):
    """Grid size after Kymatio's padding: the next multiple of 2^J that leaves at least 2^J extra pixels.

    ``P = (floor((M + 2^J) / 2^J) + 1) 2^J``, so that ``P / 2^J - 2`` output pixels remain after dropping one
    border pixel on each side.
    """
    step = 2**J
    return tuple(((s + step) // step + 1) * step for s in shape)


def filter_bank_2d(M, N, J, L=8):
    r"""Fourier-domain Morlet filter bank of the 2D scattering transform.

    Parameters
    ----------
    M, N : int
        Size of the (padded) grid the filters act on; multiples of ``2**J``.
    J : int
        Number of scales; the low-pass filter has width :math:`0.8 \cdot 2^{J-1}`.
    L : int
        Number of orientations in :math:`[0, \pi)`.

    Returns
    -------
    bank : dict
        ``bank["phi"] = {"j": J, "levels": [phi_0, ..., phi_{J-1}]}`` and ``bank["psi"]``, a list of
        ``{"j", "theta", "angle", "xi", "sigma", "levels"}`` dicts in the order ``n = j L + theta``.
        ``levels[r]`` is the real Fourier transform of the filter on the grid subsampled by ``2^r``
        (:func:`crop_spectrum_2d`); wavelets keep the levels ``r < min(j + 1, max(J - 1, 1))`` that the
        transform uses, the low-pass filter keeps ``r < J``.
        The arrays are read-only and shared by every call with the same arguments: banks are built once per
        ``(M, N, J, L)`` and the last :data:`_CACHE_SIZE` are kept; the dicts and lists are new at each call.

    Notes
    -----
    Wavelet :math:`(j, \theta)`: :func:`morlet_2d` with :math:`\sigma = 0.8 \cdot 2^j`,
    :math:`\xi = \frac{3\pi}{4} 2^{-j}`, slant :math:`4 / L` and angle
    :math:`(\lfloor L/2 \rfloor - 1 - \theta)\pi / L`; low pass: :func:`gabor_2d` with
    :math:`\sigma = 0.8 \cdot 2^{J-1}`, :math:`\xi = 0`. Each filter is stored as
    :math:`\mathrm{Re}\,\hat h`: the imaginary part of the DFT is zero up to rounding because the filters
    are symmetric under :math:`u \mapsto -u` up to conjugation.

    The spatial filters are built by :func:`morlet_2d` and :func:`gabor_2d` and transformed by batched FFTs
    of up to :data:`_FFT_BATCH_SAMPLES` samples on ``os.cpu_count()`` threads.

    Examples
    --------
    >>> bank = filter_bank_2d(40, 40, J=2, L=8)
    >>> len(bank["psi"]), bank["psi"][9]["j"], bank["psi"][9]["theta"]
    (16, 1, 1)
    >>> [lvl.shape for lvl in bank["phi"]["levels"]]
    [(40, 40), (20, 20)]
    """
    J = check_int(J, "J", min_value=1)
    L = check_int(L, "L", min_value=1)
    M, N = check_int(M, "M", min_value=1), check_int(N, "N", min_value=1)
    for name, size in (("M", M), ("N", N)):
        if size % 2**J:
            raise ValueError(f"{name} must be a multiple of 2^J = {2**J}; got {name}={size}")
    bank = _cached_filter_bank_2d(M, N, J, L)
    # Fresh containers around the shared read-only arrays: a caller may edit its dicts without affecting others.
    return {
        "phi": dict(bank["phi"], levels=list(bank["phi"]["levels"])),
        "psi": [dict(p, levels=list(p["levels"])) for p in bank["psi"]],
        "J": J,
        "L": L,
        "shape": (M, N),
    }


#: Largest number of complex samples transformed in one batched FFT while building a bank (32 MiB).
_FFT_BATCH_SAMPLES = 1 << 21

#: Filter banks kept in memory, the most recently used (a bank for 224 x 224 images, J = 3, L = 8 takes 14 MB).
_CACHE_SIZE = 8


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached_filter_bank_2d(M, N, J, L):
    """:func:`filter_bank_2d` on validated arguments, computed once per ``(M, N, J, L)``; arrays are read-only."""
    specs = []  # (sigma, angle, xi, slant) of each filter: the J L wavelets, then the low pass (xi = 0)
    for j in range(J):
        for theta in range(L):
            specs.append((0.8 * 2**j, (int(L - L / 2 - 1) - theta) * np.pi / L, 3.0 / 4.0 * np.pi / 2**j, 4.0 / L))
    specs.append((0.8 * 2 ** (J - 1), 0.0, 0.0, 1.0))
    spectra = []
    per_batch = max(1, _FFT_BATCH_SAMPLES // (M * N))
    for first in range(0, len(specs), per_batch):
        batch = specs[first : first + per_batch]
        spatial = np.empty((len(batch), M, N), np.complex128)
        for out, (sigma, angle, xi, slant) in zip(spatial, batch):
            if xi:
                morlet_2d(M, N, sigma, angle, xi, slant, out=out)
            else:
                out[...] = gabor_2d(M, N, sigma, angle, xi, slant)
        spectra.extend(sp_fft.fft2(spatial, workers=os.cpu_count(), overwrite_x=True).real)

    def levels(h_hat, n_levels):
        out = [crop_spectrum_2d(h_hat, r) for r in range(n_levels)]
        for level in out:
            level.setflags(write=False)
        return out

    psi = []
    for n, (sigma, angle, xi, _) in enumerate(specs[:-1]):
        j, theta = divmod(n, L)
        n_levels = min(j + 1, max(J - 1, 1))
        psi.append(
            {"j": j, "theta": theta, "angle": angle, "xi": xi, "sigma": sigma, "levels": levels(spectra[n], n_levels)}
        )
    sigma_phi = specs[-1][0]
    phi = {"j": J, "sigma": sigma_phi, "levels": levels(spectra[-1], J)}
    return {"phi": phi, "psi": psi}


def littlewood_paley_2d(bank):
    r"""Littlewood–Paley sum of a 2D filter bank on its full-resolution grid.

    .. math:: A(\omega) = |\hat\phi(\omega)|^2 + \frac{1}{2}\sum_{j,\theta}
              \big(|\hat\psi_{j,\theta}(\omega)|^2 + |\hat\psi_{j,\theta}(-\omega)|^2\big)

    The wavelets cover orientations in :math:`[0, \pi)` only; the symmetrised term accounts for
    :math:`[\pi, 2\pi)`, which a real input sees through :math:`\hat x(-\omega) = \overline{\hat x(\omega)}`.
    Bounds :math:`a \le A(\omega) \le b` make the wavelet transform a frame with
    :math:`a\|x\|^2 \le \|Wx\|^2 \le b\|x\|^2` on real inputs.
    """
    total = bank["phi"]["levels"][0] ** 2
    for psi in bank["psi"]:
        h = psi["levels"][0]
        mirrored = np.roll(h[::-1, ::-1], (1, 1), axis=(0, 1))
        total = total + 0.5 * (h**2 + mirrored**2)
    return total
