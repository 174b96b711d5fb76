#!/usr/bin/env python
"""Django's command-line utility. On the development (default) or test settings it starts or
reuses the embedded PostgreSQL and Redis (localdev.services) when the environment names no
usable ones, so every command works by itself on a fresh clone; other settings never load
the local stand-ins."""

import os
import sys

LOCAL_SETTINGS = {"saas.settings.dev", "saas.settings.test"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    if os.environ["DJANGO_SETTINGS_MODULE"] in LOCAL_SETTINGS:
        # Imported here: production images do not install the embedded servers.
        from localdev.services import ensure_local_services

        # A no-op when DATABASE_URL is set and REDIS_URL answers.
        ensure_local_services()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
