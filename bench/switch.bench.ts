/** `npx vitest bench bench/switch.bench.ts --run` */
import { bench, describe } from "vitest";
import { loadEngine } from "../src/switch/engine/index.js";
import { basicWorkload, biggerWorkload, measureEngine, measureSimpleSwitch } from "./switch.js";

for (const w of [basicWorkload(), biggerWorkload()]) {
  describe(w.name, async () => {
    const e = loadEngine(w.json);
    w.setup(e);
    let i = 0;
    bench("engine.process (1 packet)", () => {
      e.process(1, w.packets[i++ % w.packets.length]!);
    });
    const ours = measureEngine(w, 2000).pps;
    const theirs = await measureSimpleSwitch(w);
    console.log(
      `[${w.name}] engine: ${Math.round(ours)} pkt/s` +
        (theirs ? `, simple_switch: ${Math.round(theirs)} pkt/s, ratio ${(ours / theirs).toFixed(1)}x` : ", simple_switch not available"),
    );
  });
}
