"""MinHash LSH for same-story candidates, in arrays and compiled (numba).

A document's MinHash digest is cut into bands (``rows`` values each); two documents are candidates when one band
agrees exactly. Bands are filed under (band, day) in one open-addressing hash table whose buckets are chains of
document keys, so a query reads only the days a match can come from and its cost stays flat however long the
stream. A query also ranks its candidates by how much of the digest agrees (the estimated Jaccard) and returns
the few worth confirming: one compiled call per article instead of a Python list per day and a copy of every
candidate's digest."""

from __future__ import annotations

import numpy as np
from numba import njit

_NONE = -1
_MIX_1 = np.uint64(0x9E3779B97F4A7C15)
_MIX_2 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_3 = np.uint64(0x94D049BB133111EB)
# columns of a bucket (one 32-byte row of the slot table, so a probe touches one cache line): its (band, day)
# tag + 1 (0: the slot is free), the band's value, its newest key, and the chain of its older keys in ``entries``.
# Most buckets hold one key (100k bench items: 6.3M keys in 4.6M buckets), so most probes read no entry at all: a
# key read from the chain is a cache miss of its own, and those were ~40 % of a query's time
_TAG, _VALUE, _NEWEST, _OLDER = 0, 1, 2, 3
_SLOT_COLUMNS = 4


@njit(cache=True)
def _find(slots: np.ndarray, band_value: np.int64, tag: np.int64) -> np.int64:
    """The slot holding (band_value, tag), or the free slot where it belongs (linear probing from the
    splitmix64 hash of both)."""
    x = np.uint64(band_value) ^ (np.uint64(tag) * _MIX_1)
    x = (x ^ (x >> np.uint64(30))) * _MIX_2
    x = (x ^ (x >> np.uint64(27))) * _MIX_3
    x = x ^ (x >> np.uint64(31))
    mask = slots.shape[0] - 1
    slot = np.int64(x & np.uint64(mask))
    while slots[slot, _TAG] != 0 and not (slots[slot, _TAG] == tag + 1 and slots[slot, _VALUE] == band_value):
        slot = (slot + 1) & mask
    return slot


@njit(cache=True)
def _band_value(digest: np.ndarray, band: int) -> np.int64:
    """A band of two digest values, exactly (two 32-bit values in one 64-bit word)."""
    return (np.int64(digest[2 * band]) << 32) | np.int64(digest[2 * band + 1])


