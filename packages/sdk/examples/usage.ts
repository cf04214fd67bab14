import { bridgeVaultAbi, decodeBridgeError, merkleProof, merkleRoot, messageDigest, messageId, toBridgeError } from "@ghostbridge/sdk";
import { createPublicClient, encodeFunctionData, http, keccak256, parseEther, toFunctionSelector, toHex } from "viem";

// A lock of 1 GCC on chain 31337 for Bob on chain 31338, as the vault's `Locked` event carries it.
const message = {
  version: 1,
  srcChainId: 31337n,
  dstChainId: 31338n,
  srcContract: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", // the vault on 31337
  nonce: 1n,
  token: "0xa513E6E4b8f2a923D98304ec87F64353C4D5C853", // GCC
  amount: parseEther("1"),
  sender: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  recipient: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
} as const;
const id = messageId(message);

// What the validators sign for it: released by the minter on 31338, verifier epoch 1.
const digest = messageDigest({
  chainId: 31338n,
  verifier: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
  endpoint: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
  epoch: 1n,
  messageId: id,
});

// A batch: the root validators attest once, and this message's proof under it.
const batch = [id, keccak256(toHex("another message"))];
const root = merkleRoot(batch);
const proof = merkleProof(batch, 0);

// The lock call a wallet sends, typed from the vault's ABI.
const lock = { abi: bridgeVaultAbi, functionName: "lock", args: [message.token, message.amount, 31338n, message.recipient] } as const;
const calldata = encodeFunctionData(lock);

// Reverts decode into typed errors carrying their values.
const zero = decodeBridgeError(toFunctionSelector("ZeroAmount()"));
console.log(JSON.stringify({ id, digest, root, proof, selector: calldata.slice(0, 10), error: zero?.errorName }));

// Against a node (GHOSTBRIDGE_RPC_URL=http://127.0.0.1:8545): headroom, and a refused lock of 0.
const rpc = process.env.GHOSTBRIDGE_RPC_URL;
if (rpc) {
  const client = createPublicClient({ transport: http(rpc) });
  const headroom = await client.readContract({
    address: message.srcContract,
    abi: bridgeVaultAbi,
    functionName: "rateLimitAvailable",
    args: [message.token, message.dstChainId, false],
  });
  try {
    await client.simulateContract({ ...lock, address: message.srcContract, account: message.sender, args: [message.token, 0n, 31338n, message.recipient] });
  } catch (e) {
    const refused = toBridgeError(e);
    console.log({ headroom, refused: refused?.errorName, values: refused?.values });
  }
}
