"""The grading service: storage, HTTP API and the worker queue around the grading core."""
