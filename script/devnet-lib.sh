# Sourced helpers for the deploy scripts' end-to-end check (script/test-deploy.sh).
# Chain A (31337) and chain B (31338) are anvil instances; contracts are deployed with the forge
# scripts and their addresses written to $DEVNET_DIR/<chain>.json.

DEPLOYER_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
# Devnet validators (anvil accounts 7, 8, 5, 9), in the ascending address order of
# script/config/devnet.json, so signer index i is VALIDATOR_KEYS[i].
VALIDATOR_KEYS=(
  0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356
  0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97
  0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba
  0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6
)
CHAIN_A=31337
CHAIN_B=31338

# free_port: a TCP port on 127.0.0.1 nobody listens on now (the kernel picks it), so a check
# never shares a chain with another run on the same machine.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_anvil PORT CHAIN_ID LOGFILE: starts anvil in the background and waits until it answers.
# Fails (rather than deploying into someone else's chain) if the port already answers, if anvil
# exits, or if what answers has another chain id.
start_anvil() {
  local port=$1 chain=$2 log=$3 rpc="http://127.0.0.1:$1" pid got
  local block_args=()
  if cast chain-id --rpc-url "$rpc" >/dev/null 2>&1; then
    echo "port $port already answers JSON-RPC (another anvil?): stop it or pick another port" >&2
    return 1
  fi
  # BLOCK_TIME=0 means automine (a block per transaction); the devnet default is 1-second blocks.
  [ "${BLOCK_TIME:-1}" != 0 ] && block_args=(--block-time "${BLOCK_TIME:-1}")
  anvil --port "$port" --chain-id "$chain" "${block_args[@]}" --silent >"$log" 2>&1 &
  pid=$!
  ANVIL_PIDS+=("$pid")
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "anvil on port $port exited at start (see $log): $(tail -n 3 "$log")" >&2
      return 1
    fi
    if got=$(cast chain-id --rpc-url "$rpc" 2>/dev/null); then
      [ "$got" = "$chain" ] && return 0
      echo "port $port answers chain id $got, not $chain" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "anvil on port $port did not start (see $log)" >&2
  return 1
}

stop_anvils() {
  for pid in "${ANVIL_PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
}

# forge_broadcast RPC SCRIPT: runs a deploy script against RPC as the deployer (its inputs and
# outputs are in the environment). --slow sends each transaction after the previous one's receipt:
# on this check's automining anvils forge's default burst has waited forever for a receipt (a
# CI run here; foundry#10630), and one block per transaction costs nothing. The timeout turns
# any other hang into a clear failure.
forge_broadcast() {
  local rpc=$1 script=$2 rc=0
  timeout --kill-after=5 300 forge script "$script" --rpc-url "$rpc" \
    --private-key "$DEPLOYER_KEY" --broadcast --slow -q >/dev/null || rc=$?
  [ "$rc" = 124 ] && echo "forge script $script against $rpc did not finish in 300 s" >&2
  return "$rc"
}

# deploy_chain RPC OUT: deploys the whole set, writes the deployment JSON.
deploy_chain() {
  DEPLOY_OUT="$2" forge_broadcast "$1" script/Deploy.s.sol:Deploy
}

# connect_chain RPC LOCAL_JSON REMOTE_JSON: opens the routes from LOCAL to REMOTE.
connect_chain() {
  LOCAL_DEPLOYMENT="$2" REMOTE_DEPLOYMENT="$3" forge_broadcast "$1" script/Connect.s.sol:Connect
}

json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [d:=d[k] for k in sys.argv[2].split(".")]; print(d)' "$1" "$2"; }
