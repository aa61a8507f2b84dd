r"""Numba kernels of the spherical harmonic transform and of the Wigner rotations.

Only ``@njit`` code lives here.

Associated Legendre functions are normalised with the Condon–Shortley phase,
:math:`Y_\ell^m(\theta, \phi) = \lambda_\ell^m(\theta) e^{i m \phi}`, and computed by the recursion in
:math:`\ell` at fixed :math:`m`, started from :math:`\lambda_m^m`. Near the poles :math:`\lambda_m^m \propto
\sin^m\theta` underflows for large :math:`m` long before the recursion grows back to values that matter,
so every value carries an integer scale :math:`s`: the true value is :math:`v \cdot 2^{-400 s}`, and
values still scaled when written out are below :math:`10^{-120}` and written as zeros.
"""

import math

import numpy as np
from numba import njit

_LOG_BIG = 400.0 * math.log(2.0)
_INV_BIG = 2.0**-400


@njit(cache=True, nogil=True)
def legendre_table(x, sin_theta, m_start, m_stop, L, offsets, out):
    r"""Normalised associated Legendre functions for ``m_start <= m < m_stop`` and ``m <= l < L``.

    Parameters
    ----------
    x, sin_theta : ndarray, shape (n,)
        :math:`\cos\theta_j` and :math:`\sin\theta_j \ge 0` of the nodes.
    offsets : ndarray of int64, shape (m_stop - m_start,)
        First row of the block of each ``m`` in ``out``.
    out : ndarray, shape (rows, n)
        Filled, for each ``m``, with the rows :math:`\lambda_\ell^m(\theta_j)` of ``l = m, m + 2, ...``
        (``(L - m + 1) // 2`` rows) and then of ``l = m + 1, m + 3, ...`` (``(L - m) // 2`` rows), from
        ``offsets[m - m_start]`` on.

    Notes
    -----
    .. math::
        \lambda_m^m = (-1)^m \sqrt{\frac{2m + 1}{4\pi} \frac{(2m - 1)!!}{(2m)!!}} \sin^m\theta, \quad
        \lambda_{m+1}^m = \sqrt{2m + 3}\, \cos\theta\, \lambda_m^m,

        \lambda_\ell^m = a_\ell^m (\cos\theta\, \lambda_{\ell-1}^m - b_\ell^m \lambda_{\ell-2}^m), \quad
        a_\ell^m = \sqrt{\frac{4\ell^2 - 1}{\ell^2 - m^2}}, \quad
        b_\ell^m = \sqrt{\frac{(\ell - 1)^2 - m^2}{4 (\ell - 1)^2 - 1}}.

    :math:`\log \lambda_m^m` is computed with ``lgamma`` and the start value rescaled by powers of
    :math:`2^{400}` until it is a normal number.
    """
    n = x.shape[0]
    prev = np.empty(n)
    cur = np.empty(n)
    scale = np.empty(n, dtype=np.int64)
    log_sin = np.empty(n)
    for j in range(n):
        log_sin[j] = math.log(sin_theta[j]) if sin_theta[j] > 0.0 else -np.inf
    for m in range(m_start, m_stop):
        base = offsets[m - m_start]
        n_even = (L - m + 1) // 2
        log_c = 0.5 * (
            math.log((2.0 * m + 1.0) / (4.0 * math.pi)) + math.lgamma(m + 0.5) - math.lgamma(m + 1.0)
            - 0.5 * math.log(math.pi)
        )
        sign = -1.0 if m % 2 else 1.0
        # Nodes j < n_scaled still carry a scale; with sin(theta) increasing along the nodes (northern rings
        # from the pole) they are the first ones, and the others run through a loop free of branches.
        n_scaled = 0
        for j in range(n):
            if m == 0:
                cur[j] = math.exp(log_c)
                scale[j] = 0
            elif log_sin[j] == -np.inf:
                cur[j] = 0.0
                scale[j] = 0
            else:
                lv = log_c + m * log_sin[j]
                s = 0
                while lv < -_LOG_BIG:
                    lv += _LOG_BIG
                    s += 1
                cur[j] = sign * math.exp(lv)
                scale[j] = s
            if scale[j] > 0:
                n_scaled = j + 1
            prev[j] = 0.0
            out[base, j] = cur[j] if scale[j] == 0 else 0.0
        for ell in range(m + 1, L):
            row = base + (ell - m) // 2 if (ell - m) % 2 == 0 else base + n_even + (ell - m) // 2
            if ell == m + 1:
                a = math.sqrt(2.0 * m + 3.0)
                b = 0.0
            else:
                a = math.sqrt((4.0 * ell * ell - 1.0) / ((ell - m) * (ell + m)))
                b = math.sqrt(((ell - 1.0 - m) * (ell - 1.0 + m)) / (4.0 * (ell - 1.0) ** 2 - 1.0))
            for j in range(n_scaled, n):
                v = a * (x[j] * cur[j] - b * prev[j])
                prev[j] = cur[j]
                cur[j] = v
                out[row, j] = v
            for j in range(n_scaled):
                v = a * (x[j] * cur[j] - b * prev[j])
                prev[j] = cur[j]
                cur[j] = v
                if scale[j] > 0:
                    if abs(v) > 1.0:
                        cur[j] *= _INV_BIG
                        prev[j] *= _INV_BIG
                        scale[j] -= 1
                    out[row, j] = cur[j] if scale[j] == 0 else 0.0
                else:
                    out[row, j] = v
            while n_scaled > 0 and scale[n_scaled - 1] == 0:
                n_scaled -= 1


