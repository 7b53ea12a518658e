#!/usr/bin/env bash
# `npm pack` the Node package, install the tarball into an empty project, and use it from
# CommonJS and ESM there. Run after the addon is built (npm run build in bindings-node).
set -euo pipefail
cd "$(dirname "$0")/../bindings-node"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
cd "$work"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund "./$tarball"
node -e "
const d = require('dajisaas');
if (d.sign({ appKey: 'K', orderIdList: '[1,2]' }, 'S') !== '5929626A5613B8EC0C20DB72C3277CCF') process.exit(1);
try { new d.Client({ appKey: '', appSecret: 's' }); process.exit(1) } catch (e) { if (!(e instanceof d.DajisaasError)) process.exit(1) }
console.log('require(\"dajisaas\") works from', require.resolve('dajisaas'));
"
node --input-type=module -e "
import { Client, sign } from 'dajisaas';
if (typeof Client !== 'function' || sign({ a: '1' }, 's').length !== 32) process.exit(1);
console.log('import from \"dajisaas\" works');
"
echo "packed and installed: $tarball ($(du -h "$tarball" | cut -f1))"
