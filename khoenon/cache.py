"""The pages cache's backend: Django's FileBasedCache, counting its files less often
and compressing them faster.

FileBasedCache lists its whole directory at every write to see whether it holds more
than MAX_ENTRIES (2 000 here): a few milliseconds on each page drawn after a change,
which is exactly when a page must be quick. Entries kept under an old data version
are never read again and only wait to be culled, so counting at one write in
CULL_EVERY (per process) is enough: the directory goes past its maximum by at most
CULL_EVERY files per worker before a third of it is removed (with MAX_ENTRIES at
least three times CULL_EVERY, as here).

It also compresses each entry at zlib's default level 6: 0,8 ms for a drawn page,
against 0,2 ms at level 1 for a file a fifth larger (a page's HTML is 40-80 KB, a
few thousand files on disk at most). Reading is the same either way."""

import itertools
import pickle
import zlib

from django.core.cache.backends.filebased import FileBasedCache

CULL_EVERY = 50
LEVEL = 1


class PagesCache(FileBasedCache):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._writes = itertools.count(1)  # next() is atomic under the GIL

    def _cull(self):
        if next(self._writes) % CULL_EVERY == 0:
            super()._cull()

    def _write_content(self, file, timeout, value):
        # FileBasedCache._write_content, at LEVEL: what get() reads is the same.
        expiry = self.get_backend_timeout(timeout)
        file.write(pickle.dumps(expiry, self.pickle_protocol))
        file.write(zlib.compress(pickle.dumps(value, self.pickle_protocol), LEVEL))
