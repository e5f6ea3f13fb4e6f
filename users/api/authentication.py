"""API-key authentication: ``Authorization: Api-Key <key>`` or ``X-API-Key: <key>``."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from gateway import request_context
from gateway.metrics import api_key_authentications
from gateway.middleware import API_KEY_HEADER, API_KEY_SCHEME
from users.services import api_key_authenticate

KEYWORD = API_KEY_SCHEME
HEADER = API_KEY_HEADER


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates a request by one of the caller's API keys.

    The key is checked by ``users.services.api_key_authenticate`` (hash compared in constant time,
    ``last_used_at`` written at most once a minute). A request without a key is left to the next
    authentication class; a request with a bad, revoked or expired key, or the key of an inactive or
    deleted user, is refused with 401 and a ``WWW-Authenticate: Api-Key`` header.
    ``request.auth`` is the ``ApiKey`` row.
    """

    def authenticate(self, request):
        key = self.get_key(request)
        if key is None:
            return None
        api_key = api_key_authenticate(key)
        if api_key is None:
            api_key_authentications.labels(outcome="refused").inc()
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")
        api_key_authentications.labels(outcome="success").inc()
        request_context.identify(user_id=api_key.user_id, api_key_prefix=api_key.prefix)
        return api_key.user, api_key

    def get_key(self, request) -> str | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if header:
            scheme, _, key = header.partition(" ")
            if scheme.lower() == KEYWORD.lower():
                key = key.strip()
                if not key or " " in key:
                    api_key_authentications.labels(outcome="malformed").inc()
                    raise exceptions.AuthenticationFailed(f"Invalid Authorization header: use '{KEYWORD} <key>'.")
                return key
        key = request.META.get(HEADER, "").strip()
        return key or None

    def authenticate_header(self, request):
        return f'{KEYWORD} realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme of ``ApiKeyAuthentication`` (registered when this module is imported)."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An API key, sent as `X-API-Key: <key>` or `Authorization: Api-Key <key>`.",
        }
