r"""Canonical frames (pose normalisation) of spherical maps from their moments.

A canonical frame is a rotation :math:`R(f)` computed from a map :math:`f` that is *equivariant*,

.. math::
    R(Q f) = R(f)\, Q^{-1} \qquad \text{for every rotation } Q,

so that the aligned map :math:`R(f) f` is the same for :math:`f` and every rotated copy :math:`Q f`: any
function of the aligned map, invariant or not, is a rotation-invariant feature of :math:`f`. The frame here is
built from the first three moment tensors of :math:`f` (its harmonic coefficients of degrees
:math:`\ell \le 3`), which transform as tensors under rotations; it is a proper rotation (determinant
:math:`+1`), so mirror images are *not* identified. Rotations act as in :mod:`scatter.sphere.rotations`:
:math:`(Rf)(\omega) = f(R^{-1}\omega)`.
"""

import functools
import numbers

import numpy as np
from scipy import special

from .._validation import check_int

from .rotations import rotate_flm

__all__ = ["moment_tensors", "canonical_frame", "rotate_to_frames", "stereographic_patch"]

#: Bandlimit holding the moments of order <= 3 (polynomials of degree <= 3 on the sphere).
_MOMENT_L = 4


@functools.lru_cache(maxsize=1)
def _monomial_harmonics():
    """Coefficients ``(l, m)``, ``l < 4``, of the monomials of degree 1, 2 and 3 of ``omega = (x, y, z)``."""
    from .sampling import grid_unit_vectors, sampling_grid
    from .sht import forward_sht

    theta, phi, _ = sampling_grid(_MOMENT_L, "gl")
    w = grid_unit_vectors(theta, phi)
    # Monomials of degree <= 3 are bandlimited at 4: the GL quadrature of bandlimit 4 is exact for them.
    g1 = forward_sht(w, _MOMENT_L, "gl")
    g2 = forward_sht(w[:, None] * w[None, :], _MOMENT_L, "gl")
    g3 = forward_sht(w[:, None, None] * w[None, :, None] * w[None, None, :], _MOMENT_L, "gl")
    # <f, g> = sum_l [f_l0 g_l0 + 2 Re sum_{m > 0} f_lm conj(g_lm)] for real f, g: fold the weights in.
    weight = np.where(np.arange(_MOMENT_L) == 0, 1.0, 2.0)
    out = tuple(np.conj(g) * weight for g in (g1, g2, g3))
    for g in out:
        g.setflags(write=False)
    return out


def _check_coefficients(flm, name="flm"):
    flm = np.asarray(flm)
    if flm.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be a numeric array of harmonic coefficients; got dtype {flm.dtype}")
    if flm.ndim < 2 or flm.shape[-1] != flm.shape[-2]:
        raise ValueError(f"{name} must have shape (..., L, L); got {flm.shape}")
    if flm.shape[-1] < _MOMENT_L:
        raise ValueError(
            f"{name} must hold the degrees l <= 3 (bandlimit L >= {_MOMENT_L}) for the moments; "
            f"got L = {flm.shape[-1]}"
        )
    flm = flm[..., :_MOMENT_L, :_MOMENT_L].astype(np.complex128)
    if not np.all(np.isfinite(flm)):
        raise ValueError(f"{name} contains non-finite values")
    return flm


