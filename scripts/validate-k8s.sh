#!/usr/bin/env bash
# Validates the Kubernetes manifests in deploy/k8s/ against the Kubernetes
# JSON schemas, offline, with kubernetes-validate (PyPI) in --strict mode
# (unknown fields are errors, so a misspelt key cannot slip through).
#
#   scripts/validate-k8s.sh                 install the validator if missing, then validate
#   scripts/validate-k8s.sh --install-only  only install it (for `make setup`)
#
# The validator lives in a project-local virtualenv, .tools/venv. It is
# installed once, from PyPI, at the pinned versions below; after that every run
# is offline (the package ships the schemas) and takes a few seconds.
#
# Besides the Kubernetes schemas, the script checks:
#   - deploy/docker-compose.yaml against the Compose specification's schema
#     (check-jsonschema, which bundles it), since compose cannot run here;
#   - that every file holds at least one resource of a kind the schemas know
#     (kubernetes-validate only warns about an unknown kind and passes);
#   - kustomization.yaml: each listed file exists and every manifest but the
#     *.example.yaml ones is listed;
#   - the node configs (the ConfigMap's config.yaml and deploy/compose/node*.yaml)
#     use only keys the node knows: it rejects unknown keys at start-up;
#   - itself, first: known-bad files must fail and known-good ones must pass,
#     so a validator that accepts everything (or nothing) is caught.
# Exit status: 0 when everything passes, 1 on any failure (each one printed
# with its file and message), 2 when the validator cannot be installed.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
manifests="$root/deploy/k8s"
venv="$root/.tools/venv"

# The validators and all their dependencies, pinned so every machine
# validates alike. Changing this list reinstalls the virtualenv.
validator_version=1.37.0
requirements=(
  "kubernetes-validate==$validator_version"
  "check-jsonschema==0.39.0"
  "jsonschema==4.26.0"
  "jsonschema-specifications==2025.9.1"
  "referencing==0.37.0"
  "rpds-py==2026.9.1"
  "attrs==26.1.0"
  "PyYAML==6.0.3"
  "packaging==26.3"
  "importlib_resources==7.1.0"
  "typing_extensions==4.16.0"
  "click==8.5.1"
  "regress==2026.9.1"
  "ruamel.yaml==0.19.1"
  "requests==2.34.2"
  "certifi==2026.10.18"
  "charset-normalizer==3.5.2"
  "idna==3.20"
  "urllib3==2.8.0"
)
# Kubernetes versions whose schemas the manifests must satisfy: the oldest
# release we support and the newest one this validator version bundles.
kubernetes_versions=(1.30.0 1.37.0)

say() { printf 'validate-k8s: %s\n' "$*"; }

