"""``python -m fuzz`` (``make fuzz``): Schemathesis against the live server; see fuzz/__main__.py."""
