"""``scatter run spherical-mnist --head``: the spherical head in the spherical-MNIST pipeline (tiny and fast).

Oracles: MNIST's own labels, and the report read back from disk.
"""

import json

import pytest

pytest.importorskip("torch", reason="the spherical head needs the optional extra: pip install 'scatter[head]'")

from pipelines import _spherical_head  # noqa: E402
from scatter.cli import main  # noqa: E402

from tests.test_pipelines import _mnist_dir  # noqa: E402

needs_mnist = pytest.mark.skipif(
    _mnist_dir() is None, reason="MNIST IDX files not found in $SCATTER_DATA(/mnist) nor ../shared/data/mnist"
)

TINY_HEAD = {"bandlimit": 4, "hidden": (8,), "grid_oversampling": 2.0, "max_epochs": 2, "batch_size": 32}


@needs_mnist
def test_head_run_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setattr(_spherical_head, "HEAD_PARAMS", TINY_HEAD)
    out = tmp_path / "out"
    code = main(["run", "spherical-mnist", "--head", "--n-train", "120", "--n-test", "40",
                 "--data-dir", str(_mnist_dir()), "--out", str(out), "-q"])
    assert code == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    modes = {"NR/NR", "R/R", "NR/R"}
    assert set(report["accuracy"]) == modes and set(report["svm_accuracy"]) == modes
    for mode in modes:
        assert 0.0 <= report["accuracy"][mode] <= 1.0
        assert report["error"][mode] == pytest.approx(1 - report["accuracy"][mode], abs=1e-12)
    head_results = [r for r in report["results"] if "spherical head" in r["model"]]
    assert [r["model"].rsplit(", ", 1)[1] for r in head_results] == ["NR/NR", "R/R", "NR/R"]
    assert {r["model"].rsplit(", ", 1)[1]: r["accuracy"] for r in head_results} == report["accuracy"]
    assert report["head"]["bandlimit"] == 4 and set(report["head"]["epochs"]) == {"NR", "R"}
    assert len(report["figures"]) == 6
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "spherical head, NR/R" in markdown


def test_degree_mask_keeps_what_follows_rotations():
    from scatter.sphere.scattering import scattering_paths
    from scatter.sphere.wavelets import axisymmetric_filter_bank

    filters = axisymmetric_filter_bank(30, 2.0)
    paths = scattering_paths(filters, 2)
    mask = _spherical_head.degree_mask(filters, 2, 12)
    assert mask.shape == (len(paths), 12) and mask[:, 0].all()
    kept = dict(zip(paths, mask.sum(axis=1)))
    bandlimit = dict(zip(filters["j"].tolist(), filters["bandlimit"].tolist()))
    finest = max(bandlimit)
    assert kept[()] == 12
    for path, n in kept.items():
        if path and (finest in path or path[-1] == 0):
            assert n == 1
        elif path:
            assert n == min(12, bandlimit[path[-1]])
        assert mask[paths.index(path), :n].all() and not mask[paths.index(path), n:].any()
