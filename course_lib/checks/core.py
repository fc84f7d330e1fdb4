"""The grader framework behind every lab.

A check runs the student's function on several cases, compares each result with the reference
implementation's, prints one line per case and a summary, and raises :class:`CheckFailure` (an
``AssertionError``) whose message names the exercise and the most likely mistake. The same call
is the grader: ``pytest --nbval-lax lab.ipynb`` passes exactly when every check cell passes.

Diagnosis, in order:

1. the function is still the lab's stub (``NotImplementedError``);
2. it raised another exception (shown as the student would see it, with their line);
3. it changed one of its inputs in place (the argument is named);
4. it returned nothing / the wrong kind of object / the wrong shape (permuted axes are named);
5. its output equals a known *plausible mistake* (each lab lists the mistakes it expects, e.g.
   "Gram matrix not normalised by C*H*W") on *every* case, so that one case coinciding by chance
   with a mistake does not name the wrong one;
6. it is off by a telling factor (-1, an integer, 1 / integer) or, for tensors, a constant factor;
7. otherwise: the case, the expected and the obtained values (in full when small);
8. the value is right but the gradient w.r.t. an input (or a module argument's weights) is
   missing or different: computed under ``no_grad``, from detached tensors, or clamped.

Tolerances are relative (a loss of 1e-4 is compared as strictly as one of 1e4). An error raised by
the check itself on the student's object (a network rejecting an input) becomes a message too.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import inspect
import math
import time
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

    ``grad`` compares the gradients that flow back to every floating-point tensor argument the
    reference differentiates through (catches outputs computed under ``no_grad`` or from detached
    tensors). ``None`` (the default) means: whenever the reference's output carries a gradient;
    ``False`` turns the comparison off for this case. ``constants`` names arguments that are data,
    not variables (a binary mask: ``m * x`` and ``m ** 2 * x`` are the same function of a 0/1 mask
    but have different gradients w.r.t. ``m``); no gradient is compared for them.
    """

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    grad: bool | None = None
    constants: tuple[str, ...] = ()


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
        if isinstance(got, torch.Tensor):
            if got.requires_grad or got.numel() != 1:  # a number is asked for: a tensor in a graph keeps it alive
                return (f"{path} should be a Python number, got a tensor"
                        + (" that is part of a graph: return value.item()" if got.numel() == 1
                           else f" of shape {tuple(got.shape)}"))
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
    """Name the ratio of two numbers only when it is telling (-1, an integer or 1 / integer).

    Any two numbers differ by *some* factor; an arbitrary one (0.6) says nothing and would
    mislead the student into looking for a missing normalisation.
    """
    if expected == 0 or got == 0:
        return ""
    ratio = got / expected
    if math.isclose(ratio, -1.0, rel_tol=1e-3):
        return " (the sign is flipped)"
    for r in (abs(ratio), 1 / abs(ratio)):
        if r > 1.5 and abs(r - round(r)) < 1e-3 * r:
            return f" (off by a factor of {ratio:.4g}: a missing or extra normalisation?)"
    return ""


def _close(g: torch.Tensor, e: torch.Tensor, rtol: float, atol: float) -> bool:
    """``|g - e| <= atol + rtol * |e| + rtol / 10 * max|e|`` element-wise.

    The last term scales the tolerance with the tensor's magnitude, so a tensor of tiny values (a
    gradient of 1e-4 in total) is compared relatively, and float32 rounding in an element that
    cancels to about zero is not a failure.
    """
    scale = float(e.abs().max()) if e.numel() else 0.0
    return bool(((g - e).abs() <= atol + rtol * e.abs() + rtol / 10 * scale).all())


def _show(t: torch.Tensor) -> str:
    values = [round(float(v), 5) for v in t.flatten()]
    return str(values[0]) if t.dim() == 0 else str(values)


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
    if _close(g, e, rtol, atol):
        return None
    if e.numel() == 1:  # one number: a ratio is only telling when it is a simple one
        return f"{path} should be {float(e.flatten()[0]):.6g}, got {float(g.flatten()[0]):.6g}" + _factor_hint(
            float(g.flatten()[0]), float(e.flatten()[0]))
    denom = float((e * e).sum())
    if denom > 0:
        ratio = float((g * e).sum()) / denom
        if abs(ratio) > 1e-12 and _close(g, ratio * e, rtol * 10, atol * 10):
            if math.isclose(ratio, -1.0, rel_tol=1e-3):
                return f"{path} has the right size but the wrong sign"
            return f"{path} is off by a constant factor of {ratio:.6g} (a missing or extra normalisation?)"
    if e.numel() <= 12:  # small: show both in full
        return f"{path} differs from the reference: expected {_show(e)}, got {_show(g)}"
    err = (g - e).abs()
    idx = np.unravel_index(int(err.argmax()), tuple(err.shape)) if err.dim() else ()
    where = f" at index {tuple(int(i) for i in idx)}" if idx else ""
    return (
        f"{path} differs from the reference: max error {float(err.max()):.3g}{where} "
        f"(expected {float(e[idx] if idx else e):.6g}, got {float(g[idx] if idx else g):.6g})"
    )


