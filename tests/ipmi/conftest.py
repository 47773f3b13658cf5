"""Fixtures of the IPMI core tests."""

from .control_fixtures import rig

__all__ = ["rig"]
