/** The p4c outputs of the test programs (compiled by `make fixtures`). */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { P4RuntimeClient } from "../../src/client/client.js";
import { parseP4Info } from "../../src/p4runtime/p4info/load.js";
import type { P4Info } from "../../src/proto/gen/p4/config/v1/p4info_pb.js";

const here = dirname(fileURLToPath(import.meta.url));
export const fixtureBuildDir = join(here, "..", "fixtures", "p4", "build");

export interface CompiledProgram {
  readonly name: string;
  readonly p4info: P4Info;
  readonly p4infoText: string;
  readonly deviceConfig: Uint8Array;
  readonly json: unknown;
}

export function fixture(name: string): CompiledProgram {
  const p4infoText = readFileSync(join(fixtureBuildDir, `${name}.p4info.txtpb`), "utf8");
  const deviceConfig = new Uint8Array(readFileSync(join(fixtureBuildDir, `${name}.json`)));
  return {
    name,
    p4info: parseP4Info(p4infoText, "text", `${name}.p4info.txtpb`),
    p4infoText,
    deviceConfig,
    json: JSON.parse(new TextDecoder().decode(deviceConfig)),
  };
}

/**
 * Pushes bench_tables (an exact IPv4 table) to the P4Runtime server at
 * `address` with one entry: 10.0.0.2 out of port 2. The forwarding setup of
 * the end-to-end bench and of the port-counter test.
 */
export async function programBenchTables(address: string): Promise<void> {
  const prog = fixture("bench_tables");
  const client = await P4RuntimeClient.connect({ address, deviceId: 1n, electionId: 1n, reconnect: false });
  try {
    await client.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig, cookie: 1n });
    await client.insert({
      kind: "tableEntry",
      table: "host_exact",
      match: { "hdr.ipv4.dst_addr": "10.0.0.2" },
      action: { name: "set_port", params: { port: 2 } },
    });
  } finally {
    client.close();
  }
}
