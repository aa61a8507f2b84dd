"""Pieces shared by the 1D and 2D transform objects: dtype copies of filter banks and structured outputs."""

import numpy as np

_INTEGER_FIELDS = ("j", "theta")


def cast_bank(bank, dtype, single, families):
    """Copy of a filter bank with every ``levels`` array cast to ``dtype``.

    ``single`` names the entries that hold one filter (a dict with ``levels``), ``families`` the entries that
    hold a list of them.
    """

    def cast(entry):
        return {**entry, "levels": [np.ascontiguousarray(h, dtype=dtype) for h in entry["levels"]]}

    copy = dict(bank)
    for key in single:
        copy[key] = cast(bank[key])
    for key in families:
        copy[key] = [cast(entry) for entry in bank[key]]
    return copy


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
