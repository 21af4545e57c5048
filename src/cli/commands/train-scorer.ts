import type { Activation } from '../../model/mlp-spec.js';
import { UsageError } from '../../errors.js';
import { DEFAULT_SCORER_CONFIG } from '../../train/scorer-trainer.js';
import { trainScorerRun } from '../../train/scorer-run.js';
import { NAV_CLEARANCE_ENV, trainNavClearanceRun } from '../../train/nav-clearance-run.js';
import { PP_SCORER_ENV, trainPickPlaceScorerRun } from '../../train/pick-place-scorer-run.js';
import { readManifestFile } from '../../planner/model-file.js';
import { optChoice, optFlag, optNumber, optString, requireString, type CommandSpec } from '../command.js';
import { emitResult } from '../output.js';
import { createProgress } from '../progress.js';

export const command: CommandSpec = {
  name: 'train-scorer',
  summary: 'train the learned plan scorer (occupancy + cost-to-go) for a generator run',
  description: [
    'Learns, from the generator\'s own dataset only, a small MLP over (plan waypoint, goal) with two outputs:',
    'an occupancy logit (dataset states vs uniform samples of their bounding box: where demonstrations went)',
    'and the cost-to-go in env steps (regressed on the dataset\'s goal segments). `kdp export --scorer DIR`',
    'ships it; the loop then picks the candidate whose waypoints stay where the data went and whose end is',
    'fewest steps from the goal. No map or simulator query is used.',
    '',
    'For a crazyflie-nav model (--model) it trains the learned clearance scorer instead: waypoint offset + the',
    'observation\'s 8 nearest obstacles → free logit and clearance, labelled with the clearance from the obstacles',
    'recorded in each dataset row (no layout file, no simulator); --attach ships it into the model folder as',
    'clearance.tflite, which `kdp fly` selects with (docs/crazyflie.md; the shipped one: docs/models.md, cf-nav).',
    '',
    'For an so100-pick-place model (--model) it trains the learned progress scorer: a planner state (grasp point',
    'relative to the cube and the place, height, jaw, picked/holding) → steps to the task\'s end, regressed on the',
    'demonstrations; --attach ships it as progress.tflite, which `kdp arm --task pick-place` selects with.',
    '',
    'Example: kdp train-scorer --checkpoint runs/umaze --out runs/umaze-scorer',
    '         kdp train-scorer --model models/maze2d-umaze --out runs/maze2d-umaze-scorer',
  ].join('\n'),
  options: {
    checkpoint: { type: 'string', placeholder: '<dir>', description: 'the generator run (`kdp train --out`): its env, dataset and normalizer are used' },
    model: { type: 'string', placeholder: '<dir>', description: 'or the exported generator (a model folder), instead of --checkpoint' },
    out: { type: 'string', placeholder: '<dir>', description: 'scorer folder to write' },
    dataset: { type: 'string', placeholder: '<path>', description: 'dataset (default: the one the generator was trained on)' },
    steps: { type: 'string', placeholder: 'N', default: String(DEFAULT_SCORER_CONFIG.steps), description: 'optimisation steps' },
    hidden: { type: 'string', placeholder: 'w,w', default: DEFAULT_SCORER_CONFIG.hidden.join(','), description: 'hidden layer widths' },
    activation: { type: 'string', placeholder: 'relu|silu|tanh', default: DEFAULT_SCORER_CONFIG.activation, description: 'hidden activation' },
    batch: { type: 'string', placeholder: 'B', default: String(DEFAULT_SCORER_CONFIG.batch), description: 'rows per step (half dataset states, half box samples)' },
    seed: { type: 'string', placeholder: 'S', default: '0', description: 'seed' },
    'occupancy-recall': { type: 'string', placeholder: 'r', default: '0.99', description: 'fraction of held-out dataset states that must count as visited (sets the occupancy threshold)' },
    attach: { type: 'boolean', description: 'crazyflie-nav / so100-pick-place: write clearance.tflite / progress.tflite + its manifest entry into the --model folder' },
    'calibrate-only': { type: 'boolean', description: 'do not train: re-measure the scorer in --out (held-out figures, occupancy threshold) and rewrite its scorer.json' },
  },
  async run(ctx) {
    const checkpoint = optString(ctx, 'checkpoint');
    const model = optString(ctx, 'model');
    const out = requireString(ctx, 'out', 'e.g. --out runs/umaze-scorer');
    const steps = optNumber(ctx, 'steps', DEFAULT_SCORER_CONFIG.steps, { int: true, min: 1 });
    const hidden = (optString(ctx, 'hidden') ?? '').split(',').map(Number);
    if (hidden.some((h) => !Number.isInteger(h) || h < 1)) throw new UsageError('--hidden must be comma-separated positive integers', 'e.g. --hidden 128,128');
    const dataset = optString(ctx, 'dataset');
    // every scorer shares the network options (their defaults are DEFAULT_SCORER_NET's, in the option table)
    const net = {
      steps, hidden, seed: optNumber(ctx, 'seed', 0, { int: true, min: 0 }),
      activation: optChoice<Activation>(ctx, 'activation', ['relu', 'silu', 'tanh'], DEFAULT_SCORER_CONFIG.activation),
      batch: optNumber(ctx, 'batch', DEFAULT_SCORER_CONFIG.batch, { int: true, min: 2, max: 65_536 }),
    };
    const command = `kdp train-scorer ${process.argv.slice(3).join(' ')}`.trim();
    const env = model !== undefined && checkpoint === undefined ? readManifestFile(model).env : undefined;
    if (model !== undefined && (env === PP_SCORER_ENV || env === NAV_CLEARANCE_ENV)) {
      // a scorer trained from an exported generator's folder and shipped into it (--attach)
      const common = { model, out, ...(dataset ? { dataset } : {}), attach: optFlag(ctx, 'attach'), calibrateOnly: optFlag(ctx, 'calibrate-only'), config: net, command, signal: ctx.signal };
      const shipped = (a: { file: string; bytes: number; rows: number; arenaBytes: number; signatureDropped: boolean } | undefined, extra = ''): string[] =>
        a ? [`wrote ${a.file} (${a.bytes} bytes, ${a.rows} rows per invoke, arena ${a.arenaBytes} bytes${extra})${a.signatureDropped ? '; the signature was dropped: re-sign' : ''}`] : [];
      const trained = (r: { interrupted: boolean; seconds: number; steps: number; out: string }, what: string): string =>
        r.interrupted ? `interrupted after ${r.steps} steps: nothing written` : `${r.seconds > 0 ? `trained the ${what} ${r.steps} steps in ${r.seconds}s` : `re-measured the ${what} (trained ${r.steps} steps)`} → ${r.out}`;
      if (env === PP_SCORER_ENV) {
        const bar = createProgress('train-scorer', steps, { json: ctx.json, fields: ['ctgRmse'] });
        const r = await trainPickPlaceScorerRun({ ...common, onStep: (s) => { if (s.step % 20 === 0 || s.step === steps) bar.update(s.step, { ctgRmse: s.ctgRmse }); } });
        bar.stop();
        const h = r.holdout;
        emitResult(ctx, r, () => [
          trained(r, 'so100-pick-place progress scorer'),
          `held out: steps-to-end RMSE ${h.ctgRmse.toFixed(1)} (${(h.ctgRelRmse * 100).toFixed(1)}% of the mean), pairs ordered as the episode orders them ${(h.rankAgreement * 100).toFixed(1)}%`,
          ...shipped(r.attached),
        ].join('\n'));
        return r.interrupted ? 130 : 0;
      }
      const bar = createProgress('train-scorer', steps, { json: ctx.json, fields: ['bce', 'clearRmseM'] });
      const r = await trainNavClearanceRun({ ...common, onStep: (s) => { if (s.step % 20 === 0 || s.step === steps) bar.update(s.step, { bce: s.bce, clearRmseM: s.clearRmseM }); } });
      bar.stop();
      const h = r.holdout;
      emitResult(ctx, r, () => [
        trained(r, 'crazyflie-nav clearance scorer'),
        `held out: accuracy ${(h.accuracy * 100).toFixed(1)}%, contact points called free ${(h.contactCalledFree * 100).toFixed(2)}%, clear points called blocked ${(h.clearCalledBlocked * 100).toFixed(1)}%, clearance RMSE ${(h.clearRmseM * 100).toFixed(1)} cm`,
        ...shipped(r.attached, r.attached ? `, free threshold logit ${r.attached.freeThreshold}` : ''),
      ].join('\n'));
      return r.interrupted ? 130 : 0;
    }
    const bar = createProgress('train-scorer', steps, { json: ctx.json, fields: ['occLoss', 'ctgRmse'] });
    const r = await trainScorerRun({
      ...(checkpoint ? { checkpoint } : {}), ...(model ? { model } : {}), out, ...(dataset ? { dataset } : {}),
      config: net,
      occupancyRecall: optNumber(ctx, 'occupancy-recall', 0.99, { min: 0.5, max: 1 }),
      calibrateOnly: optFlag(ctx, 'calibrate-only'),
      command,
      signal: ctx.signal,
      onStep: (s) => { if (s.step % 20 === 0 || s.step === steps) bar.update(s.step, { occLoss: s.occLoss, ctgRmse: s.ctgRmse }); },
    });
    bar.stop();
    emitResult(ctx, r, () => [
      r.interrupted ? `interrupted after ${r.steps} steps: nothing written` : `${r.seconds > 0 ? `trained ${r.steps} steps in ${r.seconds}s` : `re-measured (trained ${r.steps} steps)`} → ${r.out}`,
      `occupancy threshold: logit ${r.holdout.occThreshold.toFixed(2)} (${(r.holdout.occBoxRejected * 100).toFixed(1)}% of the bounding box called unvisited)`,
      `held out: occupancy accuracy ${(r.holdout.occAccuracy * 100).toFixed(1)}% (dataset states called free: ${(r.holdout.occRecall * 100).toFixed(1)}%), cost-to-go RMSE ${r.holdout.ctgRmse.toFixed(1)} steps (${(r.holdout.ctgRelRmse * 100).toFixed(1)}% of the mean)`,
    ].join('\n'));
    return r.interrupted ? 130 : 0;
  },
};
