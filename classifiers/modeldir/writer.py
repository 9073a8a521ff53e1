"""Writing a model directory: a complete new version, made current in one atomic step.

Files go into a hidden staging folder inside the model directory; ``commit`` writes the
manifest (sha256 of every file), fsyncs, renames the folder to the next version name and
then replaces ``CURRENT`` with ``os.replace``. A fit killed at any moment leaves CURRENT
naming the previous complete version; its leftovers (a staging folder, an orphan version)
are deleted by the next writer, which holds ``fit.lock`` while it works.
"""

import contextlib
import hashlib
import os
import shutil
import tempfile
import time

import sklearn
import skops

from store.atomic import WriterLock, commit as atomic_commit, fsync_path, remove_stale_temps, temp_path
from store.errors import StoreLockedError
from store.version import PACKAGE_VERSION

from ..errors import ModelDirLockedError
from . import legacy, modelfile
from .layout import (CURRENT, FORMAT_VERSION, KEEP_VERSIONS, LOCK, MANIFEST, STAGING_PREFIX, dump_json, listdir,
                     model_file, version_name, version_number)


class VersionWriter:
    """``with VersionWriter(dir) as w: w.write_...; w.commit(manifest)``; an exception discards the version."""

    def __init__(self, directory):
        self.directory = os.path.abspath(os.fspath(directory))
        os.makedirs(self.directory, exist_ok=True)
        self._lock = WriterLock(os.path.join(self.directory, LOCK))
        try:
            self._lock.acquire()
        except StoreLockedError:
            raise ModelDirLockedError(f"another onesheet fit is writing into {self.directory}; wait for it to finish") \
                from None
        self._remove_leftovers()
        self._was_current = self._current_number()   # the version readers use now (kept one more round)
        self.staging = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.directory)
        self.files = {}
        self.version = self.manifest = None

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if self.version is None:
            self.abort()

    # ---- files of the new version
    def _target(self, rel):
        if os.path.isabs(rel) or ".." in rel.split("/") or rel == MANIFEST:
            raise ValueError(f"not a file name inside a version: {rel!r}")
        path = os.path.join(self.staging, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def write_bytes(self, rel, data: bytes):
        path = self._target(rel)
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        self.files[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        return rel

    def write_json(self, rel, obj):
        return self.write_bytes(rel, dump_json(obj))

    def write_model(self, config, scope, model):
        return self.write_bytes(model_file(config, scope), modelfile.dumps(model))

    def copy_file(self, rel, source):
        """Copy a file in (e.g. an ONNX model); returns its sha256."""
        with open(source, "rb") as f:
            data = f.read()
        self.write_bytes(rel, data)
        return self.files[rel]["sha256"]

    def carry(self, previous, rel):
        """Keep a file of the previous version (verified against its manifest) in the new one."""
        return self.write_bytes(rel, previous.read_bytes(rel))

    # ---- the switch
    def commit(self, manifest: dict) -> str:
        """Write the manifest, make the version current, delete old versions; returns its name."""
        numbers = [n for n in map(version_number, listdir(self.directory)) if n is not None]
        name = version_name(max(numbers, default=0) + 1)
        manifest = dict(manifest, format_version=FORMAT_VERSION, version=name, package_version=PACKAGE_VERSION,
                        sklearn_version=sklearn.__version__, skops_version=skops.__version__,
                        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), files=dict(sorted(self.files.items())))
        with open(os.path.join(self.staging, MANIFEST), "wb") as f:
            f.write(dump_json(manifest))
            f.flush()
            os.fsync(f.fileno())
        for folder, _, _ in os.walk(self.staging):
            fsync_path(folder)
        final = os.path.join(self.directory, name)
        os.rename(self.staging, final)
        fsync_path(self.directory)
        current = os.path.join(self.directory, CURRENT)
        tmp = temp_path(current)
        with open(tmp, "w") as f:
            f.write(name + "\n")
        atomic_commit(tmp, current)   # the one step that switches readers to the new version
        self.version, self.manifest = name, manifest
        self._collect(name)
        legacy.remove(self.directory)
        self._lock.release()
        return name

    def abort(self):
        shutil.rmtree(self.staging, ignore_errors=True)
        self._lock.release()

    # ---- housekeeping (only while holding the lock)
    def _remove_leftovers(self):
        remove_stale_temps(os.path.join(self.directory, CURRENT))
        for name in listdir(self.directory):
            if name.startswith(STAGING_PREFIX):
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)

    def _current_number(self):
        """The version number CURRENT names (None before the first fit or when it is unreadable)."""
        try:
            with open(os.path.join(self.directory, CURRENT)) as f:
                return version_number(f.read().strip())
        except OSError:
            return None

    def _collect(self, current):
        """Keep the new version and the one readers used until now; delete every other version,
        orphans of killed fits included (a version that was never made current)."""
        keep = {version_number(current)}
        if KEEP_VERSIONS > 1 and self._was_current is not None:
            keep.add(self._was_current)
        for n in (n for n in map(version_number, listdir(self.directory)) if n is not None):
            if n not in keep:
                with contextlib.suppress(OSError):
                    shutil.rmtree(os.path.join(self.directory, version_name(n)))
