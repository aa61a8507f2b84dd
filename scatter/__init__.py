"""scatter: fixed wavelet scattering networks on grids and on the sphere."""

from .grid import Scattering1D, Scattering2D

__version__ = "0.1.0"
__all__ = ["Scattering1D", "Scattering2D", "__version__"]
