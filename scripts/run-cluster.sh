#!/usr/bin/env bash
# `make run`: a local cluster (NATS with JetStream, Consul, three Tessera nodes)
# with freshly generated identities under .state/run, then a demo through the
# client commands: create a wallet, sign an ECDSA digest and an Ed25519 message;
# then, if it was built, examples/tenant_device.rs plays a user's device next to
# node0 and node1 (a 2-of-3 wallet: the device and two servers).
# The cluster keeps running (logs below) until Ctrl-C; RUN_ONCE=1 exits after
# the demo. Everything started here is stopped on exit.
# Logs: each node's to its stdout (prefixed [node<i>]) and to $state/node<i>.log;
# nats-server's and Consul's to $state/nats.log and $state/consul.log.
# For mpcium's clients, the initiator key is also in $state/initiator.seed.hex.
#
# For benchmarks (scripts/bench-cluster.sh): RUN_NODES (default 3) nodes with
# threshold RUN_THRESHOLD (default 1: any t+1 = 2 sign), and RUN_THEN, a command
# run instead of the demo once every node is ready (then the script exits with
# its status). RUN_THEN sees RUN_NATS_URL, RUN_CLIENT_ARGS (the client
# commands' connection flags), RUN_METRICS_URLS (the nodes' /metrics, comma
# separated), RUN_NODE_PIDS and RUN_STATE.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin="${TESSERA_BIN:-$root/target/release/tessera}"
example="${TESSERA_EXAMPLE_BIN:-$root/target/release/examples/tenant_device}"
tools="$root/.tools/bin"
export PATH="$tools:$PATH"
state="${TESSERA_RUN_STATE:-$root/.state/run}"
nodes="${RUN_NODES:-3}"
threshold="${RUN_THRESHOLD:-1}"
if ! [[ "$nodes" =~ ^[0-9]+$ && "$threshold" =~ ^[0-9]+$ ]] || [ "$threshold" -lt 1 ] || [ "$threshold" -ge "$nodes" ]; then
  echo "run: need 1 <= RUN_THRESHOLD < RUN_NODES (got RUN_NODES=$nodes RUN_THRESHOLD=$threshold)" >&2
  exit 2
fi
node_ids=$(seq 0 $((nodes - 1)))
pids=()

