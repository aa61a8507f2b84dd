"""Classification pipelines on real data: each module has a ``run`` function and a command-line entry.

``scatter run NAME`` runs ``PIPELINES[NAME]``; ``python -m pipelines.NAME`` does the same.
"""

import importlib

#: Pipeline name -> module under ``pipelines``.
PIPELINES = {
    "digits": "digits",
    "mnist": "mnist",
    "textures": "textures",
    "mnist1d": "mnist1d",
    "rotated-mnist": "rotated_mnist",
    "spherical-mnist": "spherical_mnist",
}


def get_pipeline(name):
    """The ``run`` function of pipeline ``name``; ``ValueError`` naming the known pipelines otherwise."""
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline {name!r}; choose one of {', '.join(sorted(PIPELINES))}")
    return importlib.import_module(f"{__name__}.{PIPELINES[name]}").run
