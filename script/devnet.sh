#!/usr/bin/env bash
# Runs GhostBridge on two local anvil chains: deploys and connects the contracts on both and keeps
# the chains running until Ctrl-C. Deployment JSON files land in deployments/devnet/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$GHOSTBRIDGE_ROOT/script/devnet-lib.sh"
cd "$GHOSTBRIDGE_ROOT"
DEVNET_DIR=deployments/devnet
mkdir -p "$DEVNET_DIR"
ANVIL_PIDS=()
trap stop_anvils EXIT
PORT_A=${PORT_A:-8545} PORT_B=${PORT_B:-8546}
RPC_A=http://127.0.0.1:$PORT_A RPC_B=http://127.0.0.1:$PORT_B

echo "==> [1/4] starting anvil chains $CHAIN_A ($RPC_A) and $CHAIN_B ($RPC_B)"
start_anvil "$PORT_A" "$CHAIN_A" "$DEVNET_DIR/anvil-a.log"
start_anvil "$PORT_B" "$CHAIN_B" "$DEVNET_DIR/anvil-b.log"
echo "==> [2/4] deploying contracts on both chains (forge script --broadcast)"
deploy_chain "$RPC_A" "$DEVNET_DIR/$CHAIN_A.json"
deploy_chain "$RPC_B" "$DEVNET_DIR/$CHAIN_B.json"
echo "==> [3/4] connecting routes both ways"
connect_chain "$RPC_A" "$DEVNET_DIR/$CHAIN_A.json" "$DEVNET_DIR/$CHAIN_B.json"
connect_chain "$RPC_B" "$DEVNET_DIR/$CHAIN_B.json" "$DEVNET_DIR/$CHAIN_A.json"
echo "==> [4/4] ready"
for c in "$CHAIN_A" "$CHAIN_B"; do
  echo "   chain $c: vault $(json_get "$DEVNET_DIR/$c.json" vault)  minter $(json_get "$DEVNET_DIR/$c.json" minter)  verifier $(json_get "$DEVNET_DIR/$c.json" verifier)"
done
echo "   deployments: $DEVNET_DIR/$CHAIN_A.json, $DEVNET_DIR/$CHAIN_B.json; Ctrl-C stops the chains"
wait
