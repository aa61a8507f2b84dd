"""Spherical MNIST: the generator (``scatter.datasets``) and the pipeline (``pipelines.spherical_mnist``).

Oracles: the projection redone here as S2CNN's ``gendata.py`` describes it (a ray from a projection centre
above the north pole of a sphere resting on the image plane) with ``scipy.ndimage.map_coordinates`` for
the bilinear interpolation; exact rolls of the grid for rotations about the axis; moments of the Haar
measure; MNIST's own labels (``load_mnist``); the report read back from disk.
"""

import json

import numpy as np
import pytest
from scipy import ndimage

from pipelines import PIPELINES, get_pipeline
from scatter.cli import main
from scatter.datasets import load_mnist, load_spherical_mnist, project_on_sphere, random_rotation_matrices

from tests.test_pipelines import _mnist_dir


needs_mnist = pytest.mark.skipif(
    _mnist_dir() is None, reason="MNIST IDX files not found in $SCATTER_DATA(/mnist) nor ../shared/data/mnist"
)


# ---------------------------------------------------------------------------------------------------------
# The projection


def _dh_points(L):
    theta = np.pi * (2 * np.arange(2 * L) + 1) / (4 * L)
    phi = np.pi * np.arange(2 * L) / L
    theta, phi = np.meshgrid(theta, phi, indexing="ij")
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


def _s2cnn_projection(image, L, R=None):
    """S2CNN's construction: sphere centred at (0, 0, 1) on the plane z = 0, rays from (0, 0, 2)."""
    x, y, z = _dh_points(L)
    if R is not None:
        x, y, z = np.einsum("ji,j...->i...", R, np.stack([x, y, z]))
    z_shifted = z + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -z_shifted / (z_shifted - 2.0)
    qx, qy = t * x + x, t * y + y  # the ray from (0, 0, 2) through the point, at the plane z = 0
    height, width = image.shape
    rows = (qx + 1.5) / 3.0 * height - 0.5  # pixel i covers [i, i + 1) of the image, its value at i + 1/2
    cols = (qy + 1.5) / 3.0 * width - 0.5
    values = ndimage.map_coordinates(image.astype(float), [rows.ravel(), cols.ravel()], order=1,
                                     mode="grid-constant", cval=0.0).reshape(rows.shape)
    values = np.where(z <= 0, values, 0.0)
    return (values - values.min()) / (values.max() - values.min())


@pytest.mark.parametrize("rotate", [False, True])
def test_projection_matches_the_s2cnn_construction(rng, rotate):
    images = rng.uniform(0, 255, (3, 28, 28))
    R = random_rotation_matrices(3, rng) if rotate else None
    got = project_on_sphere(images, bandwidth=12, rotations=R)
    for i in range(3):
        expected = _s2cnn_projection(images[i], 12, None if R is None else R[i])
        np.testing.assert_allclose(got[i], expected, rtol=0, atol=1e-6)


def test_rotation_about_the_axis_by_a_grid_step_rolls_the_longitudes(rng):
    L, k = 10, 3
    alpha = 2 * np.pi * k / (2 * L)
    Rz = np.array([[np.cos(alpha), -np.sin(alpha), 0], [np.sin(alpha), np.cos(alpha), 0], [0, 0, 1]])
    images = rng.uniform(0, 1, (2, 28, 28))
    plain = project_on_sphere(images, L)
    rotated = project_on_sphere(images, L, rotations=np.stack([Rz, Rz]))
    np.testing.assert_allclose(rotated, np.roll(plain, k, axis=-1), atol=1e-6)


def test_a_pixel_lands_where_inverse_stereographic_projection_sends_it():
    L = 30
    image = np.zeros((1, 28, 28))
    image[0, 20, 9] = 1.0
    out = project_on_sphere(image, L)[0]
    # Pixel centre (20.5, 9.5) -> plane point (u, v); the unit sphere point whose projection from the north
    # pole to the plane z = -1 is (u, v): p = N + s (q - N) with |p| = 1, q = (u, v, -1), N = (0, 0, 1).
    u, v = 20.5 / 28 * 3 - 1.5, 9.5 / 28 * 3 - 1.5
    s = 4.0 / (u * u + v * v + 4.0)
    p = np.array([s * u, s * v, 1.0 - 2.0 * s])
    j, k = np.unravel_index(np.argmax(out), out.shape)
    nearest = np.argmax(np.tensordot(p, _dh_points(L), axes=1))
    assert (j, k) == np.unravel_index(nearest, out.shape)
    assert out.max() == 1.0 and out.min() == 0.0


def test_northern_hemisphere_is_empty(rng):
    out = project_on_sphere(rng.uniform(0, 1, (2, 28, 28)), 8)
    assert np.all(out[:, :8] == 0.0) and out[:, 8:].max() == 1.0
    assert out.dtype == np.float32


