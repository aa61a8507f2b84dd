"""Small benchmark data sets for scattering features: digits, MNIST, texture patches and MNIST-1D.

- :func:`load_digits`: scikit-learn's bundled 8x8 digits, images ``(1797, 8, 8)`` and labels.
- :func:`load_mnist`: MNIST images ``(n, 28, 28)`` ``uint8`` and labels, from the IDX files in ``data_dir``
  (or ``$SCATTER_DATA``), downloaded and checksummed when absent; :func:`read_idx` parses any IDX file (the
  format of MNIST, Fashion-MNIST and EMNIST).
- :func:`load_textures`: patches of scikit-image's brick, grass and gravel images, train and test cut from
  disjoint halves, the test set optionally rotated (extra ``textures``).
- :func:`load_mnist1d`: MNIST-1D signals ``(n, 40)``, generated offline by the ``mnist1d`` package (extra
  ``mnist1d``).

Labels are ``int64`` everywhere. Loaders that make their own train/test split return
``(X_train, X_test, y_train, y_test)``, in the order of :func:`sklearn.model_selection.train_test_split`.
"""

import gzip
import hashlib
import http.client
import importlib
import math
import numbers
import os
import random
import secrets
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from scipy import ndimage
from sklearn.utils import check_random_state

from ._validation import check_choice, check_int

__all__ = [
    "ChecksumError",
    "MNIST_MIRRORS",
    "TEXTURE_NAMES",
    "load_digits",
    "load_mnist",
    "load_mnist1d",
    "load_textures",
    "read_idx",
]


class ChecksumError(ValueError):
    """A data file whose SHA-256 is not the published one (corrupt, truncated or a different file)."""


# ---------------------------------------------------------------------------------------------------------
# Shared helpers


def _check_random_state(random_state):
    """``sklearn.utils.check_random_state`` with an error message that names the parameter."""
    try:
        return check_random_state(random_state)
    except ValueError as exc:
        raise ValueError(
            "random_state must be None, an int in [0, 2**32 - 1] or a numpy.random.RandomState; "
            f"got {random_state!r}"
        ) from exc


