"""The heads' shared training loop (``scatter.head._training``): the learning-rate schedules.

Oracles: the cosine schedule's closed form evaluated by NumPy; the learning rates Adam actually used, read
from its parameter groups at every step.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="scatter.head needs the optional extra: pip install 'scatter[head]'")

from scatter.head import _training  # noqa: E402


def test_cosine_factor_closed_form():
    T = 37
    steps = np.arange(T + 1)
    expected = 0.5 * (1.0 + np.cos(np.pi * steps / T))
    got = np.array([_training.cosine_factor(int(t), T) for t in steps])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    assert got[0] == 1.0 and abs(got[-1]) < 1e-15 and np.all(np.diff(got) < 0)


def _train_recording_rates(monkeypatch, schedule, *, n=50, batch_size=8, epochs=3, lr=0.01):
    """Train a linear head, returning the learning rate of each of Adam's steps."""
    rates = []

    class RecordingAdam(torch.optim.Adam):
        def step(self, closure=None):
            rates.append(self.param_groups[0]["lr"])
            return super().step(closure)

    monkeypatch.setattr(_training.torch.optim, "Adam", RecordingAdam)
    rng = np.random.default_rng(0)
    features = torch.as_tensor(rng.standard_normal((n, 3)), dtype=torch.float32)
    labels = torch.as_tensor(rng.integers(0, 2, n))
    p = {"learning_rate": lr, "weight_decay": 0.0, "max_epochs": epochs, "batch_size": batch_size,
         "n_iter_no_change": epochs, "learning_rate_schedule": schedule}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        head = torch.nn.Linear(3, 2)
    _training.train_classifier(head, features, labels, np.arange(n), np.arange(0), p,
                               torch.Generator().manual_seed(0), verbose=False)
    return np.array(rates)


def test_cosine_schedule_decays_over_all_epochs(monkeypatch):
    n, batch_size, epochs, lr = 50, 8, 3, 0.01
    rates = _train_recording_rates(monkeypatch, "cosine", n=n, batch_size=batch_size, epochs=epochs, lr=lr)
    T = epochs * -(-n // batch_size)  # 7 mini-batches per epoch
    assert len(rates) == T == 21
    np.testing.assert_allclose(rates, lr * 0.5 * (1 + np.cos(np.pi * np.arange(T) / T)), rtol=1e-12)


def test_constant_schedule_keeps_the_rate(monkeypatch):
    rates = _train_recording_rates(monkeypatch, "constant")
    assert len(rates) == 21 and np.all(rates == 0.01)
