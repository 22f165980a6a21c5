"""The build stage: ``pipeline`` decides between reusing ``dist/``, an incremental build and a
full one (``full``, ``incremental``); ``layout`` says what ``dist/`` holds, for readers too; the
other modules are the pieces both builds share (inputs, staged outputs, caches, counts, Turtle)."""
