"""Chunking of a batch over threads (``scatter.grid._batch.map_chunks``)."""

import threading

import numpy as np
import pytest

from scatter.grid import _batch


@pytest.mark.parametrize("n_items", [1, 2, 5, 96, 1000])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("samples_per_item", [1, 57_600, 1 << 20, 1 << 22])
def test_chunks_are_even_bounded_and_cover_the_batch(n_items, n_threads, samples_per_item):
    x = np.arange(n_items, dtype=np.float64)
    out = np.empty_like(x)
    sizes, lock = [], threading.Lock()

    def transform(chunk, out_chunk):
        with lock:
            sizes.append(len(chunk))
        out_chunk[...] = 2 * chunk

    _batch.map_chunks(transform, x, out, n_threads, samples_per_item)
    np.testing.assert_array_equal(out, 2 * x)
    largest = max(1, _batch.MAX_CHUNK_SAMPLES // samples_per_item)
    assert sum(sizes) == n_items
    assert max(sizes) - min(sizes) <= 1
    assert max(sizes) <= largest
    # As many chunks as needed, rounded up to a multiple of the threads when there are items enough.
    needed = -(-n_items // largest)
    assert len(sizes) == min(n_items, -(-needed // n_threads) * n_threads)


def test_w4_like_batch_splits_evenly_over_two_threads():
    # 2^19 samples hold 9 images of 240x240: 96 images need 11 chunks, 12 for 2 threads, of 8 each.
    assert _batch.MAX_CHUNK_SAMPLES == 1 << 19
    sizes = []
    _batch.map_chunks(lambda c, o: sizes.append(len(c)), np.zeros(96), np.zeros(96), 2, 240 * 240)
    assert sorted(sizes) == [8] * 12


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("n_items, samples_per_item", [(32, 8192), (7, 1), (1, 1 << 18), (33, 8192), (2, 1 << 18)])
def test_small_batches_run_whole_with_threads_inside(n_threads, n_items, samples_per_item):
    """``inner_threads``: a batch of at most MAX_INNER_THREADS_SAMPLES samples is one call given the
    threads; a larger one (or one thread) is chunked as without it."""
    x = np.arange(n_items, dtype=np.float64)
    calls = []

    def transform(chunk, out_chunk, workers=1):
        calls.append((len(chunk), workers))
        out_chunk[...] = 3 * chunk

    out = _batch.map_chunks(transform, x, np.empty_like(x), n_threads, samples_per_item, inner_threads=True)
    np.testing.assert_array_equal(out, 3 * x)
    small = n_items * samples_per_item <= _batch.MAX_INNER_THREADS_SAMPLES
    if small and n_threads > 1:
        assert calls == [(n_items, n_threads)]
    else:
        chunked = []
        _batch.map_chunks(lambda c, o: chunked.append(len(c)), x, np.empty_like(x), n_threads, samples_per_item)
        assert sorted(calls) == sorted((n, 1) for n in chunked)
    assert _batch.MAX_INNER_THREADS_SAMPLES == 1 << 18  # W5's 32 x 8192 samples run whole
