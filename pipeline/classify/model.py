"""The learned relevance stage's artefact: two logistic models (relevant vs not, core vs not) over the features
of ``features.py``, with the label thresholds chosen by cross-validation. Stored as a small ``.npz`` of numbers
(hashed-feature weights, no text) that is committed, so a fresh clone classifies without the training data."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy import sparse

from pipeline.atomic import write_atomically

DEFAULT_MODEL = Path(__file__).with_name("relevance_model.npz")


class ModelError(ValueError):
    """The model artefact is missing or unreadable; the message says which file."""


@dataclass(frozen=True, eq=False)
class RelevanceModel:
    rule_features: tuple[str, ...]  # names of the leading dense columns (taxonomy groups), matched by name
    n_hashed: int
    embedding_dim: int
    relevant_weights: np.ndarray  # one per column
    relevant_bias: float
    core_weights: np.ndarray
    core_bias: float
    relevant_threshold: float
    core_threshold: float
    trained_on: dict[str, object]  # counts and settings, for the README and `newswatch eval`
    # Platt scaling (slope, intercept) fitted on out-of-fold scores: the fitted model is over-confident on text
    # like its training data; this maps its raw score to a probability that ranks and does not saturate
    relevant_calibration: tuple[float, float] = (1.0, 0.0)
    core_calibration: tuple[float, float] = (1.0, 0.0)
    n_char: int = 0  # hashed character n-gram columns, after the embedding (0: a model trained without them)
    # what each feature block was multiplied by in training (rules, words, embedding, chars): scoring does the same
    block_scales: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)

    @property
    def n_columns(self) -> int:
        return len(self.rule_features) + self.n_hashed + self.embedding_dim + self.n_char

    @cached_property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for array in (self.relevant_weights, self.core_weights):
            digest.update(_stored(array).tobytes())
        digest.update(f"{self.relevant_bias:.6f}{self.core_bias:.6f}{self.relevant_threshold}"
                      f"{self.core_threshold}{self.relevant_calibration}{self.core_calibration}"
                      f"{self.block_scales}".encode())
        return digest.hexdigest()[:8]

    def probabilities(self, matrix: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """P(relevant) and P(core) for each row."""
        relevant = calibrated(matrix @ self.relevant_weights + self.relevant_bias, self.relevant_calibration)
        core = calibrated(matrix @ self.core_weights + self.core_bias, self.core_calibration)
        return relevant, np.minimum(core, relevant)  # core implies relevant

    def save(self, path: Path) -> None:
        meta = {"rule_features": list(self.rule_features), "n_hashed": self.n_hashed, "n_char": self.n_char,
                "embedding_dim": self.embedding_dim, "relevant_bias": self.relevant_bias,
                "core_bias": self.core_bias, "relevant_threshold": self.relevant_threshold,
                "core_threshold": self.core_threshold, "trained_on": self.trained_on,
                "relevant_calibration": list(self.relevant_calibration),
                "core_calibration": list(self.core_calibration), "block_scales": list(self.block_scales)}
        arrays = {}
        for name, weights in (("relevant", self.relevant_weights), ("core", self.core_weights)):
            stored = _stored(weights)
            nonzero = np.flatnonzero(stored)
            arrays[f"{name}_index"] = nonzero.astype(np.int32)
            arrays[f"{name}_value"] = stored[nonzero]
        buffer = io.BytesIO()
        np.savez_compressed(buffer, meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
                            **arrays)
        write_atomically(Path(path), buffer.getvalue())

    @classmethod
    def load(cls, path: Path | None = None) -> RelevanceModel:
        path = Path(path or DEFAULT_MODEL)
        try:
            with np.load(path) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                n_columns = (len(meta["rule_features"]) + meta["n_hashed"] + meta["embedding_dim"]
                             + meta.get("n_char", 0))
                weights = {}
                for name in ("relevant", "core"):
                    dense = np.zeros(n_columns, dtype=np.float32)
                    dense[data[f"{name}_index"]] = data[f"{name}_value"]
                    weights[name] = dense
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"relevance model {path}: {exc} (rebuild it with `newswatch train`)") from exc
        return cls(rule_features=tuple(meta["rule_features"]), n_hashed=int(meta["n_hashed"]),
                   embedding_dim=int(meta["embedding_dim"]), relevant_weights=weights["relevant"],
                   relevant_bias=float(meta["relevant_bias"]), core_weights=weights["core"],
                   core_bias=float(meta["core_bias"]), relevant_threshold=float(meta["relevant_threshold"]),
                   core_threshold=float(meta["core_threshold"]), trained_on=dict(meta["trained_on"]),
                   relevant_calibration=tuple(meta.get("relevant_calibration", (1.0, 0.0))),  # type: ignore[arg-type]
                   core_calibration=tuple(meta.get("core_calibration", (1.0, 0.0))),  # type: ignore[arg-type]
                   n_char=int(meta.get("n_char", 0)),
                   block_scales=tuple(float(v) for v in meta.get("block_scales", (1.0, 1.0, 1.0, 1.0))))  # type: ignore[arg-type]


def _stored(weights: np.ndarray) -> np.ndarray:
    """The weights as the artefact keeps them (float32, the negligible ones zero): the fingerprint is computed on
    this, so a model reports the same version before it is saved (``newswatch train``) and after it is loaded."""
    kept = np.asarray(weights, dtype=np.float32).copy()
    kept[np.abs(weights) <= 1e-6] = 0.0
    return kept


def calibrated(scores: np.ndarray, calibration: tuple[float, float]) -> np.ndarray:
    slope, intercept = calibration
    return _sigmoid(np.asarray(scores, dtype=np.float64) * slope + intercept)


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(values, dtype=np.float64), -40, 40)))