def moment_tensors(flm):
    r"""First, second and third moment tensors of real maps, from their harmonic coefficients.

    Parameters
    ----------
    flm : array_like, shape (..., L, L), L >= 4
        Coefficients ``flm[..., l, m]`` of real maps (:func:`scatter.sphere.forward_sht`); only the degrees
        :math:`\ell \le 3` are used.

    Returns
    -------
    d : ndarray, shape (..., 3)
        :math:`d_i = \int_{S^2} f(\omega)\, \omega_i \, d\omega`, the dipole (centre of mass).
    M : ndarray, shape (..., 3, 3)
        :math:`M_{ij} = \int f\, \omega_i \omega_j \, d\omega`.
    T : ndarray, shape (..., 3, 3, 3)
        :math:`T_{ijk} = \int f\, \omega_i \omega_j \omega_k \, d\omega`.

    Notes
    -----
    By Parseval, :math:`\int f g = \sum_\ell \big(f_{\ell 0} g_{\ell 0} + 2 \operatorname{Re}
    \sum_{m > 0} f_{\ell m} \overline{g_{\ell m}}\big)` for real :math:`f, g`; the monomial :math:`g` of
    degree :math:`k \le 3` has degrees :math:`\ell \le k`. Under a rotation :math:`Q` the tensors transform
    as :math:`d \mapsto Q d`, :math:`M \mapsto Q M Q^T`, :math:`T_{ijk} \mapsto Q_{ia} Q_{jb} Q_{kc} T_{abc}`.

    Examples
    --------
    >>> import numpy as np
    >>> flm = np.zeros((4, 4), complex); flm[1, 0] = np.sqrt(3 / (4 * np.pi))  # f = 3 z / (4 pi)
    >>> d, M, T = moment_tensors(flm)
    >>> (np.round(d, 12) + 0.0).tolist()  # int 3 z^2 / (4 pi) = 1
    [0.0, 0.0, 1.0]
    """
    flm = _check_coefficients(flm)
    g1, g2, g3 = _monomial_harmonics()
    d = np.einsum("...lm,ilm->...i", flm, g1).real
    M = np.einsum("...lm,ijlm->...ij", flm, g2).real
    T = np.einsum("...lm,ijklm->...ijk", flm, g3).real
    return d, M, T


def canonical_frame(flm, *, return_scores=False):
    r"""Equivariant canonical frame of real maps from their moments: the rotation that puts them in standard pose.

    Parameters
    ----------
    flm : array_like, shape (..., L, L), L >= 4
        Coefficients of real maps (only the degrees :math:`\ell \le 3` are used).
    return_scores : bool, default False
        Also return how well determined each step of the frame is.

    Returns
    -------
    R : ndarray, shape (..., 3, 3)
        Rotation matrices (orthogonal, determinant +1); ``rotate_flm(flm, R)`` is the map in its frame.
    scores : ndarray, shape (..., 3)
        Only with ``return_scores``: how well determined each of the three steps below is (scale free, see
        Notes). A score near 0 flags a near-degenerate step, where a small change of the map can change the
        frame (by a half turn about :math:`e_3` for the third step).

    Notes
    -----
    With the moment tensors :math:`d, M, T` of :func:`moment_tensors`:

    1. :math:`e_3 = d / |d|`, the direction of the centre of mass;
    2. :math:`e_1` the unit eigenvector of the largest eigenvalue :math:`\mu_1` of the second moment
       restricted to the plane :math:`e_3^\perp`, :math:`P M P` with :math:`P = I - e_3 e_3^T` (the principal
       axis of the map seen from :math:`e_3`), its sign chosen so that the third moment along it is positive,
       :math:`t = T_{ijk} e_{1i} e_{1j} e_{1k} > 0`;
    3. :math:`e_2 = e_3 \times e_1` (right-handed: a mirror image gets a different aligned map).

    :math:`R(f) = [e_1\ e_2\ e_3]^T` maps :math:`e_1, e_2, e_3` to the axes :math:`x, y, z`, so the aligned
    map :math:`R(f) f` has its centre of mass on the north pole and its principal axis along :math:`+x`. As
    :math:`d, M, T` are tensors, :math:`e_i(Qf) = Q e_i(f)` and :math:`R(Qf) = R(f) Q^{-1}`, exactly for
    bandlimited maps. The frame is undefined where :math:`d = 0`, :math:`\mu_1 = \mu_2` or :math:`t = 0`; the
    scores are :math:`s_1 = |d| / \|M\|_F`, :math:`s_2 = (\mu_1 - \mu_2) / (|\mu_1| + |\mu_2|)` and
    :math:`s_3 = |t| / \|M\|_F` (:math:`s_3` is small for maps nearly symmetric under the half turn about
    :math:`e_3`). Exactly degenerate maps get a valid, arbitrary rotation.

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.sphere import forward_sht, sampling_grid
    >>> theta, phi = np.meshgrid(*sampling_grid(8, "gl")[:2], indexing="ij")
    >>> x, y, z = np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)
    >>> f = 1 + x + 0.5 * y ** 2 + 0.2 * (y ** 3 - 0.6 * y)  # mass towards +x, spread and skewed along +y
    >>> R = canonical_frame(forward_sht(f, 8))
    >>> (np.round(R @ [1.0, 0.0, 0.0], 6) + 0.0).tolist(), (np.round(R @ [0.0, 1.0, 0.0], 6) + 0.0).tolist()
    ([0.0, 0.0, 1.0], [1.0, 0.0, 0.0])
    """
    if not isinstance(return_scores, (bool, np.bool_)):
        raise TypeError(f"return_scores must be a bool; got {return_scores!r}")
    d, M, T = moment_tensors(flm)
    batch = d.shape[:-1]
    d, M, T = d.reshape(-1, 3), M.reshape(-1, 3, 3), T.reshape(-1, 3, 3, 3)
    norm_d = np.linalg.norm(d, axis=-1)
    e3 = np.where(norm_d[:, None] > 0, d / np.where(norm_d > 0, norm_d, 1.0)[:, None], [0.0, 0.0, 1.0])
    # An orthonormal basis (u, v) of the plane orthogonal to e3, from the axis least aligned with e3.
    helper = np.eye(3)[np.argmin(np.abs(e3), axis=-1)]
    u = np.cross(e3, helper)
    u /= np.linalg.norm(u, axis=-1, keepdims=True)
    v = np.cross(e3, u)
    basis = np.stack([u, v], axis=-1)  # (B, 3, 2)
    M2 = np.einsum("bia,bij,bjc->bac", basis, M, basis)
    mu, vec = np.linalg.eigh(M2)  # ascending
    e1 = np.einsum("bia,ba->bi", basis, vec[:, :, 1])
    t = np.einsum("bijk,bi,bj,bk->b", T, e1, e1, e1)
    e1 = np.where(t[:, None] < 0, -e1, e1)
    e2 = np.cross(e3, e1)
    R = np.stack([e1, e2, e3], axis=1).reshape(*batch, 3, 3)
    if not return_scores:
        return R
    tiny = np.finfo(float).tiny
    scores = np.stack(
        [
            norm_d / np.maximum(np.linalg.norm(M, axis=(-2, -1)), tiny),
            (mu[:, 1] - mu[:, 0]) / np.maximum(np.abs(mu).sum(axis=-1), tiny),
            np.abs(t) / np.maximum(np.linalg.norm(M, axis=(-2, -1)), tiny),
        ],
        axis=-1,
    ).reshape(*batch, 3)
    return R, scores


