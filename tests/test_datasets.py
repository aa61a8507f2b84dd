"""Tests of the data set loaders.

MNIST tests read the four IDX files from ``$SCATTER_DATA`` (or its ``mnist/``) or from the project's
``../shared/data/mnist``, and skip when neither holds them. Their oracles are independent of the loader: the
label counts of the data's README, and the pixel mean and standard deviation of the training images that the
literature normalises with (0.1307 and 0.3081 of 255). No test touches the network: downloads are served by
``file://`` mirrors or by a patched ``urlopen``.
"""

import gzip
import os
import random
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from scatter import datasets
from scatter.datasets import (
    ChecksumError,
    load_digits,
    load_mnist,
    load_mnist1d,
    load_textures,
    read_idx,
)

MNIST_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
ALL_MNIST_FILES = [f"{name}.gz" for names in MNIST_NAMES.values() for name in names]
#: From the data's README (../shared/data/README.md).
LABEL_COUNTS = {
    "train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}


def _holds_mnist(directory):
    return all((directory / name).is_file() or (directory / name[:-3]).is_file() for name in ALL_MNIST_FILES)


def _find_mnist_dir():
    candidates = []
    if os.environ.get("SCATTER_DATA"):
        root = Path(os.environ["SCATTER_DATA"])
        candidates += [root, root / "mnist"]
    candidates.append(Path(__file__).parents[1] / ".." / "shared" / "data" / "mnist")
    return next((c.resolve() for c in candidates if _holds_mnist(c)), None)


@pytest.fixture(scope="module")
def mnist_dir():
    directory = _find_mnist_dir()
    if directory is None:
        pytest.skip("MNIST IDX files not found in $SCATTER_DATA(/mnist) nor ../shared/data/mnist")
    return directory


@pytest.fixture
def mnist_test_copy(mnist_dir, tmp_path):
    """A writable copy of the test split's two files (as found: gzip or not)."""
    for name in MNIST_NAMES["test"]:
        source = mnist_dir / f"{name}.gz"
        shutil.copy(source if source.is_file() else mnist_dir / name, tmp_path)
    return tmp_path


def _gunzip_test_split(mnist_dir, destination):
    for name in MNIST_NAMES["test"]:
        source = mnist_dir / f"{name}.gz"
        if source.is_file():
            (destination / name).write_bytes(gzip.decompress(source.read_bytes()))
        else:
            shutil.copy(mnist_dir / name, destination)


def _assert_no_files(directory):
    leftovers = [p for p in directory.rglob("*") if not p.is_dir()]
    assert leftovers == []


# ---------------------------------------------------------------------------------------------------------
# digits


def test_load_digits():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float64
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0 and images.max() == 16
    assert set(labels.tolist()) == set(range(10))


def test_load_digits_n_class():
    _, labels = load_digits(n_class=3)
    assert set(labels.tolist()) == {0, 1, 2}


@pytest.mark.parametrize(("n_class", "error"), [(0, ValueError), (11, ValueError), (2.0, TypeError)])
def test_load_digits_rejects_n_class(n_class, error):
    with pytest.raises(error, match="n_class"):
        load_digits(n_class=n_class)


# ---------------------------------------------------------------------------------------------------------
# read_idx on synthetic files


def _idx_bytes(array, code):
    header = bytes([0, 0, code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize(
    ("dtype", "code"),
    [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D), (np.float64, 0x0E)],
)
def test_read_idx_round_trip(tmp_path, rng, dtype, code):
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / "data.idx"
    path.write_bytes(_idx_bytes(array, code))
    data = read_idx(path)
    assert data.dtype == np.dtype(dtype) and data.dtype.isnative
    assert data.flags.writeable
    np.testing.assert_array_equal(data, array)


@pytest.mark.parametrize(("name", "compress"), [("data.idx", True), ("data.gz", False), ("data.gz", True)])
def test_read_idx_detects_gzip_by_content_not_name(tmp_path, name, compress):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    content = _idx_bytes(array, 0x08)
    path = tmp_path / name
    path.write_bytes(gzip.compress(content) if compress else content)
    np.testing.assert_array_equal(read_idx(str(path)), array)


_GOOD = _idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3), 0x08)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x00\x00", "fewer than the 4-byte magic number"),
        (b"\x01\x00\x08\x02" + _GOOD[4:], "not an IDX file: magic number"),
        (b"\x00\x00\x0a\x02" + _GOOD[4:], "not an IDX file: magic number"),
        (b"\x00\x00\x08\x00" + _GOOD[4:], "not an IDX file: magic number"),
        (_GOOD[:7], "truncated: its magic number 0x00000802 announces 2 dimensions"),
        (_GOOD[:-1], r"truncated: its header declares shape \(2, 3\)"),
        (_GOOD + b"\x00", "has trailing bytes"),
        (gzip.compress(_GOOD)[:-6], "gzip magic bytes but does not decompress"),
    ],
    ids=["short", "nonzero-prefix", "unknown-type", "zero-dims", "short-header", "short-data", "trailing", "bad-gzip"],
)
def test_read_idx_rejects_malformed(tmp_path, content, match):
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent.idx")


