# Image of the pipeline's own services (consumer, db init, generator) for docker-compose.yml.
FROM python:3.11.7-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pulse ./pulse
COPY streaming ./streaming
COPY dbt_project ./dbt_project
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT ["pulse"]
