"""Sign-in routes (placeholder until sessions are built)."""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.routing import Route


def _ping(request):
    return PlainTextResponse("ok")


def routes() -> list:
    return [Route("/sign-in-ping", _ping)]
