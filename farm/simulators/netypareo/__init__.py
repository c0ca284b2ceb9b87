"""A simulator of the NetYpareo SOAP web service."""
