"""Load a ``kind: expression`` problem (SPEC section 2) into an ``ExpressionProblem``.

Fields: ``id``, ``kind``, ``title``, ``statement``, ``points``, ``variables`` (name -> ``real``,
``positive``, ``negative``, ``nonnegative``, ``nonpositive``, ``integer``, or a mapping with
``integer``, ``range: [a, b]``, ``domain``, ``indexed``), ``indices`` (name -> ``[lo, hi]``),
``define`` (name -> formula; ``s_k`` defines a family over index ``k``), ``answer`` (a formula,
``diff(f, x)`` computed here), ``display`` (a nicer form of the key, checked equal to it),
``at_kinks`` (``ignore`` or ``pytorch``) and ``time_limit`` (seconds per check). A define may be
``{answer_of: q5}``: q5's key here, the student's own q5 in follow-through (``chains.py``). Every
error names the field and its line.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from grader.expr import library
from grader.expr.nodes import Call, Expr, Neg, Num, Sum, Sym, depth, free_symbols, walk
from grader.problemset.context import NAME, Context
from grader.problemset.limits import spend, tree_size
from grader.problemset.model import ExpressionProblem, Problem, Tolerance
from grader.symbolic.chains import TooLarge, written_out
from grader.symbolic.derivative import DerivativeError, expand_diffs
from grader.symbolic.equivalence import Checker
from grader.symbolic.space import MAX_INDEX_RANGE, NAMED_DOMAINS, Budget, Domain, Space

FIELDS = {"id", "kind", "title", "statement", "points", "variables", "indices", "define", "answer", "display",
          "at_kinks", "time_limit", "tolerance", "follow_through_credit", "functions", "aliases"}
AT_KINKS = ("ignore", "pytorch")
AT_KINKS_DEFAULT = "ignore"
TIME_LIMIT_DEFAULT = 2.0
MAX_KEY_DEPTH = 300  # keys are walked recursively; this keeps far from Python's recursion limit
MAX_SYMBOLIC_INDEX = 200  # the largest upper end of an index bounded by a variable (indices: {i: [1, n]})
MAX_PARAMETERS = 4  # of an unknown function
_INDEX = re.compile(r"^[a-z]$")


def load_expression_problem(raw: dict[str, Any], ctx: Context, tolerance: Tolerance, credit: float,
                            earlier: Mapping[str, Problem] | None = None,
                            ids: Sequence[str] = ()) -> ExpressionProblem:
    """Validate ``raw`` and compute its key; fail through ``ctx`` with the field and line.

    ``earlier`` holds the set's problems before this one (by id) and ``ids`` every problem id of the
    set, for ``answer_of``.
    """
    ctx.check_keys(raw, FIELDS, "an expression problem")
    pid = raw["id"]
    title = ctx.text(raw.get("title", pid), "title")
    statement = ctx.text(raw.get("statement", ""), "statement")
    points = ctx.number(raw.get("points", 1), "points")
    if points < 0:
        ctx.fail("points must not be negative", "points")
    at_kinks = raw.get("at_kinks", AT_KINKS_DEFAULT)
    if at_kinks not in AT_KINKS:
        ctx.fail(f"at_kinks must be one of {', '.join(AT_KINKS)}, found {at_kinks!r}", "at_kinks")
    time_limit = ctx.number(raw.get("time_limit", TIME_LIMIT_DEFAULT), "time_limit")
    if not 0.05 <= time_limit <= 60:
        ctx.fail("time_limit must be between 0.05 and 60 seconds", "time_limit")

    space = Space()
    limits = _indices(raw.get("indices", {}), ctx, space)
    _variables(raw.get("variables", {}), ctx, space)
    _index_limits(limits, ctx, space)
    _functions(raw.get("functions", {}), ctx, space)
    answer_of = _defines(raw.get("define", {}), ctx, space, pid, earlier or {}, ids)
    _check_index_limits(space, ctx)
    _aliases(raw.get("aliases", {}), ctx, space)

    if "answer" not in raw:
        ctx.fail("an expression problem needs an answer (a formula, or diff(f, x) to have it computed)")
    symbols = space.symbols()
    answer_text = raw["answer"] if isinstance(raw["answer"], str) else repr(raw["answer"])
    notation = space.notation(aliases=False)
    source = ctx.expression(raw["answer"], symbols, "answer", notation=notation)
    _check_sum_indices(source, space, ctx, "answer")
    try:
        key = expand_diffs(source, space)
    except DerivativeError as exc:
        ctx.fail(str(exc), "answer")
    spend(ctx, tree_size(key), "answer", what="answer")  # before the key is checked at many points
    if depth(key) > MAX_KEY_DEPTH:
        ctx.fail(f"the computed answer is nested more than {MAX_KEY_DEPTH} levels deep; simplify the formula",
                 "answer")
    differentiated = source.args[0] if isinstance(source, Call) and source.func == "diff" else None
    chain_factors = _chain_factors(source, space)

    problem = ExpressionProblem(
        id=pid, title=title, kind="expression", points={"": points}, line=ctx.doc.line(ctx.base),
        statement=statement, variables=dict(space.variables), define=_define_trees(space), answer=key,
        answer_text=answer_text,
        options={"at_kinks": at_kinks, "time_limit": time_limit, "chain_factors": chain_factors,
                 **({"answer_of": answer_of, "source": source} if answer_of else {})},
        follow_through_credit=credit, space=space, differentiated=differentiated, tolerance=tolerance,
    )
    checker = Checker(space, key, at_kinks, seed=pid)
    problem.checker = checker
    itself = checker.judge(key, Budget(max(time_limit, 5.0)))
    if itself.verdict != "equal":
        ctx.fail("the answer has no value at enough points of the declared domain; check the variables' domains",
                 "answer")
    if "display" in raw:
        display = ctx.expression(raw["display"], symbols, "display", notation=space.notation())
        spend(ctx, tree_size(display), "display", what="answer")
        if any(isinstance(n, Call) and n.func == "diff" for n in walk(display)):
            ctx.fail("display is the key as shown; it cannot use diff", "display")
        judgement = checker.judge(display, Budget(max(time_limit, 5.0)))
        if judgement.verdict == "different":
            ctx.fail("display is not equal to the answer on the declared domain", "display")
        if judgement.verdict == "undecided":
            ctx.warn("display could not be checked against the answer in time")
        problem.display = display
    return problem


def _indices(raw: Any, ctx: Context, space: Space) -> dict[str, str]:
    """Read the indices; those whose upper end is a variable (``[1, n]``) are returned, to be bound later."""
    limits: dict[str, str] = {}
    for name, spec in ctx.mapping(raw, "indices").items():
        if not _INDEX.match(str(name)):
            ctx.fail(f"index {name!r} must be a single lowercase letter", "indices", name)
        whole = isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], int) and not isinstance(spec[0], bool)
        if whole and isinstance(spec[1], str):
            if not 0 <= spec[0] <= 9:
                ctx.fail("an index starts at a whole number between 0 and 9", "indices", name)
            limits[name] = spec[1]
            space.indices[name] = (spec[0], spec[0])  # its upper end once the variable is known
            continue
        if not (whole and isinstance(spec[1], int) and not isinstance(spec[1], bool)):
            ctx.fail("an index needs a range of whole numbers, e.g. [1, 3], or up to an integer variable, "
                     "e.g. [1, n]", "indices", name)
        lo, hi = spec
        if not 0 <= lo <= hi or hi - lo + 1 > MAX_INDEX_RANGE or hi > 9:
            ctx.fail(f"an index runs over at most {MAX_INDEX_RANGE} values between 0 and 9", "indices", name)
        space.indices[name] = (lo, hi)
    return limits


def _index_limits(limits: dict[str, str], ctx: Context, space: Space) -> None:
    """Bind ``indices: {i: [1, n]}``: n must be an integer variable with a range; i then runs up to n."""
    for name, limit in limits.items():
        domain = space.variables.get(limit)
        if domain is None:
            ctx.fail(f"the upper end {limit!r} of index {name} must be an integer variable declared under variables",
                     "indices", name)
        if not domain.integer or not domain.bounded:
            ctx.fail(f"the upper end {limit} of index {name} must be an integer variable with a range, e.g. "
                     f"{limit}: {{integer: true, range: [1, 6]}}", "indices", name)
        lo = space.indices[name][0]
        hi = math.floor(domain.high)
        if hi < lo:
            ctx.fail(f"index {name} never reaches its start {lo}: {limit} is at most {hi}", "indices", name)
        if hi > MAX_SYMBOLIC_INDEX:
            ctx.fail(f"{limit} bounds index {name}, so its range may reach at most {MAX_SYMBOLIC_INDEX}",
                     "variables", limit)
        space.indices[name] = (lo, hi)
        space.index_limits[name] = limit


def _check_index_limits(space: Space, ctx: Context) -> None:
    """Indexed names are written with one digit per index (``w_12``): an index bounded by a variable reaches
    at most 9 when the problem has indexed variables or defines."""
    if not (space.families or space.family_defines):
        return
    for name, limit in space.index_limits.items():
        if space.indices[name][1] > 9:
            ctx.fail(f"{limit} bounds index {name}, which indexed names use, so its range may reach at most 9",
                     "variables", limit)


def _functions(raw: Any, ctx: Context, space: Space) -> None:
    """``functions: {g: [w]}``: unknown differentiable functions of declared real variables."""
    for name, params in ctx.mapping(raw, "functions").items():
        _check_name(name, ctx, space, "functions", name)
        if name in space.functions:
            ctx.fail(f"{name} is declared twice", "functions", name)
        if "_" in str(name) or name == "d":
            ctx.fail(f"an unknown function's name is a plain name such as g (not {name})", "functions", name)
        if not (isinstance(params, list) and 1 <= len(params) <= MAX_PARAMETERS):
            ctx.fail(f"an unknown function needs a list of 1 to {MAX_PARAMETERS} parameters, e.g. {name}: [w]",
                     "functions", name)
        for p in params:
            if p not in space.variables or space.variables[p].integer:
                ctx.fail(f"the parameter {p!r} of {name} must be a real variable declared under variables",
                         "functions", name)
        if len(set(params)) != len(params):
            ctx.fail(f"a parameter of {name} is listed twice", "functions", name)
        space.functions[name] = tuple(params)


def _aliases(raw: Any, ctx: Context, space: Space) -> None:
    """``aliases: {"a_i^L": a_i, "\\hat{y}": yhat}``: the course's spellings of the problem's names."""
    from grader.expr.latex import tokenize_latex
    from grader.expr.parser import tokenize

    symbols = space.symbols()
    for spelling, target in ctx.mapping(raw, "aliases").items():
        if not isinstance(spelling, str) or not spelling.strip():
            ctx.fail("an alias is a spelling in quotes, e.g. \"a_i^L\": a_i", "aliases")
        if not isinstance(target, str) or target not in symbols:
            names = ", ".join(sorted([*space.variables, *space.defines, *space.families])) or "none"
            ctx.fail(f"the alias {spelling!r} must stand for a name of this problem (a variable, define or indexed "
                     f"element; found {target!r}; names: {names})", "aliases", spelling)
        if spelling == target:
            ctx.fail(f"the alias {spelling!r} is the name itself", "aliases", spelling)
        if spelling in symbols:
            ctx.fail(f"the alias {spelling!r} is already a name of this problem", "aliases", spelling)
        readable = 0
        for tokenizer in (tokenize, tokenize_latex):
            try:
                tokens = [t for t in tokenizer(spelling) if t.kind != "end"]
            except ValueError:
                continue
            if any(t.kind not in ("name", "num", "op", "open", "close", "prime")
                   or (t.kind == "op" and t.text in "+-*/") for t in tokens):
                ctx.fail(f"the alias {spelling!r} must be a name as written (letters, subscripts, superscripts, "
                         "accents), not a formula", "aliases", spelling)
            readable += 1
        if not readable:
            ctx.fail(f"the alias {spelling!r} cannot be read as plain text or LaTeX", "aliases", spelling)
        space.aliases[spelling] = target


def _domain(spec: Any, ctx: Context, *path: str) -> tuple[Domain, int]:
    """A variable's domain and its arity (0 for a plain variable, 1 or 2 for an indexed family)."""
    if isinstance(spec, str):
        if spec not in NAMED_DOMAINS:
            ctx.fail(f"unknown domain {spec!r} (use {', '.join(NAMED_DOMAINS)}, or a mapping with range)", *path)
        return NAMED_DOMAINS[spec], 0
    data = ctx.mapping(spec, *path)
    ctx.check_keys(data, {"integer", "range", "domain", "indexed"}, "a variable", *path)
    base = NAMED_DOMAINS["real"]
    if "domain" in data:
        base, _ = _domain(data["domain"], ctx, *path, "domain")
    integer = data.get("integer", base.integer)
    if not isinstance(integer, bool):
        ctx.fail("integer must be true or false", *path, "integer")
    low, high, low_open, high_open = base.low, base.high, base.low_open, base.high_open
    if "range" in data:
        r = data["range"]
        if not (isinstance(r, list) and len(r) == 2):
            ctx.fail("range must be [low, high]", *path, "range")
        low, high = ctx.number(r[0], *path, "range", 0), ctx.number(r[1], *path, "range", 1)
        low_open = high_open = False
        if not low < high:
            ctx.fail("range must be [low, high] with low < high", *path, "range")
    arity = data.get("indexed", 0)
    if arity is True:
        arity = 1
    if arity not in (0, 1, 2) or isinstance(arity, bool):
        ctx.fail("indexed must be true, 1 or 2 (the number of indices)", *path, "indexed")
    domain = Domain(integer, low, high, low_open, high_open)
    if integer and domain.bounded and math.ceil(low) > math.floor(high):
        ctx.fail("the range holds no whole number", *path, "range")
    return domain, int(arity)


