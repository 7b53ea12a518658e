#!/usr/bin/env bash
# Packs the npm packages in napi-rs's layout from built addons: one platform package
# (bindings-node/npm/<platform>/, made by `napi create-npm-dirs`) for each dajisaas.<platform>.node
# in ADDONS_DIR, and the main package `dajisaas`, whose optionalDependencies name the platform
# package of every target in package.json's napi.targets (as `napi pre-publish` writes them), so npm
# installs the one that matches the machine. The tarballs go to OUT_DIR.
# scripts/release.sh runs it with this machine's addon; the release workflow with all of them.
# Usage: scripts/pack-npm.sh ADDONS_DIR OUT_DIR     (after npm ci in bindings-node)
set -euo pipefail
addons=$(realpath "${1:?usage: scripts/pack-npm.sh ADDONS_DIR OUT_DIR}")
out=$(realpath "${2:?usage: scripts/pack-npm.sh ADDONS_DIR OUT_DIR}")
cd "$(dirname "$0")/../bindings-node"
napi=$PWD/node_modules/.bin/napi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# napi works only on paths inside the package: the main package is staged with npm/ beside it,
# with every file package.json's "files" names (the addons, *.node, travel in the platform ones).
cp package.json README.md "$stage/"
node -p 'require("./package.json").files.filter((f) => !f.includes("*")).join("\n")' |
  while read -r file; do cp "$file" "$stage/"; done
mkdir "$stage/artifacts"
cp "$addons"/dajisaas.*.node "$stage/artifacts/"
# The committed npm/ directories must be what `napi create-npm-dirs` makes of package.json.
"$napi" create-npm-dirs --cwd "$stage" --npm-dir npm >/dev/null
diff -r "$stage/npm" npm || { echo "bindings-node/npm is stale: run npx napi create-npm-dirs in bindings-node" >&2; exit 1; }

# napi artifacts copies each addon into its platform directory. It refuses to run while an addon of
# napi.targets is missing, so its configuration names the targets whose addons are here.
node - "$stage" <<'JS'
const fs = require('node:fs')
const path = require('node:path')
const stage = process.argv[2]
const pkg = JSON.parse(fs.readFileSync(path.join(stage, 'package.json'), 'utf8'))
// napi-rs's platform names (platformArchABI) of the targets the release builds.
const abi = {
  'x86_64-unknown-linux-gnu': 'linux-x64-gnu', 'x86_64-unknown-linux-musl': 'linux-x64-musl',
  'aarch64-unknown-linux-gnu': 'linux-arm64-gnu', 'aarch64-unknown-linux-musl': 'linux-arm64-musl',
  'x86_64-apple-darwin': 'darwin-x64', 'aarch64-apple-darwin': 'darwin-arm64', 'x86_64-pc-windows-msvc': 'win32-x64-msvc',
}
const built = pkg.napi.targets.filter((t) => {
  if (!abi[t]) throw new Error(`no npm platform name for ${t}`)
  return fs.existsSync(path.join(stage, 'artifacts', `${pkg.napi.binaryName}.${abi[t]}.node`))
})
if (built.length === 0) throw new Error('no addon of napi.targets to pack')
fs.writeFileSync(path.join(stage, 'napi-built.json'), JSON.stringify({ ...pkg.napi, targets: built }))
fs.writeFileSync(path.join(stage, 'built-platforms'), built.map((t) => abi[t]).join('\n') + '\n')
pkg.optionalDependencies = Object.fromEntries(pkg.napi.targets.map((t) => [`${pkg.name}-${abi[t]}`, pkg.version]))
delete pkg.devDependencies
delete pkg.scripts
fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
JS
"$napi" artifacts --cwd "$stage" --config-path napi-built.json --output-dir artifacts --npm-dir npm
# napi artifacts also leaves a copy of an addon beside the main package: not part of it.
rm -f "$stage"/*.node
for file in index.js index.mjs index.d.ts index.d.mts; do
  cmp -s "$stage/$file" "$file" || { echo "napi artifacts changed $file" >&2; exit 1; }
done

while read -r platform; do
  dir=$stage/npm/$platform
  [ -f "$dir/dajisaas.$platform.node" ] || { echo "napi artifacts did not place the $platform addon" >&2; exit 1; }
  # The license texts travel with the addon (npm packs only LICENSE itself unasked).
  cp LICENSE-MIT LICENSE-APACHE "$dir/"
  node -e 'const f = process.argv[1], p = require(f); p.files.push("LICENSE-MIT", "LICENSE-APACHE");
    require("fs").writeFileSync(f, JSON.stringify(p, null, 2) + "\n")' "$dir/package.json"
  (cd "$dir" && npm pack --silent --pack-destination "$out" >/dev/null)
done < "$stage/built-platforms"
(cd "$stage" && npm pack --silent --pack-destination "$out" >/dev/null)
ls "$out"/dajisaas-*.tgz