def _import_optional(module, extra, package):
    """Import an optional dependency, or raise an ``ImportError`` that says which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"this loader needs {package}, which is not installed: pip install 'scatter[{extra}]' "
            f"(or pip install {package})"
        ) from exc


# ---------------------------------------------------------------------------------------------------------
# scikit-learn's digits


def load_digits(*, n_class=10):
    """Load scikit-learn's bundled 8x8 handwritten digits (a copy of the UCI ML test set).

    Parameters
    ----------
    n_class : int, default=10
        Number of classes to keep: the digits ``0`` to ``n_class - 1``.

    Returns
    -------
    images : ndarray of shape (n, 8, 8), float64
        Gray levels, integers from 0 to 16 stored as floats (n = 1797 for ``n_class=10``).
    labels : ndarray of shape (n,), int64
        The digit of each image.

    Raises
    ------
    TypeError
        If ``n_class`` is not an integer.
    ValueError
        If ``n_class`` is not in [1, 10].

    Examples
    --------
    >>> from scatter.datasets import load_digits
    >>> images, labels = load_digits()
    >>> images.shape, images.dtype, labels[:5]
    ((1797, 8, 8), dtype('float64'), array([0, 1, 2, 3, 4]))
    """
    from sklearn.datasets import load_digits as sklearn_load_digits

    n_class = check_int(n_class, "n_class", min_value=1, max_value=10)
    bunch = sklearn_load_digits(n_class=n_class)
    return bunch.images, bunch.target.astype(np.int64, copy=False)


# ---------------------------------------------------------------------------------------------------------
# IDX files and MNIST

#: IDX type code -> NumPy dtype (the data are big-endian).
_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"

#: The four MNIST files (without ``.gz``) of each split.
_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_MNIST_SIZES = {"train": 60000, "test": 10000}
#: SHA-256 of each MNIST file: (gzip-compressed as distributed, uncompressed).
_MNIST_SHA256 = {
    "train-images-idx3-ubyte": (
        "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train-labels-idx1-ubyte": (
        "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "t10k-images-idx3-ubyte": (
        "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "t10k-labels-idx1-ubyte": (
        "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}
#: Mirrors of the gzip-compressed MNIST files, tried in order; each is a URL prefix ending in "/".
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
#: Seconds a download may wait on the network for any one connection or read before that mirror is given up.
_DOWNLOAD_TIMEOUT = 10.0


def _as_path(value, name):
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike; got {value!r} of type {type(value).__name__}")
    return Path(value).expanduser()


def _decompress(data, source):
    """Return the content of ``data``, gunzipped when it starts with the gzip magic bytes (whatever its name)."""
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{source} starts with the gzip magic bytes but does not decompress: {exc}") from exc


def _parse_idx(raw, source):
    """Parse the bytes of an (uncompressed) IDX file; see :func:`read_idx`."""
    if len(raw) < 4:
        raise ValueError(f"{source} is not an IDX file: {len(raw)} bytes, fewer than the 4-byte magic number")
    magic = int.from_bytes(raw[:4], "big")
    code, ndim = raw[2], raw[3]
    if raw[:2] != b"\0\0" or code not in _IDX_DTYPES or ndim == 0:
        codes = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(
            f"{source} is not an IDX file: magic number {magic} (0x{magic:08X}); an IDX magic number is "
            f"0x0000TTDD with type code TT in {{{codes}}} and DD >= 1 dimensions (MNIST: 2051 = 0x00000803 "
            "for images, 2049 = 0x00000801 for labels)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"{source} is truncated: its magic number 0x{magic:08X} announces {ndim} dimensions, a "
            f"{header}-byte header, but the file holds {len(raw)} bytes"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[code])
    count = math.prod(shape)
    expected = header + count * dtype.itemsize
    if len(raw) != expected:
        problem = "is truncated" if len(raw) < expected else "has trailing bytes"
        raise ValueError(
            f"{source} {problem}: its header declares shape {shape} of {dtype.name}, {expected} bytes "
            f"with the header, but the file holds {len(raw)} bytes"
        )
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def read_idx(path):
    """Read an IDX file (the format of MNIST), gzip-compressed or not, into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Compression is detected from the gzip magic bytes ``1f 8b``, not from the name.

    Returns
    -------
    data : ndarray
        A writeable array in native byte order, of the shape and dtype the header declares.

    Raises
    ------
    TypeError
        If ``path`` is not a str or path.
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a valid IDX file: a wrong magic number, a truncated header or a data size that does
        not match the declared shape (too short or too long), or gzip data that does not decompress.

    Notes
    -----
    An IDX file is a big-endian header followed by the data in C order::

        magic   = 0x00 0x00 TT DD       TT: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                                            0x0D float32, 0x0E float64;  DD: number of dimensions
        d_1 ... d_DD                    one unsigned 32-bit integer per dimension
        data                            d_1 * ... * d_DD big-endian values of type TT

    MNIST's images have magic number 2051 (``0x00000803``: uint8, 3 dimensions) and its labels 2049
    (``0x00000801``: uint8, 1 dimension). The file must hold exactly ``4 + 4 DD + itemsize * prod(d)`` bytes.

    Examples
    --------
    >>> from scatter.datasets import read_idx
    >>> labels = read_idx("mnist/t10k-labels-idx1-ubyte.gz")  # doctest: +SKIP
    >>> labels.shape, labels.dtype  # doctest: +SKIP
    ((10000,), dtype('uint8'))
    """
    path = _as_path(path, "path")
    return _parse_idx(_decompress(path.read_bytes(), path), path)


def _mnist_root(data_dir):
    """The MNIST data directory: ``data_dir``, else ``$SCATTER_DATA``, else ``~/scatter_data``."""
    if data_dir is None:
        data_dir = os.environ.get("SCATTER_DATA") or Path.home() / "scatter_data"
        return Path(data_dir).expanduser()
    return _as_path(data_dir, "data_dir")


def _find_mnist_file(name, search):
    for directory in search:
        for candidate in (directory / f"{name}.gz", directory / name):
            if candidate.is_file():
                return candidate
    return None


def _fetch(url, destination, sha256):
    """Download ``url`` to ``destination`` through a temporary file that is renamed only once its SHA-256 matches.

    No partial or unverified file is ever left at ``destination`` or beside it.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}.part")
    try:
        digest = hashlib.sha256()
        with open(partial, "xb") as out, urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT) as response:
            while chunk := response.read(1 << 16):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ChecksumError(f"downloaded data has SHA-256 {digest.hexdigest()}, expected {sha256}")
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return destination


