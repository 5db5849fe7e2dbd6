"""The pages cache's backend: Django's FileBasedCache, counting its files less often.

FileBasedCache lists its whole directory at every write to see whether it holds more
than MAX_ENTRIES (2 000 here): a few milliseconds on each page drawn after a change,
which is exactly when a page must be quick. Entries kept under an old data version
are never read again and only wait to be culled, so counting at one write in
CULL_EVERY (per process) is enough: the directory goes past its maximum by at most
CULL_EVERY files per worker before a third of it is removed (with MAX_ENTRIES at
least three times CULL_EVERY, as here)."""

import itertools

from django.core.cache.backends.filebased import FileBasedCache

CULL_EVERY = 50


class PagesCache(FileBasedCache):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._writes = itertools.count(1)  # next() is atomic under the GIL

    def _cull(self):
        if next(self._writes) % CULL_EVERY == 0:
            super()._cull()
