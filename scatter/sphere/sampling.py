r"""Sampling schemes of the sphere: nodes and quadrature weights.

Every grid is a set of iso-latitude rings, ordered by colatitude :math:`\theta` increasing from the north pole,
each with equispaced longitudes :math:`\phi`. A map on a ring grid is an array ``(..., n_theta, n_phi)``; a
HEALPix map is an array ``(..., 12 nside^2)`` in RING ordering.

The weights are per sample: :math:`\int_{S^2} f \,d\Omega \approx \sum_j w_j \sum_k f(\theta_j, \phi_k)`.

==========  =====================  ===================================================  ==============
sampling    grid shape             colatitudes                                          exact for
==========  =====================  ===================================================  ==============
``"gl"``    ``(L, 2L - 1)``        Gauss–Legendre nodes, :math:`\cos\theta_j` roots     bandlimit L
                                   of :math:`P_L`
``"dh"``    ``(2L, 2L)``           :math:`\theta_j = \pi (2j + 1) / (4L)`               bandlimit L
                                   (Driscoll–Healy)
==========  =====================  ===================================================  ==============

Longitudes start at :math:`\phi_0 = 0`: :math:`\phi_k = 2\pi k / n_\phi`.
"""

import math
from functools import lru_cache

import numpy as np
from scipy import special

from .._validation import check_choice, check_int

__all__ = [
    "gauss_legendre_grid",
    "driscoll_healy_grid",
    "driscoll_healy_weights",
    "healpix_rings",
    "sampling_grid",
    "grid_shape",
]


def grid_unit_vectors(theta, phi):
    r"""Unit vectors :math:`r = (\sin\theta \cos\phi, \sin\theta \sin\phi, \cos\theta)` of the points of a
    grid of colatitudes ``theta`` ``(M,)`` and longitudes ``phi`` ``(N,)``: ``(3, M, N)``."""
    theta, phi = np.meshgrid(np.asarray(theta, float), np.asarray(phi, float), indexing="ij")
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


def _check_L(L):
    return check_int(L, "L", min_value=1, allowed="an integer >= 1 (the bandlimit: degrees 0 <= l < L)")


def _legendre_pair(L, x):
    r"""``(P_{L-1}(x), P_L(x))`` by the three-term recurrence, and the Christoffel sum
    :math:`\sum_{n < L} (n + 1/2) P_n(x)^2`."""
    p_prev, p = np.ones_like(x), x.copy()
    christoffel = 0.5 + 1.5 * x * x
    for n in range(2, L + 1):
        p_prev, p = p, ((2 * n - 1) * x * p - (n - 1) * p_prev) / n
        if n < L:
            christoffel += (n + 0.5) * p * p
    return p_prev, p, christoffel


@lru_cache(maxsize=16)
def _gauss_legendre(L):
    r"""``(theta, a)``: Gauss–Legendre colatitudes (increasing) and weights on [-1, 1].

    SciPy's nodes polished by Newton steps in theta on the northern half and mirrored (the grid is exactly
    symmetric); weights from the Christoffel function :math:`a_j = 1 / \sum_{n < L} (n + 1/2) P_n(x_j)^2`,
    a sum of positive terms, accurate to a few ulps where :math:`2 (1 - x^2) / (L P_{L-1}(x))^2` is not.
    """
    if L == 1:
        return np.array([np.pi / 2]), np.array([2.0])
    n_north = L // 2
    x0, _ = special.roots_legendre(L)
    theta = np.arccos(x0[::-1][:n_north])
    for _ in range(3):
        x = np.cos(theta)
        p_prev, p, _ = _legendre_pair(L, x)
        dp_dtheta = L * (x * p - p_prev) / np.sin(theta)  # dP_L/dtheta = -sin(theta) P_L'(x)
        theta = theta - p / dp_dtheta
    _, _, christoffel = _legendre_pair(L, np.cos(theta))
    a = 1.0 / christoffel
    if L % 2:
        theta = np.concatenate((theta, [np.pi / 2], np.pi - theta[::-1]))
        _, _, c_eq = _legendre_pair(L, np.zeros(1))
        a = np.concatenate((a, 1.0 / c_eq, a[::-1]))
    else:
        theta = np.concatenate((theta, np.pi - theta[::-1]))
        a = np.concatenate((a, a[::-1]))
    return theta, a


