"""The operator web console: server-rendered pages for Dinas Sosial, Diskominfo and the bank,
mounted on the gateway at ``/console`` (docs/console.md). It changes nothing itself: every
action calls the same service functions as ``ssn-gateway``."""