def _download_mnist_file(name, directory):
    """Fetch ``name.gz`` from the first mirror that serves it intact; ``OSError`` listing every failure if none."""
    failures = []
    for mirror in MNIST_MIRRORS:
        url = f"{mirror}{name}.gz"
        try:
            return _fetch(url, directory / f"{name}.gz", _MNIST_SHA256[name][0])
        except (OSError, http.client.HTTPException, ChecksumError) as exc:
            failures.append(f"{url}: {type(exc).__name__}: {exc}")
    raise OSError("; ".join(failures))


def _missing_mnist_message(split, missing, search, reason):
    every = ", ".join(f"{name}.gz" for names in _MNIST_FILES.values() for name in names)
    return (
        f"MNIST {split!r} files not found: {', '.join(missing)} (neither gzip-compressed .gz nor uncompressed) "
        f"in {search[0]} or {search[1]}. {reason} MNIST comes as four files: {every}; the loader reads "
        "them gzip-compressed or not. Put them in one of these directories, or pass data_dir=... or set the "
        f"SCATTER_DATA environment variable to the directory that holds them. Mirrors: {', '.join(MNIST_MIRRORS)}."
    )


def _read_mnist_file(path, name):
    """Read an MNIST file after checking its SHA-256 (compressed or uncompressed, whichever it is)."""
    data = path.read_bytes()
    compressed, uncompressed = _MNIST_SHA256[name]
    digest = hashlib.sha256(data).hexdigest()
    if digest in (compressed, uncompressed):
        return _parse_idx(_decompress(data, path), path)
    # A file gzipped again by the user (another compression level) is still intact if its content is.
    try:
        raw = _decompress(data, path)
    except ValueError:
        raw = data
    if raw is data or hashlib.sha256(raw).hexdigest() != uncompressed:
        raise ChecksumError(
            f"{path} is corrupt or not the MNIST file {name}: its SHA-256 is {digest}, expected {compressed} "
            f"(gzip-compressed) or {uncompressed} (uncompressed). Delete it to download it again, or replace "
            "it with a good copy"
        )
    return _parse_idx(raw, path)


def load_mnist(data_dir=None, *, split="train", n=None, download=True):
    """Load MNIST's handwritten digits from the original IDX files, downloading them when absent.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Directory holding the files, directly or in a sub-directory ``mnist/``. ``None`` means the
        ``SCATTER_DATA`` environment variable, or ``~/scatter_data`` when it is unset or empty.
    split : {"train", "test"}, default="train"
        ``"train"``: the 60,000 training images (``train-*``); ``"test"``: the 10,000 test images (``t10k-*``).
    n : int, optional
        Return only the first ``n`` images and labels (all of them when ``None``).
    download : bool, default=True
        Download missing files of ``split`` (gzip-compressed) into ``data_dir/mnist/`` from
        :data:`MNIST_MIRRORS`, trying each mirror in turn with a 10 s network timeout.

    Returns
    -------
    images : ndarray of shape (n, 28, 28), uint8
        Gray levels 0 (background) to 255, as stored; ``images.astype(np.float32) / 255`` gives floats in
        [0, 1]. Kept as ``uint8`` because float64 would take 8 times the memory (376 MB for the training set).
    labels : ndarray of shape (n,), int64
        The digit of each image.

    Raises
    ------
    FileNotFoundError
        If a file of ``split`` is missing and could not be downloaded (or ``download=False``). The message
        names the four expected files, the directories searched and why each download failed.
    ChecksumError
        A ``ValueError``: if a file found on disk does not have the published SHA-256 (checked on every load).
    ValueError
        If ``split`` or ``n`` is invalid.
    TypeError
        If ``data_dir`` is not a path or ``n`` not an integer.

    Notes
    -----
    Each of the four files is looked up as ``NAME.gz`` then ``NAME`` in ``data_dir`` then in
    ``data_dir/mnist``. A file counts as intact when its SHA-256 is the published one of the compressed or
    the uncompressed file, or when it is gzip data whose content has the published uncompressed SHA-256. A
    download goes to a temporary file beside its destination, and is renamed into place only once its
    SHA-256 matches, so an interrupted or corrupted download never leaves a file that a later call would read.

    Examples
    --------
    >>> from scatter.datasets import load_mnist
    >>> images, labels = load_mnist("~/data", split="test", n=100)  # doctest: +SKIP
    >>> images.shape, images.dtype, labels.dtype  # doctest: +SKIP
    ((100, 28, 28), dtype('uint8'), dtype('int64'))
    """
    split = check_choice(split, "split", _MNIST_FILES)
    if n is not None:
        size = _MNIST_SIZES[split]
        allowed = f"None or an integer in [1, {size}] for {split=}"
        n = check_int(n, "n", min_value=1, max_value=size, allowed=allowed)
    root = _mnist_root(data_dir)
    search = (root, root / "mnist")
    names = _MNIST_FILES[split]
    paths = {name: _find_mnist_file(name, search) for name in names}
    missing = [name for name, path in paths.items() if path is None]
    if missing and not download:
        raise FileNotFoundError(
            _missing_mnist_message(split, missing, search, "Nothing was downloaded (download=False).")
        )
    for name in missing:
        try:
            paths[name] = _download_mnist_file(name, search[1])
        except OSError as exc:
            reason = f"Downloading {name}.gz into {search[1]} failed: {exc}."
            raise FileNotFoundError(_missing_mnist_message(split, missing, search, reason)) from exc
    images = _read_mnist_file(paths[names[0]], names[0])
    labels = _read_mnist_file(paths[names[1]], names[1])
    if n is not None:
        images, labels = images[:n].copy(), labels[:n]
    return images, labels.astype(np.int64)


