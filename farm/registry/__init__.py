"""The registry: SQLModel tables and queries.

Sites, tenants, the per-site index, runs, reports, leases and events.
"""
