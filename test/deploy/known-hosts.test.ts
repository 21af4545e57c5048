import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac, randomBytes } from 'node:crypto';
import { checkHostKey, fingerprint, hostKeyAlgorithms, hostPattern, keyTypeOf, parseKnownHosts } from '../../src/deploy/known-hosts.js';
import { parseSshTarget, shq } from '../../src/deploy/ssh.js';

function blob(type: string, body = randomBytes(32)): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4); len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, body]);
}
const k1 = blob('ssh-ed25519'), k2 = blob('ssh-ed25519'), k3 = blob('ssh-rsa');
const line = (hosts: string, k: Buffer, marker = ''): string => `${marker ? marker + ' ' : ''}${hosts} ${keyTypeOf(k)} ${k.toString('base64')} comment`;

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

test('plain, [host]:port, comma lists, wildcards, negation, hashed names', () => {
  const text = [
    '# comment', '',
    line('pi.local,192.168.1.5', k1),
    line('[127.0.0.1]:2222', k2),
    line('*.lab,!bad.lab', k3),
    line(hashed('[jetson]:2200'), k1),
    '@cert-authority *.corp ssh-ed25519 AAAA',
  ].join('\n');
  assert.is(parseKnownHosts(text, 'pi.local', 22).length, 1);
  assert.is(parseKnownHosts(text, '192.168.1.5', 22).length, 1);
  assert.is(parseKnownHosts(text, 'pi.local', 2222).length, 0, 'a port-22 entry does not cover another port');
  assert.ok(parseKnownHosts(text, '127.0.0.1', 2222)[0]!.key.equals(k2));
  assert.is(parseKnownHosts(text, 'a.lab', 22).length, 1);
  assert.is(parseKnownHosts(text, 'bad.lab', 22).length, 0);
  assert.ok(parseKnownHosts(text, 'jetson', 2200)[0]!.key.equals(k1));
  assert.is(parseKnownHosts(text, 'x.corp', 22).length, 0);
});

test('checkHostKey: ok, unknown, mismatch, revoked; algorithms follow the known key types', () => {
  const known = parseKnownHosts(line('h', k1), 'h', 22);
  assert.is(checkHostKey(known, k1), undefined);
  assert.is(checkHostKey(known, k2), 'mismatch');
  assert.is(checkHostKey([], k1), 'unknown');
  const rev = parseKnownHosts([line('h', k1, '@revoked'), line('h', k2)].join('\n'), 'h', 22);
  assert.is(checkHostKey(rev, k1), 'revoked');
  assert.is(checkHostKey(rev, k2), undefined);
  assert.equal(hostKeyAlgorithms(parseKnownHosts([line('h', k1), line('h', k3)].join('\n'), 'h', 22)), ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  assert.match(fingerprint(k1), /^SHA256:[A-Za-z0-9+/]{43}$/);
  assert.is(hostPattern('h', 22), 'h');
  assert.is(hostPattern('h', 2222), '[h]:2222');
});

test('ssh target parsing and shell quoting', () => {
  assert.equal(parseSshTarget('pi@raspberrypi.local'), { user: 'pi', host: 'raspberrypi.local' });
  assert.equal(parseSshTarget('board', 'ubuntu'), { user: 'ubuntu', host: 'board' });
  assert.equal(parseSshTarget('root@[::1]'), { user: 'root', host: '::1' });
  assert.is(shq("it's"), `'it'\\''s'`);
});

test.run();
