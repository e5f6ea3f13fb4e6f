"""The "History" page of a tracked row: what each change did, field by field, who made it and in which request.

Django's own page lists the admin's log ("Changed Score.", admin edits only). A model declared ``@tracked``
(gateway/history.py) has its events written by database triggers, so this page shows every change, from any
path: the values before and after, the actor (a user, with the API key used, a job or a command) and the
request id to find its log lines with. Newest first, 50 events a page, three queries whatever the page holds.
"""

import json

from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.utils.text import capfirst

from gateway.admin.links import change_url
from gateway.history import history_events, history_of, is_tracked

EVENTS_PER_PAGE = 50


def shown(value) -> str:
    """A value of an event as staff read it: JSON for objects and lists, "—" for null."""
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


class HistoryAdminMixin:
    """Replaces Django's history page with the row's events when the model is tracked."""

    history_template = "admin/gateway/object_history.html"

    def history_view(self, request, object_id, extra_context=None):
        if not is_tracked(self.model):
            return super().history_view(request, object_id, extra_context)
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        paginator = Paginator(history_of(obj), EVENTS_PER_PAGE)
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        events = history_events(self.model, page.object_list)
        users = self.event_users(events)
        rows = [
            {
                "event": event,
                "user": users.get(event.user),
                "user_url": change_url(get_user_model(), event.user) if event.user in users else None,
                "changes": [(change.label, shown(change.old), shown(change.new)) for change in event.changes],
            }
            for event in events
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change history: {obj}",
            "subtitle": None,
            "action_list": page,
            "rows": rows,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": PAGE_VAR,
            "pagination_required": paginator.num_pages > 1,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "object": obj,
            "opts": self.opts,
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.history_template, context)

    @staticmethod
    def event_users(events) -> dict:
        """The users the events name, by id (one query): shown by email rather than by id."""
        ids = {event.user for event in events if event.user}
        if not ids:
            return {}
        User = get_user_model()
        return {str(user.pk): user for user in User._base_manager.filter(pk__in=ids)}
