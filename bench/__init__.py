"""Benchmarks (docs/benchmarks.md). They write to throwaway databases, so a
throwaway master key for the personal-data vault is used when none is set
(PostgreSQL refuses personal data without one), and their made-up SKUs are
taken without a catalog."""

import os

os.environ.setdefault("ORDERLEDGER_MASTER_KEY", "be" * 32)
os.environ.setdefault("ORDERLEDGER_UNKNOWN_SKUS", "allow")
os.environ.setdefault("ORDERLEDGER_STOCK_CHECK", "off")
