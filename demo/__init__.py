"""One command brings up a seeded system: gateway, simulators, enrolled terminals, loaded cards.

This package sits on top of everything else (it drives terminal, gateway and simulators); nothing
imports it."""
