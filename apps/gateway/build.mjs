// Bundles the gateway process into one ESM file (workspace packages inlined, other packages
// loaded from apps/gateway/node_modules), like apps/api's build.
import { build } from "esbuild";

await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/gateway.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
  plugins: [
    {
      name: "externalize-dependencies",
      setup(pluginBuild) {
        pluginBuild.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith("@neosc/") || args.path.startsWith("node:")
            ? undefined
            : { path: args.path, external: true },
        );
      },
    },
  ],
});
console.log("build: dist/gateway.mjs");
