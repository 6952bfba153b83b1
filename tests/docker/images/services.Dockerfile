# Stand-ins for the official postgres, memcached and redis images, which compose.yaml
# names but this machine cannot pull: Debian bookworm's PostgreSQL 15 and
# memcached and Redis 7 on the base from scripts/docker-base.sh. The postgres entry point
# keeps the official image's contract (POSTGRES_USER/PASSWORD/DB, PGPORT,
# data in /var/lib/postgresql/data, "postgres -c ..." as the command); all
# run as their own users, as in the official images.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        postgresql-15 memcached redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
    && chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql
COPY postgres-entrypoint.sh stand-in-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/stand-in-entrypoint.sh"]
