"""ENT directory source: an SDET LDAP directory read with ldap3."""
