"""64-bit id hashes: how writers find ids among millions of rows without a dict of strings.

Each table and segment piece stores the hash of every id (``id_hash``, row order), the
hashes sorted (``id_hash_sorted``) and the rows in that order (``id_hash_order``). A
writer checks a batch of ids with a binary search in the sorted hashes, memory-mapped from
the piece (so only the pages the search touches are read), and confirms every hit
against the real id strings, so a hash collision can never mix two ids up; a Python dict
of a million ids would cost 100+ MB instead.
"""

import numpy as np

_FNV_OFFSET, _FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)


def hash_ids(ids) -> np.ndarray:
    """uint64 hash of each id's utf-8 bytes, stable across processes and platforms.

    FNV-1a over the bytes, vectorised over all ids at once (one numpy pass per byte
    position), then the length and a splitmix64 finaliser so that neighbouring ids spread
    over the whole range. Not cryptographic: every hit is confirmed against the strings.
    """
    encoded = [str(m).encode("utf-8") for m in ids]
    if not encoded:
        return np.empty(0, np.uint64)
    raw = np.array(encoded, dtype=bytes)
    width = raw.dtype.itemsize
    data = raw.view(np.uint8).reshape(len(encoded), width).astype(np.uint64)
    lengths = np.fromiter(map(len, encoded), np.uint64, count=len(encoded))
    h = np.full(len(encoded), _FNV_OFFSET, np.uint64)
    with np.errstate(over="ignore"):
        for j in range(width):
            live = lengths > j
            h = np.where(live, (h ^ data[:, j]) * _FNV_PRIME, h)
        h ^= lengths
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def hash_order(hashes: np.ndarray) -> np.ndarray:
    """The argsort stored beside ``id_hash`` (uint32: a piece holds fewer than 2**32 rows)."""
    return np.argsort(hashes, kind="stable").astype(np.uint32)


class SortedHashes:
    """Binary search over one piece's id hashes; ``candidates`` lists (query, row) hash hits."""

    def __init__(self, sorted_hashes: np.ndarray, order: np.ndarray):
        self.sorted, self.order = sorted_hashes, order

    @classmethod
    def of(cls, hashes: np.ndarray):
        """Built from hashes in row order (pieces of a v1 store, which stored none)."""
        order = hash_order(hashes)
        return cls(np.asarray(hashes, np.uint64)[order], order)

    def candidates(self, query: np.ndarray):
        """(query positions, rows) whose hashes are equal; confirm them against the strings."""
        left = np.searchsorted(self.sorted, query, side="left")
        right = np.searchsorted(self.sorted, query, side="right")
        counts = right - left
        qpos = np.repeat(np.arange(len(query)), counts)
        if not len(qpos):
            return qpos, qpos
        starts = np.repeat(left, counts)
        within = np.arange(len(qpos)) - np.repeat(np.cumsum(counts) - counts, counts)
        return qpos, np.asarray(self.order[starts + within], dtype=np.int64)
