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


BLOCK = 512          # hashes per fence (4 KB)
WINDOW = 256         # blocks per read (1 MB)


class SortedHashes:
    """Binary search over one piece's sorted id hashes; ``candidates`` lists (query, row) hits.

    Only a fence array (every BLOCK-th hash) lives in memory; a search reads the few 4 KB
    blocks its queries fall in through ``read(start, stop)`` (``os.pread`` for pieces on
    disk), so its memory does not grow with the piece, not even by mapped pages.
    """

    def __init__(self, read, count: int, fences: np.ndarray, order):
        self.read, self.count, self.fences, self.order = read, count, np.asarray(fences, np.uint64), order

    @classmethod
    def of(cls, hashes: np.ndarray):
        """Built in memory from hashes in row order (pieces of a v1 store, which stored none)."""
        order = hash_order(hashes)
        ordered = np.asarray(hashes, np.uint64)[order]
        return cls(lambda a, b: ordered[a:b], len(ordered), ordered[::BLOCK], order)

    def sorted_all(self) -> np.ndarray:
        return self.read(0, self.count)

    def candidates(self, query: np.ndarray):
        """(query positions, rows) whose hashes are equal; confirm them against the strings.

        Queries are taken in order of the block they fall in; each read covers the blocks
        of a run of queries, at most WINDOW blocks (1 MB) unless one hash repeats more.
        """
        query = np.asarray(query, np.uint64)
        empty = np.empty(0, np.int64)
        if not self.count or not len(query):
            return empty, empty
        lo = np.maximum(np.searchsorted(self.fences, query, side="left") - 1, 0)
        hi = np.maximum(np.searchsorted(self.fences, query, side="right") - 1, 0)
        by_block = np.argsort(lo, kind="stable")
        lo_sorted = lo[by_block]
        found_q, found_pos = [], []
        i = 0
        while i < len(by_block):
            first = int(lo_sorted[i])
            j = max(i + 1, int(np.searchsorted(lo_sorted, first + WINDOW, side="left")))
            sel = by_block[i:j]
            start = first * BLOCK
            chunk = self.read(start, min(self.count, (int(hi[sel].max()) + 1) * BLOCK))
            left = np.searchsorted(chunk, query[sel], side="left")
            counts = np.searchsorted(chunk, query[sel], side="right") - left
            if counts.any():
                within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
                found_q.append(np.repeat(sel, counts))
                found_pos.append(start + np.repeat(left, counts) + within)
            i = j
        if not found_q:
            return empty, empty
        positions = np.concatenate(found_pos)
        return np.concatenate(found_q).astype(np.int64), np.asarray(self.order[positions], dtype=np.int64)
