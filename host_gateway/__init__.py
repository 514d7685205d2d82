"""The host service: enrollment, verified idempotent ingest, the double-entry shadow ledger,
distribution of catalog, hotlist, loads and config, and its CLI."""
