"""From a user's page to the rows they own: every changelist with an owner filter (``owner_filter``), filtered.

Apps declare nothing more: a model admin whose ``list_filter`` has an owner filter is a list of rows a user
owns, and the user's change page links to it (the users app never imports the apps that own rows).
"""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from gateway.admin.links import changelist_url


def has_owner_filter(model_admin) -> bool:
    return any(getattr(spec, "user_path", None) is not None for spec in model_admin.list_filter)


def owned_models(site=admin.site) -> list:
    """The models whose changelist filters by owner, ordered by app and name."""
    models = [model for model, model_admin in site._registry.items() if has_owner_filter(model_admin)]
    return sorted(models, key=lambda model: (model._meta.app_label, model._meta.verbose_name_plural))


def owned_rows_links(user, site=admin.site):
    """Links to the lists of ``user``'s rows (assets, campaigns, API keys, ...), each filtered by the owner filter."""
    return format_html_join(
        mark_safe(" · "),
        '<a href="{}" class="gv-owned-rows">{}</a>',
        (
            (changelist_url(model, owner=str(user.pk)), capfirst(model._meta.verbose_name_plural))
            for model in owned_models(site)
        ),
    ) or format_html("–")
