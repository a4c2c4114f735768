"""Data shaping for the dashboard pages (issue 4): pure functions and thin store readers, no streamlit.

One module per page family: ``situation`` (situation room), ``rating`` (regional rating),
``region`` (region profile). They combine the ``sac.metrics`` engines into the frames the
pages render; metric arithmetic itself stays in ``sac.metrics``.
"""
