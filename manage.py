#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
    # manage.py is the developer's tool, so it runs with development settings unless the environment says
    # otherwise. Production sets DEBUG=false (the Dockerfile, docker-compose and .env.example do); gunicorn
    # goes through gateway/wsgi.py, which has no such default.
    os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line

    from gateway.history import command_context

    # The history of what the command changes names it (gateway/history.py).
    with command_context(sys.argv):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
