"""The HTTP API (FastAPI): routes per resource in ``routes/``, dependencies in ``deps``."""
