r"""Distortions of signals and images, for measuring the stability of representations.

Every function works on a batch (leading axes are batch axes), is seeded by ``random_state`` (``None``, an int,
a :class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`) and validates its parameters.

- Smooth random diffeomorphisms of controlled size (Petrini, Favero, Geiger & Wyart 2021, "Relative stability
  toward diffeomorphisms indicates performance in deep nets", arXiv:2105.02468): :func:`diffeo_coefficients`,
  :func:`diffeo_field`, :func:`diffeo_gradient_norm`, :func:`random_diffeo`, with
  :func:`temperature_for_displacement` / :func:`typical_displacement` relating the temperature to the typical
  displacement in pixels; :func:`time_warp` is the 1D analogue for signals.
- :func:`matched_noise`: additive Gaussian noise with the norm of a given distortion, image by image.
- :func:`warp`: an image resampled at displaced positions, :math:`x(u - \tau(u))`, by bilinear or cubic
  interpolation.
- Symmetries: :func:`translate` (integer or subpixel, circular or zero-padded), :func:`rotate`, :func:`dilate`.
- Sphere: :func:`random_rotations` (uniform on SO(3)), :func:`rotations_by_angle` (a given angle about random
  axes) and :func:`rotate_sphere`, which applies a rotation routine of the caller (the sphere module's) to a
  batch of spherical signals.

Conventions: images have shape ``(..., M, N)``, rows first (axis ``-2``, pointing down as displayed), columns
second; displacements are in pixels, ``displacement[..., 0, :, :]`` along the rows and ``[..., 1, :, :]``
along the columns.
"""

import math
import numbers

import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage

from ._validation import check_choice, check_int

__all__ = [
    "diffeo_coefficients",
    "diffeo_field",
    "diffeo_gradient_norm",
    "dilate",
    "matched_noise",
    "random_diffeo",
    "random_rotations",
    "rotate",
    "rotate_sphere",
    "rotations_by_angle",
    "temperature_for_displacement",
    "time_warp",
    "translate",
    "typical_displacement",
    "warp",
]

_BOUNDARIES = ("nearest", "zero", "circular")
_ORDERS = (1, 3)
# scipy.ndimage modes of the cubic path, one per boundary ("grid-" modes interpolate across the border).
_NDIMAGE_MODES = {"nearest": "nearest", "zero": "grid-constant", "circular": "grid-wrap"}


# ---------------------------------------------------------------------------------------------------------
# validation


def _check_real(value, name, *, min_value=None, strict=False, allow_array=False):
    """``value`` as a float (or a float array when ``allow_array``), finite and above ``min_value``."""
    if allow_array and not isinstance(value, numbers.Real):
        array = np.asarray(value)
        if array.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be a real number or an array of them; got {value!r}")
        values = array.astype(np.float64)
    else:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number; got {value!r} of type {type(value).__name__}")
        values = np.float64(value)
    bound = "" if min_value is None else (f" > {min_value}" if strict else f" >= {min_value}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite{bound}; got {value!r}")
    if min_value is not None and (np.any(values <= min_value) if strict else np.any(values < min_value)):
        raise ValueError(f"{name} must be{bound}; got {value!r}")
    return values if allow_array and values.ndim else float(values)


