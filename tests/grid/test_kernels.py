"""The Numba kernels and periodization plans against direct NumPy computations."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from scatter.grid import _kernels
from scatter.grid._cascade import unit_scales
from scatter.grid._plans import (
    _matrix_row_block,
    apply_plan,
    cheaper_in_space,
    complete_spectrum,
    lowpass_in_space,
    lowpass_matrices,
    lowpass_plan,
    lowpass_taps_1d,
    periodization_plan,
)

#: (dtype, k) of signals scaled by 2^k near the ends of the dtype's range, for the transforms' tests that
#: S(2^k x) = 2^k S(x) to the bit.
EXTREME_POWERS_OF_TWO = [
    pytest.param(np.float32, 122, id="float32-2^122"),  # sums of the FFTs beyond float32's 3.4e38
    pytest.param(np.float32, -100, id="float32-2^-100"),
    pytest.param(np.float64, 1018, id="float64-2^1018"),
    pytest.param(np.float64, -1000, id="float64-2^-1000"),
    pytest.param(np.float32, 3, id="float32-2^3"),
]


@pytest.mark.parametrize("n, left, n_out", [(7, 3, 16), (8, 0, 8), (5, 4, 32), (2, 1, 9), (1, 3, 8), (6, 0, 15)])
def test_reflect_pad_1d_matches_numpy(rng, n, left, n_out):
    x = rng.standard_normal((3, n))
    scales = np.array([1.0, 0.25, 3.0])
    out = np.empty((3, n_out))
    _kernels.reflect_pad_1d(x, left, scales, out)
    expected = np.pad(x, ((0, 0), (left, n_out - n - left)), mode="reflect") * scales[:, None]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize(
    "shape, top, left, out_shape",
    [((5, 7), 2, 3, (12, 16)), ((4, 4), 4, 4, (12, 12)), ((3, 2), 0, 5, (3, 13)), ((2, 9), 7, 0, (16, 9))],
)
def test_reflect_pad_2d_matches_numpy(rng, shape, top, left, out_shape):
    x = rng.standard_normal((2,) + shape).astype(np.float32)
    scales = np.array([0.5, 2.0**-20], np.float32)
    out = np.empty((2,) + out_shape, np.float32)
    _kernels.reflect_pad_2d(x, top, left, scales, out)
    pads = ((0, 0), (top, out_shape[0] - shape[0] - top), (left, out_shape[1] - shape[1] - left))
    np.testing.assert_array_equal(out, np.pad(x, pads, mode="reflect") * scales[:, None, None])


def _dense_multiply_periodize(x, h, factor, half):
    """Full spectrum product, then the mean over the factor^d aliases (the definition), then the half if asked."""
    spectrum = np.fft.fftn(x, axes=tuple(range(1, x.ndim)))
    product = spectrum * h
    coarse = tuple(n // factor for n in h.shape)
    # Split every axis n into (factor, n / factor): the alias index comes first, as in k + i * n / factor.
    split = (x.shape[0],) + sum(((factor, c) for c in coarse), ())
    folded = product.reshape(split).mean(axis=tuple(range(1, 2 * h.ndim, 2)))
    if half:
        folded = folded[..., : coarse[-1] // 2 + 1]
    return folded


@pytest.mark.parametrize("shape", [(64,), (16, 24)])
@pytest.mark.parametrize("factor", [1, 2, 4])
@pytest.mark.parametrize("half", [False, True])
def test_periodization_plan_matches_dense_definition(rng, shape, factor, half):
    x = rng.standard_normal((3,) + shape)
    # A dense filter with no symmetry: every alias and every mirrored frequency contributes.
    h = rng.uniform(0.5, 1.5, shape)
    plan = periodization_plan(h, factor, half, np.float64)
    spectrum = complete_spectrum(_half_in_full(x), [plan])
    got = apply_plan(spectrum, plan)
    np.testing.assert_allclose(got, _dense_multiply_periodize(x, h, factor, half), rtol=1e-12, atol=1e-12)


def _half_in_full(x):
    """numpy's half spectra of ``x`` (B, ...) in the left part of a zero buffer of the full spectra's shape."""
    half = np.fft.rfftn(x, axes=tuple(range(1, x.ndim)))
    full = np.zeros(x.shape, complex)
    full[..., : half.shape[-1]] = half
    return full


@pytest.mark.parametrize("shape", [(15,), (16,), (6, 9), (7, 8)])
def test_complete_spectrum_from_the_first_column_read(rng, shape):
    x = rng.standard_normal((2,) + shape)
    expected = np.fft.fftn(x, axes=tuple(range(1, x.ndim)))
    n = shape[-1]
    np.testing.assert_allclose(complete_spectrum(_half_in_full(x), [{"mirror_from": n // 2 + 1}]), expected,
                               atol=1e-12)
    # A reader of the columns from n - 2 on: those and the half are right, the ones in between not written.
    got = complete_spectrum(_half_in_full(x), [{"mirror_from": n - 2}, {"mirror_from": n}])
    np.testing.assert_allclose(got[..., : n // 2 + 1], expected[..., : n // 2 + 1], atol=1e-12)
    np.testing.assert_allclose(got[..., n - 2 :], expected[..., n - 2 :], atol=1e-12)
    np.testing.assert_array_equal(got[..., n // 2 + 1 : n - 2], 0)


def test_plan_reads_mirrored_columns_only_from_mirror_from():
    h = np.zeros((8, 16))
    h[3, [2, 11, 13]] = 1.0  # columns past the Nyquist column 8: 11 and 13
    assert periodization_plan(h, 2, False, np.float64)["mirror_from"] == 11
    assert periodization_plan(h[:, :9], 1, False, np.float64)["mirror_from"] == 9  # none past Nyquist


@pytest.mark.parametrize(
    ("dtype", "radius"),
    [
        (np.float64, 23),  # exp(-d^2 / 18) > 1e-13 exactly when |d| < 3 sqrt(2 ln 1e13) = 23.2
        (np.float32, 18),  # ... > 1e-8 exactly when |d| < 3 sqrt(2 ln 1e8) = 18.2
    ],
)
def test_periodization_plan_drops_only_negligible_terms(dtype, radius):
    h = np.exp(-0.5 * ((np.arange(256) - 40.0) / 3.0) ** 2)
    plan = periodization_plan(h, 1, False, dtype)
    # Segments count real numbers, two per complex term.
    kept = np.sort(np.concatenate([np.arange(d, d + n, 2) for d, n in zip(plan["seg_dst"], plan["seg_len"])]))
    np.testing.assert_array_equal(kept // 2, np.arange(40 - radius, 40 + radius + 1))


def _gaussian_spectrum(shape, sigma):
    """Spectrum of a periodised separable Gaussian of width ``sigma`` (samples) on ``shape``."""
    axes = [np.exp(-0.5 * (np.fft.fftfreq(n) * 2 * np.pi * sigma) ** 2) for n in shape]
    return axes[0] if len(shape) == 1 else np.outer(*axes)


def with_lowpass_form(plans, levels, form):
    """2D ``plans`` whose low passes in space all run by their taps (``form="taps"``) or all by their
    :func:`lowpass_matrices` (``"matrices"``), one row of an image per product by the column matrix;
    ``levels``: the low pass's spectrum at each level."""
    lowpass = []
    for plan, h in zip(plans["lowpass"], levels):
        if plan is not None:
            plan = {key: value for key, value in plan.items() if key not in ("row_matrix", "col_matrix")}
            if form == "matrices":
                plan["row_matrix"], plan["col_matrix"] = lowpass_matrices(plan, h.shape)
                plan["matrix_rows"] = 1
        lowpass.append(plan)
    return dict(plans, lowpass=lowpass)