def _named_tensors(args: tuple, kwargs: dict, names: Sequence[str]) -> list[tuple[str, torch.Tensor]]:
    """Every tensor among the arguments and the parameters of every module argument, with a name for
    messages (```target```, ```feats`[1]``, ```G_AB`'s parameter `conv.weight```)."""
    out: list[tuple[str, torch.Tensor]] = []

    def walk(obj: Any, name: str) -> None:
        if isinstance(obj, torch.Tensor):
            out.append((name, obj))
        elif isinstance(obj, torch.nn.Module):  # a network given to the function: its weights are inputs too
            for pname, p in obj.named_parameters():
                out.append((f"{name}'s parameter `{pname}`", p))
        elif isinstance(obj, (tuple, list)):
            for i, v in enumerate(obj):
                walk(v, f"{name}[{i}]")
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{name}[{k!r}]")

    for i, a in enumerate(args):
        walk(a, f"`{names[i]}`" if i < len(names) else f"argument #{i + 1}")
    for k, v in kwargs.items():
        walk(v, f"`{k}`")
    return out


def _parameter_names(fn: Callable[..., Any]) -> list[str]:
    try:
        return [p.name for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return []


def _modified_inputs(before: list[tuple[str, torch.Tensor]], after: list[tuple[str, torch.Tensor]]) -> str | None:
    """A message naming the first argument the student's function changed in place, or ``None``."""
    for (name, b), (_, a) in zip(before, after):
        if b.shape != a.shape or b.dtype != a.dtype or not torch.equal(b, a.detach()):
            return (f"your function modified its argument {name} in place (an in-place operation such as "
                    "`x += ...`, `x.mul_(...)`, `x[...] = ...` or `x.clamp_(...)`): the caller still needs "
                    "it. Work on a copy (`x = x.clone()`) or use out-of-place operations")
    return None


def _grad_difference(student: Callable, reference: Callable, case: Case, rtol: float, atol: float,
                     names: Sequence[str] = ()) -> str | None:
    """Compare the gradients of a random projection of the outputs w.r.t. every tensor argument.

    Only the arguments the reference differentiates through are compared; ``None`` if they match
    (or the reference's output carries no gradient at all).
    """
    def inputs() -> tuple[tuple, dict]:
        args = tuple(clone_args(a, i >= len(names) or names[i] not in case.constants) for i, a in enumerate(case.args))
        kwargs = {k: clone_args(v, k not in case.constants) for k, v in case.kwargs.items()}
        return args, kwargs

    s_args, s_kwargs = inputs()
    r_args, r_kwargs = inputs()
    r_out = reference(*r_args, **r_kwargs)
    r_outs = [t for t in _flat_tensors(_to_comparable(r_out)) if t.requires_grad]
    if not r_outs:
        return None
    s_out = call_student(student, *s_args, **s_kwargs)
    s_all = _flat_tensors(_to_comparable(s_out))
    r_all = _flat_tensors(_to_comparable(r_out))
    if len(s_all) != len(r_all):
        return None  # the values were compared already; nothing sensible to pair
    gen = torch.Generator().manual_seed(1)
    s_total, r_total = None, None
    for i, (s_t, r_t) in enumerate(zip(s_all, r_all)):
        if not r_t.requires_grad:
            continue
        if not s_t.requires_grad:
            where = "the output" if len(r_all) == 1 else f"output #{i + 1}"
            return (f"{where} is detached from the computation graph, so no gradient can flow back "
                    "(avoid .detach(), .item(), .numpy(), torch.no_grad() and building new tensors from values)")
        w = torch.randn(r_t.shape, generator=gen, dtype=r_t.dtype)
        r_term, s_term = (r_t * w).sum(), (s_t * w.to(s_t.dtype)).sum()
        r_total = r_term if r_total is None else r_total + r_term
        s_total = s_term if s_total is None else s_total + s_term
    assert s_total is not None and r_total is not None  # r_outs above is not empty
    try:
        s_total.backward()
    except RuntimeError as exc:
        return f"back-propagating through your output failed: {exc}"
    r_total.backward()
    leaves_s = _named_tensors(s_args, s_kwargs, names)
    leaves_r = _named_tensors(r_args, r_kwargs, names)
    for (name, ls), (_, lr) in zip(leaves_s, leaves_r):
        if not lr.requires_grad or lr.grad is None or not bool(lr.grad.abs().gt(0).any()):
            continue
        if ls.grad is None or not bool(ls.grad.abs().gt(0).any()):
            return (f"the gradient w.r.t. {name} is missing: your result does not depend on {name} through "
                    "the graph (computed under torch.no_grad(), from a .detach()ed tensor or via .item()), "
                    "so training could not learn through it")
        diff = describe_difference(ls.grad, lr.grad, rtol, atol, f"the gradient w.r.t. {name}")
        if diff:
            return diff + " (the value is right but the gradient is not: is part of the computation detached or clamped?)"
    return None


def _flat_tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for v in obj for t in _flat_tensors(v)]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _flat_tensors(v)]
    return []


