"""Morlet filter bank of the 2D scattering transform, in Kymatio 0.3.0's conventions."""

import numpy as np
from scipy import fft as sp_fft

from .._validation import check_int

__all__ = ["gabor_2d", "morlet_2d", "filter_bank_2d", "crop_spectrum_2d", "littlewood_paley_2d", "padded_shape_2d"]

#: Kymatio normalises its Gabor filters with this truncated value of pi; we keep it so that outputs agree
#: with Kymatio 0.3.0 to 1e-7 rather than to 3e-5 (the relative error of the truncation).
KYMATIO_PI = 3.1415


#: Envelope values below exp(-60) ~ 1e-26 are below the rounding error of the filter's peak.
_NEGLIGIBLE_EXPONENT = 60.0


def _distance_to_zero(coords):
    """Distance from 0 to the interval spanned by ``coords``."""
    low, high = coords.min(), coords.max()
    return 0.0 if low <= 0 <= high else min(abs(low), abs(high))


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
    As in Kymatio, :math:`\pi` in the normalisation is :data:`KYMATIO_PI`.

    Examples
    --------
    >>> g = gabor_2d(16, 16, sigma=1.0, theta=0.0, xi=0.0)
    >>> round(float(g.real.sum()), 3)
    1.0
    """
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    curvature = rotation @ np.diag([1.0, slant * slant]) @ rotation.T / (2.0 * sigma * sigma)
    rows = np.arange(M, dtype=np.float64)[:, None]
    cols = np.arange(N, dtype=np.float64)[None, :]
    out = np.zeros((M, N), np.complex128)
    # A periodic image whose envelope stays below exp(-_NEGLIGIBLE_EXPONENT) everywhere adds nothing
    # representable next to the central one: skip it. The envelope is at most
    # exp(-lambda_min |u|^2), lambda_min the smallest eigenvalue of the curvature.
    lambda_min = np.linalg.eigvalsh(curvature)[0]
    for ex in range(-2, 3):
        u = rows + ex * M
        for ey in range(-2, 3):
            v = cols + ey * N
            if lambda_min * (_distance_to_zero(u) ** 2 + _distance_to_zero(v) ** 2) > _NEGLIGIBLE_EXPONENT:
                continue
            quadratic = curvature[0, 0] * u * u + 2.0 * curvature[0, 1] * u * v + curvature[1, 1] * v * v
            phase = xi * (np.cos(theta) * u + np.sin(theta) * v)
            out += np.exp(-quadratic + 1j * phase)
    out /= 2.0 * KYMATIO_PI * sigma * sigma / slant
    return out


def morlet_2d(M, N, sigma, theta, xi, slant=0.5):
    r"""Morlet wavelet: a Gabor filter minus its envelope scaled to give zero mean.

    .. math:: \psi(u) = g_{\sigma,\theta,\xi}(u) - \kappa\, g_{\sigma,\theta,0}(u), \qquad
              \kappa = \frac{\sum_u g_{\sigma,\theta,\xi}(u)}{\sum_u g_{\sigma,\theta,0}(u)}

    Parameters are those of :func:`gabor_2d`. Returns a complex128 array of shape (M, N) whose sum is 0.

    Examples
    --------
    >>> psi = morlet_2d(32, 32, sigma=0.8, theta=0.0, xi=3 * np.pi / 4)
    >>> bool(abs(psi.sum()) < 1e-12)
    True
    """
    wave = gabor_2d(M, N, sigma, theta, xi, slant)
    envelope = gabor_2d(M, N, sigma, theta, 0.0, slant)
    return wave - (wave.sum() / envelope.sum()) * envelope


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
    rows = np.r_[0 : m // 2, M - (m - m // 2) : M]
    cols = np.r_[0 : n // 2, N - (n - n // 2) : N]
    return np.ascontiguousarray(h_hat[np.ix_(rows, cols)])


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

    Notes
    -----
    Wavelet :math:`(j, \theta)`: :func:`morlet_2d` with :math:`\sigma = 0.8 \cdot 2^j`,
    :math:`\xi = \frac{3\pi}{4} 2^{-j}`, slant :math:`4 / L` and angle
    :math:`(\lfloor L/2 \rfloor - 1 - \theta)\pi / L`; low pass: :func:`gabor_2d` with
    :math:`\sigma = 0.8 \cdot 2^{J-1}`, :math:`\xi = 0`. Each filter is stored as
    :math:`\mathrm{Re}\,\hat h`: the imaginary part of the DFT is zero up to rounding because the filters
    are symmetric under :math:`u \mapsto -u` up to conjugation.

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
    for name, size in (("M", M), ("N", N)):
        if check_int(size, name, min_value=1) % 2**J:
            raise ValueError(f"{name} must be a multiple of 2^J = {2**J}; got {name}={size}")
    psi = []
    for j in range(J):
        sigma = 0.8 * 2**j
        xi = 3.0 / 4.0 * np.pi / 2**j
        for theta in range(L):
            angle = (int(L - L / 2 - 1) - theta) * np.pi / L
            psi_hat = sp_fft.fft2(morlet_2d(M, N, sigma, angle, xi, slant=4.0 / L)).real
            n_levels = min(j + 1, max(J - 1, 1))
            levels = [crop_spectrum_2d(psi_hat, r) for r in range(n_levels)]
            psi.append({"j": j, "theta": theta, "angle": angle, "xi": xi, "sigma": sigma, "levels": levels})
    phi_hat = sp_fft.fft2(gabor_2d(M, N, 0.8 * 2 ** (J - 1), 0.0, 0.0)).real
    phi = {"j": J, "sigma": 0.8 * 2 ** (J - 1), "levels": [crop_spectrum_2d(phi_hat, r) for r in range(J)]}
    return {"phi": phi, "psi": psi, "J": J, "L": L, "shape": (M, N)}


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
