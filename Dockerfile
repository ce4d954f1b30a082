# For compose.yaml: Baton and its command-line tool in one image. The home volume is
# mounted at /srv/baton; a new named volume takes this directory's owner, so the
# unprivileged user can write there.
FROM python:3.11-slim
WORKDIR /opt/baton
COPY pyproject.toml README.md ./
COPY src ./src
COPY runbooks ./runbooks
RUN pip install --no-cache-dir . && mkdir -p /srv/baton && chown nobody /srv/baton
USER nobody
EXPOSE 8080
