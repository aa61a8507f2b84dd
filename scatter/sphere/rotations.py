r"""Exact rotations of bandlimited signals on the sphere, in harmonic space.

Conventions
-----------
A rotation :math:`R \in SO(3)` acts on points of the sphere as a matrix, :math:`\omega \mapsto R\omega`, and
on functions actively: :math:`(R f)(\omega) = f(R^{-1}\omega)` (the pattern of :math:`f` is carried along by
:math:`R`). Euler angles are ZYZ, :math:`R = R_z(\alpha) R_y(\beta) R_z(\gamma)`, with right-handed
rotations :math:`R_z(\alpha) = \begin{pmatrix} \cos\alpha & -\sin\alpha & 0 \\ \sin\alpha & \cos\alpha & 0 \\
0 & 0 & 1 \end{pmatrix}`. In the harmonic coefficients of :mod:`scatter.sphere.sht` (orthonormal,
Condon–Shortley phase),

.. math::
    (R f)_{\ell m} = \sum_{m' = -\ell}^{\ell} D^\ell_{m m'}(\alpha, \beta, \gamma) f_{\ell m'}, \qquad
    D^\ell_{m m'}(\alpha, \beta, \gamma) = e^{-i m \alpha} d^\ell_{m m'}(\beta) e^{-i m' \gamma},

with Wigner's small-d matrix :math:`d^\ell_{m m'}(\beta) = \langle \ell m | e^{-i \beta J_y} | \ell m'
\rangle`, e.g. :math:`d^1_{10}(\beta) = -\sin\beta / \sqrt 2`.
"""

import numbers

import numpy as np

from .._validation import check_int
from . import _kernels
from .sampling import _check_L
from .sht import _check_flm, _single_threaded_blas

__all__ = ["wigner_d_small", "rotate_flm", "matrix_from_euler", "euler_from_matrix", "random_rotation"]


