"""scatter: fixed wavelet scattering networks on grids and on the sphere."""

from .grid import Scattering2D

__version__ = "0.1.0"
__all__ = ["Scattering2D", "__version__"]
