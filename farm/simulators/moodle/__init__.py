"""A simulator of Moodle 5.0 REST web services (see MOODLE-WS.md)."""
