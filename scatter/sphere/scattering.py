r"""Rotation-invariant and rotation-equivariant scattering on the sphere, computed in multiresolution.

After McEwen, Wallis & Mavor-Parker, "Scattering Networks on the Sphere for Scalable and Rotationally
Equivariant Spherical CNNs" (ICLR 2022, arXiv:2102.02828), with the axisymmetric wavelets of
:mod:`scatter.sphere.wavelets`.

Paths and scales
----------------
Wavelet scales follow S2LET: :math:`\Psi^j` lives on the degrees :math:`\lambda^{j-1} < \ell <
\lambda^{j+1}`, so that a *larger* :math:`j` is a *finer* scale. A path :math:`p = (j_1, \dots, j_m)` goes
to coarser scales, :math:`j_1 > j_2 > \dots`, all in :math:`[J_0, J]`:

.. math::

    U[()] f = f, \qquad U[p + (j,)] f = |U[p] f \star \psi_j|.

Outputs
-------
``"invariant"``: one value per path, the mean over the sphere

.. math::

    S[p] f = \frac{1}{4\pi} \int_{S^2} U[p] f\, d\omega = \frac{(U[p] f)_{00}}{\sqrt{4\pi}},

which is also the mean of the low-pass :math:`U[p] f \star \phi` (:math:`\Phi_0 = 1`): exactly invariant to
rotations of :math:`f` as the modulus and the axisymmetric convolutions commute with rotations. With
:math:`\|f\|^2_{\mathrm{rms}} = \frac{1}{4\pi} \int |f|^2` the frame of :mod:`~scatter.sphere.wavelets` makes
the transform non-expansive, :math:`\|S f - S g\| \le \|f - g\|_{\mathrm{rms}}` (up to the discretisation
below).

``"equivariant"``: the low-passed maps :math:`U[p] f \star \phi` at the scaling function's bandlimit
:math:`L_\phi = \min(L, \lceil\lambda^{J_0}\rceil)`, sampled on the Gauss-Legendre grid of that bandlimit,
shape ``(..., n_paths, *grid_shape(L_phi, "gl"))``; they rotate with :math:`f`. For :math:`J_0 = 0` the grid
is one point holding the invariant mean.

Multiresolution
---------------
The modulus of a bandlimited map is not bandlimited: it is computed where its wavelet lives. For each
wavelet :math:`j` of bandlimit :math:`L_j = \min(L, \lceil\lambda^{j+1}\rceil)`, the filtered coefficients
are synthesised on the Gauss-Legendre rings of bandlimit :math:`M_j = \lceil o\, L_j\rceil` (:math:`o` the
``oversampling``, :func:`default_oversampling` by default), with the smallest fast FFT length of longitudes
that is at least :math:`2 M_j - 1` (the quadrature stays exact for bandlimit :math:`M_j`), and the modulus is
taken there. Only the degrees that are read later are analysed back: those of the coarser wavelets
:math:`j_2 < j_1` (:math:`L_{j_2} \le L_{j_1} / \lambda`) and of the output (the mean, or :math:`L_\phi`);
the synthesis runs over the :math:`L_j` degrees of the filtered map only. Analysing a map that is not
bandlimited aliases its degrees :math:`\ge M_j` onto lower ones: this is the usual approximation, and it is
what breaks exact invariance; its size, measured by the tests and the benchmark, falls as :math:`o` grows.
"""

import functools
import math
import numbers

import numpy as np
from scipy import special

from .._validation import check_choice, check_int
from .sht import _GL_FAST, _ring_analysis as analysis, _ring_synthesis as synthesis, forward_sht
from .wavelets import axisymmetric_filter_bank

__all__ = [
    "SphericalScattering",
    "spherical_scattering",
    "scattering_coefficients",
    "cross_spectra",
    "scattering_paths",
    "modulus_bandlimits",
    "default_oversampling",
]

_OUTPUTS = ("invariant", "equivariant")
_SAMPLINGS = ("gl", "dh")
#: Smallest default ``oversampling`` (:func:`default_oversampling`).
DEFAULT_OVERSAMPLING = 4.0




def _grid_shape(L, sampling):
    from .sampling import grid_shape

    return tuple(grid_shape(L, sampling))


