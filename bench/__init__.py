"""Benchmark: indexing throughput, index size, memory, query latency and one-document updates,
for reportsearch and for the textbook jieba + Whoosh baseline, on one deterministic corpus.

``python -m bench --docs N [--skip-baseline]`` prints one JSON object (see ``bench.run``).
"""
