"""Names and JSON reading of the model-directory format (version 2).

    DIR/CURRENT              one line: the name of the version folder in use
    DIR/v000007/manifest.json  format version, provenance, configurations, sha256 of every file
    DIR/v000007/split.json     the held-out test ids
    DIR/v000007/encoders/      encoders.json + what featurizes new inputs (ONNX, vocabularies)
    DIR/v000007/<config>/<scope>.skops   one fitted model each
    DIR/fit.lock             held by the fit writing a new version

A version folder is written whole under a hidden staging name, renamed, and then made
current by replacing CURRENT atomically; nothing in a version changes afterwards.
"""

import json
import os

from ..errors import ModelDirError

FORMAT_VERSION = 2
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
SPLIT = "split.json"
ENCODERS = "encoders"
ENCODERS_INDEX = "encoders/encoders.json"
MODEL_SUFFIX = ".skops"
STAGING_PREFIX = ".staging-"
LOCK = "fit"          # WriterLock adds ".lock"
VERSION_PREFIX = "v"
KEEP_VERSIONS = 2     # the current version and the one before (a running server may still read it)


def version_name(number):
    return f"{VERSION_PREFIX}{number:06d}"


def version_number(name):
    """The number of a version folder name, or None for anything else."""
    if name.startswith(VERSION_PREFIX) and name[1:].isdigit():
        return int(name[1:])
    return None


def parse_json(data: bytes, where: str, error=ModelDirError):
    """JSON object from bytes, or a named error that says what to do (never a traceback)."""
    if not data.strip():
        raise error(f"{where} is empty; the model directory is damaged: re-run onesheet fit")
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise error(f"{where} is not valid JSON ({exc}); the model directory is damaged: re-run onesheet fit") from None
    if not isinstance(value, dict):
        raise error(f"{where} does not hold a JSON object; the model directory is damaged: re-run onesheet fit")
    return value


def read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ModelDirError(f"{path} is missing: the model directory is incomplete; re-run onesheet fit") from None
    except IsADirectoryError:
        raise ModelDirError(f"{path} should be a file ({what}); re-run onesheet fit") from None


def model_file(config, scope):
    return f"{config}/{scope}{MODEL_SUFFIX}"


def dump_json(obj) -> bytes:
    return json.dumps(obj, indent=2, sort_keys=True, default=str).encode()


def listdir(directory):
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []
