/** Parser value sets: members given as match values per field. */
import { create } from "@bufbuild/protobuf";
import type { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import { P4ValueError } from "../../p4runtime/errors.js";
import { type MatchInput, type MatchSpec, decodeMatch, encodeMatch, parseMatch } from "../../p4runtime/codec/match.js";
import { type ValueSetEntry, ValueSetEntrySchema, ValueSetMemberSchema } from "../../proto/gen/p4/v1/p4runtime_pb.js";
import type { EncodeOptions } from "./common.js";

export interface ValueSetEntryInput {
  readonly valueSet: string | number;
  /** Each member maps field name to a match value; the entry replaces the set. */
  readonly members?: readonly Readonly<Record<string, MatchInput>>[];
}

export interface DecodedValueSetEntry {
  readonly valueSet: string;
  readonly members: readonly Readonly<Record<string, MatchSpec>>[];
}

export function encodeValueSetEntry(index: P4InfoIndex, input: ValueSetEntryInput, opts: EncodeOptions = {}): ValueSetEntry {
  const vs = index.valueSet(input.valueSet);
  const members = input.members ?? [];
  if (vs.size > 0 && members.length > vs.size)
    throw new P4ValueError(`value set "${vs.name}" holds at most ${vs.size} members, got ${members.length}`);
  return create(ValueSetEntrySchema, {
    valueSetId: vs.id,
    members: members.map((m) =>
      create(ValueSetMemberSchema, {
        match: Object.entries(m).flatMap(([name, value]) => {
          const field = vs.matchFields.get(name);
          const spec = parseMatch(value, field);
          return spec ? [encodeMatch(spec, field, opts.mode)] : [];
        }),
      }),
    ),
  });
}

export function decodeValueSetEntry(index: P4InfoIndex, e: ValueSetEntry): DecodedValueSetEntry {
  const vs = index.valueSet(e.valueSetId);
  return {
    valueSet: vs.name,
    members: e.members.map((m) =>
      Object.fromEntries(
        m.match.map((fm) => {
          const field = vs.matchFields.get(fm.fieldId);
          return [field.name, decodeMatch(fm, field)];
        }),
      ),
    ),
  };
}
