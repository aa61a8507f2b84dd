"""Scattering on the sphere: sampling, spherical harmonic transform, rotations, wavelets and scattering."""

from .frames import canonical_frame, moment_tensors, rotate_to_frames, stereographic_patch
from .rotations import euler_from_matrix, matrix_from_euler, random_rotation, rotate_flm, wigner_d_small
from .sampling import (
    driscoll_healy_grid,
    driscoll_healy_weights,
    gauss_legendre_grid,
    grid_shape,
    healpix_rings,
    sampling_grid,
)
from .scattering import (
    SphericalScattering,
    cross_spectra,
    default_oversampling,
    modulus_bandlimits,
    scattering_coefficients,
    scattering_paths,
    spherical_scattering,
)
from .sht import forward_sht, inverse_sht
from .wavelets import (
    axisymmetric_convolve,
    axisymmetric_filter_bank,
    default_J,
    kernel_harmonics,
    scale_kernel,
    schwartz_bump,
)

__all__ = [
    "forward_sht",
    "inverse_sht",
    "grid_shape",
    "sampling_grid",
    "gauss_legendre_grid",
    "driscoll_healy_grid",
    "driscoll_healy_weights",
    "healpix_rings",
    "wigner_d_small",
    "rotate_flm",
    "matrix_from_euler",
    "euler_from_matrix",
    "random_rotation",
    "moment_tensors",
    "canonical_frame",
    "rotate_to_frames",
    "stereographic_patch",
    "schwartz_bump",
    "scale_kernel",
    "default_J",
    "axisymmetric_filter_bank",
    "axisymmetric_convolve",
    "kernel_harmonics",
    "SphericalScattering",
    "spherical_scattering",
    "scattering_coefficients",
    "cross_spectra",
    "scattering_paths",
    "modulus_bandlimits",
    "default_oversampling",
]
