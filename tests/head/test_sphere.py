"""The spherical head (``scatter.head``): torch harmonic transforms, equivariant layers, invariance and the classifier.

Oracles: ``scipy.special.sph_harm_y`` for the Legendre table; ``scatter.sphere.forward_sht`` /
``inverse_sht`` (themselves checked against ducc0) for the transforms; exact rotations of the coefficients
by Wigner matrices (``scatter.sphere.rotate_flm``) for the equivariance; the layer formulas evaluated by
explicit loops; means and power spectra computed on the sampling grid and by ``cross_spectra``;
scikit-learn's estimator checks.
"""

import numpy as np
import pytest
from scipy import special

torch = pytest.importorskip("torch", reason="scatter.head needs the optional extra: pip install 'scatter[head]'")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from classifier_checks import FIT_ON_FEW_FEATURES  # noqa: E402

from scatter.head import (  # noqa: E402
    GaussLegendreSHT,
    PoissonBracket,
    SphericalBatchNorm,
    SphericalConv,
    SphericalHead,
    SphericalScatteringHeadClassifier,
    angular_gradient,
    degree_interpolation,
    dipoles,
    legendre_table,
    pack_coefficients,
    unpack_coefficients,
)
from scatter.sphere import (  # noqa: E402
    forward_sht,
    gauss_legendre_grid,
    inverse_sht,
    random_rotation,
    rotate_flm,
)
from scatter.sphere.scattering import cross_spectra, scattering_coefficients, scattering_paths  # noqa: E402
from scatter.sphere.wavelets import axisymmetric_filter_bank  # noqa: E402

F64 = torch.float64


def random_flm(rng, shape, L, scale=1.0):
    """Coefficients of real maps of bandlimit ``L``: complex, zero for m > l, real for m = 0."""
    flm = rng.standard_normal(shape + (L, L)) + 1j * rng.standard_normal(shape + (L, L))
    flm = np.tril(flm)
    flm[..., 0] = flm[..., 0].real
    return scale * flm


def as_tensor(flm):
    return torch.as_tensor(pack_coefficients(flm), dtype=F64)


# ---------------------------------------------------------------------------------------------------------
# Legendre table and transforms


