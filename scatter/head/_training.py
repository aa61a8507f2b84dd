"""What the heads' scikit-learn classifiers share: parameter checks, torch threads and the training loop."""

import contextlib
import math
import numbers

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch.nn import functional

from .._progress import progress
from .._validation import check_choice, check_int

#: Learning-rate schedules of :func:`train_classifier`.
SCHEDULES = ("constant", "cosine")


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run torch on ``n_threads`` intra-op threads (``None``: as set), restoring the setting afterwards."""
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def check_real(value, name, low, high=math.inf, low_inclusive=False):
    """``value`` as a float in ``(low, high)`` (``[low, high)`` with ``low_inclusive``), else TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r} of type {type(value).__name__}")
    above = value >= low if low_inclusive else value > low
    if not (above and value < high):
        bracket = "[" if low_inclusive else "("
        raise ValueError(f"{name} must be in {bracket}{low}, {high}); got {value!r}")
    return float(value)


def check_hidden(hidden, name="hidden"):
    """Layer widths: a positive int or a non-empty sequence of them, as a tuple."""
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        hidden = (hidden,)
    try:
        widths = tuple(hidden)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of positive integers; got {hidden!r}") from None
    if not widths or not all(isinstance(w, numbers.Integral) and not isinstance(w, bool) and w > 0 for w in widths):
        raise ValueError(f"{name} must be a non-empty sequence of positive integers; got {hidden!r}")
    return tuple(int(w) for w in widths)


def check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_training_params(estimator):
    """The training parameters every head classifier has, checked."""
    for name in ("early_stopping", "verbose"):
        check_bool(getattr(estimator, name), name)
    return {
        "max_epochs": check_int(estimator.max_epochs, "max_epochs", min_value=1),
        "batch_size": check_int(estimator.batch_size, "batch_size", min_value=1),
        "learning_rate": check_real(estimator.learning_rate, "learning_rate", 0.0),
        "learning_rate_schedule": check_choice(estimator.learning_rate_schedule, "learning_rate_schedule", SCHEDULES),
        "weight_decay": check_real(estimator.weight_decay, "weight_decay", 0.0, low_inclusive=True),
        "decoupled_weight_decay": check_bool(estimator.decoupled_weight_decay, "decoupled_weight_decay"),
        "label_smoothing": check_real(estimator.label_smoothing, "label_smoothing", 0.0, 1.0, low_inclusive=True),
        "validation_fraction": check_real(estimator.validation_fraction, "validation_fraction", 0.0, 1.0),
        "n_iter_no_change": check_int(estimator.n_iter_no_change, "n_iter_no_change", min_value=1),
        "n_threads": None if estimator.n_threads is None else check_int(estimator.n_threads, "n_threads", min_value=1),
        "batch_norm_batches": check_int(estimator.batch_norm_batches, "batch_norm_batches", min_value=0),
    }


def split_validation(codes, n_classes, fraction, early_stopping, seed):
    """Training and validation indices: a stratified hold-out of ``fraction`` with early stopping, when every
    class has two samples and both parts can hold every class; otherwise everything is for training."""
    train_idx, valid_idx = np.arange(len(codes)), np.arange(0)
    counts = np.bincount(codes, minlength=n_classes)
    n_valid = int(round(fraction * len(codes)))
    if early_stopping and n_valid >= n_classes and len(codes) - n_valid >= n_classes and counts.min() >= 2:
        train_idx, valid_idx = train_test_split(train_idx, test_size=n_valid, stratify=codes, random_state=seed)
    return train_idx, valid_idx


def cosine_factor(step, total):
    r"""The cosine schedule's factor of the learning rate at step ``step`` of ``total``:
    :math:`\tfrac12 (1 + \cos(\pi\, t / T))`, from 1 at the first step down to 0 after the last."""
    return 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))


def rows(features, index):
    """``features[index]``, or the tuple of each input's rows for a head of several inputs (a tuple)."""
    if isinstance(features, tuple):
        return tuple(f[index] for f in features)
    return (features[index],)


def is_batch_norm(module):
    """Whether ``module`` keeps running batch statistics updated with a ``momentum`` (torch's batch
    normalisations with ``track_running_stats``, and :class:`scatter.head.SphericalBatchNorm`)."""
    return getattr(module, "running_mean", None) is not None and hasattr(module, "momentum")


def recompute_batch_norm(head, features, index, batch_size, n_batches, generator):
    r"""Replace the running statistics of ``head``'s batch normalisations by their means over training batches.

    The running statistics of batch normalisation are exponential averages with weight ``momentum`` of the
    last batches' statistics: with 0.1, mostly of the last ten batches, from weights that kept changing. Here
    they become the plain means, :math:`\bar s = \frac1N \sum_{k=1}^{N} s_k`, of the statistics of
    ``n_batches`` batches of ``batch_size`` samples drawn without replacement from ``index``, all computed
    with the current weights (in training mode, as the layers saw them in training; no gradient). Each
    normalisation's momentum is set to :math:`1/k` at batch :math:`k`, which makes its running update
    :math:`\bar s_k = \bar s_{k-1} + (s_k - \bar s_{k-1})/k` that mean, and is then restored.

    Leaves ``head`` in evaluation mode.
    """
    norms = [m for m in head.modules() if is_batch_norm(m)]
    if not norms or n_batches < 1:
        return head.eval()
    momenta = [m.momentum for m in norms]
    order = index[torch.randperm(len(index), generator=generator).numpy()]
    starts = [s for s in range(0, len(order), batch_size) if len(order[s : s + batch_size]) > 1][:n_batches]
    head.train()
    try:
        with torch.no_grad():
            for k, start in enumerate(starts, 1):
                for m in norms:
                    m.momentum = 1.0 / k
                head(*rows(features, torch.as_tensor(order[start : start + batch_size])))
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
    return head.eval()


