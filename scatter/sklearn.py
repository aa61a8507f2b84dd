r"""scikit-learn transformers over the grid scattering transforms.

:class:`Scattering1D` and :class:`Scattering2D` take the main parameters of ``kymatio.sklearn`` (``J``,
``shape``, ``Q``/``L``, ``T``, ``max_order``) and behave as scikit-learn transformers: ``__init__`` only
stores its arguments, ``fit`` validates them, infers the signal shape when it is not given and builds the
transform (``scattering_``), and ``transform`` maps ``(n_samples, n_features)`` (or ``(n_samples, *shape)``)
to ``(n_samples, n_output_features_)``, with named output features.

``transform`` works through the samples in batches of ``batch_size``, writing each batch's features into one
preallocated output, so that its memory beyond the output is bounded by the batch size; with
``n_jobs != 1`` the batches run concurrently in threads (the FFTs and Numba kernels release the GIL), or, under
``joblib.parallel_backend("dask")``, as tasks on the Dask cluster.

Dask arrays chunked along the samples are transformed lazily: ``fit`` reads only their shape and dtype, and
``transform`` returns a dask array with one task per input chunk (see :meth:`_ScatteringTransformer.transform`).
Dask is optional: it is imported only when it is already in use.

Optional post-processing, in this order: normalisation of order 2 by order 1, pooling over orientations
(2D), global spatial averaging, then the logarithm. See the Notes of each class for the formulas.
``transform_coefficients`` applies it to raw coefficients computed beforehand (``scattering_(X)``), so that one
scattering pass can feed several transformers or classifiers.
"""

import copy
import math
import numbers
import sys

import numpy as np
from joblib import Parallel, cpu_count, delayed, effective_n_jobs
from scipy import fft as sp_fft
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import grid
from ._validation import check_choice, check_int, check_shape

__all__ = ["Scattering1D", "Scattering2D"]

_SPATIAL = ("local", "global")
_ORIENTATIONS = ("none", "average", "fourier")
_DTYPES = (np.float64, np.float32)


def _check_positive_real(value, name, allow_none=False):
    """Return ``value`` as a float > 0 (or ``None`` when allowed); ``TypeError``/``ValueError`` naming it."""
    if value is None and allow_none:
        return None
    allowed = "None or a real number > 0" if allow_none else "a real number > 0"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {allowed}; got {value!r} of type {type(value).__name__}")
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return float(value)


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r} of type {type(value).__name__}")
    return bool(value)


def _check_n_jobs(n_jobs):
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be None or a non-zero integer; got {n_jobs!r} of type {type(n_jobs).__name__}")
    if n_jobs == 0:
        raise ValueError("n_jobs must be None or a non-zero integer (-1: all CPUs); got 0")
    return int(n_jobs)


