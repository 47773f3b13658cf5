"""Benchmark of a Zephyr IPMI poll against ipmitool and FreeIPMI ipmi-sensors.

Run ``.venv/bin/python -m bench.run`` (``--quick`` for a smoke run); see ``docs/benchmarks.md``.
"""
