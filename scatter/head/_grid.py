r"""The 2D head: cyclic group convolutions over (orientation, space) on 2D scattering coefficients."""

import math

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn
from torch.nn import functional

from .. import grid
from .._validation import check_choice, check_int, check_shape
from ..grid.scattering_2d import n_channels_2d
from ..sklearn import _flatten_grids, _image_shape, _rotation_orbits
from ._training import (
    HeadClassifierMixin,
    check_hidden,
    check_real,
    check_training_params,
    split_validation,
    torch_threads,
    train_classifier,
)

__all__ = ["CyclicConv2d", "CyclicHead2D", "ScatteringHeadClassifier", "orientation_tensor"]

_PADDINGS = ("reflect", "periodic")
_INPUTS = ("images", "coefficients")


def orientation_tensor(S, meta, J, L):
    r"""Arrange 2D scattering coefficients so that rotations act on one axis.

    Parameters
    ----------
    S : ndarray, shape (B, C, H, W)
        Output of :class:`scatter.Scattering2D` (``out_type="array"``) with ``J`` scales and ``L``
        orientations.
    meta : dict
        The transform's ``meta()``.
    J, L : int
        Its scales and orientations.

    Returns
    -------
    ndarray, shape (B, F, L, H, W)
        ``F = 1 + J + L J (J - 1) / 2`` orbits, in the order: order 0 (repeated along the orientation axis),
        order 1 by :math:`j_1`, order 2 by :math:`(j_1, j_2, \delta)`. Entry ``[:, f, r]`` of an orbit is
        :math:`S_1(j_1, r)` or :math:`S_2(j_1, r, j_2, r + \delta \bmod L)`.

    Notes
    -----
    Rotating the image by :math:`t \pi / L` maps :math:`\theta \mapsto \theta + t` on every path (modulo
    ``L``, since :math:`|x \star \psi_{\theta + \pi}| = |x \star \psi_\theta|` for real inputs), so the
    relative orientation :math:`\delta = \theta_2 - \theta_1` is unchanged and axis 2 shifts cyclically by
    ``t``, while the positions rotate. Exactly so for ``t = L / 2`` (a quarter turn) on a periodic grid.
    """
    orbits1, pairs, orbits2 = _rotation_orbits(meta, J, L)
    n_batch, positions = S.shape[0], S.shape[2:]
    parts = [np.broadcast_to(S[:, :1, None], (n_batch, 1, L) + positions)]
    parts.append(S[:, orbits1])
    if orbits2.size:
        # (B, P, theta1, delta, H, W) -> (B, P, delta, theta1, H, W) -> (B, P L, L, H, W)
        order2 = np.swapaxes(S[:, orbits2], 2, 3)
        parts.append(order2.reshape((n_batch, len(pairs) * L, L) + positions))
    return np.concatenate(parts, axis=1)


def _isotropic_basis(kernel_size):
    """Basis of ``kernel_size``-square kernels invariant under quarter turns: centre, edges, corners (3x3)."""
    if kernel_size == 1:
        return torch.ones(1, 1, 1)
    basis = torch.zeros(3, 3, 3)
    basis[0, 1, 1] = 1
    basis[1, [0, 1, 1, 2], [1, 0, 2, 1]] = 1
    basis[2, [0, 0, 2, 2], [0, 2, 0, 2]] = 1
    return basis


