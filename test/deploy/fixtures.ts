import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelManifest } from '../../src/planner/manifest.js';

export const SSHD = '/usr/sbin/sshd';
export const HAVE_SSHD = existsSync(SSHD) && spawnSync('ssh-keygen', ['-?']).error === undefined;

/** A model directory shaped like `kdp export` output (random bytes stand in for the .tflite). */
export function makeModelDir(parent: string, name: string, bytes = 64 * 1024, seed?: number): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  const data = seed === undefined ? randomBytes(bytes) : Buffer.alloc(bytes, seed);
  writeFileSync(join(dir, 'model.tflite'), data);
  const manifest: ModelManifest = {
    format: 'kdp-model', version: 1, name, createdAt: '2026-11-27T00:00:00Z', env: 'maze2d-umaze',
    model: { file: 'model.tflite', sha256: createHash('sha256').update(data).digest('hex'), bytes, quantization: 'int8' },
    inputs: [{ name: 'noise', shape: [8, 16], dtype: 'float32' }, { name: 'condition', shape: [8, 6], dtype: 'float32' }],
    outputs: [{ name: 'plan', shape: [8, 92], dtype: 'float32' }],
    candidates: 8, noiseDim: 16,
    layout: { horizon: 16, frameSkip: 2, stateDim: 4, actionDim: 2, goalDim: 2, dt: 0.01, stateNames: ['x', 'y', 'vx', 'vy'], actionNames: ['ax', 'ay'] },
    normalizer: { kind: 'zscore', state: { shift: [0, 0, 0, 0], scale: [1, 1, 1, 1] }, action: { shift: [0, 0], scale: [1, 1] }, goal: { shift: [0, 0], scale: [1, 1] } },
    conditionNames: ['x', 'y', 'vx', 'vy', 'goal_x', 'goal_y'], arenaBytes: 32768,
    provenance: { checkpoint: 'runs/test', trainingSteps: 1, seed: 0, dataset: 'test' },
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return dir;
}

export interface Sshd {
  port: number;
  dir: string;
  clientKey: string;
  knownHosts: string;
  /** a known_hosts file that lists a *different* key for the same host */
  wrongKnownHosts: string;
  emptyKnownHosts: string;
  remoteRoot: string;
  stop(): Promise<void>;
}

function keygen(file: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file, '-C', 'kdp-test'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

/** Debian's OpenSSH server on 127.0.0.1:<high port> with a temporary host key and authorized key. */
export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-sshd-'));
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'other_host_key'));
  keygen(join(dir, 'client_key'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir (Debian)
  const remoteRoot = join(dir, 'board', 'kdp');
  mkdirSync(remoteRoot, { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const cfg = join(dir, 'sshd_config');
    writeFileSync(cfg, [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PermitRootLogin prohibit-password', 'PubkeyAuthentication yes',
      'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'StrictModes no', 'UsePAM no',
      'Subsystem sftp internal-sftp', 'LogLevel ERROR', '',
    ].join('\n'));
    const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', cfg, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d) => { if (process.env.KDP_SSHD_DEBUG) process.stderr.write(d); });
    let stderr = '';
    child.stderr?.on('data', (d) => { stderr += String(d); });
    let exited = false;
    child.on('exit', () => { exited = true; });
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline && !(await canConnect(port))) await new Promise((r) => setTimeout(r, 50));
    if (exited || !(await canConnect(port))) {
      child.kill('SIGKILL');
      if (/Address already in use/.test(stderr)) continue;
      throw new Error(`sshd did not start: ${stderr}`);
    }
    const hostPub = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const otherPub = readFileSync(join(dir, 'other_host_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `# test\nexample.org ${otherPub}\n[127.0.0.1]:${port} ${hostPub}\n`);
    const wrongKnownHosts = join(dir, 'known_hosts.wrong');
    writeFileSync(wrongKnownHosts, `[127.0.0.1]:${port} ${otherPub}\n`);
    const emptyKnownHosts = join(dir, 'known_hosts.empty');
    writeFileSync(emptyKnownHosts, `127.0.0.1 ${hostPub}\n`); // right key, wrong port → unknown
    return {
      port, dir, clientKey: join(dir, 'client_key'), knownHosts, wrongKnownHosts, emptyKnownHosts, remoteRoot,
      stop: () => new Promise<void>((resolve) => {
        if (exited) { resolve(); return; }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 2000).unref();
      }).then(() => rmSync(dir, { recursive: true, force: true })),
    };
  }
  throw new Error('no free port for sshd');
}
