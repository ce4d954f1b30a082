# For compose.yaml: Baton and its command-line tool in one image.
FROM python:3.11-slim
WORKDIR /opt/baton
COPY pyproject.toml README.md ./
COPY src ./src
COPY runbooks ./runbooks
RUN pip install --no-cache-dir .
USER nobody
