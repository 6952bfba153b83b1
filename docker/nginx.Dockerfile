# The reverse proxy image: Debian bookworm's nginx (1.22, the version the
# tests in tests/production run) plus openssl for the self-signed certificate.
#   docker build -f docker/nginx.Dockerfile -t tilemaker-nginx docker/
# BASE_IMAGE: any Debian bookworm image (scripts/docker-base.sh builds one).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx openssl \
    && rm -rf /var/lib/apt/lists/* \
    && rm -f /etc/nginx/sites-enabled/default
COPY nginx.conf /etc/tilemaker/nginx.conf.template
COPY render-nginx.sh /usr/local/bin/render-nginx.sh
EXPOSE 80 443
STOPSIGNAL SIGQUIT
CMD ["/bin/sh", "-c", "render-nginx.sh && exec nginx -g 'daemon off;'"]
