"""Micro-batching: concurrent requests share one model call.

Each request submits one item and awaits its own result; a single worker task collects
items until ``max_batch`` are waiting or the oldest has waited ``max_wait_ms``, then runs
``fn(items)`` once in a thread (so the event loop keeps accepting requests) and hands
every request its row. An exception in ``fn`` fails that batch's requests, never the
worker.

The worker only waits for stragglers while requests are on their way (``expect()`` was
entered but they have not submitted yet, e.g. still decoding their upload): a lone request
is never held back by ``max_wait_ms``.
"""

import asyncio
import time


class MicroBatcher:
    def __init__(self, fn, max_batch=32, max_wait_ms=5.0):
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self._queue = None
        self._task = None
        self.batches = 0
        self.items = 0
        self.on_the_way = 0

    def expect(self):
        """Context manager around a request's preparation: tells the worker more is coming."""
        batcher = self

        class _Expect:
            def __enter__(self):
                batcher.on_the_way += 1

            def __exit__(self, *exc):
                batcher.on_the_way -= 1

        return _Expect()

    def start(self):
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    async def stop(self):
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def submit(self, item):
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _run(self):
        while True:
            batch = [await self._queue.get()]
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._queue.empty() and self.on_the_way == 0):
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            items = [item for item, _ in batch]
            try:
                results = await asyncio.to_thread(self.fn, items)
            except Exception as exc:  # noqa: BLE001 - hand the failure to the waiting requests
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            self.batches += 1
            self.items += len(items)
            for (_, fut), result in zip(batch, results):
                if not fut.done():
                    fut.set_result(result)
