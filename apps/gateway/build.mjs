// Bundles the gateway process into dist/gateway.mjs (scripts/bundle-app.mjs says how).
import { bundleApp } from "../../scripts/bundle-app.mjs";

await bundleApp({
  appDir: new URL("./", import.meta.url),
  entry: "src/main.ts",
  outfile: "dist/gateway.mjs",
});
