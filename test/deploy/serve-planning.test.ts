import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { runServe } from '../../src/deploy/serve.js';
import { createModelLoader } from '../../src/deploy/serve-agent.js';
import { createPlanningServe } from '../../src/deploy/planning-serve.js';
import { RecordingTelemetrySink } from '../../src/devices/mavlink/telemetry.js';
import { runKdp } from '../helpers/cli.js';
import { signedUmazeBoard } from '../helpers/signed-board.js';

test('kdp serve --sim: the real interpreter + planning loop drives the simulated robot from the active signed model', async () => {
  const { root, trustedKeysDir } = await signedUmazeBoard('kdp-serve-plan-');

  const telemetry = new RecordingTelemetrySink();
  const planning = await createPlanningServe({ env: 'maze2d-umaze', candidates: 16, rateHz: 100, baseLoader: createModelLoader({ trustedKeysDir }) });
  try {
    const r = await runServe({ modelsDir: root, rateHz: 100, durationMs: 2500, telemetry, loader: planning.loader, tick: planning.tick });
    assert.ok(r.ticks > 100, `ticks ${r.ticks}`);
    assert.is(r.activeSlot, 'umaze');
    assert.ok(telemetry.states >= r.ticks - 1, 'state published every tick');
    assert.ok(telemetry.plans >= r.ticks - 1, 'plan published every tick');
    // the board plans as the host does: the signed scorer was loaded with the model and selects the plans
    const loaded = await planning.loader(join(root, 'active'));
    assert.ok(loaded.scorerBytes && loaded.scorerBytes.length === loaded.manifest.scorer!.bytes, 'scorer bytes loaded and checked');
    assert.is(loaded.loop.cfg.select, 'learned');
    assert.ok(loaded.loop.cfg.scorer, 'learned scorer in the loop');
    const s = telemetry.lastState!;
    assert.ok(s.xM > 0.3 && s.xM < 3.3 && s.yM > 0.3 && s.yM < 3.3, `the point mass stays inside the maze: ${JSON.stringify(s)}`);
  } finally {
    planning.close();
  }
  // the CLI refuses a model that does not match the simulated env, before serving
  const bad = runKdp(['serve', '--models', root, '--sim', 'maze2d-large', '--duration', '1', '--json']);
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /model does not match the environment: env: model trained for "maze2d-umaze", running "maze2d-large"/);
});

test.run();
