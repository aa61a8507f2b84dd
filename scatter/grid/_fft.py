"""The FFTs of the grid transforms: ``scipy.fft`` (pocketfft, the default) or FFTW through pyFFTW.

Each function transforms a batch over its last ``ndim`` axes on ``workers`` threads (default 1; the
transforms pass 1 and parallelise over chunks of the batch instead, except for small batches on FFTW,
:data:`scatter.grid._batch.MAX_INNER_THREADS_SAMPLES`) and releases the GIL. ``backend`` names the library
(:data:`BACKENDS`):

- ``"pocketfft"``: results do not depend on how many signals share a call, so a signal's scattering is the
  same, to the last bit, in any batch or chunk (the Dask path relies on it). ducc0 was measured as well: it
  took 65-85% of pocketfft's time for the 2D transforms of the speed benchmark on one machine and 85-115% on
  another, but its results change in the last bits with the batch (its SIMD lanes span several
  transforms), so it is not used.
- ``"fftw"`` (optional, ``pip install "scatter[fftw]"``; FFTW is GPL-licensed): plans measured by FFTW
  (``FFTW_MEASURE``) on the first call with each batch shape, then reused. On aligned buffers
  (:func:`empty`) and one thread, its inverse complex FFTs took 0.34-0.95x pocketfft's time at the speed
  benchmark's sizes (0.34 at 20x20, 0.51 at 40x40, 0.57 at 240x240, 0.45 at 4096, 0.95 at 131072), its
  forward real FFTs 0.6-1.24x (1.24 at 40x40). The plan FFTW picks depends on the batch
  shape and on timings, so results agree with pocketfft's to rounding but may differ in the last bits
  between batch sizes. FFTW's measurements (its wisdom) are kept in a file (:class:`_Wisdom`), so a new
  process plans the problems measured before at once (W3's first call: 0.46 s instead of 8.8 s) and picks
  the same plans: the same batch shape then gives the same results, to the bit, from one process to the
  next.

The transforms call these functions through the module (``_fft.rfft_full(...)``, keywords only), which lets
``benchmarks/fft_limit.py`` record and replay them.
"""

import collections
import contextlib
import functools
import hashlib
import importlib.util
import math
import os
import platform
import threading
import zipfile
from pathlib import Path

import numpy as np
from scipy import fft as sp_fft

from .._atomic import atomic_path
from .._validation import check_choice
from . import _kernels

#: FFT libraries of the grid transforms.
BACKENDS = ("pocketfft", "fftw")
#: Byte alignment of the buffers from :func:`empty` (FFTW's SIMD code needs 32 on AVX, 64 on AVX-512).
ALIGNMENT = 64

_FORWARD = {1: sp_fft.rfft, 2: sp_fft.rfft2}
_INVERSE = {1: sp_fft.ifft, 2: sp_fft.ifft2}


def check_backend(fft):
    """Validate the ``fft`` parameter of a transform; ``"fftw"`` needs pyFFTW, which is looked for here and
    imported by the first FFTW plan (its import takes 0.15-0.25 s, which a transform's construction would
    otherwise pay before any FFT)."""
    check_choice(fft, "fft", BACKENDS)
    if fft == "fftw" and importlib.util.find_spec("pyfftw") is None:
        raise ImportError('fft="fftw" needs pyFFTW: pip install "scatter[fftw]"')
    return fft


def empty(shape, dtype):
    """Uninitialised array whose data start on a multiple of :data:`ALIGNMENT` bytes."""
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = _kernels.bytes_to_alignment(raw, ALIGNMENT)
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def allocator(backend):
    """How the transforms allocate the buffers they hand to the FFTs of ``backend``: aligned for FFTW,
    :func:`numpy.empty` for pocketfft (which needs no alignment, and costs a few microseconds less per call)."""
    return empty if backend == "fftw" else np.empty


def unnormalised_inverse(backend):
    """Whether the transforms fold the ``1 / N`` of their inverse FFTs into the wavelets' plans and call
    :func:`ifft_inplace` unnormalised: on FFTW, which would scale in a pass of its own."""
    return backend == "fftw"


def threads_inside(backend):
    """Whether small batches run whole with the threads inside the FFTs
    (:data:`scatter.grid._batch.MAX_INNER_THREADS_SAMPLES`): on FFTW, whose threaded plans pay."""
    return backend == "fftw"


