"""The terminal API over HTTP (FastAPI): routes, request bodies, signed-request authentication
and the body-size limit. docs/api.md is the reference.

- :mod:`.app`: ``create_app(gateway)``, the routes of enrollment, records, updates, terminal.
- :mod:`.card_routes`: the routes of "the host sees every counter" (evidence, cards, intents).
- :mod:`.schemas`: request and answer bodies.
- :mod:`.auth`: signed requests; :mod:`.limits`: bodies over 4 MiB refused before reading.
"""
