"""2D scattering transform: the algorithm over a precomputed filter bank, and the :class:`Scattering2D` object."""

import os

import numpy as np

from .._validation import check_choice, check_int, check_shape, check_signal
from . import _fft
from ._batch import map_chunks
from ._cascade import CascadeSteps, output_array, to_unit_scale
from ._plans import lowpass_in_space, periodization_plan
from ._structure import structure_output
from .filters_2d import filter_bank_2d, padded_shape_2d

__all__ = ["Scattering2D", "scattering_2d", "n_channels_2d"]

_OUT_TYPES = ("array", "list", "dict")
_PADDINGS = ("reflect", "periodic")


def n_channels_2d(J, L, max_order):
    """Number of channels: ``1 + J L`` at order 1, plus ``L^2 J (J - 1) / 2`` at order 2."""
    return 1 + J * L + (L * L * J * (J - 1) // 2 if max_order >= 2 else 0)


def _paths_2d(J, L, max_order):
    """Scattering paths in Kymatio's order: ``()``, then ``(n1,)``, then ``(n1, n2)`` with ``j2 > j1``."""
    paths = [()]
    paths += [(n1,) for n1 in range(J * L)]
    if max_order >= 2:
        paths += [(n1, n2) for n1 in range(J * L) for n2 in range(J * L) if n2 // L > n1 // L]
    return paths


def output_border(padding):
    """Pixels dropped from each side of the outputs: one with Kymatio's mirror padding, none when periodic."""
    return 1 if padding == "reflect" else 0


def plans_2d(bank, max_order, dtype, crop=0, fft="pocketfft"):
    """Plans of every filter product the 2D transform computes, keyed as the algorithm uses them.

    ``"phi"[r]``: low pass at resolution ``r`` down to ``2^J``; ``"psi1"[n1]``: wavelet ``n1`` down to
    ``2^j1``; ``"psi2"[(n2, j1)]``: wavelet ``n2`` at resolution ``j1`` down to ``2^j2``; ``"lowpass"[r]``:
    the low pass at resolution ``r`` computed in space (:func:`~scatter.grid._plans.lowpass_plan`) for the
    outputs kept after cropping ``crop`` pixels (:func:`output_border`) from each side, or ``None`` where the
    transforms are cheaper. For ``fft="fftw"`` the wavelets' plans carry the normalisation of the inverse FFTs
    that follow them.
    """
    J, psi = bank["J"], bank["psi"]
    norm = _fft.unnormalised_inverse(fft)
    phi = bank["phi"]["levels"]
    count = tuple((n >> J) - 2 * crop for n in bank["shape"])
    plans = {
        "lowpass": [lowpass_in_space(phi[r], 1 << (J - r), (crop, crop), count, dtype) for r in range(J)],
        "phi": [periodization_plan(phi[r], 1 << (J - r), True, dtype) for r in range(J)],
        "psi1": [periodization_plan(p["levels"][0], 1 << p["j"], False, dtype, norm) for p in psi],
        "psi2": {},
    }
    if max_order >= 2:
        for n2, p2 in enumerate(psi):
            for j1 in range(p2["j"]):
                factor = 1 << (p2["j"] - j1)
                plans["psi2"][n2, j1] = periodization_plan(p2["levels"][j1], factor, False, dtype, norm)
    return plans


def scattering_2d(x, bank, max_order=2, padding="reflect", workers=None, plans=None, fft="pocketfft", out=None):
    r"""2D scattering of a batch of images over a precomputed filter bank.

    Parameters
    ----------
    x : ndarray, shape (B, M, N), float32 or float64, C-contiguous
        Images, already validated.
    bank : dict
        Filter bank from :func:`~scatter.grid.filters_2d.filter_bank_2d` on the padded grid, with filters in
        the dtype of ``x``.
    max_order : {1, 2}
        Highest scattering order.
    padding : {"reflect", "periodic"}
        ``"reflect"`` mirrors the image onto the padded grid and drops one border pixel of the output on each
        side (Kymatio); ``"periodic"`` treats the image as periodic (the grid is the image).
    workers : int, optional
        Threads of the FFTs.
    plans : dict, optional
        :func:`plans_2d` of the bank for ``x.dtype``, when the caller keeps them between calls.
    fft : {"pocketfft", "fftw"}, default "pocketfft"
        FFT library; see the class's ``fft``.
    out : ndarray, optional
        C-contiguous array of the output's shape and ``x``'s dtype to write the output into (the caller's slice
        of a whole batch's output, which saves a copy), else a new one.

    Returns
    -------
    ndarray, shape (B, C, M', N')
        ``out`` when given.

    Notes
    -----
    With :math:`\downarrow_k` subsampling by :math:`k` (periodisation of the spectrum),

    .. math::

        S_0 x = (x \star \phi_J)\downarrow_{2^J}, \quad
        S_1 x(\lambda_1) = (|x \star \psi_{\lambda_1}|\downarrow_{2^{j_1}} \star \phi_J)\downarrow_{2^{J-j_1}},

        S_2 x(\lambda_1, \lambda_2) = \big(\big||x \star \psi_{\lambda_1}|\downarrow_{2^{j_1}} \star
        \psi_{\lambda_2}\big|\downarrow_{2^{j_2-j_1}} \star \phi_J\big)\downarrow_{2^{J-j_2}}, \quad j_2 > j_1,

    each convolution a product of spectra on the grid of the current resolution, except the low pass of a
    modulus that no wavelet reads, which is the same sum computed in space with the separable taps of
    :math:`\phi` where that is cheaper (:func:`~scatter.grid._plans.lowpass_plan`), as two matrix products
    per image, :math:`A\, u\, C`, where the taps cover most of the grid
    (:func:`~scatter.grid._plans.lowpass_matrices`).

    Each signal is computed at a peak in :math:`[1/2, 1)`, scaled by a power of two and its outputs scaled
    back (:func:`~scatter.grid._cascade.unit_scales`): exact, and no sum or square leaves the dtype's range.
    """
    J, L = bank["J"], bank["L"]
    psi = bank["psi"]
    Mp, Np = bank["shape"]
    n_batch, M, N = x.shape
    offsets = ((Mp - M) // 2, (Np - N) // 2) if padding == "reflect" else None
    padded, scales = to_unit_scale(x, (n_batch, Mp, Np), _fft.allocator(fft), offsets)
    crop = output_border(padding)
    m_out, n_out = (Mp >> J) - 2 * crop, (Np >> J) - 2 * crop
    n_paths = n_channels_2d(J, L, max_order)
    out = output_array(out, (n_batch, n_paths, m_out, n_out), x.dtype)
    if n_batch == 0:
        return out

    if plans is None:
        plans = plans_2d(bank, max_order, x.dtype, crop, fft)

    steps = CascadeSteps(2, plans, out, (slice(crop, crop + m_out), slice(crop, crop + n_out)), x.dtype, workers,
                          fft)
    spectrum, product, modulus = steps.spectrum, steps.product, steps.modulus
    lowpass, last_lowpass = steps.lowpass, steps.last_lowpass

    u0 = spectrum(padded, plans["psi1"] + plans["phi"][:1])
    lowpass(u0, 0, 0)
    # Order-1 channels follow S_0 in n1 order; order-2 channels follow all of them, in (n1, n2) order,
    # which is the order of this loop.
    channel2 = 1 + len(psi)
    for n1, psi1 in enumerate(psi):
        j1 = psi1["j"]
        later = [n2 for n2, psi2 in enumerate(psi) if psi2["j"] > j1] if max_order >= 2 else []
        u1 = modulus(product(u0, plans["psi1"][n1]))
        if not later:
            last_lowpass(u1, j1, 1 + n1)
            continue
        # In the buffer of the product u1 came from, which the modulus has consumed: the order-2 products that
        # read these spectra all subsample (j2 > j1), so they write buffers of other shapes. One buffer of the
        # chunk's largest spectra fewer: W1 ran 4-6% closer to its FFTs' time on two threads.
        u1 = spectrum(u1, [plans["psi2"][n2, j1] for n2 in later] + [plans["phi"][j1]], reuse="product")
        lowpass(u1, j1, 1 + n1)
        for n2 in later:
            j2 = psi[n2]["j"]
            last_lowpass(modulus(product(u1, plans["psi2"][n2, j1])), j2, channel2)
            channel2 += 1
    out /= scales.reshape((-1,) + (1,) * (out.ndim - 1))
    return out


class Scattering2D:
    r"""2D scattering transform with Morlet wavelets, compatible with Kymatio 0.3.0.

    Parameters
    ----------
    J : int
        Number of scales; outputs are averaged over :math:`2^J` pixels and subsampled by :math:`2^J`.
        ``1 <= J`` and :math:`2^J \le \min(M, N)`.
    shape : tuple of int
        Image size ``(M, N)``.
    L : int, default 8
        Number of orientations, ``L >= 1``.
    max_order : {1, 2}, default 2
        Highest scattering order.
    out_type : {"array", "list", "dict"}, default "array"
        ``"array"``: one array ``(..., C, M / 2^J, N / 2^J)``; ``"list"``: a list of
        ``{"coef", "order", "j", "theta", "n"}`` dicts in channel order; ``"dict"``: coefficients keyed by the
        path's filter indices ``n`` (``()``, ``(n1,)``, ``(n1, n2)``).
    padding : {"reflect", "periodic"}, default "reflect"
        Kymatio's mirror padding, or none (periodic boundary; needs ``M`` and ``N`` divisible by ``2^J``).
    workers : int, optional
        Threads; the batch is split into chunks that run in parallel. Defaults to the number of CPUs.
    fft : {"pocketfft", "fftw"}, default "pocketfft"
        FFT library. ``"pocketfft"`` (``scipy.fft``) gives every signal the same output, to the last bit,
        in any batch. ``"fftw"`` (optional, ``pip install "scatter[fftw]"``, GPL-licensed FFTW) is faster
        (see ``benchmarks/RESULTS.md``) but plans its FFTs on the first call with each batch shape and keeps
        the plans in a cache file (``$SCATTER_FFTW_WISDOM``, ``off`` for none; :mod:`scatter.grid._fft`),
        and its outputs may differ from one batch size to another in the last bits (they agree with
        pocketfft's to rounding).

    Notes
    -----
    Channels come in Kymatio's order: :math:`S_0`; :math:`S_1` for :math:`n_1 = j_1 L + \theta_1`;
    :math:`S_2` for :math:`(n_1, n_2)` with :math:`j_2 > j_1`, ordered by :math:`n_1` then :math:`n_2`.
    Their count is :math:`C = 1 + JL + L^2 J(J-1)/2`. Inputs of dtype float32 are computed in
    float32/complex64 and return float32; every other real dtype is computed in float64 (integers and
    bools are cast to float64). See :func:`scattering_2d` for the formulas.

    Examples
    --------
    >>> S = Scattering2D(J=2, shape=(32, 32))
    >>> S(np.zeros((5, 32, 32))).shape
    (5, 81, 8, 8)
    """

    def __init__(self, J, shape, L=8, max_order=2, out_type="array", padding="reflect", workers=None,
                 fft="pocketfft"):
        self.shape = check_shape(shape, "shape", 2)
        self.J = check_int(J, "J", min_value=1)
        limit = min(self.shape)
        if 2**self.J > limit:
            raise ValueError(
                f"J={self.J} needs images of at least 2^J = {2 ** self.J} pixels per side; got shape {self.shape}"
            )
        self.L = check_int(L, "L", min_value=1)
        self.max_order = check_int(max_order, "max_order", min_value=1, max_value=2)
        self.out_type = check_choice(out_type, "out_type", _OUT_TYPES)
        self.padding = check_choice(padding, "padding", _PADDINGS)
        if self.padding == "periodic" and any(s % 2**self.J for s in self.shape):
            raise ValueError(
                f"padding='periodic' needs a shape divisible by 2^J = {2 ** self.J}; got shape {self.shape}"
            )
        self.workers = os.cpu_count() if workers is None else check_int(workers, "workers", min_value=1)
        self.fft = _fft.check_backend(fft)
        grid = padded_shape_2d(self.shape, self.J) if self.padding == "reflect" else self.shape
        self.filters = filter_bank_2d(*grid, self.J, self.L)
        self._plan_cache = {}

    @property
    def output_shape(self):
        """Spatial shape of every output channel."""
        crop = output_border(self.padding)
        return tuple((s >> self.J) - 2 * crop for s in self.filters["shape"])

    @property
    def n_channels(self):
        """Number of output channels ``C``."""
        return n_channels_2d(self.J, self.L, self.max_order)

    def _plans(self, dtype):
        if dtype not in self._plan_cache:
            crop = output_border(self.padding)
            self._plan_cache[dtype] = plans_2d(self.filters, self.max_order, dtype, crop, self.fft)
        return self._plan_cache[dtype]

    def meta(self):
        """Description of every output channel, in output order.

        Returns
        -------
        dict of ndarray
            ``"order"`` (C,); ``"j"``, ``"theta"``, ``"n"`` (C, max_order) padded with NaN beyond the path's
            order; ``"key"``, the list of paths ``n`` used by ``out_type="dict"``.
        """
        paths = _paths_2d(self.J, self.L, self.max_order)
        psi = self.filters["psi"]
        width = self.max_order

        def padded(values):
            values = list(values)
            return values + [np.nan] * (width - len(values))

        return {
            "order": np.array([len(p) for p in paths]),
            "j": np.array([padded(psi[n]["j"] for n in p) for p in paths], dtype=float),
            "theta": np.array([padded(psi[n]["theta"] for n in p) for p in paths], dtype=float),
            "n": np.array([padded(p) for p in paths], dtype=float),
            "key": paths,
        }

    def scattering(self, x):
        """Scattering transform of ``x`` of shape ``(..., M, N)``; see the class docstring for the output."""
        x = check_signal(x, self.shape)
        batch_shape = x.shape[:-2]
        flat = x.reshape((-1,) + self.shape)
        plans = self._plans(x.dtype)

        def transform(chunk, out=None, workers=1):
            return scattering_2d(chunk, self.filters, self.max_order, self.padding, workers, plans, self.fft, out)

        S = np.empty((flat.shape[0],) + transform(flat[:0]).shape[1:], x.dtype)
        map_chunks(transform, flat, S, self.workers, int(np.prod(self.filters["shape"])),
                   inner_threads=_fft.threads_inside(self.fft))
        S = S.reshape(batch_shape + S.shape[1:])
        return structure_output(S, self.meta, self.out_type, -3, ("j", "theta"))

    __call__ = scattering

    def __repr__(self):
        return (
            f"Scattering2D(J={self.J}, shape={self.shape}, L={self.L}, max_order={self.max_order}, "
            f"out_type={self.out_type!r}, padding={self.padding!r}, fft={self.fft!r})"
        )
