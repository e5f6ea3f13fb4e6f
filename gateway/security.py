"""Small security hooks referenced from settings."""


def axes_username(request, credentials=None) -> str | None:
    """The login name django-axes counts failures against: the posted email, trimmed and lower-cased.

    Emails are matched without regard to case when logging in, so ``Admin@X`` and ``admin@x`` must
    share one failure count, or changing the case would get round the lockout.
    """
    value = (credentials or {}).get("username")
    if value is None and request is not None:
        data = getattr(request, "data", None) or request.POST
        value = data.get("username")
    return value.strip().lower() if isinstance(value, str) else None