_LIBRARY_PARTS = ("course_lib", "site-packages", "dist-packages", "/torch/", "/lib/python")


def _is_student_frame(filename: str) -> bool:
    """Whether a traceback frame comes from the student's code (not the grader, torch or Python)."""
    return not any(part in filename for part in _LIBRARY_PARTS)


def _student_location(exc: BaseException) -> str:
    """The last frame of the traceback that is the student's own code (their line), or ``""``."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_student_frame(f.filename)]
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


def all_children(module: torch.nn.Module) -> list[torch.nn.Module]:
    """Every submodule *occurrence*, depth first: one ``nn.ReLU()`` reused 4 times counts 4 times.

    (``module.modules()`` lists a shared object once, which would miscount a correct stack.)
    """
    out: list[torch.nn.Module] = []
    for child in module._modules.values():
        if child is not None:
            out += [child, *all_children(child)]
    return out


def executed_layers(module: torch.nn.Module, *inputs: Any) -> list[torch.nn.Module]:
    """The leaf modules in the order ``module(*inputs)`` actually calls them (a shared one each time).

    The student's forward runs through :func:`call_student`; hooks are always removed.
    """
    calls: list[torch.nn.Module] = []
    leaves = [m for m in module.modules() if not m._modules]
    handles = [m.register_forward_hook(lambda m, i, o: calls.append(m)) for m in leaves]
    try:
        with torch.no_grad():
            call_student(module, *inputs)
    finally:
        for h in handles:
            h.remove()
    return calls


def _grader_error_message(exc: BaseException) -> str:
    """What to say when checking the student's result raised (e.g. their network rejects an input).

    Shown instead of a raw traceback: the error, and the student's line when their code is on the
    stack (a module's ``forward`` called by the check).
    """
    where = _student_location(exc)
    text = f"{type(exc).__name__}: {exc}".strip()
    if where:
        return f"your code raised {text}{where}"
    return (f"the check could not run on what your function returned ({text}). Make sure it builds "
            "what the exercise asks for, with the arguments it is given (no hard-coded sizes)")


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
        except Exception as exc:  # noqa: BLE001 - the check itself failed on the student's object
            msg = _grader_error_message(exc)
            print(f"  {FAIL} {name}: {msg}")
            failures.append(f"{name}: {msg}")
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
    rtol: float = 1e-5,
    atol: float = 1e-7,
    hint: str = "",
    grad_rtol: float | None = None,
) -> None:
    """Compare ``student`` with ``reference`` on every case (see the module docstring).

    Values must agree within ``rtol`` (relative) / ``atol``; gradients within ``grad_rtol``
    (default ``10 * rtol``), relative to their own magnitude. The student's function gets copies
    of the inputs and must leave them unchanged. A listed :class:`Mistake` is named only when the
    student's output equals it on *every* case (and it differs from the reference on the failing
    one); otherwise the message shows the case's expected and obtained values.
    """
    if not callable(student):
        raise CheckFailure(f"{exercise}: expected a function, got {type(student).__name__}")
    names = _parameter_names(reference)
    g_rtol = 10 * rtol if grad_rtol is None else grad_rtol

    def student_output(case: Case) -> Any:
        args, kwargs = clone_args(case.args), clone_args(case.kwargs)
        before = _named_tensors(clone_args(args), clone_args(kwargs), names)
        got = call_student(student, *args, **kwargs)
        changed = _modified_inputs(before, _named_tensors(args, kwargs, names))
        if changed:
            raise Mismatch(changed)
        return got

    def expected_output(fn: Callable[..., Any], case: Case) -> Any:
        with torch.no_grad():
            return fn(*clone_args(case.args), **clone_args(case.kwargs))

    def matches_everywhere(mistake: Mistake) -> bool:
        """The student's output equals the mistake's on every case (errors count as no)."""
        for case in cases:
            try:
                got = student_output(case)
            except (StudentError, NotImplementedYet, Mismatch):
                return False
            try:
                wrong = expected_output(mistake.fn, case)
            except Exception:  # noqa: BLE001 - undefined there: no evidence either way
                continue
            if describe_difference(got, wrong, rtol, atol) is not None:
                return False
        return True

    def make(case: Case) -> Callable[[], None]:
        def run() -> None:
            got = student_output(case)
            expected = expected_output(reference, case)
            diff = describe_difference(got, expected, rtol, atol)
            if diff:
                for mistake in mistakes:
                    try:
                        wrong = expected_output(mistake.fn, case)
                    except Exception:  # noqa: BLE001 - a mistake undefined on this case cannot be the answer
                        continue
                    if (describe_difference(wrong, expected, rtol, atol) is not None
                            and describe_difference(got, wrong, rtol, atol) is None
                            and matches_everywhere(mistake)):
                        raise Mismatch(mistake.message)
                raise Mismatch(diff)
            if case.grad is not False:
                gdiff = _grad_difference(student, reference, case, g_rtol, atol, names)
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


# ----------------------------------------------------------------------------- outcome checks
@dataclass(frozen=True)
class Bar:
    """A score the student's trained model must beat on the held-out data.

    ``value`` is measured by the grader on the same held-out data (a trivial baseline such as the
    mean training image, or the untrained network), never copied from an earlier run; ``margin``
    (in the metric's units) is how much better the student must be, chosen from the reference
    solution's scores over several seeds so that a correct solution always clears it.
    """

    name: str
    value: float
    margin: float = 0.0


def check_outcome(
    exercise: str,
    train_and_score: Callable[[], tuple[Any, float]],
    bars: Callable[[], Sequence[Bar]],
    *,
    metric: str,
    lower_is_better: bool = True,
    reference: str = "",
    advice: str = ("the pieces run, but do not train into a working model: check which optimizer "
                   "steps which network, the order of the updates and the loss weights"),
) -> Any:
    """Grade an assemble-and-train exercise by what the training achieved, not by its code.

    ``train_and_score()`` runs the student's training function (through :func:`call_student`) on
    the grader's data and seed and returns ``(result, score)``: whatever the lab shows next (a
    trained network) and its metric on held-out data. ``bars()`` measures the scores to beat.
    One case checks that training ran and gave a finite score, then one case per bar. Returns
    ``result`` when every case passes (so the notebook can show it); raises :class:`CheckFailure`
    otherwise. ``reference`` says what the reference solution scored over seeds (printed);
    ``advice`` ends the message of a bar that was not beaten (what usually goes wrong).
    """
    state: dict[str, Any] = {}
    better = "below" if lower_is_better else "above"

    def trains() -> None:
        start = time.perf_counter()
        result, score = train_and_score()
        seconds = time.perf_counter() - start
        score = float(score)
        if not math.isfinite(score):
            raise Mismatch(f"training ended with a held-out {metric} of {score}: it diverged "
                           "(a sign error in a loss, or a learning rate far too high)")
        state.update(result=result, score=score)
        print(f"    your training took {seconds:.0f} s; held-out {metric}: {score:.4f}"
              + (f" (the reference solution: {reference})" if reference else ""))

    def beats(bar: Bar) -> Callable[[], None]:
        def run() -> None:
            if "score" not in state:
                raise Mismatch("no score: the training above did not finish")
            score = state["score"]
            need = bar.value - bar.margin if lower_is_better else bar.value + bar.margin
            ok = score < need if lower_is_better else score > need
            if not ok:
                raise Mismatch(
                    f"held-out {metric} {score:.4f} should be {better} {need:.4f} ({bar.name} scores "
                    f"{bar.value:.4f}; a correct solution beats it by more than {bar.margin:g}): {advice}"
                )
        return run

    cases: list[tuple[str, Callable[[], None]]] = [("your training runs and gives a finite score", trains)]
    measured = list(bars()) if callable(bars) else list(bars)
    cases += [(f"beats {bar.name} ({metric} {bar.value:.4f}, margin {bar.margin:g})", beats(bar)) for bar in measured]
    run_cases(exercise, cases)
    return state["result"]
