"""Symbolic answers: expression problems, equivalence, feedback (see docs/symbolic.md).

    problem.py      load a ``kind: expression`` problem; compute its key
    space.py        domains, indices, indexed families; the time ``Budget``
    derivative.py   diff(...) on trees, with the library's kink conventions
    simplify.py     tidy computed keys for display
    numeric.py      trees compiled to closures, in floats or mpmath
    probe.py        where to evaluate
    equivalence.py  the decision: probe, confirm in high precision, kinks, exact proof
    exact.py        exact rational evaluation (Schwartz-Zippel) for formulas rational in exp
    feedback.py     what is off in a wrong formula
    grade.py        grade_expression and expression_key, called by the answers-file grader and the key
    render.py       plain text and LaTeX of a tree
    to_sympy.py     sympy expressions built node by node (for tools; not used while grading)

Exceptions: ``space.TimeUp`` (the budget ran out: the verdict is undecided), ``numeric.Undefined``
and ``numeric.WorkLimit`` (a formula has no value at a point / needs too much work),
``exact.NotApplicable``, ``derivative.DerivativeError`` (a problem file's diff cannot be taken).
"""
