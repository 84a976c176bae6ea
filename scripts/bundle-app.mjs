// Bundles an app (apps/api, apps/gateway) into one ESM file: workspace packages (@neosc/*,
// consumed as TypeScript source) are inlined; every other package stays external and is loaded
// from the app's node_modules at run time, so native modules (@node-rs/argon2) and the MongoDB
// driver keep their own layout. A third-party import that the app cannot resolve fails the build
// instead of the first request. esbuild itself is the app's (a devDependency there).
//
// Code splitting keeps a dynamic `import()` lazy: a module loaded only on demand (the Kubernetes
// driver and its client, about a second at start) goes into a chunk beside the entry, with its
// own imports, instead of being hoisted into the entry and loaded by every process.
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** @param {{ appDir: URL, entry: string, outfile: string }} options */
export async function bundleApp({ appDir, entry, outfile }) {
  const require = createRequire(new URL("./package.json", appDir));
  const { build } = require("esbuild");
  const externals = new Set();
  const outdir = path.dirname(outfile);
  await rm(new URL(`./${outdir}/chunks/`, appDir), { recursive: true, force: true });
  await build({
    absWorkingDir: fileURLToPath(appDir),
    entryPoints: { [path.basename(outfile, ".mjs")]: entry },
    outdir,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    splitting: true,
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
          pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.path.startsWith("@neosc/") || args.path.startsWith("node:")) return undefined;
            externals.add(args.path);
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  const unresolved = [...externals].filter((specifier) => {
    try {
      require.resolve(specifier);
      return false;
    } catch (error) {
      // An ESM-only package is installed but has no "require" export: that still resolves for import.
      return !(error instanceof Error && "code" in error && error.code === "ERR_PACKAGE_PATH_NOT_EXPORTED");
    }
  });
  const app = fileURLToPath(appDir).replace(/\/$/, "").split("/").slice(-2).join("/");
  if (unresolved.length > 0) {
    console.error(`build: add these to ${app} dependencies (bundle externals): ${unresolved.join(", ")}`);
    process.exit(1);
  }
  console.log(`build: ${outfile} (externals: ${[...externals].sort().join(", ")})`);
}
