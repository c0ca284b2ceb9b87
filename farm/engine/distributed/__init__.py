"""Scale-out on procrastinate: the queue lives in the registry's PostgreSQL database.

- :mod:`~farm.engine.distributed.queue`: connection info, locks, deferring
  a job, the queue's schema; light enough for any command to import;
- :mod:`~farm.engine.distributed.app`: the procrastinate app and its
  ``farm.sync_site`` task;
- :mod:`~farm.engine.distributed.executor`: runs a whole sync through the
  queue and follows it (``farm sync --executor distributed``);
- :mod:`~farm.engine.distributed.worker`: what a ``farm worker`` process runs;
- :mod:`~farm.engine.distributed.schedule`: the cluster-wide scheduler tick.

Each module imports only those above it in this list, and the package
itself imports none of them: ``import farm.engine.distributed.errors``
must not load procrastinate.
"""
