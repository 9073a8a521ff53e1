"""Decode posters in worker threads while the model runs: batches arrive already preprocessed.

Pillow releases the GIL while decoding and resizing, so a few threads keep the next batch
ready while onnxruntime computes the current one. Order is preserved; a bad poster becomes
a failure entry, never an exception that stops the stream.
"""

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .errors import PosterError
from .images import load_poster


def _load(source, pre):
    try:
        return load_poster(source, pre), None
    except PosterError as exc:
        return None, exc
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop thousands
        return None, PosterError("corrupt", f"{exc.__class__.__name__}: {exc}")


def poster_batches(items, pre, batch_size=32, workers=2):
    """items: iterable of (id, path-or-bytes). Yields (ids, (n,3,H,W) array, [(id, PosterError)])."""
    items = iter(items)
    window = max(2, workers) * batch_size  # decoded images in flight: bounded memory
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="poster-decode") as pool:
        pending = deque()

        def refill():
            while len(pending) < window:
                try:
                    key, source = next(items)
                except StopIteration:
                    return
                pending.append((key, pool.submit(_load, source, pre)))

        refill()
        while pending:
            ids, arrays, failures = [], [], []
            while pending and len(ids) < batch_size:
                key, fut = pending.popleft()
                array, err = fut.result()
                if err is None:
                    ids.append(key)
                    arrays.append(array)
                else:
                    failures.append((key, err))
            refill()
            batch = np.stack(arrays) if arrays else np.empty((0, 3, pre.crop, pre.crop), np.float32)
            yield ids, batch, failures