def _variables(raw: Any, ctx: Context, space: Space) -> None:
    for name, spec in ctx.mapping(raw, "variables").items():
        _check_name(name, ctx, space, "variables", name)
        domain, arity = _domain(spec, ctx, "variables", name)
        if arity:
            if not space.indices:
                ctx.fail("an indexed variable needs indices (e.g. indices: {i: [1, 3]})", "variables", name)
            space.families[name] = (arity, domain)
        else:
            space.variables[name] = domain


def _check_name(name: Any, ctx: Context, space: Space, *path: str, function_name_ok: bool = False) -> None:
    ctx.name(name, *path)
    if name in library.CONSTANTS:
        ctx.fail(f"{name} is a constant ({'Euler' if name == 'e' else 'the circle'}'s number); choose another name",
                 *path)
    func = library.lookup(name)
    if func is not None and not (function_name_ok and func.value is not None and name == name.lower()):
        ctx.fail(f"{name} is the name of a function; choose another name", *path)
    if (name in space.indices or name in space.variables or name in space.families or name in space.defines
            or name in space.functions):
        ctx.fail(f"{name} is declared twice", *path)


def _defines(raw: Any, ctx: Context, space: Space, pid: str, earlier: Mapping[str, Problem],
             ids: Sequence[str]) -> dict[str, str]:
    """Fill ``space``'s defines; return the chained ones (define -> the problem whose answer it is)."""
    data = ctx.mapping(raw, "define")
    family_formal: dict[str, tuple[str, tuple[str, ...]]] = {}
    chained: dict[str, str] = {}
    for name in data:
        family, _, suffix = str(name).rpartition("_")
        if isinstance(data[name], dict):
            _check_name(name, ctx, space, "define", name)
            space.defines[name] = Sym("0")
        elif family and suffix and all(c in space.indices for c in suffix) and NAME.match(family):
            _check_name(family, ctx, space, "define", name)
            family_formal[name] = (family, tuple(suffix))
            space.family_defines[family] = (tuple(suffix), Sym("0"))  # body below
        else:  # a function's name may be given a value: sigma: sigmoid(x) (sigma(1 - sigma) is then a product)
            _check_name(name, ctx, space, "define", name, function_name_ok=True)
            space.defines[name] = Sym("0")
    symbols = space.symbols()
    notation = space.notation(aliases=False)
    parsed: dict[str, Expr] = {}
    for name, text in data.items():
        if isinstance(text, dict):
            chained[name], parsed[name] = _answer_of(text, ctx, space, pid, earlier, ids, name)
            spend(ctx, tree_size(parsed[name]), "define", name, what="answer")
            continue
        tree = ctx.expression(text, symbols, "define", name, notation=notation)
        spend(ctx, tree_size(tree), "define", name, what="answer")
        if any(isinstance(n, Call) and n.func == "diff" for n in walk(tree)):
            ctx.fail("a define cannot use diff", "define", name)
        _check_sum_indices(tree, space, ctx, "define", name)
        parsed[name] = tree
    for name, (family, formal) in family_formal.items():
        space.family_defines[family] = (formal, parsed.pop(name))
    space.family_defines = _ordered_families(space, ctx)
    space.defines = _ordered(parsed, space, ctx)
    return chained