@njit(cache=True, nogil=True)
def risbo_step(prev, n, p, q, sqrt_int, out):
    r"""One half-integer step of Risbo's recursion: Wigner :math:`d^{j}` from :math:`d^{j - 1/2}`.

    Parameters
    ----------
    prev : ndarray, shape (>= n + 2, >= n + 2)
        :math:`d^{j - 1/2}(\beta)` with a border: ``prev[i + 1, k + 1]`` is entry ``[i, k] = [j' - m',
        j' - m]`` (``j' = j - 1/2``, ``0 <= i, k < n``) and every other entry of the leading
        ``(n + 2) x (n + 2)`` block is zero.
    n : int
        :math:`2j \ge 1`.
    p, q : float
        :math:`\cos(\beta/2)` and :math:`\sin(\beta/2)`.
    sqrt_int : ndarray
        ``sqrt_int[k] = sqrt(k)`` for ``k <= n``.
    out : ndarray, shape (>= n + 3, >= n + 3)
        Receives :math:`d^{j}(\beta)` the same way: ``out[i + 1, k + 1]`` for ``0 <= i, k <= n``, indexed
        ``[j - m', j - m]``. Its border row and column 0 must be zero, and so must row and column ``n + 2``
        for the next step.

    Notes
    -----
    Spin :math:`j` is the symmetric part of spin :math:`j - 1/2` coupled with spin 1/2, whose matrix is
    :math:`d^{1/2} = \begin{pmatrix} p & -q \\ q & p \end{pmatrix}` (Risbo 1996):

    .. math::
        d^j_{i,k} = \frac{1}{n} \Big[ p \sqrt{(n-i)(n-k)}\, d_{i,k} - q \sqrt{(n-i)\,k}\, d_{i,k-1}
        + q \sqrt{i\,(n-k)}\, d_{i-1,k} + p \sqrt{i\,k}\, d_{i-1,k-1} \Big],

    with :math:`d = d^{j-1/2}`, zero outside its ``n x n`` range (the border). Each step combines
    orthogonal matrices, so rounding errors do not grow with the degree.
    """
    inv_n = 1.0 / n
    for i in range(n + 1):
        lo = sqrt_int[n - i] * inv_n
        hi = sqrt_int[i] * inv_n
        for k in range(n + 1):
            s_lo = sqrt_int[n - k]
            s_hi = sqrt_int[k]
            out[i + 1, k + 1] = lo * (p * s_lo * prev[i + 1, k + 1] - q * s_hi * prev[i + 1, k]) + hi * (
                q * s_lo * prev[i, k + 1] + p * s_hi * prev[i, k]
            )


