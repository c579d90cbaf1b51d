/**
 * Decoding P4Data (digest members, register cells of struct type) against the
 * P4Info type spec: bit strings become bigints, structs and headers become
 * records keyed by member name, tuples and stacks become arrays.
 */
import type { P4InfoIndex } from "../../p4runtime/p4info/index.js";
import type { P4Data } from "../../proto/gen/p4/v1/p4data_pb.js";
import type { P4DataTypeSpec } from "../../proto/gen/p4/config/v1/p4types_pb.js";
import { decodeSigned, decodeUnsigned } from "../../p4runtime/codec/bytestring.js";

export type P4Value = bigint | boolean | string | null | readonly P4Value[] | { readonly [name: string]: P4Value };

export function decodeP4Data(index: P4InfoIndex, data: P4Data, spec?: P4DataTypeSpec): P4Value {
  const types = index.p4info.typeInfo;
  const d = data.data;
  switch (d.case) {
    case "bitstring": {
      const bs = spec?.typeSpec.case === "bitstring" ? spec.typeSpec.value.typeSpec : undefined;
      return bs?.case === "int" ? decodeSigned(d.value, bs.value.bitwidth) : decodeUnsigned(d.value);
    }
    case "bool":
      return d.value;
    case "varbit":
      return decodeUnsigned(d.value.bitstring);
    case "enum":
    case "error":
      return d.value;
    case "enumValue":
      return decodeUnsigned(d.value);
    case "struct": {
      const name = spec?.typeSpec.case === "struct" ? spec.typeSpec.value.name : undefined;
      const members = name ? types?.structs[name]?.members : undefined;
      const out: Record<string, P4Value> = {};
      d.value.members.forEach((m, i) => {
        const member = members?.[i];
        out[member?.name ?? `_${i}`] = decodeP4Data(index, m, member?.typeSpec);
      });
      return out;
    }
    case "tuple": {
      const members = spec?.typeSpec.case === "tuple" ? spec.typeSpec.value.members : undefined;
      return d.value.members.map((m, i) => decodeP4Data(index, m, members?.[i]));
    }
    case "header": {
      const name = spec?.typeSpec.case === "header" ? spec.typeSpec.value.name : undefined;
      const members = name ? types?.headers[name]?.members : undefined;
      if (!d.value.isValid) return null;
      const out: Record<string, P4Value> = {};
      d.value.bitstrings.forEach((b, i) => {
        out[members?.[i]?.name ?? `_${i}`] = decodeUnsigned(b);
      });
      return out;
    }
    case "headerStack":
      return d.value.entries.map((h) => (h.isValid ? h.bitstrings.map((b) => decodeUnsigned(b)) : null));
    case "headerUnion":
      return d.value.validHeaderName
        ? { [d.value.validHeaderName]: d.value.validHeader ? d.value.validHeader.bitstrings.map((b) => decodeUnsigned(b)) : null }
        : null;
    case "headerUnionStack":
      return d.value.entries.map((u) => u.validHeaderName || null);
    default:
      return null;
  }
}
