// SerialTransport (src/links/serial.ts) on serialport's SerialPortMock: caller-owned reads, timeouts,
// cancellation on close, ring-buffer overflow, disconnects. (Lives here because the Feetech bus is its first user.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SerialPortMock } from 'serialport';
import { CanceledError, DisconnectedError, TimeoutError } from '../../src/errors.js';
import { SerialTransport } from '../../src/links/serial.js';
import type { SerialTransportOptions } from '../../src/links/serial.js';

let n = 0;
function make(opts: Partial<SerialTransportOptions> = {}): { t: SerialTransport; path: string } {
  const path = `/dev/ttyMOCK${n++}`;
  SerialPortMock.binding.createPort(path, { echo: false, record: true });
  const t = new SerialTransport({ path, baudRate: 1_000_000, portClass: SerialPortMock as unknown as SerialTransportOptions['portClass'], ...opts });
  return { t, path };
}
const emit = (t: SerialTransport, bytes: number[]): void => {
  const port = (t as unknown as { port: { port: { emitData(d: Buffer): void } } }).port;
  port.port.emitData(Buffer.from(bytes));
};

test('reads into the caller buffer at an offset; ≥ 1 byte per read', async () => {
  const { t } = make();
  await t.open();
  assert.ok(t.isOpen);
  assert.is(t.uri, `serial://${t.path}?baud=1000000`);
  const buf = new Uint8Array(8).fill(0xee);
  const p = t.read(buf, 2, 4, 1000);
  emit(t, [1, 2, 3, 4, 5, 6]);
  assert.is(await p, 4);
  assert.equal(Array.from(buf), [0xee, 0xee, 1, 2, 3, 4, 0xee, 0xee]);
  assert.is(await t.read(buf, 0, 8), 2, 'the rest is buffered');
  assert.equal(Array.from(buf.subarray(0, 2)), [5, 6]);
  await t.close();
});

test('timeout → TimeoutError; close → pending read CanceledError; idempotent close', async () => {
  const { t } = make();
  await t.open();
  const buf = new Uint8Array(4);
  try { await t.read(buf, 0, 4, 20); assert.unreachable(); } catch (e) { assert.instance(e, TimeoutError); }
  const p = t.read(buf, 0, 4);
  await t.close();
  try { await p; assert.unreachable(); } catch (e) { assert.instance(e, CanceledError); }
  await t.close();
  try { await t.read(buf, 0, 4); assert.unreachable(); } catch (e) { assert.instance(e, CanceledError); }
});

test('writes go out; flush drops unread input only', async () => {
  const { t } = make();
  await t.open();
  await t.write(Uint8Array.of(0xff, 0xff, 0x01));
  const port = (t as unknown as { port: { port: { recording: Buffer } } }).port;
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(Array.from(port.port.recording), [0xff, 0xff, 0x01]);
  emit(t, [9, 9, 9]);
  await new Promise((r) => setTimeout(r, 5));
  assert.is(t.available, 3);
  await t.flush();
  assert.is(t.available, 0);
  assert.is(t.stats.txBytes, 3);
  await t.close();
});

test('ring buffer overflow keeps the newest bytes and counts the rest', async () => {
  const { t } = make({ rxBufferBytes: 8 });
  await t.open();
  emit(t, [1, 2, 3, 4, 5, 6]);
  emit(t, [7, 8, 9, 10, 11]);
  await new Promise((r) => setTimeout(r, 5));
  const buf = new Uint8Array(16);
  const got = await t.read(buf, 0, 16);
  assert.equal(Array.from(buf.subarray(0, got)), [4, 5, 6, 7, 8, 9, 10, 11]);
  assert.is(t.stats.overrunBytes, 3);
  await t.close();
});

test('device gone → DisconnectedError for the pending and later calls, onDisconnect once', async () => {
  const { t } = make();
  await t.open();
  let seen = 0;
  t.onDisconnect = () => { seen++; };
  const p = t.read(new Uint8Array(4), 0, 4, 1000);
  const port = (t as unknown as { port: { close(cb: unknown, err: Error): void } }).port;
  port.close(undefined, Object.assign(new Error('EIO'), { disconnected: true }));
  try { await p; assert.unreachable(); } catch (e) { assert.instance(e, DisconnectedError); }
  try { await t.write(Uint8Array.of(1)); assert.unreachable(); } catch (e) { assert.instance(e, DisconnectedError); }
  assert.is(seen, 1);
  await t.close();
});

test('bad arguments are TypeError / RangeError', async () => {
  assert.throws(() => new SerialTransport({ path: '', baudRate: 9600 }), TypeError);
  assert.throws(() => new SerialTransport({ path: '/dev/x', baudRate: 0 }), TypeError);
  const { t } = make();
  await t.open();
  try { await t.read(new Uint8Array(2), 1, 4); assert.unreachable(); } catch (e) { assert.instance(e, RangeError); }
  await t.close();
});

test('opening a missing port → TransportError with a hint', async () => {
  const t = new SerialTransport({ path: '/dev/ttyNOPE_kdp', baudRate: 1_000_000, portClass: SerialPortMock as unknown as SerialTransportOptions['portClass'] });
  try { await t.open(); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /cannot open \/dev\/ttyNOPE_kdp/); }
});

test.run();
