# Ramal in a container: build the binary, run it with the example flows.
#   docker build -t ramal . && docker run -p 8080:8080 ramal
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p ramal

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/ramal ramal
COPY --from=build /src/target/release/ramal /usr/local/bin/ramal
COPY flows /usr/share/ramal/flows
USER ramal
EXPOSE 8080
ENTRYPOINT ["ramal", "serve", "--flows", "/usr/share/ramal/flows", "--http", "0.0.0.0:8080"]
