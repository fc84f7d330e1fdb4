"""Lab graders. ``course_lib.checks.labNN`` holds the checks of lab NN; the framework is in ``core``."""

from course_lib.checks.core import (
    Bar,
    Case,
    CheckFailure,
    Hints,
    Mismatch,
    Mistake,
    StudentError,
    all_children,
    call_student,
    check_answer,
    check_function,
    check_outcome,
    describe_difference,
    executed_layers,
    make_hint,
    run_cases,
)

__all__ = ["Bar", "Case", "CheckFailure", "Hints", "Mismatch", "Mistake", "StudentError", "all_children", "call_student",
           "check_answer", "check_outcome", "check_function", "describe_difference", "executed_layers", "make_hint", "run_cases"]
