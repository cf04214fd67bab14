#!/usr/bin/env bash
# End-to-end check of the deploy scripts on two real anvil chains, with real validator signatures:
# deploy + connect both chains, lock GCC on chain A, have 3 of the 4 devnet validators sign the
# EIP-712 digest (cast wallet sign), mint on chain B, then check that a replay, an attestation
# for the other endpoint (vault B), a second claim of one remote and an
# under-threshold attestation are refused. No Rust involved: this pins the contracts + scripts.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$GHOSTBRIDGE_ROOT/script/devnet-lib.sh"
cd "$GHOSTBRIDGE_ROOT"
mkdir -p deployments && DEVNET_DIR=$(mktemp -d deployments/test-deploy.XXXXXX)
ANVIL_PIDS=()
trap 'stop_anvils; rm -rf "$DEVNET_DIR"' EXIT
trap 'exit 143' TERM INT  # a timeout still stops the anvils (through the EXIT trap)
BLOCK_TIME=0  # automine: one block per transaction keeps the test fast
PORT_A=$(free_port) PORT_B=$(free_port)
while [ "$PORT_B" = "$PORT_A" ]; do PORT_B=$(free_port); done
RPC_A=http://127.0.0.1:$PORT_A RPC_B=http://127.0.0.1:$PORT_B
start_anvil "$PORT_A" "$CHAIN_A" "$DEVNET_DIR/a.log"
start_anvil "$PORT_B" "$CHAIN_B" "$DEVNET_DIR/b.log"
deploy_chain "$RPC_A" "$DEVNET_DIR/a.json"
deploy_chain "$RPC_B" "$DEVNET_DIR/b.json"
connect_chain "$RPC_A" "$DEVNET_DIR/a.json" "$DEVNET_DIR/b.json"
connect_chain "$RPC_B" "$DEVNET_DIR/b.json" "$DEVNET_DIR/a.json"

passed=0 failed=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok   $1";
  else failed=$((failed + 1)); echo "FAIL $1: expected $2, got $3"; fi
}

vault_a=$(json_get "$DEVNET_DIR/a.json" vault)
gcc_a=$(json_get "$DEVNET_DIR/a.json" tokens.GCC)
ghost_a=$(json_get "$DEVNET_DIR/a.json" tokens.GHOST)
fees_a=$(json_get "$DEVNET_DIR/a.json" feeManager)
minter_b=$(json_get "$DEVNET_DIR/b.json" minter)
vault_b=$(json_get "$DEVNET_DIR/b.json" vault)
minter_a=$(json_get "$DEVNET_DIR/a.json" minter)
verifier_b=$(json_get "$DEVNET_DIR/b.json" verifier)
user_key=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d  # anvil account 1
user=$(cast wallet address --private-key $user_key)
recipient=0x000000000000000000000000000000000000bEEF
amount=5000000000000000000
send() { cast send -q --rpc-url "$1" --private-key "$2" "${@:3}"; }

check "deployment JSON names chain A" "$CHAIN_A" "$(json_get "$DEVNET_DIR/a.json" chainId)"
check "vault A points at minter B" "$minter_b" "$(cast call --rpc-url $RPC_A "$vault_a" 'remoteOf(uint64)(address)' $CHAIN_B)"
check "verifier B records vault B as the owner of route (A, minter A)" "$vault_b" "$(cast call --rpc-url $RPC_B "$verifier_b" 'remoteOwner(uint64,address)(address)' $CHAIN_A "$minter_a")"
if send $RPC_B $DEPLOYER_KEY "$minter_b" 'setRemote(uint64,address)' $CHAIN_A "$minter_a" 2>/dev/null; then r=accepted; else r=refused; fi
check "minter B cannot also accept minter A (vault B's remote)" refused $r

send $RPC_A $DEPLOYER_KEY "$gcc_a" 'mint(address,uint256)' "$user" 1000000000000000000000
send $RPC_A $DEPLOYER_KEY "$ghost_a" 'mint(address,uint256)' "$user" 1000000000000000000
send $RPC_A $user_key "$gcc_a" 'approve(address,uint256)' "$vault_a" "$amount"
send $RPC_A $user_key "$ghost_a" 'approve(address,uint256)' "$fees_a" 1000000000000000000
receipt=$(cast send --json --rpc-url $RPC_A --private-key $user_key "$vault_a" 'lock(address,uint256,uint64,address)' "$gcc_a" "$amount" $CHAIN_B $recipient)

