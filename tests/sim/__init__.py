"""Tests of the BMC simulator (bmcsim) through real IPMI clients on 127.0.0.1."""
