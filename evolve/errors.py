"""The one exception family for errors a user can cause and fix.

Every message says what is wrong and what to do. The CLI prints the message on one
line and exits non-zero; library users catch ``EvolveError``.
"""


class EvolveError(Exception):
    """Base of every error a user can cause (bad problem, config, model, storage...)."""


class ProblemError(EvolveError):
    """The problem cannot work: missing file, syntax error, seed that fails, bad score."""


class ConfigError(EvolveError):
    """The configuration is invalid or contradicts the stored campaign."""


class StorageError(EvolveError):
    """The archive cannot be opened or migrated."""


class SandboxError(EvolveError):
    """The requested sandbox backend is not available on this machine."""


class OperatorError(EvolveError):
    """The operator cannot start: unreachable model, missing API key, bad model spec."""


class CampaignNotFound(EvolveError):
    """No campaign with that name in the given storage."""