def rfft_full(u, ndim, workers=1, backend="pocketfft", out=None):
    """Spectra of the real ``u`` in a buffer of the full spectrum's shape, whose columns ``0 .. N // 2``
    (the half spectrum, :func:`numpy.fft.rfftn` layout, unnormalised) are set and the others are not; for
    :func:`scatter.grid._plans.complete_spectrum`. The buffer is ``out`` when given (``u``'s shape, complex,
    from :func:`empty` on FFTW), else a new one."""
    if out is None:
        out = (empty if backend == "fftw" else np.empty)(u.shape, np.result_type(u.dtype, np.complex64))
    half = out[..., : u.shape[-1] // 2 + 1]
    if backend == "fftw":
        _FFTW_PLANS.run("r2c", u, half, ndim, workers)
    else:
        half[...] = _FORWARD[ndim](u, workers=workers)
    return out


def ifft_inplace(z, ndim, workers=1, orthonormal=False, normalised=True, backend="pocketfft"):
    """Inverse complex FFT of ``z`` in place, normalised by ``1 / N`` (:func:`numpy.fft.ifftn`), by
    ``1 / sqrt(N)`` with ``orthonormal`` (for replays that transform one buffer again and again, whose
    values would otherwise shrink into subnormal numbers), or not at all without ``normalised`` (FFTW
    scales in a pass of its own, which the transforms save by folding ``1 / N`` into the filters); returns
    the result, ``z`` itself."""
    if backend == "fftw":
        _FFTW_PLANS.run("c2c", z, z, ndim, workers)
        if orthonormal or normalised:
            z *= _scale(z.shape[-ndim:], orthonormal, z.real.dtype)
        return z
    norm = "ortho" if orthonormal else ("backward" if normalised else "forward")
    return _INVERSE[ndim](z, workers=workers, overwrite_x=True, norm=norm)


def irfft(z, ndim, n_last, workers=1, backend="pocketfft"):
    """Inverse real FFT of the half spectra ``z`` to signals of ``n_last`` samples on the last axis,
    normalised by ``1 / N`` (:func:`numpy.fft.irfftn`); ``z`` may be overwritten."""
    if backend == "fftw":
        out = empty(z.shape[:-1] + (n_last,), z.real.dtype)
        _FFTW_PLANS.run("c2r", z, out, ndim, workers)
        out *= _scale(out.shape[-ndim:], False, out.dtype)
        return out
    if ndim == 1:
        return sp_fft.irfft(z, n=n_last, workers=workers, overwrite_x=True)
    return sp_fft.irfftn(z, s=z.shape[z.ndim - ndim : -1] + (n_last,), axes=tuple(range(-ndim, 0)), workers=workers,
                         overwrite_x=True)


@functools.lru_cache(maxsize=256)
def _scale(shape, orthonormal, dtype):
    n = math.prod(shape)
    return dtype.type(1 / math.sqrt(n) if orthonormal else 1 / n)


class _PlanPool:
    """FFTW plans by problem (kind, shapes, strides, dtypes, alignment), made on first use and shared by
    threads: a thread takes an idle plan of its problem, or makes one (FFTW's wisdom makes repeated
    problems quick to plan), and gives it back after the transform. At most ``max_problems`` problems are
    kept: past that, the problem that has gone longest without needing a new plan is dropped."""

    FLAGS = {"r2c": ("FFTW_MEASURE",), "c2c": ("FFTW_MEASURE", "FFTW_DESTROY_INPUT"),
             "c2r": ("FFTW_MEASURE", "FFTW_DESTROY_INPUT")}

    def __init__(self, max_problems=256):
        self.max_problems = max_problems
        self._idle = collections.OrderedDict()
        self._lock = threading.Lock()

    def run(self, kind, a, b, ndim, threads=1):
        """Transform ``a`` into ``b`` (the same array for ``"c2c"``: in place), unnormalised, on FFTW's
        ``threads`` (None: 1)."""
        threads = threads or 1
        key = (kind, ndim, a.shape, a.strides, a.dtype, b.shape, b.strides, b.dtype, a is b, threads)
        try:
            self._execute(key, kind, a, b, ndim, threads, True)
        except ValueError:  # pyFFTW refuses arrays less aligned than the plan's
            self._execute(key + (False,), kind, a, b, ndim, threads, False)

    def _execute(self, key, kind, a, b, ndim, threads, aligned):
        # An idle plan of a known problem is taken and given back without the lock (list.pop and list.append are
        # atomic), which keeps a microsecond off each of the transforms' hundreds of FFT calls; only a new plan
        # registers its problem, and drops the oldest past max_problems, under the lock.
        idle = self._idle.get(key)
        plan = None
        if idle:
            try:
                plan = idle.pop()
            except IndexError:  # another thread took the last one
                pass
        if plan is None:
            plan = self._make(kind, a, b, ndim, threads, aligned)
            with self._lock:
                idle = self._idle.setdefault(key, [])
                self._idle.move_to_end(key)
                while len(self._idle) > self.max_problems:
                    self._idle.popitem(last=False)
        try:
            plan.update_arrays(a, b)
            plan.execute()
        finally:
            idle.append(plan)

    def _make(self, kind, a, b, ndim, threads, aligned):
        import pyfftw

        _WISDOM.load()
        scratch_a = _scratch_like(a)
        scratch_b = scratch_a if a is b else _scratch_like(b)
        flags = self.FLAGS[kind] + (() if aligned else ("FFTW_UNALIGNED",))
        direction = "FFTW_FORWARD" if kind == "r2c" else "FFTW_BACKWARD"
        plan = pyfftw.FFTW(scratch_a, scratch_b, axes=tuple(range(-ndim, 0)), direction=direction, flags=flags,
                           threads=threads)
        _WISDOM.save()
        return plan


class _Wisdom:
    """FFTW's wisdom (its measured plans) in a file, read before the first plan of the process and written
    (whole, atomically) after every new plan.

    The file is ``$SCATTER_FFTW_WISDOM`` if set (``off``: no file), else
    ``$XDG_CACHE_HOME/scatter/`` (default ``~/.cache/scatter/``) ``fftw-wisdom-<pyFFTW version>-<CPU>.npz``:
    wisdom is measured on one CPU and valid for one FFTW version. It holds three byte arrays (double,
    single, long double precision), read without pickle. An unreadable or invalid file is ignored (and
    replaced by the next write); a file that cannot be written is skipped silently.
    """

    KINDS = ("double", "single", "long")

    def __init__(self, path=None):
        self._path = path
        self._lock = threading.Lock()
        self._loaded = False

    @property
    def path(self):
        """The wisdom file, or None when turned off."""
        if self._path is not None:
            return self._path
        configured = os.environ.get("SCATTER_FFTW_WISDOM")
        if configured is not None:
            return None if configured.strip().lower() in ("", "off") else Path(configured)
        import pyfftw

        cpu = hashlib.sha256(_cpu_name().encode()).hexdigest()[:12]
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "scatter"
        return cache / f"fftw-wisdom-{pyfftw.__version__}-{platform.machine()}-{cpu}.npz"

    def load(self):
        """Import the file's wisdom once per process (nothing if there is none or it is invalid)."""
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            path = self.path
            if path is None or not path.is_file():
                return
            import pyfftw

            with contextlib.suppress(OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                with np.load(path, allow_pickle=False) as stored:
                    pyfftw.import_wisdom(tuple(stored[kind].tobytes() for kind in self.KINDS))

    def save(self):
        """Write FFTW's current wisdom (what was read, and what this process measured) to the file."""
        path = self.path
        if path is None:
            return
        import pyfftw

        arrays = {kind: np.frombuffer(data, np.uint8) for kind, data in zip(self.KINDS, pyfftw.export_wisdom())}
        with self._lock, contextlib.suppress(OSError):
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                np.savez(f, **arrays)


def _cpu_name():
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _scratch_like(a):
    """An aligned array with the shape and strides of ``a`` (positive strides), for planning: FFTW's
    measurements overwrite it."""
    extent = sum((n - 1) * s for n, s in zip(a.shape, a.strides)) + a.itemsize
    raw = empty(extent // a.itemsize + 1, a.dtype)
    return np.lib.stride_tricks.as_strided(raw, a.shape, a.strides)


_FFTW_PLANS = _PlanPool()
_WISDOM = _Wisdom()
