/**
 * `kdp sim crazyflie --udp 127.0.0.1:19850 [--obstacles file.json] [--json]`
 * A simulated Crazyflie 2.1 (MuJoCo) that answers CRTP over UDP like the firmware.
 */
import type { CommandSpec } from '../command.js';
import { optNumber, optString, optVector } from '../command.js';
import { UsageError } from '../../errors.js';
import { say } from '../output.js';
import { SimCrazyflie } from '../../sim/crazyflie/firmware.js';
import { loadObstacles, writeObstacles } from '../../envs/cf-nav/obstacles.js';
import { SimUdpServer } from '../../sim/crazyflie/udp-server.js';

function parseHostPort(raw: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(raw);
  if (!m) throw new UsageError(`--udp must be host:port, got "${raw}"`);
  const host = m[1]!;
  const port = Number(m[2]);
  if (!(port >= 0 && port < 65536)) throw new UsageError(`--udp port out of range: ${port}`);
  if (!(host === 'localhost' || host === '::1' || /^127\./.test(host))) {
    throw new UsageError(`--udp must be a loopback address (127.x.x.x, ::1, localhost), got "${host}"`, 'the simulator is a local test double; bridge it yourself if you need more');
  }
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
}

export const command: CommandSpec = {
  name: 'sim crazyflie',
  summary: 'simulated Crazyflie answering CRTP over UDP',
  description: [
    'Runs a MuJoCo Crazyflie 2.1 (27 g, Förster inertia, 46 mm arms) with a cascaded position/velocity/attitude/rate',
    'controller, the firmware setpoint watchdog (level after 500 ms, motors off after 2 s) and thrust lock, and answers',
    'CRTP on UDP like the firmware: link echo, platform/protocol version, log TOC v2 + blocks, param TOC/read/write,',
    'generic setpoints and the high-level commander. Connect with `udp://HOST:PORT` (kdp, or cflib\'s udp driver).',
    '',
    'Examples:',
    '  kdp sim crazyflie --udp 127.0.0.1:19850',
    '  kdp sim crazyflie --udp 127.0.0.1:19850 --obstacles examples/layouts/one-cylinder.json',
    '  kdp sim crazyflie --udp 127.0.0.1:0 --obstacles examples/layouts/nav-field.json --json     # prints {"event":"listening","port":…}',
    '  kdp sim crazyflie --obstacles data/crazyflie-nav.hdf5.layouts.json#3 --write-layout field.json   # the layout `kdp fly --obstacles` reads',
  ].join('\n'),
  options: {
    udp: { type: 'string', placeholder: '<host:port>', default: '127.0.0.1:19850', description: 'loopback address to listen on (port 0 = pick one)' },
    obstacles: { type: 'string', placeholder: '<file.json>', description: 'obstacle layout (cylinders/boxes; FILE#i = episode i of a dataset\'s layouts.json), see docs/crazyflie.md' },
    'write-layout': { type: 'string', placeholder: '<file.json>', description: 'write the layout it simulates (obstacles + start) here, for `kdp fly --obstacles`' },
    start: { type: 'string', placeholder: '<x,y,z>', description: 'start position in m (default 0,0,0.015)' },
    speed: { type: 'string', placeholder: 'N', default: '1', description: 'simulation speed relative to wall time' },
    duration: { type: 'string', placeholder: '<s>', description: 'stop after this many wall-clock seconds (default: until Ctrl-C)' },
    'report-ms': { type: 'string', placeholder: '<ms>', default: '0', description: 'with --json: print a state line every N ms (0 = off)' },
  },
  async run(ctx) {
    const { host, port } = parseHostPort(optString(ctx, 'udp') ?? '127.0.0.1:19850');
    const obsFile = optString(ctx, 'obstacles');
    const obstacles = obsFile ? loadObstacles(obsFile) : [];
    const start = optVector(ctx, 'start', 3) as [number, number, number] | undefined;
    const speed = optNumber(ctx, 'speed', 1, { min: 0.01, max: 100 });
    const duration = optNumber(ctx, 'duration', 0, { min: 0 });
    const reportMs = optNumber(ctx, 'report-ms', 0, { min: 0 });
    const layoutOut = optString(ctx, 'write-layout');
    if (layoutOut) writeObstacles(layoutOut, obstacles, { start: start ?? [0, 0, 0.015] });
    const sim = await SimCrazyflie.create(start ? { obstacles, start } : { obstacles });
    const server = new SimUdpServer(sim, { host, port, speed });
    const addr = await server.start();
    const line = (o: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(o) + '\n'); };
    sim.onEvent = (e) => {
      if (ctx.json) line({ event: e.kind, timeMs: Math.round(e.timeMs), ...(e.detail ? { detail: e.detail } : {}) });
    };
    if (ctx.json) line({ event: 'listening', host: addr.address, port: addr.port, uri: `udp://${addr.address}:${addr.port}`, obstacles: obstacles.length });
    else say(ctx, `simulated Crazyflie on udp://${addr.address}:${addr.port} (${obstacles.length} obstacles) — Ctrl-C to stop`);
    const reporter = reportMs > 0 && ctx.json ? setInterval(() => {
      const s = sim.state;
      line({ event: 'state', timeMs: Math.round(sim.timeMs), pos: Array.from(s.pos, (v) => +v.toFixed(3)), motorsOn: sim.motorsRunning, collisions: sim.counters.collisions });
    }, reportMs) : undefined;
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) { resolve(); return; }
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      if (duration > 0) setTimeout(resolve, duration * 1000).unref();
    });
    if (reporter) clearInterval(reporter);
    await server.stop();
    const summary = { event: 'stopped', simSeconds: +(sim.timeMs / 1000).toFixed(3), ...sim.counters, server: server.stats };
    sim.dispose();
    if (ctx.json) line(summary);
    else say(ctx, `stopped after ${summary.simSeconds} s: ${sim.counters.setpoints} setpoints, ${sim.counters.stopSetpoints} stop setpoints, ${sim.counters.collisions} collisions`);
    return 0;
  },
};
