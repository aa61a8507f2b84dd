"""Tests of the grid transforms' FFTs (``scatter.grid._fft``) and of the transforms on FFTW (``fft="fftw"``).

Oracles: ``numpy.fft`` (its own pocketfft build, independent of ``scipy.fft`` and of FFTW) for the
functions, Kymatio 0.3.0 for the transforms.
"""

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import scatter
from scatter.grid import _fft

pyfftw = pytest.importorskip("pyfftw", reason="pyFFTW (the fftw extra) is not installed")

BACKENDS = _fft.BACKENDS
#: Relative tolerance of one FFT against numpy's in float32 / float64 (a few ulps times log2 N).
FFT_RTOL = {np.float32: 2e-6, np.float64: 1e-13}


def rel_err(actual, expected):
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def random_complex(rng, shape, dtype):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (0,), (5, 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.float64, np.complex128])
def test_empty_is_aligned_and_shaped(shape, dtype):
    a = _fft.empty(shape, dtype)
    assert a.shape == shape
    assert a.dtype == dtype
    assert a.flags.c_contiguous and a.flags.writeable
    if a.size:  # an empty array has no data to align
        assert a.ctypes.data % _fft.ALIGNMENT == 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, ndim", [((3, 64), 1), ((4, 45), 1), ((3, 12, 10), 2), ((2, 9, 15), 2)])
def test_functions_match_numpy(backend, dtype, shape, ndim, rng):
    complex_dtype = np.result_type(dtype, np.complex64)
    axes = tuple(range(-ndim, 0))
    u = rng.standard_normal(shape).astype(dtype)
    full = _fft.rfft_full(u, ndim=ndim, backend=backend)
    half = np.fft.rfftn(u.astype(np.float64), axes=axes)
    assert full.shape == u.shape and full.dtype == complex_dtype
    assert rel_err(full[..., : half.shape[-1]], half) <= FFT_RTOL[dtype]
    # Into a given buffer (the transforms reuse one per chunk): that buffer, the same half spectrum, and the
    # columns past it left as they were.
    buffer = _fft.empty(shape, complex_dtype)
    buffer[...] = np.nan
    assert _fft.rfft_full(u, ndim=ndim, backend=backend, out=buffer) is buffer
    np.testing.assert_array_equal(buffer[..., : half.shape[-1]], full[..., : half.shape[-1]])
    assert np.isnan(buffer[..., half.shape[-1] :]).all()

    z = random_complex(rng, shape, complex_dtype)
    expected = np.fft.ifftn(z.astype(np.complex128), axes=axes)
    got = _fft.ifft_inplace(z, ndim=ndim, backend=backend)
    assert got is z or np.shares_memory(got, z)
    assert rel_err(got, expected) <= FFT_RTOL[dtype]
    z = random_complex(rng, shape, complex_dtype)
    ortho = np.fft.ifftn(z.astype(np.complex128), axes=axes, norm="ortho")
    assert rel_err(_fft.ifft_inplace(z, ndim=ndim, orthonormal=True, backend=backend), ortho) <= FFT_RTOL[dtype]

    n_last = shape[-1]
    spectra = np.fft.rfftn(rng.standard_normal(shape), axes=axes)
    expected = np.fft.irfftn(spectra, s=shape[len(shape) - ndim :], axes=axes)
    got = _fft.irfft(spectra.astype(complex_dtype), ndim=ndim, n_last=n_last, backend=backend)
    assert got.shape == shape and got.dtype == dtype
    assert rel_err(got, expected) <= FFT_RTOL[dtype]


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_fftw_on_unaligned_and_aligned_buffers_alike(dtype, rng):
    """A buffer one element off the alignment gets a plan of its own (FFTW_UNALIGNED), same values."""
    shape = (6, 16, 12)
    values = random_complex(rng, shape, dtype)
    raw = _fft.empty(values.size + 1, dtype)
    unaligned = raw[1:].reshape(shape)
    assert unaligned.ctypes.data % _fft.ALIGNMENT != 0
    unaligned[...] = values
    aligned = _fft.empty(shape, dtype)
    aligned[...] = values
    expected = np.fft.ifftn(values.astype(np.complex128), axes=(1, 2))
    for buffer in (aligned, unaligned, aligned):
        assert rel_err(_fft.ifft_inplace(buffer.copy() if buffer is aligned else buffer, ndim=2, backend="fftw"),
                       expected) <= FFT_RTOL[np.float32 if dtype == np.complex64 else np.float64]


