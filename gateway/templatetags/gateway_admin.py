"""Template tags of the staff console's changelist: an index-only date hierarchy and estimate-aware pagination."""

import datetime

from django import template
from django.contrib.admin.templatetags.admin_list import pagination
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.utils import get_fields_from_path
from django.db import models
from django.utils import formats, timezone
from django.utils.text import capfirst

register = template.Library()


def _local(value):
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def index_date_hierarchy(cl):
    """Django's date hierarchy, built from the first and last date of the list only.

    Django lists the years, months or days that hold rows with ``SELECT DISTINCT date_trunc(...)``,
    which reads every row of the list. Here each level costs one ``MIN``/``MAX`` query (see
    ``_bounds``); the choices are every year, month or day between the first and the last date, so a
    gap in the data shows as a link to an empty list.
    """
    field_name = cl.date_hierarchy
    field = get_fields_from_path(cl.model, field_name)[-1]
    year_field, month_field, day_field = (f"{field_name}__{part}" for part in ("year", "month", "day"))
    year = cl.params.get(year_field)
    month = cl.params.get(month_field)
    day = cl.params.get(day_field)

    def link(filters):
        return cl.get_query_string(filters, [f"{field_name}__"])

    if year and month and day:
        date = datetime.date(int(year), int(month), int(day))
        return {
            "show": True,
            "back": {
                "link": link({year_field: year, month_field: month}),
                "title": capfirst(formats.date_format(date, "YEAR_MONTH_FORMAT")),
            },
            "choices": [{"title": capfirst(formats.date_format(date, "MONTH_DAY_FORMAT"))}],
        }

    first, last = _bounds(cl, field_name)
    if first is None or last is None:
        back = {"link": link({}), "title": "All dates"} if year else None
        return {"show": bool(year), "back": back, "choices": []}
    if not year and first.year == last.year:
        year = first.year
        if first.month == last.month:
            month = first.month
    if isinstance(field, models.DateTimeField):
        first, last = first.date(), last.date()

    if year and month:
        days = [first + datetime.timedelta(days=offset) for offset in range((last - first).days + 1)]
        return {
            "show": True,
            "back": {"link": link({year_field: year}), "title": str(year)},
            "choices": [
                {
                    "link": link({year_field: year, month_field: month, day_field: date.day}),
                    "title": capfirst(formats.date_format(date, "MONTH_DAY_FORMAT")),
                }
                for date in days
            ],
        }
    if year:
        return {
            "show": True,
            "back": {"link": link({}), "title": "All dates"},
            "choices": [
                {
                    "link": link({year_field: year, month_field: number}),
                    "title": capfirst(formats.date_format(datetime.date(int(year), number, 1), "YEAR_MONTH_FORMAT")),
                }
                for number in range(first.month, last.month + 1)
            ],
        }
    years = range(first.year, last.year + 1)
    return {
        "show": True,
        "back": None,
        "choices": [{"link": link({year_field: str(number)}), "title": str(number)} for number in years],
    }


def _bounds(cl, field_name):
    """The first and last date of the list: one ``MIN``/``MAX`` query, answered from the ends of the date index."""
    bounds = cl.queryset.order_by().aggregate(first=models.Min(field_name), last=models.Max(field_name))
    return _local(bounds["first"]), _local(bounds["last"])


@register.tag(name="index_date_hierarchy")
def index_date_hierarchy_tag(parser, token):
    return InclusionAdminNode(
        parser, token, func=index_date_hierarchy, template_name="date_hierarchy.html", takes_context=False
    )


@register.tag(name="estimated_pagination")
def estimated_pagination_tag(parser, token):
    """Django's pagination, saying "about" when the paginator gave an estimate."""
    return InclusionAdminNode(
        parser, token, func=pagination, template_name="gateway_pagination.html", takes_context=False
    )
