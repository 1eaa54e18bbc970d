"""The transactional outbox: every order event relayed to WDT and U8."""
