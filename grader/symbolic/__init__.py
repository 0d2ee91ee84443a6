"""Symbolic answers: expression problems, equivalence, feedback."""
