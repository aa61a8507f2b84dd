"""The rotated-MNIST pipeline (``pipelines.rotated_mnist``) and ``scatter run --head``.

Oracles: the quarter turn about the periodic grid's origin written by index arithmetic, the report read back
from disk, and chance level.
"""

import importlib
import json

import numpy as np
import pytest

from pipelines import rotated_mnist
from scatter.cli import main
from scatter.grid.scattering_2d import scattering_2d
from tests.test_pipelines import _mnist_dir


def test_a_quarter_turn_of_the_digit_is_a_quarter_turn_about_the_grid_origin(rng):
    digits = (rng.random((3, 28, 28)) * 255).astype(np.uint8)
    upright = rotated_mnist.centred_on_origin(digits)
    turned = rotated_mnist.centred_on_origin(digits, np.full(3, 90.0))
    i, j = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    np.testing.assert_allclose(turned, upright[:, j, (-i) % 32], atol=1e-6)


def test_the_digit_is_centred_on_the_origin():
    digit = np.zeros((1, 28, 28), np.uint8)
    digit[0, 14, 14] = 255  # MNIST's centre of mass sits near (14, 14) of the 28 x 28 field
    assert rotated_mnist.centred_on_origin(digit)[0, 0, 0] == 1.0


def test_head_flag_is_refused_by_pipelines_without_a_head(capsys, tmp_path):
    assert main(["run", "digits", "--head", "--out", str(tmp_path / "out"), "-q"]) == 2
    assert "--head" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_rotated_mnist_small_run_with_head(tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="the head needs the optional extra: pip install 'scatter[head]'")
    data_dir = _mnist_dir()
    if data_dir is None:
        pytest.skip("MNIST IDX files not found in $SCATTER_DATA(/mnist) nor ../shared/data/mnist")
    monkeypatch.setitem(rotated_mnist.PARAMS, "head_epochs", 3)
    monkeypatch.setitem(rotated_mnist.PARAMS, "head_hidden", (8,))
    scattered = []  # images per call of the 2D scattering's kernel

    def counted(x, *args, **kwargs):
        scattered.append(len(x))
        return scattering_2d(x, *args, **kwargs)

    # The package exports the function under the module's name: fetch the module itself.
    monkeypatch.setattr(importlib.import_module("scatter.grid.scattering_2d"), "scattering_2d", counted)
    out = tmp_path / "out"
    args = ["run", "rotated-mnist", "--head", "--n-train", "300", "--n-test", "100", "--data-dir", str(data_dir)]
    assert main(args + ["--out", str(out), "-q"]) == 0
    # Every digit is scattered once: the upright and rotated training sets and the test set.
    assert sum(scattered) == 300 + 300 + 100
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["pipeline"] == "rotated-mnist" and report["params"]["head"] is True
    models = set(report["accuracy_by_model"])
    assert models == {f"scattering + {m}, {s}" for m in ("SVM", "head") for s in rotated_mnist.SETTINGS}
    assert report["accuracy"] == report["accuracy_by_model"]["scattering + head, upright/rotated"]
    # Chance is 10 %; trained and tested on rotated digits, scattering + SVM does far better.
    assert report["accuracy_by_model"]["scattering + SVM, rotated/rotated"] > 0.5
