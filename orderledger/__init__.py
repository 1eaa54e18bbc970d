"""orderledger: an event-sourced order ledger between a web shop, WDT and U8."""
