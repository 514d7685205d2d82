"""The far side of every driver, good enough to run the whole system with no hardware.

- :mod:`simulators.card`: the Kartu SSN card (vpcd slot of real pcscd, or in-process).
- :mod:`simulators.printer`: an ESC/POS printer (TCP and pty) rendering jobs to text and PNG.
"""
