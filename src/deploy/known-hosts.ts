import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TransportError } from '../errors.js';

/**
 * OpenSSH known_hosts lookup (the subset `kdp flash` needs): plain and `[host]:port` names, comma lists,
 * hashed names (`|1|salt|hmac`), `*`/`?` wildcards, `!` negation, `@revoked`. `@cert-authority` lines are
 * ignored (no host certificates). Unknown host → refused; we never add keys ourselves (no TOFU).
 */
export interface KnownHostKey { keyType: string; key: Buffer; revoked: boolean; line: number }

export type HostKeyProblem = 'unknown' | 'mismatch' | 'revoked';

export class HostKeyError extends TransportError {
  constructor(readonly host: string, readonly port: number, readonly problem: HostKeyProblem, readonly fingerprint: string, knownHostsFile: string) {
    const name = hostPattern(host, port);
    const scan = `ssh-keyscan${port === 22 ? '' : ` -p ${port}`} ${host}`;
    const text = problem === 'unknown'
      ? `host key for ${name} is not in ${knownHostsFile} (server offered ${fingerprint}); refusing to connect`
      : problem === 'revoked'
        ? `host key ${fingerprint} of ${name} is marked @revoked in ${knownHostsFile}; refusing to connect`
        : `HOST KEY MISMATCH for ${name}: server offered ${fingerprint}, which is not the key recorded in ${knownHostsFile}. Someone may be intercepting the connection, or the board was re-imaged`;
    const hint = problem === 'unknown'
      ? `check the fingerprint on the board (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then add it: ${scan} >> ${knownHostsFile}  (or connect once with \`ssh\`)`
      : problem === 'mismatch'
        ? `if the board was re-imaged, remove the old entry with: ssh-keygen -R '${name}' -f ${knownHostsFile}, then verify and add the new key`
        : 'use another board, or remove the @revoked line if that was a mistake';
    super(text, { code: 'E_HOST_KEY', hint });
  }
}

export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:<base64 without padding>`, as `ssh-keygen -l` prints. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type name inside an SSH public key blob (first string). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return '';
  const n = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + n).toString('latin1');
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const p of field.split(',')) {
    if (p.startsWith('!')) { if (globMatch(p.slice(1), name)) return false; continue; }
    if (globMatch(p, name)) matched = true;
  }
  return matched;
}

export function parseKnownHosts(text: string, host: string, port: number): KnownHostKey[] {
  const name = hostPattern(host, port);
  const out: KnownHostKey[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    let marker: string | undefined;
    if (parts[0]?.startsWith('@')) marker = parts.shift();
    if (marker === '@cert-authority') return;
    const [hosts, keyType, b64] = parts;
    if (!hosts || !keyType || !b64) return;
    if (!hostFieldMatches(hosts, name)) return;
    out.push({ keyType, key: Buffer.from(b64, 'base64'), revoked: marker === '@revoked', line: i + 1 });
  });
  return out;
}

export function readKnownHosts(file: string, host: string, port: number): KnownHostKey[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new TransportError(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseKnownHosts(text, host, port);
}

/** Decide about a key the server offered. */
export function checkHostKey(known: readonly KnownHostKey[], offered: Buffer): HostKeyProblem | undefined {
  if (known.some((k) => k.revoked && k.key.equals(offered))) return 'revoked';
  const valid = known.filter((k) => !k.revoked);
  if (valid.length === 0) return 'unknown';
  return valid.some((k) => k.key.equals(offered)) ? undefined : 'mismatch';
}

/** ssh2 host-key algorithm names to ask for, given the key types known_hosts has (so we get a comparable key). */
export function hostKeyAlgorithms(known: readonly KnownHostKey[]): string[] | undefined {
  const algs: string[] = [];
  for (const k of known) {
    if (k.revoked) continue;
    if (k.keyType === 'ssh-rsa') algs.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else algs.push(k.keyType);
  }
  return algs.length ? [...new Set(algs)] : undefined;
}
