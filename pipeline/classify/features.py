"""Features of the learned relevance stage, computed for a batch of items at once.

Four blocks, concatenated into one sparse row per item:
- the rules: each taxonomy group's matched weight in the title and in the text (so an analyst's edit to the
  taxonomy moves the model too), the rules' core/related totals, damping and label;
- hashed words: title words, all words, word bigrams and word stems cut to a fixed length (Polish, Ukrainian,
  Russian and German inflect, so "NATO-Gipfel"/"szczycie"/"szczyt" share a stem feature). Hashing keeps no
  vocabulary, so the model artefact holds no publisher text (MurmurHash3, scikit-learn's FeatureHasher scheme);
- a static multilingual embedding (WordLlama, whose weights ship in its wheel) of title and text;
- hashed character 4- and 5-grams of the title's and the lead's words: inflected forms ("Sojuszu", "sojusznicy",
  "Bündnispartner") and compounds ("Drohnenabwehr", "Luftraumverletzung") share pieces that whole words and a
  fixed-length stem miss. A word's columns are computed once and remembered, so the block costs a few lookups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import mmh3
import numpy as np
from scipy import sparse

from pipeline.classify.scorer import RuleAnalysis, Scorer
from pipeline.embedding import embed
from pipeline.word_memo import WordMemo

HASH_BITS = 18
N_HASHED = 1 << HASH_BITS
STEM_CHARS = 6  # cut longer words to this many letters: a cheap stemmer that works the same in every language
TEXT_WORDS = 250  # feed summaries are short; long bodies add noise and time
_EMBED_CHARS = 200  # title plus the lead: the BPE tokenizer is the embedding's main cost
CHAR_BITS = 18
N_CHAR = 1 << CHAR_BITS
CHAR_NGRAMS = (4, 5)  # 5-fold CV on the dev sets: (4, 5) over title + 60 words as good as (3, 4, 5) and cheaper
CHAR_TEXT_WORDS = 60
# How much each block counts against the one regularisation strength (rules, hashed words, embedding, character
# n-grams). Out-of-fold average precision on the unfrozen dev items, relevant / core: all 1.0 0.946 / 0.868;
# rules x0.5 0.949 / 0.874, rules x2 0.941 / 0.849; words x2 0.948 / 0.875; embedding x0.5 or x2 worse; chars x2
# 0.951 / 0.880, x3 0.953 / 0.889; rules x0.5 + words x2 + chars x2 0.957 / 0.886: the text blocks were
# under-weighted against the taxonomy's rule columns
BLOCK_SCALES = (0.5, 2.0, 1.0, 2.0)


@dataclass(frozen=True, slots=True)
class ItemText:
    title: str
    text: str


def word_features(title_words: Sequence[str], body_words: Sequence[str]) -> list[str]:
    """The hashed-token strings of one item from its title and text words (each once: presence, not counts):
    title stems, then per sequence (title, the text's first words) its words, long words' stems and bigrams."""
    out = {"t:" + word[:STEM_CHARS] for word in title_words}
    for sequence in (title_words, body_words[:TEXT_WORDS]):
        out.update(["w:" + word for word in sequence])
        out.update(["s:" + word[:STEM_CHARS] for word in sequence if len(word) > STEM_CHARS])
        out.update(map("b:{} {}".format, sequence, sequence[1:]))
    return list(out)


def analysis_features(analysis: RuleAnalysis) -> list[str]:
    return word_features(analysis.title_tokens, analysis.text_tokens)


def hash_columns(strings: Sequence[str], n_features: int = N_HASHED) -> np.ndarray:
    """The column each string lands in: MurmurHash3 (32-bit, seed 0) of its UTF-8, absolute value modulo
    ``n_features``, which is scikit-learn's ``FeatureHasher(alternate_sign=False)`` scheme (a test holds the two
    equal), computed per string so a caller keeps which string went where (evidence names its words)."""
    hashes = np.fromiter(map(mmh3.hash, strings), dtype=np.int64, count=len(strings))
    return np.abs(hashes) % n_features


def token_columns(tokens: Sequence[Sequence[str]]) -> np.ndarray:
    """``hash_columns`` of every item's feature strings (``analysis_features``), concatenated in order."""
    return hash_columns(list(chain.from_iterable(tokens)))


def hashed_block(tokens: Sequence[Sequence[str]], columns: np.ndarray | None = None) -> sparse.csr_matrix:
    """Binary presence of each item's word features (``analysis_features``), hashed, rows of unit length; two
    features of an item that collide count twice, as in FeatureHasher. ``columns``: their ``token_columns``,
    when the caller has them already."""
    if columns is None:
        columns = token_columns(tokens)
    sizes = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    rows = np.repeat(np.arange(len(tokens)), sizes)
    matrix = sparse.csr_matrix((np.ones(len(columns)), (rows, columns)), shape=(len(tokens), N_HASHED))
    matrix.sum_duplicates()
    return unit_rows(matrix)


