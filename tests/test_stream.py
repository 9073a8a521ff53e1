"""Decode workers: order and bad-poster reporting across processes, crashes, shared-memory cleanup."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from featurize.images import load_poster
from featurize.models import Preprocessing
from featurize.stream import SHM_PREFIX, poster_batches
from tests.conftest import make_poster, write_catalog
from tests.images_fixtures import broken_folder

PRE = Preprocessing()


class KillsTheDecoder:
    """A 'poster' whose arrival kills the worker process that receives it (as a decoder segfault would)."""

    def __reduce__(self):
        return os._exit, (3,)


def segments(pid=None):
    prefix = f"{SHM_PREFIX}{pid or os.getpid()}-"
    return [n for n in os.listdir("/dev/shm") if n.startswith(prefix)] if os.path.isdir("/dev/shm") else []


def decode_workers(parent=None):
    """Pids of live decode worker processes (children of ``parent`` when given)."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"featurize.decode_worker" not in f.read():
                    continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and (parent is None or int(fields[1]) == parent):
            found.add(int(pid))
    return found


def gone(pids, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline and pids & decode_workers():
        time.sleep(0.1)
    return not pids & decode_workers()


@pytest.fixture
def mixed_items(tmp_path):
    """40 good posters with every kind of broken one interleaved, and the expected outcome per id."""
    expected_bad = broken_folder(tmp_path / "bad")
    good = [make_poster(tmp_path / f"g{i}.jpg", i, size=(60 + i, 90)) for i in range(40)]
    items, outcome = [], {}
    bad = iter(sorted(expected_bad))
    for i, path in enumerate(good):
        items.append((f"g{i}", str(path)))
        outcome[f"g{i}"] = load_poster(path, PRE)
        if i % 7 == 3:
            name = next(bad, None)
            if name:
                items.append((name, str(tmp_path / "bad" / name)))
                outcome[name] = expected_bad[name]
    items.insert(11, ("missing", str(tmp_path / "nope.jpg")))
    outcome["missing"] = {"missing"}
    return items, outcome


@pytest.mark.parametrize("mode,workers,copy", [("process", 2, False), ("process", 3, True), ("thread", 2, False),
                                               ("inline", 0, True)])
def test_order_and_bad_rows_are_kept_in_every_mode(mixed_items, mode, workers, copy):
    items, outcome = mixed_items
    seen = []
    for ids, batch, failures in poster_batches(iter(items), PRE, batch_size=6, workers=workers, mode=mode, copy=copy):
        assert batch.dtype == np.uint8 and batch.shape == (len(ids), 224, 224, 3)
        for key, pixels in zip(ids, batch):
            np.testing.assert_array_equal(pixels, outcome[key], err_msg=key)
        for key, err in failures:
            assert err.kind in outcome[key], (key, err)
        seen += [(k, True) for k in ids] + [(k, False) for k, _ in failures]
    # every item comes out once; within a batch good rows keep their order, and batches follow the input
    assert sorted(k for k, _ in seen) == sorted(k for k, _ in items)
    good_order = [k for k, ok in seen if ok]
    assert good_order == [k for k, _ in items if k.startswith("g")]
    assert segments() == []


def test_a_poster_that_kills_its_worker_is_reported_and_the_run_goes_on(tmp_path):
    good = [str(make_poster(tmp_path / f"{i}.jpg", i)) for i in range(60)]
    items = [(f"g{i}", p) for i, p in enumerate(good)]
    # in the sixth and seventh batches: the first three are decoded ahead, before the first look at the workers
    items.insert(45, ("killer", KillsTheDecoder()))
    items.insert(53, ("killer2", KillsTheDecoder()))
    got, failures, started = [], {}, set()
    for ids, batch, bad in poster_batches(items, PRE, batch_size=8, workers=2, mode="process"):
        got += ids
        started |= decode_workers(os.getpid())
        for key, pixels in zip(ids, batch):
            np.testing.assert_array_equal(pixels, load_poster(good[int(key[1:])], PRE))
        failures.update({k: e for k, e in bad})
    assert got == [f"g{i}" for i in range(60)]
    assert {k: e.kind for k, e in failures.items()} == {"killer": "decoder_crashed", "killer2": "decoder_crashed"}
    assert "exit code 3" in failures["killer"].detail
    assert len(started) >= 3   # two workers and at least one that replaced a dead one
    assert segments() == [] and gone(started)


def test_shared_memory_and_workers_are_released_when_the_consumer_fails(tmp_path):
    items = [(i, str(make_poster(tmp_path / f"{i}.jpg", i))) for i in range(64)]
    stream = poster_batches(items, PRE, batch_size=8, workers=2, mode="process", copy=False)
    with pytest.raises(RuntimeError, match="consumer broke"):
        for n, (_, held, _) in enumerate(stream):
            started = decode_workers(os.getpid())
            assert segments() and len(started) == 2   # the ring and the workers exist while it runs
            if n == 2:
                raise RuntimeError("consumer broke")
    stream.close()
    assert segments() == [] and gone(started)
    assert held.shape == (8, 224, 224, 3) and int(held.max()) > 0   # a view held past close is still mapped


def test_ctrl_c_during_featurize_leaves_no_shared_memory_or_workers(onnx_cache, tmp_path):
    posters = tmp_path / "posters"
    posters.mkdir()
    rows = []
    for i in range(200):
        make_poster(posters / f"{i}.jpg", i, size=(120, 180))
        rows.append([str(i), f"m{i}", "1980", "Drama", "a horse", f"posters/{i}.jpg"])
    catalog = write_catalog(tmp_path / "c.csv", rows)
    proc = subprocess.Popen([sys.executable, "-m", "onesheet", "featurize", str(catalog), "--store",
                             str(tmp_path / "s.h5"), "--no-text", "--quiet", "--decode", "process", "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, ONESHEET_CACHE=onnx_cache))
    deadline = time.time() + 120
    while time.time() < deadline and len(decode_workers(proc.pid)) < 2:
        time.sleep(0.05)
    started = decode_workers(proc.pid)
    assert len(started) == 2 and segments(proc.pid), "the run never started its workers and ring"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0 and b"Traceback" not in out.replace(b"KeyboardInterrupt", b""), out.decode()[-2000:]
    assert segments(proc.pid) == [] and gone(started)


def test_decode_workers_start_without_the_store_packages_heavy_imports():
    """A worker needs store.errors, not the store package's h5py and scipy (most of its start-up time)."""
    from featurize import stream
    job_r, job_w = os.pipe()
    ans_r, ans_w = os.pipe()
    os.close(job_w)                      # the worker reads EOF at once and main() returns
    probe = "\nprint(sorted(m for m in ('h5py', 'scipy', 'store.h5') if m in sys.modules))\n"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (stream._PACKAGE_ROOT, os.environ.get("PYTHONPATH"))
                                                      if p))
    try:
        out = subprocess.run([sys.executable, "-c", stream.WORKER_BOOT + probe, str(job_r), str(ans_w), "0"],
                             pass_fds=(job_r, ans_w), capture_output=True, text=True, env=env, timeout=60)
    finally:
        for fd in (job_r, ans_r, ans_w):
            os.close(fd)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
