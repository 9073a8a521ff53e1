"""JPEG posters decoded on the GPU (nvJPEG through ``torchvision.io.decode_jpeg``), cropped and resized there.

Opt-in (``--decode gpu``) on CUDA runs where torch with CUDA and torchvision are importable.
Only complete 8-bit RGB or greyscale JPEGs within the pixel limit and without an EXIF
rotation go to the GPU; everything else (other formats, CMYK, truncated files, anything
nvJPEG rejects) is decoded by the CPU path, so every bad poster gets the same named error
as on the CPU. The geometry is the CPU path's: the centre crop of ``min(w, h) * crop / resize``
source pixels resampled bilinearly to crop x crop (``roi_align`` with aligned pixel centres).
GPU pixels are not bit-identical to Pillow's (another IDCT and chroma upsampling), which is why
this is not the default: measure the embeddings' cosine to the CPU path on your GPU first.
The same code runs with ``device="cpu"`` (torchvision's CPU decoder), which is how it is tested.
"""

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from .errors import DeviceError, MissingExtraError, PosterError
from .images import MAX_PIXELS, load_poster, read_bytes


def _torch():
    try:
        import torch
        import torchvision  # noqa: F401
        from torchvision.io import ImageReadMode, decode_jpeg
        from torchvision.ops import roi_align
    except ImportError:
        raise MissingExtraError("--decode gpu needs torch and torchvision built for CUDA: "
                                "pip install 'torch==2.14.1' 'torchvision==0.29.1'") from None
    return torch, decode_jpeg, ImageReadMode.RGB, roi_align


def available() -> bool:
    try:
        torch = _torch()[0]
    except MissingExtraError:
        return False
    return torch.cuda.is_available()


def gpu_candidate(data: bytes) -> bool:
    """A complete 8-bit RGB/greyscale JPEG within the pixel limit that needs no EXIF rotation."""
    if not data.endswith(b"\xff\xd9"):
        return False                  # truncated (or trailing junk): the CPU path names it
    try:
        img = Image.open(io.BytesIO(data))
        return (img.format == "JPEG" and img.mode in ("RGB", "L") and img.width * img.height <= MAX_PIXELS
                and img.getexif().get(0x0112, 1) == 1)
    except Exception:  # noqa: BLE001 - anything odd goes to the CPU path, which names it
        return False


class TorchJpegDecoder:
    """``decode(items)`` -> (ids, (n, crop, crop, 3) uint8 tensor on ``device``, [(id, PosterError)])."""

    def __init__(self, pre, device="cuda", workers=4):
        self.torch, self._decode, self._rgb, self._roi_align = _torch()
        self.pre, self.device = pre, device
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="poster-read")

    def _read(self, source):
        try:
            data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else read_bytes(source)
        except PosterError as exc:
            return None, exc
        return data, None

    def _resized(self, chw):
        """(3, h, w) uint8 -> (crop, crop, 3) uint8, Pillow's box-resize geometry."""
        t, pre = self.torch, self.pre
        h, w = chw.shape[1:]
        side = min(w, h) * pre.crop / pre.resize
        left, top = (w - side) / 2, (h - side) / 2
        box = t.tensor([[0, left, top, left + side, top + side]], dtype=t.float32, device=chw.device)
        ratio = max(1, int(np.ceil(side / pre.crop)))      # average over the footprint when shrinking
        out = self._roi_align(chw[None].float(), box, output_size=(pre.crop, pre.crop), spatial_scale=1.0,
                              sampling_ratio=ratio, aligned=True)[0]
        return out.round_().clamp_(0, 255).to(t.uint8).permute(1, 2, 0)

    def _gpu(self, datas):
        """Decode on the device; None for any image the decoder rejects."""
        t = self.torch
        tensors = [t.frombuffer(bytearray(d), dtype=t.uint8) for d in datas]
        try:
            return self._decode(tensors, mode=self._rgb, device=self.device)
        except RuntimeError:
            out = []
            for x in tensors:   # one bad image fails the batched call: retry one by one
                try:
                    out.append(self._decode(x, mode=self._rgb, device=self.device))
                except RuntimeError:
                    out.append(None)
            return out

    def decode(self, items):
        keys, sources = zip(*items) if items else ((), ())
        read = list(self.pool.map(self._read, sources))
        rows, failures = {}, {}
        gpu = [i for i, (data, err) in enumerate(read) if err is None and gpu_candidate(data)]
        for i, chw in zip(gpu, self._gpu([read[i][0] for i in gpu])):
            if chw is not None:
                rows[i] = self._resized(chw)
        cpu = [i for i in range(len(read)) if i not in rows and read[i][1] is None]
        for i, result in zip(cpu, self.pool.map(self._cpu, [sources[i] for i in cpu])):
            if isinstance(result, PosterError):
                failures[i] = result
            else:
                rows[i] = self.torch.from_numpy(np.array(result)).to(self.device)
        failures.update({i: err for i, (_, err) in enumerate(read) if err is not None})
        good = sorted(rows)
        batch = (self.torch.stack([rows[i] for i in good]) if good
                 else self.torch.empty((0, self.pre.crop, self.pre.crop, 3), dtype=self.torch.uint8))
        return [keys[i] for i in good], batch, [(keys[i], failures[i]) for i in sorted(failures)]

    def _cpu(self, source):
        try:
            return load_poster(source, self.pre)
        except PosterError as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - one bad file must never stop thousands
            return PosterError("corrupt", f"{exc.__class__.__name__}: {exc}")

    def close(self):
        self.pool.shutdown(wait=True)


def gpu_batches(items, pre, batch_size=256, workers=4, device="cuda"):
    """Like ``stream.poster_batches`` but the batches are uint8 tensors decoded on ``device``."""
    if pre.height:
        raise DeviceError("--decode gpu makes square centre crops only; whole-poster models decode on the CPU "
                          "(leave --decode at auto)")
    decoder = TorchJpegDecoder(pre, device, workers)
    items = iter(items)
    try:
        while True:
            chunk = [item for _, item in zip(range(batch_size), items)]
            if not chunk:
                return
            yield decoder.decode(chunk)
    finally:
        decoder.close()