def _check_angle(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number (radians); got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    return value


def _wigner_steps(L, beta):
    """Yield ``(l, d)`` for ``l < L``: ``d[i, k] = d^l_{l - i, l - k}(beta)`` (a view, valid until the next)."""
    p, q = np.cos(beta / 2), np.sin(beta / 2)
    size = 2 * L + 2  # d^l with a zero border, see _kernels.risbo_step
    bufs = [np.zeros((size, size)), np.zeros((size, size))]
    sqrt_int = np.sqrt(np.arange(2 * L, dtype=np.float64))
    bufs[0][1, 1] = 1.0
    cur = 0
    yield 0, bufs[0][1:2, 1:2]
    for ell in range(1, L):
        for n in (2 * ell - 1, 2 * ell):
            _kernels.risbo_step(bufs[cur], n, p, q, sqrt_int, bufs[1 - cur])
            cur = 1 - cur
        yield ell, bufs[cur][1: 2 * ell + 2, 1: 2 * ell + 2]


def wigner_d_small(L, beta):
    r"""Wigner small-d matrices :math:`d^\ell(\beta)` for every degree :math:`\ell < L`.

    Parameters
    ----------
    L : int
        Bandlimit, at least 1.
    beta : float
        Rotation angle about the y axis (radians).

    Returns
    -------
    d : list of ndarray
        ``d[l]`` has shape ``(2l + 1, 2l + 1)`` and ``d[l][m' + l, m + l]`` is :math:`d^\ell_{m' m}(\beta)`.

    Notes
    -----
    Computed by Risbo's recursion in half-integer steps of :math:`j`
    (:func:`scatter.sphere._kernels.risbo_step`), from :math:`d^0 = 1`: stable at every degree (each step
    combines orthogonal matrices), :math:`O(L^3)` operations and :math:`O(L^3)` memory for the result.
    The explicit sum is

    .. math::
        d^\ell_{m' m}(\beta) = \sum_s \frac{(-1)^{m' - m + s} \sqrt{(\ell + m')! (\ell - m')! (\ell + m)!
        (\ell - m)!}}{(\ell + m - s)!\, s!\, (m' - m + s)!\, (\ell - m' - s)!}
        \cos^{2\ell + m - m' - 2s}\tfrac\beta2 \sin^{m' - m + 2s}\tfrac\beta2.

    Examples
    --------
    >>> import numpy as np
    >>> d = wigner_d_small(2, np.pi / 3)
    >>> np.allclose(d[1][1 + 1, 0 + 1], -np.sin(np.pi / 3) / np.sqrt(2))
    True
    """
    L = _check_L(L)
    beta = _check_angle(beta, "beta")
    return [d[::-1, ::-1].copy() for _, d in _wigner_steps(L, beta)]


def matrix_from_euler(alpha, beta, gamma):
    r"""Rotation matrix :math:`R_z(\alpha) R_y(\beta) R_z(\gamma)` of ZYZ Euler angles (radians).

    Examples
    --------
    >>> import numpy as np
    >>> np.allclose(matrix_from_euler(np.pi / 2, 0, 0) @ [1, 0, 0], [0, 1, 0])
    True
    """
    alpha, beta, gamma = (_check_angle(v, n) for v, n in ((alpha, "alpha"), (beta, "beta"), (gamma, "gamma")))

    def rz(t):
        c, s = np.cos(t), np.sin(t)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    c, s = np.cos(beta), np.sin(beta)
    ry = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return rz(alpha) @ ry @ rz(gamma)


def _check_matrix(R, name="rotation"):
    R = np.asarray(R)
    if R.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real array; got dtype {R.dtype}")
    R = R.astype(np.float64)
    if R.shape != (3, 3):
        raise ValueError(f"{name} must be a 3x3 rotation matrix; got shape {R.shape}")
    if not np.all(np.isfinite(R)):
        raise ValueError(f"{name} contains non-finite values")
    err = np.abs(R @ R.T - np.eye(3)).max()
    if err > 1e-8 or np.linalg.det(R) < 0:
        raise ValueError(
            f"{name} must be a rotation matrix (orthogonal, determinant +1); got |R R^T - I| = {err:.2e} and "
            f"det = {np.linalg.det(R):.6f}"
        )
    return R


def euler_from_matrix(R):
    r"""ZYZ Euler angles ``(alpha, beta, gamma)`` of a rotation matrix, inverse of :func:`matrix_from_euler`.

    Returns
    -------
    alpha, gamma : float
        In :math:`(-\pi, \pi]`.
    beta : float
        In :math:`[0, \pi]`. When :math:`\sin\beta = 0` the split of the z rotation between ``alpha`` and
        ``gamma`` is not unique: ``gamma = 0`` is returned.

    Notes
    -----
    With :math:`R = R_z(\alpha) R_y(\beta) R_z(\gamma)`: :math:`R_{22} = \cos\beta`,
    :math:`(R_{02}, R_{12}) = \sin\beta (\cos\alpha, \sin\alpha)` and
    :math:`(R_{20}, R_{21}) = \sin\beta (-\cos\gamma, \sin\gamma)`.

    Examples
    --------
    >>> import numpy as np
    >>> np.allclose(euler_from_matrix(matrix_from_euler(0.1, 0.2, 0.3)), (0.1, 0.2, 0.3))
    True
    """
    R = _check_matrix(R, "R")
    sin_beta = np.hypot(R[0, 2], R[1, 2])
    beta = float(np.arctan2(sin_beta, R[2, 2]))
    if sin_beta > 1e-12:
        alpha = float(np.arctan2(R[1, 2], R[0, 2]))
        gamma = float(np.arctan2(R[2, 1], -R[2, 0]))
    elif R[2, 2] > 0:  # R = R_z(alpha + gamma)
        alpha, gamma = float(np.arctan2(R[1, 0], R[0, 0])), 0.0
    else:  # R = R_z(alpha) R_y(pi)
        alpha, gamma = float(np.arctan2(-R[1, 0], -R[0, 0])), 0.0
    return alpha, beta, gamma


def random_rotation(rng=None):
    r"""A rotation matrix drawn uniformly from :math:`SO(3)` (Haar measure).

    Parameters
    ----------
    rng : numpy.random.Generator, int or None
        Random generator or seed (``numpy.random.default_rng(rng)``).

    Returns
    -------
    R : ndarray, shape (3, 3)

    Notes
    -----
    The unit quaternion of four independent standard normals, normalised, is uniform on :math:`S^3`, which
    double covers :math:`SO(3)` with the Haar measure pushed forward (Shoemake 1992). Equivalently the
    rotation angle :math:`\omega` has density :math:`(1 - \cos\omega)/\pi` on :math:`[0, \pi]`.

    Examples
    --------
    >>> import numpy as np
    >>> R = random_rotation(0)
    >>> bool(np.allclose(R @ R.T, np.eye(3)) and np.isclose(np.linalg.det(R), 1.0))
    True
    """
    rng = np.random.default_rng(rng)
    w, x, y, z = rng.standard_normal(4)
    n = np.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _euler(rotation):
    """ZYZ angles of ``rotation``: a 3x3 matrix or a sequence ``(alpha, beta, gamma)``."""
    arr = np.asarray(rotation)
    if arr.shape == (3, 3):
        return euler_from_matrix(arr)
    if arr.shape == (3,):
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"rotation angles must be real numbers; got dtype {arr.dtype}")
        return tuple(_check_angle(float(v), n) for v, n in zip(arr, ("alpha", "beta", "gamma")))
    raise ValueError(
        f"rotation must be ZYZ Euler angles (alpha, beta, gamma) or a 3x3 rotation matrix; got shape {arr.shape}"
    )


