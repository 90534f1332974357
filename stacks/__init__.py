"""Stack configuration, composition and offline synthesis for the ML platform program."""
