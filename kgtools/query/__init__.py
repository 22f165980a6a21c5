"""The query library and how a query runs: ``library`` (the ``.rq`` files and their headers),
``params`` and ``domains`` (typed parameters and their allowed values), ``safety`` (the text
that a check approves is the text that runs), ``run`` (a query in an isolated child with a
timeout) and ``results`` (every output format)."""
