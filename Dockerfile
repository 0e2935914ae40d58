# syntax=docker/dockerfile:1
#
#   docker build -t nextbest .
#   docker run -p 3000:3000 -v nextbest-data:/data nextbest
#   docker run ... -v "$PWD/rules:/app/rules:ro" nextbest     # serve (and hot-reload) your own rules

# ---- build: compile TypeScript and the native sqlite addon, then drop dev dependencies
FROM node:24-slim AS build
WORKDIR /app

# better-sqlite3 downloads a prebuilt addon when one matches the platform and
# Node ABI; when none does it compiles one with node-gyp, which needs these.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

# Dependencies first, so this layer stays cached while only src/ changes. Scripts
# are skipped because the package's own `prepare` compiles src/, which is not
# here yet; the one production install script (better-sqlite3's addon) then runs
# through `npm rebuild`. NODE_ENV is unset in this stage, so devDependencies
# (typescript) are installed.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime
FROM node:24-slim
LABEL org.opencontainers.image.title="nextbest" \
      org.opencontainers.image.description="Next-best content and offer decisions from json-rules-engine rules"

ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    RULES_DIR=/app/rules \
    SQLITE_PATH=/data/profiles.db

WORKDIR /app
# Code and rules stay owned by root: the service only reads them.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY rules ./rules

# Created and handed to node before VOLUME, so a new named volume starts out
# writable by node (changes to a volume path after VOLUME would be discarded).
RUN mkdir -p /data && chown node:node /data
VOLUME /data

USER node
EXPOSE 3000

# slim images have no curl; Node's built-in fetch does the probe.
HEALTHCHECK --interval=15s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# node itself, not `npm start`, so SIGTERM reaches the service and it can drain
# and flush (npm start would also rebuild through prestart).
CMD ["node", "dist/main.js"]