def default_oversampling(L):
    r"""Default ``oversampling`` for input bandlimit ``L``: :math:`o = \max(4, 128 / L)`.

    Small bandlimits alias relatively more: with this rule the rotation-invariance error of the invariant
    output, for inputs bandlimited at :math:`L/2`, stays below :math:`10^{-3}` for every ``L`` (measured by
    the tests and ``benchmarks/spherical_scattering.py``), while the grids of small ``L`` stay cheap.

    Examples
    --------
    >>> from scatter.sphere.scattering import default_oversampling
    >>> default_oversampling(16), default_oversampling(64)
    (8.0, 4.0)
    """
    return max(DEFAULT_OVERSAMPLING, 128.0 / L)


def _check_oversampling(oversampling, L):
    """``oversampling`` as a float, :func:`default_oversampling` for ``None``."""
    if oversampling is None:
        return default_oversampling(L)
    if isinstance(oversampling, (bool, np.bool_)) or not isinstance(oversampling, numbers.Real):
        raise TypeError(
            f"oversampling must be None or a real number >= 1; got {oversampling!r} of type {type(oversampling).__name__}"
        )
    if not (oversampling >= 1 and math.isfinite(oversampling)):
        raise ValueError(f"oversampling must be None or a real number >= 1; got {oversampling!r}")
    return float(oversampling)


def scattering_paths(filters, max_order):
    """Paths ``()``, ``(j1,)``, ``(j1, j2)`` with ``j1 > j2`` (coarser), in output order.

    Parameters
    ----------
    filters : dict
        Filter bank of :func:`scatter.sphere.wavelets.axisymmetric_filter_bank`.
    max_order : {0, 1, 2}
        Highest order.

    Returns
    -------
    list of tuple of int

    Examples
    --------
    >>> from scatter.sphere.wavelets import axisymmetric_filter_bank
    >>> from scatter.sphere.scattering import scattering_paths
    >>> scattering_paths(axisymmetric_filter_bank(8, J0=1), 2)
    [(), (1,), (2,), (3,), (2, 1), (3, 1), (3, 2)]
    """
    max_order = check_int(max_order, "max_order", min_value=0, max_value=2)
    js = [int(j) for j in filters["j"]]
    paths = [()]
    if max_order >= 1:
        paths += [(j1,) for j1 in js]
    if max_order >= 2:
        paths += [(j1, j2) for j1 in js for j2 in js if j2 < j1]
    return paths


def modulus_bandlimits(filters, oversampling=None):
    r"""Bandlimit :math:`M_j = \lceil o\, L_j \rceil` of the grid where the modulus after wavelet :math:`j` is taken.

    Parameters
    ----------
    filters : dict
        Filter bank of :func:`scatter.sphere.wavelets.axisymmetric_filter_bank`.
    oversampling : float, optional
        :math:`o \ge 1`; ``None``: :func:`default_oversampling` of ``filters["L"]``.

    Returns
    -------
    ndarray of int, one per wavelet (rows of ``filters["psi"]``)

    Examples
    --------
    >>> from scatter.sphere.wavelets import axisymmetric_filter_bank
    >>> from scatter.sphere.scattering import modulus_bandlimits
    >>> modulus_bandlimits(axisymmetric_filter_bank(16), 2.0).tolist()
    [4, 8, 16, 32, 32]
    """
    oversampling = _check_oversampling(oversampling, filters["L"])
    return np.array([math.ceil(oversampling * int(b) - 1e-9) for b in filters["bandlimit"]], dtype=np.intp)


@functools.lru_cache(maxsize=64)
def _gl_ring_weights(M):
    """Gauss-Legendre weights / 2 of the ``M`` rings (symmetric, so the ring order does not matter): the mean
    over the sphere of a map ``u`` on the GL grid is ``weights @ u.mean(axis=-1)``."""
    weights = special.roots_legendre(M)[1] / 2.0
    weights.setflags(write=False)
    return weights


def _resize(flm, L):
    """Coefficients truncated or zero-padded to bandlimit ``L`` (last two axes)."""
    n = flm.shape[-1]
    if n >= L:
        return np.ascontiguousarray(flm[..., :L, :L])
    out = np.zeros(flm.shape[:-2] + (L, L), dtype=flm.dtype)
    out[..., :n, :n] = flm
    return out


