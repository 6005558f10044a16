# The civic platform as one image: API hosts (`civic serve`), job workers (`civic twin worker`)
# and one-shot commands (`civic db upgrade`, `civic ingest`, `civic twin sweep`). Versions pinned
# by requirements.lock.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CIVIC_HOST=0.0.0.0 CIVIC_PORT=8000 CIVIC_DATA_DIR=/var/lib/civic \
    CIVIC_DATASETS_DIR=/app/datasets

WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY opendata ./opendata
COPY twin ./twin
COPY api ./api
COPY datasets ./datasets
RUN pip install -c requirements.lock '.[postgres,s3,redis,dask]' \
    && useradd --system --home-dir /var/lib/civic --create-home civic
USER civic
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s CMD python -c "import os, sys, urllib.request; \
    port = os.environ.get('CIVIC_PORT', '8000'); \
    sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz').status != 200)"
CMD ["civic", "serve"]
