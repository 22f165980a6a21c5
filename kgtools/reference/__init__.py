"""The reference libraries behind the Store and engine protocols: owlrl (``owlrl``), pySHACL
(``pyshacl``) and rdflib's in-memory Dataset (``memory``). Slow and authoritative: the tests hold
the fast engines to them, ``kg validate --pyshacl`` and ``kg bench`` run them."""
