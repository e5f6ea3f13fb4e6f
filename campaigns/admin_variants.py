"""An experiment's variants edited as rows on its admin page (``gateway.admin.rows``); the JSON stays the storage.

The list the rows make is checked by the API's own rules (``campaigns.models.variant_problems`` and
``dropped_winner``), each message shown next to the row and field it is about.
"""

from django import forms
from django.core.exceptions import ValidationError

from campaigns.models import Experiment, dropped_winner, variant_problems
from gateway.admin.rows import RowsField, RowsFormSet, bind_rows

# The keys of a variant edited as columns; any other key of a stored variant (e.g. ``control``) is kept.
VARIANT_FIELDS = ("id", "name", "impressions", "clicks", "conversions")
EXTRA_ROWS = 2


def count_field() -> forms.IntegerField:
    return forms.IntegerField(required=False, min_value=0, widget=forms.NumberInput(attrs={"class": "vIntegerField"}))


class VariantForm(forms.Form):
    """One variant. A blank cell is an absent key: the list's rules then say what is missing, in the API's words."""

    id = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 12}))
    name = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 20}))
    impressions = count_field()
    clicks = count_field()
    conversions = count_field()

    def item(self) -> dict:
        """The stored variant this row was (its other keys kept, in their order) with the row's values."""
        variant = dict(self.initial or {})
        for name in VARIANT_FIELDS:
            value = self.cleaned_data.get(name)
            if value is None or value == "":
                variant.pop(name, None)
            else:
                variant[name] = value
        return variant


class BaseVariantRows(RowsFormSet):
    """The variant rows of one experiment; ``winner``, its recorded winner, must stay among them."""

    def __init__(self, *args, winner: str | None = None, **kwargs):
        self.winner = winner
        super().__init__(*args, **kwargs)

    def clean(self):
        rows = self.kept_rows()
        if any(form.errors for form in rows):
            return
        variants = [form.item() for form in rows]
        for index, field, message in variant_problems(variants):
            if index is None:
                raise ValidationError(message)
            rows[index].add_error(field if field in VARIANT_FIELDS else None, message)
        dropped = dropped_winner(self.winner, variants)
        if dropped:
            raise ValidationError(dropped)


VariantRows = forms.formset_factory(VariantForm, formset=BaseVariantRows, extra=EXTRA_ROWS, can_delete=True)


class ExperimentAdminForm(forms.ModelForm):
    """The experiment form of the console, with its variants as rows (:data:`VariantRows`)."""

    variants = RowsField(label="Variants")

    class Meta:
        model = Experiment
        # The model admin's fieldsets decide the fields shown; these are the editable ones.
        fields = (
            "campaign",
            "name",
            "description",
            "status",
            "start_date",
            "end_date",
            "auto_apply",
            "variants",
            "confidence",
            "metrics",
            "metadata",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.variant_rows = None
        if "variants" not in self.fields:  # read-only for staff who may only view experiments
            return
        saved = self.instance.pk is not None
        self.variant_rows = bind_rows(
            self,
            "variants",
            VariantRows,
            items=self.instance.variants if saved else [],
            winner=self.instance.winner_variant_id if saved else None,
        )
