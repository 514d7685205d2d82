"""The terminal's hardware, each behind a small typed interface.

- :mod:`drivers.card`: the Kartu SSN card application protocol and the PC/SC card reader.
- :mod:`drivers.printer`: ESC/POS receipt printers over TCP, serial, USB or a file.
- :mod:`drivers.scanner`: barcode scanners (serial or keyboard wedge).
"""
