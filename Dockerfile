# One image for every Keel process; the command picks the role:
#   API:             node --heap-growing-percent=50 --import tsx api/main.ts, with MALLOC_ARENA_MAX=2
#                    (api/process-memory.ts: what keeps its RSS level under load; the CMD below)
#   pipeline worker: node --import tsx workers/pipeline-worker.ts
#   training worker: node --import tsx workers/training-worker.ts
# The services run TypeScript through tsx (a runtime dependency), so there is no separate build step.

FROM node:20-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Production dependencies only; native modules (onnxruntime-node, DuckDB, Temporal core) come prebuilt.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production \
    KEEL_DATA_DIR=/var/lib/keel \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY . .
# The data directory is a mount point for the shared artifact volume; it must belong to the runtime user
# so a fresh named volume inherits that ownership.
RUN mkdir -p /var/lib/keel && chown node:node /var/lib/keel
USER node
EXPOSE 3000
# The API's memory settings (api/process-memory.ts), for the API only: workers run DuckDB's threads, which want arenas.
# An operator's own MALLOC_ARENA_MAX (docker run -e) is kept; exec keeps node the process that gets the signals.
CMD ["sh", "-c", "MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} exec node --heap-growing-percent=50 --import tsx api/main.ts"]
