// Bundles the API into one ESM file: workspace packages (@neosc/*, consumed as TypeScript source)
// are inlined; every other package stays external and is loaded from apps/api/node_modules at run
// time, so native modules (@node-rs/argon2) and the MongoDB driver keep their own layout. A
// third-party import that apps/api cannot resolve fails the build instead of the first request.
import { cp, mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { build } from "esbuild";

const externals = new Set();

const externalizeDependencies = {
  name: "externalize-dependencies",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@neosc/") || args.path.startsWith("node:")) return undefined;
      externals.add(args.path);
      return { path: args.path, external: true };
    });
  },
};

await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/server.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
  plugins: [externalizeDependencies],
});

// The embedded database's supervisor is a script Node runs in a child process, not a module of
// the bundle: it goes beside the bundle where the launcher looks for it (see local-server.ts).
await mkdir(new URL("./dist/local-server/", import.meta.url), { recursive: true });
await cp(
  new URL("../../packages/db/src/local-server/supervisor.mjs", import.meta.url),
  new URL("./dist/local-server/supervisor.mjs", import.meta.url),
);

const require = createRequire(new URL("./package.json", import.meta.url));
const unresolved = [...externals].filter((specifier) => {
  try {
    require.resolve(specifier);
    return false;
  } catch (error) {
    // An ESM-only package is installed but has no "require" export: that still resolves for import.
    return !(error instanceof Error && "code" in error && error.code === "ERR_PACKAGE_PATH_NOT_EXPORTED");
  }
});
if (unresolved.length > 0) {
  console.error(`build: add these to apps/api dependencies (bundle externals): ${unresolved.join(", ")}`);
  process.exit(1);
}
console.log(`build: dist/server.mjs (externals: ${[...externals].sort().join(", ")})`);