@pytest.mark.parametrize("theta", [0.0, 0.3, 1.2, np.pi / 2, 2.9, np.pi])
def test_legendre_table_matches_scipy(theta):
    L = 9
    table = legendre_table(L, [theta])[0]
    ell, m = np.tril_indices(L)
    expected = special.sph_harm_y(ell, m, theta, 0.0).real
    np.testing.assert_allclose(table[ell, m], expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(table[np.triu_indices(L, 1)], 0.0)


def test_pack_round_trip(rng):
    flm = random_flm(rng, (2, 3), 5)
    packed = pack_coefficients(flm)
    assert packed.shape == (2, 3, 2, 5, 5)
    np.testing.assert_array_equal(unpack_coefficients(packed), flm)
    np.testing.assert_array_equal(unpack_coefficients(torch.as_tensor(packed)), flm)


@pytest.mark.parametrize("rows_per_step", [1, 3, 4096])
def test_head_inputs_packed_in_steps_are_the_coefficients(rng, rows_per_step):
    """The classifier's input array, built a few samples at a time: real and imaginary parts of the
    coefficients in float32, whatever the step."""
    from scatter.head._sphere import _packed

    flm = random_flm(rng, (7, 3), 5)
    packed = _packed(flm, rows_per_step=rows_per_step)
    assert packed.dtype == np.float32 and packed.shape == (7, 3, 2, 5, 5)
    np.testing.assert_array_equal(packed[:, :, 0], flm.real.astype(np.float32))
    np.testing.assert_array_equal(packed[:, :, 1], flm.imag.astype(np.float32))


@pytest.mark.parametrize(("L", "M"), [(1, 1), (5, 5), (6, 9), (8, 20)])
def test_synthesis_matches_inverse_sht(rng, L, M):
    flm = random_flm(rng, (3,), L)
    sht = GaussLegendreSHT(L, M, n_phi=2 * M - 1, dtype=F64)
    got = sht.synthesis(as_tensor(flm)).numpy()
    padded = np.zeros((3, M, M), complex)
    padded[:, :L, :L] = flm
    np.testing.assert_allclose(got, inverse_sht(padded, M, "gl"), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("L", "M"), [(5, 5), (6, 9), (8, 20)])
def test_analysis_matches_forward_sht(rng, L, M):
    maps = rng.standard_normal((2, M, 2 * M - 1))
    sht = GaussLegendreSHT(L, M, n_phi=2 * M - 1, dtype=F64)
    got = unpack_coefficients(sht.analysis(torch.as_tensor(maps)))
    np.testing.assert_allclose(got, forward_sht(maps, M, "gl")[:, :L, :L], rtol=0, atol=1e-12)


@pytest.mark.parametrize(("L", "M"), [(4, 4), (7, 12), (12, 30)])
def test_round_trip_on_fast_grids(rng, L, M):
    sht = GaussLegendreSHT(L, M, dtype=F64)
    assert sht.n_phi >= 2 * M - 1 and sht.grid_shape == (M, sht.n_phi)
    flm = random_flm(rng, (2, 3), L)
    back = unpack_coefficients(sht.analysis(sht.synthesis(as_tensor(flm))))
    np.testing.assert_allclose(back, flm, rtol=0, atol=1e-12)


def test_transforms_run_in_float32(rng):
    sht = GaussLegendreSHT(6, 12)
    x = torch.as_tensor(pack_coefficients(random_flm(rng, (2,), 6)), dtype=torch.float32)
    back = sht.analysis(sht.synthesis(x))
    assert back.dtype == torch.float32
    np.testing.assert_allclose(back.numpy(), x.numpy(), atol=1e-5)


# ---------------------------------------------------------------------------------------------------------
# layers


def test_spherical_conv_matches_its_formula(rng):
    torch.manual_seed(0)
    L, C, O = 5, 3, 2
    conv = SphericalConv(C, O, L).double()
    with torch.no_grad():
        conv.bias.copy_(torch.randn(O))
    x = random_flm(rng, (2, C), L)
    got = unpack_coefficients(conv(as_tensor(x)))
    W, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    expected = np.zeros((2, O, L, L), complex)
    for o in range(O):
        for c in range(C):
            for ell in range(L):
                expected[:, o, ell, : ell + 1] += W[ell, o, c] * x[:, c, ell, : ell + 1]
        expected[:, o, 0, 0] += np.sqrt(4 * np.pi) * b[o]  # the constant b_o as a map
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spherical_conv_is_exactly_equivariant(seed):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    L = 8
    conv = SphericalConv(4, 3, L).double()
    with torch.no_grad():
        conv.bias.copy_(torch.randn(3))
    x = random_flm(rng, (2, 4), L)
    R = random_rotation(rng)
    rotated_then_conv = unpack_coefficients(conv(as_tensor(rotate_flm(x, R))))
    conv_then_rotated = rotate_flm(unpack_coefficients(conv(as_tensor(x))), R)
    scale = np.abs(conv_then_rotated).max()
    assert np.abs(rotated_then_conv - conv_then_rotated).max() <= 1e-10 * scale


@pytest.mark.parametrize(("L", "K"), [(2, 2), (5, 3), (12, 4), (12, 6), (7, 7)])
def test_degree_interpolation_is_the_piecewise_linear_basis(L, K):
    basis = degree_interpolation(L, K)
    anchors = np.linspace(0, L - 1, K)
    np.testing.assert_allclose(basis.sum(axis=1), 1.0, atol=1e-14)
    assert (basis >= 0).all()
    # Hat functions interpolate exactly at the anchors, and reproduce affine functions of the degree.
    for k, a in enumerate(anchors):
        if float(a).is_integer():
            np.testing.assert_allclose(basis[int(a)], np.eye(K)[k], atol=1e-14)
    np.testing.assert_allclose(basis @ anchors, np.arange(L), atol=1e-12)
    np.testing.assert_allclose(basis @ (3.0 - 0.5 * anchors), 3.0 - 0.5 * np.arange(L), atol=1e-12)
    assert (np.count_nonzero(basis, axis=1) <= 2).all()


def test_degree_interpolation_with_every_degree_an_anchor_is_the_identity():
    np.testing.assert_array_equal(degree_interpolation(6, 6), np.eye(6))


@pytest.mark.parametrize(("L", "K", "error"), [(1, 2, ValueError), (5, 1, ValueError), (5, 6, ValueError),
                                                (5, 2.5, TypeError)])
def test_degree_interpolation_rejects_bad_parameters(L, K, error):
    with pytest.raises(error, match="anchors" if L > 1 else "L"):
        degree_interpolation(L, K)


def test_spherical_conv_with_anchors_interpolates_its_weights_linearly(rng):
    torch.manual_seed(0)
    L, C, O = 9, 3, 2
    conv = SphericalConv(C, O, L, anchors=3).double()  # anchors at degrees 0, 4, 8
    A = conv.weight.detach().numpy()
    W = conv.degree_weights().detach().numpy()
    for ell in range(L):
        k, t = divmod(ell, 4)
        expected = A[k] if t == 0 else (1 - t / 4) * A[k] + (t / 4) * A[k + 1]
        np.testing.assert_allclose(W[ell], expected, rtol=1e-13, atol=1e-14)
    x = random_flm(rng, (2, C), L)
    got = unpack_coefficients(conv(as_tensor(x)))
    expected = np.einsum("loc,bclm->bolm", W, x)
    expected[:, :, 0, 0] += np.sqrt(4 * np.pi) * conv.bias.detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_spherical_conv_with_anchors_is_exactly_equivariant(rng):
    torch.manual_seed(1)
    conv = SphericalConv(2, 3, 8, anchors=4).double()
    x = random_flm(rng, (2, 2), 8)
    R = random_rotation(rng)
    rotated_then_conv = unpack_coefficients(conv(as_tensor(rotate_flm(x, R))))
    conv_then_rotated = rotate_flm(unpack_coefficients(conv(as_tensor(x))), R)
    assert np.abs(rotated_then_conv - conv_then_rotated).max() <= 1e-10 * np.abs(conv_then_rotated).max()


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_statistics_are_those_of_the_maps(rng, training):
    L, M = 6, 6
    x = random_flm(rng, (5, 2), L) + 0.0
    x[:, :, 0, 0] += np.array([3.0, -1.0])  # non-zero means
    bn = SphericalBatchNorm(2, L, momentum=1.0).double()
    bn.train()
    y = unpack_coefficients(bn(as_tensor(x)))
    # The oracle: the maps on the GL grid, their means and variances by quadrature over the sphere.
    _, phi, w = gauss_legendre_grid(M)
    maps = inverse_sht(x, L, "gl")  # (5, 2, M, 2M-1)
    integral = np.einsum("bcjk,j->bc", maps, w) / (4 * np.pi)
    square = np.einsum("bcjk,j->bc", maps**2, w) / (4 * np.pi)
    mean, var = integral.mean(axis=0), square.mean(axis=0) - integral.mean(axis=0) ** 2
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-12)
    if not training:
        bn.eval()
        y = unpack_coefficients(bn(as_tensor(x)))
    expected = (maps - mean[:, None, None]) / np.sqrt(var[:, None, None] + bn.eps)
    np.testing.assert_allclose(inverse_sht(y, L, "gl"), expected, atol=1e-12)


def test_power_spectrum_invariants_match_cross_spectra(rng):
    torch.manual_seed(0)
    L = 6
    head = SphericalHead(3, 4, L, hidden=(5,), dtype=F64).eval()
    x = as_tensor(random_flm(rng, (2, 3), L))
    y = unpack_coefficients(head.equivariant(x))
    invariants = head.invariants(x).detach().numpy()
    np.testing.assert_allclose(invariants[:, :5], y[:, :, 0, 0].real / np.sqrt(4 * np.pi), rtol=1e-12)
    G = cross_spectra(y)  # (B, L, P, P), G_l(p, p) = sum_m |y_lm|^2 / (2l + 1)
    spectra = np.sqrt(np.einsum("blpp->bpl", G)[:, :, 1:])
    np.testing.assert_allclose(invariants[:, 5:].reshape(2, 5, L - 1), spectra, rtol=1e-10)
    assert head.n_invariants == 5 * L


# ---------------------------------------------------------------------------------------------------------
# the bar: invariance of the head to rotations of its (bandlimited) input


def invariance_error(head, x, R):
    """Relative change of the head's invariants when the input coefficients are rotated exactly by ``R``."""
    reference = head.invariants(as_tensor(x)).detach().numpy()
    rotated = head.invariants(as_tensor(rotate_flm(x, R))).detach().numpy()
    return np.abs(rotated - reference).max() / np.abs(reference).max()


def _convs(head):
    return [module for module in head.modules() if isinstance(module, SphericalConv)]


