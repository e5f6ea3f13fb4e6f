import factory

from users.choices import Role
from users.models import ApiKey, User
from users.services import api_key_generate


class UserFactory(factory.django.DjangoModelFactory):
    """A user with a usable password ``password`` (override with ``password=...``)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    role = Role.USER
    settings = factory.LazyFunction(dict)

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or "password")
        if create:
            self.save(update_fields=["password"])


class AdminUserFactory(UserFactory):
    role = Role.ADMIN
    is_staff = True
    is_superuser = True


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """An API key; the plain secret is left on the instance as ``secret`` for tests to use."""

    class Meta:
        model = ApiKey

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"key {n}")

    @factory.lazy_attribute
    def secret(self):
        return api_key_generate()

    @classmethod
    def _create(cls, model_class, *args, secret, **kwargs):
        api_key = model_class(*args, **kwargs)
        api_key.set_key(secret)
        api_key.save()
        api_key.secret = secret
        return api_key
