"""The error every validator raises: a message naming the bad value (for the ETL's own reject records) and the
problem without it (for reasons shown back to whoever sent a file: never the file's content)."""

from __future__ import annotations


class InvalidValue(ValueError):
    """``str()`` names the value, e.g. ``close 2000.123456789 has more than 8 decimal places``; ``problem`` does
    not: ``close has more than 8 decimal places``."""

    def __init__(self, message: str, problem: str):
        super().__init__(message)
        self.problem = problem


def problem_of(err: Exception) -> str:
    """What is wrong, without quoting any value: ``err.problem``, or only its kind for any other error."""
    return err.problem if isinstance(err, InvalidValue) else f"invalid value ({type(err).__name__})"
