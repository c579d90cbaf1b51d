/** Parser value sets: a MODIFY replaces the whole set. */
import { create } from "@bufbuild/protobuf";
import { type ValueSetEntry, ValueSetEntrySchema, ValueSetMemberSchema, Update_Type } from "../../../proto/gen/p4/v1/p4runtime_pb.js";
import { exhausted, invalid, notFound } from "../status.js";
import { fieldToKey, keyToField } from "./convert.js";
import type { RuntimeState, UndoLog } from "./context.js";
import { maxUnsigned } from "../../../p4runtime/codec/bytestring.js";
import type { MatchValue } from "../../engine/runtime-api.js";

export function writeValueSet(st: RuntimeState, type: Update_Type, e: ValueSetEntry, undo: UndoLog): void {
  const vs = st.pipeline.index.valueSets.find(e.valueSetId);
  if (!vs) throw notFound(`unknown value set id ${e.valueSetId}`);
  const what = `value set "${vs.name}"`;
  if (type !== Update_Type.MODIFY) throw invalid(`${what}: only MODIFY is allowed (it replaces the set)`);
  if (vs.size > 0 && e.members.length > vs.size) throw exhausted(`${what} holds at most ${vs.size} members`);
  const members = e.members.map((m) => {
    const byField = new Map(m.match.map((fm) => [fm.fieldId, fm]));
    for (const fm of m.match) if (!vs.matchFields.find(fm.fieldId)) throw invalid(`${what}: unknown match field id ${fm.fieldId}`);
    return vs.matchFieldList.map((f) => {
      const k = fieldToKey(f, byField.get(f.id), f.kind === "optional" ? "ternary" : f.kind, `${what} field "${f.name}"`);
      const all = maxUnsigned(f.bitwidth);
      switch (k.kind) {
        case "exact":
          return { value: k.value, mask: all };
        case "ternary":
          return { value: k.value, mask: k.mask };
        case "lpm":
          return { value: k.value, mask: k.prefixLength === 0 ? 0n : all ^ maxUnsigned(f.bitwidth - k.prefixLength) };
        default:
          throw invalid(`${what}: ${k.kind} matches are not supported in value sets`);
      }
    });
  });
  const engine = st.pipeline.engine;
  const before = engine.getValueSet(vs.name);
  engine.setValueSet(vs.name, members);
  undo.push(() => engine.setValueSet(vs.name, before));
}

function memberToKey(kind: string, w: number, x: { value: bigint; mask: bigint }): MatchValue {
  if (kind === "exact") return { kind: "exact", value: x.value };
  if (kind === "lpm") {
    let len = 0;
    for (let m = x.mask; m !== 0n; m = (m << 1n) & maxUnsigned(w)) len++;
    return { kind: "lpm", value: x.value, prefixLength: len };
  }
  return { kind: "ternary", value: x.value, mask: x.mask };
}

export function readValueSets(st: RuntimeState, q: ValueSetEntry): ValueSetEntry[] {
  const idx = st.pipeline.index;
  const list =
    q.valueSetId === 0
      ? [...idx.valueSets]
      : [
          idx.valueSets.find(q.valueSetId) ??
            (() => {
              throw notFound(`unknown value set id ${q.valueSetId}`);
            })(),
        ];
  const engine = st.pipeline.engine;
  return list.map((vs) =>
    create(ValueSetEntrySchema, {
      valueSetId: vs.id,
      members: engine.getValueSet(vs.name).map((m) =>
        create(ValueSetMemberSchema, {
          match: vs.matchFieldList.flatMap((f, i) => {
            const x = m[i]!;
            const fm = keyToField(f, memberToKey(f.kind, f.bitwidth, x));
            return fm ? [fm] : [];
          }),
        }),
      ),
    }),
  );
}
