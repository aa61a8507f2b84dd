"""Scattering transforms on regular grids: 1D signals and 2D images."""

from .filters_1d import filter_bank_1d, gauss_1d, littlewood_paley_1d, morlet_1d
from .filters_2d import filter_bank_2d, gabor_2d, littlewood_paley_2d, morlet_2d
from .scattering_1d import Scattering1D, scattering_1d
from .scattering_2d import Scattering2D, scattering_2d

__all__ = [
    "Scattering1D",
    "Scattering2D",
    "scattering_1d",
    "scattering_2d",
    "filter_bank_1d",
    "filter_bank_2d",
    "morlet_1d",
    "gauss_1d",
    "gabor_2d",
    "morlet_2d",
    "littlewood_paley_1d",
    "littlewood_paley_2d",
]
