"""Scattering on the sphere: sampling, spherical harmonic transform and rotations."""

from .rotations import euler_from_matrix, matrix_from_euler, random_rotation, rotate_flm, wigner_d_small
from .sampling import (
    driscoll_healy_grid,
    driscoll_healy_weights,
    gauss_legendre_grid,
    grid_shape,
    healpix_rings,
    sampling_grid,
)
from .sht import forward_sht, inverse_sht

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
]
