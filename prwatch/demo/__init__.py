"""``prwatch demo``: the simulator and prwatch side by side, with activity, a live change feed,
recovery of dropped deliveries and a summary. See ``prwatch.demo.run.run_demo``."""
