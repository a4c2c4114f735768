"""The thin Streamlit layer between pages and the pure ``sac`` domain.

Only this package (and ``app.py`` / ``pages/``) imports streamlit. ``cache`` is
the one module that owns ``st.cache_data`` / ``st.cache_resource``.
"""
