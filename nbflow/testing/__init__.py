"""Importable contract suites: a new backend proves itself with one small test file.

* :mod:`nbflow.testing.executors` -- the :class:`~nbflow.executors.Executor` contract.

This package needs pytest; nothing else in nbflow imports it.
"""
