"""The ``scatter`` command line (``scatter.cli``): extract, run, info, plot-filters.

Oracles: the transforms ``scatter.Scattering2D`` / ``scatter.Scattering1D`` called directly on arrays written
here (the CLI's lower layer, bypassing its loading, batching and writing); gray levels written with PIL by hand;
version strings read from the libraries themselves; the PNG signature and matplotlib's reader; directory
listings for the no-partial-output promise. Most cases run ``scatter.cli.main`` in-process; a few run the
installed console script and ``python -m scatter`` in a subprocess.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numba
import numpy as np
import pytest
import scipy
from PIL import Image

import scatter
from scatter import Scattering1D, Scattering2D
from scatter.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None


# ---------------------------------------------------------------------------------------------------------
# helpers


def run_cli(capsys, *argv):
    """Exit status, stdout and stderr of ``scatter ARGV`` run in-process."""
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_clean_error(status, err, *fragments):
    """Exit status 2 and exactly one line on stderr, ``scatter: error: ...``, naming every fragment."""
    assert status == 2
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("scatter: error: ")
    for fragment in fragments:
        assert str(fragment) in lines[0]


def listing(directory):
    return sorted(p.name for p in Path(directory).iterdir())


@pytest.fixture
def in_dir(tmp_path):
    directory = tmp_path / "in"
    directory.mkdir()
    return directory


@pytest.fixture
def out_dir(tmp_path):
    """The output directory, created empty: after a failure it must still be empty."""
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def save_npy(directory, name, array):
    path = directory / name
    np.save(path, array)
    return path


def write_gray_png(path, pixels):
    Image.fromarray(np.asarray(pixels, dtype=np.uint8), mode="L").save(path)


# ---------------------------------------------------------------------------------------------------------
# extract: .npy against the transforms called directly


@pytest.mark.parametrize("batch_shape", [(1,), (5,), (2, 3)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(
    ("dtype", "out_dtype"), [(np.float32, np.float32), (np.float64, np.float64), (np.uint8, np.float64)]
)
def test_extract_npy_2d_matches_scattering2d(capsys, rng, in_dir, out_dir, batch_shape, dtype, out_dtype):
    x = (rng.uniform(0, 200, size=batch_shape + (16, 12))).astype(dtype)
    source = save_npy(in_dir, "images.npy", x)
    status, out, err = run_cli(capsys, "extract", source, out_dir / "f.npy", "--transform", "2d", "-q")
    assert (status, out, err) == (0, "", "")
    features = np.load(out_dir / "f.npy")
    expected = Scattering2D(2, (16, 12), L=8)(x.astype(np.float64) if dtype == np.uint8 else x)
    n = int(np.prod(batch_shape))
    assert features.dtype == out_dtype
    assert features.shape == (n, 81 * 4 * 3)
    tol = 1e-6 if out_dtype == np.float32 else 1e-12
    np.testing.assert_allclose(features, expected.reshape(n, -1), rtol=tol, atol=tol * np.abs(expected).max())
    assert listing(out_dir) == ["f.npy"]


@pytest.mark.parametrize("transform, shape", [("2d", (16, 12)), ("1d", (256,))])
def test_extract_on_fftw_matches_the_default(capsys, rng, in_dir, out_dir, transform, shape):
    pytest.importorskip("pyfftw", reason="pyFFTW (the fftw extra) is not installed")
    x = rng.standard_normal((3,) + shape)
    source = save_npy(in_dir, "x.npy", x)
    outputs = []
    for fft in ("pocketfft", "fftw"):
        status, out, err = run_cli(capsys, "extract", source, out_dir / f"{fft}.npy", "--transform", transform,
                                   "--fft", fft, "-q")
        assert (status, out, err) == (0, "", "")
        outputs.append(np.load(out_dir / f"{fft}.npy"))
    expected = (Scattering2D(2, shape) if transform == "2d" else Scattering1D(2, shape))(x).reshape(3, -1)
    np.testing.assert_array_equal(outputs[0], expected)
    np.testing.assert_allclose(outputs[1], expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())


def test_extract_unknown_fft_is_a_clean_error(capsys, rng, in_dir, out_dir):
    source = save_npy(in_dir, "x.npy", rng.standard_normal((2, 16, 16)))
    with pytest.raises(SystemExit) as exit_info:
        run_cli(capsys, "extract", source, out_dir / "f.npy", "--transform", "2d", "--fft", "mkl")
    assert exit_info.value.code == 2
    assert "invalid choice: 'mkl'" in capsys.readouterr().err
    assert listing(out_dir) == []


@pytest.mark.parametrize(("J", "L", "max_order"), [(1, 4, 1), (2, 3, 2), (3, 2, 2)])
def test_extract_npy_2d_options(capsys, rng, in_dir, out_dir, J, L, max_order):
    x = rng.standard_normal((3, 16, 16))
    source = save_npy(in_dir, "images.npy", x)
    argv = ["extract", source, out_dir / "f.npy", "--transform", "2d", "--J", J, "--L", L]
    status, _, _ = run_cli(capsys, *argv, "--max-order", max_order, "-q")
    assert status == 0
    expected = Scattering2D(J, (16, 16), L=L, max_order=max_order)(x)
    np.testing.assert_allclose(np.load(out_dir / "f.npy"), expected.reshape(3, -1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("batch_shape", [(1,), (4,), (2, 3)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(
    ("J", "Q", "T", "max_order"), [(3, 1, None, 2), (3, 2, None, 2), (2, 1, None, 1), (3, 1, 4, 2), (2, 2, 8, 2)]
)
def test_extract_npy_1d_matches_scattering1d(capsys, rng, in_dir, out_dir, batch_shape, J, Q, T, max_order):
    x = rng.standard_normal(batch_shape + (128,))
    source = save_npy(in_dir, "signals.npy", x)
    argv = ["extract", source, out_dir / "f.npy", "--transform", "1d", "--J", J, "--Q", Q, "--max-order", max_order]
    status, _, _ = run_cli(capsys, *argv, *(["--T", T] if T else []), "-q")
    assert status == 0
    S = Scattering1D(J, 128, Q=Q, T=T, max_order=max_order)
    expected = S(x)
    n = int(np.prod(batch_shape))
    features = np.load(out_dir / "f.npy")
    assert features.dtype == np.float64
    assert features.shape == (n, S.n_channels * S.output_shape[0])
    np.testing.assert_allclose(features, expected.reshape(n, -1), rtol=1e-12, atol=1e-12)
    assert listing(out_dir) == ["f.npy"]


@pytest.mark.parametrize(
    ("layout", "out_dtype"),
    [
        (">f4", np.float32),
        (">f8", np.float64),
        ("fortran", np.float64),
    ],
)
def test_extract_input_layouts(capsys, rng, in_dir, out_dir, layout, out_dtype):
    x = rng.standard_normal((2, 3, 16, 16))
    x = np.asfortranarray(x) if layout == "fortran" else x.astype(layout)
    source = save_npy(in_dir, "images.npy", x)
    assert run_cli(capsys, "extract", source, out_dir / "f.npy", "--transform", "2d", "-q")[0] == 0
    expected = Scattering2D(2, (16, 16))(x).reshape(6, -1)
    features = np.load(out_dir / "f.npy")
    assert features.dtype == out_dtype
    np.testing.assert_allclose(features, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("batch_size", [1, 2, 7, 256])
def test_extract_batch_size_does_not_change_the_output(capsys, rng, in_dir, out_dir, batch_size):
    x = rng.standard_normal((7, 16, 16)).astype(np.float32)
    source = save_npy(in_dir, "images.npy", x)
    argv = ["extract", source, out_dir / "f.npy", "--transform", "2d", "--batch-size", batch_size, "-q"]
    assert run_cli(capsys, *argv)[0] == 0
    expected = Scattering2D(2, (16, 16))(x).reshape(7, -1)
    np.testing.assert_allclose(np.load(out_dir / "f.npy"), expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize(("quiet", "expect_summary"), [(False, True), (True, False)])
def test_extract_summary_line(capsys, rng, in_dir, out_dir, quiet, expect_summary):
    source = save_npy(in_dir, "images.npy", rng.standard_normal((3, 16, 16)))
    argv = ["extract", source, out_dir / "f.npy", "--transform", "2d", *(["-q"] if quiet else [])]
    status, out, _ = run_cli(capsys, *argv)
    assert status == 0
    if expect_summary:
        # 81 channels of 4 x 4 positions at J=2, L=8.
        assert out.splitlines() == [f"{out_dir / 'f.npy'}: 3 samples x 1296 features (per sample: (81, 4, 4))"]
    else:
        assert out == ""


def test_extract_overwrites_an_existing_output(capsys, rng, in_dir, out_dir):
    (out_dir / "f.npy").write_bytes(b"stale")
    x = rng.standard_normal((2, 16, 16))
    source = save_npy(in_dir, "images.npy", x)
    assert run_cli(capsys, "extract", source, out_dir / "f.npy", "--transform", "2d", "-q")[0] == 0
    np.testing.assert_allclose(np.load(out_dir / "f.npy"), Scattering2D(2, (16, 16))(x).reshape(2, -1), rtol=1e-12)
    assert listing(out_dir) == ["f.npy"]


def test_extract_creates_the_output_directory(capsys, rng, in_dir, tmp_path):
    source = save_npy(in_dir, "images.npy", rng.standard_normal((2, 16, 16)))
    target = tmp_path / "new" / "deeper" / "f.npy"
    assert run_cli(capsys, "extract", source, target, "--transform", "2d", "-q")[0] == 0
    assert np.load(target).shape == (2, 1296)


# ---------------------------------------------------------------------------------------------------------
# extract: .npz


@pytest.mark.parametrize("transform", ["1d", "2d"])
def test_extract_npz_single_array(capsys, rng, in_dir, out_dir, transform):
    shape, S = ((3, 128), Scattering1D(3, 128)) if transform == "1d" else ((3, 16, 16), Scattering2D(2, (16, 16)))
    x = rng.standard_normal(shape)
    np.savez(in_dir / "data.npz", whatever=x)
    argv = ["extract", in_dir / "data.npz", out_dir / "f.npy", "--transform", transform, "--J", S.J, "-q"]
    assert run_cli(capsys, *argv)[0] == 0
    np.testing.assert_allclose(np.load(out_dir / "f.npy"), S(x).reshape(3, -1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("key", ["images", "other"])
def test_extract_npz_key_selects_the_array(capsys, rng, in_dir, out_dir, key):
    arrays = {"images": rng.standard_normal((2, 16, 16)), "other": rng.standard_normal((4, 16, 16))}
    np.savez(in_dir / "data.npz", **arrays)
    argv = ["extract", in_dir / "data.npz", out_dir / "f.npy", "--transform", "2d", "--key", key, "-q"]
    assert run_cli(capsys, *argv)[0] == 0
    expected = Scattering2D(2, (16, 16))(arrays[key])
    np.testing.assert_allclose(np.load(out_dir / "f.npy"), expected.reshape(len(arrays[key]), -1), rtol=1e-12)


@pytest.mark.parametrize(
    ("key", "fragments"),
    [(None, ["data.npz", "'images'", "'other'", "--key"]), ("missing", ["data.npz", "'missing'", "'images'"])],
    ids=["several-arrays-no-key", "unknown-key"],
)
def test_extract_npz_key_errors(capsys, rng, in_dir, out_dir, key, fragments):
    np.savez(in_dir / "data.npz", images=rng.standard_normal((2, 16, 16)), other=rng.standard_normal((2, 16, 16)))
    argv = ["extract", in_dir / "data.npz", out_dir / "f.npy", "--transform", "2d", "-q"]
    status, _, err = run_cli(capsys, *argv, *(["--key", key] if key else []))
    assert_clean_error(status, err, *fragments)
    assert listing(out_dir) == []


# ---------------------------------------------------------------------------------------------------------
# extract: a folder of images


def test_extract_image_folder_sorted_by_name(capsys, rng, in_dir, out_dir):
    # Written out of order, with other suffixes (case-insensitive) and a non-image file that is skipped.
    names = ["c.png", "a.PNG", "b.bmp", "d.tif"]
    pixels = {name: rng.integers(0, 256, size=(16, 20), dtype=np.uint8) for name in names}
    for name in names:
        write_gray_png(in_dir / name, pixels[name])
    (in_dir / "notes.txt").write_text("not an image", encoding="utf-8")
    status, _, _ = run_cli(capsys, "extract", in_dir, out_dir / "f.npy", "--transform", "2d", "-q")
    assert status == 0
    stack = np.stack([pixels[n] for n in sorted(names)]).astype(np.float32)
    expected = Scattering2D(2, (16, 20))(stack)
    features = np.load(out_dir / "f.npy")
    assert features.dtype == np.float32
    np.testing.assert_allclose(features, expected.reshape(4, -1), rtol=1e-6, atol=1e-6 * np.abs(expected).max())


def test_extract_rgb_images_are_converted_to_luma(capsys, rng, in_dir, out_dir):
    rgb = rng.integers(0, 256, size=(2, 16, 16, 3), dtype=np.uint8)
    for i, image in enumerate(rgb):
        Image.fromarray(image, mode="RGB").save(in_dir / f"{i}.png")
    assert run_cli(capsys, "extract", in_dir, out_dir / "f.npy", "--transform", "2d", "-q")[0] == 0
    # ITU-R 601-2 luma, PIL's documented RGB -> L/F conversion.
    luma = (rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])).astype(np.float32)
    expected = Scattering2D(2, (16, 16))(luma)
    np.testing.assert_allclose(np.load(out_dir / "f.npy"), expected.reshape(2, -1), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("bad_name", ["b_broken.png", "z_text.jpg"])
def test_extract_folder_with_unreadable_image(capsys, rng, in_dir, out_dir, bad_name):
    for name in ["a.png", "c.png"]:
        write_gray_png(in_dir / name, rng.integers(0, 256, size=(16, 16)))
    (in_dir / bad_name).write_bytes(b"this is not an image at all")
    status, _, err = run_cli(capsys, "extract", in_dir, out_dir / "f.npy", "--transform", "2d", "-q")
    assert_clean_error(status, err, bad_name, "cannot read image")
    assert listing(out_dir) == []


def test_extract_folder_with_truncated_png(capsys, rng, in_dir, out_dir):
    write_gray_png(in_dir / "a.png", rng.integers(0, 256, size=(16, 16)))
    write_gray_png(in_dir / "b.png", rng.integers(0, 256, size=(16, 16)))
    data = (in_dir / "b.png").read_bytes()
    (in_dir / "b.png").write_bytes(data[: len(data) // 2])
    status, _, err = run_cli(capsys, "extract", in_dir, out_dir / "f.npy", "--transform", "2d", "-q")
    assert_clean_error(status, err, "b.png")
    assert listing(out_dir) == []


@pytest.mark.parametrize("odd_shape", [(16, 17), (17, 16), (8, 8)])
def test_extract_folder_with_different_sizes(capsys, rng, in_dir, out_dir, odd_shape):
    write_gray_png(in_dir / "a.png", rng.integers(0, 256, size=(16, 16)))
    write_gray_png(in_dir / "b.png", rng.integers(0, 256, size=odd_shape))
    status, _, err = run_cli(capsys, "extract", in_dir, out_dir / "f.npy", "--transform", "2d", "-q")
    assert_clean_error(status, err, "b.png", str(odd_shape), "a.png")
    assert listing(out_dir) == []


@pytest.mark.parametrize("contents", [[], ["notes.txt", "data.npy"]], ids=["empty", "no-images"])
def test_extract_folder_without_images(capsys, in_dir, out_dir, contents):
    for name in contents:
        (in_dir / name).write_bytes(b"x")
    status, _, err = run_cli(capsys, "extract", in_dir, out_dir / "f.npy", "--transform", "2d", "-q")
    assert_clean_error(status, err, in_dir, "no image files")
    assert listing(out_dir) == []


# ---------------------------------------------------------------------------------------------------------
# extract: .parquet


@pytest.mark.skipif(not HAS_PYARROW, reason="pyarrow is not installed: .parquet output cannot be written")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extract_parquet_matches_scattering2d(capsys, rng, in_dir, out_dir, dtype):
    import pandas as pd

    x = rng.standard_normal((3, 16, 16)).astype(dtype)
    source = save_npy(in_dir, "images.npy", x)
    assert run_cli(capsys, "extract", source, out_dir / "f.parquet", "--transform", "2d", "-q")[0] == 0
    table = pd.read_parquet(out_dir / "f.parquet")
    expected = Scattering2D(2, (16, 16))(x).reshape(3, -1)
    assert list(table.columns) == [f"f{i}" for i in range(expected.shape[1])]
    np.testing.assert_allclose(table.to_numpy(), expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    assert listing(out_dir) == ["f.parquet"]


@pytest.mark.skipif(HAS_PYARROW, reason="pyarrow is installed: this tests the message when it is missing")
def test_extract_parquet_without_pyarrow_is_a_clean_error(capsys, rng, in_dir, out_dir):
    source = save_npy(in_dir, "images.npy", rng.standard_normal((3, 16, 16)))
    status, _, err = run_cli(capsys, "extract", source, out_dir / "f.parquet", "--transform", "2d", "-q")
    assert_clean_error(status, err, "pyarrow")
    assert listing(out_dir) == []


# ---------------------------------------------------------------------------------------------------------
# extract: bad input -> one line, exit status 2, no output


def _npy(shape, dtype=np.float64):
    return lambda rng, d: save_npy(d, "x.npy", rng.standard_normal(shape).astype(dtype))


def _raw(name, content):
    def make(rng, d):
        (d / name).write_bytes(content)
        return d / name

    return make


BAD_INPUTS = {
    # id: (make input, transform options, fragments of the message)
    "missing-file": (lambda rng, d: d / "nope.npy", ["--transform", "2d"], ["nope.npy", "no such file"]),
    "unknown-suffix": (_raw("x.csv", b"1,2,3\n"), ["--transform", "2d"], ["x.csv", ".npy", ".npz"]),
    "corrupt-npy": (_raw("x.npy", b"\x93NUMPY garbage"), ["--transform", "2d"], ["x.npy", "cannot read"]),
    "corrupt-npz": (_raw("x.npz", b"PK not a zip"), ["--transform", "2d"], ["x.npz", "cannot read"]),
    "object-npy": (
        lambda rng, d: (np.save(d / "x.npy", np.array([None, 1], dtype=object), allow_pickle=True), d / "x.npy")[1],
        ["--transform", "1d"],
        ["x.npy"],
    ),
    "complex": (_npy((2, 16, 16), np.complex128), ["--transform", "2d"], ["x.npy", "complex128"]),
    "2d-needs-a-batch-of-images": (_npy((16,)), ["--transform", "2d"], ["x.npy", "(16,)"]),
    "2d-single-image-no-batch": (_npy((16, 16)), ["--transform", "2d"], ["x.npy", "(16, 16)"]),
    "1d-needs-a-batch-of-signals": (_npy((128,)), ["--transform", "1d", "--J", "3"], ["x.npy", "(128,)"]),
    "2d-J-too-large": (_npy((2, 16, 16)), ["--transform", "2d", "--J", "5"], ["J=5", "32", "(16, 16)"]),
    "2d-J-too-large-one-side": (_npy((2, 8, 32)), ["--transform", "2d", "--J", "4"], ["J=4", "(8, 32)"]),
    "2d-J-zero": (_npy((2, 16, 16)), ["--transform", "2d", "--J", "0"], ["J", "0"]),
    "2d-L-zero": (_npy((2, 16, 16)), ["--transform", "2d", "--L", "0"], ["L", "0"]),
    "2d-max-order-3": (_npy((2, 16, 16)), ["--transform", "2d", "--max-order", "3"], ["max_order", "3"]),
    "1d-J-too-large": (_npy((2, 128)), ["--transform", "1d", "--J", "8"], ["J=8", "256"]),
    "1d-T-too-large": (_npy((2, 128)), ["--transform", "1d", "--J", "3", "--T", "500"], ["T", "500"]),
    "1d-Q-zero": (_npy((2, 128)), ["--transform", "1d", "--J", "3", "--Q", "0"], ["Q"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_extract_bad_input_is_a_clean_error(capsys, rng, in_dir, out_dir, case):
    make, options, fragments = BAD_INPUTS[case]
    source = make(rng, in_dir)
    status, out, err = run_cli(capsys, "extract", source, out_dir / "f.npy", *options, "-q")
    assert_clean_error(status, err, *fragments)
    assert out == ""
    assert listing(out_dir) == []


@pytest.mark.parametrize("suffix", [".csv", ".npz", ".txt", ""])
def test_extract_bad_output_suffix(capsys, rng, in_dir, out_dir, suffix):
    source = save_npy(in_dir, "x.npy", rng.standard_normal((2, 16, 16)))
    status, _, err = run_cli(capsys, "extract", source, out_dir / f"f{suffix}", "--transform", "2d", "-q")
    assert_clean_error(status, err, f"f{suffix}", ".npy", ".parquet")
    assert listing(out_dir) == []


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(("sample", "batch_size"), [(0, 256), (3, 2), (6, 3)])
def test_extract_non_finite_names_the_sample(capsys, rng, in_dir, out_dir, value, sample, batch_size):
    x = rng.standard_normal((7, 16, 16))
    x[sample, 5, 9] = value
    source = save_npy(in_dir, "x.npy", x)
    argv = ["extract", source, out_dir / "f.npy", "--transform", "2d", "--batch-size", batch_size, "-q"]
    status, _, err = run_cli(capsys, *argv)
    assert_clean_error(status, err, "x.npy", "non-finite", f"sample {sample}", f"({sample}, 5, 9)")
    assert listing(out_dir) == []


@pytest.mark.parametrize("transform", ["1d", "2d"])
def test_extract_non_finite_in_a_later_batch_keeps_the_previous_output(capsys, rng, in_dir, out_dir, transform):
    x = rng.standard_normal((5, 16, 128) if transform == "1d" else (5, 16, 16)).astype(np.float32)
    x[4, 0, 0] = np.nan
    source = save_npy(in_dir, "x.npy", x)
    (out_dir / "f.npy").write_bytes(b"previous result")
    argv = ["extract", source, out_dir / "f.npy", "--transform", transform, "--batch-size", 16, "-q"]
    status, _, err = run_cli(capsys, *argv, *(["--J", 3] if transform == "1d" else []))
    # 1D: each row of 128 samples is a signal, so the bad value is in flat sample 4 * 16 = 64.
    assert_clean_error(status, err, "x.npy", f"sample {64 if transform == '1d' else 4}")
    assert (out_dir / "f.npy").read_bytes() == b"previous result"
    assert listing(out_dir) == ["f.npy"]


def test_extract_error_with_progress_bar_starts_its_own_line(capsys, rng, in_dir, out_dir):
    x = rng.standard_normal((4, 16, 16))
    x[3, 0, 0] = np.nan
    source = save_npy(in_dir, "x.npy", x)
    status, _, err = run_cli(capsys, "extract", source, out_dir / "f.npy", "--transform", "2d", "--batch-size", 2)
    assert status == 2
    assert "Traceback" not in err and "sample 3" in err
    assert listing(out_dir) == []
    # tqdm redraws with carriage returns, which splitlines() also splits on.
    assert [line for line in err.splitlines() if line.startswith("scatter: error: ")] != []


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_extract_interrupted_leaves_no_output(capsys, rng, in_dir, out_dir, monkeypatch, suffix):
    if suffix == ".parquet" and not HAS_PYARROW:
        pytest.skip("pyarrow is not installed: .parquet output cannot be written")
    source = save_npy(in_dir, "x.npy", rng.standard_normal((6, 16, 16)))
    original = Scattering2D.__call__
    calls = []

    def interrupted_on_second_batch(self, x):
        calls.append(len(x))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, x)

    monkeypatch.setattr(Scattering2D, "__call__", interrupted_on_second_batch)
    argv = ["extract", source, out_dir / f"f{suffix}", "--transform", "2d", "--batch-size", 2, "-q"]
    status, _, err = run_cli(capsys, *argv)
    assert status == 130
    assert err.splitlines() == ["scatter: interrupted"]
    assert calls == [2, 2]
    assert listing(out_dir) == []


def test_extract_output_under_a_file_is_a_clean_error(capsys, rng, in_dir, tmp_path):
    source = save_npy(in_dir, "x.npy", rng.standard_normal((2, 16, 16)))
    (tmp_path / "blocker").write_bytes(b"a file, not a directory")
    status, _, err = run_cli(capsys, "extract", source, tmp_path / "blocker" / "f.npy", "--transform", "2d", "-q")
    assert_clean_error(status, err, "blocker")


@pytest.mark.parametrize(
    "options",
    [["--batch-size", "0"], ["--J", "two"], ["--transform", "3d"], []],
    ids=["batch-size-0", "J-not-int", "transform-3d", "transform-missing"],
)
def test_extract_bad_options_exit_2(capsys, rng, in_dir, out_dir, options):
    source = save_npy(in_dir, "x.npy", rng.standard_normal((2, 16, 16)))
    transform = [] if "--transform" in options or not options else ["--transform", "2d"]
    with pytest.raises(SystemExit) as exc:
        main(["extract", str(source), str(out_dir / "f.npy"), *transform, *options])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("scatter extract: error: ")
    assert "Traceback" not in err
    assert listing(out_dir) == []


# ---------------------------------------------------------------------------------------------------------
# run


@pytest.mark.parametrize("name", ["nope", "MNIST", "digits2"])
def test_run_unknown_pipeline(capsys, tmp_path, name):
    status, _, err = run_cli(capsys, "run", name, "--out", tmp_path / "out", "-q")
    assert_clean_error(status, err, repr(name), "digits", "mnist", "textures")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", ["--n-train", "--n-test"])
@pytest.mark.parametrize("value", ["0", "-3", "ten"])
def test_run_rejects_non_positive_sizes(capsys, tmp_path, option, value):
    with pytest.raises(SystemExit) as exc:
        main(["run", "digits", option, value, "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith("scatter run: error: ")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------------
# info, plot-filters, --help


def test_info_prints_versions(capsys):
    status, out, err = run_cli(capsys, "info")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"scatter {scatter.__version__}"
    for library, version in [("python", sys.version.split()[0]), ("numpy", np.__version__),
                             ("scipy", scipy.__version__), ("numba", numba.__version__)]:
        assert f"{library} {version}" in out
    assert f"numba threads: {numba.get_num_threads()}" in out
    assert "threading layer" in out and "cache dir" in out


@pytest.mark.parametrize(
    "options",
    [["--transform", "2d"], ["--transform", "2d", "--J", "3", "--L", "4", "--size", "32"],
     ["--transform", "1d"], ["--transform", "1d", "--J", "3", "--Q", "4", "--size", "128"]],
    ids=["2d-default", "2d-J3-L4", "1d-default", "1d-J3-Q4"],
)
def test_plot_filters_writes_a_png(capsys, out_dir, options):
    target = out_dir / "bank.png"
    status, out, _ = run_cli(capsys, "plot-filters", target, *options)
    assert status == 0
    assert out.strip() == str(target)
    assert target.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(target)
    assert image.ndim == 3 and image.shape[0] > 0 and image.shape[1] > 0
    assert listing(out_dir) == ["bank.png"]


def test_plot_filters_default_output_in_working_directory(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(capsys, "plot-filters", "--transform", "1d")[0] == 0
    assert (tmp_path / "filters.png").read_bytes()[:8] == PNG_SIGNATURE
    assert listing(tmp_path) == ["filters.png"]


@pytest.mark.parametrize(
    ("options", "fragment"),
    [(["--transform", "2d", "--J", "7"], "J=7"), (["--transform", "1d", "--J", "8"], "J=8"),
     (["--transform", "2d", "--L", "0"], "L")],
    ids=["2d-J-too-large", "1d-J-too-large", "2d-L-zero"],
)
def test_plot_filters_bad_options(capsys, out_dir, options, fragment):
    status, _, err = run_cli(capsys, "plot-filters", out_dir / "bank.png", *options)
    assert_clean_error(status, err, fragment)
    assert listing(out_dir) == []


@pytest.mark.parametrize("command", [[], ["run"], ["extract"], ["info"], ["plot-filters"]],
                         ids=["top", "run", "extract", "info", "plot-filters"])
def test_help(capsys, command):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {' '.join(['scatter', *command])}")


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "usage: scatter" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------
# the installed entry points, in a subprocess

ENTRY_POINTS = {
    "console-script": [str(Path(sys.executable).parent / "scatter")],
    "python-m": [sys.executable, "-m", "scatter"],
}


def _subprocess(entry, *argv, cwd):
    return subprocess.run(
        [*ENTRY_POINTS[entry], *map(str, argv)], capture_output=True, text=True, cwd=cwd, timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_entry_point_extract(rng, in_dir, out_dir, entry):
    x = rng.standard_normal((3, 16, 16)).astype(np.float32)
    source = save_npy(in_dir, "x.npy", x)
    result = _subprocess(entry, "extract", source, out_dir / "f.npy", "--transform", "2d", "-q", cwd=in_dir)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    expected = Scattering2D(2, (16, 16))(x).reshape(3, -1)
    np.testing.assert_allclose(np.load(out_dir / "f.npy"), expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_entry_point_error_is_one_line(rng, in_dir, out_dir, entry):
    source = save_npy(in_dir, "x.npy", rng.standard_normal((2, 16, 16)))
    result = _subprocess(entry, "extract", source, out_dir / "f.npy", "--transform", "2d", "--J", "5", cwd=in_dir)
    assert result.returncode == 2
    assert result.stdout == ""
    assert_clean_error(result.returncode, result.stderr, "J=5")
    assert listing(out_dir) == []