install() {
  # The stamp records what was installed; a different list means reinstall.
  local stamp="$venv/.tessera-requirements" wanted
  wanted="$(printf '%s\n' "${requirements[@]}")"
  if [ -x "$venv/bin/kubernetes-validate" ] && [ -x "$venv/bin/check-jsonschema" ] &&
    [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
    say "validators present in .tools/venv"
    return 0
  fi
  say "installing kubernetes-validate $validator_version and check-jsonschema into .tools/venv (from PyPI)"
  command -v python3 >/dev/null || { say "python3 not found; install Python 3" >&2; exit 2; }
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  if ! python3 -m venv "$venv"; then
    say "python3 -m venv failed; on Debian install the python3-venv package" >&2
    rm -rf "$venv"
    exit 2
  fi
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "${requirements[@]}"; then
    say "pip install failed (is PyPI reachable?)" >&2
    rm -rf "$venv"
    exit 2
  fi
  printf '%s\n' "$wanted" >"$stamp"
  say "installed kubernetes-validate $("$venv/bin/kubernetes-validate" --version)"
}

# check_file FILE: schema-validates FILE against every pinned version. Prints
# each problem as "FAIL <file>: <message>" and returns 1 if there was one.
check_file() {
  local file="$1" version out rc failed=0
  for version in "${kubernetes_versions[@]}"; do
    rc=0
    out="$("$venv/bin/kubernetes-validate" --strict --kubernetes-version "$version" "$file" 2>&1)" || rc=$?
    # Any ERROR, FATAL or WARN line (WARN: a kind without a schema) fails, as
    # does a non-zero exit (e.g. unparsable YAML) or a file with no resource.
    if [ "$rc" -ne 0 ] || grep -qvE '^INFO .* passed for resource ' <<<"$out" ||
      ! grep -q ' passed for resource ' <<<"$out"; then
      [ -n "$out" ] || out="no Kubernetes resource in the file"
      while IFS= read -r line; do
        grep -qE '^INFO ' <<<"$line" && continue
        printf 'FAIL %s (kubernetes %s): %s\n' "$file" "$version" "${line#* "$file" }"
      done <<<"$out"
      failed=1
    fi
  done
  return "$failed"
}

# check_compose FILE: validates a compose file against the Compose spec schema.
check_compose() {
  local file="$1" out
  if out="$("$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$file" 2>&1)"; then
    return 0
  fi
  while IFS= read -r line; do
    [ -n "$line" ] && printf 'FAIL %s (compose-spec): %s\n' "$file" "$line"
  done <<<"$out"
  return 1
}

# self_check: the validator must reject known-bad manifests and accept a good one.
self_check() {
  local dir ok=1
  dir="$(mktemp -d)"
  cat >"$dir/bad-type.yaml" <<'EOF'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: bad}
spec:
  replicas: three
  serviceName: bad
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec: {containers: [{name: c, image: i}]}
EOF
  cat >"$dir/bad-field.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: bad}
dataa: {key: value}
EOF
  cat >"$dir/bad-kind.yaml" <<'EOF'
apiVersion: apps/v1
kind: StatefullSet
metadata: {name: bad}
spec: {}
EOF
  : >"$dir/bad-empty.yaml"
  cat >"$dir/good.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: good}
data: {key: value}
EOF
  cat >"$dir/bad-compose.yaml" <<'EOF'
services:
  app:
    imagee: busybox
EOF
  cat >"$dir/good-compose.yaml" <<'EOF'
services:
  app:
    image: busybox
EOF
  local f
  if check_compose "$dir/bad-compose.yaml" >/dev/null; then
    say "self-check FAILED: the known-bad compose file was accepted" >&2
    ok=0
  fi
  if ! check_compose "$dir/good-compose.yaml" >/dev/null; then
    say "self-check FAILED: the known-good compose file was rejected" >&2
    ok=0
  fi
  for f in bad-type bad-field bad-kind bad-empty; do
    if check_file "$dir/$f.yaml" >/dev/null; then
      say "self-check FAILED: the known-bad manifest $f.yaml was accepted" >&2
      ok=0
    fi
  done
  if ! check_file "$dir/good.yaml" >/dev/null; then
    say "self-check FAILED: the known-good manifest was rejected:" >&2
    check_file "$dir/good.yaml" >&2 || true
    ok=0
  fi
  rm -rf "$dir"
  [ "$ok" -eq 1 ] || return 1
  say "self-check passed (5 broken files rejected, 2 good ones accepted)"
}

# check_kustomization: listed files exist; every manifest except examples is listed.
check_kustomization() {
  local k="$manifests/kustomization.yaml"
  [ -f "$k" ] || return 0
  "$venv/bin/python" - "$manifests" <<'EOF'
import os, sys, yaml
d = sys.argv[1]
with open(os.path.join(d, "kustomization.yaml")) as f:
    k = yaml.safe_load(f) or {}
listed = k.get("resources") or []
bad = 0
for r in listed:
    if not os.path.isfile(os.path.join(d, r)):
        print(f"FAIL deploy/k8s/kustomization.yaml: resource {r} does not exist"); bad = 1
for name in sorted(os.listdir(d)):
    if name.endswith(".yaml") and name != "kustomization.yaml" \
            and not name.endswith(".example.yaml") and name not in listed:
        print(f"FAIL deploy/k8s/kustomization.yaml: {name} is not listed in resources"); bad = 1
sys.exit(bad)
EOF
}

