"""The input stage: Turtle files read with located errors (file, line, what to fix), by
Oxigraph for ``kg build`` (``fast``) and by rdflib for the reference path (``reference``), both
through the same checks (``checks``); ``schema`` holds what a data file may describe."""
