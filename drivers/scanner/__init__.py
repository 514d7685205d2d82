"""The barcode scanner behind one small interface: a serial scanner read in its own thread
(:mod:`drivers.scanner.serial_scanner`), and a keyboard-wedge scanner told apart from a person
typing by key timing (:mod:`drivers.scanner.wedge`). Both hand the cashier app whole codes."""
