"""Stability metrics and reference feature maps of ``scatter.stability``.

Oracles: closed forms (features built so that every distance is known; identity and affine maps, for which
R_f = 1; circular shifts of a global sum, which do not move it), hand-written loops for Petrini et al.'s
per-feature medians, ``scipy.signal.correlate2d`` and reshaped block maxima for the CNN layers, PyWavelets'
own coefficient array, and Parseval for an orthogonal DWT.
"""

import numpy as np
import pytest
import pywt
from scipy import signal

from scatter import distortions as dist
from scatter import sklearn as scatter_sklearn
from scatter.stability import (
    RandomConvNet,
    WaveletCoefficients,
    _partners,
    as_feature_map,
    invariance_curve,
    lipschitz_ratio,
    relative_stability,
    stability_from_features,
)


def _blobs(rng, n, side):
    """Smooth random images: a few Gaussian bumps each, zero towards the border (MNIST-like support)."""
    u = np.arange(side)
    images = np.zeros((n, side, side))
    for b in range(n):
        for _ in range(3):
            r, c = rng.uniform(side * 0.3, side * 0.7, 2)
            width = rng.uniform(1.0, 2.5)
            images[b] += np.exp(-((u[:, None] - r) ** 2 + (u[None, :] - c) ** 2) / (2 * width**2))
    return images


@pytest.fixture
def probes(rng):
    x = _blobs(rng, 40, 16)
    T = dist.temperature_for_displacement(0.6, 16, 3)
    deformed, coefficients = dist.random_diffeo(x, T, 3, random_state=1, return_field=True)
    noisy = dist.matched_noise(x, deformed, random_state=2)
    return x, deformed, noisy, coefficients


# ---------------------------------------------------------------------------------------------------------
# D_f, G_f, R_f


def test_closed_form_ratios():
    # Rows of fx are orthonormal vectors scaled by 3: every ||f(x) - f(z)||^2 = 18 whatever the pairing.
    P, F = 6, 10
    fx = 3 * np.eye(F)[:P]
    fd = fx + 0.5 * np.eye(F)[P]  # ||f(tau x) - f(x)||^2 = 0.25
    fn = fx + 2.0 * np.eye(F)[P + 1]  # ||f(x + eta) - f(x)||^2 = 4
    for average in ("median", "mean"):
        r = stability_from_features(fx, fd, fn, average=average)
        assert r["D"] == pytest.approx(0.25 / 18)
        assert r["G"] == pytest.approx(4 / 18)
        assert r["R"] == pytest.approx(0.25 / 4)
    np.testing.assert_allclose(r["reference"], 18.0)


def test_feature_median_follows_the_paper_code(rng):
    fx, fd, fn = rng.normal(size=(3, 9, 5))
    r = stability_from_features(fx, fd, fn, average="feature_median", random_state=3)
    num_d = sum(sorted((fd[i, k] - fx[i, k]) ** 2 for i in range(9))[4] for k in range(5))
    num_g = sum(sorted((fn[i, k] - fx[i, k]) ** 2 for i in range(9))[4] for k in range(5))
    partner = _partners(9, 3)
    den = sorted(sum((fx[partner[i], k] - fx[i, k]) ** 2 for k in range(5)) for i in range(9))[4]
    assert r["D"] == pytest.approx(num_d / den)
    assert r["G"] == pytest.approx(num_g / den)
    assert r["R"] == pytest.approx(num_d / num_g)


@pytest.mark.parametrize("n", [2, 3, 10, 101])
def test_partners_are_a_derangement(n):
    partner = _partners(n, 0)
    assert sorted(partner) == list(range(n))
    assert np.all(partner != np.arange(n))


@pytest.mark.parametrize("average", ["median", "mean"])
def test_identity_and_affine_maps_have_R_equal_to_one(probes, average):
    x, deformed, noisy, _ = probes
    for f in (lambda b: b, lambda b: 3.0 * b.reshape(len(b), -1) + 1.0):
        r = relative_stability(f, x, deformed, noisy, average=average)
        assert r["R"] == pytest.approx(1.0, rel=1e-9)
        assert 0 < r["D"] < 1


