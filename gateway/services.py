"""Helpers shared by the apps' services."""

from django.core.exceptions import ValidationError


def transition_error(*, field: str, current: str, requested: str, allowed: dict) -> ValidationError:
    """A field error naming the transitions allowed from ``current``."""
    choices = sorted(allowed.get(current, ()))
    allowed_text = ", ".join(choices) if choices else "none (it is final)"
    return ValidationError(
        {field: f"Cannot change status from {current} to {requested}. Allowed from {current}: {allowed_text}."}
    )


def check_transition(*, field: str, current: str, requested: str, allowed: dict) -> None:
    """Raise unless ``current`` -> ``requested`` is in ``allowed``; staying put is always allowed."""
    if requested != current and requested not in allowed.get(current, ()):
        raise transition_error(field=field, current=current, requested=requested, allowed=allowed)
