r"""The spherical head: harmonic-space convolutions and pointwise nonlinearities on Gauss-Legendre grids.

Coefficients layout
-------------------
A real map of bandlimit :math:`L` has coefficients :math:`f_{\ell m}`, :math:`0 \le m \le \ell < L`
(orthonormal harmonics with the Condon-Shortley phase, as :func:`scatter.sphere.forward_sht`; the negative
orders follow from :math:`f_{\ell, -m} = (-1)^m \overline{f_{\ell m}}`). In torch they are a real tensor
``x[..., part, l, m]`` of shape ``(..., 2, L, L)``: ``part`` 0 the real part, 1 the imaginary part, zero for
``m > l`` (and the imaginary part of ``m = 0``). :func:`pack_coefficients` and :func:`unpack_coefficients`
convert from and to the complex arrays of :mod:`scatter.sphere`.

Layers
------
A rotation :math:`R` acts on degree :math:`\ell` of every channel by the same unitary Wigner matrix
:math:`D^\ell(R)`. So do, exactly:

* :class:`SphericalConv`: per-degree channel mixing, the convolution with axisymmetric kernels;
* :class:`SphericalBatchNorm`: an affine map per channel whose statistics (mean and mean square over the
  sphere, by Parseval) are rotation invariant;
* the mean :math:`c_{00} / \sqrt{4\pi}` and the power spectrum :math:`\sum_m |c_{\ell m}|^2` of a channel
  (invariant).

A pointwise nonlinearity :math:`\sigma` is applied on the Gauss-Legendre grid of bandlimit :math:`M \ge L`
(:class:`GaussLegendreSHT`): synthesis, :math:`\sigma`, analysis back to degrees :math:`< L`. The map
:math:`\sigma(f)` is not bandlimited, and its degrees above about :math:`2M - L` alias onto the kept ones in
a way that depends on the orientation of :math:`f`: this is the only departure from exact equivariance. A
smooth :math:`\sigma` (softplus by default) has a fast-decaying spectrum, so the error is small and falls quickly
with :math:`M` (see :class:`SphericalHead`).
"""

import math

import numpy as np
import torch
from scipy import fft as sp_fft
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d, validate_data
from torch import nn
from torch.nn import functional

from .._progress import progress
from .._validation import check_choice, check_int
from ..sklearn import _fit_sphere_bandlimit, _flatten_grids
from ..sphere.sampling import gauss_legendre_grid, grid_shape, grid_unit_vectors
from ..sphere.sht import forward_sht
from ..sphere.scattering import scattering_coefficients
from ..sphere.wavelets import axisymmetric_filter_bank
from ._training import (
    HeadClassifierMixin,
    check_bool,
    check_hidden,
    check_real,
    check_training_params,
    rows,
    split_validation,
    torch_threads,
    train_classifier,
)

__all__ = [
    "GaussLegendreSHT",
    "PoissonBracket",
    "SphericalBatchNorm",
    "SphericalConv",
    "SphericalHead",
    "SphericalScatteringHeadClassifier",
    "angular_gradient",
    "degree_interpolation",
    "legendre_table",
    "pack_coefficients",
    "unpack_coefficients",
]

#: Pointwise nonlinearities of the head. Softplus, analytic in a strip of half-width pi, aliases least.
_NONLINEARITIES = {"softplus": functional.softplus, "gelu": functional.gelu, "silu": functional.silu, "tanh": torch.tanh}
_INPUTS = ("maps", "coefficients")
_SAMPLINGS = ("gl", "dh")
_SQRT_4PI = math.sqrt(4.0 * math.pi)


def legendre_table(L, theta):
    r"""Normalised associated Legendre functions :math:`\lambda_\ell^m(\theta_j)`, :math:`0 \le m \le \ell < L`.

    Parameters
    ----------
    L : int
        Bandlimit.
    theta : array_like, shape (n,)
        Colatitudes.

    Returns
    -------
    ndarray, float64, shape (n, L, L)
        ``out[j, l, m]`` :math:`= \lambda_\ell^m(\theta_j)`, zero for ``m > l``, with
        :math:`Y_\ell^m(\theta, \phi) = \lambda_\ell^m(\theta) e^{i m \phi}` orthonormal (Condon-Shortley
        phase).

    Notes
    -----
    The recursion in :math:`\ell` at fixed :math:`m`:

    .. math::

        \lambda_0^0 = \frac{1}{\sqrt{4\pi}}, \quad
        \lambda_m^m = -\sqrt{\frac{2m + 1}{2m}} \sin\theta\, \lambda_{m-1}^{m-1}, \quad
        \lambda_{m+1}^m = \sqrt{2m + 3} \cos\theta\, \lambda_m^m,

        \lambda_\ell^m = \sqrt{\frac{4\ell^2 - 1}{\ell^2 - m^2}} \Big(\cos\theta\, \lambda_{\ell-1}^m
        - \sqrt{\frac{(\ell - 1)^2 - m^2}{4 (\ell - 1)^2 - 1}} \lambda_{\ell-2}^m\Big).

    Without rescaling: meant for the small bandlimits of the head (:math:`\sin^m\theta` underflows only for
    :math:`m` in the hundreds near the poles).

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.head import legendre_table
    >>> table = legendre_table(2, np.array([0.0]))
    >>> np.allclose(table[0, 1, 0], np.sqrt(3 / (4 * np.pi)))
    True
    """
    L = check_int(L, "L", min_value=1)
    theta = np.asarray(theta, dtype=np.float64).ravel()
    x, s = np.cos(theta), np.sin(theta)
    out = np.zeros((theta.size, L, L))
    diagonal = np.full(theta.size, 1.0 / _SQRT_4PI)
    for m in range(L):
        if m > 0:
            diagonal = -math.sqrt((2 * m + 1) / (2 * m)) * s * diagonal
        out[:, m, m] = diagonal
        if m + 1 < L:
            out[:, m + 1, m] = math.sqrt(2 * m + 3) * x * diagonal
        for ell in range(m + 2, L):
            a = math.sqrt((4 * ell * ell - 1) / (ell * ell - m * m))
            b = math.sqrt(((ell - 1) ** 2 - m * m) / (4 * (ell - 1) ** 2 - 1))
            out[:, ell, m] = a * (x * out[:, ell - 1, m] - b * out[:, ell - 2, m])
    return out


def pack_coefficients(flm):
    """Complex coefficients ``(..., L, L)`` -> the real layout ``(..., 2, L, L)`` (real, imaginary parts).

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.head import pack_coefficients
    >>> pack_coefficients(np.array([[1 + 0j, 0], [2 - 1j, 3j]])).tolist()
    [[[1.0, 0.0], [2.0, 0.0]], [[0.0, 0.0], [-1.0, 3.0]]]
    """
    flm = np.asarray(flm)
    return np.stack((flm.real, flm.imag), axis=-3)


def unpack_coefficients(x):
    """The real layout ``(..., 2, L, L)`` (array or tensor) -> complex coefficients ``(..., L, L)``."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    return x[..., 0, :, :] + 1j * x[..., 1, :, :]


def _orders_weight(L):
    """Multiplicity of each stored order: 1 for m = 0, 2 for m > 0 (its mirror -m), over (l, m)."""
    weight = np.where(np.arange(L) == 0, 1.0, 2.0)
    return np.tril(np.broadcast_to(weight, (L, L)))


def _degree0(L):
    """The layout's indicator of the real part of degree 0, ``(2, L, L)``."""
    unit = torch.zeros(2, L, L, dtype=torch.get_default_dtype())
    unit[0, 0, 0] = 1.0
    return unit


