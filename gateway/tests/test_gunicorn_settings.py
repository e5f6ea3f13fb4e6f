"""gunicorn.conf.py's worker hook: a worker's loaded project is kept out of the garbage collector's walks."""

import gc
import runpy
from pathlib import Path

from django.conf import settings
from django.urls import clear_url_caches, get_resolver

CONFIG = Path(settings.BASE_DIR) / "gunicorn.conf.py"


def test_a_worker_loads_its_urlconf_and_freezes_what_it_loaded():
    hooks = runpy.run_path(str(CONFIG))
    clear_url_caches()  # as in a worker that has not answered a request yet
    before = gc.get_freeze_count()
    try:
        hooks["post_worker_init"](worker=None)
        assert "url_patterns" in get_resolver().__dict__  # every view imported before the freeze
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
