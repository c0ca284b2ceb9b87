"""The engine: coordinator, jobs, leases, schedules, events and executors."""