def unit_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """``matrix`` with each nonzero row scaled to unit Euclidean length, in place (scikit-learn's
    ``normalize``, which a test holds equal; importing scikit-learn cost each parse worker ~1 s of CPU)."""
    counts = np.diff(matrix.indptr)
    squares = np.bincount(np.repeat(np.arange(matrix.shape[0]), counts), weights=matrix.data ** 2,
                          minlength=matrix.shape[0])
    norms = np.sqrt(squares)
    norms[norms == 0.0] = 1.0
    matrix.data /= np.repeat(norms, counts)
    return matrix


def _char_columns(words: list[str]) -> list[np.ndarray]:
    """Each word's character n-gram columns (``hash_columns`` of ``"c:" + gram``), hashed in one call; a gram
    may repeat (``char_block`` counts presence)."""
    grams: list[str] = []
    ends = []
    for word in words:
        padded = f"<{word}>"
        grams.extend(["c:" + padded[k:k + n] for n in CHAR_NGRAMS for k in range(len(padded) - n + 1)])
        ends.append(len(grams))
    columns = hash_columns(grams, N_CHAR).astype(np.int32)
    return np.split(columns, ends[:-1]) if words else []


CHAR_COLUMNS: WordMemo[np.ndarray] = WordMemo(_char_columns)


def char_words(analysis: RuleAnalysis) -> list[str]:
    """The words whose character n-grams are features: the title's and the lead's."""
    return [*analysis.title_tokens, *analysis.text_tokens[:CHAR_TEXT_WORDS]]


def char_block(words: Sequence[Sequence[str]]) -> sparse.csr_matrix:
    """Binary presence of each item's character n-grams (``char_words``), hashed, rows of unit length. Built for
    the whole batch at once: one concatenation, one sparse matrix, duplicates folded by scipy."""
    cache = CHAR_COLUMNS.ensure(chain.from_iterable(words))
    per_word = [cache[word] for row in words for word in row]
    if not per_word:
        return sparse.csr_matrix((len(words), N_CHAR), dtype=np.float32)
    word_rows = np.repeat(np.arange(len(words)), np.fromiter(map(len, words), dtype=np.int64, count=len(words)))
    sizes = np.fromiter(map(len, per_word), dtype=np.int64, count=len(per_word))
    columns = np.concatenate(per_word)
    matrix = sparse.csr_matrix((np.ones(len(columns), dtype=np.float32), (np.repeat(word_rows, sizes), columns)),
                               shape=(len(words), N_CHAR))
    matrix.data[:] = 1.0  # presence, not counts (the constructor summed repeated n-grams)
    counts = np.diff(matrix.indptr)
    matrix.data /= np.repeat(np.sqrt(np.maximum(counts, 1)), counts).astype(np.float32)
    return matrix


def rule_block(analyses: Sequence[RuleAnalysis]) -> np.ndarray:
    """Per item: each group's weight in the title, then in the text, then the rules' totals, damping and label
    (the columns of ``rule_feature_names``), log-scaled."""
    if not analyses:
        return np.zeros((0, 0), dtype=np.float32)
    summary = [(a.core_weight, a.related_weight, a.damped, a.relevance.label == 1, a.relevance.label == 2)
               for a in analyses]
    weights = np.hstack([np.array([a.title_weights for a in analyses], dtype=np.float32),
                         np.array([a.text_weights for a in analyses], dtype=np.float32),
                         np.array(summary, dtype=np.float32)])
    return np.log1p(weights.clip(min=0.0))


def rule_feature_names(scorer: Scorer) -> list[str]:
    names = scorer.group_names
    return ([f"rules:{n}@title" for n in names] + [f"rules:{n}@text" for n in names]
            + ["rules:core_weight", "rules:related_weight", "rules:damped", "rules:label_related",
               "rules:label_core"])


def assemble(items: Sequence[ItemText], tokens: Sequence[list[str]], rules: np.ndarray,
             use_embedding: bool = True, chars: Sequence[Sequence[str]] | None = None,
             scales: Sequence[float] = BLOCK_SCALES, columns: np.ndarray | None = None) -> sparse.csr_matrix:
    """One row per item: [rules (``rule_block``, aligned by the caller) | hashed words | embedding |
    character n-grams (when ``chars``, from ``char_words``, is given)], each block times its scale.
    ``columns``: the ``token_columns`` of ``tokens`` when the caller has them already."""
    rules_scale, words_scale, embedding_scale, chars_scale = scales
    blocks = [sparse.csr_matrix(rules * rules_scale), hashed_block(tokens, columns) * words_scale]
    if use_embedding:
        blocks.append(sparse.csr_matrix(
            embed([f"{i.title}. {i.text[:_EMBED_CHARS]}" for i in items]) * embedding_scale))
    if chars is not None:
        blocks.append(char_block(chars) * chars_scale)
    return sparse.hstack(blocks, format="csr", dtype=np.float32)
