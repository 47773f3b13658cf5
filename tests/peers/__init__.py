"""Real IPMI peers (BMC simulators) that tests talk to over UDP on 127.0.0.1."""
