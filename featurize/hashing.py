"""Content hashes that identify models, vocabularies and settings in provenance."""

import hashlib
import json

from store.hashing import sha256_file  # noqa: F401  (one implementation, re-exported here)


def sha256_json(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()