def test_read_idx_rejects_non_path():
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        read_idx(3)


# ---------------------------------------------------------------------------------------------------------
# MNIST from the shared copy


@pytest.mark.parametrize("split", ["train", "test"])
def test_load_mnist_against_readme(mnist_dir, split):
    images, labels = load_mnist(mnist_dir, split=split, download=False)
    n = sum(LABEL_COUNTS[split])
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.int64
    assert np.bincount(labels, minlength=10).tolist() == LABEL_COUNTS[split]
    assert images.min() == 0 and images.max() == 255


def test_load_mnist_train_pixel_statistics(mnist_dir):
    # The normalisation constants used throughout the MNIST literature (e.g. torchvision's examples).
    images, _ = load_mnist(mnist_dir, split="train", download=False)
    mean = images.mean(dtype=np.float64) / 255
    second_moment = np.square(images, dtype=np.float64).mean() / 255**2
    assert mean == pytest.approx(0.1307, abs=1e-4)
    assert np.sqrt(second_moment - mean**2) == pytest.approx(0.3081, abs=1e-4)


def test_load_mnist_first_n(mnist_dir):
    images, labels = load_mnist(mnist_dir, split="test", n=7, download=False)
    full_images, full_labels = load_mnist(mnist_dir, split="test", download=False)
    assert images.shape == (7, 28, 28) and images.base is None
    np.testing.assert_array_equal(images, full_images[:7])
    np.testing.assert_array_equal(labels, full_labels[:7])
    assert labels.tolist() == [7, 2, 1, 0, 4, 1, 4]  # the well-known first test digits


def test_load_mnist_uncompressed_files(mnist_dir, tmp_path):
    _gunzip_test_split(mnist_dir, tmp_path)
    images, labels = load_mnist(tmp_path, split="test", download=False)
    expected_images, expected_labels = load_mnist(mnist_dir, split="test", download=False)
    np.testing.assert_array_equal(images, expected_images)
    np.testing.assert_array_equal(labels, expected_labels)


def test_load_mnist_regzipped_files_match_by_content(mnist_dir, tmp_path):
    _gunzip_test_split(mnist_dir, tmp_path)
    for name in MNIST_NAMES["test"]:
        raw = tmp_path / name
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(raw.read_bytes(), compresslevel=1))
        raw.unlink()
    images, labels = load_mnist(tmp_path, split="test", download=False)
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == LABEL_COUNTS["test"]


def test_load_mnist_reads_scatter_data_and_its_mnist_folder(mnist_dir, tmp_path, monkeypatch):
    (tmp_path / "mnist").symlink_to(mnist_dir, target_is_directory=True)
    monkeypatch.setenv("SCATTER_DATA", str(tmp_path))
    _, labels = load_mnist(split="test", download=False)
    assert np.bincount(labels).tolist() == LABEL_COUNTS["test"]


@pytest.mark.parametrize("compressed", [True, False], ids=["gz", "raw"])
def test_load_mnist_rejects_corrupted_file(mnist_dir, tmp_path, compressed):
    if compressed:
        for name in MNIST_NAMES["test"]:
            shutil.copy(mnist_dir / f"{name}.gz", tmp_path)
        target = tmp_path / "t10k-labels-idx1-ubyte.gz"
    else:
        _gunzip_test_split(mnist_dir, tmp_path)
        target = tmp_path / "t10k-labels-idx1-ubyte"
    content = bytearray(target.read_bytes())
    content[-1] ^= 0x01  # still a well-formed IDX file when uncompressed: only the checksum can tell
    target.write_bytes(bytes(content))
    with pytest.raises(ChecksumError, match=r"t10k-labels-idx1-ubyte(\.gz)? is corrupt .* Delete it") as info:
        load_mnist(tmp_path, split="test", download=False)
    assert isinstance(info.value, ValueError)


# ---------------------------------------------------------------------------------------------------------
# MNIST: missing files and downloads


def test_load_mnist_missing_files_error_names_files_and_directories(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path, split="train", download=False)
    message = str(info.value)
    for name in ALL_MNIST_FILES:
        assert name in message
    assert str(tmp_path) in message and str(tmp_path / "mnist") in message
    assert "download=False" in message and "SCATTER_DATA" in message


def test_load_mnist_default_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("SCATTER_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "scatter_data")):
        load_mnist(split="test", download=False)


def test_load_mnist_download_failure_is_clean(tmp_path, monkeypatch):
    calls = []

    def unreachable(url, timeout=None):
        calls.append((url, timeout))
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path, split="test")
    message = str(info.value)
    for name in ALL_MNIST_FILES:
        assert name in message
    assert "network is unreachable" in message
    assert [url for url, _ in calls] == [m + "t10k-images-idx3-ubyte.gz" for m in datasets.MNIST_MIRRORS]
    assert all(0 < timeout <= 30 for _, timeout in calls)
    _assert_no_files(tmp_path)


def test_load_mnist_refused_connection_is_clean(tmp_path, monkeypatch):
    # Port 9 (discard) on the loopback interface: nothing listens, the connection is refused at once.
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", ("http://127.0.0.1:9/mnist/",))
    with pytest.raises(FileNotFoundError, match="127.0.0.1:9/mnist/t10k-images-idx3-ubyte.gz"):
        load_mnist(tmp_path, split="test")
    _assert_no_files(tmp_path)


class _BrokenResponse:
    """A response that delivers some bytes, then loses the connection."""

    def __init__(self):
        self.chunks = [b"\x1f\x8b" + bytes(1000)]

    def read(self, size):
        if self.chunks:
            return self.chunks.pop()
        raise ConnectionResetError("connection reset by peer")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_load_mnist_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: _BrokenResponse())
    with pytest.raises(FileNotFoundError, match="connection reset by peer"):
        load_mnist(tmp_path, split="test")
    _assert_no_files(tmp_path)


def test_load_mnist_download_from_mirror(mnist_dir, tmp_path, monkeypatch):
    if not all((mnist_dir / f"{name}.gz").is_file() for name in MNIST_NAMES["test"]):
        pytest.skip("the shared MNIST copy is not gzip-compressed, as the mirrors serve it")
    dead = "http://127.0.0.1:9/mnist/"
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (dead, mnist_dir.as_uri() + "/"))
    images, labels = load_mnist(tmp_path / "data", split="test")
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == LABEL_COUNTS["test"]
    stored = sorted(p.name for p in (tmp_path / "data").rglob("*") if p.is_file())
    assert stored == sorted(f"{name}.gz" for name in MNIST_NAMES["test"])
    for name in stored:
        assert (tmp_path / "data" / "mnist" / name).read_bytes() == (mnist_dir / name).read_bytes()


def test_load_mnist_download_with_wrong_checksum_is_rejected(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in MNIST_NAMES["test"]:
        (mirror / f"{name}.gz").write_bytes(gzip.compress(b"not MNIST"))
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (mirror.as_uri() + "/",))
    with pytest.raises(FileNotFoundError, match="ChecksumError: downloaded data has SHA-256"):
        load_mnist(tmp_path / "data", split="test")
    _assert_no_files(tmp_path / "data")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"split": "validation"}, ValueError, "split must be one of"),
        ({"n": 0}, ValueError, r"n must be None or an integer in \[1, 10000\] for split='test'"),
        ({"n": 10001}, ValueError, r"n must be None or an integer in \[1, 10000\]"),
        ({"n": 5.0}, TypeError, "n must be an integer"),
        ({"data_dir": 3}, TypeError, "data_dir must be a str or os.PathLike"),
    ],
)
def test_load_mnist_rejects_arguments(tmp_path, kwargs, error, match):
    kwargs = {"data_dir": tmp_path, "split": "test", "download": False, **kwargs}
    with pytest.raises(error, match=match):
        load_mnist(**kwargs)


