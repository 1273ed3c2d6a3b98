"""Precision, recall and F1: the one definition every evaluation uses."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def is_frozen(key: object) -> bool:
    """The frozen evaluation slice of every labelled set: about one in five, fixed by the key alone
    (sha256 % 5 == 0). Never trained or tuned on, only measured."""
    return int(hashlib.sha256(str(key).encode()).hexdigest(), 16) % 5 == 0


def prf(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float | int]:
    """From (truth, predicted) pairs of booleans."""
    tp = fp = fn = 0
    for truth, predicted in pairs:
        tp += bool(truth and predicted)
        fp += bool(predicted and not truth)
        fn += bool(truth and not predicted)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "tp": tp, "fp": fp, "fn": fn}