# ---------------------------------------------------------------------------------------------------------
# Texture patches

#: Classes of :func:`load_textures`, in label order: scikit-image's bundled 512x512 gray texture images.
TEXTURE_NAMES = ("brick", "grass", "gravel")
#: Extra border (pixels) around the rotated square, so that the spline's boundary handling stays outside it.
_ROTATION_MARGIN = 4


def _rotation_crop_size(patch_size):
    """Side of the crop from which a rotated ``patch_size`` patch is cut: covers it at every angle, plus margin."""
    size = math.ceil(patch_size * math.sqrt(2)) + 2 * _ROTATION_MARGIN
    return size + (size - patch_size) % 2  # an even border keeps the centre crop centred on the rotation centre


def _check_angle_range(rotate_test):
    """Normalise ``rotate_test`` to ``None`` (no rotation) or a ``(low, high)`` pair of degrees."""
    if isinstance(rotate_test, (bool, np.bool_)):
        return (0.0, 360.0) if rotate_test else None
    message = f"rotate_test must be a bool or a (low, high) pair of angles in degrees; got {rotate_test!r}"
    if not isinstance(rotate_test, (tuple, list)) or len(rotate_test) != 2:
        raise TypeError(message)
    if not all(isinstance(a, numbers.Real) and not isinstance(a, (bool, np.bool_)) for a in rotate_test):
        raise TypeError(message)
    low, high = (float(a) for a in rotate_test)
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise ValueError(
            f"rotate_test must be a (low, high) pair of finite angles with low <= high; got {rotate_test!r}"
        )
    return low, high