def _random_head_and_input(seed, L=12, grid_oversampling=3.0, nonlinearity="softplus"):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    head = SphericalHead(
        5, 10, L, hidden=(16, 16), grid_oversampling=grid_oversampling, nonlinearity=nonlinearity, dtype=F64
    ).eval()
    with torch.no_grad():
        for conv in _convs(head):
            conv.bias.copy_(0.3 * torch.randn(conv.out_channels))
    # Unit-variance maps (sum_lm |f_lm|^2 = 4 pi), the scale batch normalisation gives the nonlinearities.
    x = random_flm(rng, (4, 5), L, scale=np.sqrt(4 * np.pi) / L)
    return head, x, rng


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_head_is_invariant_to_rotations(seed):
    head, x, rng = _random_head_and_input(seed)
    R = random_rotation(rng)
    assert invariance_error(head, x, R) <= 1e-4
    logits = head(as_tensor(x)).detach().numpy()
    rotated = head(as_tensor(rotate_flm(x, R))).detach().numpy()
    assert np.abs(rotated - logits).max() <= 1e-4 * np.abs(logits).max()


def test_head_invariance_error_comes_from_the_grid():
    """The error is the aliasing of the nonlinearity: large on the coarsest grid, and falling with the grid."""
    errors = []
    for grid_oversampling in (1.0, 1.5, 3.0):
        head, x, rng = _random_head_and_input(0, grid_oversampling=grid_oversampling)
        errors.append(invariance_error(head, x, random_rotation(rng)))
    assert errors[0] > 1e-3
    assert errors[0] > errors[1] > errors[2]


def _multiresolution_head_and_input(seed, chiral=0):
    """A head reading scattering-like maps at bandlimit 8 and a map at 14, pooled to 8 then 4, with anchors."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    head = SphericalHead(
        3, 10, 8, hidden=(12, 12), bandlimits=(8, 4), anchors=4, map_L=14, map_hidden=(6,), chiral=chiral, dtype=F64
    ).eval()
    with torch.no_grad():
        for conv in _convs(head):
            conv.bias.copy_(0.3 * torch.randn(conv.out_channels))
    x = random_flm(rng, (4, 3), 8, scale=np.sqrt(4 * np.pi) / 8)
    maps = random_flm(rng, (4, 1), 14, scale=np.sqrt(4 * np.pi) / 14)
    return head, x, maps, rng


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multiresolution_head_is_invariant_to_rotations(seed):
    head, x, maps, rng = _multiresolution_head_and_input(seed)
    R = random_rotation(rng)
    reference = head.invariants(as_tensor(x), as_tensor(maps)).detach().numpy()
    rotated = head.invariants(as_tensor(rotate_flm(x, R)), as_tensor(rotate_flm(maps, R))).detach().numpy()
    assert np.abs(rotated - reference).max() <= 1e-4 * np.abs(reference).max()
    # The input moves the invariants: rotating one input and not the other is not a symmetry.
    unmatched = head.invariants(as_tensor(x), as_tensor(rotate_flm(maps, R))).detach().numpy()
    assert np.abs(unmatched - reference).max() > 1e-2 * np.abs(reference).max()


def test_dropout_acts_in_training_only():
    """Dropout before the classifier: in evaluation the head with dropout is the head without; in training its
    logits are the classifier's on the normalised invariants with some zeroed and the others doubled (p = 0.5)."""
    rng = np.random.default_rng(3)
    x = as_tensor(random_flm(rng, (16, 3), 8, scale=np.sqrt(4 * np.pi) / 8))
    heads = []
    for dropout in (0.0, 0.5):
        torch.manual_seed(0)
        heads.append(SphericalHead(3, 4, 8, hidden=(6,), grid_oversampling=2.0, dropout=dropout, dtype=F64).eval())
    plain, dropped = heads
    torch.testing.assert_close(dropped(x), plain(x), rtol=0, atol=0)
    dropped.train()
    torch.manual_seed(1)
    logits = dropped(x)
    with torch.no_grad():
        z = dropped.invariant_norm(dropped.invariants(x))
    torch.manual_seed(1)  # the same draw of the mask
    mask = torch.nn.functional.dropout(torch.ones_like(z), 0.5, True)
    assert set(mask.unique().tolist()) == {0.0, 2.0} and 0.3 < float((mask == 0).double().mean()) < 0.7
    torch.testing.assert_close(logits, dropped.classifier(z * mask))
    assert (logits - plain.train()(x)).abs().max() > 1e-3


def test_multiresolution_head_shapes_and_pooling():
    head, x, maps, _ = _multiresolution_head_and_input(0)
    assert [layer.L for layer in head.map_layers] == [14]
    assert [layer.L for layer in head.layers] == [8, 4]
    assert head.layers[0].conv.in_channels == 3 + 6
    assert head.equivariant(as_tensor(x), as_tensor(maps)).shape == (4, 12, 2, 4, 4)
    assert head.n_invariants == 12 * 4
    assert head(as_tensor(x), as_tensor(maps)).shape == (4, 10)
    assert sorted(head.shts) == ["14", "4", "8"]  # one transform per bandlimit
    # Spectral pooling: degrees of the map's layers at 8 and above do not reach the output.
    perturbed = maps.copy()
    pooled_out = head.equivariant(as_tensor(x), as_tensor(maps)).detach().numpy()
    perturbed[:, :, 12, 3] += 0.5
    changed = head.equivariant(as_tensor(x), as_tensor(perturbed)).detach().numpy()
    assert np.abs(changed - pooled_out).max() > 1e-6  # the nonlinearities carry it down...
    layer_in = head.map_layers[0].conv(head.map_norm(as_tensor(maps)))
    layer_in_perturbed = head.map_layers[0].conv(head.map_norm(as_tensor(perturbed)))
    difference = unpack_coefficients(layer_in_perturbed - layer_in)
    assert np.abs(difference[..., :12, :]).max() < 1e-12  # ...but the convolution keeps it at its degree
    assert np.abs(difference[..., 12, 3]).max() > 0


# ---------------------------------------------------------------------------------------------------------
# chiral invariants: triple products of dipoles


def _unit_vectors(L):
    """The points r of the Gauss-Legendre grid of bandlimit ``L``, ``(L, 2L - 1, 3)``."""
    theta, phi, _ = gauss_legendre_grid(L)
    st, ct = np.sin(theta)[:, None], np.cos(theta)[:, None]
    return np.stack(np.broadcast_arrays(st * np.cos(phi), st * np.sin(phi), ct), axis=-1)


def test_dipoles_of_the_coordinate_maps():
    """The maps x, y, z have dipoles sqrt(3 / 4 pi) * (4 pi / 3) e_i: the closed form of the integral of r r^T."""
    L = 4
    coordinates = np.moveaxis(_unit_vectors(L), -1, 0)
    v = dipoles(as_tensor(forward_sht(coordinates, L, "gl")[None])).numpy()[0]
    np.testing.assert_allclose(v, np.sqrt(4 * np.pi / 3) * np.eye(3), atol=1e-13)