def _sampled_circular_convolution(x, h, factor, first, count):
    """The definition: circular convolution by products of full spectra, then samples every ``factor`` points,
    shape ``(B, rows, columns)`` (one row for 1D signals)."""
    axes = tuple(range(1, x.ndim))
    conv = np.fft.ifftn(np.fft.fftn(x, axes=axes) * h, axes=axes).real
    index = tuple(factor * (f + np.arange(c)) for f, c in zip(first, count))
    return conv[(slice(None),) + np.ix_(*index)].reshape((len(x),) + (1,) * (2 - len(h.shape)) + tuple(count))


LOWPASS_CASES = [((64,), 4, (3,), (10,), 2.0), ((40, 24), 4, (1, 1), (8, 4), 1.5), ((16, 16), 2, (0, 0), (8, 8), 0.8),
                 ((12, 20), 1, (2, 3), (5, 7), 6.0)]


@pytest.mark.parametrize(("shape", "factor", "first", "count", "sigma"), LOWPASS_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("form", ["taps", "fast"])
def test_lowpass_in_space_samples_the_circular_convolution(rng, shape, factor, first, count, sigma, dtype, form):
    """By the taps of :func:`~scatter.grid._kernels.separable_lowpass`, and by the forms the transforms use
    where they are cheaper: :func:`~scatter.grid._kernels.lowpass_1d` for 1D signals, the matrices for images."""
    h = _gaussian_spectrum(shape, sigma)
    # A spectrum cropped away from its tails, as the coarse levels of the 2D low pass are: taps everywhere.
    h = h * (np.abs(np.fft.fftfreq(shape[-1])) < 0.3)
    plan = lowpass_plan(h, factor, first, count, dtype)
    x = rng.standard_normal((3,) + shape)
    expected = _sampled_circular_convolution(x, h, factor, first, count)
    rows = x.astype(dtype).reshape((3, -1, shape[-1]))
    out = np.empty(expected.shape, dtype)
    if form == "taps":
        _kernels.separable_lowpass(rows, plan["row_src"], plan["row_w"], plan["col_src"], plan["col_w"], out)
    elif len(shape) == 1:
        starts, taps = lowpass_taps_1d(plan, shape[0])
        assert taps.dtype == dtype and starts.shape == count
        _kernels.lowpass_1d(rows[:, 0], starts, taps, out[:, 0])
    else:
        row_matrix, col_matrix = lowpass_matrices(plan, shape)
        assert col_matrix.dtype == dtype and col_matrix.shape == (shape[-1], count[-1])
        assert row_matrix.dtype == dtype and row_matrix.shape == (count[0], shape[0])
        assert col_matrix.flags.c_contiguous and row_matrix.flags.c_contiguous  # BLAS's fast layout
        out = row_matrix @ rows @ col_matrix
    np.testing.assert_allclose(out, expected, atol=(1e-12 if dtype == np.float64 else 1e-5) * np.abs(x).max())


@pytest.mark.parametrize("n, n_taps", [(1, 1), (37, 37), (37, 5), (1001, 604), (4096, 2473)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lowpass_1d_sums_the_taps_and_gives_each_signal_the_same_bits_in_any_batch(rng, n, n_taps, dtype):
    u = rng.standard_normal((23, n)).astype(dtype)
    taps = rng.standard_normal(n_taps).astype(dtype)
    starts = np.array([0, n - 1, n // 2, max(n - n_taps, 0), 3 % n])  # windows that wrap around, and not
    whole = np.empty((23, starts.size), dtype)
    _kernels.lowpass_1d(u, starts, taps, whole)
    window = (starts[:, None] + np.arange(n_taps)[None, :]) % n
    expected = np.einsum("s,bks->bk", taps.astype(np.float64), u.astype(np.float64)[:, window])
    tol = (1e-13 if dtype == np.float64 else 1e-5) * np.sqrt(n_taps) * np.abs(expected).max()
    np.testing.assert_allclose(whole, expected, rtol=0, atol=tol)
    # Blocks of four and the zero-padded last block, at every offset: the same sums in the same order.
    for start, stop in [(0, 1), (1, 2), (3, 17), (5, 23), (2, 9), (1, 5), (22, 23)]:
        part = np.empty((stop - start, starts.size), dtype)
        _kernels.lowpass_1d(u[start:stop], starts, taps, part)
        np.testing.assert_array_equal(part, whole[start:stop])
    # Into the strided channel of an output array, as the transforms write it.
    out = np.zeros((23, 3, starts.size), dtype)
    _kernels.lowpass_1d(u, starts, taps, out[:, 1])
    np.testing.assert_array_equal(out[:, 1], whole)
    assert not out[:, 0].any() and not out[:, 2].any()


def test_lowpass_matrices_add_taps_that_wrap_onto_one_sample():
    # 5 taps on a period of 3: taps 0 and 3, and 1 and 4, reach the same column and add up.
    plan = {"row_src": np.array([[0, 1]]), "row_w": np.array([2.0, 3.0]), "col_src": np.array([2]),
            "col_w": np.array([1.0, 10.0, 100.0, 1000.0, 10000.0])}
    rows, cols = lowpass_matrices(plan, (2, 3))
    np.testing.assert_array_equal(rows, [[2.0, 3.0]])
    # Output column 0 reads columns 2, 0, 1, 2, 0 with weights 1, 10, 100, 1000, 10000.
    np.testing.assert_array_equal(cols[:, 0], [10010.0, 100.0, 1001.0])
    # 1D: the taps times the row weight, those past the period added onto the first ones, read from column 2.
    starts, taps = lowpass_taps_1d(dict(plan, row_src=np.array([[0]]), row_w=np.array([0.5])), 3)
    np.testing.assert_array_equal(starts, [2])
    np.testing.assert_array_equal(taps, [500.5, 5005.0, 50.0])


@pytest.mark.parametrize("n_row_taps", range(1, 10))
def test_separable_lowpass_with_any_number_of_row_taps(rng, n_row_taps):
    # Rows are combined four at a time and then one at a time: every remainder, against the sums themselves.
    u = rng.standard_normal((2, 11, 13))
    row_src = rng.integers(0, 11, (3, n_row_taps))
    row_w = rng.standard_normal(n_row_taps)
    col_src = np.array([0, 5, 12])
    col_w = rng.standard_normal(4)
    out = np.empty((2, 3, 3))
    _kernels.separable_lowpass(u, row_src, row_w, col_src, col_w, out)
    combined = np.einsum("t,bitc->bic", row_w, u[:, row_src])
    cols = (col_src[:, None] + np.arange(4)[None, :]) % 13
    expected = np.einsum("s,biks->bik", col_w, combined[:, :, cols])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_lowpass_plan_keeps_the_taps_a_gaussian_needs():
    # exp(-d^2 / 18) > 1e-13 of the peak exactly when |d| < 3 sqrt(2 ln 1e13) = 23.2: 47 taps per axis.
    plan = lowpass_plan(_gaussian_spectrum((64, 64), 3.0), 2, (0, 0), (32, 32), np.float64)
    assert plan["row_w"].size == plan["col_w"].size == 47


def test_low_pass_in_space_where_its_multiply_adds_are_below_the_transforms():
    h = _gaussian_spectrum((64, 64), 3.0)
    fft = 2.5 * 64**2 * np.log2(64**2)  # 122880
    # 8 x 8 outputs from 47 taps per axis: 8 * 47 * 64 + 64 * 47 = 27072 multiply-adds, below the transforms.
    assert cheaper_in_space(lowpass_plan(h, 8, (0, 0), (8, 8), np.float64), h.shape)
    # 32 x 32: 32 * 47 * 64 + 1024 * 47 = 144384 by the taps, above; by the matrices 64 * 64 * 32 + 32 * 64 * 32
    # = 196608 at 2.5 times the speed, 78643, below.
    assert 144384 > fft > 196608 / 2.5
    assert cheaper_in_space(lowpass_plan(h, 2, (0, 0), (32, 32), np.float64), h.shape)
    # 64 x 64 (no subsampling): 385024 by the taps, 524288 / 2.5 = 209715 by the matrices, both above.
    assert not cheaper_in_space(lowpass_plan(h, 1, (0, 0), (64, 64), np.float64), h.shape)


def test_low_pass_by_matrices_where_they_cost_less_than_the_taps():
    h = _gaussian_spectrum((64, 64), 3.0)
    # 47 taps of 64 rows and columns, 8 x 8 outputs: 64 * 64 * 8 + 8 * 64 * 8 = 36864 multiply-adds by the
    # matrices against 27072 by the taps, less than the matrices' speed-up.
    dense = lowpass_in_space(h, 8, (0, 0), (8, 8), np.float64)
    assert dense["col_matrix"].shape == (64, 8) and dense["row_matrix"].shape == (8, 64)
    # 1D signals: by their taps (lowpass_1d), never by matrices.
    taps = lowpass_in_space(_gaussian_spectrum((4096,), 3.0), 64, (0,), (64,), np.float64)
    assert taps["taps_1d"].shape == (47,) and taps["starts_1d"].shape == (64,) and "col_matrix" not in taps


def test_low_pass_matrices_in_products_that_blas_runs_on_the_calling_thread():
    # Taps over the whole period of 128 rows and columns, 32 x 32 outputs: 655360 multiply-adds by either form.
    h = _gaussian_spectrum((128, 128), 1.0)
    h = h * (np.abs(np.fft.fftfreq(128))[:, None] < 0.3) * (np.abs(np.fft.fftfreq(128)) < 0.3)
    plan = lowpass_in_space(h, 4, (0, 0), (32, 32), np.float32)
    # By the column matrix (128 x 32), 64 rows at a time: 64 * 128 * 32 = 2^18 multiply-adds per product;
    # by the row matrix (32 x 128), 32 * 128 * 32 = 131072.
    assert plan["col_matrix"].shape == (128, 32) and plan["row_matrix"].shape == (32, 128)
    assert plan["matrix_rows"] == 64
    # Products beyond 2^18 however the rows are blocked: by the row matrix (m x H by H x n), or by the column
    # matrix for a single row (W x n).
    def plan(m, n):
        return {"row_src": np.zeros((m, 3), np.int64), "col_src": np.zeros(n, np.int64)}

    assert _matrix_row_block(plan(64, 64), (64, 64)) == 64  # 64 * 64 * 64 = 2^18 either way
    assert _matrix_row_block(plan(65, 64), (64, 64)) is None  # by the row matrix, 65 * 64 * 64
    assert _matrix_row_block(plan(1, 65), (1, 4096)) is None  # one row of 4096 by 65 columns
    assert _matrix_row_block(plan(1, 64), (1, 4096)) == 1
    assert _matrix_row_block(plan(1, 8), (4096,)) is None  # 1D signals: no matrices


def test_lowpass_plan_declines_a_filter_that_is_not_separable(rng):
    h = _gaussian_spectrum((16, 16), 1.0) + 0.1 * rng.uniform(size=(16, 16))
    h = (h + h[np.ix_(-np.arange(16) % 16, -np.arange(16) % 16)]) / 2  # symmetric: a real filter in space
    assert lowpass_plan(h, 2, (0, 0), (8, 8), np.float64) is None


def test_zero_filter_gives_zero_output(rng):
    plan = periodization_plan(np.zeros((8, 8)), 2, False, np.float64)
    spectrum = np.fft.fft2(rng.standard_normal((2, 8, 8)))
    np.testing.assert_array_equal(apply_plan(spectrum, plan), 0)


def test_new_process_loads_kernels_from_the_cache(tmp_path):
    """A second process running the same transform finds every kernel in Numba's on-disk cache."""
    script = textwrap.dedent(
        """
        import numpy as np
        from scatter import Scattering1D, Scattering2D
        from scatter.grid import _kernels
        for dtype in (np.float32, np.float64):
            Scattering2D(2, (16, 16))(np.ones((2, 16, 16), dtype))
            Scattering1D(3, 64)(np.ones((2, 64), dtype))
        kernels = [_kernels.reflect_pad_1d, _kernels.reflect_pad_2d, _kernels.multiply_periodize,
                   _kernels.hermitian_complete, _kernels.separable_lowpass, _kernels.modulus]
        print(sum(len(k.stats.cache_misses) for k in kernels))
        """
    )
    path = tmp_path / "cold.py"
    path.write_text(script)
    subprocess.run([sys.executable, str(path)], check=True, capture_output=True)
    second = subprocess.run([sys.executable, str(path)], check=True, capture_output=True, text=True)
    assert second.stdout.strip() == "0"


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_modulus_matches_numpy_abs(rng, dtype):
    z = (rng.standard_normal(1001) + 1j * rng.standard_normal(1001)) * np.logspace(-3, 3, 1001)
    z[::97] = 0
    z[5] = 3 - 4j  # 5 exactly
    z = z.astype(dtype)
    real = z.real.dtype
    out = np.empty(z.shape, real)
    _kernels.modulus(z.view(real), out)
    np.testing.assert_allclose(out, np.abs(z), rtol=2 * np.finfo(real).eps, atol=0)
    assert out[5] == 5 and not out[::97].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unit_scales_are_powers_of_two_that_bring_peaks_into_half_to_one(rng, dtype):
    info = np.finfo(dtype)
    x = rng.uniform(-1, 1, (7, 5, 3)) * np.array([1, 1e-3, 1e3, 0, 1, 1, 1])[:, None, None]
    x[4, 0, 0] = -7.0  # a negative peak
    x = x.astype(dtype)
    x[5] *= info.max / 2  # near the top of the range
    x[6] *= info.smallest_subnormal * 8  # at the bottom, below the normal numbers
    scales = unit_scales(x)
    assert scales.dtype == dtype
    mantissa, exponent = np.frexp(scales)
    np.testing.assert_array_equal(mantissa, 0.5)
    peaks = np.abs(x).reshape(7, -1).max(axis=1)
    scaled = peaks * scales
    assert scales[3] == 1  # all zero
    inside = [0, 1, 2, 4]
    assert ((scaled[inside] >= 0.5) & (scaled[inside] < 1)).all()
    assert scaled[4] == 7.0 / 8
    # The cap keeps the scale and its inverse normal: the largest peaks come down to below 8, signals of
    # subnormals go up as far as that allows.
    cap = info.maxexp - 3
    assert scales[5] == np.ldexp(dtype(1), -cap) and 0.5 <= scaled[5] < 8
    assert scales[6] == np.ldexp(dtype(1), cap)
    assert np.all(np.abs(scales) >= info.tiny) and np.all(np.isfinite(1 / scales))
    np.testing.assert_array_equal(unit_scales(x[:0]), np.empty(0, dtype))
