"""Use cases of the personal-data vault that span the ledger, the views and
the vault: erasing a customer, moving an old log's plaintext into the vault
(docs/privacy.md)."""
