"""The solver: named scalar nodes compiled to a tape, forward and reverse passes, one descent step."""
