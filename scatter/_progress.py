"""Progress bars for long loops: tqdm when it is installed, a plain loop otherwise."""

import sys


def progress(iterable, *, total=None, desc=None, quiet=False, unit="it"):
    """Iterate over ``iterable`` under a tqdm progress bar on stderr, unless ``quiet`` or tqdm is missing.

    The bar is closed when the loop ends, also by an exception, so that an error message does not land on
    the bar's line.
    """
    if quiet:
        yield from iterable
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:
        yield from iterable
        return
    bar = tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False)
    try:
        yield from bar
    finally:
        bar.close()
