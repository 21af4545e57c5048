import loadMujoco from 'mujoco-js';

/** The subset of the mujoco-js module we use (its bundled typings are loose). */
export interface MjModule {
  FS: { writeFile(path: string, data: string): void; unlink(path: string): void };
  MjModel: { loadFromXML(path: string): MjModelHandle };
  MjData: new (m: MjModelHandle) => MjDataHandle;
  mj_step(m: MjModelHandle, d: MjDataHandle): void;
  mj_forward(m: MjModelHandle, d: MjDataHandle): void;
  mj_resetData(m: MjModelHandle, d: MjDataHandle): void;
}
export interface MjModelHandle { nq: number; nv: number; nu: number; delete(): void }
export interface MjDataHandle {
  readonly qpos: Float64Array;
  readonly qvel: Float64Array;
  readonly ctrl: Float64Array;
  time: number;
  delete(): void;
}

let cached: Promise<MjModule> | undefined;
let xmlCounter = 0;

/** Load the MuJoCo wasm module once per process. */
export function getMujoco(): Promise<MjModule> {
  cached ??= (loadMujoco as unknown as () => Promise<MjModule>)();
  return cached;
}

/** Compile an MJCF string into a model (through the module's in-memory FS). */
export async function loadModelFromXml(xml: string): Promise<{ mj: MjModule; model: MjModelHandle }> {
  const mj = await getMujoco();
  const path = `/kdp-model-${process.pid}-${xmlCounter++}.xml`;
  mj.FS.writeFile(path, xml);
  try {
    return { mj, model: mj.MjModel.loadFromXML(path) };
  } finally {
    mj.FS.unlink(path);
  }
}
