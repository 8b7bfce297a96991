#!/usr/bin/env node
// Run every benchmark under test/bench/ (files named *.bench.ts), one after another, each in its
// own process so one benchmark's garbage does not slow the next. A filter argument picks files:
//   npm run bench -- translation
import { readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const benchDir = join(root, "test", "bench");
const filter = process.argv[2] ?? "";
const files = readdirSync(benchDir).filter((f) => f.endsWith(".bench.ts") && f.includes(filter)).sort();
if (files.length === 0) {
  console.error(`memvirt bench: no benchmark matches "${filter}" in test/bench/`);
  process.exit(2);
}
const tsx = join(root, "node_modules", ".bin", "tsx");
let failed = 0;
for (const file of files) {
  console.log(`# ${file}`);
  const r = spawnSync(tsx, [join(benchDir, file)], { stdio: "inherit", cwd: root });
  if (r.status !== 0) { failed++; console.error(`memvirt bench: ${file} failed (exit ${r.status})`); }
}
process.exit(failed ? 1 : 0);
