"""Figures: filter banks and confusion matrices, written to PNG by matplotlib's Agg canvas (pyplot untouched)."""

import numpy as np

from ._atomic import atomic_path


def _figure(**kwargs):
    """A matplotlib figure drawn by the Agg canvas, outside pyplot: the caller's backend and figures are untouched."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("plots need matplotlib: pip install 'scatter[cli]'") from exc
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
    return path


def plot_filters_2d(bank, path):
    """PNG of a 2D filter bank: the real part of every wavelet in space, one row per scale j, then the low pass.

    Parameters
    ----------
    bank : dict
        Output of :func:`scatter.grid.filters_2d.filter_bank_2d` (``Scattering2D(...).filters``).
    path : str or Path
        Output file.
    """
    J, L = bank["J"], bank["L"]
    fig = _figure(figsize=(1.4 * L, 1.4 * (J + 1)))
    axes = fig.subplots(J + 1, L, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for psi in bank["psi"]:
        spatial = np.fft.fftshift(np.fft.ifft2(psi["levels"][0]))
        ax = axes[psi["j"], psi["theta"]]
        ax.imshow(spatial.real, cmap="RdBu_r")
        ax.set_title(f"j={psi['j']} θ={psi['theta']}", fontsize=7)
    axes[J, 0].imshow(np.fft.fftshift(np.fft.ifft2(bank["phi"]["levels"][0])).real, cmap="gray")
    axes[J, 0].set_title(f"φ (J={J})", fontsize=7)
    fig.suptitle("Morlet wavelets (real part) and low pass")
    return _save(fig, path)


def plot_filters_1d(bank, path):
    """PNG of a 1D filter bank: the first- and second-order wavelets and the low pass in frequency."""
    fig = _figure(figsize=(8, 5))
    axes = fig.subplots(2, 1, sharex=True)
    n = bank["N"]
    freqs = np.arange(n // 2) / n
    for ax, order in zip(axes, (1, 2)):
        for psi in bank[f"psi{order}"]:
            ax.plot(freqs, psi["levels"][0][: n // 2], lw=0.8)
        ax.plot(freqs, bank["phi"]["levels"][0][: n // 2], "k", lw=1.2, label="φ")
        ax.set_ylabel(f"order {order}")
        ax.legend(loc="upper right")
    axes[1].set_xlabel("frequency (cycles per sample)")
    fig.suptitle("Morlet filter bank in frequency")
    return _save(fig, path)


def plot_confusion(confusion, labels, path, title="Confusion matrix"):
    """PNG of a confusion matrix (rows: true class, columns: predicted), with counts in the cells."""
    confusion = np.asarray(confusion)
    fig = _figure(figsize=(1 + 0.5 * len(labels), 0.8 + 0.5 * len(labels)))
    ax = fig.subplots()
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = confusion.max() / 2 if confusion.size else 0
    for (i, j), count in np.ndenumerate(confusion):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7, color="white" if count > threshold else "black")
    ax.set_title(title)
    return _save(fig, path)
