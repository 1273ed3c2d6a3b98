"""Features of the learned relevance stage, computed for a batch of items at once.

Three blocks, concatenated into one sparse row per item:
- the rules: each taxonomy group's matched weight in the title and in the text (so an analyst's edit to the
  taxonomy moves the model too), the rules' core/related totals, damping and label;
- hashed words: title words, all words, word bigrams and word stems cut to a fixed length (Polish, Ukrainian,
  Russian and German inflect, so "NATO-Gipfel"/"szczycie"/"szczyt" share a stem feature). Hashing keeps no
  vocabulary, so the model artefact holds no publisher text;
- a static multilingual embedding (WordLlama, whose weights ship in its wheel) of title and text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse

from pipeline.classify.scorer import RuleAnalysis, Scorer
from pipeline.embedding import embed

HASH_BITS = 18
N_HASHED = 1 << HASH_BITS
STEM_CHARS = 6  # cut longer words to this many letters: a cheap stemmer that works the same in every language
TEXT_WORDS = 250  # feed summaries are short; long bodies add noise and time
_EMBED_CHARS = 200  # title plus the lead: the BPE tokenizer is the embedding's main cost


@dataclass(frozen=True, slots=True)
class ItemText:
    title: str
    text: str


def word_features(title_words: Sequence[str], body_words: Sequence[str]) -> list[str]:
    """The hashed-token strings of one item from its title and text words (each once: presence, not counts)."""
    out: set[str] = set()
    for word in title_words:
        out.add("t:" + word[:STEM_CHARS])
    for sequence in (title_words, body_words[:TEXT_WORDS]):
        previous = ""
        for word in sequence:
            out.add("w:" + word)
            if len(word) > STEM_CHARS:
                out.add("s:" + word[:STEM_CHARS])
            if previous:
                out.add(f"b:{previous} {word}")
            previous = word
    return list(out)


def analysis_features(analysis: RuleAnalysis) -> list[str]:
    return word_features(analysis.title_tokens, analysis.text_tokens)


@lru_cache(maxsize=1)
def _hasher():  # type: ignore[no-untyped-def]
    from sklearn.feature_extraction import FeatureHasher

    return FeatureHasher(n_features=N_HASHED, input_type="string", alternate_sign=False)


def hashed_block(tokens: Sequence[list[str]]) -> sparse.csr_matrix:
    """Binary presence of each item's word features (``analysis_features``), hashed, rows of unit length."""
    from sklearn.preprocessing import normalize

    return normalize(_hasher().transform(tokens))


@lru_cache(maxsize=500_000)
def hashed_index(token: str) -> int:
    """The column a feature string lands in (MurmurHash3, as scikit-learn's FeatureHasher)."""
    return abs(int(_murmurhash()(token, seed=0))) % N_HASHED


@lru_cache(maxsize=1)
def _murmurhash():  # type: ignore[no-untyped-def]
    from sklearn.utils import murmurhash3_32

    return murmurhash3_32


def rule_block(analyses: Sequence[RuleAnalysis]) -> np.ndarray:
    rows = []
    for analysis in analyses:
        label = analysis.relevance.label
        rows.append([*analysis.title_weights, *analysis.text_weights, analysis.core_weight,
                     analysis.related_weight, float(analysis.damped), float(label == 1), float(label == 2)])
    return np.log1p(np.asarray(rows, dtype=np.float32).clip(min=0.0))


def rule_feature_names(scorer: Scorer) -> list[str]:
    names = scorer.group_names
    return ([f"rules:{n}@title" for n in names] + [f"rules:{n}@text" for n in names]
            + ["rules:core_weight", "rules:related_weight", "rules:damped", "rules:label_related",
               "rules:label_core"])


def assemble(items: Sequence[ItemText], tokens: Sequence[list[str]], rules: np.ndarray,
             use_embedding: bool = True) -> sparse.csr_matrix:
    """One row per item: [rules (``rule_block``, aligned by the caller) | hashed words | embedding]."""
    blocks = [sparse.csr_matrix(rules), hashed_block(tokens)]
    if use_embedding:
        blocks.append(sparse.csr_matrix(embed([f"{i.title}. {i.text[:_EMBED_CHARS]}" for i in items])))
    return sparse.hstack(blocks, format="csr", dtype=np.float32)
