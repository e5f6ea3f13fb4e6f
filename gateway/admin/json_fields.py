"""JSON columns edited as pretty-printed, validated text: the widget and the form field."""

import json

from django import forms
from django.contrib.admin.widgets import AdminTextareaWidget
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput


class JSONTextarea(AdminTextareaWidget):
    """A monospace box as tall as the JSON in it (within bounds)."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"class": "vLargeTextField gv-json", "spellcheck": "false", **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        lines = str(value or "").count("\n") + 2
        context["widget"]["attrs"]["rows"] = min(max(lines, 3), 24)
        return context


class PrettyJSONField(forms.JSONField):
    """JSON edited as indented text; malformed JSON or the wrong top-level type is a form error.

    ``expected_type`` (``dict`` or ``list``) is the shape the column holds; an empty box saves the
    empty value of that shape rather than a NULL the column would refuse.
    """

    widget = JSONTextarea
    type_names = {dict: "object", list: "array"}

    def __init__(self, *, expected_type=None, **kwargs):
        self.expected_type = expected_type
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, cls=self.encoder)

    def clean(self, value):
        value = super().clean(value)
        if self.expected_type is None:
            return value
        if value is None:
            return self.expected_type()
        if not isinstance(value, self.expected_type):
            raise ValidationError(f"Must be a JSON {self.type_names[self.expected_type]}.", code="invalid_type")
        return value


def json_shape(db_field) -> type | None:
    """``dict`` or ``list`` when the column defaults to that shape (and so must hold it), else None."""
    return db_field.default if db_field.default in (dict, list) and not db_field.null else None
