// Bundles every web/src/<page>/main.ts into tandem/static/<page>.js (+ .css), self-contained:
// fonts, styles and code all come from the server's origin.
import { build, context } from "esbuild";
import { readdirSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "..", "tandem", "static");
const pages = readdirSync(join(here, "src"), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(here, "src", entry.name, "main.ts")))
  .map((entry) => entry.name);

const options = {
  entryPoints: Object.fromEntries(pages.map((page) => [page, join(here, "src", page, "main.ts")])),
  outdir,
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: !process.argv.includes("--watch"),
  sourcemap: true,
  loader: { ".woff2": "file", ".woff": "file", ".ttf": "file" },
  assetNames: "assets/[name]-[hash]",
  logLevel: "warning",
};

mkdirSync(outdir, { recursive: true });
if (process.argv.includes("--watch")) {
  await (await context(options)).watch();
} else {
  await build(options);
  console.log(`built ${pages.join(", ")} -> ${outdir}`);
}
