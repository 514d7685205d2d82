"""The cashier application: catalog rules, basket, purse allocation, the sale state machine with
recovery, receipts, the sync client, the CLI and (later) the Textual UI."""
