"""Why the distributed executor cannot run, importable without loading procrastinate."""


class DistributedUnavailable(RuntimeError):
    """The distributed executor cannot run here; the message says why and what to do."""
