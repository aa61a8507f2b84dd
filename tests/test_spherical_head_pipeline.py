"""``scatter run spherical-mnist --head``: the spherical head in the spherical-MNIST pipeline (tiny and fast).

Oracles: MNIST's own labels, and the report read back from disk.
"""

import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="the spherical head needs the optional extra: pip install 'scatter[head]'")

from pipelines import _spherical_head  # noqa: E402
from scatter.cli import main  # noqa: E402
from scatter.datasets import project_on_sphere, random_rotation_matrices  # noqa: E402

from tests.test_pipelines import _mnist_dir  # noqa: E402

needs_mnist = pytest.mark.skipif(
    _mnist_dir() is None, reason="MNIST IDX files not found in $SCATTER_DATA(/mnist) nor ../shared/data/mnist"
)

TINY_HEAD = {"bandlimit": 4, "hidden": (8,), "chiral": 2, "grid_oversampling": 2.0, "max_epochs": 2, "batch_size": 32}


@needs_mnist
def test_head_run_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setattr(_spherical_head, "HEAD_PARAMS", TINY_HEAD)
    # With deformed copies (off by default): the run reads the planar digits again and grows the sets.
    monkeypatch.setattr(_spherical_head, "AUGMENT", {"copies": 1, "displacement": 1.0, "cutoff": 3})
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
    assert report["head"]["augment"] == _spherical_head.AUGMENT
    assert len(report["figures"]) == 6
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "spherical head, NR/R" in markdown


def test_path_bandlimits_keep_what_follows_rotations():
    from scatter.sphere.scattering import scattering_paths
    from scatter.sphere.wavelets import axisymmetric_filter_bank

    filters = axisymmetric_filter_bank(30, 2.0)
    paths = scattering_paths(filters, 2)
    kept = _spherical_head.path_bandlimits(filters, 2, 12)
    assert kept.shape == (len(paths),)
    bandlimit = dict(zip(filters["j"].tolist(), filters["bandlimit"].tolist()))
    finest = max(bandlimit)
    expected = []
    for path in paths:
        if not path:
            expected.append(12)
        elif finest in path or path[-1] == 0:
            expected.append(1)
        else:
            expected.append(min(12, bandlimit[path[-1]]))
    assert kept.tolist() == expected
    assert set(kept.tolist()) > {1, 12}
    assert (_spherical_head.path_bandlimits(filters, 2, 3) == np.minimum(kept, 3)).all()


@needs_mnist
def test_head_run_without_the_svm(tmp_path, monkeypatch):
    monkeypatch.setattr(_spherical_head, "HEAD_PARAMS", TINY_HEAD)
    out = tmp_path / "out"
    code = main(["run", "spherical-mnist", "--head", "--no-svm", "--members", "2", "--n-train", "60",
                 "--n-test", "20", "--data-dir", str(_mnist_dir()), "--out", str(out), "-q"])
    assert code == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert "svm_accuracy" not in report and "frame_seconds" not in report["params"]
    assert report["head"]["members"] == 2 and [len(report["head"]["epochs"][m]) for m in ("NR", "R")] == [2, 2]
    assert [r["model"] for r in report["results"]] == [
        f"spherical scattering + spherical head, {mode}" for mode in ("NR/NR", "R/R", "NR/R")
    ]
    assert {r["model"].rsplit(", ", 1)[1]: r["accuracy"] for r in report["results"]} == report["accuracy"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["spherical-mnist", "--no-svm"], "without --head"),
        (["rotated-mnist", "--head", "--no-svm"], "rotated-mnist"),
        (["spherical-mnist", "--members", "2"], "--members: only with --head"),
        (["rotated-mnist", "--head", "--members", "2"], "rotated-mnist"),
    ],
)
def test_no_svm_and_members_need_the_head_of_a_pipeline_that_has_them(argv, message, capsys):
    code = main(["run", *argv, "-q"])
    assert code != 0
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "cores, n_threads, expected",
    [({0, 1}, None, (2, 1)), ({0}, None, (1, 1)), (set(range(4)), None, (2, 2)), ({0, 1}, 2, (1, 2))],
)
def test_parallel_plan(monkeypatch, cores, n_threads, expected):
    monkeypatch.setattr(_spherical_head.os, "sched_getaffinity", lambda pid: cores, raising=False)
    assert _spherical_head._parallel_plan(2, n_threads) == expected


