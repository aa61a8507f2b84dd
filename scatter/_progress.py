"""Progress bars for long loops: tqdm when it is installed, a plain loop otherwise."""

import sys


def progress(iterable, *, total=None, desc=None, quiet=False, unit="it"):
    """Wrap ``iterable`` in a tqdm progress bar on stderr, unless ``quiet`` or tqdm is missing."""
    if quiet:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False)
