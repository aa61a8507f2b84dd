"""``scatter bench stability``: a small end-to-end run on scikit-learn's digits through the command line.

Oracles: R_f of raw pixels is 1 by construction (noise of the deformation's norm, image by image); the
report's own D_f and G_f recomputed from its definition; the PNG signature; the JSON against the Markdown.
"""

import json

import numpy as np
import pytest

from pipelines import stability as bench
from scatter.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    # A short sweep keeps the run to a few seconds; the full one is the same code with more values.
    out = tmp_path_factory.mktemp("bench") / "stability"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bench, "DELTAS", (0.3, 1.2))
        patch.setattr(bench, "SHIFTS", (1.0, 4.0))
        patch.setattr(bench, "ANGLES", (90.0,))
        patch.setattr(bench, "N_REPEATS", 2)
        status = main(["bench", "stability", "--dataset", "digits", "--n-images", "12", "--out", str(out), "-q"])
    return status, out


def test_exit_status_and_files(digits_run):
    status, out = digits_run
    assert status == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        ["report.json", "report.md", "stability_sweep.png", "lipschitz.png", "invariance_translation.png",
         "invariance_rotation.png", "invariance_sphere.png"]
    )
    for name in names:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == PNG_SIGNATURE


def test_report_contents(digits_run):
    _, out = digits_run
    report = json.loads((out / "report.json").read_text())
    assert report["dataset"] == "digits" and report["n_images"] == 12 and report["image_side"] == 8
    names = [r["name"] for r in report["results"]]
    expected = [name for name, _ in bench.representations(8)]
    assert names == expected
    assert "scattering J=3 order 2" in names and not any("J=4" in n for n in names)  # 8x8 images: J <= 3
    deltas = [0.3, bench.HEADLINE_DELTA, 1.2]
    for r in report["results"]:
        assert [row["delta"] for row in r["sweep"]] == deltas
        assert len(r["repeats"]) == report["n_repeats"] - 1 == 1
        assert len(r["translation"]) == len(report["shifts"]) == 2 and len(r["rotation"]) == len(report["angles"]) == 1
        for row in r["sweep"] + r["repeats"]:
            assert row["R"] == pytest.approx(row["D"] / row["G"])
            assert np.isfinite([row["D"], row["G"], row["lipschitz_median"]]).all()
    pixels = report["results"][0]
    assert pixels["name"] == "pixels"
    assert all(row["R"] == pytest.approx(1.0, rel=1e-9) for row in pixels["sweep"] + pixels["repeats"])
    markdown = (out / "report.md").read_text()
    for name in names:
        assert f"| {name} |" in markdown
    for figure in report["figures"]:
        assert f"({figure})" in markdown


def test_measured_displacements_match_the_requested_ones(digits_run):
    _, out = digits_run
    report = json.loads((out / "report.json").read_text())
    for d in report["deformations"]:
        # One draw of 12 fields: within 30% (the 10% test over many fields is in test_distortions.py).
        assert d["measured_delta"] == pytest.approx(d["delta"], rel=0.3)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["bench", "stability", "--dataset", "cifar"], "invalid choice"),
        (["bench", "robustness"], "invalid choice"),
        (["bench", "stability", "--n-images", "0"], "must be at least 1"),
    ],
)
def test_bad_arguments(capsys, argv, fragment):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert fragment in capsys.readouterr().err


def test_too_few_images_is_a_clean_error(capsys, tmp_path):
    status = main(["bench", "stability", "--dataset", "digits", "--n-images", "1", "--out", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("scatter: error: ") and "n_images" in err
    assert not (tmp_path / "o").exists()


def test_sphere_invariance_in_the_report(digits_run):
    """SO(3): the power spectrum is an exact invariant (the floor), the maps are not invariant at all, and the
    spherical scattering's invariant output changes by less than 1e-3 (maps bandlimited at L/2, L = 32)."""
    _, out = digits_run
    sphere = json.loads((out / "report.json").read_text())["sphere"]
    assert sphere["L"] == bench.SPHERE_L and sphere["angles"] == list(bench.SPHERE_ANGLES)
    curves = sphere["curves"]
    assert max(curves["power spectrum"]) < 1e-12
    assert min(curves["map"][1:]) > 0.5  # rotations by 20 degrees or more move a random map by order one
    assert max(curves["spherical scattering, oversampling 4 (default)"]) < 1e-3
    # Coarser moduli (oversampling 2) are less invariant.
    coarse, default = curves["spherical scattering, oversampling 2"], curves["spherical scattering, oversampling 4 (default)"]
    assert min(coarse) > max(default)
    assert "Invariance to rotations on the sphere" in (out / "report.md").read_text()
