"""Following a store that other processes keep committing to.

The service answers every request from one ``FeatureStore`` snapshot, taken with
``using()``. ``check()`` asks the store whether a newer version was committed (one stat);
if so it opens the new version, warms the lookups and similar-movie indexes that were in
use (so no request pays for that), and swaps it in. A request still running on the old
snapshot finishes on it (the store's pieces stay open while it holds them), and the old
snapshot is closed when its last user is done. Snapshots are never changed in place, so a
request can never see a mixture of two versions.
"""

import contextlib
import threading
import time

from store import FeatureStore
from store.similar import similar_index


class StoreFollower:
    def __init__(self, path, every_seconds=2.0):
        self.path = path
        self.every = float(every_seconds)
        self.current = FeatureStore.open(path)
        self.checked_at = time.time()
        self.refreshes = 0
        self._lock = threading.Lock()           # guards current / users
        self._moving = threading.Lock()         # one refresh at a time
        self._users = {id(self.current): 0}
        self._retired = []
        self._looked_up, self._similar = set(), set()
        self.index_lock = threading.Lock()      # one similar index built at a time per process

    @contextlib.contextmanager
    def using(self):
        """The current snapshot, kept open until the caller is done with it."""
        with self._lock:
            store = self.current
            self._users[id(store)] += 1
        try:
            yield store
        finally:
            with self._lock:
                self._users[id(store)] -= 1
                self._close_unused()

    def note(self, feature, similar=False):
        """Remember a feature a request used, to warm it in the next version."""
        (self._similar if similar else self._looked_up).add(feature)

    def similar_index(self, store, feature):
        with self.index_lock:
            return similar_index(store, feature)

    def check(self):
        """Move to the newest committed version if there is one; returns whether it moved."""
        with self._moving:
            self.checked_at = time.time()
            if not self.current.is_stale():
                return False
            new = FeatureStore.open(self.path)
            try:
                self._warm(new)
            except Exception:
                new.close()
                raise
            with self._lock:
                old, self.current = self.current, new
                self._users[id(new)] = 0
                self._retired.append(old)
                self._close_unused()
            self.refreshes += 1
            return True

    def _warm(self, store):
        features = set(store.features())
        for name in self._looked_up & features:
            ids = store.feature_ids(name)
            if ids:
                store.lookup(ids[:1], name)     # builds the id -> row index of the new version
        for name in self._similar & features:
            self.similar_index(store, name)

    def _close_unused(self):
        for store in [s for s in self._retired if self._users[id(s)] == 0]:
            self._retired.remove(store)
            del self._users[id(store)]
            store.close()

    def close(self):
        with self._lock:
            for store in [self.current, *self._retired]:
                store.close()
            self._retired = []