def test_dipoles_follow_rotations(rng):
    """(R f)(r) = f(R^-1 r) has dipole R v: the dipoles rotate as vectors."""
    flm = random_flm(rng, (2, 3), 6)
    R = np.asarray(random_rotation(rng))
    v = dipoles(as_tensor(flm)).numpy()
    v_rotated = dipoles(as_tensor(rotate_flm(flm, R))).numpy()
    np.testing.assert_allclose(v_rotated, v @ R.T, atol=1e-12)


def test_chiral_invariants_are_triple_products_of_the_mixed_dipoles():
    head, x, maps, _ = _multiresolution_head_and_input(0, chiral=5)
    assert head.n_invariants == 12 * 4 + 5
    with torch.no_grad():
        y = head.equivariant(as_tensor(x), as_tensor(maps))
        t = head.invariants(as_tensor(x), as_tensor(maps))[:, -5:].numpy()
    # By hand: coordinates from the degree-1 coefficients, mixtures, then 3x3 determinants.
    c = unpack_coefficients(y.numpy())[:, :, 1]
    v = np.stack((-np.sqrt(2) * c[..., 1].real, np.sqrt(2) * c[..., 1].imag, c[..., 0].real), axis=-1)
    a, b, c = (np.einsum("ko,box->bkx", mixture, v) for mixture in head.chiral_weights.detach().numpy())
    expected = np.linalg.det(np.stack((a, b, c), axis=-2))  # rows a, b, c: a . (b x c)
    np.testing.assert_allclose(t, expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chiral_invariants_are_invariant_to_rotations_and_odd_under_reflections(seed):
    head, x, maps, rng = _multiresolution_head_and_input(seed, chiral=5)
    R = random_rotation(rng)

    def invariants(x, maps):
        with torch.no_grad():
            return head.invariants(as_tensor(x), as_tensor(maps)).numpy()

    reference = invariants(x, maps)
    assert np.abs(reference[:, -5:]).min() > 1e-3 * np.abs(reference[:, -5:]).max()  # not zero by symmetry
    rotated = invariants(rotate_flm(x, R), rotate_flm(maps, R))
    assert np.abs(rotated - reference).max() <= 1e-4 * np.abs(reference).max()
    # The mirror phi -> -phi conjugates the coefficients of real maps; every layer commutes with it, so the
    # means and spectra stay and the triple products change sign.
    mirrored = invariants(np.conj(x), np.conj(maps))
    scale = np.abs(reference).max()
    np.testing.assert_allclose(mirrored[:, :-5], reference[:, :-5], rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(mirrored[:, -5:], -reference[:, -5:], rtol=0, atol=1e-10 * scale)


def _mirror_pairs(rng, n_pairs, L):
    """Maps of three blobs of heights 1, 2, 3 at random points a, b, c, labelled by the sign of det[a, b, c] (the
    turn a -> b -> c seen from outside), each with its mirror image, of the other label: coefficients
    ``(2 n_pairs, 1, L, L)``."""
    r = _unit_vectors(L)
    flm, labels = [], []
    while len(flm) < 2 * n_pairs:
        points = rng.standard_normal((3, 3))
        points /= np.linalg.norm(points, axis=1, keepdims=True)
        turn = np.linalg.det(points)
        if abs(turn) < 0.3:
            continue
        blobs = sum(height * np.exp(6.0 * (r @ point - 1)) for height, point in zip((1.0, 2.0, 3.0), points))
        c = forward_sht(blobs, L, "gl")
        flm += [c, np.conj(c)]
        labels += [int(turn > 0), int(turn < 0)]
    return np.array(flm)[:, None], np.array(labels)


def test_chiral_invariants_tell_mirror_images_apart():
    """Without them, a map and its mirror image get the same outputs; with them, the head learns handedness."""
    X, y = _mirror_pairs(np.random.default_rng(0), 100, 8)
    params = {"input": "coefficients", "bandlimit": 8, "hidden": (8, 8), "max_epochs": 15, "batch_size": 16,
              "learning_rate": 1e-2, "early_stopping": False, "random_state": 0, "n_threads": 1}
    blind = SphericalScatteringHeadClassifier(**params).fit(X, y)
    proba = blind.predict_proba(X)
    np.testing.assert_allclose(proba[0::2], proba[1::2], atol=1e-5)
    assert blind.score(X, y) == 0.5
    chiral = SphericalScatteringHeadClassifier(**params, chiral=4).fit(X, y)
    assert chiral.head_.n_invariants == 8 * 8 + 4
    assert chiral.score(X, y) >= 0.9


# ---------------------------------------------------------------------------------------------------------
# Poisson brackets: pseudo-scalar maps


def evaluate_real_map(flm, points):
    """A real map of coefficients ``flm`` ``(L, L)`` at unit vectors ``points`` ``(n, 3)``, summed directly with
    scipy's spherical harmonics (independent of the transforms)."""
    theta = np.arccos(np.clip(points[:, 2], -1, 1))
    phi = np.arctan2(points[:, 1], points[:, 0])
    total = np.zeros(len(points))
    for ell in range(flm.shape[0]):
        for m in range(ell + 1):
            term = (flm[ell, m] * special.sph_harm_y(ell, m, theta, phi)).real
            total += term if m == 0 else 2 * term
    return total


def test_angular_gradient_of_the_coordinate_maps():
    """r x grad x = (0, z, -y), r x grad y = (-z, 0, x), r x grad z = (y, -x, 0): closed forms, through forward_sht."""
    L = 4
    xyz = np.moveaxis(_unit_vectors(L), -1, 0)
    got = unpack_coefficients(angular_gradient(as_tensor(forward_sht(xyz, L, "gl"))))
    x, y, z = xyz
    zero = np.zeros_like(x)
    expected = forward_sht(np.stack([(zero, z, -y), (-z, zero, x), (y, -x, zero)]), L, "gl")
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13)


def test_angular_gradient_matches_finite_differences(rng):
    """r x grad f = (D_e1 f) e2 - (D_e2 f) e1 for tangent e1, e2 with e1 x e2 = r; the directional derivatives
    by central differences along great circles, f summed directly at each point."""
    L = 6
    flm = random_flm(rng, (), L)
    components = unpack_coefficients(angular_gradient(as_tensor(flm)))
    points = rng.standard_normal((20, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    e1 = np.cross(points, rng.standard_normal(3))
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(points, e1)
    h = 1e-5

    def derivative(e):
        ahead = evaluate_real_map(flm, np.cos(h) * points + np.sin(h) * e)
        behind = evaluate_real_map(flm, np.cos(h) * points - np.sin(h) * e)
        return (ahead - behind) / (2 * h)

    expected = derivative(e1)[:, None] * e2 - derivative(e2)[:, None] * e1
    got = np.stack([evaluate_real_map(c, points) for c in components], axis=1)
    assert np.abs(got).max() > 1
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * np.abs(expected).max())
    np.testing.assert_allclose(np.sum(got * points, axis=1), 0, atol=1e-12 * np.abs(got).max())  # tangent


def _bracket_of(f, g, L, M=None):
    """{f, g} by a PoissonBracket whose convolutions pick channel 0 and channel 1, coefficients ``(..., L, L)``;
    the inputs multiplied by sqrt(l (l + 1)) per degree, which the layer's smoothing divides them by."""
    sht = GaussLegendreSHT(L, M or 2 * L, dtype=F64)
    bracket = PoissonBracket(2, 1, sht).to(F64)
    degree = np.arange(L)[:, None]
    unsmoothed = np.stack((f, g), axis=-3) * np.sqrt(degree * (degree + 1))
    with torch.no_grad():
        bracket.first.weight.zero_()
        bracket.second.weight.zero_()
        bracket.first.weight[:, 0, 0] = bracket.second.weight[:, 0, 1] = 1.0
        out = bracket(as_tensor(unsmoothed.reshape((-1, 2, L, L))))
    return unpack_coefficients(out)[:, 0].reshape(np.shape(f))


def test_brackets_of_the_coordinate_maps():
    """{x, y} = z, {y, z} = x, {z, x} = y (the Jacobian r . (grad f x grad g)), and {f, f} = 0."""
    L = 5
    x, y, z = forward_sht(np.moveaxis(_unit_vectors(L), -1, 0), L, "gl")
    for f, g, h in ((x, y, z), (y, z, x), (z, x, y)):
        np.testing.assert_allclose(_bracket_of(f, g, L), h, rtol=0, atol=1e-13)
        np.testing.assert_allclose(_bracket_of(g, f, L), -h, rtol=0, atol=1e-13)
    np.testing.assert_allclose(_bracket_of(x, x, L), 0, atol=1e-13)


def test_bracket_is_the_projection_of_its_definition(rng):
    """r . (grad f x grad g), from finite-difference gradients of the directly summed maps on the
    Gauss-Legendre grid of bandlimit 2L (on which it is bandlimited), analysed by forward_sht and cut to the
    degrees below L: the layer's output."""
    L = 5
    M = 2 * L
    f, g = random_flm(rng, (2,), L)
    points = _unit_vectors(M).reshape(-1, 3)
    e1 = np.cross(points, rng.standard_normal(3))
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(points, e1)
    h = 1e-5

    def gradient(flm):
        def derivative(e):
            ahead = evaluate_real_map(flm, np.cos(h) * points + np.sin(h) * e)
            return (ahead - evaluate_real_map(flm, np.cos(h) * points - np.sin(h) * e)) / (2 * h)

        return derivative(e1)[:, None] * e1 + derivative(e2)[:, None] * e2

    on_grid = np.sum(points * np.cross(gradient(f), gradient(g)), axis=1).reshape(M, 2 * M - 1)
    expected = forward_sht(on_grid, M, "gl")[:L, :L]
    got = _bracket_of(f, g, L)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("seed", [0, 1])
def test_brackets_follow_rotations_exactly_and_change_sign_under_reflections(seed):
    rng = np.random.default_rng(seed)
    L = 7
    f, g = random_flm(rng, (2, 3), L)
    R = random_rotation(rng)
    reference = _bracket_of(f, g, L)
    np.testing.assert_allclose(_bracket_of(rotate_flm(f, R), rotate_flm(g, R), L), rotate_flm(reference, R),
                               rtol=0, atol=1e-11 * np.abs(reference).max())
    # The mirror phi -> -phi conjugates the coefficients of real maps.
    np.testing.assert_allclose(_bracket_of(np.conj(f), np.conj(g), L), -np.conj(reference), rtol=0,
                               atol=1e-12 * np.abs(reference).max())


def test_map_brackets_need_a_second_input():
    with pytest.raises(ValueError, match="map_brackets=2 needs a second input"):
        SphericalHead(3, 10, 8, map_brackets=2)


def test_bracket_needs_a_grid_that_integrates_it_exactly():
    with pytest.raises(ValueError, match="at least 9"):
        PoissonBracket(2, 1, GaussLegendreSHT(6, 8))
    PoissonBracket(2, 1, GaussLegendreSHT(6, 9))  # 3 L / 2


def test_brackets_tell_mirror_images_apart():
    """The maps of test_chiral_invariants_tell_mirror_images_apart, which a head without brackets or chiral
    invariants cannot tell from their mirror images: with brackets (and no chiral invariants) it learns them,
    through the layers after the brackets (more slowly than the chiral invariants, which are the labels' own
    triple products), and tells new pairs apart."""
    X, y = _mirror_pairs(np.random.default_rng(0), 100, 8)
    params = {"input": "coefficients", "bandlimit": 8, "hidden": (8, 8), "max_epochs": 30, "batch_size": 16,
              "learning_rate": 1e-2, "early_stopping": False, "random_state": 0, "n_threads": 1}
    model = SphericalScatteringHeadClassifier(**params, brackets=4).fit(X, y)
    assert model.head_.layers[0].conv.in_channels == 1 + 4
    assert model.score(X, y) >= 0.9
    assert model.score(*_mirror_pairs(np.random.default_rng(1), 100, 8)) >= 0.8


@pytest.mark.parametrize("seed", [0, 1])
def test_head_with_brackets_is_invariant_to_rotations_and_not_to_reflections(seed):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    head = SphericalHead(3, 10, 8, hidden=(12, 12), bandlimits=(8, 4), anchors=4, map_L=14, map_hidden=(6,),
                         brackets=4, map_brackets=3, dtype=F64).eval()
    assert head.layers[0].conv.in_channels == 3 + (6 + 3) + 4
    assert head.map_bracket[0].sht.L == 14 and head.bracket[0].sht.L == 8
    x = random_flm(rng, (4, 3), 8, scale=np.sqrt(4 * np.pi) / 8)
    maps = random_flm(rng, (4, 1), 14, scale=np.sqrt(4 * np.pi) / 14)

    def invariants(x, maps):
        with torch.no_grad():
            return head.invariants(as_tensor(x), as_tensor(maps)).numpy()

    reference = invariants(x, maps)
    R = random_rotation(rng)
    rotated = invariants(rotate_flm(x, R), rotate_flm(maps, R))
    assert np.abs(rotated - reference).max() <= 1e-4 * np.abs(reference).max()
    mirrored = invariants(np.conj(x), np.conj(maps))
    assert np.abs(mirrored - reference).max() > 1e-3 * np.abs(reference).max()  # 10 times the rotations' bound


def test_head_in_float64_builds_its_transforms_in_float64():
    """Tables cast from float32 would stay rounded to float32: every transform is built in the head's dtype."""
    head = SphericalHead(3, 10, 8, hidden=(4, 4), bandlimits=(8, 5), map_L=14, map_hidden=(2,), dtype=F64)
    for key, sht in head.shts.items():
        reference = GaussLegendreSHT(int(key), sht.M, dtype=F64)
        for name, table in reference.named_buffers():
            assert torch.equal(getattr(sht, name), table), (key, name)


def test_head_with_anchors_has_a_free_layer_at_bandlimit_one(rng):
    head = SphericalHead(2, 3, 6, hidden=(4, 4), bandlimits=(6, 1), anchors=4, dtype=F64).eval()
    assert [layer.conv.anchors for layer in head.layers] == [4, None]
    assert head(as_tensor(random_flm(rng, (3, 2), 6))).shape == (3, 3)


def test_head_needs_its_second_input_exactly_when_built_for_it(rng):
    head, x, maps, _ = _multiresolution_head_and_input(0)
    with pytest.raises(ValueError, match="maps="):
        head(as_tensor(x))
    single = SphericalHead(3, 10, 8, hidden=(4,), dtype=F64).eval()
    with pytest.raises(ValueError, match="map_L"):
        single(as_tensor(x), as_tensor(maps))


def test_head_without_power_spectrum(rng):
    head = SphericalHead(2, 3, 5, hidden=(4, 6), power_spectrum=False, dtype=F64).eval()
    x = as_tensor(random_flm(rng, (3, 2), 5))
    assert head.invariants(x).shape == (3, 6)
    assert head(x).shape == (3, 3)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"in_channels": 0}, ValueError, "in_channels"),
        ({"L": 0}, ValueError, "L"),
        ({"hidden": ()}, ValueError, "hidden"),
        ({"grid_oversampling": 0.5}, ValueError, "grid_oversampling"),
        ({"nonlinearity": "relu"}, ValueError, "nonlinearity"),
        ({"power_spectrum": "yes"}, TypeError, "power_spectrum"),
        ({"bandlimits": (4, 5)}, ValueError, "bandlimits"),
        ({"bandlimits": (2, 3)}, ValueError, "bandlimits"),
        ({"bandlimits": (4,)}, ValueError, "bandlimits"),
        ({"bandlimits": 4}, TypeError, "bandlimits"),
        ({"anchors": 1}, ValueError, "anchors"),
        ({"map_L": 3}, ValueError, "map_L"),
        ({"map_L": 6, "map_hidden": ()}, ValueError, "map_hidden"),
        ({"map_L": 6, "map_channels": 0}, ValueError, "map_channels"),
        ({"chiral": -1}, ValueError, "chiral"),
        ({"chiral": 2.0}, TypeError, "chiral"),
        ({"bandlimits": (4, 1), "chiral": 2}, ValueError, "chiral"),
        ({"dropout": 1.0}, ValueError, "dropout"),
        ({"dropout": "0.1"}, TypeError, "dropout"),
    ],
)
def test_head_rejects_bad_parameters(kwargs, error, name):
    params = {"in_channels": 2, "n_classes": 3, "L": 4, "hidden": (3, 3), **kwargs}
    with pytest.raises(error, match=name):
        SphericalHead(**params)


