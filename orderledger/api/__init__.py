"""The HTTP API (`orderledger serve`): the website, the back office and the
warehouse drive the ledger, each only where its role allows
(application/access.py). Routes are thin: they parse, check the caller, call
OrderLedger and reply with the same JSON the CLI prints."""