def rotate_flm(flm, rotation):
    r"""Rotate real bandlimited signals given by their harmonic coefficients: :math:`(R f)(\omega) = f(R^{-1}\omega)`.

    Parameters
    ----------
    flm : array_like, shape (..., L, L)
        Coefficients ``flm[..., l, m]``, :math:`0 \le m \le \ell < L`, of real maps (as returned by
        :func:`scatter.sphere.forward_sht`); any batch shape, all rotated by the same rotation.
    rotation : array_like
        ZYZ Euler angles ``(alpha, beta, gamma)`` in radians, :math:`R = R_z(\alpha) R_y(\beta) R_z(\gamma)`,
        or a 3x3 rotation matrix.

    Returns
    -------
    flm_rot : ndarray of complex128, shape (..., L, L)
        Coefficients of :math:`R f`, zero for ``m > l``.

    Notes
    -----
    .. math::
        (R f)_{\ell m} = e^{-i m \alpha} \sum_{m' = -\ell}^{\ell} d^\ell_{m m'}(\beta) e^{-i m' \gamma}
        f_{\ell m'}, \qquad f_{\ell, -m'} = (-1)^{m'} \overline{f_{\ell m'}},

    exact for bandlimited signals (up to rounding); :math:`d^\ell` from Risbo's recursion, one degree at a
    time (memory :math:`O(L^2)`), :math:`O(L^3)` operations per map.

    Examples
    --------
    >>> import numpy as np
    >>> flm = np.zeros((3, 3), complex); flm[1, 0] = 1.0   # f = sqrt(3 / 4 pi) z
    >>> out = rotate_flm(flm, (0.0, np.pi, 0.0))           # the half turn about y maps z to -z
    >>> np.allclose(out[1, 0], -1.0)
    True
    """
    arr = np.asarray(flm)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"flm must have shape (..., L, L); got {arr.shape}")
    L = check_int(arr.shape[-1], "L", min_value=1)
    flm = _check_flm(arr, L)
    alpha, beta, gamma = _euler(rotation)
    batch = flm.shape[:-2]
    x = flm.reshape(-1, L, L)
    B = x.shape[0]
    out = np.zeros((B, L, L), dtype=np.complex128)
    m_all = np.arange(-(L - 1), L)
    phase_gamma = np.exp(-1j * m_all * gamma)
    phase_alpha = np.exp(-1j * np.arange(L) * alpha)
    sign = np.where(np.arange(L) % 2, -1.0, 1.0)
    g = np.empty((2 * L - 1, B), dtype=np.complex128)
    with _single_threaded_blas():
        _rotate_degrees(x, out, L, beta, g, sign, phase_gamma)
    out *= phase_alpha
    out[..., 0] = out[..., 0].real
    return out.reshape(*batch, L, L)


def _rotate_degrees(x, out, L, beta, g, sign, phase_gamma):
    """``out[:, l, m] = sum_m' d^l_{m m'}(beta) g_m'`` with ``g_m' = e^{-i m' gamma} x[:, l, m']``."""
    for ell, d in _wigner_steps(L, beta):
        # d[i, k] = d^l_{l - i, l - k}: rows i = 0..l hold m = l..0, columns k = 0..2l hold m' = l..-l.
        c = x[:, ell, : ell + 1].T  # (m' >= 0, B)
        n = 2 * ell + 1
        g[:n][ell::-1] = c  # k = l - m' for m' >= 0
        g[ell + 1: n] = (sign[1: ell + 1, None] * np.conj(c[1:]))  # m' = -1..-l at k = l+1..2l
        g[:n] *= phase_gamma[L - 1 + ell: L - 2 - ell if L - 2 - ell >= 0 else None: -1, None]
        rows = d[: ell + 1] @ g[:n].view(np.float64)  # (m = l..0, 2B)
        out[:, ell, : ell + 1] = rows.view(np.complex128)[::-1].T
