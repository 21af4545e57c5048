import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../src/util/atomic-write.js';

test('writes the new content and leaves no temp files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-aw-'));
  const p = join(dir, 'a.json');
  writeFileSync(p, 'old');
  writeJsonAtomic(p, { x: 1 });
  assert.equal(JSON.parse(readFileSync(p, 'utf8')), { x: 1 });
  assert.equal(readdirSync(dir), ['a.json']);
});

test('creates missing directories', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-aw-'));
  const p = join(dir, 'deep', 'er', 'b.bin');
  writeFileAtomic(p, new Uint8Array([1, 2, 3]));
  assert.equal([...readFileSync(p)], [1, 2, 3]);
});

test.run();
