"""64-bit id hashes: how writers find ids among millions of rows without a dict of strings.

Each table and segment piece stores the hash of every id (``id_hash``, row order) and its
argsort (``id_hash_order``). A writer checks a batch of ids with a binary search in those
arrays (8 + 4 bytes per row, numpy) and confirms every hit against the real id strings, so
a hash collision can never mix two ids up; a Python dict of a million ids would cost
100+ MB instead.
"""

import hashlib

import numpy as np


def hash_ids(ids) -> np.ndarray:
    """uint64 hash of each id (blake2b, 8 bytes, little-endian): stable across processes."""
    digest = b"".join(hashlib.blake2b(str(m).encode("utf-8"), digest_size=8).digest() for m in ids)
    return np.frombuffer(digest, dtype="<u8").astype(np.uint64)


def hash_order(hashes: np.ndarray) -> np.ndarray:
    """The argsort stored beside ``id_hash`` (uint32: a piece holds fewer than 2**32 rows)."""
    return np.argsort(hashes, kind="stable").astype(np.uint32)


class SortedHashes:
    """Binary search over one piece's id hashes; ``candidates`` lists (query, row) hash hits."""

    def __init__(self, hashes: np.ndarray, order: np.ndarray):
        self.order = np.asarray(order, dtype=np.int64)
        self.sorted = np.asarray(hashes, dtype=np.uint64)[self.order]

    def __len__(self):
        return len(self.sorted)

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
        return qpos, self.order[starts + within]