def gauss_legendre_grid(L):
    r"""Gauss–Legendre grid of bandlimit ``L``: ``L`` rings and ``2L - 1`` longitudes.

    Parameters
    ----------
    L : int
        Bandlimit (degrees :math:`0 \le \ell < L`), at least 1.

    Returns
    -------
    theta : ndarray, shape (L,)
        Colatitudes, increasing from the north pole: :math:`\cos\theta_j` are the roots of the Legendre
        polynomial :math:`P_L`, in decreasing order.
    phi : ndarray, shape (2L - 1,)
        Longitudes :math:`\phi_k = 2\pi k / (2L - 1)`.
    weights : ndarray, shape (L,)
        Per-sample quadrature weights :math:`w_j = \frac{2\pi}{2L - 1} a_j`, where :math:`a_j` are the
        Gauss–Legendre weights on :math:`[-1, 1]`.

    Notes
    -----
    :math:`\sum_j w_j \sum_k f(\theta_j, \phi_k) = \int_{S^2} f \,d\Omega` exactly for every :math:`f` of
    bandlimit :math:`2L - 1` (degree at most :math:`2L - 2`), so the product of two maps of bandlimit ``L`` is
    integrated exactly. This is the layout of ducc0's and s2fft's ``"GL"`` geometry.

    Examples
    --------
    >>> theta, phi, w = gauss_legendre_grid(4)
    >>> theta.shape, phi.shape, round(float(w.sum() * phi.size), 12)
    ((4,), (7,), 12.566370614359)
    """
    L = _check_L(L)
    theta, a = _gauss_legendre(L)
    n_phi = 2 * L - 1
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    return theta, phi, a * (2 * np.pi / n_phi)


def driscoll_healy_weights(L):
    r"""Driscoll–Healy colatitude weights :math:`a_j` of the ``2L`` rings (they sum to 2).

    .. math::
        a_j = \frac{2}{L} \sin\theta_j \sum_{k=0}^{L-1} \frac{\sin((2k + 1)\theta_j)}{2k + 1},
        \qquad \theta_j = \frac{\pi (2j + 1)}{4L}.

    :math:`\sum_j a_j g(\theta_j) = \int_0^\pi g(\theta) \sin\theta \,d\theta` for every polynomial
    :math:`g` of :math:`\cos\theta` of degree below :math:`2L` (Driscoll & Healy 1994, Theorem 3).

    Examples
    --------
    >>> float(round(driscoll_healy_weights(4).sum(), 12))
    2.0
    """
    L = _check_L(L)
    theta = np.pi * (2 * np.arange(2 * L) + 1) / (4 * L)
    k = 2 * np.arange(L) + 1
    return (2.0 / L) * np.sin(theta) * (np.sin(np.outer(theta, k)) / k).sum(axis=1)


def driscoll_healy_grid(L):
    r"""Equiangular Driscoll–Healy grid of bandlimit ``L``: ``2L`` rings and ``2L`` longitudes.

    Parameters
    ----------
    L : int
        Bandlimit, at least 1. ``L = 30`` is the 60 x 60 grid of spherical MNIST (Cohen et al. 2018).

    Returns
    -------
    theta : ndarray, shape (2L,)
        Colatitudes :math:`\theta_j = \pi (2j + 1) / (4L)`.
    phi : ndarray, shape (2L,)
        Longitudes :math:`\phi_k = 2\pi k / (2L)`.
    weights : ndarray, shape (2L,)
        Per-sample weights :math:`w_j = \frac{2\pi}{2L} a_j` with the Driscoll–Healy weights :math:`a_j` of
        :func:`driscoll_healy_weights`.

    Notes
    -----
    The quadrature is exact for every function of bandlimit :math:`2L` (degree at most :math:`2L - 1`), hence
    for the product of two maps of bandlimit ``L``.

    Examples
    --------
    >>> theta, phi, w = driscoll_healy_grid(30)
    >>> theta.shape, phi.shape
    ((60,), (60,))
    """
    L = _check_L(L)
    n = 2 * L
    theta = np.pi * (2 * np.arange(n) + 1) / (4 * L)
    phi = 2 * np.pi * np.arange(n) / n
    return theta, phi, driscoll_healy_weights(L) * (2 * np.pi / n)


