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