# check_node_configs: the node config files use only keys the node knows. The
# key list is read from the node's source (crates/node/src/env.rs, which lists
# every scalar key), plus the two list-valued keys.
check_node_configs() {
  local keys_src="$root/crates/node/src/env.rs"
  if [ ! -f "$keys_src" ]; then
    say "crates/node/src/env.rs not found; node config keys not checked"
    return 0
  fi
  "$venv/bin/python" - "$root" "$keys_src" <<'EOF'
import glob, os, re, sys, yaml
root, keys_src = sys.argv[1], sys.argv[2]
src = open(keys_src).read()
block = re.search(r"pub const KEYS[^=]*=\s*&\[(.*?)\];", src, re.S)
known = set(re.findall(r'\(\s*"([a-z0-9_.]+)"\s*,\s*Kind::', block.group(1))) if block else set()
if not known:
    print(f"FAIL {keys_src}: cannot read the node's config keys"); sys.exit(1)
known |= {"peers.nodes", "authorizers.keys"}   # lists: no environment variable
# Every dotted prefix is a section: nats, nats.tls, consul.tls, ...
sections = {".".join(k.split(".")[:i]) for k in known for i in range(1, k.count(".") + 1)}

def leaves(doc, prefix=""):
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and path in sections:
            yield from leaves(value, path + ".")
        else:
            yield path

docs = []
cm = os.path.join(root, "deploy/k8s/configmap.yaml")
if os.path.isfile(cm):
    for res in yaml.safe_load_all(open(cm)):
        if res and res.get("kind") == "ConfigMap" and "config.yaml" in (res.get("data") or {}):
            docs.append((f"deploy/k8s/configmap.yaml ({res['metadata']['name']})", res["data"]["config.yaml"]))
for path in sorted(glob.glob(os.path.join(root, "deploy/compose/node*.yaml"))):
    docs.append((os.path.relpath(path, root), open(path).read()))
bad = 0
for name, text in docs:
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        print(f"FAIL {name}: not valid YAML: {e}"); bad = 1; continue
    unknown = [k for k in leaves(doc) if k not in known]
    for k in unknown:
        print(f"FAIL {name}: unknown node config key `{k}` (the node would refuse to start)")
    bad |= bool(unknown)
    if not unknown:
        print(f"validate-k8s: node config keys ok: {name}")
sys.exit(bad)
EOF
}

case "${1:-}" in
  --install-only) install; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--install-only]" >&2; exit 2 ;;
esac

install
cd "$root"   # relative paths in messages
manifests=deploy/k8s
say "kubernetes-validate $("$venv/bin/kubernetes-validate" --version), --strict, Kubernetes schemas ${kubernetes_versions[*]}"
self_check || exit 1

failed=0
shopt -s nullglob
files=("$manifests"/*.yaml "$manifests"/*.yml)
[ ${#files[@]} -gt 0 ] || { say "no manifests in deploy/k8s" >&2; exit 1; }
for file in "${files[@]}"; do
  # kustomization.yaml is kustomize's own kind, which has no Kubernetes
  # schema; check_kustomization covers it.
  [ "$(basename "$file")" = kustomization.yaml ] && continue
  if check_file "$file"; then
    say "ok: $file"
  else
    failed=1
  fi
done
check_kustomization || failed=1
if [ -f deploy/docker-compose.yaml ]; then
  if check_compose deploy/docker-compose.yaml; then
    say "ok: deploy/docker-compose.yaml (compose-spec schema)"
  else
    failed=1
  fi
fi
check_node_configs || failed=1

if [ "$failed" -ne 0 ]; then
  say "FAILED"
  exit 1
fi
say "all manifests and configs valid"
