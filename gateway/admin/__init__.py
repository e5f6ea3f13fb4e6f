"""The staff console's toolkit (the Django admin): every app's ``admin.py`` builds on it.

One module per concept; import each thing from the module that owns it
(``from gateway.admin.base import BaseAdmin``). This package re-exports nothing.

- ``base``: :class:`~gateway.admin.base.BaseAdmin` and :class:`~gateway.admin.base.SoftDeleteAdmin`,
  the base classes of every model admin.
- ``actions``: actions that call a service row by row: the row limit (``limited_rows``), actions with
  an intermediate form (``run_form_action``, ``form_action``), the status-change action (``status_change_action``)
  and the same actions as buttons on a row's change page (``object_action_urls``).
- ``filters``: list filters that never load a table: ``InputFilter`` and its factories
  (``owner_filter``, ``id_filter``, ``value_filter``), ``DeletedFilter``.
- ``inlines``: ``ReadOnlyLatestInline``, the latest rows of a relation, read-only, with a link to all.
- ``paginator``: ``EstimatedCountPaginator``, which never counts a big table in full.
- ``json_fields``: JSON columns edited as pretty-printed, validated text (widget and form field).
- ``rows``: a JSON list of objects edited as the rows of a formset inside the model form (``RowsField``).
- ``dashboard``: the home page's registry (KPI tiles, panels, work queues) the apps register into.
- ``search``: search by full UUID or short id, and whether a request is an autocomplete.
- ``links``: URLs of change pages and changelists, and links to a row.
- ``formatting``: how values are worded (short ids, numbers, percentages, deleted markers, errors).
- ``history``: the "History" page of a tracked row (old and new values, actor, request id).
- ``transfer``: export and import of changelists (``TransferAdminMixin``, django-import-export).
- ``exports``: the "Exports" page, a staff member's exports built by jobs, and their download.
- ``site``: the console's titles and home page on Django's admin site.

Templates stay under ``gateway/templates/admin/gateway/``.
"""

# Django's admin autodiscovery imports this package (``gateway`` is an installed app): the titles apply then,
# and the Exports page is registered.
from gateway.admin import exports, site  # noqa: F401