MSG_TYPE='(uint8,uint64,uint64,address,uint64,address,uint256,address,address)'
message="(1,$CHAIN_A,$CHAIN_B,$vault_a,1,$gcc_a,$amount,$user,$recipient)"
message_id=$(cast keccak "$(cast abi-encode "f($MSG_TYPE)" "$message")")
event_id=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print([l for l in r["logs"] if l["address"].lower()==sys.argv[1].lower()][-1]["topics"][1])' "$vault_a" <<<"$receipt")
check "Locked event carries the message id recomputed off-chain" "$message_id" "$event_id"

digest=$(cast call --rpc-url $RPC_B "$verifier_b" 'messageDigest(address,bytes32)(bytes32)' "$minter_b" "$message_id")
signers="[$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["validators"]))' script/config/devnet.json)]"
attestation() { # attestation N: signatures of validators 0..N-1 in EIP-2098 compact form
  local sigs=() i
  for i in $(seq 0 $(($1 - 1))); do
    sig=$(cast wallet sign --no-hash --private-key "${VALIDATOR_KEYS[$i]}" "$digest")
    sigs+=("$(python3 -c 'import sys; s=bytes.fromhex(sys.argv[1][2:]); r,ss,v=s[:32],int.from_bytes(s[32:64],"big"),s[64]; v=v-27 if v>=27 else v; print("(%s,0x%s,0x%064x)"%(sys.argv[2],r.hex(),ss|(v<<255)))' "$sig" "$i")")
  done
  local IFS=,; echo "($signers,[${sigs[*]}])"
}
ATT_TYPE='(address[],(uint8,bytes32,bytes32)[])'
send $RPC_B $user_key "$minter_b" "mint($MSG_TYPE,$ATT_TYPE)" "$message" "$(attestation 3)"
wrapped=$(cast call --rpc-url $RPC_B "$minter_b" 'wrappedTokenOf(uint64,address)(address)' $CHAIN_A "$gcc_a")
check "recipient holds the minted wGCC on chain B" "$amount" "$(cast call --rpc-url $RPC_B "$wrapped" 'balanceOf(address)(uint256)' $recipient | cut -d' ' -f1)"
check "message consumed on chain B" "true" "$(cast call --rpc-url $RPC_B "$minter_b" 'isConsumed(uint64,uint64)(bool)' $CHAIN_A 1)"
if send $RPC_B $user_key "$minter_b" "mint($MSG_TYPE,$ATT_TYPE)" "$message" "$(attestation 3)" 2>/dev/null; then r=accepted; else r=refused; fi
check "replayed mint is refused" refused $r
# 3-of-4 signatures over the digest for vault B (the other endpoint of chain B): the minter refuses.
message3="(1,$CHAIN_A,$CHAIN_B,$vault_a,3,$gcc_a,$amount,$user,$recipient)"
message_id=$(cast keccak "$(cast abi-encode "f($MSG_TYPE)" "$message3")")
digest=$(cast call --rpc-url $RPC_B "$verifier_b" 'messageDigest(address,bytes32)(bytes32)' "$vault_b" "$message_id")
if send $RPC_B $user_key "$minter_b" "mint($MSG_TYPE,$ATT_TYPE)" "$message3" "$(attestation 3)" 2>/dev/null; then r=accepted; else r=refused; fi
check "an attestation for vault B does not mint on minter B" refused $r
message2="(1,$CHAIN_A,$CHAIN_B,$vault_a,2,$gcc_a,$amount,$user,$recipient)"
message_id=$(cast keccak "$(cast abi-encode "f($MSG_TYPE)" "$message2")")
digest=$(cast call --rpc-url $RPC_B "$verifier_b" 'messageDigest(address,bytes32)(bytes32)' "$minter_b" "$message_id")
if send $RPC_B $user_key "$minter_b" "mint($MSG_TYPE,$ATT_TYPE)" "$message2" "$(attestation 2)" 2>/dev/null; then r=accepted; else r=refused; fi
check "2-of-4 attestation (threshold 3) is refused" refused $r

