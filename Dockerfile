# syntax=docker/dockerfile:1
#
# mdouyin's one image: every role of the cluster runs from it (`serve --role=NAME`),
# and with no arguments it runs every role in one process on embedded defaults.
#
#   docker build -t mdouyin .
#   docker run --rm -p 8080:8080 -v mdouyin-data:/data mdouyin          # one process
#   docker compose -f deploy/compose.yaml up --build                     # the whole cluster
#
# deploy/deploytest checks this file's essentials (stages, ffmpeg, user, ports).

ARG GO_VERSION=1.26

# --- build: a static binary. Every dependency is pure Go (modernc.org/sqlite
# included), so cgo is off and the binary needs no libc of a particular version.
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first: a change to the code alone reuses this layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/mdouyin ./cmd/mdouyin

# --- runtime: Debian, because uploads need ffmpeg and ffprobe (validation by a
# full decode, covers, faststart). tzdata: create_date is rendered in
# time_zone (Asia/Shanghai by default) and start-up refuses an unknown zone.
FROM debian:bookworm-slim
RUN apt-get -o Acquire::Retries=3 update \
    && apt-get -o Acquire::Retries=3 install -y --no-install-recommends ffmpeg ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid, so that Kubernetes' runAsNonRoot can verify it and
# volume ownership (fsGroup) is predictable.
RUN groupadd --system --gid 10001 mdouyin \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin mdouyin \
    && install -d -o 10001 -g 10001 -m 0750 /data
COPY --from=build /out/mdouyin /usr/local/bin/mdouyin

# The data directory holds SQLite files, media, the embedded NATS store and the
# generated JWT secret in one-process mode; in a cluster only scratch files and
# the comment-admin role's search index.
ENV MDOUYIN_DATA_DIR=/data \
    MDOUYIN_HTTP_ADDR=:8080 \
    MDOUYIN_RPC_ADDR=:9100
VOLUME /data
WORKDIR /data
USER 10001:10001
# 8080: HTTP (the API on the gateway; /healthz, /readyz and /metrics on every
# role). 9100: Kitex RPC of a role process.
EXPOSE 8080 9100

# The image has neither curl nor wget, and the binary has no probe command:
# bash's /dev/tcp sends one GET /healthz to the port MDOUYIN_HTTP_ADDR names and
# wants a 200 status line. Kubernetes ignores this and uses the manifests' probes.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${MDOUYIN_HTTP_ADDR##*:} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && IFS= read -r -t 4 status <&3 && [[ $status == HTTP/1.?' 200 '* ]]"]

ENTRYPOINT ["/usr/local/bin/mdouyin"]
CMD ["serve"]
