"""Tools for the project's own upkeep, not used by ``kg``: ``python -m kgtools.devtools.readme``."""