def load_textures(
    patch_size=32,
    *,
    n_train_per_class=100,
    n_test_per_class=100,
    rotate_test=False,
    random_state=None,
    return_angles=False,
):
    r"""Cut square patches from scikit-image's brick, grass and gravel textures, train and test apart.

    Training patches come from the top half of each 512x512 image, test patches from the bottom half, so that
    no pixel is shared between the two sets. The test patches can be rotated, to measure rotation invariance.

    Parameters
    ----------
    patch_size : int, default=32
        Side of the patches in pixels, in [1, 174].
    n_train_per_class, n_test_per_class : int, default=100
        Number of patches of each texture in the training and test sets (>= 1). Patches are placed at
        independent uniform positions, so they may overlap within a set.
    rotate_test : bool or (float, float), default=False
        ``False``: no rotation. ``True``: rotate each test patch by an angle drawn uniformly in [0, 360)
        degrees. ``(low, high)``: an angle drawn uniformly in [low, high] degrees (``(90, 90)`` rotates every
        patch by exactly 90 degrees). Angles are counter-clockwise as the image is displayed (row 0 at the top).
    random_state : None, int or numpy.random.RandomState, default=None
        Seed of the patch positions and angles, through :func:`sklearn.utils.check_random_state`.
    return_angles : bool, default=False
        Also return the angle of each test patch (zeros when ``rotate_test`` is ``False``).

    Returns
    -------
    X_train : ndarray of shape (3 * n_train_per_class, patch_size, patch_size), float64
        Gray levels scaled to [0, 1], grouped by class in the order of :data:`TEXTURE_NAMES`.
    X_test : ndarray of shape (3 * n_test_per_class, patch_size, patch_size), float64
        The same, from the bottom halves; rotated patches are cubic-spline interpolated and may overshoot
        [0, 1] slightly.
    y_train, y_test : ndarray of int64
        Labels: 0 brick, 1 grass, 2 gravel.
    angles : ndarray of shape (3 * n_test_per_class,), float64
        Only with ``return_angles=True``: the rotation of each test patch in degrees.

    Raises
    ------
    ImportError
        If scikit-image is not installed (``pip install 'scatter[textures]'``).
    TypeError
        If an integer parameter is not an integer, or ``rotate_test`` is neither a bool nor a pair of numbers.
    ValueError
        If a parameter is out of range or ``random_state`` cannot seed a ``RandomState``.

    Notes
    -----
    A test patch is the centre of a square crop of side

    .. math:: L = \lceil \sqrt{2}\, p \rceil + 8 \quad (+1 \text{ if } L - p \text{ is odd}),

    which covers the patch at every rotation angle with a 4-pixel margin, so that the rotated patch
    (:func:`scipy.ndimage.rotate`, cubic spline, mirror boundary) has no border artefact. The crop lies inside
    the bottom half whether or not ``rotate_test`` is set, and the angles are drawn after the positions, so
    the same ``random_state`` gives the same test positions with and without rotation. Hence ``p <= 174``
    (``L <= 256``).

    Examples
    --------
    >>> from scatter.datasets import load_textures
    >>> X_train, X_test, y_train, y_test = load_textures(16, n_train_per_class=5, n_test_per_class=2,
    ...                                                  rotate_test=True, random_state=0)
    >>> X_train.shape, X_test.shape, y_test.tolist()
    ((15, 16, 16), (6, 16, 16), [0, 0, 1, 1, 2, 2])
    """
    skimage_data = _import_optional("skimage.data", extra="textures", package="scikit-image")
    images = [getattr(skimage_data, name)() for name in TEXTURE_NAMES]
    height, width = images[0].shape
    half = height // 2
    max_patch = max(p for p in range(1, half + 1) if _rotation_crop_size(p) <= half)
    patch_size = check_int(
        patch_size, "patch_size", min_value=1, max_value=max_patch,
        allowed=f"an integer in [1, {max_patch}] (test patches and their rotation margin must fit in the "
        f"bottom {half} rows)",
    )
    n_train = check_int(n_train_per_class, "n_train_per_class", min_value=1)
    n_test = check_int(n_test_per_class, "n_test_per_class", min_value=1)
    angle_range = _check_angle_range(rotate_test)
    rng = _check_random_state(random_state)

    crop = _rotation_crop_size(patch_size)
    offset = (crop - patch_size) // 2
    train, test_crops = [], []
    for image in images:
        image = image.astype(np.float64) / 255.0
        rows = rng.randint(0, half - patch_size + 1, size=n_train)
        cols = rng.randint(0, width - patch_size + 1, size=n_train)
        train += [image[r:r + patch_size, c:c + patch_size] for r, c in zip(rows, cols)]
        rows = rng.randint(half, height - crop + 1, size=n_test)
        cols = rng.randint(0, width - crop + 1, size=n_test)
        test_crops += [image[r:r + crop, c:c + crop] for r, c in zip(rows, cols)]
    angles = np.zeros(len(test_crops))
    if angle_range is not None:
        angles = rng.uniform(*angle_range, size=len(test_crops))
        test_crops = [
            ndimage.rotate(c, a, reshape=False, order=3, mode="mirror") for c, a in zip(test_crops, angles)
        ]
    X_test = np.stack([c[offset:offset + patch_size, offset:offset + patch_size] for c in test_crops])
    labels = np.arange(len(TEXTURE_NAMES), dtype=np.int64)
    result = (np.stack(train), X_test, np.repeat(labels, n_train), np.repeat(labels, n_test))
    return result + (angles,) if return_angles else result


# ---------------------------------------------------------------------------------------------------------
# MNIST-1D


def _mnist1d_seed(random_state):
    """An int seed for mnist1d's generator: an int as given, else one drawn from ``check_random_state``."""
    rng = _check_random_state(random_state)
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(rng.randint(2**32, dtype=np.int64))


