import type { CommandSpec } from '../command.js';
import { optNumber, optString, requireString } from '../command.js';
import { emitResult, say } from '../output.js';
import { loadHostProfile } from '../../boards/schema.js';
import { runServe } from '../../deploy/serve.js';
import { createModelLoader } from '../../deploy/serve-agent.js';
import { createPlanningServe } from '../../deploy/planning-serve.js';
import { join, resolve } from 'node:path';
import { MAVLINK_OPTIONS } from '../mavlink-options.js';
import { openTelemetry } from '../../devices/mavlink/telemetry.js';

export const command: CommandSpec = {
  name: 'serve',
  summary: 'the board agent: run the loop, hot-swap new models',
  description: [
    'Runs a fixed-rate loop on the model in <models>/active and watches that symlink: a new slot (from `kdp flash`',
    'or `kdp rollback`) is loaded and verified (signature against <models>/trusted_keys, size, sha256) off the',
    'control tick and swapped in between two ticks. Unsigned or tampered models are refused (STATUSTEXT over MAVLink)',
    'and the old model keeps running. Stops on Ctrl-C (or after --duration).',
    '',
    'Example: kdp serve --models ~/kdp --board rpi5 --mavlink udp:192.168.1.10:14550',
  ].join('\n'),
  options: {
    models: { type: 'string', placeholder: '<dir>', description: 'deployment root (the --remote-dir of kdp flash), holding `active`' },
    board: { type: 'string', placeholder: '<profile>', description: 'host profile: default loop rate (boards/hosts/<name>.json)' },
    rate: { type: 'string', placeholder: 'Hz', description: 'loop rate (default: profile loop.rateHz, else 50)' },
    'trusted-keys': { type: 'string', placeholder: '<dir>', description: 'trusted ed25519 public keys (default <models>/trusted_keys)' },
    duration: { type: 'string', placeholder: 's', description: 'stop after this many seconds (default: run until Ctrl-C)' },
    'poll-ms': { type: 'string', placeholder: 'ms', description: 'how often to look at `active` (default 250; inotify is used too)' },
    sim: { type: 'string', placeholder: '<env>', description: 'run the real planning loop (interpreter + receding horizon) against this simulated env, e.g. maze2d-umaze' },
    candidates: { type: 'string', placeholder: 'N', description: 'with --sim: candidate plans per invoke (default: the manifest\'s)' },
    ...MAVLINK_OPTIONS,
  },
  async run(ctx) {
    const modelsDir = requireString(ctx, 'models', 'e.g. --models ~/kdp');
    const boardName = optString(ctx, 'board');
    const profile = boardName ? loadHostProfile(boardName) : undefined;
    const rateHz = optNumber(ctx, 'rate', profile?.loop.rateHz ?? 50, { min: 1, max: 2000 });
    const durationS = optString(ctx, 'duration') === undefined ? undefined : optNumber(ctx, 'duration', 0, { min: 0 });
    const pollMs = optNumber(ctx, 'poll-ms', 250, { int: true, min: 10 });
    const mavlink = optString(ctx, 'mavlink');
    const keyFile = optString(ctx, 'mavlink-key');
    const tel = await openTelemetry({
      ...(mavlink === undefined ? {} : { target: mavlink }),
      ...(keyFile === undefined ? {} : { signingKeyFile: keyFile }),
      sysid: optNumber(ctx, 'mavlink-sysid', profile?.mavlink.sysid ?? 1, { int: true, min: 1, max: 255 }),
      ...(profile ? { compid: profile.mavlink.compid } : {}),
    });
    try {
      const trusted = optString(ctx, 'trusted-keys');
      const sim = optString(ctx, 'sim');
      const candidates = optString(ctx, 'candidates') === undefined ? undefined : optNumber(ctx, 'candidates', 64, { int: true, min: 1, max: 4096 });
      const planning = sim === undefined ? undefined : await createPlanningServe({
        env: sim, rateHz, ...(candidates === undefined ? {} : { candidates }),
        baseLoader: createModelLoader({ trustedKeysDir: trusted ?? join(resolve(modelsDir), 'trusted_keys') }),
      });
      say(ctx, `kdp serve: ${modelsDir} at ${rateHz} Hz${sim ? `, planning against the ${sim} simulator` : ''}${mavlink ? `, MAVLink → ${mavlink}` : ''}`);
      const r = await runServe({
        modelsDir, rateHz, pollMs, telemetry: tel.sink, signal: ctx.signal,
        ...(planning ? { loader: planning.loader, tick: planning.tick } : {}),
        ...(durationS === undefined ? {} : { durationMs: durationS * 1000 }),
        ...(trusted === undefined ? {} : { trustedKeysDir: trusted }),
        onEvent: (e) => {
          if (e.type === 'swapped') say(ctx, `swapped ${e.from} → ${e.to} at tick ${e.tick}`);
          if (e.type === 'rejected') say(ctx, `REFUSED ${e.target}: ${e.reason}`);
        },
      });
      planning?.close();
      emitResult(ctx, { ...r, ...(planning ? { episodes: planning.episodes } : {}) }, () => [
        `ticks ${r.ticks} at ${r.rateHz} Hz, deadline misses ${r.deadlineMisses}, tick p50 ${r.tickP50Us.toFixed(1)} µs p99 ${r.tickP99Us.toFixed(1)} µs`,
        `models: ${r.swaps} swapped in, ${r.rejects} refused; active ${r.activeSlot}`,
      ].join('\n'));
      return 0;
    } finally {
      await tel.close();
    }
  },
};
