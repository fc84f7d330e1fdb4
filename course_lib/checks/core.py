"""The grader framework behind every lab.

A check runs the student's function on several cases, compares each result with the reference
implementation's, prints one line per case and a summary, and raises :class:`CheckFailure` (an
``AssertionError``) whose message names the exercise and the most likely mistake. The same call
is the grader: ``pytest --nbval-lax lab.ipynb`` passes exactly when every check cell passes.

Diagnosis, in order:

1. the function is still the lab's stub (``NotImplementedError``);
2. it raised another exception (shown as the student would see it);
3. it returned nothing / the wrong kind of object / the wrong shape (permuted axes are named);
4. its output equals a known *plausible mistake* (each lab lists the mistakes it expects, e.g.
   "Gram matrix not normalised by C*H*W"), whose message is then shown;
5. it is off by a constant factor or has the wrong sign;
6. otherwise: the largest difference and where it is.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import inspect
import math
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

PASS, FAIL = "\u2713", "\u2717"  # check mark, cross


class CheckFailure(AssertionError):
    """A lab check failed; the message says which exercise and what is probably wrong.

    In a notebook only the message is shown, without the frames of the grading code: the lines
    the check printed above it already say which case failed.
    """

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom tracebacks
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


class NotImplementedYet(Exception):
    """Raised inside a check when the student's function is still the stub."""


class StudentError(Exception):
    """The student's code raised an exception (kept as ``__cause__``)."""


class Mismatch(Exception):
    """One case's result differs from the expected one (the message explains how)."""


@dataclass
class Case:
    """One input to try: positional ``args`` and keyword ``kwargs`` (tensors are cloned per call).

    ``grad=True`` also compares the gradients that flow back to the floating-point tensor
    arguments, which catches outputs detached from the graph.
    """

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    grad: bool = False


@dataclass
class Mistake:
    """A plausible wrong implementation and the message to show when the student's output matches it."""

    message: str
    fn: Callable[..., Any]


