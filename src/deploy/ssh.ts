import { existsSync, readFileSync } from 'node:fs';
import { readRegularFile } from '../util/safe-read.js';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import ssh2, { Client, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { ConfigError, TimeoutError, TransportError } from '../errors.js';
import { HostKeyError, checkHostKey, fingerprint, hostKeyAlgorithms, readKnownHosts, type HostKeyProblem } from './known-hosts.js';

/** `pi@raspberrypi.local` → user + host; `[::1]` brackets allowed. */
export function parseSshTarget(spec: string, defaultUser?: string): { user: string; host: string } {
  const at = spec.lastIndexOf('@');
  const user = at >= 0 ? spec.slice(0, at) : (defaultUser ?? userInfo().username);
  let host = at >= 0 ? spec.slice(at + 1) : spec;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (!user || !host || /\s/.test(host)) throw new ConfigError(`bad --host "${spec}"`, { hint: 'use user@host, e.g. pi@raspberrypi.local' });
  return { user, host };
}

export function expandHome(p: string): string {
  return p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p;
}

export interface SshOptions {
  host: string;
  port?: number;
  user: string;
  /** private key file; default: first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa; else ssh-agent if SSH_AUTH_SOCK */
  identityFile?: string;
  knownHostsFile?: string;
  readyTimeoutMs?: number;
}

export interface ExecResult { code: number; stdout: string; stderr: string }

/** One SSH connection: host key checked against known_hosts, public-key auth only. */
export class SshSession {
  private sftpP: Promise<SFTPWrapper> | undefined;
  private constructor(private readonly client: Client, readonly description: string) {}

  static async connect(o: SshOptions): Promise<SshSession> {
    const port = o.port ?? 22;
    const knownHostsFile = expandHome(o.knownHostsFile ?? '~/.ssh/known_hosts');
    const known = readKnownHosts(knownHostsFile, o.host, port);
    const cfg: ConnectConfig = {
      host: o.host, port, username: o.user, readyTimeout: o.readyTimeoutMs ?? 15_000,
      tryKeyboard: false,
      hostVerifier: (key: Buffer): boolean => {
        const problem = checkHostKey(known, key);
        if (problem) rejected = { problem, fp: fingerprint(key) };
        return problem === undefined;
      },
    };
    const algs = hostKeyAlgorithms(known);
    if (algs) cfg.algorithms = { serverHostKey: algs as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] };
    let rejected: { problem: HostKeyProblem; fp: string } | undefined;

    const identity = o.identityFile ? expandHome(o.identityFile) : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((n) => join(homedir(), '.ssh', n)).find((f) => existsSync(f));
    if (identity) {
      try {
        cfg.privateKey = Buffer.from(readRegularFile(identity, 1024 * 1024));
      } catch (e) {
        throw new ConfigError(`cannot read SSH identity: ${(e as Error).message}`, { file: identity, cause: e, hint: 'pass --identity <private key file> (e.g. ~/.ssh/id_ed25519)' });
      }
      if (process.env.KDP_SSH_PASSPHRASE) cfg.passphrase = process.env.KDP_SSH_PASSPHRASE;
      // parse it here: ssh2 would throw a bare Error from inside connect()
      let parsed: unknown = ssh2.utils.parseKey(cfg.privateKey, cfg.passphrase);
      if (Array.isArray(parsed)) parsed = parsed[0];
      if (!(parsed instanceof Error) && !(parsed as { isPrivateKey?: () => boolean } | undefined)?.isPrivateKey?.()) parsed = new Error('it holds a public key, not a private one');
      if (parsed instanceof Error) {
        const encrypted = /encrypted|passphrase|bad decrypt/i.test(parsed.message);
        throw new ConfigError(encrypted
          ? `the SSH identity is encrypted and ${process.env.KDP_SSH_PASSPHRASE ? 'KDP_SSH_PASSPHRASE does not decrypt it' : 'no passphrase was given'} (${parsed.message})`
          : `not a usable SSH private key (${parsed.message})`, {
          file: identity,
          hint: encrypted ? 'set KDP_SSH_PASSPHRASE to the key\'s passphrase, or use ssh-agent (unset --identity, start ssh-agent and ssh-add the key)'
            : 'pass the private key (e.g. ~/.ssh/id_ed25519), not the .pub file or another file',
        });
      }
      cfg.authHandler = ['publickey'];
    } else if (process.env.SSH_AUTH_SOCK) {
      cfg.agent = process.env.SSH_AUTH_SOCK;
      cfg.authHandler = ['agent'];
    } else {
      throw new ConfigError('no SSH identity: pass --identity <private key> (key authentication only; passwords are not used)',
        { hint: 'create one with `ssh-keygen -t ed25519` and install it with `ssh-copy-id user@board`' });
    }

    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error & { level?: string }): void => {
        client.removeListener('ready', onReady);
        if (rejected) { reject(new HostKeyError(o.host, port, rejected.problem, rejected.fp, knownHostsFile)); return; }
        if (e.level === 'client-authentication') {
          reject(new TransportError(`SSH key authentication as ${o.user}@${o.host} failed`, { code: 'E_SSH_AUTH', cause: e,
            hint: `is the public key of ${identity ?? 'your agent'} in ~${o.user}/.ssh/authorized_keys on the board? (ssh-copy-id ${o.user}@${o.host})` }));
          return;
        }
        if (e.level === 'client-timeout') { reject(new TimeoutError(`SSH connection to ${o.host}:${port}`, cfg.readyTimeout ?? 15_000)); return; }
        reject(new TransportError(`SSH connection to ${o.host}:${port} failed: ${e.message}`, { code: 'E_SSH', cause: e, hint: 'is the board up and sshd running? check --host/--port' }));
      };
      const onReady = (): void => { client.removeListener('error', onError); client.on('error', () => { /* after ready: surfaced by operations */ }); resolve(); };
      client.once('ready', onReady);
      client.once('error', onError);
      try {
        client.connect(cfg);
      } catch (e) {
        // ssh2 validates the configuration synchronously: a key or option it cannot use
        client.removeListener('ready', onReady);
        client.removeListener('error', onError);
        reject(new ConfigError(`SSH cannot start: ${(e as Error).message}`, { ...(identity ? { file: identity } : {}), cause: e, hint: 'check --identity (a private key) and KDP_SSH_PASSPHRASE' }));
      }
    });
    return new SshSession(client, `${o.user}@${o.host}:${port}`);
  }

  sftp(): Promise<SFTPWrapper> {
    this.sftpP ??= new Promise((resolve, reject) => this.client.sftp((err, s) => (err ? reject(new TransportError(`SFTP failed: ${err.message}`, { cause: err, hint: 'enable the sftp subsystem in sshd_config' })) : resolve(s))));
    return this.sftpP;
  }

  exec(command: string, timeoutMs = 120_000): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, ch) => {
        if (err) { reject(new TransportError(`remote command failed to start: ${err.message}`, { cause: err })); return; }
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => { ch.close(); reject(new TimeoutError('remote command', timeoutMs)); }, timeoutMs);
        ch.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
        ch.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
        ch.on('close', (code: number | null) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
      });
    });
  }

  close(): void {
    this.client.end();
  }
}

/** POSIX shell single-quote. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