class GaussLegendreSHT(nn.Module):
    r"""Spherical harmonic transforms in torch between bandlimit ``L`` and the Gauss-Legendre grid of ``M``.

    Parameters
    ----------
    L : int
        Bandlimit of the coefficients ``(..., 2, L, L)`` (see the module docstring for the layout).
    M : int, optional
        Bandlimit of the grid, ``M >= L`` (default ``L``): the ``M`` Gauss-Legendre rings of
        :func:`scatter.sphere.gauss_legendre_grid`.
    n_phi : int, optional
        Longitudes per ring, at least ``2M - 1`` (that grid's); by default the smallest fast FFT length
        (:func:`scipy.fft.next_fast_len`) from ``2M - 1`` on; the quadrature is exact for bandlimit ``M``
        with any ``n_phi >= 2M - 1``.
    dtype : torch.dtype, optional
        Of the tables (default: torch's default dtype). For double precision build the module with
        ``dtype=torch.float64``: ``.double()`` on a float32 module keeps tables rounded to float32.

    Notes
    -----
    The Legendre step per order and the Fourier step along the rings by dense tables held as buffers (they
    follow ``.double()`` and ``.to()``): at the head's small bandlimits two matrix products cost less than
    real FFTs and their gradients (about 1.8 times less for a training step of the default head). With
    :math:`w_j` the per-sample quadrature weights and :math:`c_0 = 1`, :math:`c_{m > 0} = 2`,

    .. math::

        f(\theta_j, \phi_k) = \sum_{m \ge 0} c_m \sum_{\ell} \lambda_\ell^m(\theta_j)
        \big(\operatorname{Re} f_{\ell m} \cos m\phi_k - \operatorname{Im} f_{\ell m} \sin m\phi_k\big),

        f_{\ell m} = \sum_j w_j \lambda_\ell^m(\theta_j) \sum_k f(\theta_j, \phi_k) e^{-i m \phi_k},

    with :math:`\phi_k = 2\pi k / n_\phi` and :math:`w_j = 2\pi a_j / n_\phi` (:math:`a_j` the
    Gauss-Legendre weights on :math:`[-1, 1]`).

    The analysis is exact for maps of bandlimit ``M``, so ``analysis(synthesis(x)) == x``; for other maps
    it is the Gauss-Legendre quadrature of :math:`\int f\, \overline{Y_\ell^m}`.
    """

    def __init__(self, L, M=None, n_phi=None, dtype=None):
        super().__init__()
        self.L = check_int(L, "L", min_value=1)
        self.M = self.L if M is None else check_int(M, "M", min_value=self.L)
        if n_phi is None:
            n_phi = sp_fft.next_fast_len(2 * self.M - 1, real=True)
        self.n_phi = check_int(n_phi, "n_phi", min_value=2 * self.M - 1)
        theta, _, weights = gauss_legendre_grid(self.M)
        weights = weights * (2 * self.M - 1) / self.n_phi
        table = legendre_table(self.L, theta)  # (M, L, L)
        dtype = torch.get_default_dtype() if dtype is None else dtype
        self.register_buffer("synthesis_legendre", torch.as_tensor(table, dtype=dtype))
        self.register_buffer("analysis_legendre", torch.as_tensor(weights[:, None, None] * table, dtype=dtype))
        # Fourier tables over (part, m): synthesis c_m (cos m phi, -sin m phi), analysis (cos m phi, -sin m phi).
        angles = np.outer(np.arange(self.L), 2.0 * np.pi * np.arange(self.n_phi) / self.n_phi)
        orders = np.where(np.arange(self.L) == 0, 1.0, 2.0)[:, None]
        fourier = np.concatenate((np.cos(angles), -np.sin(angles)))  # (2L, n_phi)
        self.register_buffer("synthesis_fourier", torch.as_tensor(np.tile(orders, (2, 1)) * fourier, dtype=dtype))
        self.register_buffer("analysis_fourier", torch.as_tensor(fourier.T.copy(), dtype=dtype))

    @property
    def grid_shape(self):
        """``(M, n_phi)``."""
        return (self.M, self.n_phi)

    def synthesis(self, x):
        """Maps ``(..., M, n_phi)`` on the grid from coefficients ``(..., 2, L, L)``."""
        F = torch.einsum("...plm,jlm->...jpm", x, self.synthesis_legendre)
        return F.flatten(-2) @ self.synthesis_fourier

    def analysis(self, f):
        """Coefficients ``(..., 2, L, L)`` of maps ``(..., M, n_phi)`` on the grid (degrees ``< L``)."""
        G = (f @ self.analysis_fourier).unflatten(-1, (2, self.L))
        return torch.einsum("...jpm,jlm->...plm", G, self.analysis_legendre)

    def extra_repr(self):
        return f"L={self.L}, M={self.M}, n_phi={self.n_phi}"


def degree_interpolation(L, anchors):
    r"""Hat functions on ``anchors`` equally spaced degrees: a basis of piecewise linear functions of the degree.

    Parameters
    ----------
    L : int
        Bandlimit: degrees :math:`0 \le \ell < L`.
    anchors : int
        Anchors :math:`K`, ``2 <= K <= L``, at :math:`a_k = k (L - 1) / (K - 1)`.

    Returns
    -------
    ndarray, float64, shape (L, K)
        :math:`h_k(\ell) = \max(0, 1 - |\ell - a_k| / \Delta)`, :math:`\Delta = (L - 1) / (K - 1)`; every row
        sums to 1, and ``K = L`` gives the identity.

    Examples
    --------
    >>> from scatter.head import degree_interpolation
    >>> degree_interpolation(5, 3).tolist()
    [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]
    """
    L = check_int(L, "L", min_value=2)
    anchors = check_int(anchors, "anchors", min_value=2, max_value=L)
    spacing = (L - 1) / (anchors - 1)
    distance = np.abs(np.arange(L)[:, None] - spacing * np.arange(anchors)[None, :])
    return np.maximum(0.0, 1.0 - distance / spacing)


class SphericalConv(nn.Module):
    r"""Convolution with learnable axisymmetric kernels: per-degree channel mixing in harmonic space.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels ``C`` and ``O``: inputs ``(B, C, 2, L, L)``, outputs ``(B, O, 2, L, L)``.
    L : int
        Bandlimit.
    bias : bool, default True
        A learnable constant added to each output map (degree 0 only).
    anchors : int, optional
        With ``K`` anchors (``2 <= K <= L``), the weights are a piecewise linear function of the degree,
        learnt at ``K`` equally spaced degrees (:func:`degree_interpolation`): smooth spectra, hence kernels
        concentrated near their axis (Esteves et al. 2018). ``None``: one free matrix per degree.

    Notes
    -----
    .. math::

        y^o_{\ell m} = \sum_{c} W_\ell[o, c]\, x^c_{\ell m} + \sqrt{4\pi}\, b_o\, \delta_{\ell 0},
        \qquad W_\ell = \sum_k h_k(\ell)\, A_k \ \text{(with anchors)},

    the convolution :math:`y^o = b_o + \sum_c k_{oc} \star x^c` with axisymmetric kernels of Legendre
    coefficients :math:`\propto W_\ell[o, c]` (Driscoll-Healy convolution theorem). The weights are real and
    act on every order :math:`m` alike, so they commute with every Wigner matrix :math:`D^\ell(R)`: the layer
    is exactly rotation equivariant, and maps coefficients of real maps to coefficients of real maps.
    """

    def __init__(self, in_channels, out_channels, L, bias=True, anchors=None):
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", min_value=1)
        self.out_channels = check_int(out_channels, "out_channels", min_value=1)
        self.L = check_int(L, "L", min_value=1)
        check_bool(bias, "bias")
        self.anchors = None if anchors is None else check_int(anchors, "anchors", min_value=2, max_value=self.L)
        shape = (self.L if self.anchors is None else self.anchors, self.out_channels, self.in_channels)
        self.weight = nn.Parameter(torch.randn(shape) / math.sqrt(in_channels))
        if self.anchors is not None:
            interpolation = degree_interpolation(self.L, self.anchors)
            self.register_buffer("interpolation", torch.as_tensor(interpolation, dtype=torch.get_default_dtype()))
        self.bias = nn.Parameter(torch.zeros(self.out_channels)) if bias else None
        self.register_buffer("degree0", _degree0(self.L))

    def degree_weights(self):
        r"""The matrices :math:`W_\ell`, ``(L, out_channels, in_channels)``."""
        if self.anchors is None:
            return self.weight
        return torch.einsum("lk,koc->loc", self.interpolation, self.weight)

    def forward(self, x):
        y = torch.einsum("loc,bcplm->boplm", self.degree_weights(), x)
        if self.bias is not None:
            y = y + _SQRT_4PI * self.bias[:, None, None, None] * self.degree0
        return y

    def extra_repr(self):
        anchors = "" if self.anchors is None else f", anchors={self.anchors}"
        return f"{self.in_channels}, {self.out_channels}, L={self.L}, bias={self.bias is not None}{anchors}"


