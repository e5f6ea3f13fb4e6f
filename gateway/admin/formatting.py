"""How the console words values: short ids, numbers, percentages, deleted markers, counts, errors."""

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

SHORT_ID_LENGTH = 8


def short_pk(pk) -> str:
    return str(pk)[:SHORT_ID_LENGTH]


def fixed(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


# Suffixes of compact figures, largest first.
COMPACT_UNITS = ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K"))


def compact_number(value) -> str:
    """A figure in at most four digits and a suffix: 987, 12.3K, 1.23M, 4.5B ("–" for None)."""
    if value is None:
        return "–"
    for size, suffix in COMPACT_UNITS:
        if abs(value) >= size:
            scaled = float(value) / size
            digits = 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
            return _trimmed(f"{scaled:.{digits}f}") + suffix
    return f"{value:,}" if isinstance(value, int) else _trimmed(f"{value:,.2f}")


def _trimmed(number: str) -> str:
    """A decimal number without trailing zeros after its point: 1.50 → 1.5, 5.00 → 5."""
    return number.rstrip("0").rstrip(".") if "." in number else number


def compact(value):
    """A compact figure for a list column (:func:`compact_number`), the exact one in its title."""
    if value is None:
        return "–"
    return format_html('<span class="gv-nowrap" title="{}">{}</span>', f"{value:,}", compact_number(value))


def percent(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def transitions_help(transitions: dict) -> str:
    """The allowed status changes (a service's transition table), one line per status, as help text."""
    return format_html(
        "Allowed changes:<br>{}",
        format_html_join(
            mark_safe("<br>"),
            "{} → {}",
            (
                (current, ", ".join(sorted(targets)) if targets else "nothing (final)")
                for current, targets in transitions.items()
            ),
        ),
    )


def deleted_marker(obj):
    """A red "deleted <when>" for a soft-deleted row, blank otherwise."""
    if obj.deleted_at is None:
        return ""
    return format_html(
        '<span class="gv-deleted" title="{}">deleted {}</span>',
        obj.deleted_at.isoformat(),
        date_format(timezone.localtime(obj.deleted_at), "SHORT_DATETIME_FORMAT"),
    )


def plural(model, count: int) -> str:
    opts = model._meta
    return opts.verbose_name if count == 1 else opts.verbose_name_plural


def validation_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(message for messages_ in error.message_dict.values() for message in messages_)
    return " ".join(error.messages)
