/**
 * Scripted SO-100 reach demonstrations in the simulator (for `kdp dataset so100-reach`).
 *
 * Each episode: a random start pose above the table and a random target in the reachable workspace; the expert
 * solves the closed-form IK for the grasp point (gripper pitch: down, 45° or level, the first within the joint
 * limits), sends a minimum-jerk joint trajectory as Goal_Position at the control rate, then holds the IK goal with a
 * small integral correction of the servos' gravity droop. The arm is the MuJoCo SO-100 driven by simulated STS3215
 * position loops (configured like LeRobot: P 16, D 32, acceleration 254), so the data has the real servo lag and
 * droop. Episodes whose arm overloads (e.g. pressed into the table) are rejected and re-drawn.
 *
 * Per step (D4RL layout): observations = [q (6, rad, from Present_Position), ee (3, m, FK of q), target (3, m)];
 * actions = the goal joint angles sent (6, rad); rewards = −‖ee − target‖; terminals = the step the grasp point has
 * stayed within `reachTolM` for 5 steps; timeouts = `maxSteps` reached; infos/goal = target, infos/qpos/qvel = the
 * simulator's joint state.
 */
import { EventLoopYield } from '../../util/yield.js';
import type { D4rlArrays } from '../../data/d4rl-hdf5.js';
import { forwardKinematics, inverseKinematics } from '../../devices/so100/kinematics.js';
import { So100Physics } from './physics.js';
import { SimServo, TICKS_PER_RAD } from './servo.js';
import { Rng } from '../../util/rng.js';
import type { So100Config } from '../../devices/so100/config.js';
import { REACH_ACT_DIM, REACH_GOAL_DIM, REACH_OBS_DIM, REACH_WORKSPACE, sampleStart, sampleTarget } from '../../envs/so100/reach-task.js';
import { DEFAULT_SO100, JOINTS } from '../../devices/so100/config.js';


export interface ReachOptions {
  episodes: number;
  seed: number;
  controlHz?: number;
  maxSteps?: number;
  /** Std (rad) of Gaussian noise on the expert's goals (exploration). Default 0. */
  noiseRad?: number;
  reachTolM?: number;
  config?: So100Config;
  signal?: AbortSignal;
  onProgress?: (episodes: number, reached: number) => void;
}

export interface ReachStats {
  episodes: number;
  reached: number;
  steps: number;
  rejected: number;
  meanFinalErrorM: number;
  meanSecondsToReach: number;
}