def test_fftw_plans_are_shared_safely_between_threads(rng):
    """Many threads transforming buffers of one problem at once: each gets its own plan, every result right."""
    shape = (8, 20, 20)
    inputs = [random_complex(rng, shape, np.complex128) for _ in range(24)]
    expected = [np.fft.ifftn(z, axes=(1, 2)) for z in inputs]

    def run(k):
        z = _fft.empty(shape, np.complex128)
        z[...] = inputs[k]
        for _ in range(5):  # forward by hand, inverse by FFTW: the same values each round
            out = _fft.ifft_inplace(z, ndim=2, backend="fftw")
            result = out.copy()
            z[...] = inputs[k]
        return result

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(run, range(len(inputs))))
    for got, want in zip(results, expected):
        assert rel_err(got, want) <= 1e-13


def test_fftw_plan_pool_is_bounded(rng):
    pool = _fft._PlanPool(max_problems=3)
    for n in range(4, 10):
        z = random_complex(rng, (2, n), np.complex128)
        expected = np.fft.ifft(z) * n  # the pool's transforms are unnormalised
        pool.run("c2c", z, z, 1)
        assert rel_err(z, expected) <= 1e-13
    assert len(pool._idle) == 3
    assert [key[2] for key in pool._idle] == [(2, 7), (2, 8), (2, 9)]


def test_fftw_plan_pool_reuses_an_idle_plan_and_plans_an_unaligned_buffer_apart(rng):
    pool = _fft._PlanPool()
    aligned = _fft.empty((3, 10), np.complex64)
    unaligned = _fft.empty(31, np.complex64)[1:].reshape(3, 10)  # 8 bytes off: too little for FFTW's SIMD
    for buffer in (aligned, aligned, unaligned, aligned, unaligned):
        values = random_complex(rng, (3, 10), np.complex64)
        buffer[...] = values
        pool.run("c2c", buffer, buffer, 1)
        assert rel_err(buffer, np.fft.ifft(values.astype(np.complex128)) * 10) <= 1e-6
    # One plan per problem, reused: the aligned one, and the unaligned buffer's own (FFTW_UNALIGNED).
    assert sorted(len(plans) for plans in pool._idle.values()) == [1, 1]
    assert sorted(len(key) for key in pool._idle) == [10, 11]


@pytest.mark.parametrize("fft", ["mkl", "FFTW", "", None, 1])
def test_unknown_backend_is_refused(fft):
    with pytest.raises(ValueError, match=re.escape(f"fft must be one of ['fftw', 'pocketfft']; got {fft!r}")):
        scatter.Scattering2D(J=2, shape=(16, 16), fft=fft)
    with pytest.raises(ValueError, match=r"fft must be one of"):
        scatter.Scattering1D(J=2, shape=256, fft=fft)


def test_fftw_without_pyfftw_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyfftw", None)  # makes "import pyfftw" raise ImportError
    with pytest.raises(ImportError, match=r'pip install "scatter\[fftw\]"'):
        scatter.Scattering2D(J=2, shape=(16, 16), fft="fftw")
    assert scatter.Scattering2D(J=2, shape=(16, 16)).fft == "pocketfft"


