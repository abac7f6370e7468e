"""How a handler says something other than "done": retry me later (`podium_shared.errors.TransientError`,
kept in errors.py so plumbing can raise it), or I stopped because of a cancel (`Cancelled`, here).

Both are PodiumErrors so they carry a sentence a person understands; the runner stores `{code, message}`
on the operation. Everything else a handler raises is permanent: a PodiumError fails the operation with its
own message, and any other exception is first classified by `podium_shared.kube.errors.classify`."""

from __future__ import annotations

from podium_shared.errors import PodiumError


class Cancelled(PodiumError):
    status = 409
    code = "cancelled"

    def __init__(self, message: str = "cancelled at the user's request") -> None:
        super().__init__(message)