def healpix_rings(nside):
    r"""Ring structure of a HEALPix grid in RING ordering.

    Parameters
    ----------
    nside : int
        HEALPix resolution, at least 1 (any positive integer works in RING ordering).

    Returns
    -------
    theta : ndarray, shape (4 nside - 1,)
        Colatitude of each ring, from the north pole.
    n_phi : ndarray of int, shape (4 nside - 1,)
        Number of pixels of each ring.
    phi0 : ndarray, shape (4 nside - 1,)
        Longitude of the first pixel of each ring; pixel ``k`` of the ring is at ``phi0 + 2 pi k / n_phi``.
    start : ndarray of int, shape (4 nside - 1,)
        Index of the first pixel of each ring in the map.

    Notes
    -----
    Górski et al. (2005), eqs. 4–9, with :math:`N = n_{side}`: ring :math:`i = 1 \dots 4N - 1`; in the polar
    caps (:math:`i < N`) :math:`\cos\theta = 1 - i^2 / (3N^2)`, :math:`4i` pixels and
    :math:`\phi_0 = \pi / (4i)`; in the equatorial belt (:math:`N \le i \le 2N`)
    :math:`\cos\theta = \frac43 - \frac{2i}{3N}`, :math:`4N` pixels and :math:`\phi_0 = \pi/(4N)` on rings
    where :math:`i - N` is even, 0 on the others; the south is the mirror image. Every pixel has area
    :math:`4\pi / (12 N^2)`.

    Examples
    --------
    >>> theta, n_phi, phi0, start = healpix_rings(1)
    >>> n_phi.tolist(), start.tolist()
    ([4, 4, 4], [0, 4, 8])
    """
    nside = check_int(nside, "nside", min_value=1)
    i = np.arange(1, 4 * nside)
    north = np.minimum(i, 4 * nside - i)  # ring index counted from the nearest pole
    cap = north < nside
    z = np.where(cap, 1.0 - north.astype(float) ** 2 / (3.0 * nside**2), 4.0 / 3.0 - 2.0 * north / (3.0 * nside))
    # z is exact for the cap formula only up to rounding; theta through arctan2 keeps the poles accurate.
    sin_theta = np.where(
        cap, north / nside * np.sqrt(2.0 / 3.0 - north.astype(float) ** 2 / (9.0 * nside**2)), np.sqrt(1 - z * z)
    )
    theta = np.arctan2(sin_theta, z)
    theta = np.where(i > 2 * nside, np.pi - theta, theta)
    n_phi = np.where(cap, 4 * north, 4 * nside).astype(np.int64)
    shifted = cap | ((i - nside) % 2 == 0)
    phi0 = np.where(shifted, np.pi / n_phi, 0.0)
    start = np.concatenate(([0], np.cumsum(n_phi)[:-1])).astype(np.int64)
    return theta, n_phi, phi0, start


#: Ring grids by name: each maps ``L`` to ``(theta, phi, weights)``.
_SAMPLINGS = {"gl": gauss_legendre_grid, "dh": driscoll_healy_grid}
_ALL_SAMPLINGS = (*_SAMPLINGS, "healpix")


def check_sampling(sampling, *, allow_healpix=True):
    """Normalise a sampling name (case-insensitive) and check it is known."""
    choices = _ALL_SAMPLINGS if allow_healpix else tuple(_SAMPLINGS)
    if isinstance(sampling, str):
        sampling = sampling.lower()
    return check_choice(sampling, "sampling", choices)


def sampling_grid(L, sampling="gl"):
    r"""Nodes and per-sample quadrature weights of a ring grid of bandlimit ``L``.

    Parameters
    ----------
    L : int
        Bandlimit, at least 1.
    sampling : {"gl", "dh"}
        Gauss–Legendre (:func:`gauss_legendre_grid`) or Driscoll–Healy (:func:`driscoll_healy_grid`).

    Returns
    -------
    theta : ndarray, shape (n_theta,)
    phi : ndarray, shape (n_phi,)
    weights : ndarray, shape (n_theta,)
        :math:`\int f \,d\Omega \approx \sum_j w_j \sum_k f(\theta_j, \phi_k)`.

    Examples
    --------
    >>> theta, phi, w = sampling_grid(8, "dh")
    >>> theta.shape, phi.shape
    ((16,), (16,))
    """
    sampling = check_sampling(sampling, allow_healpix=False)
    return _SAMPLINGS[sampling](L)


def grid_shape(L, sampling="gl", *, nside=None):
    """Shape of a map of bandlimit ``L`` on the grid ``sampling``.

    Parameters
    ----------
    L : int
        Bandlimit, at least 1.
    sampling : {"gl", "dh", "healpix"}
        Sampling scheme.
    nside : int, optional
        HEALPix resolution; required for ``"healpix"`` (whose grid does not follow from ``L``), ignored
        otherwise.

    Returns
    -------
    shape : tuple of int
        ``(L, 2L - 1)`` for ``"gl"``, ``(2L, 2L)`` for ``"dh"``, ``(12 nside^2,)`` for ``"healpix"``.

    Examples
    --------
    >>> grid_shape(30, "dh"), grid_shape(4), grid_shape(8, "healpix", nside=4)
    ((60, 60), (4, 7), (192,))
    """
    L = _check_L(L)
    sampling = check_sampling(sampling)
    if sampling == "gl":
        return (L, 2 * L - 1)
    if sampling == "dh":
        return (2 * L, 2 * L)
    if nside is None:
        raise ValueError("grid_shape(L, 'healpix') needs nside: a HEALPix grid does not follow from L")
    nside = check_int(nside, "nside", min_value=1)
    return (12 * nside * nside,)


def healpix_nside(npix):
    """``nside`` of a HEALPix map of ``npix`` pixels, or a ``ValueError`` if ``npix`` is not ``12 nside^2``."""
    nside = math.isqrt(max(npix // 12, 0))
    if nside < 1 or 12 * nside * nside != npix:
        raise ValueError(
            f"a HEALPix map must have 12 * nside**2 pixels on its last axis (12, 48, 108, 192, ...); got {npix}"
        )
    return nside
