/**
 * The JSON text of a small value (token metadata, policy lists, warnings), remembered for the next line. These
 * values repeat from line to line (every request of a CI job carries its token's metadata and policies, and a
 * login response carries the issued token's twice), and JSON.stringify of each was ~7% of the parse worker's
 * time. A value equal to the previous one, key by key in the same order with the same primitive values, has the
 * same text; anything else (nested values, another shape) is stringified as before. The text is the same
 * string object as the previous line's, which the row packer then recognises without hashing it.
 */
type Obj = Record<string, unknown>;

const isPrimitive = (v: unknown): boolean => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

export class JsonTextMemo {
  private keys: string[] = [];
  private values: unknown[] = [];
  private text: string | null = null;

  /** JSON.stringify of a non-empty array, else null. */
  array(v: unknown): string | null {
    if (!Array.isArray(v) || v.length === 0) return null;
    if (this.text !== null && this.keys.length === 0 && this.values.length === v.length) {
      let same = true;
      for (let i = 0; i < v.length; i++) {
        if (v[i] !== this.values[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.text;
    }
    return this.remember([], [...(v as unknown[])], JSON.stringify(v));
  }

  /** JSON.stringify of a non-empty plain object, else null. */
  object(v: unknown): string | null {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    const o = v as Obj;
    // Own enumerable keys in JSON.stringify's order (objects from JSON.parse have no inherited enumerable keys).
    const keys = Object.keys(o);
    if (keys.length === 0) return null;
    if (this.text !== null && this.keys.length === keys.length) {
      let same = true;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        if (k !== this.keys[i] || o[k] !== this.values[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.text;
    }
    return this.remember(keys, keys.map((k) => o[k]), JSON.stringify(o));
  }

  private remember(keys: string[], values: unknown[], text: string): string {
    // Only flat values are compared by identity of their parts; a nested one is never matched.
    if (values.every(isPrimitive)) {
      this.keys = keys;
      this.values = values;
      this.text = text;
    } else {
      this.text = null;
    }
    return text;
  }
}
