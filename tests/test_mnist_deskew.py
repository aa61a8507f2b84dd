"""Deskewing, the MNIST pipeline's preprocessing (``pipelines.mnist.deskew``).

Oracles: moments computed here with ``np.average``, scipy's ``ndimage.affine_transform`` applied image by image
(the pipeline's function is vectorised with ``map_coordinates``), and synthetic sheared strokes whose shear is
known.
"""

import numpy as np
import pytest
from scipy import ndimage

from pipelines.mnist import deskew, virtual_examples


def _moments(image):
    """Centre of mass, row variance and row-column covariance of ``image``'s intensities."""
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
    cy, cx = np.average(yy, weights=image), np.average(xx, weights=image)
    var_y = np.average((yy - cy) ** 2, weights=image)
    cov_xy = np.average((yy - cy) * (xx - cx), weights=image)
    return cy, cx, var_y, cov_xy


def _stroke(shape, slope, centre, width=1.2):
    """A straight stroke ``x - cx = slope (y - cy)`` with a Gaussian profile, on rows 6..H-7."""
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(float)
    cy, cx = centre
    image = np.exp(-(((xx - cx) - slope * (yy - cy)) ** 2) / (2 * width**2))
    image[:6] = 0
    image[-6:] = 0
    return image


def test_deskew_matches_affine_transform_image_by_image(rng):
    images = rng.random((5, 28, 28)) * (rng.random((5, 28, 28)) > 0.7)
    expected = np.empty_like(images)
    centre = np.array([13.5, 13.5])
    for k, image in enumerate(images):
        cy, cx, var_y, cov_xy = _moments(image)
        matrix = np.array([[1.0, 0.0], [cov_xy / var_y, 1.0]])
        offset = np.array([cy, cx]) - matrix @ centre
        expected[k] = ndimage.affine_transform(image, matrix, offset=offset, order=1, mode="constant")
    np.testing.assert_allclose(deskew(images), expected, atol=1e-12)


@pytest.mark.parametrize("slope", [-0.5, -0.2, 0.3, 0.6])
def test_deskew_makes_a_slanted_stroke_upright_and_centred(slope):
    image = _stroke((28, 28), slope, centre=(12.0, 15.0))
    before = _moments(image)
    assert abs(before[3]) > 0.15 * before[2]
    cy, cx, var_y, cov_xy = _moments(deskew(image[None])[0])
    assert abs(cov_xy) < 0.03 * abs(before[3])
    assert abs(cy - 13.5) < 0.1 and abs(cx - 13.5) < 0.1
    assert var_y == pytest.approx(before[2], rel=0.05)  # a shear keeps the rows


def test_deskew_keeps_a_centred_upright_image():
    image = _stroke((28, 28), 0.0, centre=(13.5, 13.5))
    np.testing.assert_allclose(deskew(image[None])[0], image, atol=1e-12)


def test_deskew_leaves_blank_images_blank():
    images = np.zeros((3, 28, 28))
    images[1, 10:15, 12:14] = 1.0
    out = deskew(images)
    assert not out[0].any() and not out[2].any()
    assert out[1].sum() == pytest.approx(images[1].sum(), rel=0.05)


# ---------------------------------------------------------------------------------------------------------
# virtual examples (the virtual support vectors' images)


def test_virtual_examples_are_shifts_and_rotations_of_their_sources(rng):
    images = np.zeros((3, 12, 12))
    images[:, 3:9, 3:9] = rng.random((3, 6, 6))
    copies, source = virtual_examples(images, 1, (-90.0, 90.0))
    assert copies.shape == (18, 12, 12)
    np.testing.assert_array_equal(source, np.tile(np.arange(3), 6))
    shifted = [np.roll(images, offset, axis=axis) for axis in (1, 2) for offset in (1, -1)]
    np.testing.assert_array_equal(copies[:12], np.concatenate(shifted))
    # A quarter turn about the centre of a square grid is an exact permutation of the pixels.
    np.testing.assert_allclose(copies[12:15], np.rot90(images, -1, axes=(1, 2)), atol=1e-12)
    np.testing.assert_allclose(copies[15:18], np.rot90(images, 1, axes=(1, 2)), atol=1e-12)


def test_virtual_examples_keep_the_dtype():
    copies, _ = virtual_examples(np.ones((2, 8, 8), np.float32), 1, (8.0,))
    assert copies.dtype == np.float32


def test_virtual_examples_add_seeded_diffeomorphisms(rng):
    images = np.zeros((2, 16, 16))
    images[:, 4:12, 6:10] = 1.0
    copies, source = virtual_examples(images, 1, (), n_diffeos=3, displacement=1.0, cutoff=3, random_state=5)
    assert copies.shape == (4 * 2 + 3 * 2, 16, 16)
    np.testing.assert_array_equal(source, np.tile(np.arange(2), 7))
    deformed = copies[8:]
    again, _ = virtual_examples(images, 1, (), n_diffeos=3, displacement=1.0, cutoff=3, random_state=5)
    np.testing.assert_array_equal(again, copies)
    other, _ = virtual_examples(images, 1, (), n_diffeos=3, displacement=1.0, cutoff=3, random_state=6)
    assert not np.array_equal(other[8:], deformed)
    # Each deformation moves the stroke's edges (it is not the identity) but keeps roughly its ink.
    for k in range(len(deformed)):
        assert np.abs(deformed[k] - images[source[8 + k]]).max() > 0.05
        assert deformed[k].sum() == pytest.approx(images[0].sum(), rel=0.2)
