# syntax=docker/dockerfile:1
#
# querystatus image: a release build on Debian 12, run as a non-root user.
#
#   docker build -t querystatus .
#   docker run --rm -e QS_DATABASE_URL=... querystatus migrate
#   docker run -p 8080:8080 -p 9090:9090 -e QS_DATABASE_URL=... -e QS_REDIS_URL=... querystatus
#
# Both stages use the same Debian release, so the runtime packages are the
# exact library versions the binary was linked against (libpistache0 and
# libpqxx-6.4 carry no ABI promise beyond their Debian version).

ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---- build ----------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS build

# prometheus-cpp-dev pulls civetweb and libcurl headers for its pull/push
# parts; the service links only prometheus-cpp::core.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      g++ make cmake pkg-config \
      libpistache-dev rapidjson-dev libpqxx-dev libhiredis-dev prometheus-cpp-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# .dockerignore keeps build dirs, .git, node_modules and secrets out of the
# context, so the commit for build_info comes in as a build argument:
#   docker build --build-arg QS_GIT_COMMIT=$(git rev-parse --short=12 HEAD) .
ARG QS_GIT_COMMIT=unknown
ENV QS_GIT_COMMIT=${QS_GIT_COMMIT}
COPY . .
# The same script the test command runs (cmake Release, tests off, strip).
RUN deploy/build-release build

# ---- runtime --------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS runtime

# Runtime libraries only (checked with readelf -d / ldd on a release build:
# the binary NEEDs libpistache.so.0, libpqxx-6.4.so, libhiredis.so.0.14,
# libprometheus-cpp-core.so.1.0; libpq5 and libssl3 come in as their
# dependencies). curl serves the HEALTHCHECK: it gives a status-aware probe
# (-f fails on 503/500) with a hard time limit, and costs little here because
# libcurl4 shares most of its dependencies (OpenSSL, Kerberos, LDAP) with
# libpq5, which the image needs anyway.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpistache0 libpqxx-6.4 libhiredis0.14 libprometheus-cpp-core1.0 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can verify it and
# volume ownership is predictable (--no-log-init: no sparse lastlog entry
# for a high uid).
RUN groupadd --gid 10001 querystatus \
 && useradd --uid 10001 --gid querystatus --no-create-home --no-log-init \
      --home-dir /nonexistent --shell /usr/sbin/nologin querystatus

COPY --from=build /src/build/querystatus /usr/local/bin/querystatus
COPY --from=build /src/migrations/ /app/migrations/

# `querystatus migrate` reads QS_MIGRATIONS_DIR (default ./migrations relative
# to the working directory); both point at /app/migrations.
WORKDIR /app
ENV QS_MIGRATIONS_DIR=/app/migrations

USER 10001:10001

# 8080: public API. 9090: admin listener (/healthz, /readyz, /metrics).
EXPOSE 8080 9090

# Liveness only: /healthz answers 200 while the process lives. Readiness
# (/readyz) is the load balancer's business. Set QS_HEALTHCHECK_URL when the
# admin listener is moved off 127.0.0.1:9090.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS --max-time 2 -o /dev/null "${QS_HEALTHCHECK_URL:-http://127.0.0.1:9090/healthz}" || exit 1

# The service drains on SIGTERM (fails /readyz, waits, finishes in-flight
# requests); give it drain delay + shutdown timeout (`docker stop -t 45`).
STOPSIGNAL SIGTERM
ENTRYPOINT ["querystatus"]
CMD ["serve"]
