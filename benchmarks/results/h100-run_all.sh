#!/bin/bash
# Scratch driver for the GPU machine (not part of the project). $1 = phase
set -u
G=/tmp/g; CODE=$PWD/.whl/gpu/c5/code
mkdir -p /tmp/site
if [ ! -d /tmp/site/onnxruntime ]; then
  if which zstd >/dev/null; then cat $G/ortpart.* | zstd -dc | tar x -C /tmp/site
  else cat $G/ortpart.* > $G/ort.tar.zst; python3 -c "
import pyarrow as pa, tarfile
with pa.CompressedInputStream(pa.OSFile('$G/ort.tar.zst'), 'zstd') as f: tarfile.open(fileobj=f, mode='r|').extractall('/tmp/site')"; fi
fi
export PYTHONPATH=/tmp/site:$CODE:$G/pylib ONESHEET_CACHE=$G/cache PYTHONUNBUFFERED=1
MODEL=$(ls $G/cache/onnx/*.onnx)
echo "== providers"; python3 -c "import onnxruntime as o; print(o.__version__, o.__file__, o.get_available_providers())"
cat > /tmp/prov.py <<PY
import sys, onnxruntime as o
if sys.argv[1] == 'preload': o.preload_dlls()
if sys.argv[1] == 'torch': import torch
s = o.InferenceSession('$MODEL', providers=['CUDAExecutionProvider', 'CPUExecutionProvider'])
print(sys.argv[1], s.get_providers())
PY
for m in plain preload torch; do timeout 60 python3 /tmp/prov.py $m 2>&1 | tail -2; done
LIBS=$(find /opt/torch/.venv /usr/local/cuda/lib64 -name 'lib*.so*' -path '*nvidia*' -printf '%h\n' 2>/dev/null | sort -u | paste -sd:)
LD_LIBRARY_PATH=$LIBS:${LD_LIBRARY_PATH:-} timeout 60 python3 /tmp/prov.py ldpath 2>&1 | tail -2
if ! python3 /tmp/prov.py plain 2>/dev/null | grep -q CUDAExec; then export LD_LIBRARY_PATH=$LIBS:${LD_LIBRARY_PATH:-}; echo "using LD_LIBRARY_PATH"; fi
cd $CODE
echo "== worker import time"; python3 -X importtime -c "import featurize.decode_worker; from featurize.models import Preprocessing; from featurize.stream import decode_rows" 2>&1 | sort -t'|' -k2 -n -r | head -4
for step in "$@"; do
  echo "== $step $(date +%T)"
  case $step in
    pytest) ONESHEET_TEST_CACHE=$G/cache ONESHEET_REAL_DATA=$G/data timeout 200 python3 -m pytest -q -p no:cacheprovider tests/test_posters.py 2>&1 | tail -25 ;;
    explore2) timeout 200 python3 $CODE/../explore2.py $G/data/movies.csv ;;
    explore) timeout 200 python3 $CODE/../explore.py $G/data/movies.csv ;;
    bench) timeout 300 python3 benchmarks/featurize.py --device cuda --catalog $G/data/movies.csv --posters 2048 --repeat 4 --rounds 3 --skip-full ;;
    cli) rm -f /tmp/cli*.h5; timeout 120 python3 onesheet.py featurize $G/data/movies8k.csv --store /tmp/cli.h5 --no-text --quiet
         timeout 120 python3 onesheet.py featurize $G/data/movies8k.csv --store /tmp/cli2.h5 --no-text --quiet --device cuda ;;
    cpubench) CUDA_VISIBLE_DEVICES= timeout 240 python3 benchmarks/featurize.py --device cpu --catalog $G/data/movies.csv --posters 1024 --repeat 2 --rounds 3 --skip-full ;;
  esac
done
echo "== end $(date +%T)"