def test_models_trained_side_by_side_match_one_after_the_other(monkeypatch):
    """The NR and R models trained in two processes on one thread each predict exactly what they predict when
    trained in this process one after the other on one thread."""
    maps, y_train, y_test = _brightness_maps()
    head = {**TINY_HEAD, "max_epochs": 3, "batch_size": 8}
    monkeypatch.setattr(_spherical_head.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    side_by_side, info = _spherical_head.head_results(maps, y_train, y_test, head_params=head, quiet=True)
    assert (info["n_jobs"], info["n_threads"]) == (2, 1)
    in_turn, info = _spherical_head.head_results(
        maps, y_train, y_test, head_params={**head, "n_threads": 1}, quiet=True
    )
    assert (info["n_jobs"], info["n_threads"]) == (1, 1)
    assert len(np.unique(in_turn[0]["predicted"])) > 1
    for a, b in zip(side_by_side, in_turn):
        assert a["model"] == b["model"]
        np.testing.assert_array_equal(a["predicted"], b["predicted"])
        assert a["accuracy"] == b["accuracy"]


def _digit_sets(n, bandwidth=8, seed=0):
    """Random planar 'digits' (a bright blob each) and their maps as load_spherical_mnist lays them out."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:28, :28]
    centres = rng.uniform(10, 18, size=(n, 2))
    images = np.exp(-((rows - centres[:, :1, None]) ** 2 + (cols - centres[:, 1:, None]) ** 2) / 8.0)
    rotations = random_rotation_matrices(n, np.random.default_rng([seed, 0]))
    test = project_on_sphere(images[:2], bandwidth)
    sets = {
        "NR": (project_on_sphere(images, bandwidth), test),
        "R": (project_on_sphere(images, bandwidth, rotations), test),
    }
    return images, sets


def test_augmented_sets_add_deformed_copies_after_the_digits():
    images, sets = _digit_sets(5)
    y = np.arange(5)
    grown, grown_y = _spherical_head.augmented_sets(
        sets, images, y, {"copies": 2, "displacement": 1.0, "cutoff": 3}, random_state=4
    )
    np.testing.assert_array_equal(grown_y, np.concatenate([y, y, y]))
    for rot in ("NR", "R"):
        X, test = grown[rot]
        assert X.shape == (15, 16, 16) and X.dtype == np.float32
        assert test is sets[rot][1]
        np.testing.assert_array_equal(X[:5], sets[rot][0])
    copies = grown["NR"][0][5:].reshape(2, 5, -1)
    originals = sets["NR"][0].reshape(1, 5, -1)
    change = np.linalg.norm(copies - originals, axis=-1) / np.linalg.norm(originals, axis=-1)
    # Deformed by about a pixel: each copy differs from its digit, and the two copies from each other,
    # by a small fraction of the digit (a blob of radius 2-3 pixels moves by about a pixel).
    assert np.all(change > 1e-3) and np.all(change < 0.8)
    assert np.all(np.linalg.norm(copies[0] - copies[1], axis=-1) > 1e-3)
    again, _ = _spherical_head.augmented_sets(sets, images, y, {"copies": 2, "displacement": 1.0, "cutoff": 3},
                                              random_state=4)
    np.testing.assert_array_equal(again["R"][0], grown["R"][0])


def test_augmented_sets_without_displacement_are_the_digits_rotated_from_their_stream():
    """With no displacement the copies are the digits; in the rotated set each has the rotation drawn from the
    stream ``(random_state, 3)``."""
    images, sets = _digit_sets(4)
    grown, _ = _spherical_head.augmented_sets(
        sets, images, np.zeros(4, int), {"copies": 1, "displacement": 0.0, "cutoff": 3}, random_state=7
    )
    np.testing.assert_allclose(grown["NR"][0][4:], sets["NR"][0], atol=1e-6)
    rotations = random_rotation_matrices(4, np.random.default_rng([7, 3]))
    np.testing.assert_allclose(grown["R"][0][4:], project_on_sphere(images, 8, rotations), atol=1e-6)


def test_augmented_sets_without_copies_are_the_sets():
    images, sets = _digit_sets(3)
    y = np.arange(3)
    grown, grown_y = _spherical_head.augmented_sets(sets, images, y, {"copies": 0, "displacement": 1.0, "cutoff": 3})
    assert grown is sets and grown_y is y


def _brightness_maps(n_train=48, n_test=16, seed=0):
    """Maps of three classes told apart by brightness (so that predictions are not all one class)."""
    rng = np.random.default_rng(seed)
    y_train, y_test = np.arange(n_train) % 3, np.arange(n_test) % 3
    maps = {
        rot: tuple(rng.random((len(y), 60, 60)) + y[:, None, None] for y in (y_train, y_test)) for rot in ("NR", "R")
    }
    return maps, y_train, y_test


def test_members_average_the_probabilities_of_heads_seeded_in_turn():
    """Two members: the argmax of the mean of the probabilities of two heads trained here, seeded
    random_state and random_state + 1; one member: that head's own predictions."""
    from scatter.head import SphericalScatteringHeadClassifier

    maps, y_train, y_test = _brightness_maps()
    head = {**TINY_HEAD, "max_epochs": 2, "batch_size": 8, "n_threads": 1}
    params = _spherical_head.SCATTERING_PARAMS
    filters = _spherical_head.axisymmetric_filter_bank(params["bandwidth"], params["lam"])
    degrees = np.ones(len(_spherical_head.path_bandlimits(filters, params["max_order"], head["bandlimit"])), int)
    classifier = {"lam": params["lam"], "max_order": params["max_order"], "oversampling": params["oversampling"],
                  "sampling": "dh", "path_bandlimits": degrees, **head}
    direct = {}
    for seed in (5, 6):
        model = SphericalScatteringHeadClassifier(random_state=seed, **classifier).fit(maps["NR"][0], y_train)
        direct[seed] = {"proba": model.predict_proba(maps["NR"][1]), "predicted": model.predict(maps["NR"][1])}
    one, info = _spherical_head.head_results(maps, y_train, y_test, head_params=head, quiet=True, random_state=5)
    assert info["members"] == 1 and len(info["epochs"]["NR"]) == 1
    np.testing.assert_array_equal(one[0]["predicted"], direct[5]["predicted"])
    np.testing.assert_array_equal(one[2]["predicted"], one[0]["predicted"])  # NR/R: the same model, same test maps
    two, info = _spherical_head.head_results(
        maps, y_train, y_test, head_params=head, members=2, quiet=True, random_state=5
    )
    assert info["members"] == 2 and len(info["epochs"]["NR"]) == len(info["epochs"]["R"]) == 2
    mean = (direct[5]["proba"] + direct[6]["proba"]) / 2
    np.testing.assert_array_equal(two[0]["predicted"], np.argmax(mean, axis=1))
    assert two[0]["accuracy"] == np.mean(np.argmax(mean, axis=1) == y_test)
    # The members differ: their probabilities are not the same.
    assert np.abs(direct[5]["proba"] - direct[6]["proba"]).max() > 1e-3


@pytest.mark.parametrize(("members", "error"), [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_bad_members_are_refused(members, error):
    maps, y_train, y_test = _brightness_maps(6, 3)
    with pytest.raises(error, match="members"):
        _spherical_head.head_results(maps, y_train, y_test, head_params=TINY_HEAD, members=members, quiet=True)


def test_the_pipeline_settings_are_the_classifiers_own_and_pass_its_checks():
    """Every key of HEAD_PARAMS is a parameter of the classifier, and its checks return each value as set (a
    misspelt or out-of-range setting would otherwise surface only after the scattering of 70000 digits)."""
    from scatter.head import SphericalScatteringHeadClassifier

    head = _spherical_head.HEAD_PARAMS
    assert set(head) <= set(SphericalScatteringHeadClassifier().get_params())
    checked = SphericalScatteringHeadClassifier(sampling="dh", **head)._check_params()
    for key, value in head.items():
        if key != "n_threads":
            assert np.all(np.asarray(checked[key]) == np.asarray(value)), key
