import { sha256 } from "../engine/hash.js";

/**
 * JSON files of the cache that carry their own checksum: an object's JSON text with a last member
 * `"checksum"`, the SHA-256 of the text without it. Whatever members the object has (task records
 * gain fields over time) are covered; a flipped bit or an edit anywhere makes the file unreadable
 * as sealed, and the cache treats it as a miss, never as a result.
 */
const FIELD = '"checksum":"';
/** `,"checksum":"<64 hex>"}`: what sealing appends to a non-empty object's text. */
const TAIL = /(,?)"checksum":"([0-9a-f]{64})"\}$/;

export function sealJson(value: object): string {
  const text = JSON.stringify(value);
  if (!text.startsWith("{") || !text.endsWith("}")) throw new Error("only an object can be sealed");
  const sum = sha256(text);
  return `${text.slice(0, -1)}${text === "{}" ? "" : ","}${FIELD}${sum}"}`;
}

/** The sealed object (its checksum left out), or undefined if the text is not one whole sealed object. */
export function unsealJson(text: string): unknown {
  const body = sealedBody(text);
  if (body === undefined) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined; // the checksum matched a text that is not JSON: not one dag wrote
  }
}

/** The text that was sealed, if the checksum at the end of `text` is the SHA-256 of it. */
export function sealedBody(text: string): string | undefined {
  const tailAt = Math.max(0, text.length - 80);
  const m = TAIL.exec(text.slice(tailAt));
  if (!m) return undefined;
  const body = `${text.slice(0, tailAt + m.index)}}`;
  if (!body.startsWith("{") || (!m[1] && body !== "{}")) return undefined;
  return sha256(body) === m[2] ? body : undefined;
}
