"""Spherical scattering: rotation-invariance error against ``oversampling``, and throughput.

For bandlimit ``L``, random real maps bandlimited at ``L/2`` (unit Gaussian coefficients) are rotated by
Haar-random rotations in harmonic space (``scatter.sphere.rotations.rotate_flm``), both versions are
synthesised on the GL grid and transformed (invariant output, order 2, lambda = 2, J0 = 0); the error is
``||S(Rf) - S(f)|| / ||S(f)||`` over the whole batch. The throughput is maps per second on a batch, after a
warm-up call (plans and kernels built outside the timing). Results go to stdout as Markdown; nothing fails
on a slow figure.

    PYTHONPATH=. python benchmarks/spherical_scattering.py [--L 16 32 64] [--oversampling 1 2 3 4 6] [--n 8]
"""

import argparse
import platform
import time

import numpy as np

from scatter.sphere.rotations import random_rotation, rotate_flm
from scatter.sphere.scattering import SphericalScattering
from scatter.sphere.sht import inverse_sht


def _maps(L, n, rng):
    band = L // 2
    c = rng.standard_normal((n, band, band)) + 1j * rng.standard_normal((n, band, band))
    c[..., 0] = c[..., 0].real
    flm = np.zeros((n, L, L), complex)
    flm[:, :band, :band] = c * np.tri(band)
    rotated = np.stack([rotate_flm(flm[i], random_rotation(rng)) for i in range(n)])
    return inverse_sht(flm, L), inverse_sht(rotated, L)


def invariance_table(Ls, oversamplings, n, seed=0):
    rows = ["| L | oversampling | relative error | ms per map (pair) |", "| --- | --- | --- | --- |"]
    for L in Ls:
        maps, rotated = _maps(L, n, np.random.default_rng(seed))
        for o in oversamplings:
            S = SphericalScattering(L, oversampling=o)
            S(maps[:1])
            tic = time.perf_counter()
            a, b = S(maps), S(rotated)
            ms = (time.perf_counter() - tic) / (2 * n) * 1e3
            error = np.linalg.norm(a - b) / np.linalg.norm(a)
            rows.append(f"| {L} | {o:g} | {error:.2e} | {ms:.2f} |")
            print(rows[-1], flush=True)
    return rows


def throughput_table(Ls, oversampling, batch, repeats=3, seed=0):
    rows = ["| L | oversampling | batch | maps/s (best of repeats) |", "| --- | --- | --- | --- |"]
    rng = np.random.default_rng(seed)
    for L in Ls:
        S = SphericalScattering(L, oversampling=oversampling)
        maps = rng.standard_normal((batch,) + S.grid_shape)
        S(maps[:2])
        best = min(_timed(S, maps) for _ in range(repeats))
        rows.append(f"| {L} | {oversampling:g} | {batch} | {batch / best:.1f} |")
        print(rows[-1], flush=True)
    return rows


def _timed(S, maps):
    tic = time.perf_counter()
    S(maps)
    return time.perf_counter() - tic


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--L", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--oversampling", type=float, nargs="+", default=[1, 2, 3, 4, 6, 8])
    parser.add_argument("--n", type=int, default=8, help="maps per invariance measurement")
    parser.add_argument("--throughput-L", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--throughput-oversampling", type=float, default=4.0)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)
    print(f"# Spherical scattering ({platform.machine()}, {platform.python_version()})\n")
    print("## Rotation invariance against oversampling\n")
    invariance_table(args.L, args.oversampling, args.n)
    print("\n## Throughput\n")
    throughput_table(args.throughput_L, args.throughput_oversampling, args.batch)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