def clone_args(obj: Any, requires_grad: bool = False) -> Any:
    """Deep copy of arguments; floating tensors optionally become fresh leaves requiring grad."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().clone()
        if requires_grad and t.is_floating_point():
            t.requires_grad_(True)
        return t
    if isinstance(obj, tuple):
        return tuple(clone_args(v, requires_grad) for v in obj)
    if isinstance(obj, list):
        return [clone_args(v, requires_grad) for v in obj]
    if isinstance(obj, dict):
        return {k: clone_args(v, requires_grad) for k, v in obj.items()}
    if isinstance(obj, torch.nn.Module):
        return copy.deepcopy(obj)
    return obj


def call_student(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call student code, turning its exceptions into :class:`NotImplementedYet` / :class:`StudentError`."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        raise NotImplementedYet(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - any student exception is reported, not raised
        raise StudentError(f"{type(exc).__name__}: {exc}") from exc


def _to_comparable(x: Any) -> Any:
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _to_comparable(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x)
    if isinstance(x, np.generic):
        return x.item()
    return x


def describe_difference(got: Any, expected: Any, rtol: float = 1e-4, atol: float = 1e-5, path: str = "output") -> str | None:
    """``None`` if ``got`` matches ``expected``, else a sentence saying how they differ."""
    got, expected = _to_comparable(got), _to_comparable(expected)
    if got is None and expected is not None:
        return f"{path} is None: did you forget a `return` statement?"
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"{path} should be a torch.Tensor, got {type(got).__name__}"
        return _tensor_difference(got, expected, rtol, atol, path)
    if isinstance(expected, bool) or expected is None:
        return None if got == expected else f"{path} should be {expected!r}, got {got!r}"
    if isinstance(expected, (int, float)):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            return f"{path} should be a number, got {type(got).__name__}"
        if math.isclose(float(got), float(expected), rel_tol=rtol, abs_tol=atol):
            return None
        return f"{path} should be {expected:g}, got {got:g}" + _factor_hint(float(got), float(expected))
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return f"{path} should be a {type(expected).__name__} of {len(expected)} items, got {type(got).__name__}"
        if len(got) != len(expected):
            return f"{path} should have {len(expected)} items, got {len(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            diff = describe_difference(g, e, rtol, atol, f"{path}[{i}]")
            if diff:
                return diff
        return None
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return f"{path} should be a dict with keys {sorted(expected)}, got {type(got).__name__}"
        missing = sorted(set(expected) - set(got))
        if missing:
            return f"{path} is missing the keys {missing}"
        for k in expected:
            diff = describe_difference(got[k], expected[k], rtol, atol, f"{path}[{k!r}]")
            if diff:
                return diff
        return None
    return None if got == expected else f"{path} should be {expected!r}, got {got!r}"


def _factor_hint(got: float, expected: float) -> str:
    if expected == 0 or got == 0:
        return ""
    ratio = got / expected
    if math.isclose(ratio, -1.0, rel_tol=1e-3):
        return " (the sign is flipped)"
    return f" (off by a factor of {ratio:.4g})"


def _tensor_difference(got: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float, path: str) -> str | None:
    if tuple(got.shape) != tuple(expected.shape):
        msg = f"{path} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
        if sorted(got.shape) == sorted(expected.shape):
            msg += " (the same sizes in another order: are two axes swapped?)"
        elif got.numel() == expected.numel():
            msg += " (same number of elements: check your reshape/view)"
        elif got.dim() == expected.dim() - 1 and tuple(got.shape) == tuple(expected.shape[1:]):
            msg += " (the batch dimension is missing)"
        return msg
    if not got.is_floating_point() and expected.is_floating_point():
        return f"{path} has dtype {got.dtype}, expected a floating-point tensor ({expected.dtype})"
    g, e = got.detach().double().cpu(), expected.detach().double().cpu()
    if not torch.isfinite(g).all():
        return f"{path} contains NaN or inf values"
    if torch.allclose(g, e, rtol=rtol, atol=atol):
        return None
    denom = float((e * e).sum())
    if denom > 0:
        ratio = float((g * e).sum()) / denom
        if abs(ratio) > 1e-12 and torch.allclose(g, ratio * e, rtol=rtol * 10, atol=atol * 10):
            if math.isclose(ratio, -1.0, rel_tol=1e-3):
                return f"{path} has the right size but the wrong sign"
            return f"{path} is off by a constant factor of {ratio:.6g} (a missing or extra normalisation?)"
    err = (g - e).abs()
    idx = np.unravel_index(int(err.argmax()), tuple(err.shape)) if err.dim() else ()
    where = f" at index {tuple(int(i) for i in idx)}" if idx else ""
    return (
        f"{path} differs from the reference: max error {float(err.max()):.3g}{where} "
        f"(expected {float(e[idx] if idx else e):.5g}, got {float(g[idx] if idx else g):.5g})"
    )


def _grad_difference(student: Callable, reference: Callable, case: Case, rtol: float, atol: float) -> str | None:
    s_args, s_kwargs = clone_args(case.args, True), clone_args(case.kwargs, True)
    r_args, r_kwargs = clone_args(case.args, True), clone_args(case.kwargs, True)
    s_out = call_student(student, *s_args, **s_kwargs)
    r_out = reference(*r_args, **r_kwargs)
    if not isinstance(r_out, torch.Tensor):
        return None
    if not isinstance(s_out, torch.Tensor) or not s_out.requires_grad:
        return ("the output is detached from the computation graph, so no gradient can flow back "
                "(avoid .detach(), .item(), .numpy(), torch.no_grad() and building new tensors from values)")
    weights = torch.randn(r_out.shape, generator=torch.Generator().manual_seed(1), dtype=r_out.dtype)
    try:
        (s_out * weights.to(s_out.dtype)).sum().backward()
    except RuntimeError as exc:
        return f"back-propagating through your output failed: {exc}"
    (r_out * weights).sum().backward()
    leaves_s = [t for t in _flat_tensors((s_args, s_kwargs)) if t.requires_grad]
    leaves_r = [t for t in _flat_tensors((r_args, r_kwargs)) if t.requires_grad]
    for i, (ls, lr) in enumerate(zip(leaves_s, leaves_r)):
        if lr.grad is None:
            continue
        if ls.grad is None:
            return f"no gradient reaches input #{i}: part of your computation is detached"
        diff = describe_difference(ls.grad, lr.grad, rtol * 10, atol * 10, f"the gradient w.r.t. input #{i}")
        if diff:
            return diff
    return None


def _flat_tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for v in obj for t in _flat_tensors(v)]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _flat_tensors(v)]
    return []


def _student_location(exc: BaseException) -> str:
    """The last frame of the traceback that is not inside course_lib (the student's line)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "course_lib" not in f.filename]
    if not frames:
        return ""
    f = frames[-1]
    return f" (line: `{(f.line or '').strip()}`)" if f.line else ""


def _hint_or_pointer(exercise: str, hint: str) -> str:
    """What a check adds to its failure message: a pointer to the lab's hints if it has some, else ``hint``."""
    frame = inspect.currentframe()
    while frame is not None:  # the lab module that called us defines ``hint = make_hint(...)``
        hints = frame.f_globals.get("hint")
        if isinstance(hints, Hints) and (name := hints.name_of(exercise)):
            return f"Stuck? Run {hints.lab}.hint({name!r}) for a hint (again for a more detailed one)."
        frame = frame.f_back
    return f"Hint: {hint}" if hint else ""


def run_cases(exercise: str, cases: Sequence[tuple[str, Callable[[], None]]], hint: str = "") -> None:
    """Run named cases; each callable raises :class:`Mismatch` to fail. Print a report; raise on failure.

    ``hint`` is appended to the failure message (what to re-read, which formula to use), unless
    the lab has hints on request for ``exercise`` (``HINTS`` and ``hint`` in its ``labNN`` module):
    then the message only points to ``labNN.hint(exercise)``, so that a failing check never hands
    out the code.
    """
    hint = _hint_or_pointer(exercise, hint)
    print(f"Checking {exercise}:")
    failures: list[str] = []
    for name, fn in cases:
        try:
            fn()
        except NotImplementedYet:
            print(f"  {FAIL} {name}: not implemented yet")
            raise CheckFailure(
                f"{exercise}: not implemented yet. Replace the `raise NotImplementedError(...)` line "
                f"with your code, run that cell, then run this check again.{(' ' + hint) if hint else ''}"
            ) from None
        except StudentError as exc:
            cause = exc.__cause__ or exc
            msg = f"your code raised {exc}{_student_location(cause)}"
            print(f"  {FAIL} {name}: {msg}")
            failures.append(f"{name}: {msg}")
        except Mismatch as exc:
            print(f"  {FAIL} {name}: {exc}")
            failures.append(f"{name}: {exc}")
        else:
            print(f"  {PASS} {name}")
    passed = len(cases) - len(failures)
    print(f"{exercise}: {passed}/{len(cases)} cases passed")
    if failures:
        raise CheckFailure(
            f"{exercise} is not right yet. First problem, in case {failures[0]}"
            + (f"\n{hint}" if hint else "")
        )
    print(f"{PASS} {exercise} is correct.")


def check_function(
    exercise: str,
    student: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Sequence[Case],
    mistakes: Sequence[Mistake] = (),
    rtol: float = 1e-4,
    atol: float = 1e-5,
    hint: str = "",
) -> None:
    """Compare ``student`` with ``reference`` on every case (see the module docstring)."""
    if not callable(student):
        raise CheckFailure(f"{exercise}: expected a function, got {type(student).__name__}")

    def make(case: Case) -> Callable[[], None]:
        def run() -> None:
            got = call_student(student, *clone_args(case.args), **clone_args(case.kwargs))
            with torch.no_grad():
                expected = reference(*clone_args(case.args), **clone_args(case.kwargs))
            diff = describe_difference(got, expected, rtol, atol)
            if diff:
                for mistake in mistakes:
                    with torch.no_grad():
                        wrong = mistake.fn(*clone_args(case.args), **clone_args(case.kwargs))
                    if describe_difference(got, wrong, rtol, atol) is None:
                        raise Mismatch(mistake.message)
                raise Mismatch(diff)
            if case.grad:
                gdiff = _grad_difference(student, reference, case, rtol, atol)
                if gdiff:
                    raise Mismatch(gdiff)
        return run

    run_cases(exercise, [(c.name, make(c)) for c in cases], hint=hint)


# ----------------------------------------------------------------------------- hints on request
class Hints:
    """Escalating hints for the exercises of one lab, given only when the student asks.

    ``texts`` maps an exercise (the function's name) to its hints, from the idea (level 1) through
    the shapes and steps (level 2) to a near-code line (level 3). ``hints(name)`` prints the next
    level for that exercise (remembered per exercise, so repeated calls escalate);
    ``hints(name, level)`` prints a given level. The stubs of a lab only point here
    (``Run lab04.hint('skip_forward') for a hint``), so reading an error never gives the answer away.
    """

    def __init__(self, lab: str, texts: Mapping[str, Sequence[str]], aliases: Mapping[str, str] | None = None) -> None:
        for name, levels in texts.items():
            if not levels or not all(isinstance(t, str) and t.strip() for t in levels):
                raise ValueError(f"{lab}: the hints of {name!r} must be non-empty strings")
        self.lab = lab
        self.texts = {name: tuple(levels) for name, levels in texts.items()}
        # other names of an exercise (a check named after the class whose method is the exercise)
        self.aliases = dict(aliases or {})
        if not set(self.aliases.values()) <= set(self.texts):
            raise ValueError(f"{lab}: hint aliases point to unknown exercises: {self.aliases}")
        self.given: dict[str, int] = {}  # exercise -> highest level shown so far

    def name_of(self, exercise: str) -> str | None:
        """The exercise's name in ``texts`` (resolving aliases), or ``None`` if it has no hints."""
        name = self.aliases.get(exercise, exercise)
        return name if name in self.texts else None

    def text(self, name: str, level: int | None = None) -> str:
        """The hint as a string (``level=None``: the next level for ``name``); updates the memory."""
        name = self.aliases.get(name, name)
        if name not in self.texts:
            close = difflib.get_close_matches(str(name), list(self.texts), n=1)
            known = ", ".join(repr(n) for n in self.texts)
            suggestion = f" Did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"{self.lab} has no exercise {name!r}.{suggestion} Exercises with hints: {known}")
        levels = self.texts[name]
        if level is None:
            level = min(self.given.get(name, 0) + 1, len(levels))
        if not isinstance(level, int) or not 1 <= level <= len(levels):
            raise ValueError(f"{name} has hint levels 1 to {len(levels)}, not {level!r}")
        self.given[name] = max(self.given.get(name, 0), level)
        left = len(levels) - level
        if left:
            more = (f"{left} more level{'s' if left > 1 else ''}: run {self.lab}.hint({name!r}) again "
                    "for a more detailed one.")
        else:
            more = "This was the last level; the lecture notebook shows the idea at work."
        return f"Hint {level}/{len(levels)} for {name}: {levels[level - 1]}\n({more})"

    def __call__(self, name: str, level: int | None = None) -> None:
        """Print the next hint for ``name`` (or hint ``level``)."""
        print(self.text(name, level))

    def reset(self) -> None:
        """Forget which hints were shown (the next call starts again at level 1)."""
        self.given.clear()


def make_hint(lab: str, texts: Mapping[str, Sequence[str]], aliases: Mapping[str, str] | None = None) -> Hints:
    """A lab's ``hint`` function: ``hint = make_hint("lab04", HINTS)`` in ``course_lib/checks/lab04.py``."""
    return Hints(lab, texts, aliases)


# ----------------------------------------------------------------------------- graded questions
def check_answer(
    exercise: str,
    answer: Any,
    expected: Any,
    wrong: Mapping[Any, str] | None = None,
    choices: Sequence[str] | None = None,
    tol: float = 1e-6,
    explain: str = "",
) -> None:
    """Grade the short part of a Question: a number, or one letter among ``choices``.

    ``answer`` is the student's value or a function returning it (the lab's ``question_N``). A
    value listed in ``wrong`` fails with that message (a plausible mistake named); anything else
    that differs from ``expected`` fails with ``explain`` (where to look again). Numbers compare
    with an absolute tolerance ``tol``; letters ignore case and surrounding spaces.
    """
    wrong = dict(wrong or {})

    def normalise(value: Any) -> Any:
        if choices is not None:
            if not isinstance(value, str) or value.strip().upper() not in [c.upper() for c in choices]:
                raise Mismatch(f"answer with one of the letters {', '.join(repr(c) for c in choices)}, "
                               f"as a string (got {value!r})")
            return value.strip().upper()
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Mismatch(f"answer with a number (got {type(value).__name__} {value!r})")
        return value

    def same(a: Any, b: Any) -> bool:
        if choices is not None:
            return a == str(b).upper()
        return abs(float(a) - float(b)) <= tol

    def run() -> None:
        value = call_student(answer) if callable(answer) else answer
        if value is None:
            raise Mismatch("your answer is None: did you forget the `return` statement?")
        value = normalise(value)
        if same(value, expected):
            return
        for bad, message in wrong.items():
            if same(value, bad):
                raise Mismatch(f"{value!r} is not right: {message}")
        raise Mismatch(f"{value!r} is not right. {explain}".strip())

    run_cases(exercise, [("your answer", run)])