class _Moduli:
    r"""The moduli :math:`|U \star \psi_j|` of a filter bank, each on its own grid (see the module docstring)."""

    def __init__(self, filters, oversampling):
        self.js = [int(j) for j in filters["j"]]
        self.psi = filters["psi"]
        self.row = {j: i for i, j in enumerate(self.js)}
        self.bandlimit = {j: int(b) for j, b in zip(self.js, filters["bandlimit"])}
        self.grid = dict(zip(self.js, (int(m) for m in modulus_bandlimits(filters, oversampling))))

    def __call__(self, clm, j):
        """``|U star psi_j|`` on the grid of bandlimit M_j, and M_j, from the coefficients of U (bandlimit >= L_j)."""
        M, b = self.grid[j], self.bandlimit[j]
        return np.abs(synthesis(clm[..., :b, :b] * self.psi[self.row[j], :b, None], _GL_FAST, M)), M

    def coarser_bandlimit(self, j1):
        """Degrees the wavelets coarser than ``j1`` read: the largest of their bandlimits (0 if none)."""
        return max((self.bandlimit[j2] for j2 in self.js if j2 < j1), default=0)


def spherical_scattering(
    maps, filters, max_order=2, output="invariant", *, sampling="gl", oversampling=None
):
    r"""Spherical scattering of a batch of real maps over a precomputed filter bank.

    Parameters
    ----------
    maps : ndarray, float, shape (B, *grid)
        Real maps on the grid of bandlimit ``filters["L"]`` for ``sampling``; no validation here (see
        :class:`SphericalScattering` for the checked entry point).
    filters : dict
        Filter bank of :func:`scatter.sphere.wavelets.axisymmetric_filter_bank`.
    max_order : {0, 1, 2}, default 2
        Highest order.
    output : {"invariant", "equivariant"}, default "invariant"
        See the module docstring.
    sampling : {"gl", "dh"}, default "gl"
        Sampling of ``maps``.
    oversampling : float, optional
        Factor :math:`o` of :func:`modulus_bandlimits` (``None``: :func:`default_oversampling`).

    Returns
    -------
    ndarray, float64
        ``(B, n_paths)`` for ``"invariant"``; ``(B, n_paths, *grid_shape(L_phi, "gl"))`` for
        ``"equivariant"``, paths in the order of :func:`scattering_paths`.

    Notes
    -----
    For each path, in the order of :func:`scattering_paths` (``c`` the coefficients of
    :math:`U[p]f` at bandlimit :math:`M`, :math:`\mathcal{A}_M`, :math:`\mathcal{S}_M` the forward and
    inverse transforms on the GL grid of bandlimit :math:`M`):

    .. math::

        c_{U[p + (j,)]} = \mathcal{A}_{M_j}\big|\mathcal{S}_{M_j}(\Psi^j_\ell\, c_{U[p], \ell m},\ \ell < L_j)\big|,
        \qquad S[p] = c_{U[p], 00} / \sqrt{4\pi}.
    """
    L = filters["L"]
    modulus = _Moduli(filters, oversampling)
    js = modulus.js
    L_phi = int(filters["phi_bandlimit"])
    phi = filters["phi"][:L_phi, None]
    invariant = output == "invariant"
    summary_bandlimit = 1 if invariant else L_phi

    def summary(clm):
        if invariant:
            return clm[..., 0, 0].real / math.sqrt(4.0 * math.pi)
        return synthesis(_resize(clm, L_phi) * phi, "gl", L_phi)

    def leaf(clm, j):
        """Output of a path that is not propagated further."""
        u, M = modulus(clm, j)
        if invariant:
            # The mean by the grid's quadrature: the l = 0 coefficient of the analysis, without the analysis.
            return u.mean(axis=-1) @ _gl_ring_weights(M)
        return summary(analysis(u, L_phi, _GL_FAST, M))

    flm = forward_sht(maps, L, sampling)
    out = [summary(flm)]
    if max_order == 1:
        out += [leaf(flm, j1) for j1 in js]
    elif max_order == 2:
        first = {}
        for j1 in js:
            u, M = modulus(flm, j1)
            # Only the degrees the output and the coarser wavelets j2 < j1 read are analysed.
            needed = max(summary_bandlimit, modulus.coarser_bandlimit(j1))
            first[j1] = analysis(u, needed, _GL_FAST, M)
            out.append(summary(first[j1]))
        out += [leaf(first[j1], j2) for j1 in js for j2 in js if j2 < j1]
    return np.stack(out, axis=1)


