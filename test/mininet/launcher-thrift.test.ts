/**
 * The Mininet launcher's wait for a BMv2 switch's Thrift server
 * (mininet/p4cast_net.py, Bmv2Switch.wait_ready). simple_switch_grpc starts
 * its Thrift server before it registers its `simple_switch` service, so a
 * call in between is answered with a Thrift exception (seen once in a test
 * run on a busy machine: "set_all_egress_queue_depths: 127.0.0.1:9093
 * answered with an exception", and the network did not come up). The
 * launcher must wait through that as it waits through a refused
 * connection. A fake Thrift server answers the first calls with an
 * exception, then with 0; the launcher's own code (imported under Debian's
 * python3, which has Mininet) must return once it has 0, and still give up
 * at its deadline on a server that never gets ready. Skips, saying why,
 * without Debian's python3 and Mininet.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeUnless } from "../support/skips.js";

const launcher = join(import.meta.dirname, "..", "..", "mininet", "p4cast_net.py");

const PYTHON = "/usr/bin/python3";
const probe = spawnSync(PYTHON, ["-c", "import mininet.net"], { stdio: "ignore" });
const skipReason = probe.error
  ? `${PYTHON} is not installed`
  : probe.status !== 0
    ? `${PYTHON} has no Mininet (apt-get install mininet)`
    : undefined;
if (skipReason) console.log(`[p4cast tests] launcher thrift wait: skipped: ${skipReason}`);

/** Python: loads the launcher as a module, runs a fake Thrift server answering `exceptions` exceptions then 0, calls wait_ready. */
const script = (exceptions: number, timeoutS: number) => `
import importlib.util, json, socket, struct, sys, threading, time
spec = importlib.util.spec_from_file_location("p4cast_net", ${JSON.stringify(launcher)})
net = importlib.util.module_from_spec(spec); spec.loader.exec_module(net)

def reply(kind, body):
    name = b"set_all_egress_queue_depths"
    return struct.pack("!iI", -2147418112 | kind, len(name)) + name + struct.pack("!i", 1) + body

EXCEPTION = reply(3, struct.pack("!bh", 11, 1) + struct.pack("!I", 7) + b"unknown" + struct.pack("!bhi", 8, 2, 1) + b"\\x00")
OK = reply(2, struct.pack("!bhi", 8, 0, 0) + b"\\x00")
calls = []
thrift = socket.socket(); thrift.bind(("127.0.0.1", 0)); thrift.listen(16)
grpc = socket.socket(); grpc.bind(("127.0.0.1", 0)); grpc.listen(16)

def serve():
    while True:
        c, _ = thrift.accept()
        data = c.recv(4096)
        calls.append(len(data))
        c.sendall(EXCEPTION if len(calls) <= ${exceptions} else OK)
        c.close()
threading.Thread(target=serve, daemon=True).start()

class Proc:
    def poll(self): return None
class Stub:
    name, kind, log_path, proc = "s3", "bmv2", "/dev/null", Proc()
    spec = {"grpc": "127.0.0.1:%d" % grpc.getsockname()[1], "thrift": "127.0.0.1:%d" % thrift.getsockname()[1]}

started = time.time()
try:
    net.Bmv2Switch.wait_ready(Stub(), time.time() + ${timeoutS})
    out = {"ok": True}
except RuntimeError as e:
    out = {"ok": False, "error": str(e)}
out.update(calls=len(calls), seconds=time.time() - started)
print(json.dumps(out))
`;

function run(exceptions: number, timeoutS: number): { ok: boolean; error?: string; calls: number; seconds: number } {
  const r = spawnSync(PYTHON, ["-c", script(exceptions, timeoutS)], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`python exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

describeUnless(skipReason, "Mininet launcher: a BMv2 Thrift server that is not ready yet", () => {
  it("waits through exception answers until the queue depths are set", () => {
    const r = run(3, 30);
    expect(r).toMatchObject({ ok: true, calls: 4 });
  });

  it("gives up at its deadline, naming the server and the answer", () => {
    const r = run(1_000_000, 1);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(
      /s3: its Thrift server on 127\.0\.0\.1:\d+ did not answer: set_all_egress_queue_depths: .* answered with an exception/,
    );
    expect(r.calls).toBeGreaterThan(1);
  });
});
