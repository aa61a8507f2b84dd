r"""Axisymmetric scale-discretised wavelets on the sphere and their harmonic-space convolution.

The filters are those of S2LET (Leistedt, McEwen et al. 2013) used by the scattering networks of McEwen,
Wallis & Mavor-Parker (arXiv:2102.02828): a smooth partition of unity of the harmonic degree :math:`\ell`
built from the :math:`C^\infty` Schwartz bump. Every function returns plain arrays; the filter bank is a
dictionary of arrays plus the parameters that made it.

Conventions
-----------
A filter is given by its real *harmonic profile* :math:`\kappa_\ell`, the multiplier of its convolution:

.. math::

    (f \star \psi)_{\ell m} = \kappa_\ell\, f_{\ell m}, \qquad
    \kappa_\ell = \sqrt{\frac{4\pi}{2\ell + 1}}\, \psi_{\ell 0},

where :math:`\psi_{\ell 0}` are the orthonormal spherical harmonic coefficients of the axisymmetric kernel
:math:`\psi` (see :func:`kernel_harmonics`) and :math:`(f \star \psi)(\omega) = \int f(\omega')\,
\psi(R_\omega^{-1}\omega')\, d\omega'`, :math:`R_\omega` any rotation taking the north pole to :math:`\omega`.
With the profiles of :func:`axisymmetric_filter_bank`, :math:`|\Phi_\ell|^2 + \sum_j |\Psi^j_\ell|^2 = 1` for
every :math:`\ell \le \lambda^J`, so that for every map :math:`f` of bandlimit :math:`L \le \lambda^J + 1`
(a Parseval frame)

.. math::

    \|f\|^2 = \|f \star \phi\|^2 + \sum_{j=J_0}^{J} \|f \star \psi_j\|^2, \qquad
    \|f\|^2 = \int_{S^2} |f|^2\, d\omega = \sum_{\ell m} |f_{\ell m}|^2.
"""

import math
import numbers

import numpy as np

from .._validation import check_int

__all__ = [
    "schwartz_bump",
    "scale_kernel",
    "default_J",
    "axisymmetric_filter_bank",
    "axisymmetric_convolve",
    "kernel_harmonics",
]

#: Gauss-Legendre nodes of the integrals of :func:`scale_kernel` (the integrand is a flat C-infinity bump:
#: 160 nodes integrate it to ~1e-15 on any sub-interval).
_N_QUADRATURE = 160


def _check_lam(lam):
    if isinstance(lam, (bool, np.bool_)) or not isinstance(lam, numbers.Real):
        raise TypeError(f"lam must be a real number > 1; got {lam!r} of type {type(lam).__name__}")
    if not (lam > 1 and math.isfinite(lam)):
        raise ValueError(f"lam must be a real number > 1 (the dilation factor between scales); got {lam!r}")
    return float(lam)


def schwartz_bump(t, lam):
    r"""The Schwartz bump :math:`s_\lambda` of the S2LET kernel, supported on :math:`(1/\lambda, 1)`.

    Parameters
    ----------
    t : array_like
        Points.
    lam : float
        Dilation factor :math:`\lambda > 1`.

    Returns
    -------
    ndarray
        :math:`s_\lambda(t) = s\big(\tfrac{2\lambda}{\lambda - 1}(t - \tfrac{1}{\lambda}) - 1\big)` with
        :math:`s(u) = e^{-1/(1 - u^2)}` for :math:`|u| < 1` and 0 otherwise.

    Examples
    --------
    >>> from scatter.sphere.wavelets import schwartz_bump
    >>> schwartz_bump([0.25, 0.75, 1.0], 2.0).round(6).tolist()
    [0.0, 0.367879, 0.0]
    """
    lam = _check_lam(lam)
    t = np.asarray(t, dtype=np.float64)
    u = 2.0 * lam / (lam - 1.0) * (t - 1.0 / lam) - 1.0
    inside = np.abs(u) < 1.0
    out = np.zeros(np.shape(u))
    out[inside] = np.exp(-1.0 / (1.0 - u[inside] ** 2))
    return out


def _integral(a, b, lam):
    r""":math:`\int_a^b s_\lambda(t)^2 / t\, dt` for arrays ``a <= b`` inside :math:`[1/\lambda, 1]`."""
    x, w = np.polynomial.legendre.leggauss(_N_QUADRATURE)
    half = 0.5 * (b - a)[..., None]
    t = 0.5 * (b + a)[..., None] + half * x
    return (half * w * schwartz_bump(t, lam) ** 2 / t).sum(axis=-1)


