"""The Numba kernels and periodization plans against direct NumPy computations."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from scatter.grid import _kernels
from scatter.grid._plans import apply_plan, full_spectrum, periodization_plan


@pytest.mark.parametrize("n, left, n_out", [(7, 3, 16), (8, 0, 8), (5, 4, 32), (2, 1, 9)])
def test_reflect_pad_1d_matches_numpy(rng, n, left, n_out):
    x = rng.standard_normal((3, n))
    out = np.empty((3, n_out))
    _kernels.reflect_pad_1d(x, left, out)
    expected = np.pad(x, ((0, 0), (left, n_out - n - left)), mode="reflect")
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("shape, top, left, out_shape", [((5, 7), 2, 3, (12, 16)), ((4, 4), 4, 4, (12, 12))])
def test_reflect_pad_2d_matches_numpy(rng, shape, top, left, out_shape):
    x = rng.standard_normal((2,) + shape)
    out = np.empty((2,) + out_shape)
    _kernels.reflect_pad_2d(x, top, left, out)
    pads = ((0, 0), (top, out_shape[0] - shape[0] - top), (left, out_shape[1] - shape[1] - left))
    np.testing.assert_array_equal(out, np.pad(x, pads, mode="reflect"))


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
    spectrum = full_spectrum(np.fft.rfftn(x, axes=tuple(range(1, x.ndim))), shape[-1], [plan])
    got = apply_plan(spectrum, plan)
    np.testing.assert_allclose(got, _dense_multiply_periodize(x, h, factor, half), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(15,), (16,), (6, 9), (7, 8)])
def test_full_spectrum_completes_the_half_from_the_first_column_read(rng, shape):
    x = rng.standard_normal((2,) + shape)
    axes = tuple(range(1, x.ndim))
    half = np.fft.rfftn(x, axes=axes)
    expected = np.fft.fftn(x, axes=axes)
    n = shape[-1]
    np.testing.assert_allclose(full_spectrum(half, n, [{"mirror_from": n // 2 + 1}]), expected, atol=1e-12)
    # A reader of the columns from n - 2 on: those and the half are right, the ones in between not read.
    got = full_spectrum(half, n, [{"mirror_from": n - 2}, {"mirror_from": n}])
    np.testing.assert_allclose(got[..., : n // 2 + 1], expected[..., : n // 2 + 1], atol=1e-12)
    np.testing.assert_allclose(got[..., n - 2 :], expected[..., n - 2 :], atol=1e-12)


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
                   _kernels.hermitian_complete]
        print(sum(len(k.stats.cache_misses) for k in kernels))
        """
    )
    path = tmp_path / "cold.py"
    path.write_text(script)
    subprocess.run([sys.executable, str(path)], check=True, capture_output=True)
    second = subprocess.run([sys.executable, str(path)], check=True, capture_output=True, text=True)
    assert second.stdout.strip() == "0"
