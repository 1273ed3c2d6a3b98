"""The pair decision compiled (numba): its features and probability for a document against a dozen candidates
at once.

They read a ``story_table.DocTable`` (every document's words, names and numbers as int64 ids in one pool, its
scalars in two matrices), so a candidate list is scored without touching Python objects: in pure Python the
same work cost ~6 us per pair plus numpy's per-call overhead, and it was a third of story assignment.
The feature definitions live here once; ``story_pairs.pair_features`` and training read them through it."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# columns of DocTable.ints
MICROS, DAY, SITE, LANGUAGE, ORDINALS, FLAGS = range(6)
# columns of DocTable.floats
TOTAL, TITLE_TOTAL, INVERSE_NORM = range(3)
# rows of DocTable.spans: the id lists of each document (tokens and title tokens carry weights)
TOKENS, TITLE_TOKENS, ENTITIES, TITLE_NAMES, NUMBERS, TITLE_NUMBERS = range(6)
# bits of the FLAGS column
HAS_SITE, HAS_ORDINALS, GATHERING, EXPLAINER, RECURRING, HAS_VECTOR = (1 << n for n in range(6))
FEATURE_COUNT = 17
# positions in a feature row (story_pairs.FEATURES) that the re-issue rule reads
_JACCARD, _LOG_HOURS_APART, _GATHERING_PAGE, _COSINE = 0, 8, 11, 16
# One article issued again: a headline edit, an update, a partner's copy. Within hours, most of the same
# rarity-weighted words and nearly the same embedded title and lead mean the same text, whatever the pair model's
# curves make of the sites (same-site pairs are mostly different stories, so its curve counts a shared site
# against a pair). On the 623 unfrozen dev pairs no different-event pair meets all three (37 same-article and 6
# same-story pairs do); running pages and briefings, which repeat their text under new events, are left out
REISSUE_MAX_HOURS = 6.0
REISSUE_MIN_JACCARD = 0.5
REISSUE_MIN_COSINE = 0.9


@njit(cache=True)
def write_lists(ids: np.ndarray, weights: np.ndarray, lengths: np.ndarray, pool_ids: np.ndarray,
                pool_weights: np.ndarray, spans: np.ndarray, row: int, start: int) -> None:
    """Put a document's id lists (``ids``/``weights`` one list after another, ``lengths`` each) into the pool
    from ``start``, each sorted by id (then weight), and their spans into ``spans[row]``."""
    at = start
    offset = 0
    for field in range(lengths.shape[0]):
        end = at + lengths[field]
        for n in range(lengths[field]):  # insertion sort: a list holds a few dozen ids
            key, weight = ids[offset + n], weights[offset + n]
            place = at + n
            while place > at and (pool_ids[place - 1] > key
                                  or (pool_ids[place - 1] == key and pool_weights[place - 1] > weight)):
                pool_ids[place], pool_weights[place] = pool_ids[place - 1], pool_weights[place - 1]
                place -= 1
            pool_ids[place], pool_weights[place] = key, weight
        spans[row, field, 0], spans[row, field, 1] = at, end
        offset += lengths[field]
        at = end


@njit(cache=True)
def _shared(ids: np.ndarray, weights: np.ndarray, spans: np.ndarray, a: int, b: int,
            field: int) -> tuple[int, float, float]:
    """(ids in common, sum of the smaller weight of each, largest weight among them) of two documents' id lists
    (each sorted), by one merge. Lists without weights have zeros in the pool."""
    i, i_end = spans[a, field, 0], spans[a, field, 1]
    j, j_end = spans[b, field, 0], spans[b, field, 1]
    count, inter, rarest = 0, 0.0, 0.0
    while i < i_end and j < j_end:
        if ids[i] < ids[j]:
            i += 1
        elif ids[i] > ids[j]:
            j += 1
        else:
            count += 1
            inter += min(weights[i], weights[j])
            rarest = max(rarest, weights[i], weights[j])
            i += 1
            j += 1
    return count, inter, rarest


@njit(cache=True)
def _length(spans: np.ndarray, row: int, field: int) -> int:
    return spans[row, field, 1] - spans[row, field, 0]


@njit(cache=True)
def _overlap(shared: int, a_len: int, b_len: int) -> float:
    return shared / min(a_len, b_len) if a_len and b_len else 0.0


@njit(cache=True)
def _flag(condition: bool) -> float:
    return 1.0 if condition else 0.0


@njit(cache=True)
def _scaled_hours(hours: float) -> float:
    """Hours apart as the ``log_hours_apart`` feature reads them."""
    return math.log1p(hours) / 5


@njit(cache=True)
def _fill_features(out: np.ndarray, a: int, b: int, ids: np.ndarray, weights: np.ndarray, spans: np.ndarray,
                   ints: np.ndarray, floats: np.ndarray, vectors: np.ndarray, missing_cosine: float) -> None:
    """The pair's features in ``story_pairs.FEATURES`` order."""
    _, inter, rarest = _shared(ids, weights, spans, a, b, TOKENS)
    union = floats[a, TOTAL] + floats[b, TOTAL] - inter
    smaller_empty = min(_length(spans, a, TOKENS), _length(spans, b, TOKENS)) == 0
    out[0] = inter / union if union != 0.0 and not smaller_empty else 0.0
    title_jaccard = 0.0
    if _length(spans, a, TITLE_TOKENS) and _length(spans, b, TITLE_TOKENS):
        _, title_inter, _ = _shared(ids, weights, spans, a, b, TITLE_TOKENS)
        title_union = floats[a, TITLE_TOTAL] + floats[b, TITLE_TOTAL] - title_inter
        title_jaccard = title_inter / title_union if title_union != 0.0 else 0.0
    out[1] = title_jaccard
    entities, _, _ = _shared(ids, weights, spans, a, b, ENTITIES)
    out[2] = _overlap(entities, _length(spans, a, ENTITIES), _length(spans, b, ENTITIES))
    out[3] = min(entities, 5) / 5
    out[4] = rarest / 7
    numbers, _, _ = _shared(ids, weights, spans, a, b, NUMBERS)
    out[5] = min(numbers, 5) / 5
    out[6] = _flag(_length(spans, a, NUMBERS) > 0 and _length(spans, b, NUMBERS) > 0 and numbers == 0)
    flags_a, flags_b = ints[a, FLAGS], ints[b, FLAGS]
    out[7] = _flag((flags_a & HAS_ORDINALS) != 0 and (flags_b & HAS_ORDINALS) != 0
                   and ints[a, ORDINALS] != ints[b, ORDINALS])
    out[8] = _scaled_hours(abs(ints[a, MICROS] - ints[b, MICROS]) / 1e6 / 3600)
    out[9] = _flag((flags_a & HAS_SITE) != 0 and ints[a, SITE] == ints[b, SITE])
    out[10] = _flag(ints[a, LANGUAGE] == ints[b, LANGUAGE])
    out[11] = _flag(((flags_a | flags_b) & GATHERING) != 0)
    out[12] = _flag(((flags_a | flags_b) & EXPLAINER) != 0)
    title_numbers, _, _ = _shared(ids, weights, spans, a, b, TITLE_NUMBERS)
    out[13] = _flag(_length(spans, a, TITLE_NUMBERS) > 0 and _length(spans, b, TITLE_NUMBERS) > 0
                    and title_numbers == 0)
    out[14] = min(abs(ints[a, DAY] - ints[b, DAY]), 3) / 3
    names, _, _ = _shared(ids, weights, spans, a, b, TITLE_NAMES)
    out[15] = _overlap(names, _length(spans, a, TITLE_NAMES), _length(spans, b, TITLE_NAMES))
    if (flags_a & HAS_VECTOR) != 0 and (flags_b & HAS_VECTOR) != 0:
        dot = 0
        for d in range(vectors.shape[1]):
            dot += np.int64(vectors[a, d]) * np.int64(vectors[b, d])
        out[16] = dot * floats[a, INVERSE_NORM] * floats[b, INVERSE_NORM]
    else:
        out[16] = missing_cosine


@njit(cache=True)
def pair_features(a: int, others: np.ndarray, ids: np.ndarray, weights: np.ndarray, spans: np.ndarray,
                  ints: np.ndarray, floats: np.ndarray, vectors: np.ndarray, missing_cosine: float) -> np.ndarray:
    """(len(others), FEATURE_COUNT) features of document ``a`` with each of ``others`` (rows of one table)."""
    out = np.empty((others.shape[0], FEATURE_COUNT))
    for n in range(others.shape[0]):
        _fill_features(out[n], a, others[n], ids, weights, spans, ints, floats, vectors, missing_cosine)
    return out


@njit(cache=True)
def _log_odds(features: np.ndarray, low: np.ndarray, span: np.ndarray, curves: np.ndarray, bias: float) -> float:
    """The additive model: bias + each feature's curve read between its two nearest knots (its end value beyond
    them: the model never extrapolates)."""
    last = curves.shape[1] - 1
    z = bias
    for f in range(features.shape[0]):
        position = (features[f] - low[f]) / span[f] * last
        if position <= 0.0:
            z += curves[f, 0]
        elif position >= last:
            z += curves[f, last]
        else:
            left = int(position)
            share = position - left
            z += curves[f, left] * (1.0 - share) + curves[f, left + 1] * share
    return z


@njit(cache=True)
def _logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


@njit(cache=True)
def model_log_odds(features: np.ndarray, low: np.ndarray, span: np.ndarray, curves: np.ndarray,
                   bias: float) -> np.ndarray:
    """(n, f) features -> (n,) log-odds."""
    out = np.empty(features.shape[0])
    for n in range(features.shape[0]):
        out[n] = _log_odds(features[n], low, span, curves, bias)
    return out


@njit(cache=True)
def model_probabilities(features: np.ndarray, low: np.ndarray, span: np.ndarray, curves: np.ndarray,
                        bias: float) -> np.ndarray:
    """(n, f) features -> (n,) probabilities."""
    out = np.empty(features.shape[0])
    for n in range(features.shape[0]):
        out[n] = _logistic(_log_odds(features[n], low, span, curves, bias))
    return out


@njit(cache=True)
def pair_probabilities(a: int, others: np.ndarray, ids: np.ndarray, weights: np.ndarray, spans: np.ndarray,
                       ints: np.ndarray, floats: np.ndarray, vectors: np.ndarray, missing_cosine: float,
                       low: np.ndarray, span: np.ndarray, curves: np.ndarray, bias: float,
                       max_gap_micros: int) -> np.ndarray:
    """The pair model's probability that ``a`` and each of ``others`` report one event; 0 beyond the time gap or
    with conflicting ordinals (game 1 / game 4, June 10 / June 17)."""
    out = np.zeros(others.shape[0])
    row = np.empty(FEATURE_COUNT)
    for n in range(others.shape[0]):
        b = others[n]
        if abs(ints[a, MICROS] - ints[b, MICROS]) > max_gap_micros:
            continue
        if ((ints[a, FLAGS] & HAS_ORDINALS) != 0 and (ints[b, FLAGS] & HAS_ORDINALS) != 0
                and ints[a, ORDINALS] != ints[b, ORDINALS]):
            continue
        _fill_features(row, a, b, ids, weights, spans, ints, floats, vectors, missing_cosine)
        if _reissued(row):
            out[n] = 1.0
        else:
            out[n] = _logistic(_log_odds(row, low, span, curves, bias))
    return out


@njit(cache=True)
def _reissued(features: np.ndarray) -> bool:
    """The pair is one article issued again (``REISSUE_*``): features in ``story_pairs.FEATURES`` order."""
    return (features[_GATHERING_PAGE] == 0.0 and features[_LOG_HOURS_APART] <= _scaled_hours(REISSUE_MAX_HOURS)
            and features[_JACCARD] >= REISSUE_MIN_JACCARD and features[_COSINE] >= REISSUE_MIN_COSINE)
