"""Exceptions: the C API's statuses as Python exceptions."""
from . import _lib


class MlxpackError(Exception):
    """An error of the mlxpack library."""


class FormatError(MlxpackError, ValueError):
    """A file that breaks a rule of the .mlxpack format (spec/FORMAT.md §9).

    `rule` is the rule's identifier ("bad_magic", "checksum_mismatch", ...) or
    None when the error names no rule."""

    def __init__(self, message, rule=None):
        super().__init__(message)
        self.rule = rule


def check(status):
    """Raises the exception for a failed C API call's status."""
    if status == _lib.OK:
        return
    message = _lib.lib.mlxpack_last_error().decode("utf-8", "replace")
    rule_code = _lib.lib.mlxpack_last_format_error()
    rule = _lib.lib.mlxpack_error_rule_name(rule_code)
    if rule is not None:
        raise FormatError(message, rule.decode())
    if status == _lib.NOT_FOUND:
        raise KeyError(message)
    if status == _lib.INVALID_ARGUMENT:
        raise ValueError(message)
    if status in (_lib.CORRUPTION, _lib.UNSUPPORTED):
        raise FormatError(message)
    if "no such file or directory" in message.lower():
        raise FileNotFoundError(message)
    raise OSError(message)
