"""The pure domain: the Order aggregate, its values, status axes and errors.

Imports the standard library and eventsourcing.domain only; no I/O.
"""