def test_haar_rotations():
    R = random_rotation_matrices(4000, 0)
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
    # Haar measure: E[R] = 0 and E[R_ij^2] = 1/3; the rotation axis of R e_z is uniform, E[z] = 0, E[z^2] = 1/3.
    np.testing.assert_allclose(R.mean(axis=0), 0.0, atol=0.04)
    np.testing.assert_allclose((R**2).mean(axis=0), 1 / 3, atol=0.03)
    np.testing.assert_array_equal(random_rotation_matrices(5, 7), random_rotation_matrices(5, 7))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(images=np.zeros((28, 28))), ValueError, r"images must have shape \(n, H, W\)"),
        (dict(images=np.zeros((1, 28, 28)), bandwidth=0), ValueError, "bandwidth must be"),
        (dict(images=np.zeros((2, 28, 28)), rotations=np.eye(3)), ValueError, "rotations must have shape"),
        (dict(images=np.array([[["a"]]])), TypeError, "images must be a real numeric array"),
    ],
)
def test_bad_projection_input_raises(kwargs, error, match):
    with pytest.raises(error, match=match):
        project_on_sphere(**kwargs)


# ---------------------------------------------------------------------------------------------------------
# The loader


@needs_mnist
def test_loader_modes_share_their_sets():
    data_dir = _mnist_dir()
    nr = load_spherical_mnist(20, 10, "NR/NR", data_dir=data_dir, bandwidth=8)
    rr = load_spherical_mnist(20, 10, "R/R", data_dir=data_dir, bandwidth=8)
    nr_r = load_spherical_mnist(20, 10, "NR/R", data_dir=data_dir, bandwidth=8)
    assert nr[0].shape == (20, 16, 16) and nr[1].shape == (10, 16, 16) and nr[0].dtype == np.float32
    np.testing.assert_array_equal(nr[2], load_mnist(data_dir, split="train", n=20)[1])
    np.testing.assert_array_equal(nr[3], load_mnist(data_dir, split="test", n=10)[1])
    np.testing.assert_array_equal(nr_r[0], nr[0])  # NR train
    np.testing.assert_array_equal(nr_r[1], rr[1])  # the same rotated test set
    assert not np.allclose(rr[0], nr[0]) and not np.allclose(rr[1], nr[1])
    other_seed = load_spherical_mnist(20, 10, "R/R", data_dir=data_dir, random_state=1, bandwidth=8)
    assert not np.allclose(other_seed[1], rr[1])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [(dict(mode="R/NR"), ValueError, "mode must be one of"), (dict(random_state=-1), ValueError, "random_state")],
)
def test_bad_loader_parameters_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_spherical_mnist(5, 5, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# The pipeline


def test_pipeline_is_registered():
    assert PIPELINES["spherical-mnist"] == "spherical_mnist"
    assert get_pipeline("spherical-mnist").__module__ == "pipelines.spherical_mnist"


@needs_mnist
def test_small_run_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "spherical-mnist", "--n-train", "200", "--n-test", "60", "--data-dir", str(_mnist_dir()),
                 "--out", str(out), "-q"])
    assert code == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["pipeline"] == "spherical-mnist"
    assert set(report["accuracy"]) == {"NR/NR", "R/R", "NR/R"}
    assert report["n_train"] == 200 and report["n_test"] == 60 and report["seconds"] > 0
    for mode, accuracy in report["accuracy"].items():
        # Ten classes: chance is 10%; 200 training digits already give far more.
        assert 0.4 < accuracy <= 1.0
        assert report["error"][mode] == pytest.approx(1 - accuracy, abs=1e-12)
    assert isinstance(report["params"], dict) and report["params"]
    markdown = (out / "report.md").read_text(encoding="utf-8")
    for mode in ("NR/NR", "R/R", "NR/R"):
        assert mode in markdown
    assert report["figures"]
    for name in report["figures"]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "spherical-mnist" in capsys.readouterr().out


def _blob_images(rng, n):
    """Digit-sized test images: four Gaussian blobs of different weights in the central 16x16 pixels."""
    rows, cols = np.mgrid[:28, :28]
    images = np.zeros((n, 28, 28))
    for image in images:
        for weight, (r, c) in zip((1.0, 0.8, 0.6, 0.4), rng.uniform(6, 22, (4, 2))):
            image += weight * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 1.5**2))
    return 255 * images / images.max(axis=(1, 2), keepdims=True)


def test_aligned_patches_are_rotation_invariant(rng):
    from pipelines.spherical_mnist import PARAMS, aligned_patches, patch_features

    images = _blob_images(rng, 4)
    plain = aligned_patches(project_on_sphere(images, PARAMS["bandwidth"]))
    rotated = aligned_patches(project_on_sphere(images, PARAMS["bandwidth"], random_rotation_matrices(4, rng)))
    norm = np.linalg.norm(plain, axis=(1, 2))
    # Equal up to the sampling of the rotated digit on the grid (a few % for MNIST digits) ...
    assert np.all(np.linalg.norm(rotated - plain, axis=(1, 2)) < 0.1 * norm)
    # ... and far apart for different images.
    assert np.all(np.linalg.norm(np.roll(plain, 1, axis=0) - plain, axis=(1, 2)) > 0.3 * norm)
    features, features_rotated = patch_features(plain), patch_features(rotated)
    assert features.shape == (4, 217 * 16)
    assert np.all(np.linalg.norm(features_rotated - features, axis=1) < 0.1 * np.linalg.norm(features, axis=1))


def test_aligned_patches_separate_mirror_images(rng):
    from pipelines.spherical_mnist import aligned_patches

    images = _blob_images(rng, 3)
    plain = aligned_patches(project_on_sphere(images, 30))
    mirrored = aligned_patches(project_on_sphere(images[:, :, ::-1], 30))
    assert np.all(np.linalg.norm(mirrored - plain, axis=(1, 2)) > 0.3 * np.linalg.norm(plain, axis=(1, 2)))
