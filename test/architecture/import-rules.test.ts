// The layer rules of docs/architecture.md, checked on the source: every import points down (or stays in its own
// folder), no import cycle between modules, the runtime path (what a board runs for `kdp fly`, `kdp arm`,
// `kdp serve`) never loads the trainer or the simulator, and nothing in src/ imports test code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(ROOT, 'src');

/** Bottom to top. A module may import its own folder, the foundation, and any folder on a lower layer. */
export const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts', 'log.ts', 'types', 'util', 'boards', 'wasm', 'native'], // foundation
  ['protocols'], // pure codecs: bytes in, typed messages out
  ['links'], // every transport behind one seam, URI factories, the shipped faithful fakes
  ['devices'], // device clients: Crazyflie, Feetech bus, SO-100 arm, MAVLink telemetry peer
  ['model'], // weight and checkpoint formats
  ['data'], // dataset readers and writers
  ['planner'], // TFLite export, the interpreter and its kernels, manifests, model loading
  ['envs'], // task and environment definitions (layouts, workspaces, obstacle geometry, the maze point mass)
  ['sim'], // the simulated device side, simulated demos, the env factory
  ['control'], // the one Clock, the fixed-rate scheduler, the task seam, the receding-horizon loop
  ['fly', 'arm', 'deploy', 'eval'], // tasks: robots and the board agent
  ['bench', 'train'], // host-side work
  ['cli'],
];
/** Runtime path: what a board loads. Its static closure must not reach these. */
const RUNTIME_ROOTS = ['protocols', 'links', 'devices', 'planner/runtime', 'control', 'fly', 'arm'];
const RUNTIME_FILES = ['deploy/serve-agent.ts', 'deploy/serve.ts', 'planner/model-loader.ts'];
const NEVER_ON_RUNTIME_PATH = ['train', 'sim', 'bench'];

interface Edge { from: string; to: string; kind: 'value' | 'type' | 'dynamic' }

function walk(dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) { if (f !== 'generated') walk(p, out); } else if (/\.(ts|mts|mjs)$/.test(f) && !f.endsWith('.d.ts')) out.push(p);
  }
  return out;
}
const files = walk(SRC).map((f) => relative(SRC, f));
const exists = (rel: string): boolean => files.includes(rel) || existsSync(join(SRC, rel));

function edgesOf(file: string): Edge[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const out: Edge[] = [];
  const add = (spec: string, kind: Edge['kind']): void => {
    if (!spec.startsWith('.')) return;
    let to = relative(SRC, resolve(dirname(join(SRC, file)), spec));
    if (to.endsWith('.js') && !exists(to) && exists(to.slice(0, -3) + '.ts')) to = to.slice(0, -3) + '.ts';
    out.push({ from: file, to, kind });
  };
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/gm)) {
    const typeOnly = Boolean(m[2]) || /^\{[^}]*\}$/.test(m[3]!.trim()) && m[3]!.replace(/[{}]/g, '').split(',').every((s) => /^\s*type\s/.test(s) || !s.trim());
    add(m[4]!, typeOnly ? 'type' : 'value');
  }
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) add(m[1]!, 'value');
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) add(m[1]!, 'dynamic');
  return out;
}
const edges = files.flatMap(edgesOf);

const top = (rel: string): string => rel.split('/')[0]!;
const layerOf = (rel: string): number => {
  const t = top(rel);
  const i = LAYERS.findIndex((l) => l.includes(t));
  return i;
};

test('every src/ module sits in a known layer', () => {
  const unknown = [...new Set(files.filter((f) => layerOf(f) < 0).map(top))];
  assert.equal(unknown, [], `folders without a layer (add them to LAYERS and docs/architecture.md): ${unknown.join(', ')}`);
});

test('no upward import: every arrow points to the same folder, the foundation or a lower layer', () => {
  const bad = edges.filter((e) => {
    if (top(e.from) === top(e.to)) return false;
    const a = layerOf(e.from), b = layerOf(e.to);
    return b > a || (b === a && a !== 0); // peers on one layer stay independent
  });
  assert.equal(bad.map((e) => `${e.from} → ${e.to}${e.kind === 'value' ? '' : ` (${e.kind})`}`), []);
});

test('no import cycle between modules (static imports, types included)', () => {
  const graph = new Map<string, string[]>();
  for (const e of edges) if (e.kind !== 'dynamic') graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
  // Tarjan's strongly connected components
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  assert.equal(cycles, []);
});

test('the runtime path (fly, arm, serve, the control loop, devices, the interpreter) never loads train/, sim/ or bench/', () => {
  const roots = files.filter((f) => RUNTIME_ROOTS.some((r) => f === r || f.startsWith(r + '/')) || RUNTIME_FILES.includes(f));
  assert.ok(roots.length > 20, `runtime roots found: ${roots.length}`);
  const seen = new Map<string, string>(); // module → the module that pulled it in
  const queue = [...roots];
  for (const r of roots) seen.set(r, '(root)');
  while (queue.length) {
    const f = queue.shift()!;
    for (const e of edges) if (e.from === f && e.kind === 'value' && !seen.has(e.to)) { seen.set(e.to, f); queue.push(e.to); }
  }
  const chain = (f: string): string => { const c = [f]; while (seen.get(c[0]!) !== '(root)') c.unshift(seen.get(c[0]!)!); return c.join(' → '); };
  const bad = [...seen.keys()].filter((f) => NEVER_ON_RUNTIME_PATH.includes(top(f)));
  assert.equal(bad.map(chain), []);
});

test('nothing in src/ imports test code', () => {
  const bad = edges.filter((e) => e.to.startsWith('../test/') || e.to.startsWith('../'));
  assert.equal(bad.map((e) => `${e.from} → ${e.to}`), []);
});

test.run();
