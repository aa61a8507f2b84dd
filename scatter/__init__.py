"""scatter: fixed wavelet scattering networks on grids and on the sphere."""

from .grid import Scattering1D, Scattering2D

__version__ = "0.1.0"
__all__ = ["Scattering1D", "Scattering2D", "SphericalScattering", "__version__"]


def __getattr__(name):
    # The sphere transforms load on first use: ``import scatter`` stays as fast as the grid transforms.
    if name == "SphericalScattering":
        from .sphere.scattering import SphericalScattering

        return SphericalScattering
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
