"""A simulator of the NetYpareo SOAP web service (WSDL, SOAP endpoint, faults)."""

from farm.simulators.netypareo.app import Faults, NetYpareoSimulator
from farm.simulators.netypareo.data import Dataset, generate

__all__ = ["Dataset", "Faults", "NetYpareoSimulator", "generate"]
