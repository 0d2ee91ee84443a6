"""What a loaded problem set is: plain, validated data the solver and graders use."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.expr.nodes import Expr

if TYPE_CHECKING:
    from grader.solver.optimizers import Optimizer
    from grader.solver.tape import Tape
    from grader.symbolic.space import Space

RTOL_DEFAULT = 1e-2
ATOL_DEFAULT = 1e-8
FOLLOW_THROUGH_CREDIT_DEFAULT = 1.0


class ToleranceMode(enum.Enum):
    RELABS = "relabs"  # |s - e| <= atol + rtol*|e|
    SIGFIGS = "sigfigs"  # agrees to ``digits`` significant figures
    DECIMALS = "decimals"  # agrees to ``digits`` decimal places


@dataclass(frozen=True, slots=True)
class Tolerance:
    mode: ToleranceMode = ToleranceMode.RELABS
    rtol: float = RTOL_DEFAULT
    atol: float = ATOL_DEFAULT
    digits: int = 0

    def describe(self) -> str:
        if self.mode is ToleranceMode.SIGFIGS:
            return f"{self.digits} significant figures"
        if self.mode is ToleranceMode.DECIMALS:
            return f"{self.digits} decimal places"
        return f"rtol {self.rtol:g}, atol {self.atol:g}"


@dataclass(frozen=True, slots=True)
class Draw:
    """A value drawn per student: uniform on [low, high] rounded to ``decimals``, or one of ``choices``."""

    low: float = 0.0
    high: float = 0.0
    decimals: int = 2
    choices: tuple[float, ...] = ()
    nonzero: bool = False

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(f"{c:g}" for c in self.choices)
        return f"uniform on [{self.low:g}, {self.high:g}], {self.decimals} decimals"


Value = float | Draw


@dataclass(frozen=True, slots=True)
class Quantity:
    """An askable quantity: a node's value, ``dL/dX``, or ``next.X``."""

    name: str
    kind: str  # "value", "grad", "next" (a value after updates), "state" (an optimizer's m or v)
    target: str  # the node, parameter or given it is about
    step: int = 0  # after how many updates: 0 for the first forward and reverse pass; next.X is step 1
    state: str = ""  # for kind "state": "m" or "v"


@dataclass
class Problem:
    id: str
    title: str
    kind: str
    points: dict[str, float]  # per quantity (network) or {"": points} (expression)
    line: int | None = None
    statement: str = ""

    @property
    def max_score(self) -> float:
        return sum(self.points.values())


@dataclass
class Layer:
    """One dense layer of a problem given in layer form, kept for drawing the network."""

    units: tuple[str, ...]  # activation node names
    pre: tuple[str, ...]  # pre-activation node names
    activation: str
    weights: tuple[tuple[str, ...], ...] = ()  # weight names, one row per unit, one column per unit before
    biases: tuple[str, ...] = ()  # bias names, one per unit (none when the layer has no biases)


@dataclass
class NetworkProblem(Problem):
    given: dict[str, Value] = field(default_factory=dict)
    params: dict[str, Value] = field(default_factory=dict)
    forward: dict[str, Expr] = field(default_factory=dict)
    forward_text: dict[str, str] = field(default_factory=dict)
    order: tuple[str, ...] = ()  # forward nodes, topological
    loss: str = ""
    learning_rate: float | None = None  # plain gradient descent's rate (sgd without weight decay), else None
    optimizer: Optimizer | None = None  # how parameters are updated; None: no update
    steps: int = 1  # how many updates
    gradients_after_last: bool = False  # whether a gradient after the last update is asked (it is computed then)
    ask: tuple[Quantity, ...] = ()
    quantities: dict[str, Quantity] = field(default_factory=dict)  # every askable one, by name
    tolerance: Tolerance = field(default_factory=Tolerance)
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    follow_through_credit: float = FOLLOW_THROUGH_CREDIT_DEFAULT
    inputs: tuple[str, ...] = ()  # givens that are network inputs (for drawing)
    layers: tuple[Layer, ...] = ()  # set when the problem was given in layer form
    # layer form: a matrix or vector name (W2, b2, z2, a2) -> the names of its entries, row by row
    matrices: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    tape: Tape | None = None
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # derived, per problem

    def tolerance_for(self, quantity: str) -> Tolerance:
        return self.tolerances.get(quantity, self.tolerance)

    @property
    def randomised(self) -> bool:
        return any(isinstance(v, Draw) for v in (*self.given.values(), *self.params.values()))


@dataclass
class ExpressionProblem(Problem):
    """``kind: expression``: a formula answer checked for equivalence on the variables' domains."""

    variables: dict[str, Any] = field(default_factory=dict)
    define: dict[str, Expr] = field(default_factory=dict)
    answer: Expr | None = None
    answer_text: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    follow_through_credit: float = FOLLOW_THROUGH_CREDIT_DEFAULT
    # filled by grader.symbolic.problem; see docs/symbolic.md
    space: Space | None = None  # variables with domains, indices, families, defines
    display: Expr | None = None  # the key as shown, when the problem gives a nicer equivalent form
    differentiated: Expr | None = None  # f, when the answer is diff(f, x)
    tolerance: Tolerance = field(default_factory=Tolerance)  # for a number submitted for a constant key
    checker: Any = field(default=None, repr=False, compare=False)  # the compiled key, made on first use


@dataclass
class ProblemSet:
    id: str
    title: str
    problems: list[Problem]
    file: str = ""
    warnings: list[str] = field(default_factory=list)
    source_text: str = ""

    def problem(self, problem_id: str) -> Problem:
        for p in self.problems:
            if p.id == problem_id:
                return p
        raise KeyError(problem_id)

    @property
    def max_score(self) -> float:
        return sum(p.max_score for p in self.problems)
