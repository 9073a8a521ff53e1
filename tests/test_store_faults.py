"""Faults: disk full during a commit, corrupt stores, and writers killed during compaction."""

import errno
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import store.compaction
import store.pieces
import store.writing
from onesheet import main
from store import CorruptStoreError, DiskFullError, FeatureStore, atomic
from tests.test_store import PROV, make_store


def listing(path):
    folder = str(path) + ".d"
    return sorted(os.listdir(os.path.dirname(str(path)))), sorted(os.listdir(folder))


def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where", ["segment", "master", "compaction"])
def test_disk_full_during_a_commit_keeps_the_old_version_and_leaves_nothing(tmp_path, monkeypatch, where):
    path = tmp_path / "s.h5"
    ids = make_store(path)
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/p", ids[:10], np.ones((10, 4)), PROV)
        s.write_features("poster/p", ids[:5], np.full((5, 4), 2.0), PROV)
    before = listing(path)
    with FeatureStore.open(path, "a") as s:
        version = s.version
        if where == "segment":
            real_fsync = atomic.fsync_path      # the segment's fsync (in its thread) says the disk is full
            monkeypatch.setattr(atomic, "fsync_path",
                                lambda p: full() if os.path.basename(p).startswith("seg-") else real_fsync(p))
        elif where == "master":
            monkeypatch.setattr(store.writing, "write_master", lambda tmp, *a: (open(tmp, "wb").write(b"x" * 100), full()))
        else:
            monkeypatch.setattr(store.compaction, "copy_live_rows", full)
        with pytest.raises(DiskFullError, match="no space left on .* free space and re-run") as err:
            if where == "compaction":
                s.compact()
            else:
                s.write_features("poster/p", ids[5:20], np.zeros((15, 4)), PROV)
        assert err.value.__suppress_context__       # one clear error, not a chain of three tracebacks
        assert s.version == version and s.feature_ids("poster/p") == ids[5:10] + ids[:5]
        monkeypatch.undo()
        assert listing(path) == before              # no temporary master, no orphan piece
        s.write_features("poster/p", ids[5:20], np.zeros((15, 4)), PROV)   # and the writer goes on
    with FeatureStore.open(path) as s:
        assert s.verify() == [] and len(s.feature_ids("poster/p")) == 20