# ---------------------------------------------------------------------------------------------------------
# Texture patches


@pytest.fixture(scope="module")
def skimage_data():
    return pytest.importorskip("skimage.data", reason="load_textures needs scikit-image (extra 'textures')")


def test_load_textures_shapes_and_labels(skimage_data):
    X_train, X_test, y_train, y_test = load_textures(24, n_train_per_class=7, n_test_per_class=5, random_state=0)
    assert X_train.shape == (21, 24, 24) and X_test.shape == (15, 24, 24)
    assert X_train.dtype == X_test.dtype == np.float64
    assert y_train.tolist() == [0] * 7 + [1] * 7 + [2] * 7
    assert y_test.tolist() == [0] * 5 + [1] * 5 + [2] * 5
    assert y_train.dtype == y_test.dtype == np.int64
    assert 0 <= X_train.min() and X_train.max() <= 1


def _locate(patch, image):
    """Rows and columns where ``patch`` occurs exactly in ``image``."""
    rows, cols = patch.shape
    starts = np.argwhere(image[: image.shape[0] - rows + 1, : image.shape[1] - cols + 1] == patch[0, 0])
    return np.array([(r, c) for r, c in starts if np.array_equal(image[r:r + rows, c:c + cols], patch)]).reshape(-1, 2)


def test_load_textures_train_top_half_test_bottom_half(skimage_data):
    p = 16
    X_train, X_test, y_train, y_test = load_textures(p, n_train_per_class=4, n_test_per_class=4, random_state=1)
    images = {k: getattr(skimage_data, name)() / 255.0 for k, name in enumerate(datasets.TEXTURE_NAMES)}
    half = images[0].shape[0] // 2
    for patch, label in zip(X_train, y_train):
        rows = _locate(patch, images[label])[:, 0]
        assert len(rows) and (rows + p <= half).all()
    for patch, label in zip(X_test, y_test):
        rows = _locate(patch, images[label])[:, 0]
        assert len(rows) and (rows >= half).all()


def test_load_textures_is_reproducible(skimage_data):
    first = load_textures(8, n_train_per_class=3, n_test_per_class=3, rotate_test=True, random_state=5)
    second = load_textures(8, n_train_per_class=3, n_test_per_class=3, rotate_test=True,
                           random_state=np.random.RandomState(5))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_load_textures_zero_rotation_is_identity(skimage_data):
    kwargs = {"n_train_per_class": 2, "n_test_per_class": 6, "random_state": 3}
    _, plain, _, _ = load_textures(20, **kwargs)
    _, rotated, _, _, angles = load_textures(20, rotate_test=(0, 0), return_angles=True, **kwargs)
    np.testing.assert_allclose(rotated, plain, atol=1e-12)
    assert (angles == 0).all()


def test_load_textures_quarter_turn_is_rot90(skimage_data):
    # Same positions with and without rotation; a 90-degree spline rotation about the centre is exact.
    kwargs = {"n_train_per_class": 2, "n_test_per_class": 6, "random_state": 3}
    _, plain, _, _ = load_textures(20, **kwargs)
    _, rotated, _, _ = load_textures(20, rotate_test=(90, 90), **kwargs)
    np.testing.assert_allclose(rotated, np.rot90(plain, k=1, axes=(1, 2)), atol=1e-10)


def test_load_textures_angles(skimage_data):
    *_, angles = load_textures(8, n_train_per_class=1, n_test_per_class=50, rotate_test=(-30, 45),
                               random_state=0, return_angles=True)
    assert angles.shape == (150,)
    assert (-30 <= angles).all() and (angles <= 45).all() and np.ptp(angles) > 50
    *_, angles = load_textures(8, n_train_per_class=1, n_test_per_class=50, rotate_test=True,
                               random_state=0, return_angles=True)
    assert (0 <= angles).all() and (angles < 360).all() and np.ptp(angles) > 300