class CyclicConv2d(nn.Module):
    r"""Group convolution over (orientation, space) for the cyclic group of ``L`` orientations.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels ``C`` and ``O``; inputs are ``(B, C, L, H, W)``, outputs ``(B, O, L, H, W)``.
    L : int
        Orientations (the group order).
    kernel_size : {1, 3}, default 3
        Spatial kernel: pointwise, or 3x3 and invariant under quarter turns (centre, edge and corner weights).

    Notes
    -----
    .. math::

        y_{o}(r, u) = b_o + \sum_{c, s} \sum_{v} w_{o, c}(s - r \bmod L, v)\, x_c(s, u + v),

    with circular boundaries in space. Shifting the input's orientation axis by ``t`` shifts the output's by
    ``t`` (the weights depend on ``s - r`` only); since every spatial kernel is invariant under quarter turns
    and the boundary is circular, a quarter turn of the periodic grid about its origin commutes with the layer.
    """

    def __init__(self, in_channels, out_channels, L, kernel_size=3):
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", min_value=1)
        self.out_channels = check_int(out_channels, "out_channels", min_value=1)
        self.L = check_int(L, "L", min_value=1)
        if kernel_size not in (1, 3) or isinstance(kernel_size, bool):
            raise ValueError(f"kernel_size must be 1 or 3; got {kernel_size!r}")
        self.kernel_size = kernel_size
        basis = _isotropic_basis(kernel_size)
        self.register_buffer("basis", basis)
        r, s = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
        self.register_buffer("relative", torch.as_tensor((s - r) % L))
        fan_in = in_channels * L * kernel_size**2
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, L, len(basis)) * math.sqrt(2.0 / fan_in))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x):
        n_batch, _, L, height, width = x.shape
        O, C, k = self.out_channels, self.in_channels, self.kernel_size
        w = self.weight[:, :, self.relative]  # (O, C, r, s, n_basis)
        kernel = torch.einsum("ocrsn,nij->orcsij", w, self.basis).reshape(O * L, C * L, k, k)
        x = x.reshape(n_batch, C * L, height, width)
        if k > 1:
            x = functional.pad(x, (k // 2,) * 4, mode="circular")
        y = functional.conv2d(x, kernel).reshape(n_batch, O, L, height, width)
        return y + self.bias[:, None, None, None]


def quarter_turn_orbits(n):
    """Orbit index of every position of an ``n x n`` periodic grid under quarter turns about its origin.

    The turn maps ``(i, j)`` to ``(j, -i mod n)``; returns an int array ``(n, n)`` numbering the orbits
    ``0 .. n_orbits - 1`` in order of their first position in C order.
    """
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    images = [(i, j), (j, -i % n), (-i % n, -j % n), (-j % n, i)]
    canonical = np.min([a * n + b for a, b in images], axis=0)
    _, first, labels = np.unique(canonical.ravel(), return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return rank[labels].reshape(n, n)


class CyclicHead2D(nn.Module):
    r"""Equivariant layers, orientation and spatial pooling, and a linear classifier.

    Parameters
    ----------
    n_features : int
        Orbits ``F`` of the input ``(B, F, L, H, W)`` (see :func:`orientation_tensor`).
    n_classes : int
        Outputs of the classifier.
    L : int
        Orientations.
    hidden : sequence of int, default (32, 32)
        Channels of the successive :class:`CyclicConv2d` layers, each followed by batch normalisation and a
        ReLU.
    kernel_size : {1, 3}, default 1
        Spatial kernel of the layers.
    grid : int, optional
        Side ``H = W`` of the input's positions, for ``spatial_pool="orbits"``.
    spatial_pool : {"orbits", "mean"}, default "orbits"
        Pooling over positions (see Notes).
    dropout : float, default 0.0
        Probability, in ``[0, 1)``, of zeroing each invariant before the linear classifier in training (the
        others scaled by :math:`1 / (1 - p)`); none in evaluation.

    Notes
    -----
    ``invariants(x)`` takes the maximum over orientations of the last layer, then the mean over all positions
    (``"mean"``: fully translation-invariant) or over each orbit of positions under quarter turns about the
    grid's origin (``"orbits"``: keeps where things are, up to the rotation). Either is unchanged by a cyclic
    shift of the orientation axis, and by a quarter turn of a periodic grid about its origin, which shifts the
    orientations by ``L / 2`` and permutes the positions within their orbits. Batch normalisation (per
    channel over batch, orientations and positions) keeps the equivariance.
    """

    def __init__(self, n_features, n_classes, L, hidden=(32, 32), kernel_size=1, grid=None, spatial_pool="orbits",
                 dropout=0.0):
        super().__init__()
        self.dropout = nn.Dropout(check_real(dropout, "dropout", 0.0, 1.0, low_inclusive=True))
        self.spatial_pool = check_choice(spatial_pool, "spatial_pool", ("orbits", "mean"))
        if self.spatial_pool == "orbits":
            orbits = quarter_turn_orbits(check_int(grid, "grid", min_value=1)).ravel()
            n_orbits = int(orbits.max()) + 1
            pool = np.zeros((grid * grid, n_orbits))
            pool[np.arange(grid * grid), orbits] = 1
            pool /= pool.sum(axis=0)
            self.register_buffer("pool", torch.as_tensor(pool, dtype=torch.float32))
        else:
            n_orbits = 1
        self.input_norm = nn.BatchNorm3d(n_features)
        layers = []
        channels = n_features
        for width in hidden:
            layers += [CyclicConv2d(channels, width, L, kernel_size), nn.BatchNorm3d(width), nn.ReLU()]
            channels = width
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels * n_orbits, n_classes)

    def invariants(self, x):
        """Rotation-invariant features ``(B, hidden[-1] * n_orbits)`` of ``x`` ``(B, F, L, H, W)``."""
        y = self.layers(self.input_norm(x)).amax(dim=2)
        if self.spatial_pool == "mean":
            return y.mean(dim=(2, 3))
        return (y.flatten(2) @ self.pool.to(y.dtype)).flatten(1)

    def forward(self, x):
        return self.classifier(self.dropout(self.invariants(x)))


class ScatteringHeadClassifier(HeadClassifierMixin, ClassifierMixin, BaseEstimator):
    r"""2D scattering + a :class:`CyclicHead2D` trained by Adam: a scikit-learn classifier of images.

    Parameters
    ----------
    J : int, default 2
        Scales of the scattering transform.
    L : int, default 8
        Orientations.
    shape : tuple of int, optional
        Image shape; by default inferred in ``fit`` (``(n, M, N)`` input, or square flattened images). With
        ``input="coefficients"``, the shape of the images the coefficients come from, if given: it fixes the
        coefficients' positions ``(H', W')`` (see ``input``).
    padding : {"reflect", "periodic"}, default "reflect"
        Boundary of the scattering transform (see :class:`scatter.Scattering2D`).
    input : {"images", "coefficients"}, default "images"
        What ``X`` holds: images ``(n_samples, M, N)`` (or flattened), whose scattering is computed in batches;
        or their raw scattering coefficients, the output of ``scatter.grid.Scattering2D(J, shape, L,
        padding=padding)`` (``max_order=2``, ``out_type="array"``): ``(n_samples, C, H', W')`` with
        :math:`C = 1 + JL + L^2 J (J - 1) / 2` channels in that transform's order, or flattened
        ``(n_samples, C H' W')``, whose positions are then those of ``shape`` if given, else a square
        :math:`H' = W'`. The scattering, computed once, can so serve several models; the classifier applies to
        the coefficients what it applies after its own scattering (orientation tensor, logarithm), and gives
        the same outputs as on the images (see Notes).
    log_eps : float, default 1e-3
        Orders 1 and 2 enter the head as :math:`\log(\epsilon + S)`.
    hidden : sequence of int, default (32, 32)
        Widths of the head's layers.
    kernel_size : {1, 3}, default 1
        Spatial kernel of the head's layers. A layer costs ``C L x O L`` multiply-adds per position and
        spatial tap, so 3x3 kernels make training nine times slower.
    max_epochs : int, default 30
        Passes over the training data.
    batch_size : int, default 128
        Mini-batch size.
    learning_rate : float, default 3e-3
        Adam's step size.
    weight_decay : float, default 1e-4
        Adam's L2 penalty, or with ``decoupled_weight_decay`` the rate at which AdamW shrinks the weights.
    decoupled_weight_decay : bool, default False
        Decay the weights apart from Adam's adaptive step (AdamW) instead of adding an L2 penalty to the loss.
    label_smoothing : float, default 0.0
        :math:`\epsilon` in ``[0, 1)``: train towards :math:`1 - \epsilon + \epsilon / K` for the true class
        and :math:`\epsilon / K` for each of the others instead of one-hot targets.
    dropout : float, default 0.0
        Probability of zeroing each invariant before the linear classifier in training (see
        :class:`CyclicHead2D`).
    learning_rate_schedule : {"constant", "cosine"}, default "constant"
        The learning rate over training: constant, or decaying after every mini-batch as
        :math:`\tfrac12 (1 + \cos(\pi t / T))` over the :math:`T` mini-batches of ``max_epochs`` epochs
        (early stopping may end training before it reaches 0).
    early_stopping : bool, default True
        Hold out ``validation_fraction`` of the training data (stratified), keep the weights of the epoch
        with the best validation accuracy and stop after ``n_iter_no_change`` epochs without improvement.
    validation_fraction : float, default 0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int, default 5
        Patience of early stopping.
    batch_norm_batches : int, default 0
        Recompute the running statistics of the batch normalisations as the plain means of their statistics
        over this many training batches, with the epoch's final weights: after every epoch with early
        stopping (before its validation), after the last one without (``0``: keep torch's exponential running
        averages, which mostly reflect the last ten batches).
    random_state : int, RandomState instance or None, default None
        Seeds the weights, the shuffling and the validation split.
    verbose : bool, default False
        A progress bar over the epochs.
    n_threads : int, optional
        torch's intra-op threads while fitting and predicting (restored afterwards); by default torch's
        setting. One thread is often fastest for small heads, and much faster on a busy machine.

    Attributes
    ----------
    classes_ : ndarray
        Class labels.
    scattering_ : scatter.Scattering2D
        The fixed transform (``input="images"``).
    shape_ : tuple of int
        Image shape (``input="images"``).
    coefficients_shape_ : tuple of int
        ``(C, H', W')``: the scattering coefficients of one image, the head's input before the orientation
        tensor.
    head_ : CyclicHead2D
        The trained head, in evaluation mode.
    loss_curve_ : list of float
        Mean training loss per epoch.
    validation_scores_ : list of float
        Validation accuracy per epoch (with early stopping).
    n_epochs_ : int
        Epochs run.

    Notes
    -----
    The head reads :math:`T = \mathrm{orientation\_tensor}(S)` (:func:`orientation_tensor`) with orders 1 and 2
    replaced by :math:`\log(\epsilon + |T|)`, in float32. Images are scattered in float32: the coefficients
    of the float32 images give the very same head input, hence the same fitted head and outputs for the same
    ``random_state``; those of float64 images agree to float32 rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.grid import Scattering2D
    >>> from scatter.head import ScatteringHeadClassifier
    >>> images = np.random.default_rng(0).random((40, 8, 8), dtype=np.float32)
    >>> y = np.arange(40) % 2
    >>> S = Scattering2D(1, (8, 8), L=4, padding="periodic")(images)
    >>> S.shape
    (40, 5, 4, 4)
    >>> params = dict(J=1, L=4, padding="periodic", hidden=(4,), max_epochs=2, random_state=0)
    >>> on_images = ScatteringHeadClassifier(**params).fit(images, y)
    >>> on_coefficients = ScatteringHeadClassifier(input="coefficients", **params).fit(S, y)
    >>> np.allclose(on_coefficients.predict_proba(S), on_images.predict_proba(images))
    True
    """

    def __init__(
        self,
        J=2,
        L=8,
        shape=None,
        *,
        padding="reflect",
        input="images",
        log_eps=1e-3,
        hidden=(32, 32),
        kernel_size=1,
        dropout=0.0,
        max_epochs=30,
        batch_size=128,
        learning_rate=3e-3,
        weight_decay=1e-4,
        decoupled_weight_decay=False,
        label_smoothing=0.0,
        learning_rate_schedule="constant",
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=5,
        batch_norm_batches=0,
        random_state=None,
        verbose=False,
        n_threads=None,
    ):
        self.J = J
        self.L = L
        self.shape = shape
        self.padding = padding
        self.input = input
        self.log_eps = log_eps
        self.hidden = hidden
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.decoupled_weight_decay = decoupled_weight_decay
        self.label_smoothing = label_smoothing
        self.learning_rate_schedule = learning_rate_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.batch_norm_batches = batch_norm_batches
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    # -- parameters and input ----------------------------------------------------------------------------

    def _check_params(self):
        params = {
            "J": check_int(self.J, "J", min_value=1),
            "L": check_int(self.L, "L", min_value=1),
            "padding": check_choice(self.padding, "padding", _PADDINGS),
            "input": check_choice(self.input, "input", _INPUTS),
            "log_eps": check_real(self.log_eps, "log_eps", 0.0),
            "hidden": check_hidden(self.hidden),
            "dropout": check_real(self.dropout, "dropout", 0.0, 1.0, low_inclusive=True),
            **check_training_params(self),
        }
        if self.kernel_size not in (1, 3) or isinstance(self.kernel_size, bool):
            raise ValueError(f"kernel_size must be 1 or 3; got {self.kernel_size!r}")
        return params

    def _fit_images(self, X, y, p):
        """Validated images ``X`` (n, M N) and ``y``; sets the image shape and builds the transform."""
        X, sample_shape = _flatten_grids(X)
        X, y = validate_data(self, X, y, dtype=[np.float32, np.float64])
        check_classification_targets(y)
        shape = _image_shape(self.shape, X.shape[1], sample_shape)
        _check_image_side(p["J"], shape, f"(n_features={X.shape[1]})")
        self.shape_ = shape
        self.scattering_ = grid.Scattering2D(p["J"], shape, L=p["L"], padding=p["padding"])
        self.coefficients_shape_ = (self.scattering_.n_channels,) + tuple(self.scattering_.output_shape)
        self._meta = self.scattering_.meta()
        return X, y

    def _fit_coefficients(self, X, y, p):
        """Validated coefficients ``X`` (n, C H' W') and ``y``; sets the coefficients' shape ``(C, H', W')``."""
        channels = n_channels_2d(p["J"], p["L"], 2)
        X, sample_shape = _flatten_coefficients(X, channels)
        X, y = validate_data(self, X, y, dtype=[np.float32, np.float64])
        check_classification_targets(y)
        expected = f"(n_samples, {channels}, H', W') or (n_samples, {channels} H' W')"
        if sample_shape is not None and sample_shape[0] != channels:
            raise ValueError(
                f"X has coefficients of shape {(len(X),) + sample_shape}; J={p['J']}, L={p['L']} give "
                f"C = 1 + J L + L^2 J (J - 1) / 2 = {channels} channels: X must have shape {expected}"
            )
        if self.shape is not None:
            shape = check_shape(self.shape, "shape", 2)
            _check_image_side(p["J"], shape, "")
            core = grid.Scattering2D(p["J"], shape, L=p["L"], padding=p["padding"])
            coefficients_shape = (channels,) + tuple(core.output_shape)
            got = sample_shape or (X.shape[1],)
            if got not in (coefficients_shape, (math.prod(coefficients_shape),)):
                raise ValueError(
                    f"X has coefficients of shape {(len(X),) + got}; images of "
                    f"shape={shape} give (n_samples, {', '.join(map(str, coefficients_shape))}) or (n_samples, "
                    f"{math.prod(coefficients_shape)}) with J={p['J']}, L={p['L']}, padding={p['padding']!r}"
                )
        elif sample_shape is not None:
            coefficients_shape = sample_shape
        else:
            side = math.isqrt(X.shape[1] // channels)
            if side * side * channels != X.shape[1]:
                raise ValueError(
                    f"X has n_features={X.shape[1]}, which is no {channels} x H' x H' square coefficients; "
                    f"pass X of shape (n_samples, {channels}, H', W'), or shape=(M, N), the images' shape"
                )
            coefficients_shape = (channels, side, side)
        self.coefficients_shape_ = coefficients_shape
        self._meta = _channel_meta(p["J"], p["L"])
        return X, y

    def _check_input(self, X):
        """Validated ``X`` (n, n_features_in_) for a fitted classifier: images or coefficients as in ``fit``."""
        if self._input == "images":
            X, sample_shape = _flatten_grids(X)
            if sample_shape is not None and sample_shape != self.shape_:
                raise ValueError(f"X has images of shape {sample_shape}; the classifier was fitted on {self.shape_}")
        else:
            X, sample_shape = _flatten_coefficients(X, self.coefficients_shape_[0])
            if (sample_shape is not None and sample_shape != self.coefficients_shape_) or (
                sample_shape is None and X.shape[1] != self.n_features_in_
            ):
                got = (X.shape[0],) + (sample_shape or (X.shape[1],))
                raise ValueError(
                    f"X has coefficients of shape {got}; the classifier was fitted on (n_samples, "
                    f"{', '.join(map(str, self.coefficients_shape_))}) or (n_samples, {self.n_features_in_})"
                )
        return validate_data(self, X, reset=False, dtype=[np.float32, np.float64])

    def _features(self, X):
        """The head's input: orientation tensors of the validated ``X`` (n, n_features_in_), as float32 torch
        tensors, in batches (scattering the images first)."""
        parts = []
        for start in range(0, len(X), 1024):
            batch = X[start : start + 1024]
            if self._input == "images":
                S = self.scattering_(batch.reshape((-1,) + self.shape_).astype(np.float32, copy=False))
            else:
                S = batch.reshape((-1,) + self.coefficients_shape_)
            T = orientation_tensor(S, self._meta, self._J, self._L)
            T = T.astype(np.float32)  # a copy: order 0 is a broadcast view
            T[:, 1:] = np.log(np.abs(T[:, 1:]) + self._log_eps)
            parts.append(torch.from_numpy(T))
        return torch.cat(parts)

    # -- scikit-learn API --------------------------------------------------------------------------------

    def fit(self, X, y):
        """Compute the scattering of ``X`` once (unless given), then train the head on it.

        Parameters
        ----------
        X : array-like
            Images ``(n_samples, H W)`` or ``(n_samples, H, W)``; or, with ``input="coefficients"``, their
            scattering coefficients ``(n_samples, C, H', W')`` or ``(n_samples, C H' W')``.
        y : array-like, shape (n_samples,)
            Labels.

        Returns
        -------
        self : object

        Raises
        ------
        ValueError
            For an invalid parameter, images too small for ``J``, or coefficients of another shape than the
            scattering with these ``J``, ``L`` (and ``shape``, ``padding``) gives.
        """
        p = self._check_params()
        self._input = p["input"]
        if self._input == "images":
            X, y = self._fit_images(X, y, p)
        else:
            X, y = self._fit_coefficients(X, y, p)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self._J, self._L = p["J"], p["L"]
        self._log_eps, self._n_threads = p["log_eps"], p["n_threads"]
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        # The weights are drawn from torch's global generator: seed it without disturbing the caller's stream.
        with torch.random.fork_rng(devices=[]), torch_threads(p["n_threads"]):
            torch.manual_seed(seed)
            self._train(X, codes, p, torch.Generator().manual_seed(seed), seed)
        return self

    def _train(self, X, codes, p, generator, seed):
        n_classes = len(self.classes_)
        train_idx, valid_idx = split_validation(codes, n_classes, p["validation_fraction"], self.early_stopping, seed)
        features = self._features(X)
        labels = torch.as_tensor(codes, dtype=torch.long)
        grid_side = features.shape[-1] if features.shape[-1] == features.shape[-2] else None
        pool = "orbits" if grid_side is not None else "mean"
        head = CyclicHead2D(
            features.shape[1], n_classes, p["L"], p["hidden"], self.kernel_size, grid_side, pool, p["dropout"]
        )
        self.head_, self.loss_curve_, self.validation_scores_ = train_classifier(
            head, features, labels, train_idx, valid_idx, p, generator, verbose=self.verbose
        )
        self.n_epochs_ = len(self.loss_curve_)

    def _logits(self, X):
        check_is_fitted(self)
        X = self._check_input(X)
        with torch.no_grad(), torch_threads(self._n_threads):
            return self.head_(self._features(X)).double().numpy()


def _flatten_coefficients(X, channels):
    """``X`` as ``(n_samples, n_features)`` for scikit-learn's validation, and the per-sample shape ``(C, H', W')``
    of 4-D coefficients (``None`` for flattened ones); a ValueError for any other layout or a non-real dtype."""
    if not hasattr(X, "ndim"):
        X = np.asarray(X)
    dtype = getattr(X, "dtype", None)
    if X.ndim not in (2, 4) or (isinstance(dtype, np.dtype) and dtype.kind not in "biuf"):
        raise ValueError(
            f"input='coefficients' needs X of real scattering coefficients of shape (n_samples, {channels}, "
            f"H', W') or (n_samples, {channels} H' W'), as returned by scatter.grid.Scattering2D(J, shape, L, "
            f"padding); got {X.ndim}-D X of dtype {dtype} and shape {X.shape}"
        )
    if X.ndim == 4:
        X = np.asarray(X)
        return X.reshape(X.shape[0], -1), tuple(X.shape[1:])
    return X, None


def _check_image_side(J, shape, detail):
    if 2**J > min(shape):
        raise ValueError(
            f"J={J} needs images of at least 2^J = {2**J} pixels per side; got shape {shape}"
            + (f" {detail}" if detail else "")
        )


def _channel_meta(J, L):
    """``meta()`` of the 2D scattering with ``J`` scales and ``L`` orientations (order 2): the channels' paths.

    They depend on ``J`` and ``L`` only, so the transform of the smallest images, which is cheap to build,
    describes the coefficients of images of any shape.
    """
    return grid.Scattering2D(J, (2**J, 2**J), L=L, padding="periodic").meta()