def train_classifier(head, features, labels, train_idx, valid_idx, p, generator, *, verbose, desc="head"):
    r"""Train ``head`` on ``features[train_idx]`` by Adam on the cross-entropy, one progress bar tick per epoch.

    ``features`` is a tensor, or a tuple of tensors with the same first axis for a head of several inputs.

    Adam adds ``p["weight_decay"] * w`` to each gradient (an L2 penalty), or with
    ``p["decoupled_weight_decay"]`` shrinks the weights by ``lr * weight_decay * w`` at each step apart from
    its adaptive update (AdamW, Loshchilov & Hutter 2019). With ``p["label_smoothing"]`` :math:`= \epsilon`
    the target of a sample of class :math:`y` among :math:`K` is :math:`(1 - \epsilon) e_y + \epsilon / K`, so
    the loss is :math:`(1 - \epsilon)(-\log p_y) + \epsilon \frac1K \sum_k (-\log p_k)`.

    The learning rate is ``p["learning_rate"]`` throughout (``p["learning_rate_schedule"] == "constant"``)
    or decays after every mini-batch along :func:`cosine_factor` over the ``p["max_epochs"]`` epochs
    (``"cosine"``).
    With ``p["batch_norm_batches"]`` > 0, the running statistics of the batch normalisations are recomputed
    over that many training batches (:func:`recompute_batch_norm`) where they are read: before each
    validation, or once after the last epoch without validation indices.
    With validation indices, keep the weights of the epoch of best validation accuracy and stop after
    ``p["n_iter_no_change"]`` epochs without improvement. Returns ``(head in eval mode, loss per epoch,
    validation accuracy per epoch)``. Batches of one sample are skipped when there are more (batch
    normalisation needs two).
    """
    adam = torch.optim.AdamW if p.get("decoupled_weight_decay", False) else torch.optim.Adam
    optimizer = adam(head.parameters(), lr=p["learning_rate"], weight_decay=p["weight_decay"])
    smoothing = p.get("label_smoothing", 0.0)
    steps = p["max_epochs"] * max(1, -(-len(train_idx) // p["batch_size"]))
    scheduler = None
    if p["learning_rate_schedule"] == "cosine":
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: cosine_factor(step, steps))
    loss_curve, validation_scores = [], []
    best, best_state, stale = -1.0, None, 0
    # Its own stream, so that recomputing the statistics leaves the shuffling, hence the weights, unchanged.
    bn_generator = torch.Generator().manual_seed(generator.initial_seed() + 1)
    n_norm_batches = p.get("batch_norm_batches", 0)
    epochs = progress(range(p["max_epochs"]), total=p["max_epochs"], desc=desc, quiet=not verbose)
    for _ in epochs:
        head.train()
        order = train_idx[torch.randperm(len(train_idx), generator=generator).numpy()]
        total = 0.0
        for start in range(0, len(order), p["batch_size"]):
            batch = torch.as_tensor(order[start : start + p["batch_size"]])
            if len(batch) < 2 and len(order) > 1:
                continue
            optimizer.zero_grad()
            loss = functional.cross_entropy(head(*rows(features, batch)), labels[batch], label_smoothing=smoothing)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += loss.item() * len(batch)
        loss_curve.append(total / len(order))
        if len(valid_idx):
            recompute_batch_norm(head, features, train_idx, p["batch_size"], n_norm_batches, bn_generator)
            with torch.no_grad():
                starts = range(0, len(valid_idx), 1024)
                predicted = torch.cat([head(*rows(features, valid_idx[s : s + 1024])).argmax(dim=1) for s in starts])
            score = float((predicted == labels[valid_idx]).float().mean())
            validation_scores.append(score)
            if score > best:
                best, best_state, stale = score, {k: v.clone() for k, v in head.state_dict().items()}, 0
            else:
                stale += 1
                if stale >= p["n_iter_no_change"]:
                    break
    if best_state is not None:
        head.load_state_dict(best_state)
    elif not len(valid_idx):
        recompute_batch_norm(head, features, train_idx, p["batch_size"], n_norm_batches, bn_generator)
    return head.eval(), loss_curve, validation_scores


def softmax(logits):
    """Row-wise softmax of a float64 array, in place."""
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    return logits / logits.sum(axis=1, keepdims=True)


class HeadClassifierMixin:
    """What the heads' scikit-learn classifiers share, given their ``_logits(X)`` and fitted ``head_``, ``classes_``."""

    def decision_function(self, X):
        """Logits ``(n_samples, n_classes)`` of the head."""
        return self._logits(X)

    def predict_proba(self, X):
        """Class probabilities ``(n_samples, n_classes)``: the softmax of the logits."""
        return softmax(self._logits(X))

    def predict(self, X):
        """Most probable class of each sample."""
        logits = self._logits(X)
        return self.classes_[logits.argmax(axis=1)]

    def __sklearn_is_fitted__(self):
        return hasattr(self, "head_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags
