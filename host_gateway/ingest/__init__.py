"""Ingest: a terminal's batch of records in, each verified, judged by every rule and posted.

- :mod:`.pipeline`: the ingest of one batch (verification pool, the one transaction, answers).
- :mod:`.verification`: decoding and the signature checks of each record (terminal and card).
- :mod:`.rules`, :mod:`.state`, :mod:`.writes`: the rules that need the host's memory (chain,
  card counters, catalog, voids, loads), what they read up front and what they write.
- :mod:`.clock`: the card proof's time judged against the host's receive time.
- :mod:`.catchup`: records that arrive after evidence of the same counter.
"""

from host_gateway.ingest.pipeline import (
    MAX_BATCH,
    Ingestor,
    IngestReport,
    TerminalContext,
    VerifierPool,
)

__all__ = ["MAX_BATCH", "IngestReport", "Ingestor", "TerminalContext", "VerifierPool"]
