"""Everything that talks SQL or eventsourcing's recorders: the lean recorder
and its safe head, the hash-chaining mapper and its canonical form, the
Created events built for bulk imports, bulk row writes, table creation and
LISTEN. The application, projections and outbox use it; it uses the domain
only."""
