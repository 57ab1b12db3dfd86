# Ramal in a container: build the binary and the browser editor, run them with the
# example flows.
#   docker build -t ramal . && docker run -p 8080:8080 ramal
FROM rust:1.95-bookworm AS build
# Node and npm: wasm-opt comes from the npm package binaryen (cargo xtask editor).
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo xtask editor && cargo build --release -p ramal

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/ramal ramal
COPY --from=build /src/target/release/ramal /usr/local/bin/ramal
COPY --from=build /src/flow-editor/dist /usr/share/ramal/editor
COPY flows /usr/share/ramal/flows
USER ramal
EXPOSE 8080
ENTRYPOINT ["ramal", "serve", "--flows", "/usr/share/ramal/flows", "--editor", "/usr/share/ramal/editor", "--http", "0.0.0.0:8080"]
