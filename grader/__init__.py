"""Grades hand-calculation homework on small neural networks."""

__version__ = "0.1.0"