def _check_rng(random_state):
    """A NumPy ``Generator`` from ``None``, an int, a ``SeedSequence`` or a ``Generator``."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(random_state)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, (bool, np.bool_)):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer; got {random_state}")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        "random_state must be None, a non-negative int, a numpy.random.SeedSequence or a numpy.random.Generator; "
        f"got {random_state!r} of type {type(random_state).__name__}"
    )


def _check_array(x, name, min_ndim):
    """Real array of at least ``min_ndim`` axes, as float64 (or float32 if it was float32), finite."""
    x = np.asarray(x)
    if x.dtype.kind == "c":
        raise TypeError(f"{name} must be real; got complex dtype {x.dtype}")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array; got dtype {x.dtype}")
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions; got shape {x.shape}")
    dtype = np.float32 if x.dtype == np.float32 else np.float64
    x = np.asarray(x, dtype=dtype)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    return x


def _check_images(x, name="x"):
    """``x`` as ``(B, M, N)`` plus the batch shape to restore."""
    x = _check_array(x, name, 2)
    if min(x.shape[-2:]) < 2:
        raise ValueError(f"{name} must have images of at least 2 x 2 pixels; got shape {x.shape}")
    return x.reshape((-1,) + x.shape[-2:]), x.shape[:-2]


def _check_square(shape, name="x"):
    if shape[0] != shape[1]:
        raise ValueError(f"{name} must hold square images (the diffeomorphisms are drawn on [0, 1]^2); got {shape}")
    return shape[0]


def _check_cutoff(cutoff, n):
    cutoff = check_int(cutoff, "cutoff", min_value=1)
    if cutoff > n - 2:
        raise ValueError(
            f"cutoff must be at most n - 2 = {n - 2} for signals of {n} samples per axis (higher modes alias on "
            f"the grid); got {cutoff}"
        )
    return cutoff


def _per_sample(values, n_batch, batch_shape, name, width=None):
    """A scalar (or ``width``-vector) parameter broadcast to one value per sample of the flattened batch."""
    values = np.asarray(values, dtype=np.float64)
    tail = () if width is None else (width,)
    try:
        return np.broadcast_to(values, batch_shape + tail).reshape((n_batch,) + tail)
    except ValueError:
        what = "a scalar" if width is None else f"a {width}-vector"
        raise ValueError(
            f"{name} must be {what} or one per image (batch shape {batch_shape}); got shape {values.shape}"
        ) from None


# ---------------------------------------------------------------------------------------------------------
# resampling


def _bilinear(x, rows, cols, boundary):
    """``x[b]`` (B, M, N) at the positions ``(rows[b], cols[b])`` by bilinear interpolation."""
    n_batch, M, N = x.shape
    if boundary == "nearest":
        rows, cols = np.clip(rows, 0, M - 1), np.clip(cols, 0, N - 1)
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - r0, cols - c0
    r0, c0 = r0.astype(np.intp), c0.astype(np.intp)
    batch = np.arange(n_batch).reshape((n_batch,) + (1,) * (rows.ndim - 1))
    out = np.zeros(np.broadcast_shapes(rows.shape, cols.shape), np.result_type(x, rows))
    for dr, wr in ((0, 1 - fr), (1, fr)):
        for dc, wc in ((0, 1 - fc), (1, fc)):
            r, c = r0 + dr, c0 + dc
            if boundary == "circular":
                values = x[batch, r % M, c % N]
            else:
                inside = (r >= 0) & (r < M) & (c >= 0) & (c < N)
                values = x[batch, np.clip(r, 0, M - 1), np.clip(c, 0, N - 1)]
                if boundary == "zero":
                    values = np.where(inside, values, 0)
            out += wr * wc * values
    return out


def _resample(x, rows, cols, order, boundary):
    """``x`` (B, M, N) sampled at ``(rows, cols)`` (B, M', N'), in the dtype of ``x``."""
    if order == 1:
        out = _bilinear(x, rows, cols, boundary)
    else:
        mode = _NDIMAGE_MODES[boundary]
        out = np.empty(rows.shape, np.float64)
        for b in range(len(x)):
            out[b] = ndimage.map_coordinates(x[b].astype(np.float64), [rows[b], cols[b]], order=3, mode=mode)
    return out.astype(x.dtype, copy=False)


def warp(x, displacement, *, order=1, boundary="nearest"):
    r"""Images resampled at displaced positions: :math:`(L_\tau x)(u) = x(u - \tau(u))`.

    Parameters
    ----------
    x : array_like, shape (..., M, N)
        Images.
    displacement : array_like, shape (..., 2, M, N)
        :math:`\tau` in pixels: component 0 along the rows, 1 along the columns; its batch axes broadcast
        against those of ``x``.
    order : {1, 3}, default 1
        Bilinear interpolation, or cubic B-spline interpolation (``scipy.ndimage.map_coordinates``).
    boundary : {"nearest", "zero", "circular"}, default "nearest"
        Values read outside the image: the nearest border pixel (positions clamped to the image, as in
        Petrini et al.'s code), zero, or the periodic extension.

    Returns
    -------
    ndarray, shape (..., M, N)
        float32 for float32 input, float64 otherwise.

    Notes
    -----
    Pixel :math:`(k, l)` of the output is :math:`x` read at :math:`(k - \tau_0[k, l], l - \tau_1[k, l])`; at
    integer positions bilinear interpolation returns the pixel values exactly, so a zero displacement is the
    identity.

    Examples
    --------
    >>> x = np.arange(16.0).reshape(4, 4)
    >>> tau = np.zeros((2, 4, 4)); tau[1] = 1.0   # move the content one pixel to the right
    >>> warp(x, tau, boundary="zero")[0].tolist()
    [0.0, 0.0, 1.0, 2.0]
    """
    order = _check_order(order)
    boundary = check_choice(boundary, "boundary", _BOUNDARIES)
    images = _check_array(x, "x", 2)
    tau = _check_array(displacement, "displacement", 3)
    if tau.shape[-3:] != (2,) + images.shape[-2:]:
        raise ValueError(
            f"displacement must have shape (..., 2, {images.shape[-2]}, {images.shape[-1]}) for images of shape "
            f"{images.shape}; got {tau.shape}"
        )
    try:
        batch_shape = np.broadcast_shapes(images.shape[:-2], tau.shape[:-3])
    except ValueError:
        raise ValueError(
            f"the batch shapes of x {images.shape[:-2]} and displacement {tau.shape[:-3]} do not broadcast"
        ) from None
    images = np.broadcast_to(images, batch_shape + images.shape[-2:]).reshape((-1,) + images.shape[-2:])
    tau = np.broadcast_to(tau, batch_shape + tau.shape[-3:]).reshape((-1,) + tau.shape[-3:])
    M, N = images.shape[-2:]
    rows = np.arange(M, dtype=np.float64)[:, None] - tau[:, 0]
    cols = np.arange(N, dtype=np.float64)[None, :] - tau[:, 1]
    return _resample(images, rows, cols, order, boundary).reshape(batch_shape + (M, N))


def _check_order(order):
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, numbers.Integral) or order not in _ORDERS:
        raise ValueError(f"order must be 1 (bilinear) or 3 (cubic); got {order!r}")
    return int(order)


# ---------------------------------------------------------------------------------------------------------
# random diffeomorphisms


def _mode_weights(cutoff, ndim):
    r""":math:`1/\|k\|` for the modes :math:`k \in \{1..c\}^{ndim}` with :math:`\|k\| < c + 1/2`, 0 elsewhere."""
    k = np.arange(1, cutoff + 1, dtype=np.float64)
    grids = np.meshgrid(*([k] * ndim), indexing="ij")
    r = np.sqrt(sum(g**2 for g in grids))
    return np.where(r < cutoff + 0.5, 1.0 / r, 0.0)


def _mode_energy(cutoff, ndim):
    r""":math:`S_d(c) = \sum_{k \in \{1..c\}^d,\ \|k\| < c + 1/2} 1/\|k\|^2`."""
    return float(np.sum(_mode_weights(cutoff, ndim) ** 2))


def _sines(n, cutoff):
    """``s[k, i - 1] = sin(i pi u_k)`` on the grid ``u_k = k / (n - 1)``, and the cosines."""
    u = np.arange(n, dtype=np.float64) / (n - 1)
    phase = np.pi * u[:, None] * np.arange(1, cutoff + 1)[None, :]
    return np.sin(phase), np.cos(phase)


def diffeo_coefficients(n_fields, temperature, cutoff, *, random_state=None):
    r"""Random Fourier-sine coefficients of smooth displacement fields on :math:`[0, 1]^2`.

    Parameters
    ----------
    n_fields : int
        Number of independent fields (one per image to deform), ``>= 0``.
    temperature : float
        :math:`T \ge 0`; ``0`` gives the identity.
    cutoff : int
        :math:`c \ge 1`: the modes kept are :math:`i, j \ge 1` with :math:`\sqrt{i^2 + j^2} < c + 1/2`.
    random_state : None, int, SeedSequence or Generator
        Seed of the draw.

    Returns
    -------
    ndarray, shape (n_fields, 2, cutoff, cutoff)
        ``C[b, a, i - 1, j - 1]``: coefficient of mode :math:`(i, j)` of component ``a`` (0: rows, 1: columns),
        zero outside the disc of modes.

    Notes
    -----
    :math:`C_{ij} \sim \mathcal N(0, T / (i^2 + j^2))`, independent across modes, components and fields
    (Petrini et al. 2021): the maximum-entropy field at temperature :math:`T` of energy
    :math:`\sum_{ij} (i^2 + j^2) C_{ij}^2`, restricted to the low modes.
    """
    n_fields = check_int(n_fields, "n_fields", min_value=0)
    temperature = _check_real(temperature, "temperature", min_value=0)
    cutoff = check_int(cutoff, "cutoff", min_value=1)
    rng = _check_rng(random_state)
    weights = _mode_weights(cutoff, 2)
    return rng.standard_normal((n_fields, 2, cutoff, cutoff)) * weights * math.sqrt(temperature)


def _check_coefficients(coefficients, ndim):
    c = _check_array(coefficients, "coefficients", 1 + ndim + (ndim > 1)).astype(np.float64)
    shape = c.shape[-ndim:]
    if ndim == 2 and (c.shape[-3] != 2 or shape[0] != shape[1]):
        raise ValueError(f"coefficients must have shape (n_fields, 2, c, c); got {c.shape}")
    return c


def diffeo_field(coefficients, n):
    r"""Displacement fields in pixels on an ``n x n`` image, from :func:`diffeo_coefficients`.

    Parameters
    ----------
    coefficients : ndarray, shape (B, 2, c, c)
        Sine coefficients.
    n : int
        Image side in pixels, ``n >= c + 2``.

    Returns
    -------
    ndarray, shape (B, 2, n, n), float64
        :math:`\tau`, component 0 along the rows, 1 along the columns.

    Notes
    -----
    With :math:`u_k = k / (n - 1)`, :math:`k = 0, \dots, n - 1` (the border pixels sit at 0 and 1),

    .. math::

        \tau_a[k, l] = n \sum_{i, j} C_{a, ij} \sin(i \pi u_k) \sin(j \pi u_l),

    which vanishes on the border; the factor :math:`n` turns the displacement on :math:`[0, 1]^2` into pixels.
    """
    c = _check_coefficients(coefficients, 2)
    n = check_int(n, "n", min_value=3)
    _check_cutoff(c.shape[-1], n)
    s, _ = _sines(n, c.shape[-1])
    return n * np.einsum("baij,ki,lj->bakl", c, s, s, optimize=True)


def diffeo_gradient_norm(coefficients, n):
    r""":math:`\|\nabla\tau\|_\infty` of the fields of :func:`diffeo_field`, computed from the coefficients.

    Parameters
    ----------
    coefficients : ndarray, shape (B, 2, c, c)
        Sine coefficients.
    n : int
        Image side in pixels.

    Returns
    -------
    ndarray, shape (B,)
        The largest operator norm (largest singular value) of the Jacobian :math:`\partial\tau_a/\partial x_b`
        over the ``n x n`` pixel positions, in pixels of displacement per pixel (dimensionless).

    Notes
    -----
    Positions move by :math:`1/(n - 1)` per pixel, so

    .. math::

        \frac{\partial \tau_a}{\partial x_0}[k, l] = \frac{n}{n - 1} \sum_{ij} C_{a, ij}\, i\pi \cos(i\pi u_k)
        \sin(j\pi u_l)

    and likewise along the columns. For a 2x2 matrix :math:`A`,
    :math:`\|A\|_2^2 = \tfrac12\big(\|A\|_F^2 + \sqrt{\|A\|_F^4 - 4\det(A)^2}\big)`.
    """
    c = _check_coefficients(coefficients, 2)
    n = check_int(n, "n", min_value=3)
    cutoff = _check_cutoff(c.shape[-1], n)
    s, co = _sines(n, cutoff)
    ds = co * (np.pi * np.arange(1, cutoff + 1))
    scale = n / (n - 1)
    d0 = scale * np.einsum("baij,ki,lj->bakl", c, ds, s, optimize=True)  # d tau_a / d row
    d1 = scale * np.einsum("baij,ki,lj->bakl", c, s, ds, optimize=True)  # d tau_a / d column
    frob = d0[:, 0] ** 2 + d1[:, 0] ** 2 + d0[:, 1] ** 2 + d1[:, 1] ** 2
    det = d0[:, 0] * d1[:, 1] - d1[:, 0] * d0[:, 1]
    sigma2 = 0.5 * (frob + np.sqrt(np.maximum(frob**2 - 4 * det**2, 0.0)))
    return np.sqrt(sigma2.reshape(len(c), -1).max(axis=1))


def typical_displacement(temperature, n, cutoff, *, ndim=2):
    r"""Root-mean-square displacement in pixels of the random fields at a temperature (inverse of
    :func:`temperature_for_displacement`).

    Parameters
    ----------
    temperature : float
        :math:`T \ge 0`.
    n : int
        Signal length or image side in samples.
    cutoff : int
        :math:`c`, ``1 <= c <= n - 2``.
    ndim : {1, 2}, default 2
        Images (:func:`random_diffeo`) or 1D signals (:func:`time_warp`).

    Returns
    -------
    float
        :math:`\delta`; see :func:`temperature_for_displacement` for the relation.

    Examples
    --------
    >>> round(typical_displacement(temperature_for_displacement(0.6, 28, 3), 28, 3), 12)
    0.6
    """
    temperature = _check_real(temperature, "temperature", min_value=0)
    n = check_int(n, "n", min_value=3)
    cutoff = _check_cutoff(cutoff, n)
    return math.sqrt(temperature / _temperature_per_squared_pixel(n, cutoff, _check_ndim(ndim)))


def _check_ndim(ndim):
    if isinstance(ndim, (bool, np.bool_)) or ndim not in (1, 2):
        raise ValueError(f"ndim must be 1 (signals) or 2 (images); got {ndim!r}")
    return int(ndim)


def _temperature_per_squared_pixel(n, cutoff, ndim):
    """``T / delta^2`` (see :func:`temperature_for_displacement`)."""
    if ndim == 2:
        return 2.0 / ((n - 1) ** 2 * _mode_energy(cutoff, 2))
    return 2.0 / (n * (n - 1) * _mode_energy(cutoff, 1))


def temperature_for_displacement(delta, n, cutoff, *, ndim=2):
    r"""Temperature :math:`T` at which the random fields displace pixels by :math:`\delta` (RMS) on average.

    Parameters
    ----------
    delta : float
        Wanted typical displacement in pixels, ``>= 0``.
    n : int
        Image side (or signal length) in pixels.
    cutoff : int
        :math:`c`, ``1 <= c <= n - 2``.
    ndim : {1, 2}, default 2
        Images (:func:`random_diffeo`) or 1D signals (:func:`time_warp`).

    Returns
    -------
    float
        :math:`T`.

    Notes
    -----
    Define :math:`\delta^2 = \mathbb E\, \frac{1}{n^2} \sum_{k,l} \|\tau[k, l]\|^2` (the squared displacement,
    both components, averaged over the pixels and over the draws). The coefficients are independent with
    zero mean, so the cross terms vanish and

    .. math::

        \delta^2 = 2 n^2 T \sum_{ij} \frac{1}{i^2 + j^2}\, \overline{\sin^2(i\pi u)}\;\overline{\sin^2(j\pi u)},
        \qquad \overline{\sin^2(i\pi u)} = \frac1n \sum_{k=0}^{n-1} \sin^2\!\Big(\frac{i\pi k}{n-1}\Big)
        = \frac{n-1}{2n}

    for :math:`1 \le i < n - 1` (the cosine sum over a whole period vanishes), hence

    .. math::

        \delta^2 = \frac{(n-1)^2}{2}\, T\, S_2(c), \qquad
        S_2(c) = \sum_{i, j \ge 1,\ \sqrt{i^2+j^2} < c + 1/2} \frac{1}{i^2 + j^2}.

    Over the quarter disc :math:`S_2(c) \approx \frac{\pi}{2} \ln c + \text{const}`, which gives Petrini et
    al.'s approximation :math:`\delta^2 \approx \frac{\pi}{4} n^2 T \ln c`; the exact sum is used here
    (:math:`S_2(3) = 1.225` where :math:`\frac\pi2 \ln 3 = 1.726`). In 1D (:func:`time_warp`, one component,
    modes :math:`1 \le i \le c`): :math:`\delta^2 = \frac{n (n-1)}{2}\, T \sum_{i=1}^{c} i^{-2}`.

    Examples
    --------
    >>> T = temperature_for_displacement(0.6, n=28, cutoff=3)
    >>> round(T, 6)
    0.000806
    """
    delta = _check_real(delta, "delta", min_value=0)
    n = check_int(n, "n", min_value=3)
    cutoff = _check_cutoff(cutoff, n)
    return delta**2 * _temperature_per_squared_pixel(n, cutoff, _check_ndim(ndim))


def random_diffeo(x, temperature, cutoff, *, order=1, boundary="nearest", random_state=None, return_field=False):
    r"""Images deformed by independent smooth random diffeomorphisms (Petrini et al. 2021).

    Parameters
    ----------
    x : array_like, shape (..., n, n)
        Square images; each gets its own field.
    temperature : float
        :math:`T \ge 0` (see :func:`temperature_for_displacement` to set it from a displacement in pixels).
    cutoff : int
        :math:`c`, ``1 <= c <= n - 2``.
    order : {1, 3}, default 1
        Bilinear or cubic interpolation.
    boundary : {"nearest", "zero", "circular"}, default "nearest"
        See :func:`warp` (the field vanishes on the border, so this only matters within a pixel of it).
    random_state : None, int, SeedSequence or Generator
        Seed of the fields.
    return_field : bool, default False
        Also return the coefficients (for :func:`diffeo_field` and :func:`diffeo_gradient_norm`).

    Returns
    -------
    deformed : ndarray, shape (..., n, n)
        :math:`x(u - \tau(u))`.
    coefficients : ndarray, shape (B, 2, c, c)
        Only with ``return_field``; ``B`` is the number of images (the batch axes flattened).

    Notes
    -----
    :math:`\tau` is :func:`diffeo_field` of :func:`diffeo_coefficients`; see those for the formulas.

    Examples
    --------
    >>> x = np.random.default_rng(0).random((3, 16, 16))
    >>> y = random_diffeo(x, temperature_for_displacement(0.5, 16, 3), 3, random_state=0)
    >>> y.shape, bool(np.allclose(random_diffeo(x, 0.0, 3), x))
    ((3, 16, 16), True)
    """
    images, batch_shape = _check_images(x)
    n = _check_square(images.shape[-2:])
    cutoff = _check_cutoff(cutoff, n)
    coefficients = diffeo_coefficients(len(images), temperature, cutoff, random_state=random_state)
    tau = diffeo_field(coefficients, n)
    deformed = warp(images, tau, order=order, boundary=boundary).reshape(batch_shape + (n, n))
    return (deformed, coefficients) if return_field else deformed


def time_warp(x, temperature, cutoff, *, order=1, random_state=None, return_field=False):
    r"""1D signals deformed by independent smooth random time warps (the 1D analogue of :func:`random_diffeo`).

    Parameters
    ----------
    x : array_like, shape (..., n)
        Signals; each gets its own warp.
    temperature : float
        :math:`T \ge 0` (see :func:`temperature_for_displacement` with ``ndim=1``).
    cutoff : int
        :math:`c`, ``1 <= c <= n - 2``: modes :math:`1 \le i \le c`.
    order : {1, 3}, default 1
        Linear or cubic interpolation.
    random_state : None, int, SeedSequence or Generator
        Seed of the warps.
    return_field : bool, default False
        Also return the displacements :math:`\tau` (B, n) in samples.

    Returns
    -------
    warped : ndarray, shape (..., n)
        :math:`x(t - \tau(t))`, values outside the signal read from the nearest end.
    tau : ndarray, shape (B, n)
        Only with ``return_field``.

    Notes
    -----
    :math:`\tau[k] = n \sum_{i=1}^{c} C_i \sin(i \pi k / (n - 1))` with :math:`C_i \sim \mathcal N(0, T / i^2)`;
    it vanishes at both ends.
    """
    signals = _check_array(x, "x", 1)
    batch_shape, n = signals.shape[:-1], signals.shape[-1]
    if n < 3:
        raise ValueError(f"x must have signals of at least 3 samples; got shape {signals.shape}")
    signals = signals.reshape(-1, n)
    order = _check_order(order)
    temperature = _check_real(temperature, "temperature", min_value=0)
    cutoff = _check_cutoff(cutoff, n)
    rng = _check_rng(random_state)
    coefficients = rng.standard_normal((len(signals), cutoff)) * math.sqrt(temperature) / np.arange(1, cutoff + 1)
    s, _ = _sines(n, cutoff)
    tau = n * coefficients @ s.T
    # A 1D signal is an image of one row: resample it with the 2D code, rows fixed.
    positions = np.arange(n, dtype=np.float64) - tau
    out = _resample(signals[:, None, :], np.zeros_like(positions)[:, None, :], positions[:, None, :], order, "nearest")
    out = out.reshape(batch_shape + (n,))
    return (out, tau) if return_field else out


def matched_noise(x, distorted, *, random_state=None):
    r"""Images plus Gaussian noise with, image by image, the norm of a distortion: :math:`x + \eta`.

    Parameters
    ----------
    x : array_like, shape (B, ...)
        Original samples (first axis: the samples).
    distorted : array_like, same shape as ``x``
        Their distorted versions, e.g. :math:`\tau x` from :func:`random_diffeo`.
    random_state : None, int, SeedSequence or Generator
        Seed of the noise.

    Returns
    -------
    ndarray, same shape as ``x``
        :math:`x + \eta` with :math:`\eta = \|\tau x - x\|\, g / \|g\|`, :math:`g` white Gaussian, norms over
        all axes but the first.
    """
    x = _check_array(x, "x", 1)
    distorted = _check_array(distorted, "distorted", 1)
    if distorted.shape != x.shape:
        raise ValueError(f"distorted must have the shape of x {x.shape}; got {distorted.shape}")
    rng = _check_rng(random_state)
    axes = tuple(range(1, x.ndim))
    size = np.sqrt(np.sum((distorted.astype(np.float64) - x) ** 2, axis=axes, keepdims=True))
    g = rng.standard_normal(x.shape)
    g *= size / np.sqrt(np.sum(g**2, axis=axes, keepdims=True))
    return (x + g).astype(x.dtype, copy=False)


# ---------------------------------------------------------------------------------------------------------
# symmetries


def translate(x, shift, *, boundary="circular", order=1):
    r"""Images translated by ``shift = (rows, columns)`` pixels: :math:`y[k, l] = x[k - s_0, l - s_1]`.

    Parameters
    ----------
    x : array_like, shape (..., M, N)
        Images.
    shift : array_like, shape (2,) or (..., 2)
        Shift in pixels (positive: down and right), integer or not; one per image or one for all.
    boundary : {"circular", "zero"}, default "circular"
        ``"circular"``: periodic images, shifted by a Fourier phase ramp (band-limited interpolation; an integer
        shift is ``np.roll`` up to rounding). ``"zero"``: zero outside the image, interpolated with ``order``
        (exact for integer shifts).
    order : {1, 3}, default 1
        Interpolation of ``boundary="zero"``.

    Returns
    -------
    ndarray, shape (..., M, N)

    Notes
    -----
    Circular: :math:`\hat y(\omega) = \hat x(\omega)\, e^{-2i\pi(\omega_0 s_0 / M + \omega_1 s_1 / N)}` over the
    DFT frequencies :math:`\omega`, then the real part (for even sizes, the Nyquist terms of a non-integer
    shift are symmetrised that way).

    Examples
    --------
    >>> x = np.arange(9.0).reshape(3, 3)
    >>> bool(np.allclose(translate(x, (1, 2)), np.roll(x, (1, 2), axis=(0, 1))))
    True
    """
    boundary = check_choice(boundary, "boundary", ("circular", "zero"))
    order = _check_order(order)
    images, batch_shape = _check_images(x)
    s = _check_array(shift, "shift", 1)
    if s.shape[-1] != 2:
        raise ValueError(f"shift must have shape (2,) or (..., 2): (rows, columns); got {s.shape}")
    s = _per_sample(s, len(images), batch_shape, "shift", width=2)
    M, N = images.shape[-2:]
    if boundary == "circular":
        w0 = sp_fft.fftfreq(M)[None, :, None]
        w1 = sp_fft.fftfreq(N)[None, None, :]
        ramp = np.exp(-2j * np.pi * (w0 * s[:, 0, None, None] + w1 * s[:, 1, None, None]))
        out = sp_fft.ifft2(sp_fft.fft2(images) * ramp).real.astype(images.dtype, copy=False)
    else:
        rows = np.arange(M, dtype=np.float64)[None, :, None] - s[:, 0, None, None]
        cols = np.arange(N, dtype=np.float64)[None, None, :] - s[:, 1, None, None]
        rows, cols = np.broadcast_arrays(rows, cols)
        out = _resample(images, rows, cols, order, "zero")
    return out.reshape(batch_shape + (M, N))


def _affine(x, matrices, order, boundary):
    """``y(p) = x(c + A (p - c))`` about the centre ``c = ((M - 1) / 2, (N - 1) / 2)``, ``A`` per image."""
    M, N = x.shape[-2:]
    r = np.arange(M, dtype=np.float64)[:, None] - (M - 1) / 2
    c = np.arange(N, dtype=np.float64)[None, :] - (N - 1) / 2
    a = matrices[:, :, :, None, None]
    rows = (M - 1) / 2 + a[:, 0, 0] * r + a[:, 0, 1] * c
    cols = (N - 1) / 2 + a[:, 1, 0] * r + a[:, 1, 1] * c
    return _resample(x, rows, cols, order, boundary)


def rotate(x, angle, *, order=1, boundary="zero"):
    r"""Images rotated by ``angle`` degrees, counter-clockwise as displayed (row 0 at the top), about their centre.

    Parameters
    ----------
    x : array_like, shape (..., M, N)
        Images.
    angle : float or array_like
        Angle in degrees; one per image or one for all.
    order : {1, 3}, default 1
        Bilinear or cubic interpolation.
    boundary : {"zero", "nearest", "circular"}, default "zero"
        Values read outside the image.

    Returns
    -------
    ndarray, shape (..., M, N)

    Notes
    -----
    With :math:`(r, c)` the position relative to the centre :math:`((M-1)/2, (N-1)/2)`, the output at
    :math:`(r, c)` reads the input at :math:`(r\cos\theta + c\sin\theta,\ c\cos\theta - r\sin\theta)`. For a
    square image and :math:`\theta = 90°` the pixel grid maps onto itself and the result is ``np.rot90(x)``.

    Examples
    --------
    >>> x = np.arange(16.0).reshape(4, 4)
    >>> bool(np.allclose(rotate(x, 90), np.rot90(x)))
    True
    """
    order = _check_order(order)
    boundary = check_choice(boundary, "boundary", _BOUNDARIES)
    images, batch_shape = _check_images(x)
    theta = np.deg2rad(_per_sample(_check_real(angle, "angle", allow_array=True), len(images), batch_shape, "angle"))
    cos, sin = np.cos(theta), np.sin(theta)
    matrices = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
    return _affine(images, matrices, order, boundary).reshape(batch_shape + images.shape[-2:])


def dilate(x, scale, *, order=1, boundary="zero"):
    r"""Images dilated by ``scale`` about their centre: :math:`y(p) = x(c + (p - c) / s)`.

    Parameters
    ----------
    x : array_like, shape (..., M, N)
        Images.
    scale : float or array_like
        :math:`s > 0` (``> 1`` enlarges the content); one per image or one for all.
    order : {1, 3}, default 1
        Bilinear or cubic interpolation.
    boundary : {"zero", "nearest", "circular"}, default "zero"
        Values read outside the image.

    Returns
    -------
    ndarray, shape (..., M, N)
    """
    order = _check_order(order)
    boundary = check_choice(boundary, "boundary", _BOUNDARIES)
    images, batch_shape = _check_images(x)
    s = _per_sample(_check_real(scale, "scale", min_value=0, strict=True, allow_array=True), len(images),
                    batch_shape, "scale")
    matrices = np.zeros((len(images), 2, 2))
    matrices[:, 0, 0] = matrices[:, 1, 1] = 1 / s
    return _affine(images, matrices, order, boundary).reshape(batch_shape + images.shape[-2:])


# ---------------------------------------------------------------------------------------------------------
# the sphere


def random_rotations(n, *, random_state=None):
    r"""``n`` rotation matrices drawn uniformly (Haar measure) on SO(3).

    Parameters
    ----------
    n : int
        Number of rotations, ``>= 0``.
    random_state : None, int, SeedSequence or Generator
        Seed.

    Returns
    -------
    ndarray, shape (n, 3, 3)

    Notes
    -----
    A unit quaternion :math:`q = g / \|g\|`, :math:`g \sim \mathcal N(0, I_4)`, is uniform on :math:`S^3`, and
    its rotation matrix is then Haar-distributed on SO(3).
    """
    n = check_int(n, "n", min_value=0)
    q = _check_rng(random_state).standard_normal((n, 4))
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def rotations_by_angle(angle, n, *, random_state=None):
    r"""``n`` rotation matrices by a given angle about axes drawn uniformly on the sphere.

    For invariance curves on :math:`S^2`: the relative change of a representation against the rotation angle.

    Parameters
    ----------
    angle : float
        Rotation angle in degrees.
    n : int
        Number of rotations, ``>= 0``.
    random_state : None, int, SeedSequence or Generator
        Seed of the axes.

    Returns
    -------
    ndarray, shape (n, 3, 3)

    Notes
    -----
    Rodrigues' formula, :math:`R = I + \sin\theta\, K + (1 - \cos\theta) K^2` with :math:`K` the
    cross-product matrix of the unit axis :math:`k` (:math:`K v = k \times v`); the angle of :math:`R` is
    :math:`\arccos((\operatorname{tr} R - 1) / 2) = \theta` for :math:`0 \le \theta \le 180°`.
    """
    theta = np.deg2rad(_check_real(angle, "angle"))
    n = check_int(n, "n", min_value=0)
    k = _check_rng(random_state).standard_normal((n, 3))
    k /= np.linalg.norm(k, axis=1, keepdims=True)
    K = np.zeros((n, 3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    K -= np.swapaxes(K, 1, 2)
    return np.eye(3) + np.sin(theta) * K + (1 - np.cos(theta)) * (K @ K)


def rotate_sphere(x, rotations, rotate):
    r"""Spherical signals rotated one by one by a rotation routine of the caller.

    The hook of SO(3) stability: the sampling and the rotation algorithm (e.g. Wigner-D matrices on spherical
    harmonic coefficients) belong to the sphere module; this function only pairs signals with rotations.

    Parameters
    ----------
    x : array_like, shape (B, ...)
        Spherical signals on the sampling ``rotate`` expects.
    rotations : array_like, shape (B, 3, 3) or (3, 3)
        Rotation matrices, e.g. from :func:`random_rotations`; one per signal or one for all.
    rotate : callable
        ``rotate(signal, matrix) -> rotated signal`` of the same shape.

    Returns
    -------
    ndarray, shape (B, ...)
    """
    if not callable(rotate):
        raise TypeError(f"rotate must be a callable rotate(signal, matrix); got {rotate!r}")
    x = _check_array(x, "x", 1)
    R = _check_array(rotations, "rotations", 2).astype(np.float64)
    if R.shape[-2:] != (3, 3) or R.ndim > 3:
        raise ValueError(f"rotations must have shape (3, 3) or (B, 3, 3); got {R.shape}")
    R = np.broadcast_to(R, (len(x), 3, 3)) if R.ndim == 2 else R
    if len(R) != len(x):
        raise ValueError(f"rotations must hold one matrix per signal ({len(x)}); got {len(R)}")
    if not np.allclose(R @ np.swapaxes(R, 1, 2), np.eye(3), atol=1e-8) or not np.allclose(np.linalg.det(R), 1):
        raise ValueError("rotations must be rotation matrices (orthogonal, determinant +1)")
    out = np.empty_like(x)
    for b in range(len(x)):
        rotated = np.asarray(rotate(x[b], R[b]))
        if rotated.shape != x[b].shape:
            raise ValueError(f"rotate returned shape {rotated.shape} for a signal of shape {x[b].shape}")
        out[b] = rotated
    return out
