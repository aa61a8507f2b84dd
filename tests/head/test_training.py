"""The heads' shared training loop (``scatter.head._training``): the learning-rate schedules and the
recomputed statistics of batch normalisation.

Oracles: the cosine schedule's closed form evaluated by NumPy; the learning rates Adam actually used, read
from its parameter groups at every step; means and variances of the data computed by NumPy.
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


def _features(n=64, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) * [1.0, 3.0, 0.5] + [2.0, -1.0, 0.0]


def _norm_head(momentum=0.1):
    return torch.nn.Sequential(torch.nn.BatchNorm1d(3, momentum=momentum, dtype=torch.float64))


def test_recompute_batch_norm_gives_the_mean_of_the_batch_statistics():
    x = _features()
    head = _norm_head()
    # Four batches of 16 cover the 64 samples: the mean of their means is the mean of all the samples.
    _training.recompute_batch_norm(head, torch.as_tensor(x), np.arange(64), 16, 10, torch.Generator().manual_seed(0))
    norm = head[0]
    np.testing.assert_allclose(norm.running_mean.numpy(), x.mean(axis=0), rtol=1e-12)
    assert norm.momentum == 0.1 and not head.training
    # One batch of all of them: the running variance is that batch's (unbiased, as torch keeps it).
    _training.recompute_batch_norm(head, torch.as_tensor(x), np.arange(64), 64, 1, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(norm.running_mean.numpy(), x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(norm.running_var.numpy(), x.var(axis=0, ddof=1), rtol=1e-12)


def test_recompute_batch_norm_reads_the_given_rows_only():
    x = _features()
    head = _norm_head()
    index = np.arange(0, 64, 2)
    _training.recompute_batch_norm(head, torch.as_tensor(x), index, 8, 4, torch.Generator().manual_seed(3))
    np.testing.assert_allclose(head[0].running_mean.numpy(), x[index].mean(axis=0), rtol=1e-12)


def test_recompute_spherical_batch_norm_gives_the_mean_and_variance_of_the_maps():
    from scatter.head import SphericalBatchNorm, pack_coefficients

    rng = np.random.default_rng(1)
    L = 6
    flm = np.tril(rng.standard_normal((32, 2, L, L)) + 1j * rng.standard_normal((32, 2, L, L)))
    flm[..., 0] = flm[..., 0].real + np.array([1.0, -2.0])[:, None]  # real m = 0; maps of nonzero mean
    x = torch.as_tensor(pack_coefficients(flm), dtype=torch.float32)
    head = torch.nn.Sequential(SphericalBatchNorm(2, L))
    # The mean of a map over the sphere is f_00 / sqrt(4 pi); the mean square (Parseval, with the
    # coefficients of negative m, |f_l,-m| = |f_lm|) is sum over all l, m of |f_lm|^2 / (4 pi).
    mean = flm[:, :, 0, 0].real / np.sqrt(4 * np.pi)
    square = (np.abs(flm[..., 0]) ** 2).sum(-1) + 2 * (np.abs(flm[..., 1:]) ** 2).sum((-1, -2))
    _training.recompute_batch_norm(head, x, np.arange(32), 8, 4, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(head[0].running_mean.numpy(), mean.mean(axis=0), rtol=1e-5)
    assert head[0].momentum == 0.1
    _training.recompute_batch_norm(head, x, np.arange(32), 32, 1, torch.Generator().manual_seed(0))
    variance = square.mean(axis=0) / (4 * np.pi) - mean.mean(axis=0) ** 2
    np.testing.assert_allclose(head[0].running_var.numpy(), variance, rtol=1e-5)


def _train(batch_norm_batches, n=80, epochs=3):
    rng = np.random.default_rng(2)
    features = torch.as_tensor(rng.standard_normal((n, 3)) * 2.0 + 1.0, dtype=torch.float32)
    labels = torch.as_tensor((features[:, 0] > 1.0).long())
    p = {"learning_rate": 0.05, "weight_decay": 0.0, "max_epochs": epochs, "batch_size": 8,
         "n_iter_no_change": epochs, "learning_rate_schedule": "constant", "batch_norm_batches": batch_norm_batches}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        head = torch.nn.Sequential(torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
    _training.train_classifier(head, features, labels, np.arange(n), np.arange(0), p,
                               torch.Generator().manual_seed(0), verbose=False)
    return head, features


def test_recomputed_statistics_leave_the_training_unchanged():
    plain, features = _train(0)
    recomputed, _ = _train(10)  # 10 batches of 8: all 80 samples
    for name, value in plain.named_parameters():
        torch.testing.assert_close(dict(recomputed.named_parameters())[name], value, rtol=0, atol=0)
    # Only the running statistics differ: the exponential average against the plain mean of the data.
    mean = features.double().mean(dim=0).numpy()
    np.testing.assert_allclose(recomputed[0].running_mean.numpy(), mean, rtol=1e-5)
    assert np.abs(plain[0].running_mean.numpy() - mean).max() > 1e-3


def _one_epoch(head, features, labels, **options):
    """One epoch at a constant rate, without validation, of ``head`` on ``features``; the loss per epoch."""
    p = {"learning_rate": 0.01, "weight_decay": 0.0, "max_epochs": 1, "batch_size": 8, "n_iter_no_change": 1,
         "learning_rate_schedule": "constant", **options}
    n = len(labels)
    _, loss_curve, _ = _training.train_classifier(head, features, labels, np.arange(n), np.arange(0), p,
                                                   torch.Generator().manual_seed(0), verbose=False)
    return loss_curve


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.3])
def test_label_smoothing_loss_closed_form(epsilon):
    """With a rate too small to move the weights, the first epoch's loss is the smoothed cross-entropy of the
    initial logits: (1 - e) (-log p_y) + e mean_k (-log p_k), computed here by NumPy."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 3))
    y = rng.integers(0, 4, 8)
    head = torch.nn.Linear(3, 4, dtype=torch.float64)
    logits = x @ head.weight.detach().numpy().T + head.bias.detach().numpy()
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    expected = np.mean((1 - epsilon) * -log_p[np.arange(8), y] + epsilon * -log_p.mean(axis=1))
    loss = _one_epoch(head, torch.as_tensor(x), torch.as_tensor(y), learning_rate=1e-300, label_smoothing=epsilon)
    np.testing.assert_allclose(loss[0], expected, rtol=1e-12)


