"""What the app holds: the followed store, the predictor, the poster encoders, the batcher.

Concurrent /predict requests are decoded in worker threads and their ONNX embeddings
computed together by one MicroBatcher. ``embeddings_json`` builds a POST /embeddings answer
a block of rows at a time and stops at the response limit, so one request never holds more
than its id rows plus the limit in memory.
"""

import concurrent.futures

import numpy as np
import orjson

from featurize.images import load_poster

from .batching import MicroBatcher
from .limits import LimitExceeded
from .refresh import StoreFollower
from ..predict.predictor import Predictor

BLOCK_ROWS = 64      # rows serialised at a time (64 tf-idf rows ~ 5 MB of JSON)


class Service:
    def __init__(self, store_path, models_dir, limits, max_batch=32, max_wait_ms=5.0, device="auto"):
        self.limits = limits
        self.follower = StoreFollower(store_path, limits.refresh_seconds)
        self.predictor = Predictor(models_dir, device=device)
        names = self.predictor.poster_features()
        self.encoders = self.predictor.featurizer(names).posters if names else {}
        self.batcher = MicroBatcher(self._embed, max_batch=max_batch, max_wait_ms=max_wait_ms)
        features = self.follower.current.features()
        self.default_feature = next((n for n in names if n in features),
                                    next((n for n in features if n.startswith("poster/")), None))
        # decoding gets its own small pool: dozens of concurrent decodes would only fight
        # onnxruntime for the same cores
        self.decode_pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="decode")

    def _embed(self, items):
        """items: [{feature: preprocessed array}] -> [{feature: embedding row}] (one ONNX run per feature)."""
        out = [{} for _ in items]
        for name, enc in self.encoders.items():
            emb = enc.embedder.embed(np.stack([it[name] for it in items]))
            for row, dst in zip(emb, out):
                dst[name] = row
        return out

    def preprocess(self, data):
        return {name: load_poster(data, enc.preprocessing) for name, enc in self.encoders.items()}

    def close(self):
        self.decode_pool.shutdown(wait=False)
        self.follower.close()


def _response_too_large(limit, fitted=None):
    hint = f"; about {fitted} of these fit" if fitted is not None else ""
    return LimitExceeded(413, "response_too_large",
                         f"the answer would be over {limit} bytes (--max-response-mb); ask for fewer ids{hint}")


def embeddings_json(store, ids, feature, limits):
    """The JSON (a bytearray) of ``{"feature", "vectors": {id: [...]}}`` for ``ids``, or LimitExceeded (413)."""
    if len(ids) > limits.max_ids:
        raise LimitExceeded(413, "too_many_ids", f"{len(ids)} ids in one request; the limit is {limits.max_ids} "
                                                 f"(--max-ids): split the list")
    ids = list(dict.fromkeys(str(i) for i in ids))
    dim = store.feature_info(feature)["shape"][1]
    if 2 * len(ids) * dim > limits.max_response_bytes:      # every value takes at least "0,"
        raise _response_too_large(limits.max_response_bytes, limits.max_response_bytes // (2 * dim))
    rows = store.lookup(ids, feature)
    out = bytearray(b'{"feature":' + orjson.dumps(feature) + b',"vectors":{')   # grown in place: no final join
    for start in range(0, len(ids), BLOCK_ROWS):
        block = rows[start:start + BLOCK_ROWS]
        block = block.toarray() if hasattr(block, "toarray") else block
        part = orjson.dumps(dict(zip(ids[start:start + BLOCK_ROWS], block)), option=orjson.OPT_SERIALIZE_NUMPY)
        if len(out) + len(part) > limits.max_response_bytes:
            raise _response_too_large(limits.max_response_bytes, int(start * limits.max_response_bytes / len(out)))
        if start:
            out += b","
        out += memoryview(part)[1:-1]
    out += b"}}"
    return out
