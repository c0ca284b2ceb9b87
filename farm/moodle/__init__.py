"""The Moodle web-service client and the plan applier."""
