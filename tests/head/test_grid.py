"""The 2D equivariant head (``scatter.head``): layers, equivariance, training and the scikit-learn classifier.

Oracles: the layer's formula evaluated by explicit loops in NumPy, the scattering transform's ``meta()`` (which
orbit holds which path), exact symmetries of the periodic grid (cyclic shifts of the orientation axis, quarter
turns about the grid's origin) and scikit-learn's estimator checks.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="scatter.head needs the optional extra: pip install 'scatter[head]'")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from classifier_checks import FIT_ON_FEW_FEATURES  # noqa: E402

from scatter import Scattering2D  # noqa: E402
from scatter.head import CyclicConv2d, CyclicHead2D, ScatteringHeadClassifier, orientation_tensor  # noqa: E402
from scatter.head._grid import quarter_turn_orbits  # noqa: E402


def quarter_turn(x):
    """Rotate the trailing two axes of ``x`` by 90 degrees about the periodic grid's origin: y[i, j] = x[j, -i]."""
    n = x.shape[-1]
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return x[..., j, (-i) % n]


def _torch_quarter_turn(t):
    return torch.from_numpy(quarter_turn(t.numpy()))


# ---------------------------------------------------------------------------------------------------------
# orientation tensor


def test_orientation_tensor_orbits_follow_meta(rng):
    J, L = 3, 4
    S = Scattering2D(J, (16, 16), L=L, padding="periodic")
    meta = S.meta()
    coefficients = rng.random((2, S.n_channels, 2, 2))
    T = orientation_tensor(coefficients, meta, J, L)
    assert T.shape == (2, 1 + J + L * J * (J - 1) // 2, L, 2, 2)
    for r in range(L):
        np.testing.assert_array_equal(T[:, 0, r], coefficients[:, 0])
    for c in range(S.n_channels):
        order = meta["order"][c]
        j, theta = meta["j"][c, :order].astype(int), meta["theta"][c, :order].astype(int)
        if order == 1:
            np.testing.assert_array_equal(T[:, 1 + j[0], theta[0]], coefficients[:, c])
        elif order == 2:
            pair = [(a, b) for a in range(J) for b in range(a + 1, J)].index((j[0], j[1]))
            delta = (theta[1] - theta[0]) % L
            np.testing.assert_array_equal(T[:, 1 + J + pair * L + delta, theta[0]], coefficients[:, c])


@pytest.mark.parametrize("L", [4, 8])
def test_quarter_turn_shifts_the_orientation_axis_by_half_of_L(rng, L):
    J = 2
    S = Scattering2D(J, (16, 16), L=L, padding="periodic")
    x = rng.random((3, 16, 16))
    T = orientation_tensor(S(x), S.meta(), J, L)
    T_rotated = orientation_tensor(S(quarter_turn(x)), S.meta(), J, L)
    expected = np.roll(quarter_turn(T), L // 2, axis=2)
    np.testing.assert_allclose(T_rotated, expected, rtol=1e-10, atol=1e-12 * np.abs(T).max())


# ---------------------------------------------------------------------------------------------------------
# the layer


def _loops(layer, x):
    """The layer's formula by explicit loops: y_o(r, u) = b_o + sum_{c,s,v} w_{o,c}(s - r mod L, v) x_c(s, u + v)."""
    w = layer.weight.detach().numpy()
    basis = layer.basis.numpy()
    b = layer.bias.detach().numpy()
    O, C, L, _ = w.shape
    k = basis.shape[-1]
    n_batch, _, _, H, W = x.shape
    y = np.zeros((n_batch, O, L, H, W))
    for o in range(O):
        for r in range(L):
            for c in range(C):
                for s in range(L):
                    kernel = np.tensordot(w[o, c, (s - r) % L], basis, axes=1)
                    for dy in range(k):
                        for dx in range(k):
                            shifted = np.roll(x[:, c, s], (-(dy - k // 2), -(dx - k // 2)), axis=(1, 2))
                            y[:, o, r] += kernel[dy, dx] * shifted
            y[:, o, r] += b[o]
    return y


@pytest.mark.parametrize("kernel_size", [1, 3])
def test_cyclic_conv_matches_its_formula(rng, kernel_size):
    torch.manual_seed(0)
    layer = CyclicConv2d(2, 3, 4, kernel_size).double()
    with torch.no_grad():
        layer.bias.copy_(torch.randn(3))
    x = rng.standard_normal((2, 2, 4, 5, 6))
    got = layer(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, _loops(layer, x), rtol=1e-12, atol=1e-12)


def test_isotropic_kernels_are_invariant_under_quarter_turns():
    layer = CyclicConv2d(1, 1, 4, 3)
    for kernel in torch.einsum("n,nij->ij", torch.randn(3), layer.basis), layer.basis[1], layer.basis[2]:
        np.testing.assert_array_equal(np.rot90(kernel.numpy()), kernel.numpy())


@pytest.mark.parametrize("shift", [1, 3])
def test_cyclic_conv_is_equivariant_to_orientation_shifts(shift):
    torch.manual_seed(1)
    layer = CyclicConv2d(3, 2, 6).double()
    x = torch.randn(2, 3, 6, 7, 7, dtype=torch.float64)
    np.testing.assert_allclose(
        layer(torch.roll(x, shift, dims=2)).detach(), torch.roll(layer(x), shift, dims=2).detach(), atol=1e-12
    )


def test_cyclic_conv_commutes_with_quarter_turns():
    torch.manual_seed(2)
    layer = CyclicConv2d(3, 2, 4).double()
    x = torch.randn(2, 3, 4, 8, 8, dtype=torch.float64)
    np.testing.assert_allclose(
        layer(_torch_quarter_turn(x)).detach(), _torch_quarter_turn(layer(x).detach()), atol=1e-12
    )


@pytest.mark.parametrize("bad", [0, 2, 5, True])
def test_cyclic_conv_rejects_kernel_sizes(bad):
    with pytest.raises((ValueError, TypeError), match="kernel_size"):
        CyclicConv2d(1, 1, 4, bad)


def test_head_invariants_ignore_orientation_shifts_and_quarter_turns():
    torch.manual_seed(3)
    head = CyclicHead2D(5, 3, 8, hidden=(4, 6), kernel_size=3, grid=8).double().eval()
    x = torch.randn(4, 5, 8, 8, 8, dtype=torch.float64)
    reference = head.invariants(x).detach()
    assert reference.shape == (4, 6 * 18)  # 18 orbits of positions on an 8 x 8 grid
    np.testing.assert_allclose(head.invariants(torch.roll(x, 3, dims=2)).detach(), reference, atol=1e-12)
    turned = torch.roll(_torch_quarter_turn(x), 4, dims=2)
    np.testing.assert_allclose(head.invariants(turned).detach(), reference, atol=1e-12)


def test_head_dropout_acts_in_training_only():
    heads = []
    for dropout in (0.0, 0.5):
        torch.manual_seed(3)
        heads.append(CyclicHead2D(5, 3, 8, hidden=(4,), grid=8, dropout=dropout).double().eval())
    plain, dropped = heads
    x = torch.randn(6, 5, 8, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(dropped(x), plain(x), rtol=0, atol=0)
    dropped.train()
    torch.manual_seed(1)
    logits = dropped(x)
    with torch.no_grad():
        z = dropped.invariants(x)
    torch.manual_seed(1)  # the same draw of the mask
    mask = torch.nn.functional.dropout(torch.ones_like(z), 0.5, True)
    assert set(mask.unique().tolist()) == {0.0, 2.0}
    torch.testing.assert_close(logits, dropped.classifier(z * mask))


# ---------------------------------------------------------------------------------------------------------
# the classifier


@pytest.fixture(scope="module")
def digits_16():
    """scikit-learn's digits, upsampled 8x8 -> 16x16 (each pixel repeated) for J=2 on a periodic grid."""
    digits = load_digits()
    images = np.repeat(np.repeat(digits.images / 16.0, 2, axis=1), 2, axis=2)
    return images, digits.target


@pytest.fixture(scope="module")
def fitted(digits_16):
    images, labels = digits_16
    clf = ScatteringHeadClassifier(
        J=2, L=4, padding="periodic", hidden=(16,), max_epochs=15, batch_size=32, learning_rate=1e-2, random_state=0,
        n_threads=1,
    )
    return clf.fit(images[:1200], labels[:1200])


def test_classifier_learns_digits(fitted, digits_16):
    images, labels = digits_16
    assert fitted.loss_curve_[-1] < 0.2 * fitted.loss_curve_[0]
    assert fitted.score(images[1200:], labels[1200:]) > 0.9  # chance: 0.1


def test_classifier_outputs_are_invariant_to_quarter_turns(fitted, digits_16):
    images = digits_16[0][1200:1300]
    reference = fitted.decision_function(images)
    for turns in range(1, 4):
        rotated = images
        for _ in range(turns):
            rotated = quarter_turn(rotated)
        got = fitted.decision_function(rotated)
        assert np.abs(got - reference).max() <= 1e-4 * np.abs(reference).max()


def test_classifier_probabilities(fitted, digits_16):
    proba = fitted.predict_proba(digits_16[0][:50])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(axis=1)], fitted.predict(digits_16[0][:50]))


def test_classifier_passes_its_regularisation_to_the_head_and_the_training(digits_16, monkeypatch):
    """dropout builds the head's dropout; label_smoothing and decoupled_weight_decay reach the training loop."""
    from scatter.head import _grid

    images, labels = digits_16
    seen = {}

    def recording(head, features, labels, train_idx, valid_idx, p, generator, **kwargs):
        seen.update(p, dropout=head.dropout.p)
        return head.eval(), [1.0], []

    monkeypatch.setattr(_grid, "train_classifier", recording)
    clf = ScatteringHeadClassifier(J=2, L=4, padding="periodic", hidden=(4,), dropout=0.25, label_smoothing=0.1,
                                   decoupled_weight_decay=True, n_threads=1)
    clf.fit(images[:40], labels[:40])
    assert seen["dropout"] == 0.25 and seen["label_smoothing"] == 0.1 and seen["decoupled_weight_decay"] is True


def test_classifier_is_reproducible(digits_16):
    images, labels = digits_16
    params = dict(J=2, L=4, padding="periodic", hidden=(8,), max_epochs=2, kernel_size=3, random_state=7, n_threads=1)
    a = ScatteringHeadClassifier(**params).fit(images[:300], labels[:300])
    b = ScatteringHeadClassifier(**params).fit(images[:300], labels[:300])
    np.testing.assert_array_equal(a.decision_function(images[300:350]), b.decision_function(images[300:350]))


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("J", 0, ValueError),
        ("padding", "zeros", ValueError),
        ("log_eps", 0.0, ValueError),
        ("hidden", (), ValueError),
        ("hidden", "wide", ValueError),
        ("max_epochs", 0, ValueError),
        ("learning_rate", -1.0, ValueError),
        ("learning_rate_schedule", "step", ValueError),
        ("validation_fraction", 1.0, ValueError),
        ("early_stopping", "yes", TypeError),
        ("kernel_size", 2, ValueError),
        ("n_threads", 0, ValueError),
        ("batch_norm_batches", -1, ValueError),
        ("batch_norm_batches", 2.0, TypeError),
        ("dropout", 1.5, ValueError),
        ("label_smoothing", -0.1, ValueError),
        ("decoupled_weight_decay", "no", TypeError),
        ("input", "maps", ValueError),
    ],
)
def test_classifier_rejects_bad_parameters(digits_16, name, value, error):
    images, labels = digits_16
    with pytest.raises(error, match=name):
        ScatteringHeadClassifier(**{name: value}).fit(images[:40], labels[:40])


# ---------------------------------------------------------------------------------------------------------
# the classifier on precomputed coefficients

#: A small, quick problem: 2 epochs on 300 digits.
QUICK = dict(J=2, L=4, hidden=(8,), max_epochs=2, batch_size=32, random_state=3, n_threads=1)


@pytest.mark.parametrize(
    ("padding", "layout", "shape"),
    [
        ("periodic", "channels", None),
        ("periodic", "flat", None),
        ("reflect", "channels", (16, 16)),
        ("reflect", "flat", (16, 16)),
    ],
)
def test_classifier_on_coefficients_matches_the_one_on_images(digits_16, padding, layout, shape):
    """The scattering computed outside (input="coefficients"), by the core transform, gives the same classifier."""
    images, labels = digits_16[0][:400].astype(np.float32), digits_16[1][:400]
    on_images = ScatteringHeadClassifier(padding=padding, **QUICK).fit(images[:300], labels[:300])
    S = Scattering2D(2, (16, 16), L=4, padding=padding)(images)
    X = S.reshape(len(S), -1) if layout == "flat" else S
    clf = ScatteringHeadClassifier(padding=padding, shape=shape, input="coefficients", **QUICK)
    clf.fit(X[:300], labels[:300])
    assert clf.coefficients_shape_ == on_images.coefficients_shape_ == S.shape[1:]
    assert not hasattr(clf, "scattering_")
    np.testing.assert_allclose(clf.loss_curve_, on_images.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X[300:]), on_images.predict_proba(images[300:]), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(clf.predict(X[300:]), on_images.predict(images[300:]))


def test_classifier_on_float64_coefficients_reads_them_in_float32(digits_16):
    """float64 coefficients train the head as their float32 rounding does, to the last bit; and that rounding
    is within float32 accuracy of the coefficients the images path computes. (Training amplifies input
    differences of 1e-7 into output differences of 1e-4, so the two paths' outputs are not compared.)"""
    images, labels = digits_16[0][:400], digits_16[1][:400]
    core = Scattering2D(2, (16, 16), L=4, padding="periodic")
    S64 = core(images.astype(np.float64))
    S32 = S64.astype(np.float32)
    clf64 = ScatteringHeadClassifier(padding="periodic", input="coefficients", **QUICK).fit(S64[:300], labels[:300])
    clf32 = ScatteringHeadClassifier(padding="periodic", input="coefficients", **QUICK).fit(S32[:300], labels[:300])
    np.testing.assert_array_equal(clf64.predict_proba(S64[300:]), clf32.predict_proba(S32[300:]))
    on_images = core(images.astype(np.float32))
    assert np.abs(S32 - on_images).max() <= 1e-6 * np.abs(on_images).max()


def test_classifier_on_coefficients_is_invariant_to_quarter_turns(digits_16):
    images, labels = digits_16
    core = Scattering2D(2, (16, 16), L=4, padding="periodic")
    params = {**QUICK, "kernel_size": 3}
    clf = ScatteringHeadClassifier(padding="periodic", input="coefficients", **params)
    clf.fit(core(images[:300]), labels[:300])
    test = images[1200:1300]
    reference = clf.decision_function(core(test))
    for turns in range(1, 4):
        rotated = test
        for _ in range(turns):
            rotated = quarter_turn(rotated)
        got = clf.decision_function(core(rotated))
        assert np.abs(got - reference).max() <= 1e-4 * np.abs(reference).max()


#: J=2, L=4: C = 1 + 2 * 4 + 16 = 25 channels; 16 x 16 periodic images give 4 x 4 positions.
@pytest.mark.parametrize(
    ("shape", "change", "match"),
    [
        (None, lambda S: S[:, 1:], r"shape \(20, 24, 4, 4\).*25 channels.*\(n_samples, 25, H', W'\)"),
        ((16, 16), lambda S: S[:, :, :3, :3], r"X has coefficients of shape \(20, 25, 3, 3\).*\(n_samples, 25, 4, 4\)"),
        ((16, 16), lambda S: S.reshape(20, -1)[:, 1:], r"X has coefficients of shape \(20, 399\).*\(n_samples, 400\)"),
        (None, lambda S: S[:, :, :3].reshape(20, -1), r"n_features=300.*\(n_samples, 25, H', W'\)"),
        (None, lambda S: S[0], r"needs X of real .*\(n_samples, 25, H', W'\).*got 3-D X"),
        (None, lambda S: S + 0j, r"needs X of real .*\(n_samples, 25, H', W'\).*dtype complex"),
        (None, lambda S: S.astype(str), r"needs X of real .*dtype <U"),
        (None, lambda S: np.where(S > S.mean(), np.nan, S), "Input X contains NaN"),
    ],
    ids=["channels", "positions", "flat-size", "flat-not-square", "3-D", "complex", "strings", "nan"],
)
def test_classifier_rejects_bad_coefficients(shape, change, match, rng):
    S = Scattering2D(2, (16, 16), L=4, padding="periodic")(rng.random((20, 16, 16)))
    clf = ScatteringHeadClassifier(padding="periodic", shape=shape, input="coefficients", **QUICK)
    with pytest.raises(ValueError, match=match):
        clf.fit(change(S), np.arange(20) % 2)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda S: S[:, :, :2], r"X has coefficients of shape \(5, 25, 2, 4\).*fitted on \(n_samples, 25, 4, 4\)"),
        (lambda S: S.reshape(5, -1)[:, :-1], r"X has coefficients of shape \(5, 399\).*\(n_samples, 400\)"),
        (lambda S: S[:, 0], r"needs X of real .*got 3-D X"),
    ],
    ids=["channels", "flat", "3-D"],
)
def test_fitted_classifier_rejects_other_coefficients(change, match, rng):
    core = Scattering2D(2, (16, 16), L=4, padding="periodic")
    clf = ScatteringHeadClassifier(padding="periodic", input="coefficients", **QUICK)
    clf.fit(core(rng.random((20, 16, 16))), np.arange(20) % 2)
    with pytest.raises(ValueError, match=match):
        clf.predict(change(core(rng.random((5, 16, 16)))))


