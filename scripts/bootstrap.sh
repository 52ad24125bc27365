#!/usr/bin/env bash
# Everything a fresh clone needs before kubegate can run: npm packages, the real components
# (toolchain/install.sh) and the compiled TypeScript. Each step is skipped when up to date,
# so calling this before every command costs little. KUBEGATE_SKIP_TOOLCHAIN=1 leaves the
# components out: the `kubegate` wrapper sets it, because `kubegate dev up` installs them itself
# and no other command needs them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

log() { printf 'ts=%s level=info component=bootstrap msg="%s"\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" >&2; }
die() { printf 'ts=%s level=error component=bootstrap msg="%s"\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "node is missing: install Node.js 20 or newer"
node_major=$(node -p 'process.versions.node.split(".")[0]')
(( node_major >= 20 )) || die "Node.js $(node --version) is too old: kubegate needs 20 or newer"
command -v npm >/dev/null 2>&1 || die "npm is missing: install it with Node.js"

# npm ci only when package-lock.json changed since the last install.
stamp=node_modules/.kubegate-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" >"$stamp"
fi

if [[ ${KUBEGATE_SKIP_TOOLCHAIN:-} != 1 ]]; then
  toolchain/install.sh
fi

# Compile only when a source changed since the last successful build.
build_stamp=dist/.kubegate-build
if [[ ! -f $build_stamp ]] || [[ -n $(find control-plane dev agent policies constructs stacks bench test tsconfig.json package-lock.json -newer "$build_stamp" \( -name '*.ts' -o -name '*.json' \) 2>/dev/null | head -n 1) ]]; then
  log "compiling TypeScript"
  npx --no-install tsc -p tsconfig.json >&2 || die "TypeScript compilation failed"
  touch "$build_stamp"
fi
