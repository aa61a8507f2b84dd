"""The cascade's steps on one chunk (``scatter.grid._cascade``): the buffers a chunk reuses."""

import importlib.util

import numpy as np
import pytest

import scatter
from scatter.grid import _cascade, _fft

BACKENDS = [
    pytest.param(backend, marks=pytest.mark.skipif(
        backend == "fftw" and importlib.util.find_spec("pyfftw") is None, reason="pyFFTW is not installed"))
    for backend in _fft.BACKENDS
]


def assert_fills_its_slice(compute, expected):
    """``compute(out)`` (a transform given ``out=``) writes into the given slice of a larger array, returns it, and
    leaves the rest of the array alone; the values are, to the bit, ``expected`` (those of a new array)."""
    whole = np.full((expected.shape[0] + 4,) + expected.shape[1:], -7.0, expected.dtype)
    got = compute(whole[2:-2])
    assert np.shares_memory(got, whole)
    np.testing.assert_array_equal(whole[2:-2], expected)
    assert np.all(whole[:2] == -7.0) and np.all(whole[-2:] == -7.0)


def assert_rejects_a_wrong_out(compute, expected):
    """``compute(out)`` raises a ValueError naming ``out`` for an array of another shape or dtype than
    ``expected``'s, and writes nothing into it."""
    for wrong in (np.zeros((expected.shape[0] + 1,) + expected.shape[1:], expected.dtype),
                  np.zeros(expected.shape, np.float64 if expected.dtype == np.float32 else np.float32)):
        with pytest.raises(ValueError, match="out must have shape"):
            compute(wrong)
        assert not wrong.any()


def _fresh_buffers(self, role, shape, dtype):
    """A new buffer at every step: what the cascade computed before it reused them."""
    return self.empty(shape, dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda fft: scatter.Scattering2D(J=3, shape=(24, 20), L=4, fft=fft, workers=1), (7, 24, 20)),
        (lambda fft: scatter.Scattering2D(J=2, shape=(16, 16), L=3, padding="periodic", fft=fft, workers=1),
         (5, 16, 16)),
        (lambda fft: scatter.Scattering1D(J=5, shape=256, Q=4, fft=fft, workers=1), (6, 256)),
        # T < 2^J: some order-2 products keep the resolution of the spectra they read.
        (lambda fft: scatter.Scattering1D(J=5, shape=256, Q=4, T=4, fft=fft, workers=1), (6, 256)),
    ],
)
def test_reused_buffers_give_the_bits_of_fresh_ones(make, shape, backend, rng, monkeypatch):
    """Every step's result is consumed before the next step of its role overwrites it: the outputs with the
    chunk's reused buffers equal, to the bit, those with a new buffer at every step, at every order and scale."""
    x = rng.standard_normal(shape).astype(np.float32)
    reused = make(backend)(x)
    monkeypatch.setattr(_cascade.CascadeSteps, "_buffer", _fresh_buffers)
    np.testing.assert_array_equal(reused, make(backend)(x))


def test_a_role_keeps_one_buffer_per_shape_and_dtype():
    steps = _cascade.CascadeSteps(2, {}, np.empty((1, 1, 1, 1)), (), np.float32, 1)
    first = steps._buffer("modulus", (3, 4, 4), np.float32)
    assert steps._buffer("modulus", (3, 4, 4), np.float32) is first
    assert steps._buffer("product", (3, 4, 4), np.float32) is not first
    assert steps._buffer("modulus", (3, 2, 2), np.float32) is not first
    assert steps._buffer("modulus", (3, 4, 4), np.float64) is not first
