"""How a uint8 batch reaches the onnxruntime session, per device (used by PosterEmbedder only).

Every feeder has ``stage(batch)`` (called on the caller's thread: gets the batch to where
the model reads it) and ``run(staged)`` (called on the embedder's run thread: one
inference, returns the raw output on the host). PosterEmbedder.embed_stream overlaps the
two, so batch k+1 is staged while batch k computes: two batches in flight.

* HostFeeder: plain ``session.run`` with numpy in and out.
* BoundHostFeeder: IO binding on the CPU: the input is bound in place (no copy into
  onnxruntime), the output allocated by onnxruntime.
* CudaFeeder: IO binding on the GPU. With torch built for CUDA, batches are copied into
  two pinned host buffers and sent to two device buffers on a side CUDA stream (async,
  overlapping the running batch); without torch, onnxruntime copies the batch onto the
  device from pageable memory (synchronous, still overlapping the other batch's run).
  A batch smaller than the buffers (the last one, or one with bad posters) runs padded to
  the buffers' size and only its own rows are returned: cuDNN picks its convolution
  algorithms once per input shape, which took 0.4 to 2 s per new shape on an H100.
"""

import numpy as np


class HostFeeder:
    name = "run (host numpy)"

    def __init__(self, session, input_name, output_name):
        self.session, self.input_name, self.output_name = session, input_name, output_name

    def stage(self, batch):
        return batch

    def run(self, staged):
        return self.session.run([self.output_name], {self.input_name: staged})[0]


class BoundHostFeeder(HostFeeder):
    name = "io-binding (host)"

    def stage(self, batch):
        return np.ascontiguousarray(batch)

    def run(self, staged):
        binding = self.session.io_binding()
        binding.bind_cpu_input(self.input_name, staged)
        binding.bind_output(self.output_name, "cpu")
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]


def _torch_cuda():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


class CudaFeeder(HostFeeder):
    """Two slots, alternating: slot k % 2 is staged while the other one runs."""

    def __init__(self, session, input_name, output_name, ort, device_id=0):
        super().__init__(session, input_name, output_name)
        self.ort, self.device_id = ort, device_id
        self.torch = _torch_cuda()
        self.name = "io-binding (cuda, pinned host buffers)" if self.torch else "io-binding (cuda)"
        self._slot = 0
        self._pinned, self._device = [None, None], [None, None]
        if self.torch:
            self._stream = self.torch.cuda.Stream(device=device_id)

    def _buffers(self, slot, batch):
        """This slot's pinned and device buffers, grown (never shrunk) to hold ``batch``."""
        t = self.torch
        if self._pinned[slot] is None or self._pinned[slot].shape[0] < len(batch) \
                or self._pinned[slot].shape[1:] != batch.shape[1:]:
            shape = (max(len(batch), self._rows(batch.shape[1:])),) + tuple(batch.shape[1:])
            self._pinned[slot] = t.empty(shape, dtype=t.uint8, pin_memory=True)
            self._device[slot] = t.empty(shape, dtype=t.uint8, device=f"cuda:{self.device_id}")
        return self._pinned[slot], self._device[slot]

    def _rows(self, row_shape):
        """Rows of the other slot's buffers (0 if none): both slots keep one shape."""
        return max((p.shape[0] for p in self._pinned if p is not None and tuple(p.shape[1:]) == tuple(row_shape)),
                   default=0)

    def stage(self, batch):
        """(device array the model reads, event to wait for, rows that are the batch's)."""
        if hasattr(batch, "__cuda_array_interface__"):     # already on the GPU (decoded there)
            done = self.torch.cuda.Event()
            done.record(self.torch.cuda.current_stream())
            return batch.contiguous(), done, len(batch)
        batch = np.ascontiguousarray(batch)
        slot, self._slot = self._slot, 1 - self._slot
        if self.torch is None:
            return self.ort.OrtValue.ortvalue_from_numpy(batch, "cuda", self.device_id), None, len(batch)
        pinned, device = self._buffers(slot, batch)
        n = len(batch)
        pinned[:n].copy_(self.torch.from_numpy(batch))
        with self.torch.cuda.stream(self._stream):
            device[:n].copy_(pinned[:n], non_blocking=True)   # rows past n: stale pixels, outputs dropped
            done = self.torch.cuda.Event()
            done.record(self._stream)
        return device, done, n

    def run(self, staged):
        value, done, n = staged
        binding = self.session.io_binding()
        if done is None:
            binding.bind_ortvalue_input(self.input_name, value)
        else:
            done.synchronize()
            binding.bind_input(self.input_name, "cuda", self.device_id, np.uint8, tuple(value.shape), value.data_ptr())
        binding.bind_output(self.output_name, "cuda", self.device_id)
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0][:n]
