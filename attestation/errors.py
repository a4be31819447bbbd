"""Errors of the attestation workflow, under the one :class:`AppError` root."""

from __future__ import annotations

from typing import Any

from server.errors import Conflict, Invalid


class RuleBroken(Invalid):
    """The request would break a rule of the regulation; ``rule`` is its REGULATION id
    (e.g. ``B2.7-notice-3d``) so the client can show which one."""

    code = "rule_broken"

    def __init__(self, rule: str, message: str, **extra: Any) -> None:
        super().__init__(message, rule=rule, **extra)
        self.rule = rule


class WrongState(Conflict):
    """The object's state does not allow this (a signed protocol, a closed vote…)."""

    code = "wrong_state"
