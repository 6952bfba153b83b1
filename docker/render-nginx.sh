#!/bin/sh
# Write a runnable nginx.conf from the docker/nginx.conf template, and a
# self-signed TLS certificate when none is mounted (browsers only speak
# HTTP/2 over TLS). Run by the nginx image at start-up and by tests/production.
#
# Environment (defaults suit docker/compose.yaml):
#   NGINX_TEMPLATE        template path                  /etc/tilemaker/nginx.conf.template
#   NGINX_OUTPUT          where the config is written    /etc/nginx/nginx.conf
#   TILEMAKER_UPSTREAMS   "host:port host:port ..."      built from the next three
#   TILEMAKER_APP_HOST    the app container's host name  app
#   TILEMAKER_WORKERS     daphne workers in it           2
#   TILEMAKER_WORKER_BASE_PORT  port of the first one    8001
#   TILEMAKER_WORKER_BASE_PORTS "8001 8101": one base port per app container
#   NGINX_SERVER_NAME     server_name and certificate CN localhost
#   NGINX_HTTP_PORT / NGINX_HTTPS_PORT                   80 / 443
#   NGINX_HTTPS_REDIRECT_PORT  public HTTPS port if not 443 (e.g. 8443)
#   NGINX_CERT / NGINX_KEY     PEM files                 /etc/nginx/tls/cert.pem, key.pem
#   NGINX_RUNTIME_DIR     pid file and temp files        /var/run/nginx-tilemaker
#   NGINX_USER            worker processes' user         www-data
#   NGINX_ERROR_LOG / NGINX_ACCESS_LOG                   /dev/stderr / /dev/stdout
set -eu

template=${NGINX_TEMPLATE:-/etc/tilemaker/nginx.conf.template}
output=${NGINX_OUTPUT:-/etc/nginx/nginx.conf}
server_name=${NGINX_SERVER_NAME:-localhost}
cert=${NGINX_CERT:-/etc/nginx/tls/cert.pem}
key=${NGINX_KEY:-/etc/nginx/tls/key.pem}
runtime_dir=${NGINX_RUNTIME_DIR:-/var/run/nginx-tilemaker}

upstreams=${TILEMAKER_UPSTREAMS:-}
if [ -z "$upstreams" ]; then
    workers=${TILEMAKER_WORKERS:-2}
    for port in ${TILEMAKER_WORKER_BASE_PORTS:-${TILEMAKER_WORKER_BASE_PORT:-8001}}; do
        i=0
        while [ "$i" -lt "$workers" ]; do
            upstreams="$upstreams ${TILEMAKER_APP_HOST:-app}:$port"
            port=$((port + 1))
            i=$((i + 1))
        done
    done
fi

servers=""
for address in $upstreams; do
    servers="$servers        server $address max_fails=1 fail_timeout=5s;\\
"
done
if [ -z "$servers" ]; then
    echo "render-nginx: no upstream workers (TILEMAKER_UPSTREAMS or TILEMAKER_WORKERS)" >&2
    exit 1
fi

redirect_port=""
if [ -n "${NGINX_HTTPS_REDIRECT_PORT:-}" ] && [ "${NGINX_HTTPS_REDIRECT_PORT}" != "443" ]; then
    redirect_port=":${NGINX_HTTPS_REDIRECT_PORT}"
fi

if [ ! -s "$cert" ] || [ ! -s "$key" ]; then
    echo "render-nginx: no certificate at $cert, making a self-signed one for $server_name" >&2
    mkdir -p "$(dirname "$cert")" "$(dirname "$key")"
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$server_name" \
        -addext "subjectAltName=DNS:$server_name,DNS:localhost,IP:127.0.0.1" \
        -keyout "$key" -out "$cert" 2>/dev/null
    chmod 600 "$key"
fi

mkdir -p "$runtime_dir"
sed \
    -e "s#@UPSTREAM_SERVERS@#${servers%\\
}#" \
    -e "s#@USER@#${NGINX_USER:-www-data}#" \
    -e "s#@RUNTIME_DIR@#$runtime_dir#g" \
    -e "s#@ERROR_LOG@#${NGINX_ERROR_LOG:-/dev/stderr}#" \
    -e "s#@ACCESS_LOG@#${NGINX_ACCESS_LOG:-/dev/stdout}#" \
    -e "s#@SERVER_NAME@#$server_name#g" \
    -e "s#@HTTP_PORT@#${NGINX_HTTP_PORT:-80}#" \
    -e "s#@HTTPS_PORT@#${NGINX_HTTPS_PORT:-443}#" \
    -e "s#@HTTPS_REDIRECT_PORT@#$redirect_port#" \
    -e "s#@CERT_FILE@#$cert#" \
    -e "s#@KEY_FILE@#$key#" \
    "$template" >"$output"
echo "render-nginx: $output proxies to:$upstreams" >&2