def _threads_per_job(n_jobs):
    """Threads of the core transform of each of ``n_jobs`` concurrent batches: the CPUs, shared."""
    return max(1, cpu_count() // effective_n_jobs(n_jobs))


def _is_dask_array(X):
    """Whether ``X`` is a dask array; never imports dask (without ``dask.array`` loaded, nothing can be one)."""
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(X, dask_array.Array)


def _joblib_dask_backend():
    """The active joblib backend if it is Dask's (``joblib.parallel_backend("dask")``), else ``None``."""
    joblib_dask = sys.modules.get("joblib._dask")
    if joblib_dask is None:
        return None
    from joblib.parallel import get_active_backend

    backend = get_active_backend()[0]
    return backend if isinstance(backend, joblib_dask.DaskDistributedBackend) else None


def _transform_rows(X, transformer):
    """Features of validated rows ``X`` (n, n_features_in_) by a fitted ``transformer``: one task's work."""
    return transformer._transform_validated(X)


def _transform_block(block, transformer):
    """Features of one chunk of a dask array (validated here, on the worker, as :meth:`transform` does)."""
    block = block.reshape(block.shape[0], -1)
    X = check_array(block, dtype=list(_DTYPES), input_name="X")
    return transformer._transform_validated(X)


def _validation_dtype(X):
    """``dtype`` for scikit-learn's validation of ``X``: integer and boolean arrays are kept as they are (each
    batch is cast to float64 when it is transformed, so no float64 copy of the whole input is made); anything
    else is cast to float32 or float64."""
    dtype = getattr(X, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":
        return None
    return list(_DTYPES)


def _flatten_grids(X):
    """``X`` as ``(n_samples, n_features)`` for scikit-learn's validation (which takes 2-D input only), and the
    per-sample grid shape when ``X`` came as ``(n_samples, A, B)`` images or maps (``None`` otherwise)."""
    if not hasattr(X, "ndim"):  # lists, array-likes: DataFrames and sparse matrices have an ndim
        X = np.asarray(X)
    if X.ndim == 3:
        X = np.asarray(X)
        return X.reshape(X.shape[0], X.shape[1] * X.shape[2]), X.shape[1:]
    return X, None


def _image_shape(shape, n_features, sample_shape):
    """The image shape ``(M, N)``: ``shape`` checked against the data, else the images' own, else a square."""
    if shape is not None:
        checked = check_shape(shape, "shape", 2)
        if sample_shape is not None and sample_shape != checked:
            raise ValueError(f"X has images of shape {sample_shape}; shape={shape!r}")
        if math.prod(checked) != n_features:
            raise ValueError(f"X has n_features={n_features}; shape={shape!r} needs {math.prod(checked)}")
        return checked
    if sample_shape is not None:
        return sample_shape
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ValueError(
            f"shape=None infers square images from flattened input, but n_features={n_features} is not a "
            "perfect square; pass shape=(M, N) or images of shape (n_samples, M, N)"
        )
    return (side, side)


def _parent_channels(meta):
    """Order-2 channels and the order-1 channel of each one's first wavelet (its parent), from ``meta["key"]``."""
    index = {key: c for c, key in enumerate(meta["key"])}
    order2 = [c for c, key in enumerate(meta["key"]) if len(key) == 2]
    parents = [index[meta["key"][c][:1]] for c in order2]
    return np.array(order2, dtype=np.intp), np.array(parents, dtype=np.intp)


def _normalize_order2(S, order2, parents, eps):
    """``S[:, c] /= |S[:, parent(c)]| + eps`` for the order-2 channels ``c``, in place."""
    if order2.size:
        S[:, order2] /= np.abs(S[:, parents]) + eps


def _path_2d(meta, c):
    """Path of 2D channel ``c`` as ``[(j1, theta1), ...]``, from the core's ``meta()``."""
    order = meta["order"][c]
    return [(int(j), int(t)) for j, t in zip(meta["j"][c, :order], meta["theta"][c, :order])]


def _rotation_orbits(meta, J, L):
    r"""Channel indices of the 2D paths grouped by rotation.

    Returns
    -------
    orbits1 : ndarray, shape (J, L)
        ``orbits1[j1, theta1]``: channel of :math:`S_1(j_1, \theta_1)`.
    pairs : list of (j1, j2)
        Scale pairs of order 2, ``j2 > j1``, in lexicographic order.
    orbits2 : ndarray, shape (len(pairs), L, L)
        ``orbits2[p, theta1, delta]``: channel of :math:`S_2(j_1, \theta_1, j_2, \theta_1 + \delta \bmod L)`.
    """
    channel = {tuple(v for step in _path_2d(meta, c) for v in step): c for c in range(len(meta["order"]))}
    orbits1 = np.array([[channel[j1, t] for t in range(L)] for j1 in range(J)], dtype=np.intp)
    pairs = [(j1, j2) for j1 in range(J) for j2 in range(j1 + 1, J) if (j1, 0, j2, 0) in channel]
    orbits2 = np.array(
        [[[channel[j1, t, j2, (t + d) % L] for d in range(L)] for t in range(L)] for j1, j2 in pairs], dtype=np.intp
    ).reshape(len(pairs), L, L)
    return orbits1, pairs, orbits2


def _pool_orientations(S, orbits1, orbits2, how):
    """Average, or modulus of the real DFT, over the rotation index (axis of ``theta1``) of every orbit.

    ``S`` has shape ``(B, C, *positions)``; the result has channels ``order 0``, then order 1 by ``(j1[, k])``,
    then order 2 by ``(j1, j2, delta[, k])``.
    """
    n_batch, positions = S.shape[0], S.shape[2:]
    pooled = [S[:, :1]]
    for orbits in (orbits1, orbits2):
        if orbits.size == 0:
            continue
        # orbits1: (J, L) -> (B, J, L, *P); orbits2: (P, L, L) -> (B, P, L, L, *P); the rotation axis is 2.
        values = S[:, orbits]
        if how == "average":
            values = values.mean(axis=2)
        else:
            values = np.abs(sp_fft.rfft(values, axis=2))
            if orbits.ndim == 3:
                # (B, P, K, delta, ...) -> (B, P, delta, K, ...): k varies fastest, as in the feature names.
                values = np.swapaxes(values, 2, 3)
        pooled.append(values.reshape((n_batch, -1) + positions))
    return np.concatenate(pooled, axis=1)


def _position_suffixes(positions, axes):
    """``"_y=0_x=0"``, ``"_y=0_x=1"``, ... in C order over a grid of ``positions`` named by ``axes``."""
    return ["".join(f"_{a}={i}" for a, i in zip(axes, index)) for index in np.ndindex(*positions)]


def _postprocess(S, layout, params):
    """The optional post-processing of a batch ``S`` (B, C, *positions), in the order of the class Notes."""
    if params["normalize_order2"]:
        _normalize_order2(S, layout["order2"], layout["parents"], params["normalize_eps"])
    if params["orientation"] != "none":
        S = _pool_orientations(S, layout["orbits1"], layout["orbits2"], params["orientation"])
    if params["spatial"] == "global":
        S = S.mean(axis=tuple(range(2, S.ndim)))
    if params["log_eps"] is not None:
        # Order 0 (channel 0), a local average of the signed input, is left as is.
        moduli = S[:, 1:]
        np.abs(moduli, out=moduli)
        moduli += params["log_eps"]
        np.log(moduli, out=moduli)
    return S


class _ScatteringTransformer(TransformerMixin, BaseEstimator):
    """Fit, batched transform, feature names and tags shared by the scattering transformers.

    Subclasses define ``_fit_shape`` (the signal shape from ``X``) and ``_build`` (the transform and the
    layout of the post-processed channels), and may override ``_flatten`` and ``_check_params``;
    :class:`SphericalScattering` overrides ``fit`` (its grid and bandlimit replace ``J`` and ``shape``).
    """

    def _flatten(self, X):
        """Input as ``(n_samples, n_features)`` for validation, and the per-sample shape it had if it had one."""
        return X, None

    def _check_params(self):
        """The post-processing and batching parameters, validated, as :meth:`transform` uses them."""
        return {
            "normalize_order2": _check_bool(self.normalize_order2, "normalize_order2"),
            "normalize_eps": _check_positive_real(self.normalize_eps, "normalize_eps"),
            "orientation": "none",
            "spatial": check_choice(self.spatial, "spatial", _SPATIAL),
            "log_eps": _check_positive_real(self.log_eps, "log_eps", allow_none=True),
            "batch_size": check_int(self.batch_size, "batch_size", min_value=1),
            "n_jobs": _check_n_jobs(self.n_jobs),
        }

    def fit(self, X, y=None):
        """Validate the parameters, infer the signal shape if needed and build the scattering transform.

        Parameters
        ----------
        X : array-like or dask array, shape (n_samples, n_features) or (n_samples, *shape)
            Training signals; only their shape is used (a dask array is not computed).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.

        Raises
        ------
        TypeError, ValueError
            For an invalid parameter (the message names it), or signals too small for ``J``.
        """
        params = self._check_params()
        if _is_dask_array(X):
            # Fitting reads the shape and dtype of a dask array and computes nothing.
            X, n_features, sample_shape = self._check_dask(X)
            validate_data(self, np.empty((0, n_features), X.dtype), skip_check_array=True)
        else:
            X, sample_shape = self._flatten(X)
            X = validate_data(self, X, dtype=_validation_dtype(X))
            n_features = X.shape[1]
        J = check_int(self.J, "J", min_value=1)
        shape = self._fit_shape(n_features, sample_shape)
        if 2**J > min(shape):
            raise ValueError(
                f"J={J} needs signals of at least 2^J = {2**J} samples per axis; got shape {shape} "
                f"(n_features={n_features}). Lower J or pass larger signals"
            )
        scattering, layout = self._build(shape, params["orientation"], _threads_per_job(params["n_jobs"]))
        if params["spatial"] == "global":
            layout["positions"] = ()
        self.scattering_ = scattering
        self.shape_ = shape
        self.n_output_features_ = len(layout["labels"]) * math.prod(layout["positions"])
        self._params, self._layout = params, layout
        return self

    def transform(self, X):
        """Scattering features of ``X``, one row per sample.

        Parameters
        ----------
        X : array-like or dask array, shape (n_samples, n_features) or (n_samples, *shape)
            Signals, flattened or not. float32 input gives float32 features; other real input is cast to
            float64. A dask array may be chunked along the samples only; chunks along the other axes are
            merged (lazily) into one, since every task transforms whole samples.

        Returns
        -------
        ndarray or dask array, shape (n_samples, n_output_features_)
            Features in the order of :meth:`get_feature_names_out`. For a dask array, a dask array computed
            lazily, with the input's chunks along the samples and one chunk of ``n_output_features_``
            columns: one task per input chunk, all sharing one copy of the fitted transformer (a single key
            in the graph, which each worker receives once). Non-finite values in a dask array raise when the
            chunk holding them is computed.

        Raises
        ------
        ValueError
            For samples of another shape than in :meth:`fit`, or non-finite values.
        TypeError
            For complex or non-numeric input.
        """
        check_is_fitted(self)
        if _is_dask_array(X):
            return self._transform_dask(X)
        X, sample_shape = self._flatten(X)
        self._check_sample_shape(sample_shape)
        X = validate_data(self, X, reset=False, dtype=_validation_dtype(X))
        return self._transform_validated(X)

    def _check_sample_shape(self, sample_shape):
        if sample_shape is not None and sample_shape != self.shape_:
            raise ValueError(f"X has samples of shape {sample_shape}; the transformer was fitted on {self.shape_}")

    def _check_dask(self, X):
        """A dask array as the tasks take it, its number of features and its per-sample shape (or ``None``).

        Every task transforms whole samples, so the axes after the first are merged into one chunk: a no-op
        when they already are (chunked along the samples only), a lazy rechunk otherwise.
        """
        n_dims = len(self._position_axes)
        allowed = "(n_samples, n_features)" + (" or (n_samples, M, N)" if n_dims == 2 else "")
        if X.ndim not in (2, 1 + n_dims):
            raise ValueError(f"X must be a dask array of shape {allowed}; got shape {X.shape}")
        if X.dtype.kind not in "biuf":
            raise TypeError(f"X must hold real numbers; got a dask array of dtype {X.dtype}")
        if any(math.isnan(size) for size in X.shape[1:]):
            raise ValueError(f"X must have known sizes on the axes after the first; got shape {X.shape}")
        X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})
        sample_shape = tuple(X.shape[1:]) if X.ndim > 2 else None
        return X, math.prod(X.shape[1:]), sample_shape

    def _for_tasks(self):
        """A shallow copy of the fitted transformer for tasks run in parallel by Dask.

        The copy shares the filters; its core transform runs on one thread and its batches in sequence,
        since the cluster already runs one task per worker thread.
        """
        shipped = copy.copy(self)
        shipped.scattering_ = copy.copy(self.scattering_)
        shipped.scattering_.workers = 1
        shipped._params = {**self._params, "n_jobs": None}
        return shipped

    def _transform_dask(self, X):
        """The lazy :meth:`transform` of a dask array: ``map_blocks`` over the chunks of samples."""
        import dask

        X, n_features, sample_shape = self._check_dask(X)
        self._check_sample_shape(sample_shape)
        validate_data(self, np.empty((0, n_features), X.dtype), reset=False, skip_check_array=True)
        dtype = X.dtype if X.dtype in _DTYPES else np.dtype(np.float64)
        n_out = self.n_output_features_
        # The transformer enters the graph once, under its own key; every task depends on that key, so that
        # a distributed worker receives (unpickles) the filters once and its tasks share them.
        transformer = dask.delayed(self._for_tasks(), pure=True)
        return X.map_blocks(
            _transform_block,
            transformer,
            dtype=dtype,
            chunks=(X.chunks[0], (n_out,)),
            drop_axis=list(range(2, X.ndim)),
            meta=np.empty((0, n_out), dtype),
        )

    def _transform_validated(self, X):
        """Features of validated ``X`` (n_samples, n_features_in_), in batches, as :meth:`transform` returns."""
        out = np.empty((X.shape[0], self.n_output_features_), np.float32 if X.dtype == np.float32 else np.float64)
        batch_size = self._params["batch_size"]
        batches = [slice(start, start + batch_size) for start in range(0, X.shape[0], batch_size)]
        n_jobs = effective_n_jobs(self._params["n_jobs"])
        backend = _joblib_dask_backend()
        if n_jobs == 1 or len(batches) == 1:
            for batch in batches:
                self._transform_batch(X[batch], out[batch])
        elif backend is not None:
            # Under joblib's Dask backend the batches run on the cluster and return their features. The
            # transformer is scattered once beforehand, not pickled into every task.
            [shipped] = backend.client.scatter([self._for_tasks()], broadcast=True, hash=False)
            parts = Parallel(n_jobs=n_jobs)(delayed(_transform_rows)(X[batch], shipped) for batch in batches)
            for batch, part in zip(batches, parts):
                out[batch] = part
        else:
            # Threads write into slices of ``out``: "sharedmem" keeps a user's process backend from copying it.
            Parallel(n_jobs=n_jobs, require="sharedmem")(
                delayed(self._transform_batch)(X[batch], out[batch]) for batch in batches
            )
        return out

    def _transform_batch(self, X, out):
        """Features of one batch ``X`` (B, n_features), written into ``out`` (B, n_output_features_)."""
        x = X.reshape((X.shape[0],) + self.shape_)
        self._postprocess_batch(self.scattering_(x), out)

    def _postprocess_batch(self, S, out):
        """Features of one batch of raw coefficients ``S`` (B, *coefficients shape), which may be overwritten,
        written into ``out`` (B, n_output_features_)."""
        out[...] = _postprocess(S, self._layout, self._params).reshape(out.shape)

    def _coefficients_shape(self):
        """Shape of the core transform's output for one sample: ``(C, *positions)``."""
        return (self.scattering_.n_channels,) + tuple(self.scattering_.output_shape)

    def transform_coefficients(self, S):
        """Features of signals from their raw scattering coefficients, without computing the scattering again.

        Parameters
        ----------
        S : array-like, shape (n_samples, C, *positions) or (n_samples, C * prod(positions))
            The output of the fitted core transform ``scattering_`` on the signals, or of any transform with the
            same parameters (e.g. :class:`scatter.grid.Scattering2D` with ``out_type="array"``, or this class
            with no post-processing), flattened or not. It is not modified.

        Returns
        -------
        ndarray, shape (n_samples, n_output_features_)
            What :meth:`transform` returns for these signals: float32 for float32 ``S``, float64 otherwise.

        Raises
        ------
        ValueError
            For ``S`` of another shape than the core transform's output, or non-finite or complex values.

        Notes
        -----
        ``transform(X)`` is ``transform_coefficients(scattering_(X))``: the post-processing of the class Notes
        runs on ``S`` in batches of ``batch_size`` samples (in sequence: it is cheap next to the scattering).
        The coefficients of one scattering pass can so feed several transformers, or a transformer and a
        classifier that reads the raw coefficients.

        Examples
        --------
        >>> import numpy as np
        >>> from scatter.sklearn import Scattering2D
        >>> X = np.random.default_rng(0).standard_normal((3, 16, 16))
        >>> scattering = Scattering2D(J=2, L=4, orientation="fourier", log_eps=1e-3).fit(X)
        >>> S = scattering.scattering_(X)
        >>> S.shape
        (3, 25, 4, 4)
        >>> np.array_equal(scattering.transform_coefficients(S), scattering.transform(X))
        True
        """
        check_is_fitted(self)
        expected = self._coefficients_shape()
        S = check_array(S, dtype=list(_DTYPES), allow_nd=True, input_name="S")
        if S.ndim == 2 and S.shape[1] == math.prod(expected):
            S = S.reshape((S.shape[0],) + expected)
        if S.shape[1:] != expected:
            allowed = ", ".join(map(str, expected))
            raise ValueError(
                f"S must hold the raw scattering coefficients of shape (n_samples, {allowed}) or (n_samples, "
                f"{math.prod(expected)}), the output of {self.scattering_!r}; got shape {S.shape}"
            )
        out = np.empty((S.shape[0], self.n_output_features_), S.dtype)
        batch_size = self._params["batch_size"]
        for start in range(0, S.shape[0], batch_size):
            # A copy of the batch: the post-processing works in place.
            self._postprocess_batch(S[start : start + batch_size].copy(), out[start : start + batch_size])
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str, optional
            Checked against ``feature_names_in_`` (if set) and ``n_features_in_``; the output names do not
            depend on it.

        Returns
        -------
        ndarray of str, shape (n_output_features_,)
            ``"order{m}"``, the path (see the class Notes) and, with ``spatial="local"``, the position, e.g.
            ``"order1_j1=0_theta1=3_y=2_x=1"``.
        """
        check_is_fitted(self)
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            if len(input_features) != self.n_features_in_:
                raise ValueError(
                    f"input_features should have length equal to number of features ({self.n_features_in_}), "
                    f"got {len(input_features)}"
                )
            names_in = getattr(self, "feature_names_in_", None)
            if names_in is not None and not np.array_equal(names_in, input_features):
                raise ValueError("input_features is not equal to feature_names_in_")
        positions = self._layout["positions"]
        suffixes = _position_suffixes(positions, self._position_axes) if positions else [""]
        return np.array([label + suffix for label in self._layout["labels"] for suffix in suffixes], dtype=object)

    def __sklearn_is_fitted__(self):
        # Only a fit that went through sets the layout (validate_data sets n_features_in_ before any check).
        return hasattr(self, "_layout")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class Scattering1D(_ScatteringTransformer):
    r"""1D scattering transform as a scikit-learn transformer (drop-in for ``kymatio.sklearn.Scattering1D``).

    Parameters
    ----------
    J : int
        Scale of the widest wavelets; the signals need at least :math:`2^J` samples.
    shape : int or tuple of int, optional
        Signal length ``N``; ``None`` takes the number of features seen in :meth:`fit`.
    Q : int or tuple of int, default 1
        Wavelets per octave at order 1, or ``(Q1, Q2)``.
    T : int, optional
        Averaging scale in samples, ``1 <= T <= N``; ``None`` means :math:`2^J`.
    max_order : {1, 2}, default 2
        Highest scattering order.
    padding : {"reflect", "periodic"}, default "reflect"
        Kymatio's mirror padding, or none (periodic; needs ``N`` a power of two).
    spatial : {"local", "global"}, default "local"
        ``"local"`` keeps the coefficients over time, ``"global"`` averages them over time.
    log_eps : float, optional
        If set, orders 1 and 2 become :math:`\log(\epsilon + |S|)` with :math:`\epsilon` = ``log_eps`` > 0
        (see Notes).
    normalize_order2 : bool, default False
        Divide every order-2 coefficient by its parent order-1 coefficient (see Notes).
    normalize_eps : float, default 1e-6
        The :math:`\epsilon_n > 0` of that division.
    batch_size : int, default 256
        Samples transformed at once; bounds the memory of :meth:`transform` beyond its output.
    n_jobs : int, optional
        Batches transformed concurrently, in threads (joblib semantics: ``None`` is 1, ``-1`` all CPUs). Each
        batch runs on ``cpu_count() // n_jobs`` threads of the core transform (its ``workers``), set in
        :meth:`fit`. Under ``joblib.parallel_backend("dask")`` the batches run as tasks on the Dask cluster
        instead, each on one thread. Dask arrays are transformed by Dask itself, one task per chunk.
    fft : {"pocketfft", "fftw"}, default "pocketfft"
        FFT library of the core transform (its ``fft``): ``"fftw"`` is faster, needs the ``fftw`` extra,
        and its features may differ between batch sizes in the last bits.

    Attributes
    ----------
    scattering_ : scatter.grid.Scattering1D
        The transform, built in :meth:`fit`.
    shape_ : tuple of int
        Signal shape ``(N,)``.
    n_features_in_ : int
        ``N``.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame seen in :meth:`fit`, if they were all strings.
    n_output_features_ : int
        Number of output features.

    Notes
    -----
    :math:`S x(p, t)` is the scattering of :func:`scatter.grid.scattering_1d` at path :math:`p` (``()``,
    ``(n1,)`` or ``(n1, n2)``, indices into the filter bank, ``n`` decreasing with frequency) and time
    :math:`t`. In order, and each only if asked:

    .. math::

        \tilde S x(n_1, n_2, t) = \frac{S x(n_1, n_2, t)}{|S x(n_1, t)| + \epsilon_n}, \qquad
        \bar S x(p) = \frac{1}{N'} \sum_{t=0}^{N'-1} S x(p, t), \qquad
        \log\big(\epsilon + |S x(p, \cdot)|\big) \quad (p \ne ()).

    Orders 1 and 2 are averages of moduli, non-negative but for the truncation of the filters, which can
    leave them slightly below zero: the absolute values keep the division and the logarithm defined, as in
    Kymatio's examples. The logarithm leaves order 0, a local average of the signed signal, as it is.

    Features are ordered by path (Kymatio's channel order), then time; they are named
    ``order0_t=5``, ``order1_n1=3_t=5``, ``order2_n1=3_n2=7_t=5`` (no ``_t`` suffix with
    ``spatial="global"``). The centre frequencies and widths of the filters ``n`` are in
    ``scattering_.meta()``.

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.sklearn import Scattering1D
    >>> X = np.random.default_rng(0).standard_normal((4, 256))
    >>> scattering = Scattering1D(J=4, Q=2, spatial="global").fit(X)
    >>> scattering.transform(X).shape
    (4, 20)
    >>> scattering.get_feature_names_out()[:3].tolist()
    ['order0', 'order1_n1=0', 'order1_n1=1']
    """

    _position_axes = ("t",)

    def __init__(
        self,
        J,
        shape=None,
        Q=1,
        T=None,
        max_order=2,
        *,
        padding="reflect",
        spatial="local",
        log_eps=None,
        normalize_order2=False,
        normalize_eps=1e-6,
        batch_size=256,
        n_jobs=None,
        fft="pocketfft",
    ):
        self.J = J
        self.shape = shape
        self.Q = Q
        self.T = T
        self.max_order = max_order
        self.padding = padding
        self.spatial = spatial
        self.log_eps = log_eps
        self.normalize_order2 = normalize_order2
        self.normalize_eps = normalize_eps
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.fft = fft

    def _fit_shape(self, n_features, sample_shape):
        if self.shape is None:
            return (n_features,)
        shape = check_shape(self.shape, "shape", 1)
        if shape[0] != n_features:
            raise ValueError(f"X has n_features={n_features}; shape={self.shape!r} needs {shape[0]}")
        return shape

    def _build(self, shape, orientation, n_threads):
        scattering = grid.Scattering1D(
            self.J, shape, Q=self.Q, T=self.T, max_order=self.max_order, padding=self.padding, workers=n_threads,
            fft=self.fft,
        )
        meta = scattering.meta()
        order2, parents = _parent_channels(meta)
        labels = [f"order{len(key)}" + "".join(f"_n{i}={n}" for i, n in enumerate(key, 1)) for key in meta["key"]]
        return scattering, {"labels": labels, "positions": scattering.output_shape, "order2": order2, "parents": parents}


class Scattering2D(_ScatteringTransformer):
    r"""2D scattering transform as a scikit-learn transformer (drop-in for ``kymatio.sklearn.Scattering2D``).

    Parameters
    ----------
    J : int
        Number of scales; the images need at least :math:`2^J` pixels per side.
    shape : tuple of int, optional
        Image size ``(M, N)``. ``None`` infers it in :meth:`fit`: the trailing axes of a 3-D ``X``
        ``(n_samples, M, N)``, or a square :math:`\sqrt{n_{features}}` side if ``n_features`` is a perfect
        square (a ``ValueError`` otherwise).
    L : int, default 8
        Number of orientations.
    max_order : {1, 2}, default 2
        Highest scattering order.
    padding : {"reflect", "periodic"}, default "reflect"
        Kymatio's mirror padding, or none (periodic; needs ``M`` and ``N`` divisible by :math:`2^J`).
    orientation : {"none", "average", "fourier"}, default "none"
        Pooling over rotations by multiples of :math:`\pi / L` (see Notes): none, the mean, or the modulus of
        the discrete Fourier transform over the rotation (both rotation invariant).
    spatial : {"local", "global"}, default "local"
        ``"local"`` keeps the coefficients over positions, ``"global"`` averages them over positions.
    log_eps : float, optional
        If set, orders 1 and 2 become :math:`\log(\epsilon + |S|)` with :math:`\epsilon` = ``log_eps`` > 0
        (see Notes).
    normalize_order2 : bool, default False
        Divide every order-2 coefficient by its parent order-1 coefficient (see Notes).
    normalize_eps : float, default 1e-6
        The :math:`\epsilon_n > 0` of that division.
    batch_size : int, default 256
        Samples transformed at once; bounds the memory of :meth:`transform` beyond its output.
    n_jobs : int, optional
        Batches transformed concurrently, in threads (joblib semantics: ``None`` is 1, ``-1`` all CPUs). Each
        batch runs on ``cpu_count() // n_jobs`` threads of the core transform (its ``workers``), set in
        :meth:`fit`. Under ``joblib.parallel_backend("dask")`` the batches run as tasks on the Dask cluster
        instead, each on one thread. Dask arrays are transformed by Dask itself, one task per chunk.
    fft : {"pocketfft", "fftw"}, default "pocketfft"
        FFT library of the core transform (its ``fft``): ``"fftw"`` is faster, needs the ``fftw`` extra,
        and its features may differ between batch sizes in the last bits.

    Attributes
    ----------
    scattering_ : scatter.grid.Scattering2D
        The transform, built in :meth:`fit`.
    shape_ : tuple of int
        Image shape ``(M, N)``.
    n_features_in_ : int
        ``M N``.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame seen in :meth:`fit`, if they were all strings.
    n_output_features_ : int
        Number of output features.

    Notes
    -----
    :math:`S x(p, u)` is the scattering of :func:`scatter.grid.scattering_2d` at path :math:`p` and position
    :math:`u = (y, x)`, with paths :math:`()`, :math:`(j_1, \theta_1)` and :math:`(j_1, \theta_1, j_2,
    \theta_2)`, :math:`j_2 > j_1`, :math:`\theta \in \{0, \dots, L - 1\}` indexing angles :math:`\theta\pi/L`.
    In order, and each only if asked:

    .. math::

        \tilde S x(j_1, \theta_1, j_2, \theta_2, u) =
            \frac{S x(j_1, \theta_1, j_2, \theta_2, u)}{|S x(j_1, \theta_1, u)| + \epsilon_n}.

    Orientation pooling runs over the rotation :math:`r`, which maps :math:`\theta_1 \to \theta_1 + r` at
    order 1 and :math:`(\theta_1, \theta_2) \to (\theta_1 + r, \theta_2 + r)` at order 2, keeping the relative
    angle :math:`\delta = \theta_2 - \theta_1 \bmod L` (order 0 is unchanged). ``"average"``:

    .. math::

        \bar S x(j_1, u) = \frac{1}{L} \sum_{r=0}^{L-1} S x(j_1, r, u), \qquad
        \bar S x(j_1, j_2, \delta, u) = \frac{1}{L} \sum_{r=0}^{L-1} S x(j_1, r, j_2, r + \delta, u);

    ``"fourier"``, for :math:`k = 0, \dots, \lfloor L/2 \rfloor` (the other frequencies repeat these):

    .. math::

        \hat S x(j_1, k, u) = \Big|\sum_{r=0}^{L-1} S x(j_1, r, u)\, e^{-2i\pi k r / L}\Big|, \qquad
        \hat S x(j_1, j_2, \delta, k, u) = \Big|\sum_{r=0}^{L-1} S x(j_1, r, j_2, r + \delta, u)\,
            e^{-2i\pi k r / L}\Big|.

    Then ``spatial="global"`` averages over the :math:`M' N'` positions, :math:`\frac{1}{M'N'}\sum_u`, and
    ``log_eps`` maps every coefficient :math:`s` of order 1 or 2 to :math:`\log(\epsilon + |s|)` (order 0,
    a local average of the signed image, is left as it is). The absolute values only matter where the
    truncation of the filters leaves an average of moduli slightly below zero.

    Features are ordered by channel, then ``y``, then ``x`` (Kymatio's output, flattened). Channel names:
    ``order0``, ``order1_j1=0_theta1=3``, ``order2_j1=0_theta1=3_j2=1_theta2=5`` (``orientation="none"``, in
    Kymatio's order); ``order1_j1=0``, ``order2_j1=0_j2=1_dtheta=3`` (``"average"``); ``order1_j1=0_k=2``,
    ``order2_j1=0_j2=1_dtheta=3_k=2`` (``"fourier"``), each followed by ``_y=2_x=1`` unless
    ``spatial="global"``.

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.sklearn import Scattering2D
    >>> X = np.random.default_rng(0).standard_normal((5, 16, 16))
    >>> scattering = Scattering2D(J=2, L=4, orientation="average", spatial="global").fit(X)
    >>> scattering.transform(X).shape
    (5, 7)
    >>> scattering.get_feature_names_out()[:4].tolist()
    ['order0', 'order1_j1=0', 'order1_j1=1', 'order2_j1=0_j2=1_dtheta=0']
    """

    _position_axes = ("y", "x")

    def __init__(
        self,
        J,
        shape=None,
        L=8,
        max_order=2,
        *,
        padding="reflect",
        orientation="none",
        spatial="local",
        log_eps=None,
        normalize_order2=False,
        normalize_eps=1e-6,
        batch_size=256,
        n_jobs=None,
        fft="pocketfft",
    ):
        self.J = J
        self.shape = shape
        self.L = L
        self.max_order = max_order
        self.padding = padding
        self.orientation = orientation
        self.spatial = spatial
        self.log_eps = log_eps
        self.normalize_order2 = normalize_order2
        self.normalize_eps = normalize_eps
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.fft = fft

    def _flatten(self, X):
        return _flatten_grids(X)

    def _check_params(self):
        params = super()._check_params()
        params["orientation"] = check_choice(self.orientation, "orientation", _ORIENTATIONS)
        return params

    def _fit_shape(self, n_features, sample_shape):
        return _image_shape(self.shape, n_features, sample_shape)

    def _build(self, shape, orientation, n_threads):
        scattering = grid.Scattering2D(
            self.J, shape, L=self.L, max_order=self.max_order, padding=self.padding, workers=n_threads,
            fft=self.fft,
        )
        meta = scattering.meta()
        J, L = scattering.J, scattering.L
        order2, parents = _parent_channels(meta)
        orbits1, pairs, orbits2 = _rotation_orbits(meta, J, L)
        if orientation == "none":
            labels = [
                f"order{len(path)}" + "".join(f"_j{i}={j}_theta{i}={t}" for i, (j, t) in enumerate(path, 1))
                for path in (_path_2d(meta, c) for c in range(len(meta["order"])))
            ]
        else:
            ks = [""] if orientation == "average" else [f"_k={k}" for k in range(L // 2 + 1)]
            labels = ["order0"]
            labels += [f"order1_j1={j1}{k}" for j1 in range(J) for k in ks]
            labels += [f"order2_j1={j1}_j2={j2}_dtheta={d}{k}" for j1, j2 in pairs for d in range(L) for k in ks]
        layout = {"labels": labels, "positions": scattering.output_shape, "order2": order2, "parents": parents}
        layout.update(orbits1=orbits1, orbits2=orbits2)
        return scattering, layout

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


# ---------------------------------------------------------------------------------------------------------
# Scattering on the sphere

__all__ += ["SphericalScattering"]

_SPHERE_SAMPLINGS = ("gl", "dh")
_SPHERE_OUTPUTS = ("invariant", "equivariant")


def _sphere_bandlimit(n_features, sampling):
    """The bandlimit ``L`` whose grid has ``n_features`` points (``L (2L - 1)`` for GL, ``4 L^2`` for DH), or None."""
    if sampling == "gl":
        L = (1 + math.isqrt(1 + 8 * n_features)) // 4
        return L if L * (2 * L - 1) == n_features else None
    L = math.isqrt(n_features // 4)
    return L if 4 * L * L == n_features else None


def _fit_sphere_bandlimit(L, n_features, sample_shape, sampling):
    """The bandlimit of the maps a spherical estimator is fitted on: ``L`` checked against them, or inferred."""
    from .sphere.sampling import grid_shape

    if L is not None:
        L = check_int(L, "L", min_value=2)
        shape = tuple(grid_shape(L, sampling))
        if math.prod(shape) != n_features or (sample_shape is not None and tuple(sample_shape) != shape):
            got = f"maps of shape {tuple(sample_shape)}" if sample_shape is not None else f"n_features={n_features}"
            raise ValueError(f"X has {got}; L={L} with sampling={sampling!r} needs maps of shape {shape}")
        return L
    L = _sphere_bandlimit(n_features, sampling)
    if L is None or L < 2 or (sample_shape is not None and tuple(sample_shape) != tuple(grid_shape(L, sampling))):
        layout = "L (2L - 1)" if sampling == "gl" else "4 L^2"
        raise ValueError(
            f"L=None infers the bandlimit from the grid, but n_features={n_features} is no {sampling!r} grid "
            f"of bandlimit L >= 2 (n_features = {layout}); pass L, or maps of shape (n_samples, *grid)"
        )
    return L


class SphericalScattering(_ScatteringTransformer):
    r"""Spherical scattering (rotation invariant or equivariant) as a scikit-learn transformer.

    Each sample is a real map on a sphere grid, flattened (``n_features`` = number of grid points) or not
    (``X`` of shape ``(n_samples, *grid)``); the output is :class:`scatter.sphere.scattering.SphericalScattering`
    of it, flattened, with optional post-processing.

    Parameters
    ----------
    L : int, optional
        Bandlimit of the maps; ``None`` infers it in :meth:`fit` from the grid: ``n_features = L (2L - 1)``
        (``"gl"``) or ``4 L^2`` (``"dh"``), or the trailing shape of a 3-D ``X``.
    J0 : int, default 0
        Coarsest wavelet scale (see the core class).
    lam : float, default 2.0
        Dilation factor :math:`\lambda > 1`.
    max_order : {0, 1, 2}, default 2
        Highest scattering order.
    sampling : {"gl", "dh"}, default "gl"
        Grid of the maps: Gauss-Legendre ``(L, 2L - 1)`` or Driscoll-Healy ``(2L, 2L)``.
    output : {"invariant", "equivariant"}, default "invariant"
        One rotation-invariant mean per path, or per path the low-passed map on the GL grid of bandlimit
        :math:`\min(L, \lceil\lambda^{J_0}\rceil)`.
    J : int, optional
        Finest wavelet scale; ``None``: the smallest with :math:`\lambda^J \ge L - 1`.
    oversampling : float, optional
        Bandlimit factor of the grids where the moduli are taken (accuracy of the invariance); ``None``:
        :func:`scatter.sphere.scattering.default_oversampling`, ``max(4, 128 / L)``.
    log_eps : float, optional
        If set, orders 1 and 2 become :math:`\log(\epsilon + |S|)` (see Notes).
    normalize_order2 : bool, default False
        Divide every order-2 coefficient by its parent order-1 coefficient (``output="invariant"`` only).
    normalize_eps : float, default 1e-6
        The :math:`\epsilon_n > 0` of that division.
    batch_size : int, default 256
        Samples transformed at once; bounds the memory of :meth:`transform` beyond its output.
    n_jobs : int, optional
        Batches transformed concurrently, in threads (joblib semantics: ``None`` is 1, ``-1`` all CPUs).

    Attributes
    ----------
    scattering_ : scatter.sphere.scattering.SphericalScattering
        The transform, built in :meth:`fit`.
    L_ : int
        Bandlimit of the maps.
    shape_ : tuple of int
        Grid shape of one map.
    n_features_in_ : int
        Grid points per map.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame seen in :meth:`fit`, if they were all strings.
    n_output_features_ : int
        Number of output features.

    Notes
    -----
    :math:`S f(p)` is the core output at path :math:`p` (``()``, ``(j1,)`` or ``(j1, j2)`` with
    :math:`j_2 < j_1`, S2LET scales: :math:`j_2` is coarser). In order, each only if asked:

    .. math::

        \tilde S f(j_1, j_2) = \frac{S f(j_1, j_2)}{|S f(j_1)| + \epsilon_n}, \qquad
        \log\big(\epsilon + |S f(p)|\big) \quad (p \ne ()).

    Order 0, the mean (or low-pass) of the signed map, is left as it is by the logarithm.

    Features are ordered by path, then (equivariant output) by ring and longitude of the output grid. Names:
    ``order0``, ``order1_j1=3``, ``order2_j1=3_j2=1``, followed by ``_ring=2_lon=4`` for the equivariant
    output.

    Examples
    --------
    >>> import numpy as np
    >>> from scatter.sklearn import SphericalScattering
    >>> X = np.random.default_rng(0).standard_normal((4, 8 * 15))
    >>> scattering = SphericalScattering().fit(X)
    >>> scattering.L_, scattering.transform(X).shape
    (8, (4, 11))
    >>> scattering.get_feature_names_out()[:3].tolist()
    ['order0', 'order1_j1=0', 'order1_j1=1']
    """

    def __init__(
        self,
        L=None,
        J0=0,
        lam=2.0,
        max_order=2,
        *,
        sampling="gl",
        output="invariant",
        J=None,
        oversampling=None,
        log_eps=None,
        normalize_order2=False,
        normalize_eps=1e-6,
        batch_size=256,
        n_jobs=None,
    ):
        self.L = L
        self.J0 = J0
        self.lam = lam
        self.max_order = max_order
        self.sampling = sampling
        self.output = output
        self.J = J
        self.oversampling = oversampling
        self.log_eps = log_eps
        self.normalize_order2 = normalize_order2
        self.normalize_eps = normalize_eps
        self.batch_size = batch_size
        self.n_jobs = n_jobs

    _position_axes = ("ring", "lon")

    def _flatten(self, X):
        return _flatten_grids(X)

    def _check_params(self):
        # Orientation pooling and spatial averaging are the grid transforms'; the maps keep their positions.
        params = {
            "orientation": "none",
            "spatial": "local",
            "sampling": check_choice(self.sampling, "sampling", _SPHERE_SAMPLINGS),
            "output": check_choice(self.output, "output", _SPHERE_OUTPUTS),
            "log_eps": _check_positive_real(self.log_eps, "log_eps", allow_none=True),
            "normalize_order2": _check_bool(self.normalize_order2, "normalize_order2"),
            "normalize_eps": _check_positive_real(self.normalize_eps, "normalize_eps"),
            "batch_size": check_int(self.batch_size, "batch_size", min_value=1),
            "n_jobs": _check_n_jobs(self.n_jobs),
        }
        if params["normalize_order2"] and params["output"] != "invariant":
            raise ValueError("normalize_order2=True needs output='invariant'; got output='equivariant'")
        return params

    def fit(self, X, y=None):
        """Validate the parameters, infer the bandlimit if needed and build the spherical scattering.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features) or (n_samples, *grid)
            Training maps; only their shape is used.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        from .sphere.scattering import SphericalScattering as _Core

        params = self._check_params()
        X, sample_shape = self._flatten(X)
        X = validate_data(self, X, dtype=list(_DTYPES))
        L = _fit_sphere_bandlimit(self.L, X.shape[1], sample_shape, params["sampling"])
        core = _Core(
            L, self.J0, self.lam, self.max_order, params["sampling"], params["output"], J=self.J,
            oversampling=self.oversampling,
        )
        meta = core.meta()
        labels = [f"order{len(p)}" + "".join(f"_j{i}={j}" for i, j in enumerate(p, 1)) for p in meta["key"]]
        index = {key: c for c, key in enumerate(meta["key"])}
        order2 = np.array([c for c, key in enumerate(meta["key"]) if len(key) == 2], dtype=np.intp)
        parents = np.array([index[meta["key"][c][:1]] for c in order2], dtype=np.intp)
        positions = core.output_shape[1:]
        self.scattering_ = core
        self.L_ = L
        self.shape_ = core.grid_shape
        self.n_output_features_ = core.n_channels * math.prod(positions)
        self._params = params
        self._layout = {"labels": labels, "positions": positions, "order2": order2, "parents": parents}
        return self

    def _coefficients_shape(self):
        return tuple(self.scattering_.output_shape)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
