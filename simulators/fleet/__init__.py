"""``ssn-sim fleet``: many shops, cards and days against one real gateway, then the proof that
the money adds up (docs/fleet.md). Like ``demo/``, the fleet is the top of the project: it drives
the terminal's engine and journal, a real gateway process over HTTP and the host's services, and
nothing imports it."""
