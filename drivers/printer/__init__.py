"""The receipt printer behind one small interface: ESC/POS over TCP, serial, USB or a file,
chosen by URL, with real status (DLE EOT) and typed errors (see docs/printing.md)."""
