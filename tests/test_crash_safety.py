"""A writer killed with SIGKILL at any moment leaves a store that opens, verifies and keeps its commits."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from store import FeatureStore
from tests.test_store import make_store

WRITER = r"""
import sys, numpy as np
from store import FeatureStore
path = sys.argv[1]
prov = {"encoder": "kill-test", "sha256": "0" * 64, "preprocessing": "none"}
with FeatureStore.open(path, "a") as s:
    ids = s.ids()
    for k in range(10_000):
        s.write_features(f"poster/f{k}", ids, np.full((len(ids), 256), k, np.float32), prov)
        print(k, flush=True)
"""


@pytest.mark.parametrize("delay", [0.3, 0.55, 0.8, 1.1])
def test_sigkill_mid_write_never_corrupts(tmp_path, delay):
    path = tmp_path / "s.h5"
    make_store(path, n=2000)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    committed = [int(x) for x in out.split()]
    with FeatureStore.open(path) as s:
        assert s.verify() == []
        names = set(s.features())
        for k in committed:
            assert f"poster/f{k}" in names
            assert s.lookup(["m7"], f"poster/f{k}")[0, 0] == k
    # the next writer cleans up the dead writer's temporary file and can write again
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/after", ["m1"], np.ones((1, 2)), {"encoder": "e", "sha256": "1", "preprocessing": "p"})
    assert not list(tmp_path.glob(".s.h5.tmp-*"))
