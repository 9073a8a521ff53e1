"""The library's progress hook protocol: ``progress(desc, total)`` -> an object with ``update(n)`` and ``close()``.

``no_progress`` is the silent default, here in a module of its own so that light commands
(fetch-tmdb) can use it without importing the featurize pipeline.
"""


class NullProgress:
    def update(self, n=1):
        pass

    def close(self):
        pass


def no_progress(desc, total):
    return NullProgress()