def _answer_of(spec: dict[Any, Any], ctx: Context, space: Space, pid: str, earlier: Mapping[str, Problem],
               ids: Sequence[str], name: str) -> tuple[str, Expr]:
    """``{answer_of: q5}``: q5's key with q5's own defines written out, in this problem's variables."""
    path = ("define", name)
    ctx.check_keys(spec, {"answer_of"}, "a define of an earlier answer", *path)
    source = spec.get("answer_of")
    if not isinstance(source, str):
        ctx.fail("a define is a formula or {answer_of: ID} with the id of an earlier expression problem", *path)
    where = (*path, "answer_of")
    if source == pid:
        ctx.fail(f"answer_of names this problem itself ({pid}); it must name an earlier problem", *where)
    if source not in earlier:
        if source in ids:
            ctx.fail(f"answer_of names {source}, which comes after {pid} in the set; it must name an earlier "
                     "problem (this also rules out circles)", *where)
        close = difflib.get_close_matches(source, [i for i in ids if i in earlier], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        ctx.fail(f"answer_of names {source!r}, which is not a problem of this set{hint}", *where)
    problem = earlier[source]
    if not isinstance(problem, ExpressionProblem) or problem.answer is None or problem.space is None:
        ctx.fail(f"answer_of names {source}, which is a {problem.kind} problem; it must be an expression problem",
                 *where)
    if problem.space.indices or problem.space.families or problem.space.family_defines:
        ctx.fail(f"answer_of names {source}, which uses indices; only answers without indices can be carried "
                 "into another problem", *where)
    try:
        tree = written_out(problem.answer, problem.space.defines)
    except TooLarge:
        ctx.fail(f"the key of {source} with its defines written out is too large to carry into {pid}", *where)
    missing = sorted(free_symbols(tree) - set(space.variables) - set(library.CONSTANTS))
    if missing:
        names = ", ".join(missing)
        ctx.fail(f"answer_of {source}: its answer uses {names}, which {pid} does not declare; declare "
                 f"{'it' if len(missing) == 1 else 'them'} under variables", *where)
    return source, tree


def _ordered(defines: dict[str, Expr], space: Space, ctx: Context) -> dict[str, Expr]:
    """The scalar defines in an order where each comes after those it uses; fail on a cycle."""
    uses = {n: {s.name for s in walk(t) if isinstance(s, Sym) and s.name in defines} for n, t in defines.items()}
    for family, (_, body) in space.family_defines.items():
        if any(isinstance(s, Sym) and s.name in defines for s in walk(body)):
            ctx.fail("a define over an index cannot use a plain define", "define", family)
    out: dict[str, Expr] = {}
    while len(out) < len(defines):
        ready = [n for n in defines if n not in out and uses[n] <= set(out)]
        if not ready:
            cycle = sorted(n for n in defines if n not in out)
            ctx.fail(f"these defines refer to each other in a circle: {', '.join(cycle)}", "define", cycle[0])
        for n in ready:
            out[n] = defines[n]
    return out


def _ordered_families(space: Space, ctx: Context) -> dict[str, tuple[tuple[str, ...], Expr]]:
    """The family defines in an order where each comes after the families it uses; fail on a cycle.

    Families are bound before the plain defines (which may sum over them, ``yhat: sum(v_n*z_n, n, 1, 2)``);
    a family may not use a plain define, so that order always exists.
    """
    families = space.family_defines
    uses: dict[str, set[str]] = {}
    for family, (_, body) in families.items():
        found = set()
        for node in walk(body):
            if isinstance(node, Sym):
                split = space.split(node.name)
                if split is not None and split[0] in families and split[0] != family:
                    found.add(split[0])
        uses[family] = found
    for family, (_, body) in families.items():
        for node in walk(body):
            split = space.split(node.name) if isinstance(node, Sym) else None
            if split is not None and split[0] == family:
                ctx.fail(f"the define of {family} refers to {family} itself", "define", family)
    out: dict[str, tuple[tuple[str, ...], Expr]] = {}
    while len(out) < len(families):
        ready = [f for f in families if f not in out and uses[f] <= set(out)]
        if not ready:
            cycle = sorted(f for f in families if f not in out)
            ctx.fail(f"these defines refer to each other in a circle: {', '.join(cycle)}", "define", cycle[0])
        for f in ready:
            out[f] = families[f]
    return out


def _check_sum_indices(tree: Expr, space: Space, ctx: Context, *path: str) -> None:
    for node in walk(tree):
        if isinstance(node, Sum) and node.index not in space.indices:
            ctx.fail(f"the summation index {node.index} must be declared under indices", *path)


def _chain_factors(source: Expr, space: Space) -> list[Expr]:
    """For ``diff(f, x)``: the derivatives of f's inner arguments (what forgetting the chain rule drops)."""
    if not (isinstance(source, Call) and source.func == "diff" and len(source.args) == 2
            and isinstance(source.args[1], Sym)):
        return []
    f, wrt = source.args[0], source.args[1].name
    out: list[Expr] = []
    for node in walk(f):
        if not isinstance(node, Call) or node.func == "diff":
            continue
        for arg in node.args:
            if isinstance(arg, Sym) and arg.name == wrt:
                continue
            try:
                factor = expand_diffs(Call("diff", (arg, Sym(wrt))), space)
            except DerivativeError:
                continue
            constant = isinstance(factor, Num) or (isinstance(factor, Neg) and isinstance(factor.arg, Num))
            if factor not in out and not constant:  # a constant factor is reported as such
                out.append(factor)
    return out[:5]


def _define_trees(space: Space) -> dict[str, Expr]:
    out = dict(space.defines)
    for family, (formal, body) in space.family_defines.items():
        out[f"{family}_{''.join(formal)}"] = body
    return out
