"""System checks of the embedding settings (run by every ``manage.py`` command and at server start)."""

from django.core.checks import Error, register

from knowledge.embedding import PROVIDERS, embedding_setting


@register()
def check_embedding_settings(app_configs, **kwargs) -> list[Error]:
    """An unknown ``EMBEDDING_PROVIDER`` or chunking that cannot advance would fail only at the first embedding."""
    errors = []
    provider = embedding_setting("EMBEDDING_PROVIDER")
    if provider not in PROVIDERS:
        errors.append(
            Error(
                f"EMBEDDING_PROVIDER is {provider!r}.",
                hint=f"Set it to one of: {', '.join(PROVIDERS)}.",
                id="knowledge.E001",
            )
        )
    words, overlap = embedding_setting("EMBEDDING_CHUNK_WORDS"), embedding_setting("EMBEDDING_CHUNK_OVERLAP")
    if not 0 <= overlap < words:
        errors.append(
            Error(
                f"EMBEDDING_CHUNK_OVERLAP ({overlap}) must be from 0 to below EMBEDDING_CHUNK_WORDS ({words}).",
                id="knowledge.E002",
            )
        )
    return errors
