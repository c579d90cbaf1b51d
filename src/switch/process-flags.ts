/**
 * Node.js (V8) flags for a switch process (`p4cast switch`): a young
 * generation big enough for P4Runtime write bursts. A Write of 1,000 entries
 * leaves them all alive; with V8's default semi-space (grown from 1 MiB up
 * to 16 MiB), a scavenge every few thousand entries copies every entry
 * written since the last one, and collection took a third of the switch's
 * busy time in `npm run bench:client`. With 16–64 MiB, scavenges come
 * several times less often; the write ceiling rose from 0.67–0.86 of
 * simple_switch_grpc's to about parity (docs/results.md). The flags must be
 * given to `node` itself (V8 sizes its heap when it starts); everything that
 * starts a switch process passes them: the lab networks, the benchmarks and
 * mininet/p4cast_net.py (tested to match); started by hand, `node <flags>
 * dist/cli/main.js switch` (docs/cli.md).
 */
export const SWITCH_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=64", "--min-semi-space-size=16"];
