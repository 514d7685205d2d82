"""Settlement: what each shop is owed per business-day window, paid from Dinas Sosial's giro
parent account by an ISO 20022 payout file, and reconciled with the bank's answers
(docs/settlement.md). Plain service functions: the CLI and the web console call the same ones.
"""
