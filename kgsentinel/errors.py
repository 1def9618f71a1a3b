"""The one exception tree of kgsentinel.

Library code raises these; the CLI turns them into one line and exit code 1.
Every message says what went wrong and, where there is one, the fix.

::

    KgsentinelError
    ├── ConfigError            bad or missing kgsentinel.toml, bad setting
    │   └── RuleError          a rule or shapes file is invalid, or its parameters
    ├── WorkspaceError         no workspace where one is needed, cannot create one
    ├── StoreError             the graph store failed
    │   ├── StoreLockedError   an embedded store is held by another process
    │   └── EndpointError      a remote SPARQL endpoint failed or refused
    ├── QueryError             a SPARQL query or update is invalid
    ├── RdfError               an RDF file or term is invalid
    │   └── InvalidIriError    a value cannot be written as an IRI
    ├── IngestError            a source cannot be ingested
    │   ├── MappingError       a mapping file is invalid (checked before any data is read)
    │   ├── SourceError        a source cannot be read (file, table, URL)
    │   │   └── LogFormatError an event log is corrupt or in no supported format
    │   ├── RejectRateError    too many rows were rejected: the run was undone
    │   └── EventError         posted CloudEvents were refused (each bad one named)
    ├── PredictionError        an outcome model cannot be trained, used, saved or loaded
    ├── SchedulerError         the scheduler cannot start (one already runs) or keep its jobs
    └── AlertError             an alert cannot be found, changed or routed
        └── DeliveryError      a sink could not deliver a notification

Example:
    >>> from kgsentinel.errors import KgsentinelError, QueryError
    >>> issubclass(QueryError, KgsentinelError)
    True
"""

from __future__ import annotations

__all__ = [
    "AlertError",
    "ConfigError",
    "DeliveryError",
    "EndpointError",
    "EventError",
    "IngestError",
    "InvalidIriError",
    "KgsentinelError",
    "LogFormatError",
    "MappingError",
    "PredictionError",
    "QueryError",
    "RdfError",
    "RejectRateError",
    "RuleError",
    "SchedulerError",
    "SourceError",
    "StoreError",
    "StoreLockedError",
    "WorkspaceError",
]


class KgsentinelError(Exception):
    """Base class of every error kgsentinel raises on purpose."""


class ConfigError(KgsentinelError):
    """The workspace configuration is missing, unreadable or invalid."""


class RuleError(ConfigError):
    """A rule or shapes file is invalid, or a rule's parameters are wrong."""


class WorkspaceError(KgsentinelError):
    """No workspace where one is needed, or one cannot be created."""


class StoreError(KgsentinelError):
    """The graph store failed to read or write."""


class StoreLockedError(StoreError):
    """An embedded store is already open in another process."""


class EndpointError(StoreError):
    """A remote SPARQL endpoint could not be reached or answered with an error."""


class QueryError(KgsentinelError):
    """A SPARQL query or update is invalid (syntax, unknown prefix, bad parameter)."""


class RdfError(KgsentinelError):
    """An RDF document or term is invalid."""


class InvalidIriError(RdfError):
    """A value cannot be written as an absolute IRI."""


class IngestError(KgsentinelError):
    """A source cannot be ingested."""


class MappingError(IngestError):
    """A mapping is invalid: unknown column, bad template, unknown prefix or datatype."""


class SourceError(IngestError):
    """A source cannot be read: missing file, bad format, unknown table, bad URL."""


class LogFormatError(SourceError):
    """An event log is corrupt or not in a supported format (bad XML, truncated gzip...)."""


class RejectRateError(IngestError):
    """More rows were rejected than the source allows; the run changed nothing."""


class EventError(IngestError):
    """Posted CloudEvents were refused; nothing of them was stored.

    ``rejects`` lists each bad event as ``(index, field, reason)``.

    Example:
        >>> EventError("1 of 2 events refused", [(1, "time", "not a time")]).rejects
        [(1, 'time', 'not a time')]
    """

    def __init__(self, message: str, rejects: list[tuple[int, str, str]]) -> None:
        super().__init__(message)
        self.rejects = rejects


class PredictionError(KgsentinelError):
    """An outcome model cannot be trained (too few cases, one class), used or loaded."""


class SchedulerError(KgsentinelError):
    """The scheduler cannot start (another one runs in the workspace) or keep its job store."""


class AlertError(KgsentinelError):
    """An alert cannot be found, changed or routed (unknown id, bad matcher, bad duration)."""


class DeliveryError(AlertError):
    """A sink could not deliver a notification.

    ``permanent`` failures (a rejected payload, bad credentials) are dead-lettered
    with the reason; others are retried with backoff, no sooner than
    ``retry_after`` seconds when the receiver asked for it.

    Example:
        >>> error = DeliveryError("slack answered 429", retry_after=30)
        >>> error.permanent, error.retry_after
        (False, 30)
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