def test_transform_rejects_a_grid_below_the_bandlimit():
    with pytest.raises(ValueError, match="M"):
        GaussLegendreSHT(8, 6)
    with pytest.raises(ValueError, match="n_phi"):
        GaussLegendreSHT(4, 4, n_phi=5)


# ---------------------------------------------------------------------------------------------------------
# the classifier


def _spectral_classes(rng, n, L):
    """Two classes of real maps on the GL grid of bandlimit ``L``: power on degrees 1-2, or on degrees 4-5.
    Each map has random coefficients, so the classes are told apart by rotation-invariant quantities only."""
    labels = np.arange(n) % 2
    flm = random_flm(rng, (n,), L)
    ell = np.arange(L)[:, None]
    low = ((ell >= 1) & (ell <= 2)).astype(float)
    high = ((ell >= 4) & (ell <= 5)).astype(float)
    flm *= np.where(labels[:, None, None] == 0, low, high)
    flm[:, 0, 0] = 2.0
    return inverse_sht(flm, L, "gl"), labels


@pytest.fixture(scope="module")
def spectral_data():
    return _spectral_classes(np.random.default_rng(0), 240, 8)


@pytest.fixture(scope="module")
def fitted(spectral_data):
    maps, labels = spectral_data
    clf = SphericalScatteringHeadClassifier(
        bandlimit=6, hidden=(8,), max_epochs=12, batch_size=16, learning_rate=1e-2, random_state=0, n_threads=1
    )
    return clf.fit(maps[:200], labels[:200])


