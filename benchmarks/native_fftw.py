"""FFTW built for this machine's CPU, for the FFTW rows of ``speed.py`` and ``fft_limit.py``.

pyFFTW's wheels carry an FFTW (3.3.5) whose SIMD codelets stop at AVX. This script builds FFTW 3.3.10's
single precision, the one the float32 transforms use, from the source tarball in Debian's archive, with
the codelets this CPU can run (SSE2, AVX, AVX2, AVX-512 and FMA as ``/proc/cpuinfo`` lists them) and
OpenMP threads, into ``--prefix`` (default ``~/.cache/scatter/fftw-3.3.10-native``). Nothing in the
installed packages changes: ``speed.py --native-fftw PREFIX`` and ``fft_limit.py --native-fftw PREFIX``
start the processes that time scatter on FFTW with the built libraries in ``LD_PRELOAD``, whose symbols then
take precedence over the wheel's copy of FFTW (:func:`preload_environment`), and report the FFTW each
process ran (:func:`fftw_version`).

Usage::

    python benchmarks/native_fftw.py [--prefix DIR]

Building takes a few minutes on two cores; a prefix that already holds the libraries is kept as it is.
"""

import argparse
import contextlib
import ctypes
import glob
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

VERSION = "3.3.10"
SOURCE_URL = f"http://deb.debian.org/debian/pool/main/f/fftw3/fftw3_{VERSION}.orig.tar.gz"
#: SHA-256 of the tarball at SOURCE_URL (the same bytes as fftw.org's fftw-3.3.10.tar.gz).
SOURCE_SHA256 = "56c932549852cddcfafdab3820b0200c7742675be92179e59e6215b340e26467"
DEFAULT_PREFIX = Path.home() / ".cache" / "scatter" / f"fftw-{VERSION}-native"
#: The single-precision libraries that replace the wheel's: FFTW itself and its OpenMP threads.
LIBRARIES = ("libfftw3f.so.3", "libfftw3f_omp.so.3")
#: configure's SIMD options, by the /proc/cpuinfo flag each needs.
SIMD_OPTIONS = {
    "sse2": "--enable-sse2",
    "avx": "--enable-avx",
    "avx2": "--enable-avx2",
    "avx512f": "--enable-avx512",
    "fma": "--enable-fma",
}


def cpu_flags():
    """The CPU's feature flags, from the first ``flags`` line of ``/proc/cpuinfo`` (empty if unreadable)."""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    return set()


def configure_options(flags, prefix):
    """configure's arguments: single precision, shared libraries with OpenMP, the SIMD of ``flags``."""
    simd = [option for flag, option in SIMD_OPTIONS.items() if flag in flags]
    return [f"--prefix={prefix}", "--enable-single", "--enable-shared", "--disable-static", "--enable-openmp",
            "--disable-fortran", *simd]


def library_paths(prefix):
    return [Path(prefix) / "lib" / name for name in LIBRARIES]


def preload_environment(prefix, environ=None):
    """Environment variables under which a process's FFTW calls go to the libraries under ``prefix``:
    ``LD_PRELOAD`` with them first (and what it held before), and, when ``environ`` names a wisdom file
    (``SCATTER_FFTW_WISDOM``), one of their own beside it, ``<name>-native<suffix>``: wisdom holds for one
    FFTW build. Raises FileNotFoundError, naming the script to run, when the libraries are missing."""
    environ = os.environ if environ is None else environ
    paths = library_paths(prefix)
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no FFTW build at {', '.join(missing)}: run python benchmarks/native_fftw.py "
                                f"--prefix {prefix}")
    preload = [str(p) for p in paths] + [p for p in environ.get("LD_PRELOAD", "").split(":") if p]
    env = {"LD_PRELOAD": ":".join(preload)}
    wisdom = environ.get("SCATTER_FFTW_WISDOM", "").strip()
    if wisdom and wisdom.lower() != "off":
        wisdom = Path(wisdom)
        env["SCATTER_FFTW_WISDOM"] = str(wisdom.with_name(f"{wisdom.stem}-native{wisdom.suffix}"))
    return env


def fftw_version():
    """The version string of the single-precision FFTW this process calls (``fftw-3.3.5-sse2-avx`` for
    pyFFTW's wheel: release and SIMD codelets), or None when there is none (no pyFFTW, nothing preloaded).

    A preloaded FFTW is found in the global namespace; otherwise the copy in the wheel's ``pyfftw.libs``,
    which pyFFTW loads privately (loading it again returns the same library). The string is a C array:
    read from its address up to its terminating zero."""
    candidates = [None]
    with contextlib.suppress(ImportError):
        import pyfftw

        libs = Path(pyfftw.__file__).resolve().parent.parent / "pyfftw.libs"
        candidates += sorted(p for p in glob.glob(str(libs / "libfftw3f-*.so*")))
    for candidate in candidates:
        with contextlib.suppress(OSError, ValueError):
            start = ctypes.addressof(ctypes.c_char.in_dll(ctypes.CDLL(candidate), "fftwf_version"))
            return ctypes.string_at(start).decode()
    return None


def build(prefix, log=print):
    """Download, check, configure, compile and install FFTW's single precision into ``prefix`` (nothing if
    it is there already); returns ``prefix``."""
    prefix = Path(prefix).expanduser().resolve()
    if all(p.is_file() for p in library_paths(prefix)):
        log(f"FFTW is already built in {prefix}")
        return prefix
    with tempfile.TemporaryDirectory(prefix="scatter-fftw-") as tmp:
        tarball = Path(tmp) / "fftw.tar.gz"
        log(f"downloading {SOURCE_URL}")
        urllib.request.urlretrieve(SOURCE_URL, tarball)
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        if digest != SOURCE_SHA256:
            raise RuntimeError(f"{SOURCE_URL} has SHA-256 {digest}, expected {SOURCE_SHA256}")
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        source = Path(tmp) / f"fftw-{VERSION}"
        options = configure_options(cpu_flags(), prefix)
        log("configure " + " ".join(options))
        for command in (["./configure", *options], ["make", f"-j{os.cpu_count() or 1}"], ["make", "install"]):
            done = subprocess.run(command, cwd=source, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    log(f"built FFTW {VERSION} in {prefix}")
    return prefix


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prefix", default=str(DEFAULT_PREFIX), help=f"install prefix (default {DEFAULT_PREFIX})")
    args = parser.parse_args(argv)
    prefix = build(args.prefix, log=lambda message: print(message, file=sys.stderr, flush=True))
    print(prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
