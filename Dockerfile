# One image with both binaries; docker-compose picks the command.
FROM rust:1-bookworm AS build
WORKDIR /src
# The same list `make` installs from (scripts/build-deps.txt).
COPY scripts/build-deps.txt /tmp/build-deps.txt
RUN apt-get update \
 && grep -v '^#' /tmp/build-deps.txt | awk 'NF { print $1 }' \
    | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked --bin avenue-media --bin avenue-api

FROM debian:bookworm-slim
# libheif1 decodes HEIC and AVIF originals: the media binary links it.
# The fonts are what text layers are set in (README, Cloudinary table);
# poppler-utils draws PDF pages and ffmpeg decodes video frames, each run
# as a bounded child process.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libheif1 \
    fonts-liberation fonts-dejavu-core poppler-utils ffmpeg \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 avenue
COPY --from=build /src/target/release/avenue-media /src/target/release/avenue-api /usr/local/bin/
USER avenue
ENV LOG_FORMAT=json
