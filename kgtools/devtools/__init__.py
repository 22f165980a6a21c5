"""Tools for the project's own upkeep, not used by ``kg``: ``python -m kgtools.devtools.readme``
(the README's example outputs) and ``python -m kgtools.devtools.engines_bench`` (the compiled
engines against pySHACL over Oxigraph and the maintained OWL RL engines)."""
