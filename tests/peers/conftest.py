"""Fixtures for the IPMI peer tests (the root conftest may import the same ones)."""

from .fixtures import ipmi_sim_peer, pyghmi_io_thread  # noqa: F401
