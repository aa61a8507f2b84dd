"""1D scattering transform: the algorithm over a precomputed filter bank, and the :class:`Scattering1D` object."""

import math
import numbers
import os

import numpy as np

from .._validation import check_choice, check_int, check_shape, check_signal
from . import _fft
from ._batch import map_chunks
from ._cascade import CascadeSteps, output_array, to_unit_scale
from ._plans import lowpass_in_space, periodization_plan
from ._structure import structure_output
from .filters_1d import border_indices, filter_bank_1d, padding_1d

__all__ = ["Scattering1D", "scattering_1d"]

_OUT_TYPES = ("array", "list", "dict")
_PADDINGS = ("reflect", "periodic")
_AVERAGES = ("local", "global")


def _paths_1d(bank, max_order):
    """Scattering paths in Kymatio's order: ``()``, ``(n1,)`` then ``(n1, n2)`` with ``j2 > j1``, by ``n1``."""
    psi1, psi2 = bank["psi1"], bank["psi2"]
    paths = [()]
    for n1, p1 in enumerate(psi1):
        paths.append((n1,))
    if max_order >= 2:
        paths += [(n1, n2) for n1, p1 in enumerate(psi1) for n2, p2 in enumerate(psi2) if p2["j"] > p1["j"]]
    return paths


def _output_range(bank, padding):
    """Outputs kept on the grid of the low pass: those covering the unpadded signal, ``start:stop``."""
    log2_T = bank["phi"]["j"]
    left, right = padding
    starts, ends = border_indices(log2_T, bank["J"], left, bank["N"] - right)
    return starts[log2_T], ends[log2_T]


def plans_1d(bank, max_order, dtype, padding=(0, 0), fft="pocketfft"):
    """Plans of every filter product the 1D transform computes, keyed as the algorithm uses them.

    ``"phi"[k]``: low pass at resolution ``k`` down to ``T``; ``"psi1"[n1]``: wavelet ``n1`` down to
    ``2^k1``; ``"psi2"[(n2, k1)]``: wavelet ``n2`` at resolution ``k1`` down to ``2^(k1 + k2)``;
    ``"lowpass"[k]``: the low pass at resolution ``k`` computed in space for the outputs kept with
    ``padding`` (:func:`~scatter.grid._plans.lowpass_plan`), or ``None`` where the transform is cheaper.
    For ``fft="fftw"`` the wavelets' plans carry the normalisation of the inverse FFTs that follow them.
    """
    norm = _fft.unnormalised_inverse(fft)
    log2_T = bank["phi"]["j"]
    phi = bank["phi"]["levels"]
    start, stop = _output_range(bank, padding)
    plans = {
        "phi": [periodization_plan(phi[k], 1 << (log2_T - k), True, dtype) for k in range(len(phi))],
        "psi1": [
            periodization_plan(p["levels"][0], 1 << min(p["j"], log2_T), False, dtype, norm) for p in bank["psi1"]
        ],
        "psi2": {},
        "lowpass": [
            lowpass_in_space(phi[k], 1 << (log2_T - k), (start,), (stop - start,), dtype) for k in range(len(phi))
        ],
    }
    if max_order >= 2:
        for n2, p2 in enumerate(bank["psi2"]):
            for p1 in bank["psi1"]:
                k1 = min(p1["j"], log2_T)
                if p2["j"] > p1["j"] and (n2, k1) not in plans["psi2"]:
                    factor = 1 << (min(p2["j"], log2_T) - k1)
                    plans["psi2"][n2, k1] = periodization_plan(p2["levels"][k1], factor, False, dtype, norm)
    return plans