def test_fftw_transforms_import_pyfftw_at_their_first_fft_not_at_construction():
    pytest.importorskip("pyfftw")
    script = (
        "import sys, numpy as np, scatter\n"
        "S = scatter.Scattering1D(J=2, shape=64, fft='fftw')\n"
        "print('pyfftw' in sys.modules)\n"
        "S(np.ones((1, 64)))\n"
        "print('pyfftw' in sys.modules)\n"
    )
    env = {**os.environ, "SCATTER_FFTW_WISDOM": "off"}
    result = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, env=env)
    assert result.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("shape, J, L, max_order", [((32, 32), 2, 8, 2), ((33, 27), 3, 6, 2), ((20, 20), 1, 4, 1)])
@pytest.mark.parametrize("padding", ["reflect", "periodic"])
def test_fftw_2d_matches_kymatio(shape, J, L, max_order, padding, rng, kymatio_numpy):
    if padding == "periodic":
        shape = tuple(s - s % 2**J for s in shape)
    x = rng.standard_normal((3,) + shape)
    S = scatter.Scattering2D(J, shape, L=L, max_order=max_order, padding=padding, fft="fftw")
    got = S(x)
    reference = scatter.Scattering2D(J, shape, L=L, max_order=max_order, padding=padding)(x)
    assert rel_err(got, reference) <= 1e-12
    if padding == "reflect":
        expected = kymatio_numpy.Scattering2D(J=J, shape=shape, L=L, max_order=max_order)(x)
        assert rel_err(got, expected) <= 1e-5
    # float32: within float32 rounding of the float64 result.
    assert rel_err(S(x.astype(np.float32)), reference) <= 1e-5


@pytest.mark.parametrize("N, J, Q, T", [(1024, 6, 8, None), (777, 4, (4, 2), 16), (4096, 8, 1, None)])
def test_fftw_1d_matches_kymatio(N, J, Q, T, rng, kymatio_numpy):
    x = rng.standard_normal((3, N))
    S = scatter.Scattering1D(J, N, Q=Q, T=T, fft="fftw")
    got = S(x)
    reference = scatter.Scattering1D(J, N, Q=Q, T=T)(x)
    assert rel_err(got, reference) <= 1e-12
    expected = kymatio_numpy.Scattering1D(J=J, shape=N, Q=Q, T=T)(x)
    assert rel_err(got, expected) <= 1e-5
    assert rel_err(S(x.astype(np.float32)), reference) <= 1e-5


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_fftw_results_agree_across_batches_and_threads(workers, rng):
    """A signal's scattering on FFTW depends on its batch only through rounding (pocketfft's: not at all)."""
    x = rng.standard_normal((7, 40, 36)).astype(np.float32)
    S = scatter.Scattering2D(J=2, shape=(40, 36), L=4, workers=workers, fft="fftw")
    whole = S(x)
    for k in range(len(x)):
        assert rel_err(S(x[k]), whole[k]) <= 1e-5
    assert rel_err(S(x[2:5]), whole[2:5]) <= 1e-5


@pytest.mark.parametrize("cls, kwargs", [(scatter.Scattering2D, {"J": 2, "shape": (16, 16)}),
                                          (scatter.Scattering1D, {"J": 3, "shape": 256})])
def test_repr_names_the_backend(cls, kwargs):
    assert "fft='fftw'" in repr(cls(fft="fftw", **kwargs))
    assert "fft='pocketfft'" in repr(cls(**kwargs))


