#!/usr/bin/env python
"""Django's command-line utility. With the default (development) settings it starts or
reuses the embedded PostgreSQL and Redis when the environment names none."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
