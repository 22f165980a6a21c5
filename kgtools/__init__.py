"""kgtools: the knowledge graph of Tokyo's approved regional industry revitalization plans.

The library is one module per pipeline stage — :mod:`kgtools.load.checks`,
:mod:`kgtools.reference.pyshacl`, :mod:`kgtools.reference.owlrl`, :mod:`kgtools.build.pipeline` —
over a small store interface (:mod:`kgtools.store.base`), with typed errors in
:mod:`kgtools.errors`. :mod:`kgtools.cli` is a thin command-line layer on top; the library never
imports it.
"""

from __future__ import annotations

__version__ = "0.1.0"
