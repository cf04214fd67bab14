// Builds the page into dist/: app.js (esbuild bundle of src/main.ts with viem and the SDK),
// index.html, app.css, favicon.svg. Nothing is fetched at run time.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(here, "dist");
const require = createRequire(join(here, "package.json"));
// One viem: the app's own (the SDK is a symlink to packages/sdk, which has its own node_modules).
const appDir = here;

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [join(here, "src/main.ts")],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  outfile: join(dist, "app.js"),
  logLevel: "warning",
  plugins: [
    {
      name: "one-viem",
      setup(b) {
        b.onResolve({ filter: /^viem(\/.*)?$/ }, (args) =>
          args.pluginData === "viem" ? undefined : b.resolve(args.path, { resolveDir: appDir, kind: args.kind, pluginData: "viem" }),
        );
      },
    },
  ],
});
for (const f of ["index.html", "app.css", "favicon.svg"]) cpSync(join(here, "src", f), join(dist, f));
console.log(`built ${dist}`);
