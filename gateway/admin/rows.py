"""A JSON list of objects edited as rows of a formset inside a model admin's form; the JSON stays the storage.

An app declares a form for one item (with ``item()``: the object the row makes) and a formset of them
(:class:`RowsFormSet`, whose ``clean`` applies the list's own rules, each error added to its row), then a
:class:`RowsField` on its ``ModelForm`` for the JSON column and, in ``__init__``, :func:`bind_rows`. The
admin's change form then validates and saves the rows like any other field: an error in any row shows
next to that row and field, and nothing is written.
"""

from django import forms
from django.core.exceptions import ValidationError


class RowsFormSet(forms.BaseFormSet):
    """Rows that make a list: deleted rows and blank extra rows are left out."""

    def kept_rows(self) -> list[forms.Form]:
        return [
            form
            for form in self.forms
            if not (self.can_delete and self._should_delete_form(form))
            and not (form in self.extra_forms and not form.has_changed())
        ]

    def items(self) -> list:
        """The list the kept rows make (each row's ``item()``; call after validation)."""
        return [form.item() for form in self.kept_rows()]


class RowsWidget(forms.Widget):
    """Renders the bound formset :func:`bind_rows` gave it as a table, a column per field of a row."""

    template_name = "admin/gateway/rows.html"
    rows: RowsFormSet | None = None

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["rows"] = self.rows
        return context

    def value_from_datadict(self, data, files, name):
        return self.rows

    def value_omitted_from_data(self, data, files, name):
        return False

    def use_required_attribute(self, initial):
        return False


class RowsField(forms.Field):
    """A JSON list column as rows (:class:`RowsWidget`): cleans to the list the valid rows make."""

    widget = RowsWidget

    def __init__(self, **kwargs):
        kwargs.update(required=False, show_hidden_initial=False)
        super().__init__(**kwargs)

    def clean(self, value):
        if not value.is_valid():
            raise ValidationError("Correct the rows below.", code="rows")
        return value.items()

    def has_changed(self, initial, data):
        return not data.is_valid() or data.items() != (initial or [])


def bind_rows(form: forms.Form, name: str, formset_class: type[RowsFormSet], *, items, **kwargs) -> RowsFormSet:
    """Give ``form``'s :class:`RowsField` ``name`` its formset, bound to the form's data, one row per item of
    ``items`` (the stored list; objects only) plus the formset's extra rows."""
    rows = formset_class(
        form.data if form.is_bound else None,
        initial=[item for item in items if isinstance(item, dict)] if isinstance(items, list) else [],
        prefix=name,
        **kwargs,
    )
    form.fields[name].widget.rows = rows
    return rows
