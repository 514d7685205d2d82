"""The distributing bank, simulated: takes payout files, returns status reports and statements."""
