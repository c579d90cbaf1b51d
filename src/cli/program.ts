/** The command tree of p4cast: every subcommand, its options and help. */
import { Command } from "commander";
import { registerSwitch } from "./commands/switch.js";
import { registerDemo } from "./commands/demo.js";
import { registerDeploy } from "./commands/deploy.js";
import { registerStatus } from "./commands/status.js";
import { registerWatch } from "./commands/watch.js";
import { registerTopology } from "./commands/topology.js";
import { registerTable } from "./commands/table.js";
import { registerClone, registerMcast } from "./commands/mcast.js";
import { registerCounter } from "./commands/counter.js";
import { registerMeter } from "./commands/meter.js";
import { registerRegister } from "./commands/register.js";
import { registerPacket } from "./commands/packet.js";
import { registerRuntime } from "./commands/runtime.js";
import { registerCodegen } from "./commands/codegen.js";
import { registerNet } from "./commands/net.js";

/** The p4cast command with every subcommand registered (main.ts parses the command line with it). */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name("p4cast")
    .description("reliable multicast over a redundant unicast overlay, on P4 switches")
    .version("0.1.0")
    .showHelpAfterError();
  // Before the subcommands are added, so that they inherit it: a usage error
  // (missing argument or option, unknown option or command) then reaches the
  // catch in main.ts and exits 2 instead of commander's own exit 1.
  program.exitOverride();
  registerSwitch(program);
  registerDemo(program);
  registerDeploy(program);
  registerStatus(program);
  registerWatch(program);
  registerTopology(program);
  registerTable(program);
  registerMcast(program);
  registerClone(program);
  registerCounter(program);
  registerMeter(program);
  registerRegister(program);
  registerPacket(program);
  registerRuntime(program);
  registerCodegen(program);
  registerNet(program);
  return program;
}
