"""Running a transform over a batch in chunks, on several threads."""

from concurrent.futures import ThreadPoolExecutor

#: Largest number of padded-grid samples per chunk: bounds the memory of the intermediate spectra
#: (a few arrays of this many complex values per chunk) and keeps a chunk's working set small. Measured on
#: the speed benchmark's workloads (2 threads, medians of 7 interleaved calls): 2^20 against 2^21 took 11% less
#: time on W4 (chunks of 16 images of 240x240 instead of 24), 4% less on W2, the same on W1 and W3. On FFTW
#: after the low passes by matrix products (medians of 10-12 calls, the sizes interleaved in one process), 2^19
#: against 2^20 took 11% less time on W1 (chunks of 250 images of 40x40 instead of 500: 104 ms against 117 ms,
#: twice), the same on W3 and W4 (656 ms against 682 ms) and 2% more on W2; 2^18 was slower on W1, W2 and W4,
#: the per-chunk costs of many small chunks outweighing the smaller working set.
MAX_CHUNK_SAMPLES = 1 << 19
#: Largest batch (in padded-grid samples) that ``inner_threads`` transforms whole, with the threads inside its
#: FFTs. Small batches make many small calls, whose GIL hand-offs between chunk threads cost more than the
#: threads gain. Measured with FFTW on 2 threads (whole batch with two-thread FFTs against chunks on a thread
#: each, best of medians of 9 calls): 1D, 8192 padded samples, J=8, Q=8: 32 signals (2^18 samples, W5)
#: 0.026 s against 0.037 s, 64 signals 0.053 s against 0.047 s; 2D, 40x40 padded, J=2: 64 images 0.017 s
#: against 0.025 s, 128 images (2^17.6 samples) 0.031 s against 0.028 s, 256 images 0.059 s against 0.040 s.
MAX_INNER_THREADS_SAMPLES = 1 << 18


def map_chunks(transform, x, out, n_threads, samples_per_item, inner_threads=False):
    """Fill ``out`` by ``transform(x[i:j], out[i:j])``, which writes the result for the items ``x[i:j]`` into
    ``out[i:j]``, over chunks of the leading axis, ``n_threads`` at a time.

    Chunks hold at most ``MAX_CHUNK_SAMPLES / samples_per_item`` items, their number is a multiple of
    ``n_threads`` when the batch allows, and their sizes differ by at most one item, so that the threads
    share the work evenly. ``transform`` must release the GIL for the threads to run in parallel (the
    Numba kernels and scipy.fft do). With ``inner_threads``, a batch of at most
    ``MAX_INNER_THREADS_SAMPLES`` samples is instead transformed whole by ``transform(x, out, n_threads)``,
    which runs its FFTs on the threads. Returns ``out``.
    """
    n_items = x.shape[0]
    if n_items == 0:
        return out
    if inner_threads and n_threads > 1 and n_items * samples_per_item <= MAX_INNER_THREADS_SAMPLES:
        transform(x, out, n_threads)
        return out
    largest = max(1, MAX_CHUNK_SAMPLES // max(samples_per_item, 1))
    n_chunks = -(-n_items // largest)
    n_chunks = min(n_items, -(-n_chunks // n_threads) * n_threads)
    edges = [n_items * k // n_chunks for k in range(n_chunks + 1)]
    bounds = list(zip(edges[:-1], edges[1:]))

    def run(bound):
        start, stop = bound
        transform(x[start:stop], out[start:stop])

    if n_threads == 1 or len(bounds) == 1:
        for bound in bounds:
            run(bound)
    else:
        with ThreadPoolExecutor(max_workers=min(n_threads, len(bounds))) as pool:
            list(pool.map(run, bounds))
    return out

