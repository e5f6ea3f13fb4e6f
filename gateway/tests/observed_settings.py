"""Settings of the server the observability tests start: the real ones, plus two views that fail on purpose."""

from gateway.settings import *  # noqa: F403

ROOT_URLCONF = "gateway.tests.observed_urls"
