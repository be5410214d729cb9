"""Fakes at the I/O boundary: real HTTP servers on loopback, and a fake NVML library."""
