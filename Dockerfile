# Multi-stage image of the native server. Build: `docker build -t z-ai-proxy .`
# (podman: `podman build --format docker -t z-ai-proxy .` so HEALTHCHECK is kept).

FROM debian:bookworm AS build
WORKDIR /src
COPY CMakeLists.txt ./
COPY scripts ./scripts
COPY src ./src
COPY native ./native
# The same install-and-build steps as the README's run command.
RUN apt-get update && bash scripts/build-native.sh && strip build/z-ai-proxy

FROM debian:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 libhiredis0.14 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin zproxy
COPY --from=build /src/build/z-ai-proxy /usr/local/bin/z-ai-proxy
USER zproxy
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/z-ai-proxy", "--healthcheck"]
ENTRYPOINT ["/usr/local/bin/z-ai-proxy"]
