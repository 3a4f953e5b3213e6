# mockauth: a mock OAuth 2.0 / OpenID Connect provider for tests. TEST ONLY: its
# credentials are public; never put it in front of anything real.
#   docker build -t mockauth . && docker run --rm -p 8080:8080 mockauth
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/mockauth
COPY pyproject.toml README.md ./
COPY mockauth ./mockauth
# The checkout itself is installed: there is no released version to pin.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[yaml]" \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin mockauth

USER 10001
EXPOSE 8080

# Inside a container 0.0.0.0 is the only way in (through the published port), so
# mockauth's warning about a non-loopback bind is expected here. The admin API
# stays loopback-only: reach it with `docker exec`, or see the README.
ENTRYPOINT ["mockauth", "serve", "--host", "0.0.0.0"]
CMD ["--port", "8080"]
