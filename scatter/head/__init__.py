"""Learnable equivariant heads on fixed scattering features (optional extra: ``pip install "scatter[head]"``).

A head is a small trainable network that consumes scattering coefficients and keeps their symmetry.

2D: for scattering with ``L`` orientations, a rotation of the image by :math:`\\pi / L` steps moves every
path's orientation index cyclically; the head's layers are group convolutions over (orientation, space) for
the cyclic group :math:`C_L`, followed by pooling over orientations and space (invariant) and a linear
classifier.

* :func:`orientation_tensor` arranges a :class:`scatter.Scattering2D` output as ``(B, F, L, H, W)``, with the
  rotation acting on axis 2.
* :class:`CyclicConv2d` and :class:`CyclicHead2D` are ``torch.nn.Module`` objects for hybrid networks.
* :class:`ScatteringHeadClassifier` is a scikit-learn classifier: images (or their precomputed scattering
  coefficients) in, labels out.

Sphere: the harmonic coefficients of the spherical scattering maps rotate by Wigner matrices; the head's
layers mix channels per degree (convolutions with axisymmetric kernels, optionally learnt at a few anchor
degrees), apply a pointwise nonlinearity on a Gauss-Legendre grid, may pool spectrally to lower bandlimits, and
pool the means and power spectra of the last layer (invariant), and optionally triple products of its dipoles
(invariant to rotations, odd under reflections), into a linear classifier. A second input at a
finer bandlimit (the map itself, the order-0 path) can pass layers of its own before it joins the scattering
maps, and Poisson brackets of learnt pairs of channels (pseudo-scalar maps, odd under reflections) can join
them too.

* :class:`GaussLegendreSHT`, :func:`legendre_table`, :func:`pack_coefficients`, :func:`unpack_coefficients`:
  spherical harmonic transforms in torch and the real layout of the coefficients.
* :class:`SphericalConv`, :class:`SphericalBatchNorm` and :class:`SphericalHead` are ``torch.nn.Module``
  objects, and so is :class:`PoissonBracket`; :func:`degree_interpolation` is the anchors' basis,
  :func:`dipoles` the maps' dipoles and :func:`angular_gradient` their turned surface gradients.
* :class:`SphericalScatteringHeadClassifier` is a scikit-learn classifier: spherical maps (or precomputed
  scattering coefficients) in, labels out.

The core package never imports this module, and it needs PyTorch.
"""

try:
    import torch  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without torch
    raise ImportError('scatter.head needs PyTorch; install it with: pip install "scatter[head]"') from error

from ._grid import CyclicConv2d, CyclicHead2D, ScatteringHeadClassifier, orientation_tensor
from ._sphere import (
    GaussLegendreSHT,
    PoissonBracket,
    SphericalBatchNorm,
    SphericalConv,
    SphericalHead,
    SphericalScatteringHeadClassifier,
    angular_gradient,
    degree_interpolation,
    dipoles,
    legendre_table,
    pack_coefficients,
    unpack_coefficients,
)

__all__ = [
    "CyclicConv2d",
    "CyclicHead2D",
    "ScatteringHeadClassifier",
    "orientation_tensor",
    "GaussLegendreSHT",
    "PoissonBracket",
    "SphericalBatchNorm",
    "SphericalConv",
    "SphericalHead",
    "SphericalScatteringHeadClassifier",
    "angular_gradient",
    "degree_interpolation",
    "dipoles",
    "legendre_table",
    "pack_coefficients",
    "unpack_coefficients",
]
