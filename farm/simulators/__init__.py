"""Stand-ins for external products (Moodle, NetYpareo), for tests and the demo."""
