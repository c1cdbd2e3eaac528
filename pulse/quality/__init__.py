"""Quality gates: what is expected (suites), the Great Expectations project as code, the runner and
its results.
"""