def test_global_average_is_far_more_stable_than_pixels(probes):
    x, deformed, noisy, _ = probes
    pixels = relative_stability(lambda b: b, x, deformed, noisy)
    scattering = relative_stability(scatter_sklearn.Scattering2D(J=2, L=4, spatial="global"), x, deformed, noisy)
    assert pixels["R"] == pytest.approx(1.0)
    assert scattering["R"] < 0.5


def test_transformers_fitted_or_not(probes):
    x, deformed, noisy, _ = probes
    unfitted = scatter_sklearn.Scattering2D(J=2, L=4)
    fitted = scatter_sklearn.Scattering2D(J=2, L=4).fit(x.reshape(len(x), -1))
    a = relative_stability(unfitted, x, deformed, noisy)
    b = relative_stability(fitted, x, deformed, noisy)
    assert a["R"] == pytest.approx(b["R"], rel=1e-12)
    assert hasattr(unfitted, "n_output_features_")


def test_pairing_is_seeded(probes):
    x, deformed, noisy, _ = probes
    f = lambda b: b  # noqa: E731
    a = relative_stability(f, x, deformed, noisy, random_state=4)
    b = relative_stability(f, x, deformed, noisy, random_state=4)
    np.testing.assert_array_equal(a["reference"], b["reference"])


# ---------------------------------------------------------------------------------------------------------
# Lipschitz ratio and invariance curves


def test_lipschitz_ratio_closed_form(rng):
    x = rng.random((4, 5, 5))
    moved = x + 0.1
    g = np.array([0.5, 1.0, 2.0, 4.0])
    expected = 0.1 * 5 / (np.linalg.norm(x.reshape(4, -1), axis=1) * g)
    np.testing.assert_allclose(lipschitz_ratio(lambda b: b, x, moved, g), expected)


def test_lipschitz_ratio_of_scattering_stays_bounded_as_the_deformation_shrinks(rng):
    # Mallat's bound: for a stable map the ratio does not blow up as ||grad tau|| -> 0 (here it is ~ constant).
    x = _blobs(rng, 20, 16)
    f = as_feature_map(scatter_sklearn.Scattering2D(J=2, L=4, spatial="global"), x)
    medians = []
    for delta in (0.05, 0.2, 0.8):
        T = dist.temperature_for_displacement(delta, 16, 3)
        deformed, c = dist.random_diffeo(x, T, 3, random_state=0, return_field=True)
        medians.append(np.median(lipschitz_ratio(f, x, deformed, dist.diffeo_gradient_norm(c, 16))))
    assert max(medians) / min(medians) < 3


def test_invariance_curve_of_a_shift_invariant_map(rng):
    x = rng.random((6, 8, 8))
    total = lambda b: b.sum(axis=(1, 2))[:, None]  # noqa: E731
    curve = invariance_curve(total, x, lambda b, s: dist.translate(b, (s, 0)), [1, 2, 3])
    np.testing.assert_allclose(curve, 0.0, atol=1e-12)


def test_invariance_curve_of_pixels_closed_form(rng):
    x = rng.random((6, 8, 8))
    curve = invariance_curve(lambda b: b, x, lambda b, s: np.roll(b, s, axis=2), [0, 1, 4])
    flat = x.reshape(6, -1)
    expected = [
        np.median(np.linalg.norm((np.roll(x, s, axis=2) - x).reshape(6, -1), axis=1) / np.linalg.norm(flat, axis=1))
        for s in (0, 1, 4)
    ]
    np.testing.assert_allclose(curve, expected)


# ---------------------------------------------------------------------------------------------------------
# reference feature maps