cleanup() {
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    echo "run: stopping the cluster"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 50); do
      alive=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive -eq 0 ] && break
      sleep 0.2
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port at or above $1 (bash's /dev/tcp: no extra tools needed).
free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# HTTP GET on loopback; prints the body. $1 port, $2 path.
http_get() {
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}

wait_for() { # $1 what, $2 seconds, rest: command that succeeds when ready
  local what=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "run: $what did not come up within ${secs}s; see $state/*.log" >&2
  exit 1
}

rm -rf "$state"
mkdir -p "$state/identities" "$state/data" "$state/public"
chmod 700 "$state"

nats_port=$(free_port 14222)
consul_http=$(free_port 18500)
consul_serf=$(free_port $((consul_http + 1)))
consul_wan=$(free_port $((consul_serf + 1)))
consul_server=$(free_port $((consul_wan + 1)))

# NATS with authentication: the reference permissions of deploy/nats/, one user
# (and password file) per node, one for the demo client, and one client and one
# tenant user for the device example. Passwords stay in $state/secrets (0600).
mkdir -p "$state/secrets"
chmod 700 "$state/secrets"
new_password() { # $1 user: writes $state/secrets/$1.password, prints the password
  local pw
  pw=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  (umask 077 && printf '%s\n' "$pw" >"$state/secrets/$1.password")
  echo "$pw"
}
device_id="device-demo"
# One block per client and device, from the templates (deploy/nats/README.md).
client_block() { # $1 NAME, $2 consumer suffix, $3 subject scope
  sed -e "s/@NAME@/$1/g" -e "s/@CONSUMER_SUFFIX@/$2/g" -e "s/@SUBJECT_SCOPE@/$3/g" \
    deploy/nats/client.conf.template
}
cp deploy/nats/permissions.conf "$state/permissions.conf"
{
  echo "listen: 127.0.0.1:$nats_port"
  echo "jetstream { store_dir: \"$state/jetstream\" }"
  echo 'include "permissions.conf"'
  client_block DEMO "" ""
  client_block DEVICEAPP "_${device_id//-/_}_app" ".${device_id}-app"
  sed -e "s/@NAME@/DEVICE/g" -e "s/@TENANT_ID@/$device_id/g" deploy/nats/tenant.conf.template
  echo "accounts { TESSERA: { jetstream: enabled, users: ["
  for i in $node_ids; do
    echo "  { user: node$i, password: \"$(new_password "node$i")\", permissions: \$NODE }"
  done
  echo "  { user: demo-client, password: \"$(new_password demo-client)\", permissions: \$CLIENT_DEMO }"
  echo "  { user: device-app, password: \"$(new_password device-app)\", permissions: \$CLIENT_DEVICEAPP }"
  echo "  { user: $device_id, password: \"$(new_password "$device_id")\", permissions: \$TENANT_DEVICE }"
  echo "] } }"
} >"$state/nats.conf"
chmod 600 "$state/nats.conf"
nats-server -t -c "$state/nats.conf" >/dev/null 2>&1 || {
  echo "run: the generated NATS configuration is invalid:" >&2
  nats-server -t -c "$state/nats.conf" >&2 || true
  exit 1
}

echo "run: nats-server on 127.0.0.1:$nats_port (JetStream, authentication on), consul on 127.0.0.1:$consul_http"
nats-server -c "$state/nats.conf" >"$state/nats.log" 2>&1 &
pids+=($!)
consul agent -dev -bind 127.0.0.1 -client 127.0.0.1 -node tessera-run \
  -hcl "ports { http = $consul_http, serf_lan = $consul_serf, serf_wan = $consul_wan, server = $consul_server, dns = -1, grpc = -1 }" \
  >"$state/consul.log" 2>&1 &
pids+=($!)
wait_for "nats-server" 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$nats_port"
leader() { http_get "$consul_http" /v1/status/leader | grep -q '127.0.0.1'; }
wait_for "consul" 30 leader
# For programs that join the cluster from outside (examples/tenant_device.rs):
# where NATS is, and the files of the credentials they may use.
cat >"$state/cluster.env" <<ENV
NATS_URL=nats://127.0.0.1:$nats_port
DEVICE_ID=$device_id
CLIENT_USER=device-app
CLIENT_PASSWORD_FILE=$state/secrets/device-app.password
TENANT_USER=$device_id
TENANT_PASSWORD_FILE=$state/secrets/$device_id.password
ENV

echo "run: generating identities, a storage key and an initiator key in $state"
for i in $node_ids; do
  "$bin" identity generate --node-id "node$i" --out "$state/identities/node$i.key" >/dev/null
  # Public documents only, for parties outside the cluster (a tenant's device).
  cp "$state/identities/node$i.key.pub.json" "$state/public/node$i.pub.json"
done
head -c 32 /dev/urandom >"$state/storage.key"
chmod 600 "$state/storage.key"
# The same key twice: Tessera's key file (for the tessera client commands) and
# the hex seed file mpcium's Go and TypeScript clients read (docs/getting-started.md).
initiator_pub=$("$bin" initiator generate --kind ed25519 --out "$state/initiator.key" \
  --mpcium-seed-file "$state/initiator.seed.hex" | grep -Eo '[0-9a-f]{64}' | head -n1)

# Health ports are picked before any node binds one, so each must differ from the last.
health_ports=()
node_pids=()
next=18081
for i in $node_ids; do
  next=$(free_port "$next")
  health_ports+=("$next")
  next=$((next + 1))
done
for i in $node_ids; do
  health_port=${health_ports[$i]}
  # The script's own TESSERA_BIN / TESSERA_RUN_STATE / TESSERA_EXAMPLE_BIN are not node settings.
  env -u TESSERA_BIN -u TESSERA_RUN_STATE -u TESSERA_EXAMPLE_BIN \
  TESSERA_NODE_ID="node$i" \
  TESSERA_NATS_URL="nats://127.0.0.1:$nats_port" \
  TESSERA_NATS_USER="node$i" \
  TESSERA_NATS_PASSWORD_FILE="$state/secrets/node$i.password" \
  TESSERA_CONSUL_ADDR="http://127.0.0.1:$consul_http" \
  TESSERA_STORAGE_DIR="$state/data/node$i" \
  TESSERA_STORAGE_KEY_FILE="$state/storage.key" \
  TESSERA_IDENTITY_FILE="$state/identities/node$i.key" \
  TESSERA_PEERS_DIR="$state/identities" \
  TESSERA_INITIATOR_PUBLIC_KEY="$initiator_pub" \
  TESSERA_HEALTH_LISTEN="127.0.0.1:$health_port" \
  TESSERA_THRESHOLD="$threshold" \
    "$bin" start --config config.yaml > >(if [ -n "${RUN_THEN:-}" ]; then cat >"$state/node$i.log"; else tee "$state/node$i.log" | sed -u "s/^/[node$i] /"; fi) 2>&1 &
  # $! is the node itself (not a pipeline's last command), so cleanup stops it.
  pids+=($!)
  node_pids+=($!)
done
ready() { http_get "$1" /readyz | grep -q '"ready":true'; }
for i in $node_ids; do
  wait_for "node$i" 60 ready "${health_ports[$i]}"
done
if [ "$nodes" = 3 ] && [ "$threshold" = 1 ]; then
  echo "run: three nodes ready (2-of-3: any two sign); node logs in $state/node<i>.log"
else
  echo "run: $nodes nodes ready ($((threshold + 1))-of-$nodes: any $((threshold + 1)) sign); node logs in $state/node<i>.log"
fi
echo "run: for mpcium clients: NATS nats://127.0.0.1:$nats_port, user demo-client," \
  "password file $state/secrets/demo-client.password, Ed25519 seed file $state/initiator.seed.hex" \
  "(initiator public key $initiator_pub)"

# The client commands with the demo client's own credential; they accept only
# results signed by one of the nodes whose public documents are in $state/public.
client=(--nats-url "nats://127.0.0.1:$nats_port" --nats-user demo-client
  --nats-password-file "$state/secrets/demo-client.password"
  --initiator-key-file "$state/initiator.key" --peers-dir "$state/public")
if [ -n "${RUN_THEN:-}" ]; then
  metrics_urls=""
  for p in "${health_ports[@]}"; do metrics_urls="${metrics_urls:+$metrics_urls,}http://127.0.0.1:$p/metrics"; done
  status=0
  RUN_NATS_URL="nats://127.0.0.1:$nats_port" RUN_CLIENT_ARGS="${client[*]}" RUN_METRICS_URLS="$metrics_urls" \
    RUN_NODE_PIDS="${node_pids[*]}" RUN_STATE="$state" bash -c "$RUN_THEN" || status=$?
  exit "$status"
fi
wallet="demo-$(date +%s)"
echo
echo "== keygen: wallet $wallet (ECDSA secp256k1 and EdDSA Ed25519)"
keygen_out=$("$bin" keygen "${client[@]}" --wallet "$wallet")
echo "$keygen_out"
field() { echo "$keygen_out" | awk -v k="$1:" '$1 == k {print $2}'; }
ecdsa_pk=$(field ecdsa_public_key)
chain_code=$(field ecdsa_chain_code)
eddsa_pk=$(field eddsa_public_key)
echo
digest=$(printf 'hello from tessera' | sha256sum | cut -d' ' -f1)
echo "== sign: ECDSA over sha256(\"hello from tessera\") = $digest"
"$bin" sign "${client[@]}" --wallet "$wallet" --key-type secp256k1 --tx-hex "$digest" --public-key "$ecdsa_pk"
echo
echo "== sign: ECDSA, child key m/44/60/0/0/7 (path signed by the initiator)"
"$bin" sign "${client[@]}" --wallet "$wallet" --key-type secp256k1 --tx-hex "$digest" \
  --path m/44/60/0/0/7 --public-key "$ecdsa_pk" --chain-code "$chain_code"
echo
echo "== sign: Ed25519 over the message \"hello from tessera\""
"$bin" sign "${client[@]}" --wallet "$wallet" --key-type ed25519 --message "hello from tessera" --public-key "$eddsa_pk"
echo

if [ -x "$example" ]; then
  echo "== tenant device: a wallet shared by a device, node0 and node1 (examples/tenant_device.rs)"
  "$example" --state "$state"
  echo
fi

if [ "${RUN_ONCE:-0}" = "1" ]; then
  echo "run: RUN_ONCE=1, stopping"
  exit 0
fi
echo "run: cluster running; node logs follow. Ctrl-C stops everything."
wait
