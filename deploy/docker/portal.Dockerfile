# syntax=docker/dockerfile:1
# NeoSC portal: the built SPA plus a small Node static server that writes /config.json from the
# environment at start (deploy/docker/portal-server.mjs). Build from the repository root:
#   docker build -f deploy/docker/portal.Dockerfile -t neosc/portal .

FROM node:20.20-bookworm-slim AS build
ENV CI=true
RUN npm install --global pnpm@10.34.9
WORKDIR /src
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
RUN pnpm install --frozen-lockfile --filter "@neosc/portal..."
COPY packages packages
COPY apps/portal apps/portal
RUN pnpm --filter @neosc/portal build

FROM node:20.20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    NEOSC_PORTAL_ROOT=/app/public
WORKDIR /app
COPY deploy/docker/portal-server.mjs ./server.mjs
COPY --from=build /src/apps/portal/dist ./public
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "server.mjs"]
