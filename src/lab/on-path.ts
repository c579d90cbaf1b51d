/** Whether a command of the host is installed. */
import { spawnSync } from "node:child_process";

/** True when `command` is on PATH (`command -v`). */
export function onPath(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}
