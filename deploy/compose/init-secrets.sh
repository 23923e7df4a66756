#!/usr/bin/env bash
# Creates everything cluster-specific that deploy/docker-compose.yaml needs,
# once, and never overwrites it:
#
#   compose/secrets/node{0,1,2}.identity          node identity (private), uid 10001, mode 0400
#   compose/secrets/node{0,1,2}.storage-password  key store password, uid 10001, mode 0400
#   compose/secrets/initiator.key                 the client's initiator key (yours, mode 0600)
#   compose/secrets/initiator.env                 TESSERA_INITIATOR_PUBLIC_KEY for the nodes
#   compose/peers/node{0,1,2}.pub.json            public identities, read by every node
#
# By default the `tessera` binary runs inside the image (built first if
# missing), as root, so it can hand the node files to uid 10001: compose
# bind-mounts secret files with their host owner and mode, and the node refuses
# a secret file that group or others can read. With TESSERA_BIN=/path/to/tessera
# the local binary is used instead and files stay owned by you (for running
# the nodes outside containers).
#
# Usage: deploy/compose/init-secrets.sh            (from anywhere)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
nodes=(node0 node1 node2)

# generate OUT PEERS: the part that runs tessera; OUT and PEERS are directories.
generate() {
  local out="$1" peers="$2" tessera="${TESSERA_BIN:-tessera}"
  umask 077
  for n in "${nodes[@]}"; do
    "$tessera" identity generate --node-id "$n" --out "$out/$n.identity" >/dev/null
    mv "$out/$n.identity.pub.json" "$peers/$n.pub.json"
    chmod 0644 "$peers/$n.pub.json"
    # 32 random bytes, base64: a password for Argon2id, one per node.
    head -c 32 /dev/urandom | base64 >"$out/$n.storage-password"
    chmod 0400 "$out/$n.identity" "$out/$n.storage-password"
  done
  local public
  public="$("$tessera" initiator generate --kind ed25519 --out "$out/initiator.key")"
  printf 'TESSERA_INITIATOR_PUBLIC_KEY=%s\n' "$public" >"$out/initiator.env"
  chmod 0644 "$out/initiator.env"   # a public key; compose reads it on the host
}

# Inside the container (see below): generate, then set the owners.
if [ "${1:-}" = "--inside" ]; then
  generate /out /peers
  for n in "${nodes[@]}"; do chown 10001:10001 "/out/$n.identity" "/out/$n.storage-password"; done
  chown "$HOST_UID:$HOST_GID" /out/initiator.key /out/initiator.env /peers/*.pub.json
  exit 0
fi

secrets="$here/secrets"
peers="$here/peers"
if [ -e "$secrets/node0.identity" ] || [ -e "$secrets/initiator.key" ]; then
  echo "init-secrets: $secrets already holds keys; refusing to overwrite them." >&2
  echo "init-secrets: remove that directory (and the compose volumes) to start a new cluster." >&2
  exit 1
fi
mkdir -p "$secrets" "$peers"
chmod 0700 "$secrets"

if [ -n "${TESSERA_BIN:-}" ]; then
  generate "$secrets" "$peers"
else
  image="${TESSERA_IMAGE:-tessera:local}"
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    docker compose -f "$here/../docker-compose.yaml" build node0
  fi
  docker run --rm --user 0:0 --network none \
    -e HOST_UID="$(id -u)" -e HOST_GID="$(id -g)" \
    -v "$secrets:/out" -v "$peers:/peers" -v "$here/init-secrets.sh:/init-secrets.sh:ro" \
    --entrypoint bash "$image" /init-secrets.sh --inside
fi
echo "init-secrets: wrote $secrets and $peers"
echo "init-secrets: initiator public key: $(cut -d= -f2 "$secrets/initiator.env")"