def load_mnist1d(n_samples=5000, *, random_state=42):
    """Generate MNIST-1D (Greydanus 2020), 1D signals of 40 samples made from ten digit templates.

    Runs the generator of the ``mnist1d`` package (``mnist1d.data.make_dataset`` with
    ``get_dataset_args()``) offline: nothing is downloaded and no file is written.

    Parameters
    ----------
    n_samples : int, default=5000
        Total number of signals, a positive multiple of 10 (the same number of each digit). The first 80 % of
        the shuffled signals form the training set, as in the package: 4000 / 1000 by default.
    random_state : None, int or numpy.random.RandomState, default=42
        An int is the generator's seed itself, so the default 42 is the package's default data set; ``None``
        or a ``RandomState`` draws a seed from it (:func:`sklearn.utils.check_random_state`).

    Returns
    -------
    X_train : ndarray of shape (0.8 * n_samples, 40), float64
    X_test : ndarray of shape (0.2 * n_samples, 40), float64
        Signals, standardised jointly over both sets to mean 0 and standard deviation 1.
    y_train, y_test : ndarray of int64
        The digit each signal was made from.

    Raises
    ------
    ImportError
        If the ``mnist1d`` package is not installed (``pip install 'scatter[mnist1d]'``).
    TypeError
        If ``n_samples`` is not an integer.
    ValueError
        If ``n_samples`` is not a positive multiple of 10, or ``random_state`` cannot seed a ``RandomState``.

    Notes
    -----
    Each signal is a template of length 12 (one per digit) padded with 36 to 60 zeros, resampled to 72
    points, scaled by a factor in [0.8, 1.2], circularly shifted by 0 to 47 samples, given correlated noise
    where it is zero and white noise everywhere, sheared (a random linear trend) and resampled to 40 points.

    ``mnist1d`` draws from NumPy's and Python's global random generators, after seeding them. This function
    saves both generators' states and restores them afterwards, so the caller's global random streams are
    unchanged; it is not safe to call concurrently with other code that uses the global generators.

    Examples
    --------
    >>> from scatter.datasets import load_mnist1d
    >>> X_train, X_test, y_train, y_test = load_mnist1d(500, random_state=0)
    >>> X_train.shape, X_test.shape, y_train.dtype
    ((400, 40), (100, 40), dtype('int64'))
    """
    n_samples = check_int(n_samples, "n_samples", min_value=10)
    if n_samples % 10:
        raise ValueError(f"n_samples must be a positive multiple of 10 (10 digit classes); got {n_samples}")
    seed = _mnist1d_seed(random_state)
    mnist1d_data = _import_optional("mnist1d.data", extra="mnist1d", package="mnist1d")
    args = mnist1d_data.get_dataset_args()
    args.num_samples = n_samples
    args.seed = seed
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        dataset = mnist1d_data.make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return (
        np.asarray(dataset["x"], dtype=np.float64),
        np.asarray(dataset["x_test"], dtype=np.float64),
        np.asarray(dataset["y"], dtype=np.int64),
        np.asarray(dataset["y_test"], dtype=np.int64),
    )


# ---------------------------------------------------------------------------------------------------------
# Spherical MNIST (Cohen, Geiger, Koehler & Welling 2018, "Spherical CNNs")

__all__ += ["SPHERICAL_MNIST_MODES", "load_spherical_mnist", "project_on_sphere", "random_rotation_matrices"]

#: Train/test rotation modes: "NR" not rotated, "R" rotated by uniformly random rotations.
SPHERICAL_MNIST_MODES = {"NR/NR": (False, False), "R/R": (True, True), "NR/R": (False, True)}

#: Half-width of the square of the image plane onto which the digit is laid (S2CNN's ``xmin = -1.5``).
_PLANE_HALF_WIDTH = 1.5
#: Images projected at a time (bounds the memory of the interpolation).
_PROJECTION_CHUNK = 1000


