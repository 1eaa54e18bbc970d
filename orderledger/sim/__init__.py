"""Simulators of the outside world (WDT, U8): real HTTP servers on loopback,
used by the tests and the demo, scriptable to fail."""
