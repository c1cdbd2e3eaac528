"""One community_metrics run: run records, ingest freshness, the steps, dbt, the local Airflow
harness.
"""