def scale_kernel(t, lam):
    r"""The S2LET kernel :math:`k_\lambda`, smooth, equal to 1 below :math:`1/\lambda` and to 0 from 1 on.

    Parameters
    ----------
    t : array_like
        Points :math:`t \ge 0` (in the filters, :math:`t = \ell / \lambda^j`).
    lam : float
        Dilation factor :math:`\lambda > 1`.

    Returns
    -------
    ndarray of float64
        .. math::

            k_\lambda(t) = \frac{\int_t^1 s_\lambda(t')^2\, dt' / t'}{\int_{1/\lambda}^1 s_\lambda(t')^2\,
            dt' / t'},

        exactly 1 for :math:`t \le 1/\lambda` and exactly 0 for :math:`t \ge 1`; the integrals are
        computed by Gauss-Legendre quadrature.

    Raises
    ------
    TypeError, ValueError
        For a ``lam`` that is not a real number > 1.

    Examples
    --------
    >>> from scatter.sphere.wavelets import scale_kernel
    >>> scale_kernel([0.0, 0.5, 0.75, 1.0], 2.0).round(6).tolist()
    [1.0, 1.0, 0.452552, 0.0]
    """
    lam = _check_lam(lam)
    t = np.asarray(t, dtype=np.float64)
    if np.isnan(t).any():
        raise ValueError("t must not contain NaN")
    lower = 1.0 / lam
    clipped = np.clip(t, lower, 1.0)
    total = _integral(np.array(lower), np.array(1.0), lam)
    out = _integral(clipped, np.ones_like(clipped), lam) / total
    out = np.where(t <= lower, 1.0, np.where(t >= 1.0, 0.0, out))
    return np.clip(out, 0.0, 1.0)


def default_J(L, lam):
    r"""The smallest :math:`J \ge 0` with :math:`\lambda^J \ge L - 1`: the finest wavelet the bandlimit needs.

    Parameters
    ----------
    L : int
        Bandlimit (degrees :math:`\ell < L`).
    lam : float
        Dilation factor :math:`\lambda > 1`.

    Returns
    -------
    int

    Examples
    --------
    >>> from scatter.sphere.wavelets import default_J
    >>> default_J(32, 2.0), default_J(33, 2.0), default_J(30, 3.0)
    (5, 5, 4)
    """
    L = check_int(L, "L", min_value=1)
    lam = _check_lam(lam)
    J = 0
    while lam**J < L - 1:
        J += 1
    return J


def axisymmetric_filter_bank(L, lam=2.0, J0=0, J=None):
    r"""Harmonic profiles of the scale-discretised wavelets :math:`\Psi^j` and scaling function :math:`\Phi`.

    Parameters
    ----------
    L : int
        Bandlimit: the profiles are given for :math:`0 \le \ell < L`.
    lam : float, default 2.0
        Dilation factor :math:`\lambda > 1` between consecutive scales.
    J0 : int, default 0
        Coarsest wavelet scale; the scaling function covers :math:`\ell < \lambda^{J_0}`.
    J : int, optional
        Finest wavelet scale, at least ``J0``; ``None`` means :func:`default_J`, the smallest :math:`J` with
        :math:`\lambda^J \ge L - 1`. A smaller ``J`` leaves the degrees :math:`\ell > \lambda^J` partly
        uncovered (the frame identity then holds only for :math:`\ell \le \lambda^J`).

    Returns
    -------
    dict
        ``"phi"`` : ndarray (L,), the scaling profile :math:`\Phi_\ell`;
        ``"psi"`` : ndarray (J - J0 + 1, L), the wavelet profiles :math:`\Psi^j_\ell`, ``j = J0, ..., J``;
        ``"j"`` : ndarray of int, the scales of the rows of ``"psi"``;
        ``"bandlimit"`` : ndarray of int, per wavelet, :math:`\min(L, \lceil\lambda^{j+1}\rceil)`, one more
        than the highest degree where it can be non-zero (:math:`\Psi^j_\ell = 0` for
        :math:`\ell \ge \lambda^{j+1}`);
        ``"phi_bandlimit"`` : int, :math:`\min(L, \lceil\lambda^{J_0}\rceil)`;
        ``"L"``, ``"lam"``, ``"J0"``, ``"J"``: the parameters.

    Raises
    ------
    TypeError, ValueError
        For invalid parameters (the message names the parameter).

    Notes
    -----
    .. math::

        \Phi_\ell = \sqrt{k_\lambda(\ell / \lambda^{J_0})}, \qquad
        \Psi^j_\ell = \sqrt{k_\lambda(\ell / \lambda^{j+1}) - k_\lambda(\ell / \lambda^j)},

    with :math:`k_\lambda` of :func:`scale_kernel`. The sum telescopes:
    :math:`\Phi_\ell^2 + \sum_{j=J_0}^J (\Psi^j_\ell)^2 = k_\lambda(\ell / \lambda^{J+1})`, which is 1 for
    :math:`\ell \le \lambda^J`. :math:`\Psi^j` is supported on :math:`\lambda^{j-1} < \ell < \lambda^{j+1}`.

    Examples
    --------
    >>> from scatter.sphere.wavelets import axisymmetric_filter_bank
    >>> bank = axisymmetric_filter_bank(16, lam=2.0)
    >>> bank["psi"].shape, bank["j"].tolist(), bank["bandlimit"].tolist()
    ((5, 16), [0, 1, 2, 3, 4], [2, 4, 8, 16, 16])
    >>> float(abs((bank["phi"] ** 2 + (bank["psi"] ** 2).sum(axis=0)) - 1).max()) < 1e-12
    True
    """
    L = check_int(L, "L", min_value=1)
    lam = _check_lam(lam)
    J0 = check_int(J0, "J0", min_value=0)
    J = default_J(L, lam) if J is None else check_int(J, "J", min_value=J0, allowed=f"None or an integer >= J0={J0}")
    if J < J0:
        raise ValueError(
            f"J0={J0} is above the finest scale J={J} that bandlimit L={L} needs with lam={lam}; "
            f"use J0 <= {J} or pass J explicitly"
        )
    ell = np.arange(L, dtype=np.float64)
    js = np.arange(J0, J + 1)
    # k at t = ell / lam^j for j = J0, ..., J + 1 (rows); each wavelet is the difference of two rows.
    k = np.stack([scale_kernel(ell / lam**j, lam) for j in range(J0, J + 2)])
    psi = np.sqrt(np.clip(k[1:] - k[:-1], 0.0, None))
    phi = np.sqrt(k[0])
    bandlimit = np.array([min(L, math.ceil(lam ** (j + 1))) for j in js], dtype=np.intp)
    return {
        "phi": phi,
        "psi": psi,
        "j": js,
        "bandlimit": bandlimit,
        "phi_bandlimit": min(L, math.ceil(lam**J0)),
        "L": L,
        "lam": lam,
        "J0": J0,
        "J": J,
    }


