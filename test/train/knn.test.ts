import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KdTree } from '../../src/train/knn.js';
import { Rng } from '../../src/util/rng.js';

test('k-d tree returns exactly the brute-force k nearest', () => {
  const rng = new Rng(11);
  for (const dim of [2, 6]) {
    const n = 3000;
    const pts = new Float32Array(n * dim);
    rng.fillNormal(pts);
    // duplicates and a cluster to exercise ties and degenerate splits
    for (let i = 0; i < 200; i++) for (let d = 0; d < dim; d++) pts[i * dim + d] = 0.5;
    const tree = new KdTree(pts, dim, 8, 128);
    const out = new Int32Array(64);
    for (let t = 0; t < 40; t++) {
      const q = Array.from({ length: dim }, () => rng.normal());
      const got = tree.query(q, 0, 64, out);
      assert.is(got, 64);
      const d2 = (i: number): number => { let s = 0; for (let d = 0; d < dim; d++) s += (pts[i * dim + d]! - q[d]!) ** 2; return s; };
      const all = Array.from({ length: n }, (_, i) => d2(i)).sort((a, b) => a - b);
      const kth = all[63]!;
      const mine = Array.from(out).map(d2);
      assert.ok(Math.max(...mine) <= kth + 1e-9, 'a returned point is farther than the true 64th');
      assert.is(new Set(out).size, 64, 'indices are distinct');
    }
  }
});

test('k larger than the data returns all points', () => {
  const tree = new KdTree(new Float32Array([0, 1, 2]), 1, 16, 8);
  const out = new Int32Array(8);
  assert.is(tree.query([0], 0, 8, out), 3);
});

test.run();
