"""Shared fixtures. Tests that need real services fail (never skip) when they are not up:
`make test` (scripts/services) brings them up."""

pytest_plugins = [
    "tests.fixtures.card",
    "tests.fixtures.printer",
    "tests.fixtures.journal",
    "tests.fixtures.gateway",
    "tests.fixtures.sale",
    "tests.fixtures.shop",
    "tests.fixtures.clockshop",
    "tests.fixtures.console",
    "tests.fixtures.browser",
]
