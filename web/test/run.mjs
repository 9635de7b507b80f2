// Runs web/test/*.test.ts under Node's test runner: esbuild bundles each file first
// (Node 20 cannot strip TypeScript types itself).
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "..", ".test-build");
const files = readdirSync(here).filter((name) => name.endsWith(".test.ts"));
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: files.map((name) => join(here, name)),
  outdir,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node18",
  packages: "external",
  logLevel: "warning",
});
const built = files.map((name) => join(outdir, name.replace(/\.ts$/, ".mjs")));
const result = spawnSync(process.execPath, ["--test", ...built], { stdio: "inherit" });
process.exit(result.status ?? 1);
