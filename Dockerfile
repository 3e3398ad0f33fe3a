# Image of the nurture worker and web app (docker-compose.yml runs both from it).
#   docker build -t nurture .
#   worker (default):  docker run nurture
#   web app:           docker run -p 8000:8000 nurture nurture web --host 0.0.0.0 --port 8000
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The project with its PostgreSQL driver (the `postgres` extra of pyproject.toml: psycopg[binary]).
COPY . .
RUN pip install --no-cache-dir ".[postgres]"

# The installed `nurture` package lives in site-packages, so name the data directories explicitly
# instead of relying on paths relative to the package.
ENV NURTURE_CADENCES_DIR=/app/cadences \
    NURTURE_TEMPLATES_DIR=/app/templates \
    NURTURE_DATA_DIR=/app/data

# Run as an unprivileged user; it may write only its data directory.
RUN useradd --system --user-group --uid 10001 --home-dir /app --no-create-home nurture \
    && mkdir -p /app/data \
    && chown nurture:nurture /app/data
USER nurture

EXPOSE 8000
CMD ["python", "worker.py"]
