"""Structured outputs shared by the 1D and 2D transform objects."""

import numpy as np

_INTEGER_FIELDS = ("j", "theta")


def structure_output(S, meta, out_type, channel_axis, fields):
    """Split the channels of ``S`` into Kymatio's ``"list"`` or ``"dict"`` layout, or return ``S`` as is.

    Parameters
    ----------
    S : ndarray
        Output with channels along ``channel_axis`` (negative).
    meta : callable
        The transform's ``meta`` method, called only for the structured layouts.
    out_type : {"array", "list", "dict"}
    channel_axis : int
        Negative index of the channel axis.
    fields : tuple of str
        Per-layer columns of ``meta`` copied into each list entry as tuples.
    """
    if out_type == "array":
        return S
    meta = meta()
    channels = np.moveaxis(S, channel_axis, 0)
    if out_type == "dict":
        return {key: channels[c] for c, key in enumerate(meta["key"])}
    entries = []
    for c, key in enumerate(meta["key"]):
        order = len(key)
        entry = {"coef": channels[c], "order": order, "n": key}
        for field in fields:
            values = meta[field][c, :order]
            entry[field] = tuple(int(v) for v in values) if field in _INTEGER_FIELDS else tuple(float(v) for v in values)
        entries.append(entry)
    return entries
