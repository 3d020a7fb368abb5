"""Imported by the multiprocessing fork server (web admin runs): load the lazy tables once,
so every worker forked from it starts warm.  See :func:`indexer.pipeline.workers.warm_up`."""
from .workers import warm_up

warm_up()
