"""Metrics of METHODOLOGY.md: pure functions over frames, plus thin store readers.

Modules: ``plan_fact`` (section 2), ``ratings`` (section 3), ``progress`` (section 4),
``budget`` (section 5); projects, goal map, quality, instructions and exceptions
(sections 6-10) live beside them. Every result frame carries ``methodology_version``.
"""
