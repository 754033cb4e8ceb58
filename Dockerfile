# ims-relay container image. Build: docker build -t ims-relay .
# Run:   docker run --rm -p 127.0.0.1:2525:2525 ims-relay            (serve, capture mode)
#        docker run --rm ims-relay --help                               (other subcommands)
# See docs/docker.md.

# ---- build stage: full install (typescript is a devDependency), the native SQLite module compiled
# from source (better-sqlite3: the message store's index; about 1.5 min), and tsc into dist/ ----
FROM node:20-bookworm-slim AS build
# compilers for node-gyp; they stay in this stage, the runtime image has none
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# dependencies first, so that a source change does not re-run the install
COPY package.json package-lock.json ./
# --ignore-scripts here: `prepare` (the build) needs src/, which is copied below; better-sqlite3's
# own install script (a prebuilt binary if one can be fetched, else node-gyp) is run by the rebuild
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && npm rebuild better-sqlite3 \
  && node -e "new (require('better-sqlite3'))(':memory:').exec('CREATE VIRTUAL TABLE t USING fts5(x)')"
COPY tsconfig.json tsconfig.build.json tsconfig.cjs.json ./
COPY scripts/mark-cjs-build.mjs ./scripts/
COPY src ./src
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && npm cache clean --force

# ---- runtime stage: production dependencies (with the compiled module) + bin/ + dist/ only ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
# `ims-relay` on the PATH for `docker exec CONTAINER ims-relay ...`
RUN ln -s /app/bin/ims-relay.js /usr/local/bin/ims-relay \
  && mkdir -p /var/spool/ims-relay \
  && chown node:node /var/spool/ims-relay

# Every setting is an environment variable IMS_RELAY_<NAME> (`ims-relay serve --help`).
# Defaults for a container: SMTP on all interfaces, spool on the volume, capture mode.
# The admin API stays on its default 127.0.0.1:8025 (inside the container) because a non-loopback
# IMS_RELAY_HTTP needs IMS_RELAY_ADMIN_TOKEN and an image must not ship a token; to publish it run
# with -e IMS_RELAY_HTTP=0.0.0.0:8025 -e IMS_RELAY_ADMIN_TOKEN=... (docker-compose.yml does).
# IMS_RELAY_HOSTNAME defaults to the container's host name.
ENV IMS_RELAY_SMTP=0.0.0.0:2525 \
    IMS_RELAY_SPOOL=/var/spool/ims-relay \
    IMS_RELAY_MODE=capture

VOLUME ["/var/spool/ims-relay"]
EXPOSE 2525 8025
USER node

# healthy = the relay answers SMTP with 220 (and its admin API, when it has one, /healthz and
# /readyz: low free disk makes it unhealthy); `health` finds the address in $IMS_RELAY_SPOOL/ims-relay.json
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD node /app/bin/ims-relay.js health --timeout 3000 || exit 1

# node is PID 1 and gets SIGTERM directly (exec form, no shell); `serve` handles SIGTERM/SIGINT.
# Arguments after the image name replace CMD: `docker run IMAGE health --smtp HOST:PORT`.
ENTRYPOINT ["node", "/app/bin/ims-relay.js"]
CMD ["serve"]
