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

# start_anvil PORT CHAIN_ID LOGFILE: starts anvil in the background, waits until it answers.
start_anvil() {
  local port=$1 chain=$2 log=$3
  local block_args=()
  # BLOCK_TIME=0 means automine (a block per transaction); the devnet default is 1-second blocks.
  [ "${BLOCK_TIME:-1}" != 0 ] && block_args=(--block-time "${BLOCK_TIME:-1}")
  anvil --port "$port" --chain-id "$chain" "${block_args[@]}" --silent >"$log" 2>&1 &
  ANVIL_PIDS+=($!)
  for _ in $(seq 1 100); do
    cast chain-id --rpc-url "http://127.0.0.1:$port" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "anvil on port $port did not start (see $log)" >&2
  return 1
}

stop_anvils() {
  for pid in "${ANVIL_PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
}

# deploy_chain RPC OUT: deploys the whole set, writes the deployment JSON.
deploy_chain() {
  local rpc=$1 out=$2
  DEPLOY_OUT="$out" forge script script/Deploy.s.sol:Deploy --rpc-url "$rpc" \
    --private-key "$DEPLOYER_KEY" --broadcast -q >/dev/null
}

# connect_chain RPC LOCAL_JSON REMOTE_JSON: opens the routes from LOCAL to REMOTE.
connect_chain() {
  local rpc=$1 local_json=$2 remote_json=$3
  LOCAL_DEPLOYMENT="$local_json" REMOTE_DEPLOYMENT="$remote_json" \
    forge script script/Connect.s.sol:Connect --rpc-url "$rpc" \
    --private-key "$DEPLOYER_KEY" --broadcast -q >/dev/null
}

json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [d:=d[k] for k in sys.argv[2].split(".")]; print(d)' "$1" "$2"; }
