# prwatch: one image for the web app, the workers and the migrations (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # inside a container the web app must listen beyond loopback
    PRWATCH_HOST=0.0.0.0 \
    PRWATCH_PORT=8000

WORKDIR /app
COPY pyproject.toml README.md app-manifest.yml ./
COPY prwatch ./prwatch
RUN pip install . && rm -rf /app/prwatch /app/build

# The App's private key is bind-mounted with its host mode (0600): give the user the host's uid
# (docker compose passes PRWATCH_UID as UID) so that it can read it.
ARG UID=1000
RUN useradd --uid "${UID}" --create-home --shell /usr/sbin/nologin prwatch
USER prwatch

EXPOSE 8000
CMD ["prwatch", "serve"]
