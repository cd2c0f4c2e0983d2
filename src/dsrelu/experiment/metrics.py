"""Classification metrics from logits: loss, accuracy, weighted F1, one-vs-rest AUC."""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score, roc_auc_score

__all__ = ["classification_metrics"]


def classification_metrics(logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """Loss, accuracy, F1 and AUC of one split, computed in float64 on the CPU.

    - ``loss``: mean cross entropy.
    - ``acc``: fraction of correct top-1 predictions.
    - ``f1``: F1 averaged over classes weighted by their support (scikit-learn's
      ``average="weighted"``).
    - ``auc``: one-vs-rest ROC AUC from a float64 softmax, averaged (unweighted) over
      the classes present in ``targets``; a class needs at least one positive and one
      negative sample to have an AUC. NaN when fewer than two classes are present.

    Args:
        logits: ``(N, C)`` scores, any device and floating dtype.
        targets: ``(N,)`` integer class indices.

    Returns:
        A dict with keys ``loss``, ``acc``, ``f1``, ``auc`` (Python floats).
    """
    scores = logits.detach().to("cpu", torch.float64)
    labels = targets.detach().to("cpu", torch.int64)
    if scores.ndim != 2 or labels.shape != scores.shape[:1] or len(labels) == 0:
        raise ValueError(
            f"expected (N, C) logits and (N,) targets with N > 0, got {tuple(scores.shape)} "
            f"and {tuple(labels.shape)}"
        )
    loss = F.cross_entropy(scores, labels).item()
    probabilities = torch.softmax(scores, dim=1).numpy()
    y = labels.numpy()
    predicted = probabilities.argmax(axis=1)
    accuracy = float(np.mean(predicted == y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f1 = float(f1_score(y, predicted, average="weighted", zero_division=0))
    present = np.unique(y)
    if len(present) < 2:
        auc = math.nan
    else:
        auc = float(np.mean([roc_auc_score(y == c, probabilities[:, c]) for c in present]))
    return {"loss": loss, "acc": accuracy, "f1": f1, "auc": auc}
