"""The attack suite's fixture (see attack_helpers.py); pytest puts this folder on sys.path."""

from attack_helpers import ws  # noqa: F401 - the fixture, registered here