def scattering_coefficients(
    maps, filters, bandlimit, max_order=2, *, sampling="gl", oversampling=None
):
    r"""Harmonic coefficients of every scattering map :math:`U[p] f`, up to a common bandlimit.

    The rotation-equivariant representation before any low-pass: :math:`(U[p] f)_{\ell m}` for
    :math:`\ell < ` ``bandlimit``, computed as in :func:`spherical_scattering` (each modulus on its own grid,
    coefficients zero above that grid's bandlimit).

    Parameters
    ----------
    maps : ndarray, float, shape (B, *grid)
        Real maps on the grid of bandlimit ``filters["L"]`` for ``sampling`` (not validated here).
    filters : dict
        Filter bank of :func:`scatter.sphere.wavelets.axisymmetric_filter_bank`.
    bandlimit : int
        Degrees kept, ``l < bandlimit``.
    max_order : {0, 1, 2}, default 2
        Highest order.
    sampling : {"gl", "dh"}, default "gl"
        Sampling of ``maps``.
    oversampling : float, optional
        Factor of :func:`modulus_bandlimits` (``None``: :func:`default_oversampling`).

    Returns
    -------
    ndarray, complex, shape (B, n_paths, bandlimit, bandlimit)
        Indexed ``[b, path, l, m]``, paths in the order of :func:`scattering_paths`. The mean of
        :math:`U[p] f` is ``out[:, p, 0, 0].real / sqrt(4 pi)``, the invariant output.
    """
    bandlimit = check_int(bandlimit, "bandlimit", min_value=1)
    modulus = _Moduli(filters, oversampling)
    js = modulus.js

    def propagate(clm, j, needed):
        """Degrees below ``min(needed, M_j)`` of ``|U star psi_j|``: those above M_j are zero."""
        u, M = modulus(clm, j)
        return analysis(u, min(needed, M), _GL_FAST, M)

    flm = forward_sht(maps, filters["L"], sampling)
    out = [_resize(flm, bandlimit)]
    if max_order >= 1:
        first = {
            j1: propagate(flm, j1, max(bandlimit, modulus.coarser_bandlimit(j1) if max_order >= 2 else 0))
            for j1 in js
        }
        out += [_resize(first[j1], bandlimit) for j1 in js]
        if max_order >= 2:
            out += [_resize(propagate(first[j1], j2, bandlimit), bandlimit) for j1 in js for j2 in js if j2 < j1]
    return np.stack(out, axis=1)


def cross_spectra(clm):
    r"""Cross power spectra of the maps of real functions: rotation-invariant, channel by channel and by degree.

    Parameters
    ----------
    clm : array_like, complex, shape (..., P, L, L)
        Coefficients ``[..., channel, l, m]``, ``0 <= m <= l``, of ``P`` real maps.

    Returns
    -------
    ndarray, float64, shape (..., L, P, P)
        .. math::

            G_\ell(p, q) = \frac{1}{2\ell + 1} \sum_{m=-\ell}^{\ell} c^p_{\ell m} \overline{c^q_{\ell m}}
            = \frac{1}{2\ell + 1} \Big(c^p_{\ell 0} c^q_{\ell 0}
              + 2 \operatorname{Re} \sum_{m > 0} c^p_{\ell m} \overline{c^q_{\ell m}}\Big),

        real and symmetric in :math:`(p, q)`. A rotation acts on the degree-:math:`\ell` coefficients of
        every channel by the same unitary Wigner matrix :math:`D^\ell`, which leaves these inner products
        unchanged; :math:`G_\ell(p, p)` is the angular power spectrum of channel :math:`p`.

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.sphere.scattering import cross_spectra
    >>> c = np.zeros((2, 2, 2), complex); c[0, 1, 1] = 1j; c[1, 1, 1] = 1.0
    >>> cross_spectra(c)[1].round(6).tolist()
    [[0.666667, 0.0], [0.0, 0.666667]]
    """
    clm = np.asarray(clm)
    if clm.ndim < 3 or clm.shape[-1] != clm.shape[-2]:
        raise ValueError(f"clm must have shape (..., P, L, L); got {clm.shape}")
    L = clm.shape[-1]
    weight = np.where(np.arange(L) == 0, 1.0, 2.0)
    G = np.einsum("...plm,...qlm->...lpq", clm * weight, clm.conj()).real
    return G / (2 * np.arange(L) + 1)[:, None, None]


