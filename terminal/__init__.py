"""The cashier's side: the terminal that sells from an SSN card at the counter.

What it offers, by package and module:

- :mod:`terminal.home` the data directory (key, journal, config file), :mod:`terminal.config`
  what ``terminal.json`` holds (shop, trust anchors, offline limits, devices, PIN hashes),
  :mod:`terminal.staff` the cashiers and the supervisor PIN;
- :mod:`terminal.sale` the sale engine (sale, void, balance, loads, day close, recovery),
  over :mod:`terminal.basket` (catalog rules, purse allocation) and :mod:`terminal.journal`;
- :mod:`terminal.receipts` receipts as data, ESC/POS and the print queue;
- :mod:`terminal.gateway_client` and :mod:`terminal.sync` the host;
- :mod:`terminal.app` the cashier app (Textual), :mod:`terminal.cli` ``ssn-terminal``.

Importing this package loads none of them (the cashier app's start-up depends on that).
"""
