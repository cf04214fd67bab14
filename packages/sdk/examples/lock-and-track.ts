import { readFileSync } from "node:fs";
import { createPublicClient, createWalletClient, http, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { chainFromDeployment, lock, track } from "@ghostbridge/sdk";

const { GHOSTBRIDGE_DEVNET_DIR: dir = "deployments/devnet", GHOSTBRIDGE_DEVNET_PORT_BASE: base = "8545" } = process.env;
const rpc = `http://127.0.0.1:${base}`, api = `http://127.0.0.1:${Number(base) + 23}`; // `ghostbridge devnet`
const chain = chainFromDeployment(readFileSync(`${dir}/31337.json`, "utf8"), rpc);
const account = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"); // devnet demo account
const [wallet, publicClient] = [createWalletClient({ account, transport: http(rpc) }), createPublicClient({ transport: http(rpc) })];
const sent = await lock({ wallet, publicClient, chain, dstChainId: 31338, token: chain.tokens.GCC!, amount: parseEther("1"), recipient: account.address });
const done = await track(api, sent.txHash, { onUpdate: (t) => console.log(t.steps.map((s) => `${s.step}:${s.status}`).join(" ")) });
console.log(done.state);
