"""The HTTP API under ``/api/v1`` (docs/API.md): service tokens (:mod:`sac.api.tokens`), the route table and its
handlers (:mod:`sac.api.endpoints`, :mod:`sac.api.spec`), and the Starlette app that serves them
(:mod:`sac.api.app`). Starlette is imported only when the server asks for the routes, so the CLI's
``users token`` commands do not load it."""

from __future__ import annotations


def routes() -> list:
    from sac.api.app import routes as api_routes

    return api_routes()
