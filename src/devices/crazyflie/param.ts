/**
 * Param subsystem client: TOC (v2, cached by CRC), all values read at connect (cflib "fully connected"), typed get /
 * set by name (WRITE with echo check; read-only refused locally), set-by-name without a TOC, VALUE_UPDATED pushes.
 */
import { TransportError } from '../../errors.js';
import type { DownlinkMessage } from '../../protocols/crtp/decode.js';
import { encodeParamRead, encodeParamSetByName, encodeParamWrite } from '../../protocols/crtp/param.js';
import { paramIsReadOnly, readParamValue } from '../../protocols/crtp/types.js';
import type { CfCore } from './core.js';
import type { Toc } from './toc.js';

export type KnownParam = 'stabilizer.estimator' | 'stabilizer.controller' | 'commander.enHighLevel' | 'kalman.resetEstimation' | 'posCtlPid.xKp' | 'velCtlPid.vxKp';
export type ParamName = KnownParam | (string & {});

export class ParamModule {
  toc: Toc | undefined;
  readonly values = new Map<string, number>();
  private readonly buf = new Uint8Array(32);

  constructor(private readonly cf: CfCore) {
    cf.onMessage((m) => {
      if (m.kind === 'paramUpdated' && this.toc) {
        const it = this.toc.byId[m.id];
        if (it) this.values.set(`${it.group}.${it.name}`, readParamValue(m.value, 0, it.type));
      }
    });
  }

  private item(name: string): NonNullable<ReturnType<Toc['get']>> {
    const it = this.toc?.get(name);
    if (!it) throw new TypeError(`unknown parameter "${name}" (not in the Crazyflie's param TOC)`);
    return it;
  }

  /** Read a value from the Crazyflie (also updates the cache). */
  async read(name: ParamName): Promise<number> {
    const it = this.item(name);
    const n = encodeParamRead(this.buf, it.id);
    const r = await this.cf.request(this.buf, n, (m: DownlinkMessage): m is Extract<DownlinkMessage, { kind: 'paramRead' }> => m.kind === 'paramRead' && m.id === it.id);
    if (r.status !== 0) throw new TransportError(`reading ${name} failed (errno ${r.status})`, { code: 'E_PARAM' });
    const v = readParamValue(r.value, 0, it.type);
    this.values.set(name, v);
    return v;
  }

  /** Cached value (read at connect, updated by writes and VALUE_UPDATED). */
  get(name: ParamName): number | undefined { return this.values.get(name); }

  async set(name: ParamName, value: number): Promise<void> {
    const it = this.item(name);
    if (paramIsReadOnly(it.type)) throw new TypeError(`parameter "${name}" is read-only`);
    const n = encodeParamWrite(this.buf, it.id, it.type, value);
    const r = await this.cf.request(this.buf, n, (m: DownlinkMessage): m is Extract<DownlinkMessage, { kind: 'paramWrite' }> => m.kind === 'paramWrite' && m.id === it.id);
    if (r.value.length === 1) throw new TransportError(`writing ${name} failed (errno ${r.value[0]})`, { code: 'E_PARAM' });
    this.values.set(name, readParamValue(r.value, 0, it.type));
  }

  /** SET_BY_NAME (works without the TOC). Resolves with the firmware's errno (0 = ok). */
  async setByName(name: ParamName, type: number, value: number): Promise<number> {
    const dot = name.indexOf('.');
    if (dot < 1) throw new TypeError(`"name" must be group.name, got "${name}"`);
    const group = name.slice(0, dot);
    const pname = name.slice(dot + 1);
    const n = encodeParamSetByName(this.buf, group, pname, type, value);
    const r = await this.cf.request(this.buf, n, (m: DownlinkMessage): m is Extract<DownlinkMessage, { kind: 'paramSetByName' }> => m.kind === 'paramSetByName' && m.group === group && m.name === pname);
    if (r.errno === 0) this.values.set(name, value);
    return r.errno;
  }

  /** Read every value in the TOC (cflib's request_update_of_all_params). */
  async readAll(): Promise<void> {
    if (!this.toc) return;
    for (const name of this.toc.names()) await this.read(name);
  }
}
