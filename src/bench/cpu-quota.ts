/**
 * `kdp bench --cpu-quota PCT`: run the benchmark in a fresh cgroup whose CPU bandwidth is PCT % of one
 * core per 100 ms period (CFS quota). That emulates a core that is only partly ours — the scheduler
 * takes it away mid-invoke — not a narrower or slower microarchitecture (docs/runtime.md).
 *
 * cgroup v2 (`cpu.max` in a child of the unified hierarchy, cpu controller enabled) or v1 (the `cpu`
 * hierarchy's `cpu.cfs_quota_us`); both need write access (root, or a delegated subtree). The group is
 * removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KdpError } from '../errors.js';

export const CFS_PERIOD_US = 100_000;

interface Hierarchy { version: 1 | 2; dir: string }

/** Where a child cgroup with a CPU limit can be made, or why not. */
export function findCpuHierarchy(root = '/sys/fs/cgroup'): Hierarchy | string {
  // v2: unified at the root (pure v2) or at /unified (hybrid); only when the cpu controller is on
  for (const dir of [root, join(root, 'unified')]) {
    try {
      if (readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('cpu')) return { version: 2, dir };
    } catch { /* not v2 here */ }
  }
  for (const dir of [join(root, 'cpu'), join(root, 'cpu,cpuacct')]) if (existsSync(join(dir, 'cpu.cfs_quota_us'))) return { version: 1, dir };
  return `no cgroup CPU controller found under ${root}`;
}

/**
 * Run `argv` (a node command line) inside a new cgroup limited to `percent` % of one core; returns its
 * exit status. Throws KdpError('E_NO_CGROUP') when no writable CPU controller exists.
 */
export function runUnderCpuQuota(percent: number, argv: string[], env: NodeJS.ProcessEnv, root = '/sys/fs/cgroup'): number {
  const h = findCpuHierarchy(root);
  const hint = 'run as root (or in a delegated cgroup), or use systemd-run --scope -p CPUQuota=50% -- kdp bench …; see docs/runtime.md';
  if (typeof h === 'string') throw new KdpError('E_NO_CGROUP', `--cpu-quota: ${h}`, { hint });
  const dir = join(h.dir, `kdp-bench-${process.pid}`);
  const quota = Math.max(1000, Math.round((percent / 100) * CFS_PERIOD_US));
  try {
    mkdirSync(dir);
    if (h.version === 2) writeFileSync(join(dir, 'cpu.max'), `${quota} ${CFS_PERIOD_US}`);
    else {
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
    }
  } catch (e) {
    try { rmdirSync(dir); } catch { /* never made */ }
    throw new KdpError('E_NO_CGROUP', `--cpu-quota: cannot create a cgroup under ${h.dir}: ${(e as Error).message}`, { hint });
  }
  try {
    // the shell moves itself into the group, then becomes the benchmark (children inherit the group)
    const r = spawnSync('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, ...argv], { stdio: 'inherit', env });
    if (r.error) throw new KdpError('E_NO_CGROUP', `--cpu-quota: ${r.error.message}`, { hint });
    return r.status ?? 1;
  } finally {
    try { rmdirSync(dir); } catch { /* a straggler still in it: the kernel frees it when empty */ }
  }
}
