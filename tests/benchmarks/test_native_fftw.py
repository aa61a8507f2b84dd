"""benchmarks/native_fftw.py: the configure options it derives from the CPU, the preload environment, and
the FFTW version a process reports (the build itself downloads and compiles, so it is not run here)."""

import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import native_fftw  # noqa: E402


def test_configure_options_follow_cpu_flags(tmp_path):
    options = native_fftw.configure_options({"sse2", "avx", "avx2", "fma", "avx512f", "ht"}, tmp_path)
    assert options[0] == f"--prefix={tmp_path}"
    assert "--enable-single" in options and "--enable-openmp" in options and "--enable-shared" in options
    for option in ("--enable-sse2", "--enable-avx", "--enable-avx2", "--enable-avx512", "--enable-fma"):
        assert option in options
    older = native_fftw.configure_options({"sse2", "avx"}, tmp_path)
    assert "--enable-avx" in older
    assert not {"--enable-avx2", "--enable-avx512", "--enable-fma"} & set(older)


def test_preload_environment_names_the_missing_build(tmp_path):
    with pytest.raises(FileNotFoundError, match="native_fftw.py --prefix"):
        native_fftw.preload_environment(tmp_path, environ={})


@pytest.fixture
def build_prefix(tmp_path):
    """A prefix holding (empty) files where the build puts its libraries."""
    (tmp_path / "lib").mkdir()
    for name in native_fftw.LIBRARIES:
        (tmp_path / "lib" / name).write_bytes(b"")
    return tmp_path


def test_preload_environment_puts_the_build_first(build_prefix):
    env = native_fftw.preload_environment(build_prefix, environ={"LD_PRELOAD": "/opt/other.so"})
    assert env["LD_PRELOAD"].split(":") == [str(build_prefix / "lib" / name) for name in native_fftw.LIBRARIES] + [
        "/opt/other.so"
    ]


def test_preload_environment_gives_the_build_its_own_wisdom(build_prefix):
    env = native_fftw.preload_environment(build_prefix, environ={"SCATTER_FFTW_WISDOM": "/runs/7/wisdom.npz"})
    assert env["SCATTER_FFTW_WISDOM"] == "/runs/7/wisdom-native.npz"
    # Unset (scatter's default file) or "off": the process inherits the setting as it is.
    for environ in ({}, {"SCATTER_FFTW_WISDOM": "off"}):
        assert "SCATTER_FFTW_WISDOM" not in native_fftw.preload_environment(build_prefix, environ=environ)


@pytest.mark.skipif(importlib.util.find_spec("pyfftw") is None, reason="pyFFTW is not installed")
def test_fftw_version_of_the_wheel():
    import pyfftw  # noqa: F401  (loads the wheel's FFTW)

    version = native_fftw.fftw_version()
    assert version is not None and version.startswith("fftw-3.")
