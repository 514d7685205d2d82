"""The simulated Kartu SSN card.

- :mod:`.applet`, :mod:`.operations`: the card application, pure logic (state in, state out).
- :mod:`.state`, :mod:`.store`: the card's memory and its atomically replaced state file.
- :mod:`.card`: a card in the field: applet + store + armed tear faults + slow-card latency.
- :mod:`.direct`: the in-process reader (fast tests); :mod:`.vpcd`: a slot of real pcscd.
- :mod:`.control`: the control channel of ``ssn-sim card serve``; :mod:`.cli`: ``ssn-sim card``.
- :mod:`.issuance`: a test/demo issuance station (personalize, load, block orders).
"""
