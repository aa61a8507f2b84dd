r"""Stability of representations to deformations, noise and symmetries, and reference feature maps.

Metrics, for any feature map :math:`f` (a callable on a batch, or a fitted or unfitted scikit-learn
transformer) over a probe set of samples :math:`x`:

- :func:`relative_stability`: :math:`D_f`, :math:`G_f` and :math:`R_f = D_f / G_f` of Petrini, Favero, Geiger
  & Wyart (2021, arXiv:2105.02468), from deformed and noisy versions of the probes (see
  :mod:`scatter.distortions`);
- :func:`lipschitz_ratio`: :math:`\|f(\tau x) - f(x)\| / (\|x\|\, \|\nabla\tau\|_\infty)`, the constant of
  Mallat's (2012) deformation stability bound, per sample;
- :func:`invariance_curve`: the relative change :math:`\|f(g_p x) - f(x)\| / \|f(x)\|` along a family of
  transformations :math:`g_p` (translations by :math:`p` pixels, rotations by :math:`p` degrees, ...).

Reference feature maps written in NumPy: :class:`RandomConvNet` (a randomly initialised CNN, He
initialisation, seeded) and :class:`WaveletCoefficients` (PyWavelets' multilevel 2D DWT).
"""

import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._validation import check_choice, check_int
from .distortions import _check_array, _check_rng

__all__ = [
    "RandomConvNet",
    "WaveletCoefficients",
    "as_feature_map",
    "invariance_curve",
    "lipschitz_ratio",
    "relative_stability",
    "stability_from_features",
]

_AVERAGES = ("median", "mean", "feature_median")


# ---------------------------------------------------------------------------------------------------------
# feature maps


def _is_transformer(f):
    return hasattr(f, "transform") and hasattr(f, "fit")


def as_feature_map(f, x_fit=None):
    """A callable mapping a batch ``(B, ...)`` to features ``(B, F)`` (float64), from a callable or a transformer.

    Parameters
    ----------
    f : callable or scikit-learn transformer
        A callable receives the batch as it is and may return any shape ``(B, ...)``; a transformer receives it
        flattened to ``(B, n_features)`` (scatter's 2D transformers infer square images from that).
    x_fit : array_like, optional
        Samples to fit an unfitted transformer on (``fit`` is not called on a fitted one).

    Returns
    -------
    callable
        ``features(x) -> ndarray (B, F)``.

    Raises
    ------
    TypeError
        If ``f`` is neither callable nor a transformer.
    ValueError
        If ``f`` is an unfitted transformer and ``x_fit`` is None.
    """
    if _is_transformer(f):
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(f)
        except NotFittedError:
            if x_fit is None:
                raise ValueError("f is an unfitted transformer: pass x_fit, the samples to fit it on") from None
            x_fit = np.asarray(x_fit)
            f.fit(x_fit.reshape(len(x_fit), -1))

        def features(x):
            x = np.asarray(x)
            return np.asarray(f.transform(x.reshape(len(x), -1)), dtype=np.float64).reshape(len(x), -1)

        return features
    if not callable(f):
        raise TypeError(f"f must be a callable or a scikit-learn transformer; got {f!r} of type {type(f).__name__}")

    def features(x):
        out = np.asarray(f(x), dtype=np.float64)
        if out.ndim == 0 or len(out) != len(x):
            raise ValueError(f"f must return one row of features per sample ({len(x)}); got shape {out.shape}")
        return out.reshape(len(x), -1)

    return features


