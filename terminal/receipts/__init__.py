"""Receipts: typed receipt models, their ESC/POS composition, and the print queue that prints
the bytes the journal committed with each sale (see docs/printing.md)."""