class _IdleWeight(torch.nn.Module):
    """A linear model beside a weight that the loss does not depend on (its gradient is exactly zero)."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 2, dtype=torch.float64)
        self.idle = torch.nn.Parameter(torch.tensor([1.5, -0.5], dtype=torch.float64))

    def forward(self, x):
        return self.linear(x) + 0.0 * self.idle.sum()


@pytest.mark.parametrize("decoupled", [False, True])
def test_weight_decay_coupled_and_decoupled(decoupled):
    """A weight of zero gradient under a decay rate w: AdamW shrinks it by (1 - lr w) per step, apart from
    Adam's step (zero here); Adam's L2 penalty makes w * weight its gradient, which Adam's normalised step
    turns into a move of about lr per step towards 0, whatever the rate."""
    rng = np.random.default_rng(5)
    features = torch.as_tensor(rng.standard_normal((56, 3)))  # 7 steps of 8
    labels = torch.as_tensor(rng.integers(0, 2, 56))
    head = _IdleWeight()
    start = head.idle.detach().numpy().copy()
    lr, rate = 0.01, 0.5
    _one_epoch(head, features, labels, learning_rate=lr, weight_decay=rate, decoupled_weight_decay=decoupled)
    end = head.idle.detach().numpy()
    if decoupled:
        np.testing.assert_allclose(end, start * (1 - lr * rate) ** 7, rtol=1e-12)
    else:
        np.testing.assert_allclose(start - end, 7 * lr * np.sign(start), rtol=1e-2)
