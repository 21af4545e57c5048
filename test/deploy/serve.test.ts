import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { common } from 'node-mavlink';
import { generateSigningKey, signModelDir } from '../../src/deploy/keys.js';
import { activate, swapLink } from '../../src/deploy/remote/kdp-slot.mjs';
import { runServe } from '../../src/deploy/serve.js';
import { VirtualClock } from '../../src/control/clock.js';
import { runKdp } from '../helpers/cli.js';
import { decodeFrames } from '../devices/mavlink/helpers.js';
import { makeModelDir } from './fixtures.js';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.mjs', import.meta.url));

async function makeRoot(work: string): Promise<{ root: string; key: ReturnType<typeof generateSigningKey> }> {
  const root = join(work, 'kdp');
  const key = generateSigningKey(join(work, 'deploy.key'));
  mkdirSync(join(root, 'trusted_keys'), { recursive: true });
  cpSync(key.publicKeyFile, join(root, 'trusted_keys', 'deploy.pub'));
  const a = makeModelDir(join(work, 'src'), 'a', 32 * 1024);
  await signModelDir(a, key.privateKeyFile);
  cpSync(a, join(root, 'staging', 'a'), { recursive: true });
  await activate(root, 'a');
  return { root, key };
}

test('kdp serve: swaps a newly flashed model, refuses a tampered one, reports over MAVLink', async () => {
  const work = mkdtempSync(join(tmpdir(), 'kdp-serve-'));
  const gcs = createSocket('udp4');
  try {
    const { root, key } = await makeRoot(work);
    const b = makeModelDir(join(work, 'src'), 'b', 32 * 1024);
    await signModelDir(b, key.privateKeyFile);
    const c = makeModelDir(join(work, 'src'), 'c', 32 * 1024);
    await signModelDir(c, key.privateKeyFile);
    writeFileSync(join(c, 'model.tflite'), Buffer.alloc(32 * 1024, 9)); // tampered after signing

    await new Promise<void>((r) => gcs.bind(0, '127.0.0.1', () => r()));
    const frames: Buffer[] = [];
    gcs.on('message', (m) => frames.push(m));
    const child = spawn(process.execPath, [BIN, 'serve', '--models', root, '--rate', '100', '--duration', '3.5', '--poll-ms', '50',
      '--mavlink', `udp:127.0.0.1:${gcs.address().port}`, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KDP_LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { stderr += String(d); });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // wait until the agent runs model A (its "kdp serve: model a" STATUSTEXT), then flash B the way
    // kdp-slot does, then put a tampered C in place
    const t0 = Date.now();
    while (!frames.some((f) => f.readUIntLE(7, 3) === 253) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(frames.some((f) => f.readUIntLE(7, 3) === 253), `no STATUSTEXT from kdp serve: ${stderr}`);
    cpSync(b, join(root, 'staging', 'b'), { recursive: true });
    await activate(root, 'b');
    await new Promise((r) => setTimeout(r, 800));
    cpSync(c, join(root, 'slots', 'c'), { recursive: true });
    swapLink(root, 'active', 'slots/c');
    const code = await exited;
    assert.is(code, 0, stderr);
    const rep = JSON.parse(stdout.trim().split('\n').pop()!) as { swaps: number; rejects: number; activeSlot: string; ticks: number };
    assert.is(rep.swaps, 1, `${stdout} ${stderr}`);
    assert.is(rep.rejects, 1);
    assert.is(rep.activeSlot, 'b');
    assert.ok(rep.ticks > 100);
    assert.match(stderr, 'REFUSED slots/c');
    const { data, packets, crcErrors } = await decodeFrames(frames);
    assert.is(crcErrors, 0);
    const texts = data.filter((_, i) => packets[i]!.header.msgid === 253).map((d) => (d as common.StatusText).text);
    assert.ok(texts.some((t) => t.startsWith('model refused')), `STATUSTEXT: ${texts.join(' | ')}`);
    const nv = data.filter((_, i) => packets[i]!.header.msgid === 251) as common.NamedValueFloat[];
    assert.ok(nv.some((m) => m.name === 'mdl_swaps' && m.value === 1), 'NAMED_VALUE_FLOAT mdl_swaps = 1');
    assert.ok(nv.some((m) => m.name === 'mdl_reject' && m.value === 1), 'NAMED_VALUE_FLOAT mdl_reject = 1');
    assert.ok(packets.some((p) => p.header.msgid === 0), 'HEARTBEAT');
  } finally {
    await new Promise<void>((r) => gcs.close(() => r()));
    rmSync(work, { recursive: true, force: true });
  }
});

test('kdp serve refuses to start without a loadable model (exit 1, E_INTEGRITY)', () => {
  const work = mkdtempSync(join(tmpdir(), 'kdp-serve-'));
  try {
    mkdirSync(join(work, 'kdp'));
    const r = runKdp(['serve', '--models', join(work, 'kdp'), '--duration', '1']);
    assert.is(r.status, 1);
    assert.match(r.stderr, 'E_INTEGRITY');
    assert.match(r.stderr, 'no loadable model');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('runServe with an injected tick and loader (the seam the planning loop will use)', async () => {
  const work = mkdtempSync(join(tmpdir(), 'kdp-serve-'));
  try {
    const { root } = await makeRoot(work);
    let calls = 0;
    let wrapped = 0;
    const { createModelLoader } = await import('../../src/deploy/serve-agent.js');
    const base = createModelLoader({ trustedKeysDir: join(root, 'trusted_keys') });
    const r = await runServe({
      modelsDir: root, rateHz: 500, durationMs: 300, clock: new VirtualClock({ paceMs: 1, chargeRealCost: true }),
      loader: async (dir) => { wrapped++; const m = await base(dir); return { ...m, runner: { candidates: m.manifest.candidates } }; },
      tick: (m) => { calls++; if (m.runner.candidates !== 8) throw new Error('wrong model'); },
    });
    assert.is(wrapped, 1);
    assert.ok(calls > 10 && calls === r.ticks, `${calls} vs ${r.ticks}`);
    assert.is(r.deadlineMisses, 0);
    assert.is(r.activeSlot, 'a');
    assert.equal(readFileSync(join(root, 'active', 'model.tflite')).length, 32 * 1024);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test.run();
