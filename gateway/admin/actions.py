"""Admin actions that call a service row by row: the row limit and actions with an intermediate form."""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path

from gateway.admin.formatting import plural, validation_message
from gateway.admin.links import change_url

# Actions that call a service row by row refuse larger selections: a "select all" over millions of
# rows would hold one request open for minutes.
ACTION_ROW_LIMIT = 1000


def limited_rows(model_admin, request, queryset, limit: int = ACTION_ROW_LIMIT) -> list | None:
    """The selected rows as a list, or None (with a message) when there are more than ``limit``."""
    rows = list(queryset[: limit + 1])
    if len(rows) > limit:
        model_admin.message_user(
            request,
            f"Select at most {limit:,} {model_admin.opts.verbose_name_plural} for this action; "
            "narrow the list with a filter first.",
            messages.ERROR,
        )
        return None
    return rows


def apply_each(model_admin, request, rows, apply: Callable, *, log: str, done: Callable | None = None) -> int:
    """Call ``apply(obj)`` (a service) for each row and log the change; returns how many rows went ahead.

    A ``ValidationError`` from ``apply`` becomes an error message naming the row, and the other rows
    still go ahead. ``done(obj, result)`` runs after each row that went ahead (``result``: what
    ``apply`` returned).
    """
    count = 0
    for obj in rows:
        try:
            result = apply(obj)
        except ValidationError as error:
            model_admin.message_user(request, f"{obj}: {validation_message(error)}", messages.ERROR)
            continue
        count += 1
        model_admin.log_change(request, obj, log)
        if done is not None:
            done(obj, result)
    return count


def run_form_action(
    model_admin,
    request,
    queryset,
    *,
    action: str,
    form_class: type[forms.Form],
    title: str,
    apply: Callable,
    submit_label: str = "Apply",
    form_kwargs: dict | None = None,
    describe: Callable | None = None,
    single: bool = False,
    cancel_url: str = "",
):
    """An action with an intermediate form: show ``form_class``, then call ``apply(obj, cleaned_data)`` per row.

    ``apply`` calls the service; a ``ValidationError`` it raises becomes an error message naming the
    row, and the other rows still go ahead. ``single`` actions need exactly one selected row.
    ``describe(obj, result, cleaned_data)`` words a row's success message (``result``: what ``apply`` returned).
    """
    rows = limited_rows(model_admin, request, queryset)
    if rows is None:
        return None
    if single and len(rows) != 1:
        model_admin.message_user(request, f"Select exactly one {model_admin.opts.verbose_name}.", messages.WARNING)
        return None
    form_kwargs = form_kwargs or {}
    if "apply" in request.POST:
        form = form_class(request.POST, **form_kwargs)
        if form.is_valid():
            data = form.cleaned_data

            def report(obj, result):
                model_admin.message_user(request, describe(obj, result, data), messages.SUCCESS)

            done = apply_each(
                model_admin,
                request,
                rows,
                lambda obj: apply(obj, data),
                log=f"{title}.",
                done=report if describe is not None else None,
            )
            if done and describe is None:
                model_admin.message_user(
                    request, f"{title}: done for {done} {plural(model_admin.model, done)}.", messages.SUCCESS
                )
            return None
    else:
        form = form_class(**form_kwargs)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "form": form,
        "rows": rows,
        "opts": model_admin.opts,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "submit_label": submit_label,
        "cancel_url": cancel_url,
        "media": model_admin.media + form.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/gateway/action_form.html", context)


def form_action(*, action: str, description: str, title, form_kwargs: Callable | None = None, **options):
    """An admin action with an intermediate form (:func:`run_form_action`), declared as ``<action> = form_action(...)``.

    ``action`` is the attribute's name; ``description`` the action's label (it needs the change permission).
    ``title`` is the form's title, or a function of the model admin's ``opts`` that words it.
    ``form_kwargs(queryset)`` gives the form's extra arguments from the selection; ``options`` are passed on
    to :func:`run_form_action` (``form_class``, ``apply``, ``describe``, ``submit_label``, ``single``).
    """

    @admin.action(description=description, permissions=["change"])
    def run(model_admin, request, queryset, **more):
        extra = {"form_kwargs": form_kwargs(queryset)} if form_kwargs is not None else {}
        return run_form_action(
            model_admin,
            request,
            queryset,
            action=action,
            title=title(model_admin.opts) if callable(title) else title,
            **options,
            **extra,
            **more,
        )

    run.__name__ = action
    return run


def status_change_action(*, form_class: type[forms.Form], apply: Callable):
    """The "Change status" action of a model admin: pick a status in ``form_class``, then ``apply(obj, cleaned_data)``.

    ``apply`` calls the model's status service, which refuses the changes its transition table does not
    allow (each refusal is reported, see :func:`run_form_action`). Declared as ``change_status = ...``.
    """
    return form_action(
        action="change_status",
        description="Change status of selected %(verbose_name_plural)s",
        title=lambda opts: f"Change {opts.verbose_name} status",
        form_class=form_class,
        apply=apply,
        submit_label="Change status",
    )


def object_action_urls(model_admin, *actions: str) -> list:
    """URLs ``<id>/<action>/`` (named ``<app>_<model>_<action>``) running a :func:`form_action` on one row, for
    buttons on its change page: the same form, services and messages as the list action, then back to the row."""
    opts = model_admin.opts
    return [
        path(
            f"<path:object_id>/{action.replace('_', '-')}/",
            model_admin.admin_site.admin_view(
                lambda request, object_id, action=action: object_action_view(model_admin, request, object_id, action)
            ),
            name=f"{opts.app_label}_{opts.model_name}_{action}",
        )
        for action in actions
    ]


def object_action_view(model_admin, request, object_id: str, action: str):
    """Run the list action ``action`` (a :func:`form_action`) on the row ``object_id`` alone: its form, then,
    once applied (or refused by the service, with a message), the row's change page."""
    model = model_admin.model
    try:
        pk = model._meta.pk.to_python(unquote(object_id))
    except ValidationError as error:
        raise Http404 from error
    queryset = model_admin.get_queryset(request).filter(pk=pk)
    obj = queryset.first()
    if obj is None:
        raise Http404
    if not model_admin.has_change_permission(request, obj):
        raise PermissionDenied
    response = getattr(model_admin, action)(request, queryset, cancel_url=change_url(model, obj.pk))
    return response or HttpResponseRedirect(change_url(model, obj.pk))