def random_rotation_matrices(n, random_state=0):
    r"""``n`` rotation matrices drawn independently from the uniform (Haar) distribution on SO(3).

    Parameters
    ----------
    n : int
        Number of rotations, >= 0.
    random_state : None, int or numpy.random.Generator, default 0
        Seed or generator of the draws.

    Returns
    -------
    ndarray, shape (n, 3, 3), float64

    Notes
    -----
    :math:`R = Q\, \mathrm{diag}(\mathrm{sign}\, \mathrm{diag}\, T)` from the QR decomposition :math:`G = QT`
    of a matrix of independent standard normals is Haar on O(3) (Mezzadri 2007); flipping the sign of
    the matrix when its determinant is -1 maps it to Haar on SO(3) (the determinant is odd in ``R``).

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.datasets import random_rotation_matrices
    >>> R = random_rotation_matrices(4)
    >>> bool(np.allclose(R @ R.transpose(0, 2, 1), np.eye(3)) and np.allclose(np.linalg.det(R), 1))
    True
    """
    n = check_int(n, "n", min_value=0)
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    q, t = np.linalg.qr(rng.standard_normal((n, 3, 3)))
    q = q * np.sign(np.diagonal(t, axis1=1, axis2=2))[:, None, :]
    return q * np.sign(np.linalg.det(q))[:, None, None]


def _bilinear(images, rows, cols):
    """Bilinear interpolation of ``images`` (n, H, W) at fractional pixel positions (n, P); zero outside.

    Pixel ``(i, j)`` is the value at position ``(i + 1/2, j + 1/2)``.
    """
    n, height, width = images.shape
    rows, cols = rows - 0.5, cols - 0.5
    r0, c0 = np.floor(rows).astype(np.intp), np.floor(cols).astype(np.intp)
    fr, fc = rows - r0, cols - c0
    out = np.zeros(rows.shape)
    index = np.arange(n)[:, None]
    for dr, wr in ((0, 1.0 - fr), (1, fr)):
        for dc, wc in ((0, 1.0 - fc), (1, fc)):
            r, c = r0 + dr, c0 + dc
            inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
            values = images[index, np.clip(r, 0, height - 1), np.clip(c, 0, width - 1)]
            out += np.where(inside, wr * wc * values, 0.0)
    return out


def project_on_sphere(images, bandwidth=30, rotations=None):
    r"""Images laid on the sphere by stereographic projection, sampled on the Driscoll-Healy grid.

    Parameters
    ----------
    images : array_like, shape (n, H, W)
        Images (any real dtype).
    bandwidth : int, default 30
        Bandlimit :math:`L` of the grid: ``2L`` rings :math:`\theta_j = \pi(2j + 1)/(4L)` and ``2L``
        longitudes :math:`\phi_k = 2\pi k / (2L)` (:func:`scatter.sphere.sampling.driscoll_healy_grid`).
    rotations : array_like, shape (n, 3, 3), optional
        Rotation of each spherical image; ``None`` leaves them unrotated.

    Returns
    -------
    ndarray, shape (n, 2L, 2L), float32
        Each map rescaled to [0, 1] by its minimum and maximum (constant maps become 0).

    Raises
    ------
    TypeError, ValueError
        For images that are not a real 3-D array, a bad bandwidth or rotations of the wrong shape.

    Notes
    -----
    The protocol of S2CNN's ``gendata.py``: the image occupies the square :math:`[-1.5, 1.5]^2` of the
    plane tangent to the south pole; a point :math:`\omega = (x, y, z)` of the southern hemisphere
    :math:`z \le 0` is sent to the plane by the stereographic projection from the north pole,
    :math:`(u, v) = \frac{2}{1 - z} (x, y)`, the image is read there by bilinear interpolation (row from
    :math:`u`, column from :math:`v`, zero outside the image) and the northern hemisphere is zero. With a
    rotation :math:`R` the map is :math:`f_R(\omega) = f(R^{-1}\omega)`, the active rotation of the
    unrotated map :math:`f`. Differences from S2CNN: one rotation per image (S2CNN draws one per chunk of
    500 images), standard bilinear interpolation between neighbouring pixels (S2CNN interpolates between
    pixels two apart), the projection centre exactly at the north pole (S2CNN's is :math:`10^{-3}` above it)
    and float output (S2CNN quantises to ``uint8``).

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.datasets import project_on_sphere
    >>> project_on_sphere(np.ones((2, 28, 28)), bandwidth=8).shape
    (2, 16, 16)
    """
    from .sphere.sampling import driscoll_healy_grid, grid_unit_vectors

    images = np.asarray(images)
    if images.dtype.kind not in "biuf":
        raise TypeError(f"images must be a real numeric array; got dtype {images.dtype}")
    if images.ndim != 3:
        raise ValueError(f"images must have shape (n, H, W); got {images.shape}")
    bandwidth = check_int(bandwidth, "bandwidth", min_value=1)
    n = images.shape[0]
    if rotations is not None:
        rotations = np.asarray(rotations, dtype=np.float64)
        if rotations.shape != (n, 3, 3):
            raise ValueError(f"rotations must have shape (n, 3, 3) = ({n}, 3, 3); got {rotations.shape}")
    theta, phi, _ = driscoll_healy_grid(bandwidth)
    points = grid_unit_vectors(theta, phi).reshape(3, -1)
    height, width = images.shape[1:]
    out = np.empty((n, 2 * bandwidth, 2 * bandwidth), np.float32)
    for start in range(0, n, _PROJECTION_CHUNK):
        chunk = images[start : start + _PROJECTION_CHUNK].astype(np.float64)
        m = len(chunk)
        if rotations is None:
            x, y, z = np.broadcast_to(points[:, None, :], (3, m, points.shape[1]))
        else:
            # f_R(w) = f(R^T w): the points where the unrotated map is read.
            x, y, z = np.einsum("nji,jp->inp", rotations[start : start + m], points)
        south = z <= 0.0
        scale = 2.0 / np.maximum(1.0 - z, 1.0)
        rows = (x * scale + _PLANE_HALF_WIDTH) / (2 * _PLANE_HALF_WIDTH) * height
        cols = (y * scale + _PLANE_HALF_WIDTH) / (2 * _PLANE_HALF_WIDTH) * width
        values = np.where(south, _bilinear(chunk, rows, cols), 0.0)
        low, high = values.min(axis=1, keepdims=True), values.max(axis=1, keepdims=True)
        span = np.where(high > low, high - low, 1.0)
        out[start : start + m] = ((values - low) / span).reshape(m, 2 * bandwidth, 2 * bandwidth)
    return out


