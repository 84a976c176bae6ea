# syntax=docker/dockerfile:1
# NeoSC API. Build from the repository root:
#   docker build -f deploy/docker/api.Dockerfile -t neosc/api .
# The build stage bundles apps/api with esbuild (workspace packages inlined); the runtime stage
# holds only the bundle and the production dependencies it loads (no dev dependencies, no pnpm).

FROM node:20.20-bookworm-slim AS build
ENV CI=true
RUN npm install --global pnpm@10.34.9
WORKDIR /src
# Manifests first, so dependency installation is cached until a manifest or the lockfile changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json ./
COPY apps/api/package.json apps/api/
COPY apps/gateway/package.json apps/gateway/
COPY apps/portal/package.json apps/portal/
COPY packages/core/package.json packages/core/
COPY packages/db/package.json packages/db/
COPY packages/auth/package.json packages/auth/
COPY packages/router/package.json packages/router/
COPY packages/client/package.json packages/client/
COPY packages/gateway/package.json packages/gateway/
COPY packages/host/package.json packages/host/
COPY packages/provisioner/package.json packages/provisioner/
COPY packages/provisioner-kubernetes/package.json packages/provisioner-kubernetes/
COPY deploy/package.json deploy/
COPY e2e/package.json e2e/
RUN pnpm install --frozen-lockfile --filter "@neosc/api..."
COPY packages packages
COPY apps/api apps/api
COPY scripts/bundle-app.mjs scripts/
RUN pnpm --filter @neosc/api build \
  && pnpm --filter @neosc/api deploy --prod --legacy /out \
  && rm -rf /out/dist \
  && cp -R apps/api/dist /out/dist

FROM node:20.20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    METRICS_PORT=9464
WORKDIR /app
# Owned by root, read-only to the process: the API writes nothing to its own files.
COPY --from=build /out/package.json ./package.json
COPY --from=build /out/node_modules ./node_modules
COPY --from=build /out/dist ./dist
# uid 1000 is the image's `node` user; numeric so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 8080 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.mjs"]
