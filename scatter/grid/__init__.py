"""Scattering transforms on regular grids: 1D signals and 2D images."""

from .filters_2d import filter_bank_2d, gabor_2d, littlewood_paley_2d, morlet_2d
from .scattering_2d import Scattering2D, scattering_2d

__all__ = ["Scattering2D", "scattering_2d", "filter_bank_2d", "gabor_2d", "morlet_2d", "littlewood_paley_2d"]
