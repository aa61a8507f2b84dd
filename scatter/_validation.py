"""Boundary checks shared by every public entry point.

Each helper raises ``TypeError`` for a wrong type and ``ValueError`` for a wrong value, with a message
that names the parameter, the value received and what is allowed.
"""

import numbers

import numpy as np

__all__ = ["check_int", "check_choice", "check_signal", "check_shape"]


def check_int(value, name, *, min_value=None, max_value=None, allowed=None):
    """Return ``value`` as a Python int after checking its type and bounds.

    Parameters
    ----------
    value : object
        Value received from the user.
    name : str
        Parameter name used in error messages.
    min_value, max_value : int, optional
        Inclusive bounds.
    allowed : str, optional
        Description of the allowed range, used in messages instead of the bounds.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (bools are rejected too).
    ValueError
        If ``value`` lies outside ``[min_value, max_value]``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r} of type {type(value).__name__}")
    value = int(value)
    if allowed is None:
        low = "-inf" if min_value is None else min_value
        high = "inf" if max_value is None else max_value
        allowed = f"an integer in [{low}, {high}]"
    if (min_value is not None and value < min_value) or (max_value is not None and value > max_value):
        raise ValueError(f"{name} must be {allowed}; got {value}")
    return value


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``; raise a ``ValueError`` naming them otherwise."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {value!r}")
    return value


def check_shape(shape, name, ndim):
    """Normalise a signal shape to a tuple of ``ndim`` positive ints.

    An int is accepted for ``ndim == 1``.
    """
    if ndim == 1 and isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or len(shape) != ndim:
        what = "an int or a 1-tuple" if ndim == 1 else f"a tuple of {ndim} ints"
        raise TypeError(f"{name} must be {what}; got {shape!r}")
    return tuple(check_int(s, f"{name}[{i}]", min_value=1) for i, s in enumerate(shape))


def check_signal(x, shape, name="x"):
    """Validate a batch of real signals and return a contiguous float array.

    Parameters
    ----------
    x : array_like
        Input of shape ``(..., *shape)``.
    shape : tuple of int
        Expected trailing shape.
    name : str
        Name used in error messages.

    Returns
    -------
    x : ndarray
        Writeable C-contiguous array in native byte order (a copy if needed: the kernels are compiled for
        writeable arrays only), ``float32`` if the input was ``float32`` (or ``float16``)
        and ``float64`` otherwise: integer and bool inputs are cast to ``float64``.

    Raises
    ------
    TypeError
        For complex, object or string input.
    ValueError
        For a wrong trailing shape or non-finite values (the message gives their count and the first
        position).
    """
    x = np.asarray(x)
    kind = x.dtype.kind
    if kind == "c":
        raise TypeError(
            f"{name} must be real; got complex dtype {x.dtype}. Pass np.real(x), np.abs(x), or transform the "
            "real and imaginary parts separately"
        )
    if kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array; got dtype {x.dtype}")
    dtype = np.float32 if kind == "f" and x.dtype.itemsize <= 4 else np.float64
    ndim = len(shape)
    if x.ndim < ndim or tuple(x.shape[x.ndim - ndim:]) != tuple(shape):
        raise ValueError(
            f"{name} must have shape (..., {', '.join(map(str, shape))}) for this transform; got {x.shape}"
        )
    x = np.require(x, dtype=np.dtype(dtype).newbyteorder("="), requirements=("C", "W"))
    if x.size and kind == "f":
        finite = np.isfinite(x)
        if not finite.all():
            bad = np.argwhere(~finite)
            first = tuple(int(i) for i in bad[0])
            raise ValueError(
                f"{name} contains {len(bad)} non-finite value(s) (NaN or inf); the first is at index {first}"
            )
    return x