@pytest.fixture
def tiny_filesystem(tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_really_full_filesystem(tiny_filesystem):
    path = tiny_filesystem / "s.h5"
    ids = make_store(path, n=2000)
    committed = 0
    with FeatureStore.open(path, "a") as s:
        with pytest.raises(DiskFullError):
            for k in range(1000):
                s.write_features("poster/p", ids[k * 100:(k + 1) * 100], np.full((100, 256), k, np.float32), PROV)
                committed = k + 1
    with FeatureStore.open(path) as s:
        assert s.verify() == [] and len(s.feature_ids("poster/p")) == committed * 100
        referenced = s._manifest.piece_files()
    assert set(os.listdir(str(path) + ".d")) == referenced
    assert sorted(os.listdir(tiny_filesystem)) == ["s.h5", "s.h5.d", "s.h5.lock"]


def _segment(path, feature):
    with h5py.File(path, "r") as f:
        name = f[f"features/{feature}/segments/file"].asstr()[0]
    return str(path) + ".d/" + name


def _table(path):
    with h5py.File(path, "r") as f:
        return str(path) + ".d/" + f["table"].attrs["file"]


def corrupt_schema_version(path):
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = "abc"


def corrupt_labels(path):
    with h5py.File(_table(path), "a") as f:
        del f["labels/multi_hot"]


def corrupt_provenance(path):
    with h5py.File(path, "a") as f:
        f["features/poster/p"].attrs["provenance"] = "{not json"


def corrupt_short_matrix(path):
    with h5py.File(_segment(path, "poster/p"), "a") as f:
        short = f["matrix"][:-2]
        del f["matrix"]
        f["matrix"] = short


def corrupt_short_indptr(path):
    with h5py.File(_segment(path, "overview/w"), "a") as f:
        short = f["indptr"][:-3]
        del f["indptr"]
        f["indptr"] = short


def corrupt_short_years(path):
    with h5py.File(_table(path), "a") as f:
        short = f["movies/year"][:-5]
        del f["movies/year"]
        f["movies/year"] = short


def corrupt_missing_piece(path):
    os.remove(_segment(path, "poster/p"))


def corrupt_truncated_piece(path):
    seg = _segment(path, "poster/p")
    with open(seg, "r+b") as f:
        f.truncate(os.path.getsize(seg) // 2)


CORRUPTIONS = {
    corrupt_schema_version: "schema_version attribute is 'abc'",
    corrupt_labels: "lacks labels/multi_hot",
    corrupt_provenance: "provenance is not a JSON object",
    corrupt_short_matrix: "matrix has shape",
    corrupt_short_indptr: "CSR indptr has",
    corrupt_short_years: "movies/year has 25 rows",
    corrupt_missing_piece: "missing piece",
    corrupt_truncated_piece: "seg-",
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__)
def test_corrupt_stores_give_one_clear_error_and_writers_refuse_them(tmp_path, corrupt, tiny_catalog):
    import scipy.sparse as sp
    path = tmp_path / "s.h5"
    ids = make_store(path)
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/p", ids, np.ones((30, 4)), PROV)
        s.write_features("overview/w", ids, sp.csr_matrix(np.eye(30, 8)), PROV)
    corrupt(path)
    needle = CORRUPTIONS[corrupt]
    with pytest.raises(CorruptStoreError, match=needle):
        with FeatureStore.open(path, "a"):
            pass
    for args in (["store", "verify", path], ["ingest", tiny_catalog, "--store", path]):
        r = CliRunner().invoke(main, [str(a) for a in args])
        assert r.exit_code == 1, r.output
        assert "Traceback" not in r.output and r.exception.__class__ is SystemExit
        assert needle in r.output or "problem(s)" in r.output, r.output
    try:                          # readers: a named error when they touch the damage, never an IndexError
        with FeatureStore.open(path) as s:
            s.labels(ids)
            s.movies()
            s.lookup(ids, "poster/p")
            s.lookup(ids, "overview/w")
            s.provenance("poster/p")
    except CorruptStoreError as exc:
        assert needle in str(exc) or "damaged" in str(exc)


KILLED = r"""
import sys, numpy as np
from store import FeatureStore, compaction
compaction.BASE_ROWS, compaction.FANOUT, compaction.SMALL_FANOUT = 8, 2, 2
path = sys.argv[1]
prov = {"encoder": "test", "sha256": "0" * 64, "preprocessing": "none"}
with FeatureStore.open(path, "a") as s:
    ids = s.ids()
    for k in range(1, 10_000):
        rows = ids[(k * 40) % len(ids):][:40]
        s.write_features("poster/p", rows, np.full((len(rows), 256), k, np.float32), prov)
        if k % 5 == 0:
            s.compact()
        print(k, flush=True)
"""


@pytest.mark.parametrize("delay", [0.4, 0.7, 1.0, 1.3, 1.6])
def test_sigkill_during_writes_and_compaction_loses_and_duplicates_nothing(tmp_path, delay):
    path = tmp_path / "s.h5"
    ids = make_store(path, n=400)
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(path)], stdout=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    committed = [int(x) for x in out.split()]
    with FeatureStore.open(path) as s:
        assert s.verify() == []
        fids = s.feature_ids("poster/p") if committed else []
        assert len(fids) == len(set(fids))
        if committed:
            last = committed[-1]
            rows = ids[(last * 40) % len(ids):][:40]
            got = s.lookup(rows, "poster/p")[:, 0]
            assert set(got) <= {last, last + 1}   # the last printed commit (or the one after it, unprinted)
    with FeatureStore.open(path, "a") as s:        # resume: the next writer cleans up and goes on
        s.write_features("poster/p", ids, np.zeros((400, 256)), PROV)
        s.compact()
        assert s.feature_ids("poster/p") == ids
    with FeatureStore.open(path) as s:
        referenced = s._manifest.piece_files()
    assert set(os.listdir(str(path) + ".d")) == referenced
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_is_disk_full_reads_hdf5_messages():
    assert atomic.is_disk_full(RuntimeError("Can't close file (errno = 28, error message = 'No space left on device')"))
    assert not atomic.is_disk_full(RuntimeError("something else"))
    chained = OSError("wrapper")
    chained.__context__ = OSError(errno.ENOSPC, "x")
    assert atomic.is_disk_full(chained)


def test_master_without_pieces_folder_is_damaged_not_a_crash(tmp_path):
    path = tmp_path / "s.h5"
    make_store(path)
    shutil.rmtree(str(path) + ".d")
    with pytest.raises(CorruptStoreError, match="missing piece"):
        FeatureStore.open(path)
