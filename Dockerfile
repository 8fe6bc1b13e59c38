# KV image: a build stage with the compiler toolchain and every dependency, then a runtime stage
# with only dist/, the production node_modules and package.json, run as the non-root `node` user.
#
#   docker build -t kv .
#   docker run -p 8080:8080 kv                              # embedded store in the /data volume
#   docker run -p 8080:8080 -e REDIS_URL=redis://host:6379 kv

FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary matches the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Dependencies first, so a change under src/ reuses this layer. --ignore-scripts skips the
# "prepare" build (the sources are not here yet); the one production dependency with an install
# script, the native SQLite driver, is then built on its own.
# The client's manifest too: it is a workspace of the lock file, which npm ci installs as a whole.
COPY package.json package-lock.json ./
COPY packages/client/package.json ./packages/client/
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# The build also builds the client (packages/client) and the console (console/, which bundles the
# client) into dist/console, which the service serves.
COPY packages ./packages
COPY console ./console
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=8080 KV_DATA_DIR=/data
WORKDIR /app
# Owned by root: the process can read its code but not change it.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The embedded store's folder, for `docker run` without Redis; unused when REDIS_URL is set.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
# No curl in the slim image: node itself asks /healthz (process up; /readyz is for load balancers).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM itself (no shell, no npm), so KV drains and exits 0.
CMD ["node", "dist/main.js"]
