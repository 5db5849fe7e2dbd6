"""The public pages and the open-data API on the one shared cache, and the bound on
report files built at a time (reports.page_cache.kept_file)."""

import json
import runpy
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.db import connection
from django.test import Client, SimpleTestCase, override_settings
from django.test.utils import CaptureQueriesContext

from khoenon.cache import CULL_EVERY, PagesCache
from reports import page_cache
from reports.tests.test_api import ApiTestCase
from targets.models import Figure, WorkflowState
from targets.numbers import format_decimal

from .builders import D


class OpenDataKeptTests(ApiTestCase):
    def grain_q3(self):
        return Figure.objects.get(target=self.grain, period=self.q3)

    def progress(self, client):
        response = client.get(f"/api/v1/progress/?period={self.q3.pk}")
        self.assertEqual(response.status_code, 200)
        results = json.loads(response.content)["results"]
        return next(r for r in results if r["target"] == self.grain.pk)

    def test_an_anonymous_read_again_costs_the_version_query_alone(self):
        self.progress(self.api())
        with CaptureQueriesContext(connection) as queries:
            self.progress(self.api())
        self.assertEqual(len(queries), 1)
        self.assertIn("targets_dataversion", queries[0]["sql"])

    def test_an_approved_change_shows_at_the_next_anonymous_read(self):
        # Grain output adds its quarters up: the year so far moves with Q3.
        before = self.progress(self.api())
        old = self.grain_q3().value
        Figure.objects.filter(pk=self.grain_q3().pk).update(value=old + D("100"))
        after = self.progress(self.api())
        self.assertEqual(D(after["value"]), D(before["value"]) + D("100"))

    def test_a_reader_never_gets_the_answer_kept_for_anonymous_clients(self):
        anonymous = json.loads(self.api().get("/api/v1/periods/").content)
        reader = json.loads(self.api("delegate").get("/api/v1/periods/").content)
        anonymous_ids = {p["id"] for p in anonymous["results"]}
        reader_ids = {p["id"] for p in reader["results"]}
        self.assertNotIn(self.q4.pk, anonymous_ids)
        self.assertIn(self.q4.pk, reader_ids)
        # And the other way round: a reader's answer is kept for nobody.
        self.api("delegate").get("/api/v1/periods/")
        again = json.loads(self.api().get("/api/v1/periods/").content)
        self.assertEqual({p["id"] for p in again["results"]}, anonymous_ids)

    def test_a_refusal_is_not_kept(self):
        first = self.api().get("/api/v1/progress/?resolution=999999")
        self.assertEqual(first.status_code, 404)
        self.assertEqual(
            self.api().get("/api/v1/progress/?resolution=abc").status_code, 400
        )
        self.assertEqual(
            self.api().get("/api/v1/progress/?resolution=999999").status_code, 404
        )


class PublicPagesKeptTests(ApiTestCase):
    def test_the_public_dashboard_is_drawn_once_per_data_version(self):
        url = f"/cong-khai/?ky={self.q3.pk}"
        first = Client().get(url)
        self.assertEqual(first.status_code, 200)
        with CaptureQueriesContext(connection) as queries:
            again = Client().get(url)  # another visitor, nothing held
        self.assertEqual(again.content, first.content)
        self.assertLess(len(queries), 5, [q["sql"] for q in queries])

    def test_a_change_to_a_published_figure_shows_at_the_next_request(self):
        url = f"/cong-khai/bao-cao/?ky={self.q3.pk}"
        value = self.grain_q3_value()
        before = Client().get(url).content.decode()
        self.assertIn(format_decimal(value), before)
        Figure.objects.filter(target=self.grain, period=self.q3).update(
            value=D("3999.99")
        )
        after = Client().get(url).content.decode()
        self.assertIn("3.999,99", after)

    def test_two_quarters_never_share_a_kept_page(self):
        q2 = Client().get(f"/cong-khai/?ky={self.q2.pk}")
        q3 = Client().get(f"/cong-khai/?ky={self.q3.pk}")
        self.assertNotEqual(q2["ETag"], q3["ETag"])
        self.assertIn(str(self.q2), q2.content.decode())
        self.assertIn(str(self.q3), q3.content.decode())

    def grain_q3_value(self):
        return Figure.objects.get(
            target=self.grain, period=self.q3, state=WorkflowState.APPROVED
        ).value


