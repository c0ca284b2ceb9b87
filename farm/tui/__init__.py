"""The Textual dashboard: it watches events and sends commands, nothing more."""
