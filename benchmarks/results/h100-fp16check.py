import os, sys, csv, numpy as np
sys.path.insert(0, os.getcwd())
from featurize.encoders import poster_encoder
from featurize.posters import PosterEmbedder, cosines
from featurize.images import load_poster
cat = sys.argv[1]; base = os.path.dirname(cat)
paths = [os.path.join(base, r["poster"]) for r in csv.DictReader(open(cat))][:512]
enc = poster_encoder(device="cuda"); pre = enc.preprocessing
pix = np.stack([load_poster(p, pre) for p in paths])
a = PosterEmbedder(enc.onnx_path, device="cuda", preprocessing=pre, precision="fp16")
b = PosterEmbedder(enc.onnx_path, device="cuda", preprocessing=pre)
c = cosines(np.concatenate([a.embed(pix[i:i+256]) for i in (0, 256)]), np.concatenate([b.embed(pix[i:i+256]) for i in (0, 256)]))
print("fp16 vs fp32 on CUDA, 512 posters: min %.6f median %.6f" % (c.min(), np.median(c)), a.providers)