@njit(cache=True)
def _insert(slots: np.ndarray, entries: np.ndarray, used: np.ndarray, key: int, digest: np.ndarray,
            day: int) -> None:
    """File ``key`` under each of its bands for ``day``; ``used`` = [slots taken, entries taken]. The key becomes
    its bucket's newest; the one it displaces heads the bucket's chain of older keys."""
    for band in range(digest.shape[0] // 2):
        band_value = _band_value(digest, band)
        tag = np.int64(day) * 1024 + band
        slot = _find(slots, band_value, tag)
        if slots[slot, _TAG] == 0:
            slots[slot, _TAG], slots[slot, _VALUE], slots[slot, _OLDER] = tag + 1, band_value, _NONE
            used[0] += 1
        else:
            entry = used[1]
            entries[entry, 0], entries[entry, 1] = slots[slot, _NEWEST], slots[slot, _OLDER]
            slots[slot, _OLDER] = entry
            used[1] += 1
        slots[slot, _NEWEST] = key


@njit(cache=True)
def _rehash(slots: np.ndarray, bigger: np.ndarray) -> None:
    for slot in range(slots.shape[0]):
        if slots[slot, _TAG] != 0:
            bigger[_find(bigger, slots[slot, _VALUE], slots[slot, _TAG] - 1)] = slots[slot]


@njit(cache=True)
def _query(slots: np.ndarray, entries: np.ndarray, digests: np.ndarray, fingerprints: np.ndarray,
           days: np.ndarray, stamps: np.ndarray, stamp: int, found: np.ndarray, digest: np.ndarray, day: int,
           reach: int, filed_days: np.ndarray, also: np.ndarray, max_candidates: int, min_equal: int, limit: int,
           max_walk: int) -> np.ndarray:
    """Keys of the documents within ``reach`` days that share a band with ``digest`` (the ``max_walk`` newest
    of each bucket; only ``filed_days``, the days within reach that hold documents, are probed), or are among
    ``also`` (found by other routes), each once; at most ``max_candidates`` of them (the most recent keys); of
    those, the ``limit`` whose digests agree most (ties: lower key first), if they agree in ``min_equal``
    places."""
    count = 0
    for filed_day in filed_days:
        for band in range(digest.shape[0] // 2):
            slot = _find(slots, _band_value(digest, band), np.int64(filed_day) * 1024 + band)
            if slots[slot, _TAG] == 0 or max_walk <= 0:
                continue
            key, entry, walked = slots[slot, _NEWEST], slots[slot, _OLDER], 1
            while True:
                if stamps[key] != stamp:
                    stamps[key] = stamp
                    found[count] = key
                    count += 1
                if entry == _NONE or walked >= max_walk:
                    break
                key, entry, walked = entries[entry, 0], entries[entry, 1], walked + 1
    for key in also:
        if stamps[key] != stamp and abs(days[key] - day) <= reach:
            stamps[key] = stamp
            found[count] = key
            count += 1
    keys = found[:count]
    if keys.shape[0] > max_candidates:  # thousands of near-identical items: the most recent ones suffice
        keys = np.sort(keys)[-max_candidates:]
    return _most_agreeing(keys, digests, fingerprints, digest, min_equal, limit)


@njit(cache=True)
def _most_agreeing(keys: np.ndarray, digests: np.ndarray, fingerprints: np.ndarray, digest: np.ndarray,
                   min_equal: int, limit: int) -> np.ndarray:
    """The ``limit`` keys whose digests agree with ``digest`` in most places (ties: lower key first), if in at
    least ``min_equal``. Exact, but most digests are never read: agreement is first counted on each value's low
    byte (a quarter of the memory; equal values have equal low bytes, so that count is never below the true
    one), and keys are confirmed in falling order of it only until no unread key can reach the ``limit``-th
    best true count."""
    if limit <= 0:
        return keys[:0]
    permutations = digest.shape[0]
    low = digest.astype(np.uint8)
    rough = np.empty(keys.shape[0], dtype=np.int64)
    for n in range(keys.shape[0]):
        row = fingerprints[keys[n]]
        equal = 0
        for p in range(permutations):
            equal += row[p] == low[p]
        rough[n] = equal
    order = np.argsort((permutations - rough) * (np.int64(1) << 40) + keys)
    chosen = np.empty(keys.shape[0], dtype=np.int64)
    chosen_agreement = np.empty(keys.shape[0], dtype=np.int64)
    top = np.full(limit, -1, dtype=np.int64)  # the best true counts so far, falling; top[-1] is the bar
    count = 0
    for n in order:
        if rough[n] < min_equal or rough[n] < top[limit - 1]:
            break  # every unread key agrees in at most rough[n] places: none can enter (ties can, so "<")
        row = digests[keys[n]]
        equal = 0
        for p in range(permutations):
            equal += row[p] == digest[p]
        if equal < min_equal:
            continue
        chosen[count], chosen_agreement[count] = keys[n], equal
        count += 1
        place = limit - 1
        if equal > top[place]:
            while place > 0 and top[place - 1] < equal:
                top[place] = top[place - 1]
                place -= 1
            top[place] = equal
    chosen, chosen_agreement = chosen[:count], chosen_agreement[:count]
    order = np.argsort((permutations - chosen_agreement) * (np.int64(1) << 40) + chosen)
    return chosen[order[:limit]]


class BandedLSH:
    """MinHash LSH over documents numbered 0, 1, 2, ... (the story index's keys), filed by day; bands of two
    digest values (``permutations`` / 2 bands)."""

    def __init__(self, permutations: int, capacity: int = 1024) -> None:
        self.bands = permutations // 2
        self.digests = np.zeros((capacity, permutations), dtype=np.uint32)
        self.fingerprints = np.zeros((capacity, permutations), dtype=np.uint8)  # each digest value's low byte
        self.days = np.zeros(capacity, dtype=np.int64)
        self._stamps = np.zeros(capacity, dtype=np.int64)  # key -> the last query that found it
        self._found = np.zeros(capacity, dtype=np.int64)  # a query's candidates (each key at most once)
        self._stamp = 0
        self._slots = np.zeros((4096, _SLOT_COLUMNS), dtype=np.int64)
        # a bucket's older keys: (key, next older entry); most keys are their bucket's newest and never land here
        self._entries = np.zeros((max(capacity * self.bands // 4, self.bands), 2), dtype=np.int64)
        self._used = np.zeros(2, dtype=np.int64)
        self._filed_days: set[int] = set()  # days holding documents: a query probes no empty day

    def insert(self, key: int, digest: np.ndarray, day: int) -> None:
        if key >= len(self.digests):
            size = max(key + 1, 2 * len(self.digests))
            self.digests, self.days = _resized(self.digests, size), _resized(self.days, size)
            self.fingerprints = _resized(self.fingerprints, size)
            self._stamps, self._found = _resized(self._stamps, size), _resized(self._found, size)
        if self._used[1] + self.bands > len(self._entries):
            self._entries = _resized(self._entries, 2 * len(self._entries))
        if 2 * (self._used[0] + self.bands) > len(self._slots):  # at most half full: probes stay short
            bigger = np.zeros((2 * len(self._slots), _SLOT_COLUMNS), dtype=np.int64)
            _rehash(self._slots, bigger)
            self._slots = bigger
        self.digests[key] = digest
        self.fingerprints[key] = self.digests[key].astype(np.uint8)
        self.days[key] = day
        self._filed_days.add(day)
        _insert(self._slots, self._entries, self._used, key, self.digests[key], day)

    def best(self, digest: np.ndarray, day: int, reach: int, also: list[int], max_candidates: int,
             min_equal: int, limit: int, max_walk: int) -> list[int]:
        """The candidates worth confirming for a document with ``digest`` published on ``day``: see ``_query``."""
        self._stamp += 1
        # a stream runs forward in time: the days after an article's are mostly still empty
        filed = np.array([d for d in range(day - reach, day + reach + 1) if d in self._filed_days], dtype=np.int64)
        return _query(self._slots, self._entries, self.digests, self.fingerprints, self.days, self._stamps,
                      self._stamp, self._found, digest, day, reach, filed, np.asarray(also, dtype=np.int64),
                      max_candidates, min_equal, limit, max_walk).tolist()


def _resized(array: np.ndarray, size: int) -> np.ndarray:
    bigger = np.zeros((size, *array.shape[1:]), dtype=array.dtype)
    bigger[:len(array)] = array
    return bigger