def test_random_cnn_shapes_and_determinism(rng):
    x = rng.random((5, 28, 28))
    net = RandomConvNet(random_state=1)
    y = net(x)
    assert y.shape == (5, 64, 3, 3)
    np.testing.assert_array_equal(y, RandomConvNet(random_state=1)(x))
    assert not np.allclose(y, RandomConvNet(random_state=2)(x))
    assert np.all(y >= 0)
    np.testing.assert_allclose(net(x, batch_size=2), y)
    assert RandomConvNet((4, 8))(rng.random((2, 8, 9))).shape == (2, 8, 2, 2)


def test_random_cnn_he_initialisation():
    net = RandomConvNet((64, 128), random_state=0)
    for w, fan_in in zip(net.weights, (1 * 9, 64 * 9)):
        assert w.std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.05)
        assert abs(w.mean()) < 0.05 * w.std()


def test_random_cnn_layer_against_scipy(rng):
    x = rng.normal(size=(2, 3, 10, 10))
    net = RandomConvNet((4,), in_channels=3, random_state=0)
    expected = np.empty((2, 4, 5, 5))
    for b in range(2):
        for o in range(4):
            conv = sum(signal.correlate2d(x[b, c], net.weights[0][o, c], mode="same") for c in range(3))
            relu = np.maximum(conv, 0)
            expected[b, o] = relu.reshape(5, 2, 5, 2).max(axis=(1, 3))
    np.testing.assert_allclose(net(x), expected, atol=1e-12)


def test_dwt_coefficients(rng):
    x = rng.random((3, 32, 32))
    w = WaveletCoefficients("db2")
    features = w(x)
    array, _ = pywt.coeffs_to_array(pywt.wavedec2(x[0], "db2", mode="periodization"))
    assert features.shape == (3, array.size)
    np.testing.assert_allclose(np.sort(features[0]), np.sort(array.ravel()))
    # db2 is orthogonal: with periodization the transform keeps the energy (Parseval).
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), np.linalg.norm(x.reshape(3, -1), axis=1))


# ---------------------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x: as_feature_map(42), TypeError, "callable or a scikit-learn transformer"),
        (lambda x: as_feature_map(scatter_sklearn.Scattering2D(J=1)), ValueError, "x_fit"),
        (lambda x: relative_stability(lambda b: b[:1], x, x, x), ValueError, "one row of features per sample"),
        (lambda x: relative_stability(lambda b: b, x, x[:2], x), ValueError, "deformed and noisy"),
        (lambda x: relative_stability(lambda b: b, x[:1], x[:1], x[:1]), ValueError, "at least 2 samples"),
        (lambda x: relative_stability(lambda b: b, x, x, x, average="mode"), ValueError, "average"),
        (lambda x: lipschitz_ratio(lambda b: b, x, x, np.zeros(3)), ValueError, "gradient_norm"),
        (lambda x: invariance_curve(lambda b: b, x, "shift", [1]), TypeError, "transform"),
        (lambda x: invariance_curve(lambda b: b, x, lambda b, p: b[:1], [1]), ValueError, "transform returned"),
        (lambda x: RandomConvNet((16, 32, 64, 128))(x), ValueError, "at least 16 pixels"),
        (lambda x: RandomConvNet(()), TypeError, "channels"),
        (lambda x: RandomConvNet((4, 0)), ValueError, "channels"),
        (lambda x: RandomConvNet((4,), in_channels=2)(x), ValueError, r"\(B, 2, H, W\)"),
        (lambda x: WaveletCoefficients("db2", mode="nope"), ValueError, "mode"),
    ],
)
def test_invalid_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call(np.zeros((3, 8, 8)))


def test_scatter_and_kymatio_scattering_are_equally_stable(probes, kymatio_numpy):
    # The same distortions through Kymatio's NumPy 2D scattering (the oracle of the transform itself).
    x, deformed, noisy, _ = probes
    S = kymatio_numpy.Scattering2D(J=2, shape=(16, 16), L=4)
    ours = relative_stability(scatter_sklearn.Scattering2D(J=2, L=4), x, deformed, noisy)
    theirs = relative_stability(lambda b: S(np.ascontiguousarray(b)), x, deformed, noisy)
    for key in ("D", "G", "R"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-6)
