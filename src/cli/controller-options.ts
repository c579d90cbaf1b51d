/**
 * Options shared by the commands that work on a whole topology (deploy,
 * status, watch): the topology file, the pipeline, the election id, and
 * --embedded to bring the topology up on in-process embedded switches.
 */
import type { Command } from "commander";
import { loadTopology } from "../controller/topology/load.js";
import type { Topology } from "../controller/topology/schema.js";
import { loadPipeline, defaultBuildDir, type Pipeline } from "../controller/pipeline.js";
import { join } from "node:path";
import { CliError, EXIT, type OutputFormat } from "./output.js";

export interface TopologyOptions {
  topology: string;
  json?: string;
  p4info?: string;
  electionId: string;
  output: OutputFormat;
}

/** `electionDefault`: 10 for the controller; observers use 1 and stay backups. */
export function addTopologyOptions(cmd: Command, electionDefault = "10"): Command {
  return cmd
    .requiredOption("-t, --topology <file>", "topology file (YAML or JSON)")
    .option("--json <file>", "BMv2 JSON of the data plane", join(defaultBuildDir, "p4cast.json"))
    .option("--p4info <file>", "P4Info of the data plane", join(defaultBuildDir, "p4cast.p4info.txtpb"))
    .option("--election-id <n>", "election id of this client", electionDefault)
    .option("--output <format>", "table | json", "table");
}

export function readTopology(o: TopologyOptions): Topology {
  return loadTopology(o.topology);
}

export async function readPipeline(o: TopologyOptions): Promise<Pipeline> {
  try {
    return await loadPipeline(o.json, o.p4info);
  } catch (e) {
    throw new CliError(
      `cannot load the pipeline: ${e instanceof Error ? e.message : String(e)}`,
      EXIT.usage,
      "check --json and --p4info, or run `make p4`",
    );
  }
}

export function electionId(o: TopologyOptions): bigint {
  if (!/^\d+$/.test(o.electionId)) throw new CliError(`--election-id must be a non-negative integer (got "${o.electionId}")`, EXIT.usage);
  return BigInt(o.electionId);
}
