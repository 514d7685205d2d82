"""An ESC/POS receipt printer simulator: TCP and pty, renders each job to text and PNG,
answers status, and fails on command (see docs/printing.md)."""
