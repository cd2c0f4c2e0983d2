"""Metrics, splits, config and model builder of the comparison, checked independently."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, roc_auc_score
from torch import nn

from dsrelu import DSReLU
from dsrelu.errors import ConfigError
from dsrelu.experiment import RunConfig, build_model
from dsrelu.experiment.metrics import classification_metrics
from dsrelu.experiment.splits import check_folds, inner_split, make_folds, stratified_subset


def pairwise_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """AUC by counting ordered pairs (ties count one half): the Mann-Whitney statistic."""
    wins = (positive[:, None] > negative[None, :]).sum() + 0.5 * (
        positive[:, None] == negative[None, :]
    ).sum()
    return float(wins / (len(positive) * len(negative)))


def test_metrics_against_references() -> None:
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(200, 4, generator=generator, dtype=torch.float64) * 2
    targets = torch.randint(0, 4, (200,), generator=generator)
    got = classification_metrics(logits.float(), targets)
    z = logits.float().double().numpy()
    log_softmax = z - z.max(1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(1, keepdims=True))
    y = targets.numpy()
    assert got["loss"] == pytest.approx(-log_softmax[np.arange(200), y].mean(), rel=1e-12)
    assert got["acc"] == pytest.approx(np.mean(z.argmax(1) == y))
    assert got["f1"] == pytest.approx(f1_score(y, z.argmax(1), average="weighted"))
    probabilities = np.exp(log_softmax)
    expected_auc = roc_auc_score(y, probabilities, multi_class="ovr", average="macro")
    assert got["auc"] == pytest.approx(expected_auc, rel=1e-12)


def test_auc_averages_only_the_classes_present() -> None:
    generator = torch.Generator().manual_seed(4)
    logits = torch.randn(60, 3, generator=generator, dtype=torch.float64)
    targets = torch.tensor([0, 2] * 30)  # class 1 absent from this split
    got = classification_metrics(logits, targets)
    p = torch.softmax(logits, 1).numpy()
    y = targets.numpy()
    by_hand = [pairwise_auc(p[y == c, c], p[y != c, c]) for c in (0, 2)]
    assert got["auc"] == pytest.approx(np.mean(by_hand), rel=1e-12)


def test_auc_is_nan_with_one_class_and_never_crashes() -> None:
    got = classification_metrics(torch.randn(5, 3), torch.zeros(5, dtype=torch.int64))
    assert math.isnan(got["auc"]) and got["acc"] in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def test_folds_are_stratified_disjoint_and_seeded() -> None:
    targets = np.repeat(np.arange(3), [50, 30, 21])
    folds = make_folds(targets, 5, seed=7)
    held_out = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(held_out), np.arange(len(targets)))
    for train, test in folds:
        assert not set(train) & set(test)
        counts = np.bincount(targets[test], minlength=3)
        assert all(abs(c - n / 5) < 1 for c, n in zip(counts, [50, 30, 21], strict=True))
    again = make_folds(targets, 5, seed=7)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    other = make_folds(targets, 5, seed=8)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other, strict=True))


def test_inner_split_is_stratified_and_keeps_singletons_in_training() -> None:
    targets = np.array([0] * 40 + [1] * 20 + [2])
    indices = np.arange(len(targets))
    train, val = inner_split(indices, targets, 0.25, seed=1)
    assert not set(train) & set(val)
    assert len(train) + len(val) == len(indices)
    assert 60 in train  # the only sample of class 2
    assert np.bincount(targets[val], minlength=3).tolist() == [10, 5, 0]


def test_stratified_subset_keeps_class_shares() -> None:
    targets = np.repeat(np.arange(4), 100)
    subset = stratified_subset(targets, 80, seed=0)
    assert len(subset) == 80 and np.bincount(targets[subset]).tolist() == [20, 20, 20, 20]


def test_check_folds_errors_and_warnings() -> None:
    names = ("N", "S", "V")
    targets = np.array([0] * 10 + [1] * 3 + [2] * 1)
    with pytest.raises(ConfigError, match="folds must be at least 2, got 1"):
        check_folds(targets, 1, names, dataset="toy")
    with pytest.raises(ConfigError, match="folds=11 is more than any class of toy has samples"):
        check_folds(targets, 11, names, dataset="toy")
    with pytest.warns(UserWarning, match=r"fewer samples than folds=5.*S \(3\), V \(1\)"):
        check_folds(targets, 5, names, dataset="toy")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"datasets": ("imagenet",)}, "unknown dataset 'imagenet'; valid names: digits"),
        ({"activations": ("relu", "swish9")}, "unknown activation 'swish9'; valid names: relu"),
        ({"activations": ("relu", "relu")}, "activations must not repeat"),
        ({"folds": 1}, "folds must be an integer >= 2, got 1"),
        ({"max_epochs": 0}, "max_epochs must be an integer >= 1, got 0"),
        ({"lr": -1.0}, "lr must be a positive finite number, got -1.0"),
        ({"val_fraction": 1.0}, r"val_fraction must be in \(0, 1\), got 1.0"),
        ({"select_on": "test"}, "select_on must be one of inner, held-out, got 'test'"),
    ],
)
def test_run_config_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RunConfig(**kwargs)  # type: ignore[arg-type]


def test_model_for_heartbeats_and_grey_images() -> None:
    model = build_model("dsrelu", in_channels=1, num_classes=5)
    assert model.conv1.in_channels == 1 and model.fc.out_features == 5
    assert sum(isinstance(m, DSReLU) for m in model.modules()) == 17
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())
    model.eval()
    assert model(torch.randn(3, 1, 1, 187)).shape == (3, 5)
    assert model(torch.randn(2, 1, 16, 16)).shape == (2, 5)


def parse_run(*argv: str) -> RunConfig:
    import argparse

    from dsrelu.experiment import add_run_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    return config_from_args(parser.parse_args(list(argv)))


def test_presets_resolve_per_dataset_and_flags_override() -> None:
    quick = parse_run()
    assert (quick.preset, quick.folds, quick.max_epochs, quick.precise_bn) == ("quick", 3, 4, 10)
    paper = parse_run("--dataset", "mitbih")
    assert (paper.preset, paper.folds, paper.max_epochs, paper.patience) == ("paper", 5, 150, 15)
    assert (paper.batch_size, paper.lr, paper.precise_bn, paper.select_on) == (32, 1e-4, 0, "inner")
    assert paper.activations == ("relu", "leaky_relu", "sigmoid", "tanh", "mish", "dsrelu")
    custom = parse_run("--preset", "paper", "--folds", "3", "--precise-bn", "5", "--lr", "0.01")
    assert (custom.folds, custom.precise_bn, custom.lr, custom.max_epochs) == (3, 5, 0.01, 150)
