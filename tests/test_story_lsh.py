"""The compiled LSH and pair scoring against their definitions, on generated digests and documents."""

from __future__ import annotations

import numpy as np

from pipeline.story_lsh import BandedLSH

PERMUTATIONS = 16
ALL = 10**6  # no cap on a bucket's walk


def _shares_a_band(a: np.ndarray, b: np.ndarray) -> bool:
    return any((a[i:i + 2] == b[i:i + 2]).all() for i in range(0, len(a), 2))


def test_candidates_are_exactly_the_documents_sharing_a_band_within_reach():
    rng = np.random.default_rng(5)
    # few distinct values, so that bands collide often and buckets hold long chains
    digests = rng.integers(0, 3, size=(400, PERMUTATIONS)).astype(np.uint32)
    days = rng.integers(100, 110, size=400)
    lsh = BandedLSH(PERMUTATIONS, capacity=8)  # grows: rehashing and resizing are exercised
    for key in range(300):
        lsh.insert(key, digests[key], int(days[key]))
    for query in range(300, 400):
        found = lsh.best(digests[query], int(days[query]), 2, [], 10**6, 0, 10**6, ALL)
        expected = {key for key in range(300)
                    if abs(days[key] - days[query]) <= 2 and _shares_a_band(digests[key], digests[query])}
        assert sorted(found) == sorted(expected) and len(found) == len(set(found))


def test_the_best_candidates_agree_most_with_the_query_ties_to_the_lower_key():
    query = np.arange(PERMUTATIONS, dtype=np.uint32)
    lsh = BandedLSH(PERMUTATIONS)
    agreeing = [16, 4, 10, 10, 2, 16]  # places each document shares with the query (first band always shared)
    for key, places in enumerate(agreeing):
        digest = query.copy()
        digest[places:] += 1000
        lsh.insert(key, digest, 7)
    assert lsh.best(query, 7, 0, [], 100, 3, 3, ALL) == [0, 5, 2]
    assert lsh.best(query, 7, 0, [], 100, 3, 10, ALL) == [0, 5, 2, 3, 1]  # 2 places: below the minimum
    assert lsh.best(query, 7, 0, [], 3, 0, 10, ALL) == [5, 3, 4]  # at most 3 candidates: the most recent keys
    assert lsh.best(query, 9, 1, [], 100, 0, 10, ALL) == []  # two days away, reach one day


def test_the_best_candidates_are_exact_when_values_differ_only_above_their_low_byte():
    # the ranking first counts agreement on each value's low byte; values 256 apart agree there and not in truth
    rng = np.random.default_rng(11)
    query = rng.integers(0, 2**24, size=PERMUTATIONS).astype(np.uint32)
    lsh = BandedLSH(PERMUTATIONS)
    digests = []
    for key in range(200):
        digest = query.copy()
        digest[2:] += (rng.integers(0, 3, size=PERMUTATIONS - 2) * 256).astype(np.uint32)  # first band shared
        digests.append(digest)
        lsh.insert(key, digest, 3)
    for min_equal, limit in ((0, 5), (6, 16), (10, 3), (2, 200)):
        agreement = [int((d == query).sum()) for d in digests]
        expected = sorted((k for k in range(200) if agreement[k] >= min_equal), key=lambda k: (-agreement[k], k))
        assert lsh.best(query, 3, 0, [], 10**6, min_equal, limit, ALL) == expected[:limit]


def test_a_crowded_bucket_is_walked_from_its_newest_documents_up_to_the_cap():
    lsh = BandedLSH(PERMUTATIONS)
    shared = np.zeros(PERMUTATIONS, dtype=np.uint32)
    for key in range(40):  # 40 documents of one day share every band with the query
        lsh.insert(key, shared, 3)
    lsh.insert(40, shared, 2)  # another day: its own bucket, walked separately
    assert sorted(lsh.best(shared, 3, 1, [], 100, 0, 100, 5)) == [35, 36, 37, 38, 39, 40]
    assert sorted(lsh.best(shared, 3, 1, [], 100, 0, 100, 1)) == [39, 40]  # each bucket's newest only
    assert lsh.best(shared, 3, 1, [], 100, 0, 100, 0) == []
    assert sorted(lsh.best(shared, 3, 1, [], 100, 0, 100, ALL)) == list(range(41))
    assert sorted(lsh.best(shared, 3, 1, [7], 100, 0, 100, 5)) == [7, 35, 36, 37, 38, 39, 40]  # other routes stay


def test_documents_found_by_other_routes_join_once_and_only_within_reach():
    lsh = BandedLSH(PERMUTATIONS)
    base = np.zeros(PERMUTATIONS, dtype=np.uint32)
    lsh.insert(0, base, 10)
    lsh.insert(1, base + 1, 10)
    lsh.insert(2, base + 2, 20)
    assert sorted(lsh.best(base, 10, 2, [0, 1, 1, 2], 100, 0, 10, ALL)) == [0, 1]