# Issue 11: rotation waits out the configured delay and the guardian key may cancel it; each
# wrapped token's release window opened at its first mint with the floor (supply was 0).
check "verifier B's rotation delay is the config's" 3600 "$(cast call --rpc-url $RPC_B "$verifier_b" 'rotationDelay()(uint64)')"
guardian_role=$(cast keccak GUARDIAN_ROLE)
check "the guardian key may cancel a rotation on verifier B" true \
  "$(cast call --rpc-url $RPC_B "$verifier_b" 'hasRole(bytes32,address)(bool)' "$guardian_role" "$(cast wallet address --private-key $DEPLOYER_KEY)")"
floor=$(python3 -c 'import json; print(json.load(open("script/config/devnet.json"))["releaseFloor"])')
check "wGCC's release window on B: the floor minus the first mint" "$(python3 -c "print($floor - $amount)")" \
  "$(cast call --rpc-url $RPC_B "$minter_b" 'releaseWindowOf(address)(uint64,uint256)' "$wrapped" | sed -n 2p | cut -d' ' -f1)"

# GhostPlane settlement (script/DeployGhostPlane.s.sol) on chain A, over chain A's bridge tokens,
# id 4 = native ETH: wiring, then the sequencer priority of submitBatch on a real chain.
gp_json="$DEVNET_DIR/ghostplane.json"
DEPLOY_OUT="$gp_json" BRIDGE_DEPLOYMENT="$DEVNET_DIR/a.json" GHOSTPLANE_TOKEN_4=0x0000000000000000000000000000000000000000 \
  forge_broadcast "$RPC_A" script/DeployGhostPlane.s.sol:DeployGhostPlane
gp_portal=$(json_get "$gp_json" portal)
gp_rollup=$(json_get "$gp_json" rollup)
gp_exec=$(json_get "$gp_json" exec)
deployer=$(cast wallet address --private-key $DEPLOYER_KEY)
has_code() { [ "$(cast codesize --rpc-url $RPC_A "$1")" -gt 0 ] && echo yes || echo no; }
check "GhostPlanePortal, GhostPlaneRollup and GhostPlaneExec have code" "yes yes yes" \
  "$(has_code "$gp_portal") $(has_code "$gp_rollup") $(has_code "$gp_exec")"
check "the portal's rollup is the deployed rollup" "$gp_rollup" "$(cast call --rpc-url $RPC_A "$gp_portal" 'rollup()(address)')"
check "GhostPlane id 0 is chain A's GCC, id 4 native ETH" "$gcc_a 0x0000000000000000000000000000000000000000" \
  "$(cast call --rpc-url $RPC_A "$gp_portal" 'tokenAddress(uint256)(address)' 0) $(cast call --rpc-url $RPC_A "$gp_portal" 'tokenAddress(uint256)(address)' 4)"
check "the deployer is the designated sequencer" "$deployer" "$(cast call --rpc-url $RPC_A "$gp_rollup" 'sequencer()(address)')"
send $RPC_A $DEPLOYER_KEY "$gp_rollup" 'bond()' --value 1ether
send $RPC_A $user_key "$gp_rollup" 'bond()' --value 1ether
root=$(cast call --rpc-url $RPC_A "$gp_rollup" 'genesisStateRoot()(bytes32)')
empty=$(cast call --rpc-url $RPC_A "$gp_rollup" 'emptyWithdrawalsRoot()(bytes32)')
HDR='(uint64,bytes32,uint64,uint64,bytes32,uint64,uint64,bytes32,uint32,uint32,uint8,bytes32)'
header="(1,$root,1,0,$root,1,0,$empty,0,0,0,0x0000000000000000000000000000000000000000000000000000000000000000)"
if send $RPC_A $user_key "$gp_rollup" "submitBatch($HDR,bytes)" "$header" 0x 2>/dev/null; then r=accepted; else r=refused; fi
check "a bonded non-sequencer cannot submit while the sequencer is live" refused $r
send $RPC_A $DEPLOYER_KEY "$gp_rollup" "submitBatch($HDR,bytes)" "$header" 0x
check "the sequencer's empty batch 1 is the tip" 1 "$(cast call --rpc-url $RPC_A "$gp_rollup" 'tip()(uint64)')"

echo "deploy-e2e: $passed passed, $failed failed"
[ "$failed" = 0 ]