class SphericalBatchNorm(nn.Module):
    r"""Batch normalisation of spherical maps given by their coefficients, with rotation-invariant statistics.

    Parameters
    ----------
    channels : int
        Channels ``C`` of the inputs ``(B, C, 2, L, L)``.
    L : int
        Bandlimit.
    momentum : float, default 0.1
        Weight of the current batch in the running statistics.
    eps : float, default 1e-5
        Added to the variance.

    Notes
    -----
    Per channel, over the batch and the sphere (Parseval, with :math:`c_0 = 1`, :math:`c_{m > 0} = 2`):

    .. math::

        \mu = \mathbb{E}_b \frac{x_{00}}{\sqrt{4\pi}}, \qquad
        \sigma^2 = \mathbb{E}_b \frac{1}{4\pi} \sum_{\ell, m \ge 0} c_m |x_{\ell m}|^2 - \mu^2, \qquad
        y_{\ell m} = \gamma \frac{x_{\ell m} - \sqrt{4\pi}\,\mu\, \delta_{\ell 0}}{\sqrt{\sigma^2 + \epsilon}}
        + \sqrt{4\pi}\, \beta\, \delta_{\ell 0},

    the usual batch normalisation of the map's values, with the statistics of the continuous maps. Both
    statistics are rotation invariant, so the layer is exactly equivariant in training mode as in evaluation
    mode (running statistics).
    """

    def __init__(self, channels, L, momentum=0.1, eps=1e-5):
        super().__init__()
        self.channels = check_int(channels, "channels", min_value=1)
        self.L = check_int(L, "L", min_value=1)
        self.momentum = check_real(momentum, "momentum", 0.0, math.inf)
        if self.momentum > 1.0:
            raise ValueError(f"momentum must be in (0, 1]; got {momentum!r}")
        self.eps = check_real(eps, "eps", 0.0)
        self.weight = nn.Parameter(torch.ones(self.channels))
        self.bias = nn.Parameter(torch.zeros(self.channels))
        self.register_buffer("running_mean", torch.zeros(self.channels))
        self.register_buffer("running_var", torch.ones(self.channels))
        self.register_buffer("orders_weight", torch.as_tensor(_orders_weight(self.L), dtype=torch.get_default_dtype()))
        self.register_buffer("degree0", _degree0(self.L))

    def forward(self, x):
        if self.training:
            mean = x[:, :, 0, 0, 0].mean(dim=0) / _SQRT_4PI
            square = torch.einsum("bcplm,lm->c", x * x, self.orders_weight) / (x.shape[0] * 4.0 * math.pi)
            var = (square - mean * mean).clamp_min(0.0)
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(var.detach(), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        scale = (self.weight / torch.sqrt(var + self.eps))[:, None, None, None]
        shift = (_SQRT_4PI * (self.bias - self.weight * mean / torch.sqrt(var + self.eps)))[:, None, None, None]
        return x * scale + shift * self.degree0

    def extra_repr(self):
        return f"{self.channels}, L={self.L}, momentum={self.momentum}, eps={self.eps}"


def dipoles(x):
    r"""Dipoles :math:`v_o = \sqrt{3 / 4\pi} \int_{S^2} x^o(r)\, r \, dr` ``(B, C, 3)`` of maps given by their
    packed coefficients ``(B, C, 2, L, L)``, ``L >= 2``.

    With :math:`Y_{1,0} = \sqrt{3/4\pi}\, z` and :math:`Y_{1,1} = -\sqrt{3/8\pi}\, (x + i y)`:
    :math:`v = (-\sqrt 2 \,\mathrm{Re}\, x_{11},\ \sqrt 2 \,\mathrm{Im}\, x_{11},\ x_{10})`. A rotation
    :math:`\mathcal{R}` of the maps turns every :math:`v_o` into :math:`\mathcal{R} v_o`.

    Examples
    --------
    >>> import math, torch
    >>> x = torch.zeros(1, 1, 2, 2, 2)
    >>> x[0, 0, 0, 1, 0] = math.sqrt(4 * math.pi / 3)  # the map z = sqrt(4 pi / 3) Y_10
    >>> v = dipoles(x)[0, 0]  # sqrt(3 / 4 pi) * (4 pi / 3) e_z
    >>> round(float(v[2]) / math.sqrt(4 * math.pi / 3), 6), float(v[:2].abs().sum())
    (1.0, 0.0)
    """
    return torch.stack((-math.sqrt(2) * x[:, :, 0, 1, 1], math.sqrt(2) * x[:, :, 1, 1, 1], x[:, :, 0, 1, 0]), -1)


def angular_gradient(x):
    r"""Coefficients of the three Cartesian components of :math:`r \times \nabla f` ``(..., 3, 2, L, L)``, the
    surface gradient of each map turned by a right angle, from packed coefficients ``(..., 2, L, L)``.

    :math:`r \times \nabla = i \mathbf{L}` with :math:`\mathbf{L}` the angular momentum, which mixes the orders
    of each degree: :math:`L_z Y_\ell^m = m Y_\ell^m` and :math:`L_\pm Y_\ell^m = \sqrt{(\ell \mp m)(\ell \pm m + 1)}\,
    Y_\ell^{m \pm 1}` (Condon-Shortley phase), with :math:`L_x = (L_+ + L_-) / 2` and
    :math:`L_y = (L_+ - L_-) / 2i`. Each component keeps the map's degrees, so it is exact at the same bandlimit,
    and the three are real maps (their negative orders follow as for any real map).

    Examples
    --------
    >>> import math, torch
    >>> x = torch.zeros(1, 2, 2, 2)
    >>> x[0, 0, 1, 0] = math.sqrt(4 * math.pi / 3)  # the map z, whose r x grad z is (y, -x, 0)
    >>> a = angular_gradient(x)[0] / math.sqrt(2 * math.pi / 3)  # y_11 = i sqrt(2 pi / 3), x_11 = -sqrt(2 pi / 3)
    >>> [round(float(v), 6) for v in (a[0, 1, 1, 1], a[0, 0, 1, 1], a[1, 0, 1, 1], a[1, 1, 1, 1], a[2].abs().sum())]
    [1.0, 0.0, 1.0, 0.0, 0.0]
    """
    L = x.shape[-1]
    if L < 2:
        return torch.zeros(x.shape[:-3] + (3,) + x.shape[-3:], dtype=x.dtype, device=x.device)
    c = torch.complex(x[..., 0, :, :], x[..., 1, :, :])
    degree = torch.arange(L, dtype=x.dtype, device=x.device)[:, None]
    order = torch.arange(L, dtype=x.dtype, device=x.device)[None, :]
    kept = order <= degree
    raising = torch.where(kept, torch.sqrt(((degree - order + 1) * (degree + order)).clamp_min(0)), 0)
    lowering = torch.where(kept, torch.sqrt(((degree + order + 1) * (degree - order)).clamp_min(0)), 0)
    # f_{l, m - 1} (f_{l, -1} = -conj f_{l, 1}) and f_{l, m + 1} for the stored orders m >= 0.
    previous = torch.cat((-torch.conj(c[..., 1:2]), c[..., :-1]), dim=-1)
    following = torch.cat((c[..., 1:], torch.zeros_like(c[..., :1])), dim=-1)
    up, down = raising * previous, lowering * following
    components = torch.stack((0.5j * (up + down), 0.5 * (up - down), 1j * order * c), dim=-3)
    return torch.stack((components.real, components.imag), dim=-3)


class PoissonBracket(nn.Module):
    r"""Poisson brackets of learnt pairs of convolutions of the input: pseudo-scalar maps, which follow
    rotations and change sign under reflections.

    Parameters
    ----------
    in_channels : int
        Channels ``C`` of the inputs ``(B, C, 2, L, L)``.
    brackets : int
        Outputs ``K``: maps ``(B, K, 2, L, L)``.
    sht : GaussLegendreSHT
        Transforms at the inputs' bandlimit ``L``, on a grid of bandlimit ``M >= 3 L / 2``, on which the
        brackets are computed exactly.
    anchors : int, optional
        Of the two convolutions (:class:`SphericalConv`, without bias).

    Notes
    -----
    With two learnt convolutions with axisymmetric kernels (:class:`SphericalConv`) :math:`f_k = \Lambda (P x)_k`
    and :math:`g_k = \Lambda (Q x)_k` (so that even a single input channel has brackets: :math:`\{x, x\} = 0`,
    but not :math:`\{P x, Q x\}`), smoothed by :math:`\Lambda = (-\Delta)^{-1/2}` (degree :math:`\ell \ge 1` divided by
    :math:`\sqrt{\ell (\ell + 1)}`, degree 0 dropped, as it has no gradient), the output is

    .. math::

        \{f, g\}(r) = r \cdot \big(\nabla f(r) \times \nabla g(r)\big)
        = r \cdot \big((r \times \nabla f) \times (r \times \nabla g)\big),

    the Jacobian of the two maps on the sphere (:math:`\{z, x\} = y`). The smoothing gives the turned gradient
    of each degree the norm of that degree of the map: without it the brackets weight the finest degrees by
    :math:`\ell^2`, and the nonlinearities of the layers after them alias a hundred times more (the invariants
    of a test head changed by 1e-3 under rotations instead of 1e-5). The turned gradients come exactly from
    the coefficients (:func:`angular_gradient`) and the product is taken on the grid: the result has degrees up
    to :math:`2L - 1`, so its products with the harmonics of degrees below :math:`L` have degrees up to
    :math:`3L - 2`, which the grid integrates exactly (its rings up to degree :math:`2M - 1`, its
    :math:`n_\phi \ge 2M - 1` longitudes every order below :math:`2M - 1` in modulus). So the layer is exactly
    equivariant, :math:`\{\mathcal{R} f, \mathcal{R} g\} = \mathcal{R} \{f, g\}`, and odd under reflections.

    The convolutions of the head have axisymmetric kernels and its nonlinearities are pointwise: they commute
    with reflections as well as rotations, so without such a term no intermediate map of the head can tell a
    pattern from its mirror image (a 9 mirrored top to bottom looks like a 6; the chiral invariants of
    :class:`SphericalHead` tell them apart only through the dipoles of its last layer).
    """

    def __init__(self, in_channels, brackets, sht, anchors=None):
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", min_value=1)
        self.brackets = check_int(brackets, "brackets", min_value=1)
        if 2 * sht.M < 3 * sht.L:
            raise ValueError(f"the grid of bandlimit {sht.M} does not integrate brackets of bandlimit {sht.L} "
                             f"exactly; it needs at least {math.ceil(3 * sht.L / 2)}")
        self.sht = sht
        anchors = _layer_anchors(anchors, sht.L)
        self.first = SphericalConv(self.in_channels, self.brackets, sht.L, bias=False, anchors=anchors)
        self.second = SphericalConv(self.in_channels, self.brackets, sht.L, bias=False, anchors=anchors)
        theta, _, _ = gauss_legendre_grid(sht.M)
        r = grid_unit_vectors(theta, 2.0 * np.pi * np.arange(sht.n_phi) / sht.n_phi)
        self.register_buffer("r", torch.as_tensor(r, dtype=sht.synthesis_legendre.dtype))
        degree = np.arange(sht.L, dtype=float)
        smoothing = np.divide(1.0, np.sqrt(degree * (degree + 1)), out=np.zeros(sht.L), where=degree > 0)
        self.register_buffer("smoothing", torch.as_tensor(smoothing[:, None], dtype=sht.synthesis_legendre.dtype))

    def forward(self, x):
        a = self.sht.synthesis(angular_gradient(self.first(x) * self.smoothing))
        b = self.sht.synthesis(angular_gradient(self.second(x) * self.smoothing))
        return self.sht.analysis((self.r * torch.linalg.cross(a, b, dim=-3)).sum(-3))

    def extra_repr(self):
        return f"{self.in_channels}, {self.brackets}, L={self.sht.L}"


def check_chiral(chiral, last_bandlimit):
    """``chiral`` validated: an int >= 0, and 0 unless the last layer has degree 1 (bandlimit >= 2)."""
    chiral = check_int(chiral, "chiral", min_value=0)
    if chiral and last_bandlimit < 2:
        raise ValueError(
            f"chiral={chiral} needs the degree-1 coefficients of the last layer, whose bandlimit is {last_bandlimit}; "
            "give it a bandlimit of at least 2, or chiral=0"
        )
    return chiral


def check_layer_bandlimits(bandlimits, n_layers, L):
    """Per-layer bandlimits: ``None`` (every layer at ``L``) or ``n_layers`` non-increasing ints in [1, L]."""
    if bandlimits is None:
        return (L,) * n_layers
    try:
        values = tuple(bandlimits)
    except TypeError:
        raise TypeError(f"bandlimits must be a sequence of integers; got {bandlimits!r}") from None
    values = tuple(check_int(b, f"bandlimits[{i}]", min_value=1, max_value=L) for i, b in enumerate(values))
    if len(values) != n_layers or any(b < c for b, c in zip(values, values[1:])):
        raise ValueError(
            f"bandlimits must give one non-increasing bandlimit per layer of hidden ({n_layers}); got {bandlimits!r}"
        )
    return values


def _layer_anchors(anchors, L):
    """The anchors of a convolution at bandlimit ``L``: at most ``L``, none at ``L = 1`` (a single degree,
    nothing to interpolate)."""
    return None if anchors is None or L < 2 else min(anchors, L)


class _Layer(nn.Module):
    """``x -> A sigma(S BN(Conv(x)))`` at one bandlimit (see :class:`SphericalHead`)."""

    def __init__(self, in_channels, out_channels, L, sht, anchors):
        super().__init__()
        self.L = L
        anchors = _layer_anchors(anchors, L)
        self.conv = SphericalConv(in_channels, out_channels, L, anchors=anchors)
        self.norm = SphericalBatchNorm(out_channels, L)
        self.sht = sht

    def forward(self, x, sigma):
        x = x[..., : self.L, : self.L]
        return self.sht.analysis(sigma(self.sht.synthesis(self.norm(self.conv(x)))))


class SphericalHead(nn.Module):
    r"""Equivariant layers on spherical maps, invariant pooling and a linear classifier.

    Parameters
    ----------
    in_channels : int
        Channels ``C`` of the input coefficients ``(B, C, 2, L, L)`` (for instance the paths of
        :func:`scatter.sphere.scattering.scattering_coefficients`, packed by :func:`pack_coefficients`).
    n_classes : int
        Outputs of the classifier.
    L : int
        Bandlimit of the input.
    hidden : sequence of int, default (32, 32)
        Widths of the successive layers.
    grid_oversampling : float, default 3.0
        The nonlinearities of a layer of bandlimit :math:`L'` are applied on the Gauss-Legendre grid of
        bandlimit :math:`M = \lceil o L' \rceil`.
    nonlinearity : {"softplus", "gelu", "silu", "tanh"}, default "softplus"
        Pointwise :math:`\sigma`; smooth, so that the aliasing of :math:`\sigma(f)` stays small.
    power_spectrum : bool, default True
        Pool the amplitude spectra of the last layer as well as its means.
    dtype : torch.dtype, optional
        Of the parameters and tables (default: torch's default dtype); see :class:`GaussLegendreSHT`.
    bandlimits : sequence of int, optional
        Bandlimit of each layer of ``hidden``, non-increasing, at most ``L`` (default: ``L`` throughout). A layer
        keeps the degrees of its input below its bandlimit: spectral pooling, which commutes with rotations.
    anchors : int, optional
        Every convolution's weights are learnt at ``anchors`` degrees and interpolated between them (at most
        the layer's bandlimit, free at bandlimit 1; see :class:`SphericalConv`). ``None``: free weights per
        degree.
    map_L : int, optional
        Bandlimit ``>= L`` of a second input, ``maps`` ``(B, map_channels, 2, map_L, map_L)``, for instance the
        map itself (the order-0 path) at a finer resolution than the scattering maps: it passes the layers of
        ``map_hidden`` at bandlimit ``map_L``, is pooled to ``L`` and joins the input before ``hidden``.
        ``None``: a single input.
    map_hidden : sequence of int, default (16, 16)
        Widths of the layers of the second input.
    map_channels : int, default 1
        Channels of the second input.
    chiral : int, default 0
        Also pool ``chiral`` triple products of the last layer's dipoles (see Notes): invariants that change
        sign under reflections, so that the head tells a pattern from its mirror image (a 2 from a mirrored 5),
        which its other invariants cannot: isotropic convolutions, pointwise nonlinearities, means and spectra
        all commute with reflections as well as rotations. Needs a last bandlimit of at least 2.
    brackets : int, default 0
        Append ``brackets`` Poisson brackets of learnt pairs of convolutions of the channels that enter ``hidden``
        (the input, joined by the pooled output of ``map_hidden``) to them, batch normalised (:class:`PoissonBracket`):
        pseudo-scalar maps, odd under reflections, from which the layers that follow can learn the turning sense
        of local patterns, which isotropic convolutions and pointwise nonlinearities cannot see.
    map_brackets : int, default 0
        The same at bandlimit ``map_L``, of the output of ``map_hidden``, appended to it before it is pooled.
    dropout : float, default 0.0
        Probability, in ``[0, 1)``, of zeroing each normalised invariant before the linear classifier in
        training (the others scaled by :math:`1 / (1 - p)`); none in evaluation.

    Notes
    -----
    With :math:`\mathcal{S}`, :math:`\mathcal{A}` the synthesis on, and analysis from, the grid of bandlimit
    :math:`M` (:class:`GaussLegendreSHT`), each layer is

    .. math::

        x \mapsto \mathcal{A}\, \sigma\big(\mathcal{S}\, \mathrm{BN}(\mathrm{Conv}(P_{L'} x))\big),

    (:class:`SphericalConv`, :class:`SphericalBatchNorm`; :math:`P_{L'}` keeps the degrees below the layer's
    bandlimit) after a first :class:`SphericalBatchNorm` of each input. The invariants of the last layer's
    output :math:`y` are, per channel :math:`o`, the mean :math:`y^o_{00} / \sqrt{4\pi}` and
    (``power_spectrum``) the amplitude spectrum
    :math:`\big(\sum_{m=-\ell}^{\ell} |y^o_{\ell m}|^2 / (2\ell + 1)\big)^{1/2}`, :math:`1 \le \ell < L'`;
    and (``chiral``) with the dipoles :math:`v_o = \sqrt{3 / 4\pi} \int_{S^2} y^o(r)\, r \, dr \in \mathbb{R}^3`
    (from the degree-1 coefficients; :func:`dipoles`) and learnt mixtures :math:`a_k = \sum_o P_{ko} v_o`,
    :math:`b_k = \sum_o Q_{ko} v_o`, :math:`c_k = \sum_o R_{ko} v_o`, the triple products

    .. math::

        t_k = a_k \cdot (b_k \times c_k) = \det [a_k, b_k, c_k], \qquad k < \texttt{chiral},

    which a rotation :math:`\mathcal{R}` of the input leaves unchanged (:math:`v_o \mapsto \mathcal{R} v_o`,
    :math:`\det \mathcal{R} = 1`) and a reflection turns to :math:`-t_k`. The invariants pass a batch
    normalisation and a linear layer to the logits.

    Every step but the analysis of :math:`\sigma(\cdot)` is exactly equivariant. Measured in float64 (random
    weights and biases, two layers of 16, inputs of bandlimit 12 whose maps have unit variance, rotated
    exactly by :func:`scatter.sphere.rotate_flm`; largest relative change of the invariants over 6 draws):
    3.2e-5 with the default softplus on the grid of ``grid_oversampling=3``, 1.1e-4 at 2.5, 2.6e-4 at 2,
    1.2e-3 at 1.5 and 1.4e-2 at 1; GELU and SiLU alias 10-20 times more (at ``grid_oversampling=2``), tanh 100 times.
    """

    def __init__(self, in_channels, n_classes, L, hidden=(32, 32), grid_oversampling=3.0, nonlinearity="softplus",
                 power_spectrum=True, dtype=None, *, bandlimits=None, anchors=None, map_L=None, map_hidden=(16, 16),
                 map_channels=1, chiral=0, brackets=0, map_brackets=0, dropout=0.0):
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", min_value=1)
        self.n_classes = check_int(n_classes, "n_classes", min_value=1)
        self.L = check_int(L, "L", min_value=1)
        self.hidden = check_hidden(hidden)
        self.grid_oversampling = check_real(grid_oversampling, "grid_oversampling", 1.0, low_inclusive=True)
        self.nonlinearity = check_choice(nonlinearity, "nonlinearity", tuple(_NONLINEARITIES))
        self.power_spectrum = check_bool(power_spectrum, "power_spectrum")
        self.bandlimits = check_layer_bandlimits(bandlimits, len(self.hidden), self.L)
        self.anchors = None if anchors is None else check_int(anchors, "anchors", min_value=2)
        self.map_L = None if map_L is None else check_int(map_L, "map_L", min_value=self.L)
        self.map_hidden = check_hidden(map_hidden, "map_hidden")
        self.map_channels = check_int(map_channels, "map_channels", min_value=1)
        self.chiral = check_chiral(chiral, self.bandlimits[-1])
        self.brackets = check_int(brackets, "brackets", min_value=0)
        self.map_brackets = check_int(map_brackets, "map_brackets", min_value=0)
        if self.map_brackets and self.map_L is None:
            raise ValueError(f"map_brackets={map_brackets} needs a second input: give map_L, or map_brackets=0")
        self.dropout = nn.Dropout(check_real(dropout, "dropout", 0.0, 1.0, low_inclusive=True))
        # One transform per bandlimit, shared by the layers at that bandlimit.
        self.shts = nn.ModuleDict()
        self.input_norm = SphericalBatchNorm(self.in_channels, self.L)
        channels = self.in_channels
        self.map_layers = nn.ModuleList()
        if self.map_L is not None:
            self.map_norm = SphericalBatchNorm(self.map_channels, self.map_L)
            map_channels = self.map_channels
            for width in self.map_hidden:
                self.map_layers.append(self._layer(map_channels, width, self.map_L, dtype))
                map_channels = width
            self.map_bracket = self._brackets(map_channels, self.map_brackets, self.map_L, dtype)
            channels += map_channels + self.map_brackets
        self.bracket = self._brackets(channels, self.brackets, self.L, dtype)
        channels += self.brackets
        self.layers = nn.ModuleList()
        for width, bandlimit in zip(self.hidden, self.bandlimits):
            self.layers.append(self._layer(channels, width, bandlimit, dtype))
            channels = width
        last = self.bandlimits[-1]
        self.n_invariants = channels * (last if self.power_spectrum else 1) + self.chiral
        if self.chiral:
            # Mixtures P, Q, R of the channels' dipoles, stacked (3, chiral, channels).
            self.chiral_weights = nn.Parameter(torch.randn(3, self.chiral, channels) / math.sqrt(channels))
        self.register_buffer("orders_weight", torch.as_tensor(_orders_weight(last), dtype=torch.get_default_dtype()))
        self.register_buffer("degrees", torch.arange(last, dtype=torch.get_default_dtype()))
        self.invariant_norm = nn.BatchNorm1d(self.n_invariants)
        self.classifier = nn.Linear(self.n_invariants, self.n_classes)
        if dtype is not None:
            self.to(dtype)

    def _grid_bandlimit(self, L):
        """Bandlimit of the grid of the nonlinearities at bandlimit ``L``."""
        return math.ceil(self.grid_oversampling * L - 1e-9)

    def _sht(self, L, M, dtype):
        key = str(L) if M == self._grid_bandlimit(L) else f"{L}_{M}"
        if key not in self.shts:
            # Tables built in ``dtype``: cast later, float32 tables would stay rounded (see GaussLegendreSHT).
            self.shts[key] = GaussLegendreSHT(L, M, dtype=dtype)
        return self.shts[key]

    def _layer(self, in_channels, out_channels, L, dtype):
        sht = self._sht(L, self._grid_bandlimit(L), dtype)
        return _Layer(in_channels, out_channels, L, sht, self.anchors)

    def _brackets(self, channels, brackets, L, dtype):
        """``brackets`` :class:`PoissonBracket` of ``channels`` at bandlimit ``L``, batch normalised (None for 0)."""
        if not brackets:
            return None
        M = max(self._grid_bandlimit(L), math.ceil(3 * L / 2))
        return nn.Sequential(PoissonBracket(channels, brackets, self._sht(L, M, dtype), self.anchors),
                             SphericalBatchNorm(brackets, L))

    @staticmethod
    def _with_brackets(x, brackets):
        return x if brackets is None else torch.cat((x, brackets(x)), dim=1)

    def equivariant(self, x, maps=None):
        """The last layer's coefficients ``(B, hidden[-1], 2, L', L')`` (``L' = bandlimits[-1]``) of inputs
        ``(B, in_channels, 2, L, L)`` (and ``maps`` ``(B, map_channels, 2, map_L, map_L)`` with ``map_L``)."""
        if (maps is None) != (self.map_L is None):
            raise ValueError(
                "this head reads maps of bandlimit map_L beside its input; pass them as maps=" if maps is None
                else "maps given, but this head has no map_L: build it with map_L to read them"
            )
        sigma = _NONLINEARITIES[self.nonlinearity]
        x = self.input_norm(x)
        if maps is not None:
            maps = self.map_norm(maps)
            for layer in self.map_layers:
                maps = layer(maps, sigma)
            x = torch.cat((x, self._with_brackets(maps, self.map_bracket)[..., : self.L, : self.L]), dim=1)
        x = self._with_brackets(x, self.bracket)
        for layer in self.layers:
            x = layer(x, sigma)
        return x

    def invariants(self, x, maps=None):
        """Rotation-invariant features ``(B, n_invariants)``: means, then amplitude spectra by channel
        (``power_spectrum``), then the triple products of dipoles (``chiral``)."""
        y = self.equivariant(x, maps)
        features = [y[:, :, 0, 0, 0] / _SQRT_4PI]
        if self.power_spectrum:
            power = torch.einsum("bcplm,lm->bcl", y * y, self.orders_weight) / (2 * self.degrees + 1)
            features.append(torch.sqrt(power[:, :, 1:] + 1e-12).flatten(1))
        if self.chiral:
            a, b, c = torch.einsum("kjo,box->kbjx", self.chiral_weights, dipoles(y))
            features.append((a * torch.linalg.cross(b, c)).sum(-1))
        return torch.cat(features, dim=1)

    def forward(self, x, maps=None):
        return self.classifier(self.dropout(self.invariant_norm(self.invariants(x, maps))))


def _packed(c, rows_per_step=4096):
    """Complex coefficients -> the head's float32 input array, a few thousand samples at a time, so that no
    temporary is the size of the whole set."""
    out = np.empty(c.shape[:-2] + (2,) + c.shape[-2:], np.float32)
    for start in range(0, len(c), rows_per_step):
        part = c[start : start + rows_per_step]
        out[start : start + len(part)] = pack_coefficients(part)
    return out


class SphericalScatteringHeadClassifier(HeadClassifierMixin, ClassifierMixin, BaseEstimator):
    r"""Spherical scattering + a :class:`SphericalHead` trained by Adam: a scikit-learn classifier of maps.

    The head reads the harmonic coefficients :math:`(U[p] f)_{\ell m}`, :math:`\ell <` ``bandlimit``, of the
    scattering maps of every path :math:`p` (:func:`scatter.sphere.scattering.scattering_coefficients`, the
    rotation-equivariant representation); its outputs are invariant to rotations of the maps up to the
    discretisation of the scattering moduli and of the head's nonlinearities.

    Parameters
    ----------
    L : int, optional
        Bandlimit of the maps; ``None`` infers it in :meth:`fit` from the grid (``n_features = L (2L - 1)``
        for ``"gl"``, ``4 L^2`` for ``"dh"``, or the trailing shape of a 3-D ``X``). Ignored with
        ``input="coefficients"``.
    lam : float, default 2.0
        Dilation factor of the wavelets (:func:`scatter.sphere.wavelets.axisymmetric_filter_bank`).
    max_order : {0, 1, 2}, default 2
        Highest scattering order.
    sampling : {"gl", "dh"}, default "gl"
        Grid of the maps.
    oversampling : float, default 2.0
        Oversampling of the scattering moduli (:func:`scatter.sphere.scattering.modulus_bandlimits`).
    bandlimit : int, default 12
        Degrees :math:`\ell <` ``bandlimit`` kept of every scattering map: the head's bandlimit.
    input : {"maps", "coefficients"}, default "maps"
        What ``X`` holds: maps ``(n_samples, *grid)`` (or flattened), whose scattering is computed in
        batches; or complex coefficients ``(n_samples, n_paths, L', L')``, ``L' >= bandlimit`` (and
        ``>= map_bandlimit``, read on the first path, the map itself), as returned by
        :func:`scatter.sphere.scattering.scattering_coefficients` (computed once, for instance for several
        classifiers; the scattering parameters above are then unused).
    hidden : sequence of int, default (32, 32)
        Widths of the head's layers.
    grid_oversampling : float, default 3.0
        The head's nonlinearities act on the Gauss-Legendre grid of bandlimit
        :math:`\lceil o \cdot \mathrm{bandlimit} \rceil` (see :class:`SphericalHead`).
    nonlinearity : {"softplus", "gelu", "silu", "tanh"}, default "softplus"
        The head's pointwise nonlinearity.
    power_spectrum : bool, default True
        Pool the last layer's amplitude spectra as well as its means.
    bandlimits : sequence of int, optional
        Bandlimit of each layer of ``hidden``, non-increasing, at most ``bandlimit`` (default ``bandlimit``
        throughout): spectral pooling between layers (see :class:`SphericalHead`).
    anchors : int, optional
        Learn every convolution at ``anchors`` degrees, interpolated between them (smooth spectra, localised
        kernels; see :class:`SphericalConv`); ``None``: free weights per degree.
    path_bandlimits : sequence of int, optional
        Degrees read of each scattering path, ``path_bandlimits[p]`` in ``[1, bandlimit]`` (the others are
        set to zero, which commutes with rotations): to leave out degrees that do not follow rotations, such as
        those dominated by the aliasing of a modulus. ``None``: every degree below ``bandlimit``.
    map_bandlimit : int, optional
        Also read the map itself, the order-0 path :math:`U[\varnothing] f = f`, up to this finer bandlimit
        (``>= bandlimit``), through the layers of ``map_hidden``; pooled to ``bandlimit``, their output joins
        the scattering paths before ``hidden`` (``map_L`` of :class:`SphericalHead`). ``None``: the order-0
        path is read at ``bandlimit`` like the others.
    map_hidden : sequence of int, default (16, 16)
        Widths of the layers at ``map_bandlimit``.
    chiral : int, default 0
        Triple products of the last layer's dipoles pooled beside its means and spectra: invariants that change
        sign under reflections, so that the head tells a pattern from its mirror image (see
        :class:`SphericalHead`); needs a last bandlimit of at least 2.
    brackets : int, default 0
        Poisson brackets of learnt pairs of convolutions of the channels that enter ``hidden``, appended to them:
        pseudo-scalar maps that let the layers after them see the turning sense of local
        patterns (see :class:`SphericalHead`).
    map_brackets : int, default 0
        The same of the output of ``map_hidden``, at ``map_bandlimit``, appended to it before it is pooled.
    max_epochs : int, default 30
        Passes over the training data.
    batch_size : int, default 64
        Mini-batch size.
    learning_rate : float, default 3e-3
        Adam's step size.
    weight_decay : float, default 1e-4
        Adam's L2 penalty, or with ``decoupled_weight_decay`` the rate at which AdamW shrinks the weights.
    decoupled_weight_decay : bool, default False
        Decay the weights apart from Adam's adaptive step (AdamW) instead of adding an L2 penalty to the loss.
    label_smoothing : float, default 0.0
        :math:`\epsilon` in ``[0, 1)``: train towards :math:`1 - \epsilon + \epsilon / K` for the true class
        and :math:`\epsilon / K` for each of the others instead of one-hot targets.
    dropout : float, default 0.0
        Probability of zeroing each invariant before the linear classifier in training (see
        :class:`SphericalHead`).
    learning_rate_schedule : {"constant", "cosine"}, default "constant"
        The learning rate over training: constant, or decaying after every mini-batch as
        :math:`\tfrac12 (1 + \cos(\pi t / T))` over the :math:`T` mini-batches of ``max_epochs`` epochs
        (early stopping may end training before it reaches 0).
    early_stopping : bool, default True
        Hold out ``validation_fraction`` of the training data (stratified), keep the weights of the epoch
        with the best validation accuracy and stop after ``n_iter_no_change`` epochs without improvement.
    validation_fraction : float, default 0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int, default 5
        Patience of early stopping.
    batch_norm_batches : int, default 0
        Recompute the running statistics of the batch normalisations as the plain means of their statistics
        over this many training batches, with the epoch's final weights: after every epoch with early
        stopping (before its validation), after the last one without (``0``: keep torch's exponential running
        averages, which mostly reflect the last ten batches).
    random_state : int, RandomState instance or None, default None
        Seeds the weights, the shuffling and the validation split.
    verbose : bool, default False
        Progress bars over the scattering batches and the epochs.
    n_threads : int, optional
        torch's intra-op threads while fitting and predicting (restored afterwards); by default torch's
        setting.

    Attributes
    ----------
    classes_ : ndarray
        Class labels.
    L_ : int
        Bandlimit of the maps (``input="maps"``).
    shape_ : tuple of int
        Grid shape of one map (``input="maps"``).
    n_paths_ : int
        Scattering paths: the head's input channels.
    head_ : SphericalHead
        The trained head, in evaluation mode (float32).
    loss_curve_ : list of float
        Mean training loss per epoch.
    validation_scores_ : list of float
        Validation accuracy per epoch (with early stopping).
    n_epochs_ : int
        Epochs run.

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.head import SphericalScatteringHeadClassifier
    >>> X = np.random.default_rng(0).random((40, 8, 15))  # maps on the GL grid of bandlimit 8
    >>> y = np.arange(40) % 2
    >>> clf = SphericalScatteringHeadClassifier(bandlimit=4, hidden=(4,), max_epochs=2, random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        L=None,
        lam=2.0,
        max_order=2,
        *,
        sampling="gl",
        oversampling=2.0,
        bandlimit=12,
        input="maps",
        hidden=(32, 32),
        grid_oversampling=3.0,
        nonlinearity="softplus",
        power_spectrum=True,
        bandlimits=None,
        anchors=None,
        path_bandlimits=None,
        map_bandlimit=None,
        map_hidden=(16, 16),
        chiral=0,
        brackets=0,
        map_brackets=0,
        dropout=0.0,
        max_epochs=30,
        batch_size=64,
        learning_rate=3e-3,
        weight_decay=1e-4,
        decoupled_weight_decay=False,
        label_smoothing=0.0,
        learning_rate_schedule="constant",
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=5,
        batch_norm_batches=0,
        random_state=None,
        verbose=False,
        n_threads=None,
    ):
        self.L = L
        self.lam = lam
        self.max_order = max_order
        self.sampling = sampling
        self.oversampling = oversampling
        self.bandlimit = bandlimit
        self.input = input
        self.hidden = hidden
        self.grid_oversampling = grid_oversampling
        self.nonlinearity = nonlinearity
        self.power_spectrum = power_spectrum
        self.bandlimits = bandlimits
        self.anchors = anchors
        self.path_bandlimits = path_bandlimits
        self.map_bandlimit = map_bandlimit
        self.map_hidden = map_hidden
        self.chiral = chiral
        self.brackets = brackets
        self.map_brackets = map_brackets
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.decoupled_weight_decay = decoupled_weight_decay
        self.label_smoothing = label_smoothing
        self.learning_rate_schedule = learning_rate_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.batch_norm_batches = batch_norm_batches
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    # -- parameters and input ----------------------------------------------------------------------------

    def _check_params(self):
        params = {
            "lam": check_real(self.lam, "lam", 1.0),
            "max_order": check_int(self.max_order, "max_order", min_value=0, max_value=2),
            "sampling": check_choice(self.sampling, "sampling", _SAMPLINGS),
            "oversampling": check_real(self.oversampling, "oversampling", 1.0, low_inclusive=True),
            "bandlimit": check_int(self.bandlimit, "bandlimit", min_value=1),
            "input": check_choice(self.input, "input", _INPUTS),
            "hidden": check_hidden(self.hidden),
            "grid_oversampling": check_real(self.grid_oversampling, "grid_oversampling", 1.0, low_inclusive=True),
            "nonlinearity": check_choice(self.nonlinearity, "nonlinearity", tuple(_NONLINEARITIES)),
            "power_spectrum": check_bool(self.power_spectrum, "power_spectrum"),
            "anchors": None if self.anchors is None else check_int(self.anchors, "anchors", min_value=2),
            "map_hidden": check_hidden(self.map_hidden, "map_hidden"),
            "dropout": check_real(self.dropout, "dropout", 0.0, 1.0, low_inclusive=True),
            **check_training_params(self),
        }
        params["bandlimits"] = check_layer_bandlimits(self.bandlimits, len(params["hidden"]), params["bandlimit"])
        params["chiral"] = check_chiral(self.chiral, params["bandlimits"][-1])
        params["brackets"] = check_int(self.brackets, "brackets", min_value=0)
        params["map_brackets"] = check_int(self.map_brackets, "map_brackets", min_value=0)
        params["map_bandlimit"] = None
        if self.map_bandlimit is not None:
            params["map_bandlimit"] = check_int(
                self.map_bandlimit, "map_bandlimit", min_value=params["bandlimit"],
                allowed=f"an integer >= bandlimit={params['bandlimit']}",
            )
        elif params["map_brackets"]:
            raise ValueError(f"map_brackets={self.map_brackets} needs the map read at map_bandlimit: give "
                             "map_bandlimit, or map_brackets=0")
        params["path_bandlimits"] = None
        if self.path_bandlimits is not None:
            if isinstance(self.path_bandlimits, (str, bytes)) or not np.iterable(self.path_bandlimits):
                raise TypeError(f"path_bandlimits must be a sequence of integers; got {self.path_bandlimits!r}")
            params["path_bandlimits"] = np.array([
                check_int(b, f"path_bandlimits[{i}]", min_value=1, max_value=params["bandlimit"])
                for i, b in enumerate(self.path_bandlimits)
            ], dtype=int)
        if self.L is not None:
            params["L"] = check_int(self.L, "L", min_value=2)
        return params

    def _check_coefficients(self, X, reset):
        X = np.asarray(X)
        if X.dtype.kind not in "fc" or X.ndim != 4 or X.shape[-1] != X.shape[-2]:
            raise ValueError(
                "input='coefficients' needs X of complex (or float) coefficients of shape (n_samples, n_paths, L', "
                f"L'), as returned by scatter.sphere.scattering.scattering_coefficients; got {X.dtype} {X.shape}"
            )
        needed = max(self._bandlimit, self._map_bandlimit or 0)
        if X.shape[-1] < needed:
            raise ValueError(
                f"X has coefficients of bandlimit {X.shape[-1]}; bandlimit={self._bandlimit} and "
                f"map_bandlimit={self._map_bandlimit} need {needed}"
            )
        if not reset and X.shape[1] != self.n_paths_:
            raise ValueError(f"X has {X.shape[1]} paths; the classifier was fitted on {self.n_paths_}")
        if X.shape[0] < 1:
            raise ValueError("X has 0 samples; at least 1 is required")
        if not np.isfinite(X[..., :needed, :needed]).all():
            raise ValueError("Input X contains NaN or infinity.")
        return X

    def _scattering_inputs(self, X, batch_size=256):
        """The head's inputs of maps ``X`` (n, n_features), filled a batch of maps at a time: the scattering
        coefficients ``(n, n_paths, 2, bandlimit, bandlimit)`` and those of the maps themselves
        ``(n, 1, 2, map_bandlimit, map_bandlimit)`` (``None`` without ``map_bandlimit``), packed, float32."""
        out = fine = None
        starts = range(0, len(X), batch_size)
        for start in progress(starts, total=len(starts), desc="scattering", quiet=not self.verbose, unit="batch"):
            maps = X[start : start + batch_size].reshape((-1,) + self.shape_).astype(np.float64, copy=False)
            c = scattering_coefficients(
                maps, self.filters_, self._bandlimit, self._max_order, sampling=self._sampling,
                oversampling=self._oversampling,
            )
            if out is None:
                out = np.empty((len(X), c.shape[1], 2) + c.shape[2:], dtype=np.float32)
            out[start : start + len(c)] = pack_coefficients(c)
            if self._map_bandlimit is not None:
                if fine is None:
                    fine = np.zeros((len(X), 1, 2, self._map_bandlimit, self._map_bandlimit), dtype=np.float32)
                kept = min(self._map_bandlimit, self.L_)  # the maps have no degree from L_ on
                flm = forward_sht(maps, self.L_, self._sampling)
                fine[start : start + len(c), 0, :, :kept, :kept] = pack_coefficients(flm[:, :kept, :kept])
        return out, fine

    def _features(self, X, y=None, reset=False):
        """The head's inputs of ``X`` as a tuple, validated (and ``y``, when fitting): the scattering coefficients
        ``(n, n_paths, 2, bandlimit, bandlimit)``, float32, and with ``map_bandlimit`` those of the maps
        ``(n, 1, 2, map_bandlimit, map_bandlimit)``."""
        if self._input == "coefficients":
            X = self._check_coefficients(X, reset)
            if y is not None:
                y = column_or_1d(y, warn=True)
                check_consistent_length(X, y)
                check_classification_targets(y)
            c = _packed(X[..., : self._bandlimit, : self._bandlimit])
            fine = None
            if self._map_bandlimit is not None:
                fine = _packed(X[:, :1, : self._map_bandlimit, : self._map_bandlimit])
        else:
            X, sample_shape = _flatten_grids(X)
            if reset:
                X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
                check_classification_targets(y)
                self.L_ = _fit_sphere_bandlimit(self.L, X.shape[1], sample_shape, self._sampling)
                self.shape_ = tuple(grid_shape(self.L_, self._sampling))
                self.filters_ = axisymmetric_filter_bank(self.L_, self._lam)
            else:
                if sample_shape is not None and tuple(sample_shape) != self.shape_:
                    raise ValueError(
                        f"X has maps of shape {tuple(sample_shape)}; the classifier was fitted on {self.shape_}"
                    )
                X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
            c, fine = self._scattering_inputs(X)
        if self._path_bandlimits is not None:
            if len(self._path_bandlimits) != c.shape[1]:
                raise ValueError(
                    f"path_bandlimits has {len(self._path_bandlimits)} entries; the scattering has {c.shape[1]} paths"
                )
            # Zeros the real and imaginary parts of the degrees from each path's bandlimit on.
            c *= (np.arange(self._bandlimit) < self._path_bandlimits[:, None])[:, None, :, None]
        inputs = (c,) if fine is None else (c, fine)
        return tuple(torch.from_numpy(a) for a in inputs), y

    # -- scikit-learn API --------------------------------------------------------------------------------

    def fit(self, X, y):
        """Compute the scattering coefficients of ``X`` once (unless given), then train the head on them.

        Parameters
        ----------
        X : array-like
            Maps ``(n_samples, n_features)`` or ``(n_samples, *grid)``; or, with ``input="coefficients"``,
            complex coefficients ``(n_samples, n_paths, L', L')``, ``L' >= max(bandlimit, map_bandlimit)``.
        y : array-like, shape (n_samples,)
            Labels.

        Returns
        -------
        self : object
        """
        p = self._check_params()
        self._input, self._bandlimit, self._n_threads = p["input"], p["bandlimit"], p["n_threads"]
        self._lam, self._max_order = p["lam"], p["max_order"]
        self._sampling, self._oversampling = p["sampling"], p["oversampling"]
        self._map_bandlimit, self._path_bandlimits = p["map_bandlimit"], p["path_bandlimits"]
        features, y = self._features(X, y, reset=True)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.n_paths_ = features[0].shape[1]
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        # The weights are drawn from torch's global generator: seed it without disturbing the caller's stream.
        with torch.random.fork_rng(devices=[]), torch_threads(p["n_threads"]):
            torch.manual_seed(seed)
            head = SphericalHead(
                self.n_paths_, len(self.classes_), p["bandlimit"], p["hidden"], p["grid_oversampling"],
                p["nonlinearity"], p["power_spectrum"], bandlimits=p["bandlimits"], anchors=p["anchors"],
                map_L=p["map_bandlimit"], map_hidden=p["map_hidden"], chiral=p["chiral"], brackets=p["brackets"],
                map_brackets=p["map_brackets"], dropout=p["dropout"],
            )
            train_idx, valid_idx = split_validation(
                codes, len(self.classes_), p["validation_fraction"], self.early_stopping, seed
            )
            self.head_, self.loss_curve_, self.validation_scores_ = train_classifier(
                head, features, torch.as_tensor(codes, dtype=torch.long), train_idx, valid_idx, p,
                torch.Generator().manual_seed(seed), verbose=self.verbose,
            )
        self.n_epochs_ = len(self.loss_curve_)
        return self

    def _logits(self, X):
        check_is_fitted(self)
        features = self._features(X)[0]
        with torch.no_grad(), torch_threads(self._n_threads):
            starts = range(0, len(features[0]), 1024)
            parts = [self.head_(*rows(features, slice(s, s + 1024))).double() for s in starts]
        return torch.cat(parts).numpy()