def rotate_to_frames(clm, frames):
    r"""Rotate each map of a batch (and all its channels) by its own rotation: :math:`R_b\, c_b`.

    Parameters
    ----------
    clm : array_like, complex, shape (B, ..., L, L)
        Coefficients of real maps, indexed ``[b, ..., l, m]`` (e.g. the scattering maps of every path,
        ``(B, P, L, L)`` from :func:`scatter.sphere.scattering.scattering_coefficients`).
    frames : array_like, shape (B, 3, 3)
        One rotation matrix per map (e.g. :func:`canonical_frame`).

    Returns
    -------
    ndarray of complex128, shape (B, ..., L, L)
        ``out[b] = rotate_flm(clm[b], frames[b])``.

    Notes
    -----
    Exact for bandlimited maps (:func:`scatter.sphere.rotate_flm`, :math:`O(L^3)` per map and rotation).

    Examples
    --------
    >>> import numpy as np
    >>> clm = np.zeros((2, 3, 3), complex); clm[:, 1, 0] = 1.0
    >>> frames = np.stack([np.eye(3), np.diag([1.0, -1.0, -1.0])])
    >>> rotate_to_frames(clm, frames)[:, 1, 0].real.round(12).tolist()
    [1.0, -1.0]
    """
    clm = np.asarray(clm)
    frames = np.asarray(frames)
    if clm.ndim < 3:
        raise ValueError(f"clm must have shape (B, ..., L, L); got {clm.shape}")
    if frames.shape != (clm.shape[0], 3, 3):
        raise ValueError(
            f"frames must have shape (B, 3, 3) = ({clm.shape[0]}, 3, 3) to match clm; got {frames.shape}"
        )
    out = np.empty(clm.shape, dtype=np.complex128)
    for b in range(clm.shape[0]):
        out[b] = rotate_flm(clm[b], frames[b])
    return out