def test_classifier_learns(fitted, spectral_data):
    maps, labels = spectral_data
    n_paths = len(scattering_paths(axisymmetric_filter_bank(8, 2.0), 2))
    assert fitted.L_ == 8 and fitted.shape_ == (8, 15) and fitted.n_paths_ == n_paths
    assert fitted.loss_curve_[-1] < 0.5 * fitted.loss_curve_[0]
    assert fitted.score(maps[200:], labels[200:]) >= 0.9


def test_classifier_recomputes_batch_statistics(fitted, spectral_data):
    """batch_norm_batches changes the running statistics only (without early stopping, which reads them to
    choose the epoch kept): the same weights, and statistics of the data."""
    maps, labels = spectral_data
    params = {**fitted.get_params(), "early_stopping": False, "max_epochs": 4, "batch_size": 25}  # 8 batches of 25
    reference = SphericalScatteringHeadClassifier(**params).fit(maps[:200], labels[:200]).head_.state_dict()
    recomputed = SphericalScatteringHeadClassifier(**{**params, "batch_norm_batches": 100})
    recomputed.fit(maps[:200], labels[:200])
    state = recomputed.head_.state_dict()
    for name, value in reference.items():
        if "running" not in name and "num_batches_tracked" not in name:
            torch.testing.assert_close(state[name], value, rtol=0, atol=0)
    # The input normalisation sees the fixed scattering coefficients: its running mean is now their mean
    # (the mean of a map is f_00 / sqrt(4 pi)), which the exponential average only approaches.
    features = recomputed._features(maps[:200])[0][0]
    expected = features[:, :, 0, 0, 0].double().mean(dim=0) / np.sqrt(4 * np.pi)
    torch.testing.assert_close(state["input_norm.running_mean"].double(), expected, rtol=1e-4, atol=1e-6)
    assert not torch.allclose(reference["input_norm.running_mean"].double(), expected, rtol=1e-3, atol=1e-5)