def scattering_1d(x, bank, max_order=2, padding=(0, 0), workers=None, plans=None, fft="pocketfft", out=None):
    r"""1D scattering of a batch of signals over a precomputed filter bank.

    Parameters
    ----------
    x : ndarray, shape (B, N), float32 or float64, C-contiguous
        Signals, already validated.
    bank : dict
        Filter bank from :func:`~scatter.grid.filters_1d.filter_bank_1d` on the padded length, with filters
        in the dtype of ``x``.
    max_order : {1, 2}
        Highest scattering order.
    padding : tuple of int
        Mirror padding ``(left, right)`` that brings ``N`` to the bank's length (``(0, 0)``: periodic).
    workers : int, optional
        Threads of the FFTs.
    plans : dict, optional
        :func:`plans_1d` of the bank for ``x.dtype``, when the caller keeps them between calls.
    fft : {"pocketfft", "fftw"}, default "pocketfft"
        FFT library; see the class's ``fft``.
    out : ndarray, optional
        C-contiguous array of the output's shape and ``x``'s dtype to write the output into (the caller's slice
        of a whole batch's output, which saves a copy), else a new one.

    Returns
    -------
    ndarray, shape (B, C, N')
        ``out`` when given.

    Notes
    -----
    With :math:`T = 2^{\lfloor \log_2 T \rfloor}`, :math:`k_1 = \min(j_1, \log_2 T)` and
    :math:`k_2 = \min(j_2, \log_2 T) - k_1` the subsamplings the filters allow,

    .. math::

        S_0 x = (x \star \phi_T)\downarrow_T, \quad
        S_1 x(n_1) = (|x \star \psi_{n_1}|\downarrow_{2^{k_1}} \star \phi_T)\downarrow_{T / 2^{k_1}},

        S_2 x(n_1, n_2) = \big(\big||x \star \psi_{n_1}|\downarrow_{2^{k_1}} \star \psi_{n_2}\big|
        \downarrow_{2^{k_2}} \star \phi_T\big)\downarrow_{T / 2^{k_1 + k_2}}, \quad j_2 > j_1,

    each convolution a product of spectra at the current resolution (except the low pass of a modulus that
    no wavelet reads, the same sum computed in space by its taps where that is cheaper,
    :func:`~scatter.grid._plans.lowpass_in_space`), and the output cropped to the part of the padded signal
    that covers the input.

    Each signal is computed at a peak in :math:`[1/2, 1)`, scaled by a power of two and its outputs scaled
    back (:func:`~scatter.grid._cascade.unit_scales`): exact, and no sum or square leaves the dtype's range.
    """
    psi1, psi2 = bank["psi1"], bank["psi2"]
    log2_T = bank["phi"]["j"]
    n_padded = bank["N"]
    n_batch, N = x.shape
    left, right = padding
    start, stop = _output_range(bank, padding)
    paths = _paths_1d(bank, max_order)
    out = output_array(out, (n_batch, len(paths), stop - start), x.dtype)
    if n_batch == 0:
        return out
    padded, scales = to_unit_scale(x, (n_batch, n_padded), _fft.allocator(fft), (left,) if left or right else None)

    if plans is None:
        plans = plans_1d(bank, max_order, x.dtype, padding, fft)

    steps = CascadeSteps(1, plans, out, (slice(start, stop),), x.dtype, workers, fft)
    spectrum, product, modulus = steps.spectrum, steps.product, steps.modulus
    lowpass, last_lowpass = steps.lowpass, steps.last_lowpass

    u0 = spectrum(padded, plans["psi1"] + plans["phi"][:1])
    lowpass(u0, 0, 0)
    # Order-2 channels follow all order-1 channels, in (n1, n2) order, which is the order of this loop.
    channel2 = 1 + len(psi1)
    for n1, p1 in enumerate(psi1):
        k1 = min(p1["j"], log2_T)
        later = [n2 for n2, p2 in enumerate(psi2) if p2["j"] > p1["j"]] if max_order >= 2 else []
        u1 = modulus(product(u0, plans["psi1"][n1]))
        if not later:
            last_lowpass(u1, k1, 1 + n1)
            continue
        # A buffer of its own: with T < 2^J some order-2 products do not subsample, and their products have the
        # shape of these spectra.
        u1 = spectrum(u1, [plans["psi2"][n2, k1] for n2 in later] + [plans["phi"][k1]], reuse="spectrum")
        lowpass(u1, k1, 1 + n1)
        for n2 in later:
            k2 = min(psi2[n2]["j"], log2_T) - k1
            last_lowpass(modulus(product(u1, plans["psi2"][n2, k1])), k1 + k2, channel2)
            channel2 += 1
    out /= scales.reshape((-1,) + (1,) * (out.ndim - 1))
    return out