@override_settings(FILE_BUILDS=1)
class FileBuildBoundTests(SimpleTestCase):
    def test_two_different_files_are_never_built_at_the_same_time(self):
        spans = {}
        started = threading.Event()

        def build(name):
            def run():
                begin = time.monotonic()
                started.set()
                time.sleep(0.3)
                spans[name] = (begin, time.monotonic())
                return {"data": name.encode()}

            return run

        first = threading.Thread(
            target=page_cache.kept_file, args=("file-a", build("a"))
        )
        first.start()
        started.wait(5)
        self.assertEqual(page_cache.kept_file("file-b", build("b")), {"data": b"b"})
        first.join()
        self.assertLessEqual(spans["a"][1], spans["b"][0])

    def while_building(self, key: str, data: bytes, then):
        """`then()`'s result, asked while another request holds `key`'s build (and
        with it the one build slot), with a 0,2 s wait instead of BUILD_WAIT."""
        holding = threading.Event()
        release = threading.Event()

        def slow():
            holding.set()
            release.wait(5)
            return {"data": data}

        first = threading.Thread(target=page_cache.kept_file, args=(key, slow))
        first.start()
        holding.wait(5)
        try:
            wait, page_cache.BUILD_WAIT = page_cache.BUILD_WAIT, 0.2
            return then()
        finally:
            page_cache.BUILD_WAIT = wait
            release.set()
            first.join()

    def test_a_request_that_waits_too_long_is_told_to_come_back(self):
        built = []
        answer = self.while_building(
            "file-c",
            b"c",
            lambda: page_cache.kept_file("file-d", lambda: built.append(1)),
        )
        self.assertEqual(answer.status_code, 503)
        self.assertEqual(answer["Retry-After"], "10")
        self.assertIn("Vui lòng tải lại sau ít giây", answer.content.decode())
        self.assertEqual(built, [])
        # Nothing was kept for the refused file: its next request builds it.
        self.assertEqual(
            page_cache.kept_file("file-d", lambda: {"data": b"d"}), {"data": b"d"}
        )

    def test_a_second_request_for_a_file_being_built_waits_then_is_told_to_reload(self):
        answer = self.while_building(
            "file-e",
            b"e",
            lambda: page_cache.kept_file("file-e", lambda: {"data": b"twice"}),
        )
        self.assertEqual(answer.status_code, 503)
        # The first request's build is what is kept, built once.
        self.assertEqual(
            page_cache.kept_file("file-e", lambda: {"data": b"twice"}), {"data": b"e"}
        )


class FileWaitersTests(SimpleTestCase):
    def test_past_the_waiters_a_file_request_is_told_to_come_back(self):
        """One waiter allowed: while one request builds a slow file, another one is
        refused after the short grace (the build still under way), with nothing
        built or kept."""
        holding, release, finished = (threading.Event() for _ in range(3))

        def slow():
            holding.set()
            release.wait(10)
            finished.set()
            return {"data": b"f"}

        one = threading.BoundedSemaphore(1)
        with (
            mock.patch.object(page_cache, "_waiting", lambda: one),
            mock.patch.object(page_cache, "WAITER_GRACE", 0.1),
        ):
            first = threading.Thread(target=page_cache.kept_file, args=("file-f", slow))
            first.start()
            holding.wait(5)
            # The build ends by itself in two seconds: a request that waited for
            # it would answer after it.
            timer = threading.Timer(2, release.set)
            timer.start()
            built = []
            try:
                answer = page_cache.kept_file("file-g", lambda: built.append(1))
                self.assertFalse(finished.is_set())  # not after the build
            finally:
                timer.join()
                first.join()
            self.assertEqual(answer.status_code, 503)
            self.assertEqual(answer["Retry-After"], "10")
            self.assertEqual(built, [])
            # The slot freed, the next request builds its file.
            self.assertEqual(
                page_cache.kept_file("file-g", lambda: {"data": b"g"}), {"data": b"g"}
            )

    def test_past_the_waiters_a_quick_file_is_still_served_once_built(self):
        """One waiter allowed: a second request for a file built within the grace
        waits for a place and gets the file the first one built."""
        holding = threading.Event()

        def quick():
            holding.set()
            time.sleep(0.3)
            return {"data": b"h"}

        one = threading.BoundedSemaphore(1)
        with (
            mock.patch.object(page_cache, "_waiting", lambda: one),
            mock.patch.object(page_cache, "WAITER_GRACE", 5),
        ):
            first = threading.Thread(
                target=page_cache.kept_file, args=("file-h", quick)
            )
            first.start()
            holding.wait(5)
            answer = page_cache.kept_file("file-h", lambda: {"data": b"twice"})
            first.join()
        self.assertEqual(answer, {"data": b"h"})

    def test_the_server_keeps_two_threads_a_worker_for_the_pages(self):
        conf = runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))
        self.assertLessEqual(settings.FILE_WAITERS, conf["threads"] - 2)


class PagesCacheCullTests(SimpleTestCase):
    """khoenon.cache.PagesCache counts its files at one write in CULL_EVERY: the
    directory stays near its maximum, and the other writes list nothing."""

    def test_the_folder_stays_near_its_maximum_and_is_listed_once_in_fifty_writes(self):
        with tempfile.TemporaryDirectory() as folder:
            cache = PagesCache(folder, {"OPTIONS": {"MAX_ENTRIES": 300}})
            with mock.patch.object(
                PagesCache, "_list_cache_files", wraps=cache._list_cache_files
            ) as listed:
                for n in range(1500):
                    cache.set(f"page-{n}", b"x" * 100)
            self.assertEqual(listed.call_count, 1500 // CULL_EVERY)
            # A cull removes a third: past 300 files, the next one brings it back.
            self.assertLessEqual(len(cache._list_cache_files()), 300 + CULL_EVERY)
            self.assertEqual(cache.get("page-1499"), b"x" * 100)

    def test_an_entry_reads_back_as_written(self):
        page = {"title": "Quý IV/2025", "body": "<p>3.865,28 tấn</p>" * 2000}
        with tempfile.TemporaryDirectory() as folder:
            cache = PagesCache(folder, {})
            cache.set("page", page)
            self.assertEqual(cache.get("page"), page)
            self.assertIsNone(cache.get("other"))