def test_classifier_probabilities(fitted, spectral_data):
    maps = spectral_data[0][:20]
    proba = fitted.predict_proba(maps)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(axis=1)], fitted.predict(maps))
    np.testing.assert_array_equal(fitted.predict(maps.reshape(20, -1)), fitted.predict(maps))


def test_classifier_on_coefficients_matches_the_one_on_maps(fitted, spectral_data):
    """Scattering computed once outside (input="coefficients") gives the same classifier."""
    maps, labels = spectral_data
    filters = axisymmetric_filter_bank(8, 2.0)
    coefficients = scattering_coefficients(maps, filters, 8, 2, sampling="gl", oversampling=2.0)
    params = {**fitted.get_params(), "input": "coefficients"}
    clf = SphericalScatteringHeadClassifier(**params).fit(coefficients[:200], labels[:200])
    np.testing.assert_allclose(clf.decision_function(coefficients[200:]), fitted.decision_function(maps[200:]),
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="paths"):
        clf.predict(coefficients[:3, :5])
    with pytest.raises(ValueError, match="bandlimit"):
        clf.predict(coefficients[:3, :, :4, :4])


def test_classifier_outputs_are_nearly_invariant_to_rotations(fitted, spectral_data):
    """Rotating the maps themselves: the scattering's moduli add their own discretisation error, which falls as
    they are taken on finer grids (scattering ``oversampling``)."""
    from sklearn.base import clone

    maps, labels = spectral_data
    flm = forward_sht(maps[200:220], 8, "gl")
    rotated = inverse_sht(rotate_flm(flm, random_rotation(np.random.default_rng(5))), 8, "gl")
    fine = clone(fitted).set_params(oversampling=8.0).fit(maps[:200], labels[:200])
    errors = []
    for clf in (fitted, fine):
        reference = clf.decision_function(maps[200:220])
        errors.append(np.abs(clf.decision_function(rotated) - reference).max() / np.abs(reference).max())
    assert errors[1] <= 1e-3 < errors[0] <= 3e-2


@pytest.fixture(scope="module")
def fitted_multiresolution(spectral_data):
    """Reads the maps at bandlimit 8 beside their scattering at 4, pooled to 2, with anchors."""
    maps, labels = spectral_data
    clf = SphericalScatteringHeadClassifier(
        bandlimit=4, hidden=(8, 8), bandlimits=(4, 2), anchors=3, map_bandlimit=8, map_hidden=(6,), max_epochs=12,
        batch_size=16, learning_rate=1e-2, random_state=0, n_threads=1,
    )
    return clf.fit(maps[:200], labels[:200])


def test_multiresolution_classifier_learns(fitted_multiresolution, spectral_data):
    maps, labels = spectral_data
    head = fitted_multiresolution.head_
    assert head.map_L == 8 and [layer.L for layer in head.map_layers] == [8]
    assert [layer.L for layer in head.layers] == [4, 2] and head.layers[0].conv.anchors == 3
    assert fitted_multiresolution.loss_curve_[-1] < 0.5 * fitted_multiresolution.loss_curve_[0]
    assert fitted_multiresolution.score(maps[200:], labels[200:]) >= 0.9


def test_multiresolution_classifier_on_coefficients_matches_the_one_on_maps(fitted_multiresolution, spectral_data):
    """The order-0 path of coefficients of bandlimit 8 is the map itself, read at map_bandlimit."""
    maps, labels = spectral_data
    coefficients = scattering_coefficients(maps, axisymmetric_filter_bank(8, 2.0), 8, 2, sampling="gl",
                                           oversampling=2.0)
    np.testing.assert_allclose(coefficients[:, 0], forward_sht(maps, 8, "gl"), atol=1e-12)
    params = {**fitted_multiresolution.get_params(), "input": "coefficients"}
    clf = SphericalScatteringHeadClassifier(**params).fit(coefficients[:200], labels[:200])
    np.testing.assert_allclose(clf.decision_function(coefficients[200:]),
                               fitted_multiresolution.decision_function(maps[200:]), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="map_bandlimit=8 need 8"):
        clf.predict(coefficients[:3, :, :6, :6])


def test_multiresolution_classifier_is_nearly_invariant_to_rotations(fitted_multiresolution, spectral_data):
    maps, _ = spectral_data
    clf = fitted_multiresolution
    flm = forward_sht(maps[200:220], 8, "gl")
    rotated = inverse_sht(rotate_flm(flm, random_rotation(np.random.default_rng(5))), 8, "gl")
    reference = clf.decision_function(maps[200:220])
    assert np.abs(clf.decision_function(rotated) - reference).max() <= 3e-2 * np.abs(reference).max()


def test_path_bandlimits_read_only_the_lower_degrees_of_each_path(spectral_data):
    """Training on the masked coefficients is training on coefficients zeroed by hand above each path's degree."""
    maps, labels = spectral_data
    coefficients = scattering_coefficients(maps[:80], axisymmetric_filter_bank(8, 2.0), 6, 2, sampling="gl",
                                           oversampling=2.0)
    keep = np.arange(coefficients.shape[1]) % 6 + 1
    zeroed = coefficients * (np.arange(6)[None, :] < keep[:, None])[None, :, :, None]
    params = dict(input="coefficients", bandlimit=6, hidden=(4,), max_epochs=2, random_state=0, n_threads=1)
    masked = SphericalScatteringHeadClassifier(path_bandlimits=keep, **params).fit(coefficients[:60], labels[:60])
    by_hand = SphericalScatteringHeadClassifier(**params).fit(zeroed[:60], labels[:60])
    np.testing.assert_array_equal(masked.decision_function(coefficients[60:]), by_hand.decision_function(zeroed[60:]))
    unmasked = SphericalScatteringHeadClassifier(**params).fit(coefficients[:60], labels[:60])
    assert not np.array_equal(unmasked.decision_function(coefficients[60:]), by_hand.decision_function(zeroed[60:]))
    with pytest.raises(ValueError, match="path_bandlimits has 3 entries"):
        SphericalScatteringHeadClassifier(path_bandlimits=[1, 2, 3], **params).fit(coefficients[:60], labels[:60])


def test_classifier_passes_its_regularisation_to_the_head_and_the_training(spectral_data, monkeypatch):
    """dropout builds the head's dropout; label_smoothing and decoupled_weight_decay reach the training loop."""
    from scatter.head import _sphere

    maps, labels = spectral_data
    seen = {}

    def recording(head, features, labels, train_idx, valid_idx, p, generator, **kwargs):
        seen.update(p, dropout=head.dropout.p)
        return head.eval(), [1.0], []

    monkeypatch.setattr(_sphere, "train_classifier", recording)
    clf = SphericalScatteringHeadClassifier(bandlimit=4, hidden=(4,), dropout=0.25, label_smoothing=0.1,
                                            decoupled_weight_decay=True, n_threads=1)
    clf.fit(maps[:40], labels[:40])
    assert seen["dropout"] == 0.25 and seen["label_smoothing"] == 0.1 and seen["decoupled_weight_decay"] is True


