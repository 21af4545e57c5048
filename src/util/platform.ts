/**
 * What this process runs on, for reports that carry timings (`kdp bench`, `kdp demo`): the CPU, the
 * SIMD features that decide how WebAssembly SIMD is lowered, the engine, the core count and clock cap
 * the process sees, and whether it is emulated. An emulated process (qemu-user running an arm64 node
 * on x86-64) measures the emulator, so its latencies must never be reported as timings.
 *
 * Emulation is recognised from what qemu-user does not hide: the process name the kernel keeps for it
 * (`qemu-aarch64-st…`, /proc/self/comm), a /proc/cpuinfo that describes another ISA than process.arch
 * (qemu 7 passes the host's through), or an enabled binfmt_misc entry that hands binaries of our own
 * architecture to qemu (nobody registers an emulator for the native ISA). KDP_EMULATED=1/0 overrides.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

export interface PlatformInfo {
  /** process.arch: the ISA the engine generates code for */
  arch: string;
  /** CPU model as the OS names it (under emulation: the host CPU) */
  cpuModel: string;
  /** ISA of the CPU described by /proc/cpuinfo ('x64' | 'arm64' | 'unknown') */
  cpuIsa: string;
  /** SIMD features relevant to WASM SIMD lowering (x86: sse4_1…avx512_vnni; arm64: asimd, asimddp, i8mm, sve…) */
  simd: string[];
  /** cores this process may run on (affinity, e.g. under taskset) */
  cores: number;
  /** highest clock the cpufreq policy allows on cpu0 (MHz), when the OS exposes cpufreq */
  maxClockMHz: number | null;
  engine: { node: string; v8: string };
  emulated: boolean;
  /** why we think so, or null */
  emulation: string | null;
}

const X86_SIMD = ['sse4_1', 'sse4_2', 'ssse3', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx_vnni'];
const ARM_SIMD = ['asimd', 'asimdhp', 'asimddp', 'i8mm', 'bf16', 'sve', 'sve2'];
/** Arm "CPU part" codes (implementer 0x41) of the cores in the board profiles and their neighbours. */
const ARM_PARTS: Record<string, string> = {
  '0xd03': 'Cortex-A53', '0xd04': 'Cortex-A35', '0xd05': 'Cortex-A55', '0xd07': 'Cortex-A57', '0xd08': 'Cortex-A72',
  '0xd09': 'Cortex-A73', '0xd0a': 'Cortex-A75', '0xd0b': 'Cortex-A76', '0xd0c': 'Neoverse-N1', '0xd0d': 'Cortex-A77',
  '0xd41': 'Cortex-A78', '0xd42': 'Cortex-A78AE', '0xd4b': 'Cortex-A78C', '0xd40': 'Neoverse-V1', '0xd49': 'Neoverse-N2',
};

export interface PlatformSources {
  arch: string;
  cpuinfo: string;
  /** /proc/self/comm */
  comm: string;
  /** contents of /proc/sys/fs/binfmt_misc/qemu-<arch> (empty when absent) */
  binfmt: string;
  osCpuModel: string;
  cores: number;
  maxFreqKHz: string;
  env: { KDP_EMULATED?: string | undefined };
  node: string;
  v8: string;
}

const QEMU_NAMES: Record<string, string> = { arm64: 'aarch64', arm: 'arm', x64: 'x86_64', riscv64: 'riscv64' };

function field(cpuinfo: string, name: string): string | null {
  const m = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo);
  return m ? m[1]!.trim() : null;
}

/** Pure part, testable with recorded /proc contents. */
export function describePlatform(s: PlatformSources): PlatformInfo {
  const x86Flags = field(s.cpuinfo, 'flags');
  const armFeatures = field(s.cpuinfo, 'Features');
  const cpuIsa = x86Flags !== null ? 'x64' : armFeatures !== null ? 'arm64' : 'unknown';
  const simd = x86Flags !== null
    ? X86_SIMD.filter((f) => x86Flags.split(/\s+/).includes(f))
    : armFeatures !== null ? ARM_SIMD.filter((f) => armFeatures.split(/\s+/).includes(f)) : [];
  let cpuModel = field(s.cpuinfo, 'model name') ?? (s.osCpuModel && s.osCpuModel !== 'unknown' ? s.osCpuModel : '');
  if (!cpuModel) {
    const part = field(s.cpuinfo, 'CPU part')?.toLowerCase();
    const board = field(s.cpuinfo, 'Model');
    cpuModel = [part ? ARM_PARTS[part] ?? `Arm part ${part}` : null, board ? `(${board})` : null].filter(Boolean).join(' ') || 'unknown';
  }
  let emulation: string | null = null;
  if (s.comm.startsWith('qemu-')) emulation = `process runs inside ${s.comm.trim()} (qemu-user)`;
  else if (cpuIsa !== 'unknown' && (s.arch === 'x64' || s.arch === 'arm64') && cpuIsa !== s.arch) emulation = `${s.arch} process on a CPU that /proc/cpuinfo describes as ${cpuIsa}`;
  else if (/^enabled/m.test(s.binfmt)) emulation = `binfmt_misc hands ${QEMU_NAMES[s.arch] ?? s.arch} binaries to qemu, so this is not a native ${s.arch} CPU`;
  if (s.env.KDP_EMULATED === '1') emulation ??= 'KDP_EMULATED=1';
  if (s.env.KDP_EMULATED === '0') emulation = null;
  const khz = Number(s.maxFreqKHz.trim());
  return {
    arch: s.arch, cpuModel, cpuIsa, simd, cores: s.cores,
    maxClockMHz: s.maxFreqKHz.trim() && Number.isFinite(khz) && khz > 0 ? Math.round(khz / 1000) : null,
    engine: { node: s.node, v8: s.v8 },
    emulated: emulation !== null, emulation,
  };
}

const read = (p: string): string => { try { return readFileSync(p, 'utf8'); } catch { return ''; } };

let cached: PlatformInfo | undefined;

/** This process's platform (read once). */
export function hostPlatform(): PlatformInfo {
  cached ??= describePlatform({
    arch: process.arch, cpuinfo: read('/proc/cpuinfo'), comm: read('/proc/self/comm'),
    binfmt: read(`/proc/sys/fs/binfmt_misc/qemu-${QEMU_NAMES[process.arch] ?? process.arch}`),
    osCpuModel: cpus()[0]?.model ?? '', cores: availableParallelism(),
    maxFreqKHz: read('/sys/devices/system/cpu/cpu0/cpufreq/scaling_max_freq'),
    env: { KDP_EMULATED: process.env.KDP_EMULATED }, node: process.version, v8: process.versions.v8,
  });
  return cached;
}

/** One line for text reports. */
export function platformLine(p: PlatformInfo): string {
  return `Platform: ${p.arch} on ${p.cpuModel} (${p.cores} core${p.cores === 1 ? '' : 's'}${p.maxClockMHz ? `, max ${p.maxClockMHz} MHz` : ''}; SIMD ${p.simd.join(' ') || 'none listed'}), `
    + `Node ${p.engine.node} / V8 ${p.engine.v8}${p.emulated ? `; EMULATED: ${p.emulation}` : ''}`;
}
