"""Audit: history as of any moment, hash-chain verification, digests, export."""