class SphericalScattering:
    r"""Spherical scattering transform (McEwen et al. 2022) with axisymmetric wavelets, in multiresolution.

    Parameters
    ----------
    L : int
        Bandlimit of the input maps (degrees :math:`\ell < L`), at least 2.
    J0 : int, default 0
        Coarsest wavelet scale; the scaling function, and the equivariant output, have bandlimit
        :math:`\min(L, \lceil\lambda^{J_0}\rceil)`.
    lam : float, default 2.0
        Dilation factor :math:`\lambda > 1` between scales.
    max_order : {0, 1, 2}, default 2
        Highest scattering order.
    sampling : {"gl", "dh"}, default "gl"
        Sampling of the input maps: Gauss-Legendre ``(L, 2L - 1)`` or Driscoll-Healy ``(2L, 2L)``.
    output : {"invariant", "equivariant"}, default "invariant"
        One rotation-invariant mean per path, or low-passed maps per path (see the module docstring).
    J : int, optional
        Finest wavelet scale; ``None``: the smallest with :math:`\lambda^J \ge L - 1`.
    oversampling : float, optional
        The modulus after wavelet :math:`j` is computed at bandlimit :math:`\lceil o\, L_j \rceil`; larger is
        more accurate (more invariant) and slower. ``None``: :func:`default_oversampling`, ``max(4, 128 / L)``.

    Attributes
    ----------
    filters : dict
        The filter bank (:func:`scatter.sphere.wavelets.axisymmetric_filter_bank`).
    grid_shape : tuple of int
        Shape of one input map.
    n_channels : int
        Number of paths.
    output_shape : tuple of int
        Shape of the output of one map: ``(n_channels,)`` or ``(n_channels, *grid)``.

    Notes
    -----
    Paths go to coarser scales, :math:`j_1 > j_2` in S2LET's indexing (larger :math:`j`, higher degrees):
    see :mod:`scatter.sphere.scattering` for the formulas, the outputs and the multiresolution approximation.

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.sphere.scattering import SphericalScattering
    >>> S = SphericalScattering(16)
    >>> S.grid_shape, S.n_channels
    ((16, 31), 16)
    >>> S(np.ones((3, 16, 31))).shape
    (3, 16)
    """

    def __init__(
        self, L, J0=0, lam=2.0, max_order=2, sampling="gl", output="invariant", *, J=None,
        oversampling=None,
    ):
        self.L = check_int(L, "L", min_value=2)
        self.max_order = check_int(max_order, "max_order", min_value=0, max_value=2)
        self.sampling = check_choice(sampling, "sampling", _SAMPLINGS)
        self.output = check_choice(output, "output", _OUTPUTS)
        self.oversampling = _check_oversampling(oversampling, self.L)
        self.filters = axisymmetric_filter_bank(self.L, lam, J0, J)
        self.J0, self.J, self.lam = self.filters["J0"], self.filters["J"], self.filters["lam"]
        self.grid_shape = _grid_shape(self.L, self.sampling)
        self._paths = scattering_paths(self.filters, self.max_order)

    @property
    def n_channels(self):
        return len(self._paths)

    @property
    def output_shape(self):
        if self.output == "invariant":
            return (self.n_channels,)
        return (self.n_channels,) + _grid_shape(int(self.filters["phi_bandlimit"]), "gl")

    def meta(self):
        """Description of every output channel, in output order.

        Returns
        -------
        dict
            ``"order"`` (C,) int; ``"j"`` (C, max_order) float, the scales of the path padded with NaN;
            ``"bandlimit"`` (C,) int, the bandlimit of the last wavelet of the path (``L`` for order 0);
            ``"key"``, the list of paths as tuples of scales.
        """
        width = max(self.max_order, 1)
        bandlimit = dict(zip((int(j) for j in self.filters["j"]), (int(b) for b in self.filters["bandlimit"])))
        return {
            "order": np.array([len(p) for p in self._paths]),
            "j": np.array([list(p) + [np.nan] * (width - len(p)) for p in self._paths], dtype=float),
            "bandlimit": np.array([bandlimit[p[-1]] if p else self.L for p in self._paths]),
            "key": list(self._paths),
        }

    def scattering(self, maps):
        """Scattering of ``maps`` of shape ``(..., *grid_shape)``: ``(..., *output_shape)``.

        float32 input gives float32 output (computed in float64); other real input gives float64.
        """
        from .._validation import check_signal

        maps = check_signal(maps, self.grid_shape, "maps")
        batch = maps.shape[: maps.ndim - 2]
        flat = maps.reshape((-1,) + self.grid_shape).astype(np.float64, copy=False)
        if flat.shape[0] == 0:
            return np.zeros(batch + self.output_shape, maps.dtype)
        S = spherical_scattering(
            flat, self.filters, self.max_order, self.output, sampling=self.sampling, oversampling=self.oversampling
        )
        return S.reshape(batch + self.output_shape).astype(maps.dtype, copy=False)

    __call__ = scattering

    def __repr__(self):
        return (
            f"SphericalScattering(L={self.L}, J0={self.J0}, lam={self.lam}, max_order={self.max_order}, "
            f"sampling={self.sampling!r}, output={self.output!r}, J={self.J}, oversampling={self.oversampling})"
        )