class RandomConvNet:
    r"""A randomly initialised convolutional network in NumPy: ``(conv 3x3, ReLU, max-pool 2x2)`` per layer.

    Parameters
    ----------
    channels : tuple of int, default (16, 32, 64)
        Output channels of each layer (``>= 1`` each, at least one layer).
    in_channels : int, default 1
        Channels of the input: images ``(B, H, W)`` for 1, ``(B, C, H, W)`` otherwise.
    random_state : None, int, SeedSequence or Generator, default 0
        Seed of the weights.

    Notes
    -----
    Layer :math:`\ell` maps :math:`h_{\ell-1}` (:math:`C_{\ell-1}` channels) to

    .. math::

        h_\ell = \mathrm{maxpool}_{2\times2}\Big(\mathrm{ReLU}\big(\textstyle\sum_{c} w_{\ell,o,c} \star
        h_{\ell-1,c} + b_{\ell,o}\big)\Big),

    with 3x3 kernels and zero padding of one pixel ("same" size), :math:`w \sim \mathcal N(0, 2 / (9
    C_{\ell-1}))` (He et al. 2015), :math:`b = 0`, and pooling over disjoint 2x2 blocks (an odd last row or
    column is dropped). The features are the last layer's maps, flattened; inputs need at least
    :math:`2^{L}` pixels per side for :math:`L` layers.

    Examples
    --------
    >>> net = RandomConvNet((4, 8), random_state=0)
    >>> net(np.zeros((3, 28, 28))).shape
    (3, 8, 7, 7)
    """

    def __init__(self, channels=(16, 32, 64), in_channels=1, random_state=0):
        if isinstance(channels, numbers.Integral) or not hasattr(channels, "__len__") or len(channels) == 0:
            raise TypeError(f"channels must be a non-empty tuple of ints; got {channels!r}")
        self.channels = tuple(check_int(c, f"channels[{i}]", min_value=1) for i, c in enumerate(channels))
        self.in_channels = check_int(in_channels, "in_channels", min_value=1)
        rng = _check_rng(random_state)
        self.weights = []
        fan_in = self.in_channels
        for c in self.channels:
            self.weights.append(rng.standard_normal((c, fan_in, 3, 3)) * math.sqrt(2.0 / (9 * fan_in)))
            fan_in = c
        self.biases = [np.zeros(c) for c in self.channels]

    def __call__(self, x, batch_size=64):
        """Feature maps of the last layer, ``(B, C_L, H / 2^L, W / 2^L)`` (sides rounded down at each layer)."""
        x = _check_array(x, "x", 3)
        if self.in_channels == 1:
            if x.ndim != 3:
                raise ValueError(f"x must be images (B, H, W) for in_channels=1; got shape {x.shape}")
            x = x[:, None]
        elif x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (B, {self.in_channels}, H, W); got {x.shape}")
        need = 2 ** len(self.channels)
        if min(x.shape[-2:]) < need:
            raise ValueError(
                f"{len(self.channels)} layers need images of at least {need} pixels per side; got {x.shape[-2:]}"
            )
        return np.concatenate([self._forward(x[s : s + batch_size]) for s in range(0, len(x), batch_size)] or
                              [self._forward(x[:0])])

    def _forward(self, h):
        h = h.astype(np.float64)
        for w, b in zip(self.weights, self.biases):
            padded = np.pad(h, ((0, 0), (0, 0), (1, 1), (1, 1)))
            windows = sliding_window_view(padded, (3, 3), axis=(2, 3))  # (B, C, H, W, 3, 3)
            B, C, H, W = h.shape
            # im2col: one matrix product over (B H W) x (C 3 3).
            columns = windows.transpose(0, 2, 3, 1, 4, 5).reshape(B * H * W, C * 9)
            h = (columns @ w.reshape(len(w), C * 9).T + b).reshape(B, H, W, len(w)).transpose(0, 3, 1, 2)
            np.maximum(h, 0, out=h)
            H, W = h.shape[-2] // 2 * 2, h.shape[-1] // 2 * 2
            h = h[..., :H, :W].reshape(h.shape[0], h.shape[1], H // 2, 2, W // 2, 2).max(axis=(3, 5))
        return h


class WaveletCoefficients:
    r"""Multilevel 2D discrete wavelet transform (``pywt.wavedec2``), all coefficients in one vector.

    Parameters
    ----------
    wavelet : str, default "db2"
        A discrete wavelet of PyWavelets.
    level : int, optional
        Decomposition level; ``None`` is PyWavelets' maximum for the image size.
    mode : str, default "periodization"
        Signal extension; ``"periodization"`` makes the transform orthogonal for orthogonal wavelets
        (:math:`\|Wx\| = \|x\|`) on even sizes.

    Notes
    -----
    The output concatenates :math:`(a_L, (h_L, v_L, d_L), \dots, (h_1, v_1, d_1))`, the JPEG-2000-like
    multiscale representation.
    """

    def __init__(self, wavelet="db2", level=None, mode="periodization"):
        import pywt

        self.wavelet = pywt.Wavelet(wavelet)
        self.level = None if level is None else check_int(level, "level", min_value=1)
        self.mode = check_choice(mode, "mode", pywt.Modes.modes)

    def __call__(self, x):
        import pywt

        x = _check_array(x, "x", 3)
        coefficients = pywt.wavedec2(x, self.wavelet, mode=self.mode, level=self.level, axes=(-2, -1))
        flat = [coefficients[0].reshape(len(x), -1)]
        for details in coefficients[1:]:
            flat += [d.reshape(len(x), -1) for d in details]
        return np.concatenate(flat, axis=1)


# ---------------------------------------------------------------------------------------------------------
# metrics


def _partners(n, random_state):
    """A random derangement: ``partner[i] != i``, every sample paired with another of the probe set."""
    if n < 2:
        raise ValueError(f"the probe set needs at least 2 samples to compare them with each other; got {n}")
    order = _check_rng(random_state).permutation(n)
    partner = np.empty(n, dtype=np.intp)
    partner[order] = np.roll(order, -1)
    return partner


def _squared_distances(a, b):
    return np.sum((a - b) ** 2, axis=1)


def stability_from_features(fx, f_deformed, f_noisy, *, average="median", random_state=0):
    r""":math:`D_f`, :math:`G_f` and :math:`R_f` from the features of the probes and of their distorted versions.

    Parameters
    ----------
    fx, f_deformed, f_noisy : ndarray, shape (P, F)
        :math:`f(x)`, :math:`f(\tau x)` and :math:`f(x + \eta)` for the :math:`P` probes.
    average : {"median", "mean", "feature_median"}, default "median"
        How :math:`\langle\cdot\rangle` averages over the probes; see Notes.
    random_state : None, int, SeedSequence or Generator, default 0
        Seed of the pairing :math:`z` of each probe with another one.

    Returns
    -------
    dict
        ``"D"``, ``"G"``, ``"R"`` (floats) and ``"deformation"``, ``"noise"``, ``"reference"``: the per-probe
        squared distances :math:`\|f(\tau x) - f(x)\|^2`, :math:`\|f(x + \eta) - f(x)\|^2`,
        :math:`\|f(x) - f(z)\|^2`.

    Notes
    -----
    .. math::

        D_f = \frac{\langle \|f(\tau x) - f(x)\|^2 \rangle}{\langle \|f(x) - f(z)\|^2 \rangle}, \qquad
        G_f = \frac{\langle \|f(x + \eta) - f(x)\|^2 \rangle}{\langle \|f(x) - f(z)\|^2 \rangle}, \qquad
        R_f = \frac{D_f}{G_f},

    :math:`z` the probe paired with :math:`x` by a random derangement of the probe set. ``"median"`` and
    ``"mean"`` take the median or the mean over the probes of the squared norms; ``"feature_median"`` takes,
    as in Petrini et al.'s code, the median over the probes of every squared feature difference and sums it
    over the features, :math:`\sum_k \mathrm{med}_x (f_k(\tau x) - f_k(x))^2` (the denominator is then the
    median of the squared norms). With ``"median"`` or ``"mean"`` and :math:`\|\eta\| = \|\tau x - x\|`, the
    identity map has :math:`R_f = 1` exactly.
    """
    average = check_choice(average, "average", _AVERAGES)
    fx, fd, fn = (np.asarray(a, dtype=np.float64) for a in (fx, f_deformed, f_noisy))
    if fx.ndim != 2 or fd.shape != fx.shape or fn.shape != fx.shape:
        raise ValueError(
            f"fx, f_deformed and f_noisy must be (P, F) arrays of one shape; got {fx.shape}, {fd.shape}, {fn.shape}"
        )
    partner = _partners(len(fx), random_state)
    deformation, noise = _squared_distances(fd, fx), _squared_distances(fn, fx)
    reference = _squared_distances(fx[partner], fx)
    if average == "mean":
        num_d, num_g, den = deformation.mean(), noise.mean(), reference.mean()
    else:
        den = np.median(reference)
        if average == "median":
            num_d, num_g = np.median(deformation), np.median(noise)
        else:
            num_d = np.median((fd - fx) ** 2, axis=0).sum()
            num_g = np.median((fn - fx) ** 2, axis=0).sum()
    tiny = np.finfo(np.float64).tiny
    D, G = num_d / max(den, tiny), num_g / max(den, tiny)
    return {
        "D": float(D),
        "G": float(G),
        "R": float(D / G) if G > 0 else float("nan"),
        "deformation": deformation,
        "noise": noise,
        "reference": reference,
    }


def relative_stability(f, x, deformed, noisy, *, average="median", random_state=0):
    r"""Relative stability of a feature map to deformations against noise: :math:`D_f`, :math:`G_f`, :math:`R_f`.

    Parameters
    ----------
    f : callable or scikit-learn transformer
        The feature map (see :func:`as_feature_map`; an unfitted transformer is fitted on ``x``).
    x : array_like, shape (P, ...)
        Probe samples.
    deformed : array_like, shape (P, ...)
        :math:`\tau x`, e.g. from :func:`scatter.distortions.random_diffeo`.
    noisy : array_like, shape (P, ...)
        :math:`x + \eta` with :math:`\|\eta\| = \|\tau x - x\|`, from :func:`scatter.distortions.matched_noise`.
    average : {"median", "mean", "feature_median"}, default "median"
        See :func:`stability_from_features`.
    random_state : None, int, SeedSequence or Generator, default 0
        Seed of the pairing of the probes.

    Returns
    -------
    dict
        See :func:`stability_from_features`.

    Examples
    --------
    >>> from scatter.distortions import random_diffeo, matched_noise
    >>> x = np.random.default_rng(0).random((20, 16, 16))
    >>> d = random_diffeo(x, 1e-3, 3, random_state=1)
    >>> q = matched_noise(x, d, random_state=2)
    >>> round(relative_stability(lambda b: b, x, d, q)["R"], 12)
    1.0
    """
    x = _check_array(x, "x", 1)
    deformed = _check_array(deformed, "deformed", 1)
    noisy = _check_array(noisy, "noisy", 1)
    if deformed.shape != x.shape or noisy.shape != x.shape:
        raise ValueError(f"deformed and noisy must have the shape of x {x.shape}; got {deformed.shape}, {noisy.shape}")
    features = as_feature_map(f, x)
    return stability_from_features(
        features(x), features(deformed), features(noisy), average=average, random_state=random_state
    )


def lipschitz_ratio(f, x, deformed, gradient_norm, *, fx=None):
    r"""Per-sample ratio :math:`\|f(\tau x) - f(x)\| / (\|x\|\, \|\nabla\tau\|_\infty)`.

    Parameters
    ----------
    f : callable or scikit-learn transformer
        The feature map (see :func:`as_feature_map`).
    x : array_like, shape (P, ...)
        Samples.
    deformed : array_like, shape (P, ...)
        :math:`\tau x`.
    gradient_norm : array_like, shape (P,)
        :math:`\|\nabla\tau\|_\infty` of each deformation, > 0 (e.g.
        :func:`scatter.distortions.diffeo_gradient_norm`, in pixels per pixel).
    fx : ndarray, shape (P, F), optional
        :math:`f(x)`, when already computed.

    Returns
    -------
    ndarray, shape (P,)

    Notes
    -----
    Mallat (2012) bounds :math:`\|S L_\tau x - S x\| \le C \|x\| (2^{-J}\|\tau\|_\infty + \|\nabla\tau\|_\infty
    + \|H\tau\|_\infty)`: for deformations whose translation part is small against :math:`2^J` the ratio stays
    bounded as :math:`\|\nabla\tau\|_\infty \to 0` for a stable representation.
    """
    x = _check_array(x, "x", 1)
    deformed = _check_array(deformed, "deformed", 1)
    if deformed.shape != x.shape:
        raise ValueError(f"deformed must have the shape of x {x.shape}; got {deformed.shape}")
    g = _check_array(gradient_norm, "gradient_norm", 1).astype(np.float64)
    if g.shape != (len(x),) or np.any(g <= 0):
        raise ValueError(f"gradient_norm must hold one value > 0 per sample ({len(x)}); got shape {g.shape}")
    features = as_feature_map(f, x)
    fx = features(x) if fx is None else np.asarray(fx, dtype=np.float64)
    change = np.sqrt(_squared_distances(features(deformed), fx))
    norms = np.sqrt(np.sum(x.reshape(len(x), -1).astype(np.float64) ** 2, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return change / (norms * g)


def invariance_curve(f, x, transform, parameters, *, fx=None, average="median"):
    r"""Relative change of the features along a family of transformations, one value per parameter.

    Parameters
    ----------
    f : callable or scikit-learn transformer
        The feature map (see :func:`as_feature_map`).
    x : array_like, shape (P, ...)
        Samples.
    transform : callable
        ``transform(x, p) -> g_p x`` of the shape of ``x`` (e.g. ``lambda x, s: translate(x, (0, s))``).
    parameters : sequence
        Values of :math:`p`.
    fx : ndarray, shape (P, F), optional
        :math:`f(x)`, when already computed.
    average : {"median", "mean"}, default "median"
        Average over the samples.

    Returns
    -------
    ndarray, shape (len(parameters),)
        :math:`\langle \|f(g_p x) - f(x)\| / \|f(x)\| \rangle` over the samples.
    """
    if not callable(transform):
        raise TypeError(f"transform must be a callable transform(x, p); got {transform!r}")
    average = check_choice(average, "average", ("median", "mean"))
    x = _check_array(x, "x", 1)
    features = as_feature_map(f, x)
    fx = features(x) if fx is None else np.asarray(fx, dtype=np.float64)
    norms = np.sqrt(np.sum(fx**2, axis=1))
    reduce = np.median if average == "median" else np.mean
    out = []
    for p in parameters:
        moved = np.asarray(transform(x, p))
        if moved.shape != x.shape:
            raise ValueError(f"transform returned shape {moved.shape} for samples of shape {x.shape}")
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(reduce(np.sqrt(_squared_distances(features(moved), fx)) / norms))
    return np.array(out)
