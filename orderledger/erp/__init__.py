"""Reading the ERP's own state back into the ledger."""
