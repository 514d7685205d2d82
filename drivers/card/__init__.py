"""The Kartu SSN card: APDU codec (:mod:`.apdu`), the application's commands (:mod:`.protocol`),
transports that carry APDUs to a card, and the card session the sale engine uses."""
