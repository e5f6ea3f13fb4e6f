"""``manage.py evaluate_experiments``: evaluate every RUNNING experiment and record the outcome."""

from django.core.management.base import BaseCommand, CommandError

from campaigns import stats
from campaigns.services import experiments_evaluate_running


class Command(BaseCommand):
    help = (
        "Evaluate every RUNNING experiment (not soft-deleted) and apply the result: statistics in metrics, "
        "the confidence and, when significant, the winner and COMPLETED status, whatever auto_apply says (the "
        "periodic job declares winners only where it is set). Prints one line per "
        "experiment and a summary; exits with an error when any experiment could not be evaluated."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--metric",
            choices=sorted(stats.METRICS),
            default=stats.DEFAULT_METRIC,
            help="The rate compared between variants (default: %(default)s).",
        )
        parser.add_argument(
            "--threshold",
            type=float,
            default=stats.DEFAULT_THRESHOLD,
            help="Probability a variant must reach to be declared the winner, in [0.5, 1) (default: %(default)s).",
        )
        parser.add_argument(
            "--min-sample",
            type=int,
            default=stats.DEFAULT_MIN_SAMPLE,
            help="Trials (the metric's denominator) each variant needs before a winner is declared "
            "(default: %(default)s).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Evaluate and print, but store nothing (no apply).")

    def handle(self, *args, metric, threshold, min_sample, dry_run, **options):
        if not 0.5 <= threshold < 1:
            raise CommandError("--threshold must be at least 0.5 and below 1.")
        if min_sample < 0:
            raise CommandError("--min-sample must be 0 or more.")
        report = experiments_evaluate_running(
            metric=metric, threshold=threshold, min_sample=min_sample, apply=not dry_run, declare_winners=True
        )
        for failure in report["failed"]:
            problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in failure["errors"].items())
            self.stderr.write(f"{failure['experiment']} {failure['name']!r}: cannot evaluate: {problems}")
        for outcome in report["outcomes"]:
            self.stdout.write(f"{outcome['experiment']} {outcome['name']!r}: {outcome['reason']}")
        counts = {**report, "failed": len(report["failed"])}
        mode = " (dry run, nothing stored)" if dry_run else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Evaluated {counts['evaluated']} running experiment(s) on {metric}{mode}: "
                f"{counts['winners']} winner(s), {counts['undecided']} without a winner yet, {counts['failed']} failed."
            )
        )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} experiment(s) could not be evaluated; see above.")
