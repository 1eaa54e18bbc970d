"""The main job: a realistic day of orders against the WDT and U8 simulators."""