@functools.lru_cache(maxsize=4)
def _patch_harmonics(L, size, spacing):
    """``Y[(l, m), pixel]`` of the patch's pixels for ``m >= 0``, doubled for ``m > 0`` (real-map synthesis)."""
    u = (np.arange(size) - (size - 1) / 2) * spacing
    u, v = np.meshgrid(u, u, indexing="ij")
    r2 = u * u + v * v
    z = (4.0 - r2) / (4.0 + r2)
    theta = np.arccos(np.clip(z, -1.0, 1.0)).ravel()
    phi = np.arctan2(v, u).ravel()  # x = 4 u / (4 + r2), y = 4 v / (4 + r2): the same angle as (u, v)
    ell, m = np.tril_indices(L)
    Y = special.sph_harm_y(ell[:, None], m[:, None], theta[None], phi[None])
    Y *= np.where(m > 0, 2.0, 1.0)[:, None]
    Y.setflags(write=False)
    return ell, m, Y


def stereographic_patch(flm, size=32, spacing=3.0 / 28.0):
    r"""Real bandlimited maps seen on a square grid of the plane tangent at the north pole.

    The plane :math:`z = 1` is mapped to the sphere by the stereographic projection from the south pole; the
    map is evaluated exactly (harmonic synthesis) at the preimages of the pixel centres.

    Parameters
    ----------
    flm : array_like, complex, shape (..., L, L)
        Coefficients of real maps (:func:`scatter.sphere.forward_sht`).
    size : int, default 32
        Pixels per side.
    spacing : float, default 3/28
        Distance between pixel centres in the plane, in units of the sphere's radius (the default is the
        pixel of spherical MNIST, 28 pixels over 3 radii).

    Returns
    -------
    ndarray, float64, shape (..., size, size)
        ``out[..., i, k] = f(omega(u_i, v_k))`` with :math:`u_i = (i - (\text{size} - 1)/2)\,h` along
        :math:`x` and :math:`v_k` likewise along :math:`y`.

    Notes
    -----
    .. math::
        \omega(u, v) = \frac{(4u,\ 4v,\ 4 - r^2)}{4 + r^2},\ r^2 = u^2 + v^2, \qquad
        f(\omega) = \sum_{\ell < L} \Big(f_{\ell 0} Y_{\ell 0}(\omega)
        + 2 \operatorname{Re} \sum_{m > 0} f_{\ell m} Y_{\ell m}(\omega)\Big),

    the inverse of :math:`(u, v) = 2 (x, y) / (1 + z)`, which is conformal and sends the north pole to the
    centre of the patch. A rotation about the :math:`z` axis rotates the patch about its centre: the half turn
    :math:`R_z(\pi)` is ``patch[..., ::-1, ::-1]``. The harmonics :math:`Y_{\ell m}` (orthonormal, Condon-Shortley
    phase) come from :func:`scipy.special.sph_harm_y`, tabulated once per ``(L, size, spacing)``.

    Examples
    --------
    >>> import numpy as np
    >>> flm = np.zeros((2, 2), complex); flm[1, 0] = np.sqrt(4 * np.pi / 3)  # f = z
    >>> patch = stereographic_patch(flm, size=2, spacing=2.0)  # pixels at u, v = +-1: z = 2 / 6
    >>> np.allclose(patch, 1 / 3)
    True
    """
    flm = np.asarray(flm)
    if flm.dtype.kind not in "biufc":
        raise TypeError(f"flm must be a numeric array of harmonic coefficients; got dtype {flm.dtype}")
    if flm.ndim < 2 or flm.shape[-1] != flm.shape[-2] or flm.shape[-1] < 1:
        raise ValueError(f"flm must have shape (..., L, L) with L >= 1; got {flm.shape}")
    size = check_int(size, "size", min_value=1)
    if isinstance(spacing, (bool, np.bool_)) or not isinstance(spacing, numbers.Real):
        raise TypeError(f"spacing must be a positive real number; got {spacing!r}")
    if not (np.isfinite(spacing) and spacing > 0):
        raise ValueError(f"spacing must be a positive finite real number; got {spacing!r}")
    L = flm.shape[-1]
    ell, m, Y = _patch_harmonics(L, size, float(spacing))
    out = (flm[..., ell, m].astype(np.complex128) @ Y).real
    return out.reshape(*flm.shape[:-2], size, size)
