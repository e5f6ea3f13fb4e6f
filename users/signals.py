"""Any saved or deleted user or API key empties this process's cache of verified keys (``VerifiedKeys``).

The services clear it themselves where they write with ``update()`` (a revocation, a soft delete); these
receivers cover every ``save()`` and ``delete()``, the console's and the tests' included, so a change made
in this process counts on its next request. Other processes stop trusting their copies within
``API_KEY_CACHE_SECONDS`` of reading them.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from users.models import ApiKey, User
from users.services import verified_keys


@receiver([post_save, post_delete], sender=User, dispatch_uid="users.verified_keys.user")
@receiver([post_save, post_delete], sender=ApiKey, dispatch_uid="users.verified_keys.api_key")
def forget_verified_keys(**kwargs) -> None:
    verified_keys.clear()
