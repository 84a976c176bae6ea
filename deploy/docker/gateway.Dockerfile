# syntax=docker/dockerfile:1
# NeoSC workspace gateway (apps/gateway). Build from the repository root:
#   docker build -f deploy/docker/gateway.Dockerfile -t neosc/gateway .
# Like the API image: the build stage bundles apps/gateway with esbuild, the runtime stage holds
# only the bundle and its production dependencies.

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
RUN pnpm install --frozen-lockfile --filter "@neosc/gateway-app..."
COPY packages packages
COPY apps/gateway apps/gateway
COPY scripts/bundle-app.mjs scripts/
RUN pnpm --filter @neosc/gateway-app build \
  && pnpm --filter @neosc/gateway-app deploy --prod --legacy /out \
  && rm -rf /out/dist \
  && cp -R apps/gateway/dist /out/dist

FROM node:20.20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8081
WORKDIR /app
COPY --from=build /out/package.json ./package.json
COPY --from=build /out/node_modules ./node_modules
COPY --from=build /out/dist ./dist
USER 1000:1000
EXPOSE 8081
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8081)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/gateway.mjs"]