@njit(cache=True, nogil=True)
def modes_to_flm(even, odd, m_start, m_stop, out):
    """Scatter the Legendre products of a block of orders into ``out[b, l, m]`` (B, L, L).

    ``even[m - m_start, i, b]`` is the coefficient of ``l = m + 2i``, ``odd[m - m_start, i, b]`` that of
    ``l = m + 1 + 2i``.
    """
    B, L = out.shape[0], out.shape[1]
    for b in range(B):
        for ell in range(m_start, L):
            for m in range(m_start, min(m_stop, ell + 1)):
                k = ell - m
                if k % 2 == 0:
                    out[b, ell, m] = even[m - m_start, k // 2, b]
                else:
                    out[b, ell, m] = odd[m - m_start, k // 2, b]


@njit(cache=True, nogil=True)
def flm_to_modes(flm, m_start, m_stop, even, odd):
    """Inverse of :func:`modes_to_flm`: gather ``flm[b, l, m]`` of a block of orders by parity of ``l - m``."""
    B, L = flm.shape[0], flm.shape[1]
    for b in range(B):
        for ell in range(m_start, L):
            for m in range(m_start, min(m_stop, ell + 1)):
                k = ell - m
                if k % 2 == 0:
                    even[m - m_start, k // 2, b] = flm[b, ell, m]
                else:
                    odd[m - m_start, k // 2, b] = flm[b, ell, m]


@njit(cache=True, nogil=True)
def modes_to_ring_pairs(even, odd, m_start, m_stop, G):
    """Inverse of :func:`ring_pairs_to_modes`: ``G[b, j, m] = even + odd`` on the northern ring ``j`` and
    ``even - odd`` on its mirror, from ``even``/``odd`` of shape (m_stop - m_start, n_north, B)."""
    B, n_rings = G.shape[0], G.shape[1]
    n_pairs = n_rings // 2
    for j in range(n_pairs):
        mirror = n_rings - 1 - j
        for b in range(B):
            for m in range(m_start, m_stop):
                e = even[m - m_start, j, b]
                o = odd[m - m_start, j, b]
                G[b, j, m] = e + o
                G[b, mirror, m] = e - o
    if n_rings % 2:
        for b in range(B):
            for m in range(m_start, m_stop):
                G[b, n_pairs, m] = even[m - m_start, n_pairs, b]


@njit(cache=True, nogil=True)
def ring_pairs_to_modes(F, weights, m_start, m_stop, sym, anti):
    r"""Symmetric and antisymmetric combinations of the ring spectra of a block of orders.

    ``F`` (B, n_rings, >= m_stop) holds the ring spectra ``F[b, ring, m]`` and ``weights`` (n_north,) the
    quadrature weights of the northern rings (a mirror ring has the same weight). For
    ``m_start <= m < m_stop`` and each northern ring ``j`` (its mirror is ``n_rings - 1 - j``):
    ``sym[m - m_start, j, b] = w_j (F[b, j, m] + F[b, mirror, m])`` and
    ``anti[...] = w_j (F[b, j, m] - F[b, mirror, m])``; on an equator ring ``sym = w F`` and ``anti = 0``.
    The even-:math:`\ell - m` functions are symmetric about the equator, the odd ones antisymmetric.
    """
    B, n_rings = F.shape[0], F.shape[1]
    n_pairs = n_rings // 2
    for b in range(B):
        for j in range(n_pairs):
            mirror = n_rings - 1 - j
            w = weights[j]
            for m in range(m_start, m_stop):
                north = F[b, j, m]
                south = F[b, mirror, m]
                sym[m - m_start, j, b] = w * (north + south)
                anti[m - m_start, j, b] = w * (north - south)
        if n_rings % 2:
            w = weights[n_pairs]
            for m in range(m_start, m_stop):
                sym[m - m_start, n_pairs, b] = w * F[b, n_pairs, m]
                anti[m - m_start, n_pairs, b] = 0.0


@njit(cache=True, nogil=True)
def _block_table(table, x, sin_theta, L, offsets, m_start, m_stop):
    """``(tab, shift)``: the Legendre rows of the block (``tab[offsets[m] - shift]`` starts order ``m``),
    a view of the cached ``table`` or, if it is empty, computed here."""
    if table.shape[0] > 0:
        return table, 0
    tab = np.empty((offsets[m_stop] - offsets[m_start], x.shape[0]))
    legendre_table(x, sin_theta, m_start, m_stop, L, offsets[m_start:m_stop] - offsets[m_start], tab)
    return tab, offsets[m_start]


@njit(cache=True, nogil=True)
def analysis_block(F, weights, table, x, sin_theta, L, offsets, m_start, m_stop, out):
    r"""Legendre step of the forward transform for the orders ``m_start <= m < m_stop``.

    ``out[b, l, m] = sum_j lambda_l^m(theta_j) w_j F[b, j, m]`` over all rings, as two real matrix
    products per order (BLAS through ``np.dot``) on the symmetric and antisymmetric ring combinations of
    :func:`ring_pairs_to_modes`, complex values seen as pairs of reals. ``table`` is the cached table of
    every order (rows from ``offsets[m]``), or empty to compute the block's rows here. One call per block
    keeps the GIL released for the whole block.
    """
    B, n_north, n_m = F.shape[0], x.shape[0], m_stop - m_start
    tab, shift = _block_table(table, x, sin_theta, L, offsets, m_start, m_stop)
    sym = np.empty((n_m, n_north, B), dtype=np.complex128)
    anti = np.empty((n_m, n_north, B), dtype=np.complex128)
    ring_pairs_to_modes(F, weights, m_start, m_stop, sym, anti)
    even_part = np.zeros((n_m, (L - m_start + 1) // 2, B), dtype=np.complex128)
    odd_part = np.zeros((n_m, max((L - m_start) // 2, 1), B), dtype=np.complex128)
    for m in range(m_start, m_stop):
        k = m - m_start
        base = offsets[m] - shift
        n_even = (L - m + 1) // 2
        n_odd = (L - m) // 2
        even_part[k, :n_even] = np.dot(tab[base: base + n_even], sym[k].view(np.float64)).view(np.complex128)
        if n_odd > 0:
            odd_part[k, :n_odd] = np.dot(
                tab[base + n_even: base + n_even + n_odd], anti[k].view(np.float64)
            ).view(np.complex128)
    modes_to_flm(even_part, odd_part, m_start, m_stop, out)


@njit(cache=True, nogil=True)
def synthesis_block(flm, table, x, sin_theta, L, offsets, m_start, m_stop, G):
    r"""Legendre step of the inverse transform for the orders ``m_start <= m < m_stop``.

    ``G[b, j, m] = sum_l lambda_l^m(theta_j) flm[b, l, m]`` on every ring: the even and odd parts in
    :math:`\ell - m` are computed on the northern rings (two real matrix products per order) and combined
    into both hemispheres by :func:`modes_to_ring_pairs`. ``table`` as in :func:`analysis_block`.
    """
    B, n_north, n_m = flm.shape[0], x.shape[0], m_stop - m_start
    tab, shift = _block_table(table, x, sin_theta, L, offsets, m_start, m_stop)
    coef_even = np.zeros((n_m, (L - m_start + 1) // 2, B), dtype=np.complex128)
    coef_odd = np.zeros((n_m, max((L - m_start) // 2, 1), B), dtype=np.complex128)
    flm_to_modes(flm, m_start, m_stop, coef_even, coef_odd)
    even_part = np.zeros((n_m, n_north, B), dtype=np.complex128)
    odd_part = np.zeros((n_m, n_north, B), dtype=np.complex128)
    for m in range(m_start, m_stop):
        k = m - m_start
        base = offsets[m] - shift
        n_even = (L - m + 1) // 2
        n_odd = (L - m) // 2
        even_part[k] = np.dot(
            tab[base: base + n_even].T, np.ascontiguousarray(coef_even[k, :n_even]).view(np.float64)
        ).view(np.complex128)
        if n_odd > 0:
            odd_part[k] = np.dot(
                tab[base + n_even: base + n_even + n_odd].T, np.ascontiguousarray(coef_odd[k, :n_odd]).view(np.float64)
            ).view(np.complex128)
    modes_to_ring_pairs(even_part, odd_part, m_start, m_stop, G)
