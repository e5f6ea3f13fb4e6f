"""Data for ``manage.py seed``: the development data set (``development``) and generated volume (``scale``)."""