def _check_Q(Q):
    """Normalise ``Q`` to a pair ``(Q1, Q2)`` of ints >= 1; an int means ``(Q, 1)``."""
    if isinstance(Q, numbers.Integral) and not isinstance(Q, bool):
        Q = (Q,)
    if not isinstance(Q, (tuple, list)) or not 1 <= len(Q) <= 2:
        raise TypeError(f"Q must be an int or a tuple of one or two ints; got {Q!r}")
    Q = tuple(check_int(q, f"Q[{i}]", min_value=1) for i, q in enumerate(Q))
    return Q if len(Q) == 2 else (Q[0], 1)


class Scattering1D:
    r"""1D scattering transform with Morlet wavelets, compatible with Kymatio 0.3.0.

    Parameters
    ----------
    J : int
        Scale of the widest wavelets, ``1 <= J`` and :math:`2^J \le N`.
    shape : int or tuple of int
        Signal length ``N``.
    Q : int or tuple of int, default 1
        Wavelets per octave at order 1, or ``(Q1, Q2)`` for both orders (``Q2`` defaults to 1).
    T : int, optional
        Averaging scale in samples, ``1 <= T <= N``; ``None`` means :math:`2^J`. Outputs are subsampled by
        :math:`2^{\lfloor \log_2 T \rfloor}`.
    max_order : {1, 2}, default 2
        Highest scattering order.
    average : {"local", "global"}, default "local"
        ``"local"``: coefficients over time, shape ``(..., C, N')``; ``"global"``: their mean over time,
        shape ``(..., C)``.
    out_type : {"array", "list", "dict"}, default "array"
        One array, a list of ``{"coef", "order", "n", "j", "xi", "sigma"}`` dicts in channel order, or a dict
        keyed by the path's filter indices ``n``.
    padding : {"reflect", "periodic"}, default "reflect"
        Kymatio's mirror padding to a power of two, or none (periodic; needs ``N`` a power of two).
    workers : int, optional
        Threads; the batch is split into chunks that run in parallel. Defaults to the number of CPUs.
    fft : {"pocketfft", "fftw"}, default "pocketfft"
        FFT library, as for :class:`scatter.Scattering2D`. On FFTW, the first call with a batch shape that no
        earlier process planned can take seconds on long signals (8.8 s on 16 x 65536).

    Notes
    -----
    Channels come in Kymatio's order: :math:`S_0`, :math:`S_1` by wavelet index :math:`n_1` (decreasing
    frequency), :math:`S_2` for :math:`(n_1, n_2)` with :math:`j_2 > j_1`. Inputs of dtype float32 are
    computed in float32/complex64 and return float32; every other real dtype is computed in float64.
    See :func:`scattering_1d` for the formulas.

    Examples
    --------
    >>> S = Scattering1D(J=6, shape=1024, Q=8)
    >>> S(np.zeros((3, 1024))).shape
    (3, 126, 16)
    """

    def __init__(
        self, J, shape, Q=1, T=None, max_order=2, average="local", out_type="array", padding="reflect", workers=None,
        fft="pocketfft",
    ):
        (N,) = self.shape = check_shape(shape, "shape", 1)
        self.J = check_int(J, "J", min_value=1)
        if 2**self.J > N:
            raise ValueError(f"J={self.J} needs signals of at least 2^J = {2 ** self.J} samples; got shape {self.shape}")
        self.Q = _check_Q(Q)
        self.T = 2**self.J if T is None else check_int(T, "T", min_value=1, max_value=N, allowed=f"None or an integer in [1, N={N}]")
        self.max_order = check_int(max_order, "max_order", min_value=1, max_value=2)
        self.average = check_choice(average, "average", _AVERAGES)
        self.out_type = check_choice(out_type, "out_type", _OUT_TYPES)
        self.padding = check_choice(padding, "padding", _PADDINGS)
        self.workers = os.cpu_count() if workers is None else check_int(workers, "workers", min_value=1)
        self.fft = _fft.check_backend(fft)
        if self.padding == "reflect":
            n_padded, left, right = padding_1d(N, self.T)
            if max(left, right) >= N:
                raise ValueError(f"shape={N} is too short to be mirror-padded to {n_padded} samples; use a longer signal")
        else:
            if N & (N - 1):
                raise ValueError(f"padding='periodic' needs a length that is a power of two; got shape {self.shape}")
            n_padded, left, right = N, 0, 0
        self.pad_left, self.pad_right = left, right
        self.filters = filter_bank_1d(n_padded, self.J, self.Q, self.T)
        self._plan_cache = {}

    @property
    def log2_T(self):
        """Subsampling exponent of the output, :math:`\\lfloor \\log_2 T \\rfloor`."""
        return int(math.floor(math.log2(self.T)))

    @property
    def output_shape(self):
        """Shape of every output channel: ``(N',)`` for ``average="local"``, ``()`` for ``"global"``."""
        if self.average == "global":
            return ()
        starts, ends = border_indices(self.log2_T, self.J, self.pad_left, self.pad_left + self.shape[0])
        return (ends[self.log2_T] - starts[self.log2_T],)

    @property
    def n_channels(self):
        """Number of output channels ``C``."""
        return len(_paths_1d(self.filters, self.max_order))

    def _plans(self, dtype):
        if dtype not in self._plan_cache:
            padding = (self.pad_left, self.pad_right)
            self._plan_cache[dtype] = plans_1d(self.filters, self.max_order, dtype, padding, self.fft)
        return self._plan_cache[dtype]

    def meta(self):
        """Description of every output channel, in output order.

        Returns
        -------
        dict
            ``"order"`` (C,); ``"xi"``, ``"sigma"``, ``"j"``, ``"n"`` (C, max_order) padded with NaN beyond the
            path's order (``xi`` in cycles per sample, ``j`` the filter's maximal subsampling as in Kymatio);
            ``"key"``, the list of paths used by ``out_type="dict"``.
        """
        paths = _paths_1d(self.filters, self.max_order)
        banks = (self.filters["psi1"], self.filters["psi2"])

        def column(field):
            rows = [[banks[i][n][field] for i, n in enumerate(p)] for p in paths]
            return np.array([r + [np.nan] * (self.max_order - len(r)) for r in rows], dtype=float)

        return {
            "order": np.array([len(p) for p in paths]),
            "xi": column("xi"),
            "sigma": column("sigma"),
            "j": column("j"),
            "n": np.array([list(p) + [np.nan] * (self.max_order - len(p)) for p in paths], dtype=float),
            "key": paths,
        }

    def scattering(self, x):
        """Scattering transform of ``x`` of shape ``(..., N)``; see the class docstring for the output."""
        x = check_signal(x, self.shape)
        batch_shape = x.shape[:-1]
        flat = x.reshape((-1,) + self.shape)
        plans = self._plans(x.dtype)
        padding = (self.pad_left, self.pad_right)

        def transform(chunk, out=None, workers=1):
            return scattering_1d(chunk, self.filters, self.max_order, padding, workers, plans, self.fft, out)

        S = np.empty((flat.shape[0],) + transform(flat[:0]).shape[1:], x.dtype)
        map_chunks(transform, flat, S, self.workers, self.filters["N"], inner_threads=_fft.threads_inside(self.fft))
        if self.average == "global":
            S = S.mean(axis=-1)
        S = S.reshape(batch_shape + S.shape[1:])
        channel_axis = -1 if self.average == "global" else -2
        return structure_output(S, self.meta, self.out_type, channel_axis, ("xi", "sigma", "j"))

    __call__ = scattering

    def __repr__(self):
        return (
            f"Scattering1D(J={self.J}, shape={self.shape}, Q={self.Q}, T={self.T}, max_order={self.max_order}, "
            f"average={self.average!r}, out_type={self.out_type!r}, padding={self.padding!r}, fft={self.fft!r})"
        )
