"""A simulator of the NetYpareo SOAP web service (WSDL, SOAP endpoint, faults)."""

from farm.simulators.netypareo.app import NetYpareoFaults, NetYpareoSimulator
from farm.simulators.netypareo.data import Dataset, generate

__all__ = ["Dataset", "NetYpareoFaults", "NetYpareoSimulator", "generate"]
