import { describe, expect, it } from 'vitest';
import { compileGlob } from '../correlate/index.js';

describe('path globs (CONTRACT: * does not cross /, ** does)', () => {
  const m = (glob: string, path: string) => compileGlob(glob).regex.test(path);

  it('* stays inside one segment, ** crosses them', () => {
    expect(m('kv/data/*/db', 'kv/data/app/db')).toBe(true);
    expect(m('kv/data/*/db', 'kv/data/app/prod/db')).toBe(false);
    expect(m('kv/data/**/db', 'kv/data/app/prod/db')).toBe(true);
    expect(m('kv/data/**/db', 'kv/data/db')).toBe(true);
    expect(m('kv/data/**', 'kv/data/a/b/c')).toBe(true);
    expect(m('kv/data/app?', 'kv/data/app1')).toBe(true);
    expect(m('kv/data/app?', 'kv/data/app/')).toBe(false);
  });

  it('regex characters in a path are literal, and the SQL prefix stops at the first wildcard', () => {
    expect(m('kv/data/a.b(c)', 'kv/data/a.b(c)')).toBe(true);
    expect(m('kv/data/a.b(c)', 'kv/data/aXb(c)')).toBe(false);
    expect(compileGlob('kv/data/*/db')).toMatchObject({ prefix: 'kv/data/', exact: false });
    expect(compileGlob('kv/data/app/db')).toMatchObject({ prefix: 'kv/data/app/db', exact: true });
    expect(compileGlob('**')).toMatchObject({ prefix: '', exact: false });
  });
});