def axisymmetric_convolve(flm, profile):
    r"""Convolution with an axisymmetric kernel: :math:`(f \star \psi)_{\ell m} = \kappa_\ell f_{\ell m}`.

    Parameters
    ----------
    flm : array_like, complex, shape (..., L, L)
        Coefficients indexed ``[ell, m]`` (as :func:`scatter.sphere.sht.forward_sht` returns them).
    profile : array_like, real, shape (L',) with L' >= L
        Harmonic profile :math:`\kappa_\ell` (a row of :func:`axisymmetric_filter_bank`); only its first
        ``L`` entries are used.

    Returns
    -------
    ndarray, shape (..., L, L)

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.sphere.wavelets import axisymmetric_convolve
    >>> axisymmetric_convolve(np.ones((2, 2)), [1.0, 0.5]).real.tolist()
    [[1.0, 1.0], [0.5, 0.5]]
    """
    flm = np.asarray(flm)
    profile = np.asarray(profile, dtype=np.float64)
    if flm.ndim < 2 or flm.shape[-1] != flm.shape[-2]:
        raise ValueError(f"flm must have shape (..., L, L); got {flm.shape}")
    L = flm.shape[-1]
    if profile.ndim != 1 or profile.shape[0] < L:
        raise ValueError(f"profile must be a 1-D array of at least L={L} values; got shape {profile.shape}")
    return flm * profile[:L, None]


def kernel_harmonics(profile):
    r"""Spherical harmonic coefficients :math:`\psi_{\ell 0} = \sqrt{(2\ell+1)/(4\pi)}\, \kappa_\ell` of the kernel.

    The axisymmetric kernel in space is :math:`\psi(\theta) = \sum_\ell \psi_{\ell 0} Y_{\ell 0}(\theta) =
    \sum_\ell \frac{2\ell+1}{4\pi} \kappa_\ell P_\ell(\cos\theta)`.

    Parameters
    ----------
    profile : array_like, shape (..., L)
        Harmonic profiles :math:`\kappa_\ell`.

    Returns
    -------
    ndarray, shape (..., L)

    Examples
    --------
    >>> from scatter.sphere.wavelets import kernel_harmonics
    >>> round(float(kernel_harmonics([1.0])[0]) ** 2 * 4 * 3.141592653589793, 12)
    1.0
    """
    profile = np.asarray(profile, dtype=np.float64)
    ell = np.arange(profile.shape[-1])
    return np.sqrt((2 * ell + 1) / (4 * np.pi)) * profile
