"""``scatter._atomic``: files appear at their target all at once, or not at all.

Oracles: the directory listing (no partial target, no leftover temporary file), the bytes written by hand, and
the mode of a file written the ordinary way in the same directory.
"""

import os
import stat

import pytest

from scatter._atomic import atomic_directory, atomic_path, write_text


def _listing(directory):
    return sorted(p.name for p in directory.iterdir())


class _Boom(Exception):
    pass


@pytest.mark.parametrize("name", ["out.npy", "report.json", "figure.png", "noext", "a.b.parquet"])
def test_atomic_path_success_moves_temporary_into_place(tmp_path, name):
    target = tmp_path / name
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp != target
        assert not target.exists()
        tmp.write_bytes(b"payload")
    assert target.read_bytes() == b"payload"
    assert _listing(tmp_path) == [name]


@pytest.mark.parametrize("suffix", [".npy", ".parquet", ".png", ".json"])
def test_temporary_keeps_the_target_suffix_and_is_hidden(tmp_path, suffix):
    # Writers such as np.save and savefig choose their format (or append a suffix) from the extension.
    with atomic_path(tmp_path / f"data{suffix}") as tmp:
        assert tmp.suffix == suffix
        assert tmp.name.startswith(".")
        tmp.write_bytes(b"x")


@pytest.mark.parametrize("error", [_Boom, KeyboardInterrupt, OSError])
def test_failure_leaves_no_file_and_propagates(tmp_path, error):
    target = tmp_path / "out.npy"
    with pytest.raises(error):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise error("stop")
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("error", [_Boom, KeyboardInterrupt])
def test_failure_keeps_the_previous_file(tmp_path, error):
    target = tmp_path / "report.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(error):
        with atomic_path(target) as tmp:
            tmp.write_text("new but incomplete", encoding="utf-8")
            raise error("stop")
    assert target.read_text(encoding="utf-8") == "old"
    assert _listing(tmp_path) == ["report.json"]


def test_success_replaces_the_previous_file(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old", encoding="utf-8")
    with atomic_path(target) as tmp:
        tmp.write_text("new", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "new"
    assert _listing(tmp_path) == ["report.json"]


@pytest.mark.parametrize("depth", [1, 3])
def test_creates_missing_parent_directories(tmp_path, depth):
    parent = tmp_path.joinpath(*[f"d{i}" for i in range(depth)])
    with atomic_path(parent / "f.txt") as tmp:
        tmp.write_text("x", encoding="utf-8")
    assert (parent / "f.txt").read_text(encoding="utf-8") == "x"
    assert _listing(parent) == ["f.txt"]


def test_concurrent_writers_get_distinct_temporaries(tmp_path):
    target = tmp_path / "f.txt"
    with atomic_path(target) as first, atomic_path(target) as second:
        assert first != second
        first.write_text("first", encoding="utf-8")
        second.write_text("second", encoding="utf-8")
    # The outer block finishes last: its content wins, and nothing is left over.
    assert target.read_text(encoding="utf-8") == "first"
    assert _listing(tmp_path) == ["f.txt"]


def test_target_that_is_a_directory_fails_cleanly(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        with atomic_path(tmp_path / "taken") as tmp:
            tmp.write_text("x", encoding="utf-8")
    assert _listing(tmp_path) == ["taken"]
    assert _listing(tmp_path / "taken") == []


@pytest.mark.parametrize("text", ["", "plain ascii\n", "θ=3, φ, ψ̂ — ∑ |x|²\n", "line1\r\nline2"])
def test_write_text_round_trip_utf8(tmp_path, text):
    target = tmp_path / "report.md"
    write_text(target, text)
    assert target.read_bytes() == text.encode("utf-8")
    assert _listing(tmp_path) == ["report.md"]


@pytest.mark.parametrize("writer", ["atomic_path", "write_text"])
def test_file_mode_matches_an_ordinary_write(tmp_path, writer):
    ordinary = tmp_path / "ordinary.txt"
    ordinary.write_text("x", encoding="utf-8")
    target = tmp_path / "atomic.txt"
    if writer == "write_text":
        write_text(target, "x")
    else:
        with atomic_path(target) as tmp:
            tmp.write_text("x", encoding="utf-8")
    assert stat.S_IMODE(os.stat(target).st_mode) == stat.S_IMODE(os.stat(ordinary).st_mode)


# atomic_directory: stores that are directories (.zarr)


def _fill(directory, text):
    (directory / "sub").mkdir()
    (directory / "sub" / "chunk").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("previous", [None, "directory", "file"])
def test_atomic_directory_success_puts_the_directory_in_place(tmp_path, previous):
    target = tmp_path / "f.zarr"
    if previous == "directory":
        target.mkdir()
        _fill(target, "old")
    elif previous == "file":
        target.write_text("old", encoding="utf-8")
    with atomic_directory(target) as tmp:
        assert tmp.is_dir() and tmp.parent == tmp_path and tmp.name.startswith(".") and tmp.suffix == ".zarr"
        assert list(tmp.iterdir()) == []
        _fill(tmp, "new")
    assert (target / "sub" / "chunk").read_text(encoding="utf-8") == "new"
    assert _listing(tmp_path) == ["f.zarr"]
    assert _listing(target) == ["sub"]


@pytest.mark.parametrize("error", [_Boom, KeyboardInterrupt])
def test_atomic_directory_failure_keeps_the_previous_store(tmp_path, error):
    target = tmp_path / "f.zarr"
    target.mkdir()
    _fill(target, "old")
    with pytest.raises(error):
        with atomic_directory(target) as tmp:
            _fill(tmp, "partial")
            raise error("stop")
    assert (target / "sub" / "chunk").read_text(encoding="utf-8") == "old"
    assert _listing(tmp_path) == ["f.zarr"]


def test_atomic_directory_mode_matches_an_ordinary_mkdir(tmp_path):
    (tmp_path / "ordinary").mkdir()
    with atomic_directory(tmp_path / "atomic.zarr"):
        pass
    modes = [stat.S_IMODE(os.stat(tmp_path / name).st_mode) for name in ("atomic.zarr", "ordinary")]
    assert modes[0] == modes[1]