@pytest.mark.parametrize("workers", [1, 2])
def test_fftw_small_batches_with_threads_inside_the_ffts(workers, rng, kymatio_numpy):
    """A batch small enough to run whole (FFTW on ``workers`` threads) gives Kymatio's values."""
    x = rng.standard_normal((4, 1024))
    S = scatter.Scattering1D(J=6, shape=1024, Q=8, workers=workers, fft="fftw")
    expected = kymatio_numpy.Scattering1D(J=6, shape=1024, Q=8)(x)
    assert rel_err(S(x), expected) <= 1e-5
    assert rel_err(S(x.astype(np.float32)), expected) <= 1e-4


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape, factor", [((16, 12), 2), ((32,), 4), ((8, 8), 1)])
def test_plans_with_the_inverse_norm_then_unnormalised_ffts_equal_normalised_ones(backend, shape, factor, rng):
    """``inverse_norm`` divides the weights by the coarse grid's size N, so that an unnormalised inverse FFT
    gives what the plain plan and ``1 / N`` give."""
    from scatter.grid._plans import apply_plan, periodization_plan

    h = rng.random(shape)
    plain = periodization_plan(h, factor, False, np.float64)
    folded = periodization_plan(h, factor, False, np.float64, inverse_norm=True)
    n_coarse = np.prod([n // factor for n in shape])
    np.testing.assert_allclose(folded["weight"], plain["weight"] / n_coarse, rtol=1e-15)
    spectra = random_complex(rng, (3,) + shape, np.complex128)
    ndim = len(shape)
    expected = _fft.ifft_inplace(apply_plan(spectra, plain), ndim=ndim, backend=backend)
    got = _fft.ifft_inplace(apply_plan(spectra, folded), ndim=ndim, normalised=False, backend=backend)
    assert rel_err(got, expected) <= 1e-14


_WISDOM_SCRIPT = """
import sys
import numpy as np
import scatter
x = np.random.default_rng(0).standard_normal((5, 36, 44)).astype(np.float32)
np.save(sys.argv[1], scatter.Scattering2D(J=2, shape=(36, 44), fft="fftw")(x))
"""


def test_fftw_wisdom_is_kept_and_gives_the_same_bits_in_a_new_process(tmp_path):
    """A process writes FFTW's wisdom to the file; the next one reads it, picks the same plans and gives the
    same outputs to the bit."""
    import subprocess

    wisdom = tmp_path / "cache" / "wisdom.npz"
    env = dict(os.environ, SCATTER_FFTW_WISDOM=str(wisdom))
    outputs = []
    for k in range(2):
        out = tmp_path / f"out{k}.npy"
        subprocess.run([sys.executable, "-c", _WISDOM_SCRIPT, str(out)], env=env, check=True, timeout=300)
        outputs.append(np.load(out))
        with np.load(wisdom, allow_pickle=False) as stored:
            assert sorted(stored.files) == ["double", "long", "single"]
            assert b"fftw" in stored["single"].tobytes()  # FFTW's wisdom text names its version
    assert np.array_equal(outputs[0], outputs[1])
    assert not list(wisdom.parent.glob(".*.part*"))  # no temporary file left behind


def test_fftw_wisdom_file_invalid_or_off(tmp_path, monkeypatch, rng):
    wisdom = tmp_path / "wisdom.npz"
    wisdom.write_bytes(b"not a zip archive")
    keeper = _fft._Wisdom(wisdom)
    keeper.load()  # ignored, no error
    z = random_complex(rng, (3, 22), np.complex128)
    expected = np.fft.ifft(z) * 22
    monkeypatch.setattr(_fft, "_WISDOM", keeper)
    _fft._PlanPool().run("c2c", z, z, 1)
    assert rel_err(z, expected) <= 1e-13
    with np.load(wisdom, allow_pickle=False) as stored:  # rewritten whole
        assert stored["double"].size > 0
    monkeypatch.setenv("SCATTER_FFTW_WISDOM", "off")
    assert _fft._Wisdom().path is None
    _fft._Wisdom().save()  # nothing to do, nothing written
    monkeypatch.setenv("SCATTER_FFTW_WISDOM", str(tmp_path / "elsewhere.npz"))
    assert _fft._Wisdom().path == tmp_path / "elsewhere.npz"
    monkeypatch.delenv("SCATTER_FFTW_WISDOM")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    default = _fft._Wisdom().path
    assert default.parent == tmp_path / "xdg" / "scatter"
    assert default.name.startswith(f"fftw-wisdom-{pyfftw.__version__}-") and default.suffix == ".npz"
