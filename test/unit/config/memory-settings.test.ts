// Which V8 flags the daemon sets at run time (proxy/memory-settings.ts): both by default, none the
// user chose otherwise. test/integration/memory-settings.test.ts shows their effect in the bin.
import { describe, expect, it } from 'vitest';
import { runtimeFlags } from '../../../proxy/memory-settings.js';

describe('runtimeFlags', () => {
  it('plain `node dist/proxy/main.js`: --optimize-for-size and a young generation that does not grow', () => {
    expect(runtimeFlags([], undefined)).toEqual(['--optimize-for-size', '--semi-space-growth-factor=1']);
    expect(runtimeFlags(['--import=x.mjs'], '--enable-source-maps')).toEqual(['--optimize-for-size', '--semi-space-growth-factor=1']);
  });

  it('--optimize-for-size at start (the bin, the image) already caps the young generation: nothing to set', () => {
    expect(runtimeFlags(['--optimize-for-size'], undefined)).toEqual([]);
  });

  it("the user's own choices win, in execArgv or NODE_OPTIONS, with either spelling", () => {
    expect(runtimeFlags(['--no-optimize-for-size'], undefined)).toEqual(['--semi-space-growth-factor=1']);
    expect(runtimeFlags([], '--max-semi-space-size=16')).toEqual(['--optimize-for-size']);
    expect(runtimeFlags(['--max_semi_space_size=8'], undefined)).toEqual(['--optimize-for-size']);
    expect(runtimeFlags(['--semi-space-growth-factor=4'], undefined)).toEqual(['--optimize-for-size']);
  });
});
