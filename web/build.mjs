// Builds the SDK and the demo into dist/ (committed, so that the Go
// binary embeds them without Node), the tests into .test-build/, or checks
// that dist/ is what the sources build to.
//
//   node build.mjs           build dist/
//   node build.mjs --check   build into a temporary directory and fail if dist/ differs
//   node build.mjs --tests   bundle test/*.test.ts for node --test

import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL(".", import.meta.url));
// Builds go to a sibling of dist/ first: at the same depth, the source
// map's relative paths are the same, and a failed build leaves dist/ alone.
const staging = join(root, ".build-tmp");
const mode = process.argv[2] ?? "";

const common = {
  bundle: true,
  format: "esm",
  target: "es2020",
  charset: "utf8",
  legalComments: "none",
  logLevel: "warning",
};

async function build(out) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "demo"), { recursive: true });
  await esbuild.build({
    ...common,
    entryPoints: [join(root, "src/index.ts")],
    outfile: join(out, "tickwire.js"),
    platform: "neutral",
    mainFields: ["module", "main"],
    sourcemap: "linked",
    sourceRoot: "../src/",
  });
  await esbuild.build({
    ...common,
    entryPoints: [join(root, "demo/demo.ts")],
    outfile: join(out, "demo/demo.js"),
    platform: "browser",
    minify: true,
  });
  cpSync(join(root, "demo/index.html"), join(out, "demo/index.html"));
  cpSync(join(root, "demo/demo.css"), join(out, "demo/demo.css"));
  execFileSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.json"), "--outDir", join(out, "types")],
    { stdio: "inherit" },
  );
}

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

async function check() {
  try {
    await build(staging);
    const want = files(staging).map((p) => relative(staging, p)).sort();
    const have = files(join(root, "dist")).map((p) => relative(join(root, "dist"), p)).sort();
    const stale = [];
    for (const f of new Set([...want, ...have])) {
      let a, b;
      try {
        a = readFileSync(join(staging, f));
        b = readFileSync(join(root, "dist", f));
      } catch {
        stale.push(f);
        continue;
      }
      if (!a.equals(b)) stale.push(f);
    }
    if (stale.length) {
      console.error(`web/dist is not what the sources build to; run \`make web\` and commit web/dist:\n  ${stale.join("\n  ")}`);
      process.exit(1);
    }
    console.log(`web/dist is up to date (${want.length} files)`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function tests() {
  const out = join(root, ".test-build");
  rmSync(out, { recursive: true, force: true });
  const entries = readdirSync(join(root, "test"))
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => join(root, "test", f));
  await esbuild.build({
    ...common,
    entryPoints: entries,
    outdir: out,
    outExtension: { ".js": ".mjs" },
    platform: "node",
    target: "node20",
    sourcemap: "inline",
  });
}

if (mode === "--check") await check();
else if (mode === "--tests") await tests();
else if (mode === "") {
  await build(staging);
  rmSync(join(root, "dist"), { recursive: true, force: true });
  renameSync(staging, join(root, "dist"));
}
else {
  console.error(`unknown argument ${mode}`);
  process.exit(2);
}
