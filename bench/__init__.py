"""Benchmarks: run with `bash scripts/run.sh bench` (or `.venv/bin/python -m bench`).

They print tables; they are not part of the test suite and assert nothing about speed.
"""