export async function generateSo100ReachDataset(opts: ReachOptions): Promise<{ arrays: D4rlArrays; stats: ReachStats }> {
  const cfg = opts.config ?? DEFAULT_SO100;
  const hz = opts.controlHz ?? 50;
  const maxSteps = opts.maxSteps ?? 150;
  const tol = opts.reachTolM ?? 0.01;
  const noise = opts.noiseRad ?? 0;
  const rng = new Rng(opts.seed);
  const servos = [1, 2, 3, 4, 5, 6].map((id) => new SimServo(id));
  const physics = await So100Physics.create(servos, cfg.jointLimitsRad);
  const sub = Math.max(1, Math.round(1 / hz / physics.dt));
  const obs: number[] = []; const act: number[] = []; const rew: number[] = []; const term: number[] = []; const tout: number[] = [];
  const goals: number[] = []; const qposL: number[] = []; const qvelL: number[] = [];
  const stats: ReachStats = { episodes: 0, reached: 0, steps: 0, rejected: 0, meanFinalErrorM: 0, meanSecondsToReach: 0 };
  const q = new Float64Array(6); const ee = new Float64Array(3); const goal = new Float64Array(6); const integ = new Float64Array(6);
  const w16 = new Uint8Array(2);
  let reachSeconds = 0;
  try {
    const y = new EventLoopYield();
    while (stats.episodes < opts.episodes) {
      // hand the thread back between episodes so Ctrl-C (the abort signal) is seen
      if (y.due()) await y.pause();
      if (opts.signal?.aborted) break;
      const tgt = sampleTarget(rng, cfg);
      if (!tgt) continue;
      const q0 = sampleStart(rng);
      // reset the arm and the servos (LeRobot configure values), torque on at the start pose
      for (const s of servos) {
        s.factoryReset(s.id);
        for (const f of ['overload', 'voltage', 'overheat', 'angle', 'silent'] as const) s.faults[f] = false;
        s.reg('P_Coefficient', 16); s.reg('D_Coefficient', 32); s.reg('Acceleration', 254);
      }
      physics.setJoints(q0);
      for (const s of servos) { s.reg('Goal_Position', s.get('Present_Position')); s.write(40, Uint8Array.of(1)); }
      const qStar = tgt.q;
      let T = 0.6;
      for (let i = 0; i < 5; i++) T = Math.max(T, Math.abs(qStar[i]! - q0[i]!) / (0.5 * cfg.velocityLimitsRadS[JOINTS[i]!]));
      integ.fill(0);
      const ep = { obs: [] as number[], act: [] as number[], rew: [] as number[], term: [] as number[], tout: [] as number[], goal: [] as number[], qpos: [] as number[], qvel: [] as number[] };
      let inside = 0; let overloaded = false; let reached = false; let lastErr = 0; let k = 0;
      for (; k < maxSteps; k++) {
        for (let i = 0; i < 6; i++) q[i] = (servos[i]!.get('Present_Position') - 2048) / TICKS_PER_RAD;
        forwardKinematics(q, ee);
        const err = Math.hypot(ee[0]! - tgt.target[0], ee[1]! - tgt.target[1], ee[2]! - tgt.target[2]);
        lastErr = err;
        // expert: min-jerk in joint space, then hold with an integral correction of the droop
        const t = k / hz;
        const s = Math.min(1, t / T);
        const blend = s * s * s * (10 - 15 * s + 6 * s * s);
        for (let i = 0; i < 6; i++) {
          if (s >= 1 && i < 5) integ[i] = Math.max(-0.15, Math.min(0.15, integ[i]! + 0.25 * (qStar[i]! - q[i]!)));
          goal[i] = q0[i]! + (qStar[i]! - q0[i]!) * blend + integ[i]! + (noise > 0 && i < 5 ? noise * rng.normal() : 0);
        }
        ep.obs.push(q[0]!, q[1]!, q[2]!, q[3]!, q[4]!, q[5]!, ee[0]!, ee[1]!, ee[2]!, tgt.target[0], tgt.target[1], tgt.target[2]);
        ep.act.push(goal[0]!, goal[1]!, goal[2]!, goal[3]!, goal[4]!, goal[5]!);
        ep.rew.push(-err);
        ep.goal.push(...tgt.target);
        const st = physics.state();
        ep.qpos.push(...st.qpos);
        ep.qvel.push(...st.qvel);
        inside = err < tol ? inside + 1 : 0;
        const done = inside >= 5;
        ep.term.push(done ? 1 : 0);
        ep.tout.push(!done && k === maxSteps - 1 ? 1 : 0);
        if (done) { reached = true; k++; break; }
        for (let i = 0; i < 6; i++) {
          const ticks = Math.max(0, Math.min(4095, Math.round(2048 + goal[i]! * TICKS_PER_RAD)));
          w16[0] = ticks & 0xff; w16[1] = ticks >> 8;
          servos[i]!.write(42, w16);
        }
        physics.step(sub);
        if (servos.some((sv) => sv.faults.overload)) { overloaded = true; break; }
      }
      if (overloaded) { stats.rejected++; continue; }
      obs.push(...ep.obs); act.push(...ep.act); rew.push(...ep.rew); term.push(...ep.term); tout.push(...ep.tout);
      goals.push(...ep.goal); qposL.push(...ep.qpos); qvelL.push(...ep.qvel);
      stats.episodes++;
      stats.steps += ep.rew.length;
      stats.meanFinalErrorM += lastErr;
      if (reached) { stats.reached++; reachSeconds += k / hz; }
      opts.onProgress?.(stats.episodes, stats.reached);
    }
  } finally {
    physics.dispose();
  }
  stats.meanFinalErrorM = stats.episodes ? stats.meanFinalErrorM / stats.episodes : 0;
  stats.meanSecondsToReach = stats.reached ? reachSeconds / stats.reached : 0;
  return {
    arrays: {
      observations: Float32Array.from(obs), actions: Float32Array.from(act), rewards: Float32Array.from(rew),
      terminals: Uint8Array.from(term), timeouts: Uint8Array.from(tout), goals: Float32Array.from(goals),
      qpos: Float32Array.from(qposL), qvel: Float32Array.from(qvelL),
    },
    stats,
  };
}