def test_classifier_is_reproducible(spectral_data):
    maps, labels = spectral_data
    params = dict(bandlimit=4, hidden=(4,), max_epochs=2, random_state=3, n_threads=1, sampling="gl")
    a = SphericalScatteringHeadClassifier(**params).fit(maps[:60], labels[:60])
    b = SphericalScatteringHeadClassifier(**params).fit(maps[:60], labels[:60])
    np.testing.assert_array_equal(a.decision_function(maps[60:80]), b.decision_function(maps[60:80]))


def test_classifier_on_driscoll_healy_maps(rng):
    L = 6
    flm = random_flm(rng, (30,), L)
    maps = inverse_sht(flm, L, "dh")
    clf = SphericalScatteringHeadClassifier(sampling="dh", bandlimit=4, hidden=(4,), max_epochs=1, random_state=0)
    clf.fit(maps, np.arange(30) % 3)
    assert clf.L_ == L and clf.shape_ == (2 * L, 2 * L)
    with pytest.raises(ValueError, match="maps of shape"):
        clf.predict(np.zeros((2, 10, 10)))


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("L", 1, ValueError),
        ("L", 5, ValueError),  # the maps are on the grid of bandlimit 8
        ("lam", 1.0, ValueError),
        ("max_order", 3, ValueError),
        ("sampling", "healpix", ValueError),
        ("oversampling", 0.5, ValueError),
        ("bandlimit", 0, ValueError),
        ("input", "images", ValueError),
        ("hidden", (), ValueError),
        ("hidden", "wide", ValueError),
        ("grid_oversampling", 0.9, ValueError),
        ("nonlinearity", "relu", ValueError),
        ("power_spectrum", 1, TypeError),
        ("max_epochs", 0, ValueError),
        ("learning_rate", -1.0, ValueError),
        ("learning_rate_schedule", "step", ValueError),
        ("validation_fraction", 1.0, ValueError),
        ("early_stopping", "yes", TypeError),
        ("n_threads", 0, ValueError),
        ("bandlimits", (12, 13), ValueError),
        ("bandlimits", (12,), ValueError),
        ("anchors", 1, ValueError),
        ("anchors", 2.5, TypeError),
        ("path_bandlimits", [0] * 4, ValueError),
        ("path_bandlimits", [13] * 4, ValueError),
        ("path_bandlimits", 3, TypeError),
        ("map_bandlimit", 11, ValueError),
        ("map_hidden", (), ValueError),
        ("chiral", -2, ValueError),
        ("chiral", "yes", TypeError),
        ("brackets", -1, ValueError),
        ("brackets", 2.0, TypeError),
        ("map_brackets", -1, ValueError),
        ("map_brackets", "2", TypeError),
        ("map_brackets", 2, ValueError),  # without map_bandlimit
        ("batch_norm_batches", -1, ValueError),
        ("batch_norm_batches", 2.0, TypeError),
        ("dropout", -0.1, ValueError),
        ("label_smoothing", 1.0, ValueError),
        ("label_smoothing", None, TypeError),
        ("decoupled_weight_decay", 1, TypeError),
    ],
)
def test_classifier_rejects_bad_parameters(spectral_data, name, value, error):
    maps, labels = spectral_data
    with pytest.raises(error, match=name):
        SphericalScatteringHeadClassifier(**{name: value}).fit(maps[:40], labels[:40])


@pytest.mark.parametrize("bad", [np.zeros((4, 7, 8)), np.zeros((4, 7, 8, 9)), np.zeros((4, 7, 3, 3), complex)])
def test_classifier_rejects_bad_coefficients(bad):
    clf = SphericalScatteringHeadClassifier(input="coefficients", bandlimit=4)
    with pytest.raises(ValueError, match="coefficients|bandlimit"):
        clf.fit(bad, np.arange(4) % 2)


#: Checks that fit data whose number of features is no sphere grid: scikit-learn's checks draw 2, 3, 5 or 10
#: features per sample, and no Gauss-Legendre grid L (2L - 1), L >= 2, has that many points (6, 15, 28, ...).
NOT_MAPS = "fits data with a number of features that is no Gauss-Legendre grid of bandlimit >= 2"
EXPECTED_FAILED = {
    name: NOT_MAPS
    for name in FIT_ON_FEW_FEATURES + ("check_n_features_in_after_fitting", "check_positive_only_tag_during_fit")
}


@parametrize_with_checks(
    [SphericalScatteringHeadClassifier(bandlimit=2, hidden=(4,), max_epochs=2, random_state=0, n_threads=1)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED,
    xfail_strict=True,
)
def test_sklearn_classifier_checks(estimator, check):
    check(estimator)


def test_classifier_on_maps_passes_the_checks_that_need_data(spectral_data):
    """What the expected failures above cannot show, on maps of bandlimit 3 (15 features): fit returns self,
    refits are identical, pickling round-trips, parameters are not changed, and predictions do not depend on
    the batch."""
    import pickle

    from sklearn.base import clone

    rng = np.random.default_rng(1)
    maps = inverse_sht(random_flm(rng, (60,), 3), 3, "gl").reshape(60, 15)
    labels = np.arange(60) % 3
    params = dict(bandlimit=2, hidden=(4,), max_epochs=2, random_state=0, n_threads=1)
    clf = SphericalScatteringHeadClassifier(**params)
    assert clf.fit(maps, labels) is clf
    assert clf.get_params() == SphericalScatteringHeadClassifier(**params).get_params()
    again = clone(clf).fit(maps, labels)
    np.testing.assert_array_equal(clf.decision_function(maps), again.decision_function(maps))
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(maps), clf.decision_function(maps))
    one_by_one = np.concatenate([clf.decision_function(maps[k : k + 1]) for k in range(5)])
    np.testing.assert_allclose(one_by_one, clf.decision_function(maps[:5]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expecting 15 features"):
        clf.predict(maps[:, :9])


@pytest.mark.parametrize(("kwargs", "name"), [({"momentum": 0.0}, "momentum"), ({"momentum": 1.5}, "momentum"),
                                              ({"eps": 0.0}, "eps"), ({"channels": 0}, "channels")])
def test_batch_norm_rejects_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SphericalBatchNorm(**{"channels": 2, "L": 4, **kwargs})


def test_docstring_examples():
    import doctest

    from scatter.head import _sphere

    failed, attempted = doctest.testmod(_sphere, optionflags=doctest.ELLIPSIS)
    assert attempted >= 5 and failed == 0
