"""The command-line front door that wires the engine and the web app together."""
