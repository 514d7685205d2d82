"""A simulated serial barcode scanner: a pty the terminal reads like a real scanner's tty,
fed from a control FIFO (``ssn-sim scanner ...``)."""
