"""The records of money, shared by terminal and host.

- :mod:`ledger.canonical`: the one canonical byte encoding of signed data (deterministic CBOR).
- :mod:`ledger.crypto`: Ed25519 signing with domain separation; keys encrypted at rest.
- :mod:`ledger.cardproofs`: the card's signed proofs and the issuer's signed orders to cards.
- :mod:`ledger.record`: the terminal-signed, hash-chained transaction record.
- :mod:`ledger.verify`: the checks both terminal and host run on a record and on a chain.
- :mod:`ledger.binary`, :mod:`ledger.cardnumber`, :mod:`ledger.ids`: small shared helpers.
"""
