"""Shipped checkpoints of lectures 04-07: see :mod:`course_lib.pretrained.specs` for what a spec holds."""

from __future__ import annotations

from course_lib.pretrained.specs import Spec

SPECS: dict[str, Spec] = {}
