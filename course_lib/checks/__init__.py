"""Lab graders. ``course_lib.checks.labNN`` holds the checks of lab NN; the framework is in ``core``."""

from course_lib.checks.core import (
    Case,
    CheckFailure,
    Mismatch,
    Mistake,
    StudentError,
    all_children,
    call_student,
    check_function,
    describe_difference,
    executed_layers,
    run_cases,
)

__all__ = ["Case", "CheckFailure", "Mismatch", "Mistake", "call_student", "check_function",
           "describe_difference", "run_cases", "all_children", "executed_layers", "StudentError"]
