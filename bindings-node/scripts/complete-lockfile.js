#!/usr/bin/env node
// Completes package-lock.json with the other platforms' builds of napi-rs tool packages.
//
// @napi-rs/cli depends on packages (lzma, tar, wasm-tools) that ship one optional package per
// platform. The registry these machines use serves only the linux-x64-gnu builds, so `npm install`
// leaves the others out of the lock file, and `npm ci` then refuses the lock file as out of sync.
// This adds an entry for each missing build, with the os/cpu/libc that napi-rs's naming implies:
// npm skips them on other platforms and never downloads them here. Run it after `npm install`.
'use strict'

const fs = require('node:fs')
const path = require('node:path')

const LOCK = path.join(__dirname, '..', 'package-lock.json')

const PLATFORMS = {
  'android-arm-eabi': { os: ['android'], cpu: ['arm'] },
  'android-arm64': { os: ['android'], cpu: ['arm64'] },
  'darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'freebsd-x64': { os: ['freebsd'], cpu: ['x64'] },
  'linux-arm-gnueabihf': { os: ['linux'], cpu: ['arm'] },
  'linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
  'linux-ppc64-gnu': { os: ['linux'], cpu: ['ppc64'], libc: ['glibc'] },
  'linux-riscv64-gnu': { os: ['linux'], cpu: ['riscv64'], libc: ['glibc'] },
  'linux-s390x-gnu': { os: ['linux'], cpu: ['s390x'], libc: ['glibc'] },
  'linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
  'linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
  'wasm32-wasi': { cpu: ['wasm32'] },
  'win32-arm64-msvc': { os: ['win32'], cpu: ['arm64'] },
  'win32-ia32-msvc': { os: ['win32'], cpu: ['ia32'] },
  'win32-x64-msvc': { os: ['win32'], cpu: ['x64'] },
}

const lock = JSON.parse(fs.readFileSync(LOCK, 'utf8'))
let added = 0
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const where = `node_modules/${name}`
    const suffix = Object.keys(PLATFORMS).find((p) => name.endsWith(`-${p}`))
    if (lock.packages[where] || !suffix || !key.startsWith('node_modules/@napi-rs/')) continue
    lock.packages[where] = { version, dev: true, optional: true, ...PLATFORMS[suffix] }
    added++
  }
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))))
fs.writeFileSync(LOCK, JSON.stringify({ ...lock, packages: sorted }, null, 2) + '\n')
console.log(`added ${added} platform entries to package-lock.json`)
