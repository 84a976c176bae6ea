// Bundles the API into dist/server.mjs (scripts/bundle-app.mjs says how).
import { cp, mkdir } from "node:fs/promises";
import { bundleApp } from "../../scripts/bundle-app.mjs";

await bundleApp({ appDir: new URL("./", import.meta.url), entry: "src/main.ts", outfile: "dist/server.mjs" });

// The embedded database's supervisor is a script Node runs in a child process, not a module of
// the bundle: it goes beside the bundle where the launcher looks for it (see local-server.ts).
await mkdir(new URL("./dist/local-server/", import.meta.url), { recursive: true });
await cp(
  new URL("../../packages/db/src/local-server/supervisor.mjs", import.meta.url),
  new URL("./dist/local-server/supervisor.mjs", import.meta.url),
);
