"""HTTP routes served beside the Streamlit app by :mod:`sac.server` (never imported by pages)."""
