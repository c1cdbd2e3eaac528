# Images of the pipeline's own services for docker-compose.yml, installed from the lock.
#   target `pulse`:   the consumer, `db init`, topics and the generator (entrypoint `pulse`):
#                     the core package only (what ingest needs), no dbt, Great Expectations or
#                     Airflow
#   target `airflow`: Airflow 3 with this package (extras `pipeline` and `celery`: the
#                     CeleryExecutor's provider, used by the compose profile `celery`) and the
#                     DAGs baked in

FROM python:3.11.7-slim-bookworm AS pulse
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY pulse ./pulse
COPY streaming ./streaming
RUN pip install --no-cache-dir pip==26.3 \
    && pip install --no-cache-dir -c constraints.txt .
USER nobody
ENTRYPOINT ["pulse"]

FROM apache/airflow:3.3.2-python3.11 AS airflow
COPY --chown=airflow:root pyproject.toml README.md constraints.txt /opt/pulse/
COPY --chown=airflow:root pulse /opt/pulse/pulse
COPY --chown=airflow:root streaming /opt/pulse/streaming
COPY --chown=airflow:root dbt_project /opt/pulse/dbt_project
COPY --chown=airflow:root expectations /opt/pulse/expectations
COPY --chown=airflow:root dags /opt/airflow/dags
# Editable: the package finds dbt_project/ and expectations/ beside itself.
RUN pip install --no-cache-dir -c /opt/pulse/constraints.txt -e "/opt/pulse[pipeline,celery]"