#: Checks that fit data whose number of features is no square image of side >= 2^J: shape inference has no
#: image to build, and says so with a ValueError (scikit-learn's checks draw 2, 3, 5 or 10 features).
NOT_IMAGES = "fits data with a number of features that is no square image of side >= 2^J"
EXPECTED_FAILED = {name: NOT_IMAGES for name in FIT_ON_FEW_FEATURES}


@parametrize_with_checks(
    [ScatteringHeadClassifier(J=1, L=4, hidden=(4,), max_epochs=2, random_state=0, n_threads=1)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED,
    xfail_strict=True,
)
def test_sklearn_classifier_checks(estimator, check):
    check(estimator)


def test_classifier_on_square_images_passes_the_checks_that_need_data(digits_16):
    """What the expected failures above cannot show, on 4x4 images: fit returns self, refits are identical,
    pickling round-trips, parameters are not changed, and predictions do not depend on the batch."""
    import pickle

    from sklearn.base import clone

    images, labels = digits_16[0][:200, ::4, ::4].reshape(200, 16), digits_16[1][:200]
    params = dict(J=1, L=4, hidden=(4,), max_epochs=2, random_state=0, n_threads=1)
    clf = ScatteringHeadClassifier(**params)
    assert clf.fit(images, labels) is clf
    assert clf.get_params() == ScatteringHeadClassifier(**params).get_params()
    again = clone(clf).fit(images, labels)
    np.testing.assert_array_equal(clf.decision_function(images), again.decision_function(images))
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(images), clf.decision_function(images))
    one_by_one = np.concatenate([clf.decision_function(images[k : k + 1]) for k in range(5)])
    np.testing.assert_allclose(one_by_one, clf.decision_function(images[:5]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expecting 16 features"):
        clf.predict(images[:, :9])


# ---------------------------------------------------------------------------------------------------------
# orbits of positions


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8])
def test_quarter_turn_orbits(n):
    orbits = quarter_turn_orbits(n)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    np.testing.assert_array_equal(orbits[j, (-i) % n], orbits)  # closed under the turn
    # Burnside: the orbits number (n^2 + 2 fix(90) + fix(180)) / 4, with fix counted by hand.
    fixed_90 = sum(1 for a in range(n) for b in range(n) if (b, (-a) % n) == (a, b))
    fixed_180 = sum(1 for a in range(n) for b in range(n) if ((-a) % n, (-b) % n) == (a, b))
    assert orbits.max() + 1 == (n * n + 2 * fixed_90 + fixed_180) // 4
