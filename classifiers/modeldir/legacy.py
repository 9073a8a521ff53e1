"""Model directories of format v1 (joblib pickles beside JSON sidecars, before versions).

They are never loaded: unpickling runs code from the file. ``refuse`` says so with the fix
(refit). ``read_split`` reads v1's ``split.json`` (plain JSON, safe) so that a refit into a
v1 directory keeps its test split; ``remove`` deletes the v1 files once a v2 version is
current.
"""

import contextlib
import json
import os
import shutil

from ..errors import ModelFormatError

V1_MANIFEST = "manifest.json"
V1_SPLIT = "split.json"


def is_v1(directory) -> bool:
    return os.path.isfile(os.path.join(directory, V1_MANIFEST))


def refuse(directory):
    if is_v1(directory):
        raise ModelFormatError(
            f"{directory} holds models in the old format v1 (joblib pickles), which this onesheet refuses to load "
            f"because loading a pickle can run code; re-run onesheet fit STORE --models {directory} "
            f"(the test split recorded there is kept)")


def _read(directory, name):
    try:
        with open(os.path.join(directory, name)) as f:
            value = json.load(f)
        return value if isinstance(value, dict) else None
    except (OSError, ValueError):
        return None


def read_split(directory):
    """v1's split.json as a dict (test_ids, seen_ids, seed, test_size), or None if absent or unreadable."""
    split = _read(directory, V1_SPLIT) if is_v1(directory) else None
    if split and isinstance(split.get("test_ids"), list):
        return split
    return None


def remove(directory):
    """Delete what a v1 fit wrote (only the files its manifest names, then the manifest and split)."""
    manifest = _read(directory, V1_MANIFEST)
    if manifest is None:
        return
    for card in (manifest.get("configs") or {}).values():
        for rel in (card.get("models") or {}).values():
            for path in (os.path.join(directory, str(rel)), os.path.join(directory, str(rel)) + ".json"):
                with contextlib.suppress(OSError):
                    os.remove(path)
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(os.path.join(directory, str(rel))))
    shutil.rmtree(os.path.join(directory, "encoders"), ignore_errors=True)
    for name in (V1_SPLIT, V1_MANIFEST):  # the manifest last: it is what marks a directory as v1
        with contextlib.suppress(OSError):
            os.remove(os.path.join(directory, name))
