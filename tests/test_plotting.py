"""``scatter.plotting``: PNG figures of filter banks and confusion matrices, written atomically.

Oracles: the PNG signature and matplotlib's own reader; the directory listing (no temporary file left over);
pyplot's registry of open figures and its backend before and after a call.
"""

import matplotlib
import matplotlib.figure
import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest

from scatter import Scattering1D, Scattering2D
from scatter.plotting import plot_confusion, plot_filters_1d, plot_filters_2d

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _filters_2d():
    return plot_filters_2d, Scattering2D(J=2, shape=(16, 16), L=4).filters


def _filters_1d():
    return plot_filters_1d, Scattering1D(J=3, shape=128, Q=2).filters


def _confusion():
    def plot(confusion, path):
        return plot_confusion(confusion, ["cat", "dog", "emu"], path, title="pets")

    return plot, np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])


PLOTS = {"filters_2d": _filters_2d, "filters_1d": _filters_1d, "confusion": _confusion}


@pytest.fixture(params=sorted(PLOTS))
def plot_case(request):
    """(plot function taking (data, path), data)."""
    return PLOTS[request.param]()


def _listing(directory):
    return sorted(p.name for p in directory.iterdir())


def assert_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 10 and image.shape[1] > 10
    # Not a blank canvas: the figure drew something.
    assert np.ptp(image[..., :3]) > 0


def test_writes_a_png_and_nothing_else(tmp_path, plot_case):
    plot, data = plot_case
    target = tmp_path / "figure.png"
    returned = plot(data, target)
    assert_png(target)
    assert str(returned) == str(target)
    assert _listing(tmp_path) == ["figure.png"]


def test_creates_the_output_directory(tmp_path, plot_case):
    plot, data = plot_case
    target = tmp_path / "new" / "dir" / "figure.png"
    plot(data, target)
    assert_png(target)
    assert _listing(target.parent) == ["figure.png"]


def test_accepts_str_paths(tmp_path, plot_case):
    plot, data = plot_case
    plot(data, str(tmp_path / "figure.png"))
    assert_png(tmp_path / "figure.png")


def test_closes_its_figure(tmp_path, plot_case):
    plot, data = plot_case
    before = plt.get_fignums()
    plot(data, tmp_path / "figure.png")
    assert plt.get_fignums() == before


def _failing_savefig(self, fname, *args, **kwargs):
    # Write a partial file first, as an interrupted writer would, then fail.
    with open(fname, "wb") as handle:
        handle.write(PNG_SIGNATURE)
    raise OSError("disk full")


def test_failing_savefig_leaves_no_file(tmp_path, plot_case, monkeypatch):
    plot, data = plot_case
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _failing_savefig)
    with pytest.raises(OSError, match="disk full"):
        plot(data, tmp_path / "figure.png")
    assert _listing(tmp_path) == []
    plt.close("all")


def test_failing_savefig_keeps_the_previous_file(tmp_path, plot_case, monkeypatch):
    plot, data = plot_case
    target = tmp_path / "figure.png"
    target.write_bytes(b"previous")
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _failing_savefig)
    with pytest.raises(OSError, match="disk full"):
        plot(data, target)
    assert target.read_bytes() == b"previous"
    assert _listing(tmp_path) == ["figure.png"]
    plt.close("all")


def test_failing_savefig_closes_its_figure(tmp_path, plot_case, monkeypatch):
    plot, data = plot_case
    before = plt.get_fignums()
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _failing_savefig)
    try:
        with pytest.raises(OSError, match="disk full"):
            plot(data, tmp_path / "figure.png")
        assert plt.get_fignums() == before
    finally:
        plt.close("all")


def test_leaves_the_callers_backend_alone(tmp_path):
    original = matplotlib.get_backend()
    plt.switch_backend("pdf")
    try:
        plot_confusion(np.eye(2, dtype=int), ["a", "b"], tmp_path / "figure.png")
        assert matplotlib.get_backend().lower() == "pdf"
    finally:
        plt.switch_backend(original)


@pytest.mark.parametrize("n_classes", [1, 2, 10])
def test_confusion_of_any_size(tmp_path, rng, n_classes):
    confusion = rng.integers(0, 50, size=(n_classes, n_classes))
    plot_confusion(confusion, [f"class {i}" for i in range(n_classes)], tmp_path / "c.png")
    assert_png(tmp_path / "c.png")


def test_confusion_of_zeros(tmp_path):
    # A threshold of max / 2 = 0: every count is drawn in black; no division or empty reduction.
    plot_confusion(np.zeros((3, 3), dtype=int), ["a", "b", "c"], tmp_path / "c.png")
    assert_png(tmp_path / "c.png")


@pytest.mark.parametrize(("J", "L", "side"), [(1, 1, 8), (2, 3, 16), (3, 2, 16)])
def test_filters_2d_grid_sizes(tmp_path, J, L, side):
    plot_filters_2d(Scattering2D(J=J, shape=(side, side), L=L).filters, tmp_path / "f.png")
    assert_png(tmp_path / "f.png")


@pytest.mark.parametrize(("J", "N", "Q"), [(2, 64, 1), (3, 128, 4), (5, 512, 8)])
def test_filters_1d_sizes(tmp_path, J, N, Q):
    plot_filters_1d(Scattering1D(J=J, shape=N, Q=Q).filters, tmp_path / "f.png")
    assert_png(tmp_path / "f.png")
