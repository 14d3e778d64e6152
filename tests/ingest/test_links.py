"""The link stage checks the logo and the legal page at once, within one shared budget."""

from __future__ import annotations

import threading
import time

from plugins.ingest.links import check_links
from tests.support.plugin_server import PluginServer, Response

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def plugin(server: PluginServer) -> dict:
    return {
        "dialect": "manifest",
        "logo_url": server.url("/logo.png"),
        "legal_info_url": server.url("/legal"),
    }


def test_it_requests_the_logo_and_the_legal_page_at_the_same_time():
    both_arrived = threading.Barrier(2)

    def after_both(response: Response):
        def handle(handler):
            try:
                both_arrived.wait(timeout=4)
            except threading.BrokenBarrierError:  # the other request never came meanwhile
                handler.reply(503, b"alone")
                return
            response(handler)

        return handle

    with PluginServer() as server:
        server.handle("/logo.png", after_both(Response(PNG, content_type="image/png")))
        server.handle(
            "/legal", after_both(Response("<html>terms</html>", content_type="text/html"))
        )

        report = check_links(plugin(server))

    assert report.findings == []
    assert report.logo == PNG
    assert report.logo_content_type == "image/png"


def test_a_host_that_never_answers_holds_the_stage_for_the_budget_not_per_link():
    def never(handler):
        handler.wait(30)

    with PluginServer() as server:
        server.handle("/logo.png", never)
        server.handle("/legal", never)
        started = time.monotonic()

        report = check_links(plugin(server), budget=1.0)

        elapsed = time.monotonic() - started
    codes = [f.code for f in report.findings]
    assert codes == ["links.logo.timeout", "links.legal_info_url.timeout"]
    assert elapsed < 8  # one 5 s timeout after the other would be 10 s; the budget is 1 s


def test_findings_keep_their_order_logo_first():
    with PluginServer() as server:
        server.route("/logo.png", Response(b"gone", status=404, content_type="text/plain"))
        server.route("/legal", Response(b"gone", status=410, content_type="text/plain"))

        report = check_links(plugin(server))

    assert [f.code for f in report.findings] == [
        "links.logo.http_status",
        "links.legal_info_url.http_status",
    ]
    assert [f.pointer for f in report.findings] == ["/logo_url", "/legal_info_url"]


def test_checks_running_at_once_in_one_process_do_not_wait_for_each_others_threads():
    """The `links` worker runs many checks in threads of one process: all their requests go out
    at once, none queues for a thread while its budget runs."""
    checks = 6
    all_arrived = threading.Barrier(2 * checks)

    def after_all(response: Response):
        def handle(handler):
            try:
                all_arrived.wait(timeout=4)
            except threading.BrokenBarrierError:
                handler.reply(503, b"not all at once")
                return
            response(handler)

        return handle

    with PluginServer() as server:
        server.handle("/logo.png", after_all(Response(PNG, content_type="image/png")))
        server.handle("/legal", after_all(Response("<html>terms</html>", content_type="text/html")))
        reports = [None] * checks

        def one(i):
            reports[i] = check_links(plugin(server))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(checks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert [report.findings for report in reports] == [[]] * checks
    assert all(report.logo == PNG for report in reports)
