/**
 * Path globs of CONTRACT.md: `*` does not cross `/`, `**` does, `?` is one character other than `/`.
 * A glob becomes an index-friendly literal prefix for SQL plus a regular expression for the exact match,
 * so no user text is ever pasted into SQL.
 */
export interface CompiledGlob {
  /** The text before the first wildcard (the whole glob when it has none). */
  prefix: string;
  /** True when the glob has no wildcard: an equality test is enough. */
  exact: boolean;
  regex: RegExp;
}

function escapeRegex(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}

export function compileGlob(glob: string): CompiledGlob {
  let re = '';
  let prefix = '';
  let sawWildcard = false;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') {
      sawWildcard = true;
      if (glob[i + 1] === '*') {
        i++;
        // `**/` also matches nothing, so `a/**/b` matches `a/b`.
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (ch === '?') {
      sawWildcard = true;
      re += '[^/]';
    } else {
      re += escapeRegex(ch);
      if (!sawWildcard) prefix += ch;
    }
  }
  return { prefix, exact: !sawWildcard, regex: new RegExp(`^${re}$`, 's') };
}

/** The exclusive upper bound of the strings that start with `prefix` (for a range scan on an index). */
export function prefixUpperBound(prefix: string): string {
  return `${prefix}\uffff`;
}
