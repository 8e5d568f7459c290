"""The release of this code: shown by /healthz and read by the packaging (pyproject.toml)."""

__version__ = "0.2.0"
