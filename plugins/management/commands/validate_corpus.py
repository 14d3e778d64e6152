"""python manage.py validate_corpus [DIR]: the validator over a corpus, with a written report."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from plugins.validation.corpus import iter_entries, render_report, run_corpus


class Command(BaseCommand):
    help = (
        "Validate every entry of a plugin corpus laid out like ../shared/corpus, write the "
        "outcome to docs/corpus-report.md, and print the store bar as the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "corpus",
            nargs="?",
            default=None,
            help="corpus directory (default: settings.MARKETPLACE_CORPUS_DIR)",
        )
        parser.add_argument(
            "--report",
            default=None,
            help="where to write the report (default: docs/corpus-report.md)",
        )

    def handle(self, *args, **options):
        root = Path(options["corpus"] or settings.MARKETPLACE_CORPUS_DIR)
        if not root.is_dir():
            raise CommandError(f"corpus directory not found: {root}")
        report_path = Path(
            options["report"] or Path(settings.BASE_DIR) / "docs" / "corpus-report.md"
        )
        outcome = run_corpus(iter_entries(root))
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(render_report(outcome, root.name), encoding="utf-8")
        failed = sum(1 for r in outcome.results if not r.report.passed)
        self.stdout.write(
            f"{len(outcome.results)} entries in {outcome.seconds:.1f}s "
            f"({len(outcome.results) / max(outcome.seconds, 1e-9):.0f}/s); "
            f"{failed} fail; report: {report_path}"
        )
        self.stdout.write(outcome.bar_line())
