"""Shared fixtures of the test suite (1D and 2D alike).

Kymatio 0.3.0 is the numerical oracle of the grid transforms. It imports ``scipy.special.sph_harm``,
which SciPy 1.17 removed; the shim below restores it (as a wrapper of ``sph_harm_y``, with Kymatio's old
argument order) before any test imports Kymatio. It lives here, in one place, for every test module.
"""

import os
import tempfile

import numpy as np
import pytest
import scipy.special

# FFTW's wisdom file (scatter.grid._fft._Wisdom) goes to a directory of this run, never to the user's cache;
# subprocesses of the tests inherit it.
os.environ["SCATTER_FFTW_WISDOM"] = os.path.join(tempfile.mkdtemp(prefix="scatter-tests-"), "fftw-wisdom.npz")

if not hasattr(scipy.special, "sph_harm"):

    def _sph_harm(m, n, theta, phi):
        return scipy.special.sph_harm_y(n, m, phi, theta)

    scipy.special.sph_harm = _sph_harm


#: Seed of the ``rng`` fixture; every test that draws random numbers gets a fresh generator from it.
SEED = 20240613


@pytest.fixture
def rng():
    """A fresh, seeded NumPy generator (never the global ``np.random`` state)."""
    return np.random.default_rng(SEED)


@pytest.fixture(scope="session")
def kymatio_numpy():
    """Kymatio's NumPy frontends (``kymatio.numpy``: ``Scattering1D``, ``Scattering2D``, ...), the oracle."""
    return pytest.importorskip("kymatio.numpy")