def load_spherical_mnist(n_train=None, n_test=None, mode="NR/NR", data_dir=None, random_state=0, bandwidth=30):
    """Spherical MNIST (S2CNN protocol): digits projected on the sphere, rotated or not.

    Parameters
    ----------
    n_train, n_test : int, optional
        The first ``n_train`` MNIST training and ``n_test`` test digits (all of them for ``None``).
    mode : {"NR/NR", "R/R", "NR/R"}, default "NR/NR"
        Rotation of the train/test sets: ``NR`` unrotated, ``R`` a uniformly random rotation per digit.
    data_dir : str or os.PathLike, optional
        MNIST directory, as for :func:`load_mnist` (``None``: ``$SCATTER_DATA``).
    random_state : int, default 0
        Seed of the rotations. The training rotations come from the stream ``(random_state, 0)`` and the
        test rotations from ``(random_state, 1)``: the rotated test set is the same in ``"R/R"`` and
        ``"NR/R"``.
    bandwidth : int, default 30
        Bandlimit of the Driscoll-Healy grid (``2 * bandwidth`` rings and longitudes).

    Returns
    -------
    X_train, X_test : ndarray, shape (n, 2 bandwidth, 2 bandwidth), float32
        Maps on the ``"dh"`` grid of :mod:`scatter.sphere.sampling`, each in [0, 1] (see
        :func:`project_on_sphere`).
    y_train, y_test : ndarray, shape (n,), int64
        Digits.

    Raises
    ------
    FileNotFoundError
        If MNIST is absent and cannot be downloaded (see :func:`load_mnist`).
    ValueError, TypeError
        For invalid parameters.

    Examples
    --------
    >>> from scatter.datasets import load_spherical_mnist
    >>> X_train, X_test, y_train, y_test = load_spherical_mnist(100, 50, mode="NR/R")  # doctest: +SKIP
    >>> X_train.shape, X_test.shape  # doctest: +SKIP
    ((100, 60, 60), (50, 60, 60))
    """
    mode = check_choice(mode, "mode", SPHERICAL_MNIST_MODES)
    random_state = check_int(random_state, "random_state", min_value=0)
    bandwidth = check_int(bandwidth, "bandwidth", min_value=1)
    out = []
    for split, n, rotate, stream in zip(("train", "test"), (n_train, n_test), SPHERICAL_MNIST_MODES[mode], (0, 1)):
        images, labels = load_mnist(data_dir, split=split, n=n)
        rotations = None
        if rotate:
            rotations = random_rotation_matrices(len(images), np.random.default_rng([random_state, stream]))
        out.append((project_on_sphere(images, bandwidth, rotations), labels))
    (X_train, y_train), (X_test, y_test) = out
    return X_train, X_test, y_train, y_test