def test_load_textures_largest_patch(skimage_data):
    X_train, X_test, _, _ = load_textures(174, n_train_per_class=1, n_test_per_class=1, rotate_test=True,
                                          random_state=0)
    assert X_train.shape == X_test.shape == (3, 174, 174)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"patch_size": 0}, ValueError, r"patch_size must be an integer in \[1, 174\]"),
        ({"patch_size": 175}, ValueError, r"patch_size must be an integer in \[1, 174\] .* bottom 256 rows"),
        ({"patch_size": 16.0}, TypeError, "patch_size must be an integer"),
        ({"n_train_per_class": 0}, ValueError, "n_train_per_class"),
        ({"n_test_per_class": -1}, ValueError, "n_test_per_class"),
        ({"rotate_test": 30}, TypeError, "rotate_test must be a bool or a"),
        ({"rotate_test": (0, 10, 20)}, TypeError, "rotate_test must be a bool or a"),
        ({"rotate_test": ("0", 10)}, TypeError, "rotate_test must be a bool or a"),
        ({"rotate_test": (10, 0)}, ValueError, "low <= high"),
        ({"rotate_test": (0, np.inf)}, ValueError, "finite"),
        ({"random_state": "seed"}, ValueError, "random_state must be None, an int"),
    ],
)
def test_load_textures_rejects_arguments(skimage_data, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_textures(**kwargs)


# ---------------------------------------------------------------------------------------------------------
# MNIST-1D


@pytest.fixture(scope="module")
def mnist1d_package():
    return pytest.importorskip("mnist1d.data", reason="load_mnist1d needs the mnist1d package (extra 'mnist1d')")


@pytest.fixture(scope="module")
def mnist1d_default(mnist1d_package):
    return load_mnist1d()


def test_load_mnist1d_default_split(mnist1d_default):
    X_train, X_test, y_train, y_test = mnist1d_default
    assert X_train.shape == (4000, 40) and X_test.shape == (1000, 40)
    assert X_train.dtype == X_test.dtype == np.float64
    assert y_train.dtype == y_test.dtype == np.int64
    # 500 signals of each digit in all, standardised jointly.
    assert np.bincount(np.concatenate([y_train, y_test])).tolist() == [500] * 10
    signals = np.concatenate([X_train, X_test])
    assert signals.mean() == pytest.approx(0, abs=1e-12)
    assert signals.std() == pytest.approx(1, rel=1e-12)


def test_load_mnist1d_matches_the_package_default(mnist1d_package, mnist1d_default):
    # random_state=42 is the package's own default seed: the package's default data set, as it generates it.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:  # the package seeds the global generators; leave them as they were for the other tests
        expected = mnist1d_package.make_dataset(mnist1d_package.get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    X_train, X_test, y_train, y_test = mnist1d_default
    np.testing.assert_array_equal(X_train, expected["x"])
    np.testing.assert_array_equal(X_test, expected["x_test"])
    np.testing.assert_array_equal(y_train, expected["y"])
    np.testing.assert_array_equal(y_test, expected["y_test"])


def test_load_mnist1d_restores_global_random_state(mnist1d_package):
    np_state, py_state = np.random.get_state(), random.getstate()
    load_mnist1d(100, random_state=0)
    after = np.random.get_state()
    assert after[0] == np_state[0] and (after[1] == np_state[1]).all() and after[2:] == np_state[2:]
    assert random.getstate() == py_state


def test_load_mnist1d_random_state(mnist1d_package):
    first = load_mnist1d(100, random_state=0)
    again = load_mnist1d(100, random_state=0)
    other = load_mnist1d(100, random_state=1)
    from_instance = load_mnist1d(100, random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])
    assert from_instance[0].shape == (80, 40)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_samples": 0}, ValueError, "n_samples must be an integer in"),
        ({"n_samples": 105}, ValueError, "n_samples must be a positive multiple of 10"),
        ({"n_samples": 100.0}, TypeError, "n_samples must be an integer"),
        ({"random_state": -1}, ValueError, "random_state must be None, an int"),
        ({"random_state": np.random.default_rng(0)}, ValueError, "random_state must be None, an int"),
    ],
)
def test_load_mnist1d_rejects_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_mnist1d(**kwargs)


@pytest.mark.parametrize(
    ("loader", "module", "extra"),
    [(load_textures, "skimage.data", "textures"), (load_mnist1d, "mnist1d.data", "mnist1d")],
)
def test_missing_optional_package_names_its_extra(monkeypatch, loader, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail as if the package were absent
    with pytest.raises(ImportError, match=rf"pip install 'scatter\[{extra}\]'"):
        loader()
