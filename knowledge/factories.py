import factory

from knowledge.models import KnowledgeDocument


class KnowledgeDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KnowledgeDocument

    name = factory.Sequence(lambda n: f"Document {n}")
    description = factory.Faker("sentence")
    content = factory.Faker("paragraph", nb_sentences=8)
    category = "best-practices"
    tags = factory.LazyFunction(lambda: ["video", "ads"])
    source = "internal"
    author = factory.Faker("name")
