/**
 * `kdp fly --uri udp://127.0.0.1:19850 --model models/cf-nav --goal 1.5,0,0.5 [--obstacles F] [--mavlink udp:127.0.0.1:14550]`
 * Takes off, plans with the KDP model in the loop through the obstacle field, streams velocity/position setpoints
 * at the loop rate within the robot profile's geofence and speed limits, and lands at the goal (src/fly/flight.ts).
 */
import { loadCrazyflieProfile } from '../../boards/schema.js';
import { UsageError } from '../../errors.js';
import { runFlight, type FlightResult, type FlightSelection } from '../../fly/flight.js';
import type { Geofence } from '../../fly/nav-geometry.js';
import { loadModelDir } from '../../planner/model-loader.js';
import { MAVLINK_OPTIONS } from '../mavlink-options.js';
import { openTelemetry } from '../../devices/mavlink/telemetry.js';
import { CF21 } from '../../devices/crazyflie/vehicle.js';
import { loadObstacles, obstacleAt } from '../../envs/cf-nav/obstacles.js';
import { validateCrtpUri } from '../../links/crtp-uri.js';
import { optChoice, optFlag, optNumber, optString, optVector, type CommandSpec } from '../command.js';
import { emitResult, say } from '../output.js';

export const command: CommandSpec = {
  name: 'fly',
  summary: 'fly a Crazyflie with KDP planning in the loop',
  description: [
    'Connects (any Crazyflie URI: radio://, usb://, serial://, udp://), takes off with the high-level commander,',
    'then at --rate Hz: observation (position, velocity, goal − position, the 8 nearest obstacles of --obstacles) →',
    'N candidate plans in one invoke → selection → a velocity_world setpoint toward the chosen plan\'s waypoint 0.4 s',
    'ahead, clamped to the speed limits and the geofence of --robot. Within 15 cm of the goal it holds a position',
    'setpoint there and lands.',
    '--select learned (default when the model ships its clearance scorer): the model alone — its learned clearance',
    'scorer reads every candidate\'s waypoints with the observation (no obstacle list): "oracle": false.',
    '--select oracle: the known-obstacle safety layer — candidates checked against every obstacle of --obstacles and',
    'the geofence, setpoints shielded (--no-shield: without the shield): "oracle": true. --select goal: closest to the',
    'goal (ablation).',
    'Ctrl-C: notify-setpoint-stop + land where it is (a second Ctrl-C exits at once; the firmware watchdog then',
    'levels and stops the motors). Link loss ends the flight at once; a stalled loop triggers the client failsafe.',
    '',
    'The crazyflie21 profile fences a 2 × 2 × 1.5 m arena around the origin; pass --geofence for a larger one',
    '(the simulator\'s nav layouts need x up to 2.5 m). The goal must lie inside the fence and outside every obstacle.',
    '--obstacles takes the format `kdp sim crazyflie --write-layout` writes (examples/layouts/*.json ship with kdp),',
    'or a dataset\'s layouts.json as FILE#i. Without --obstacles the planner sees an empty field (a warning says so).',
    '',
    'Examples (start the simulator with the same layout first: kdp sim crazyflie --obstacles examples/layouts/one-cylinder.json):',
    '  kdp fly --uri udp://127.0.0.1:19850 --model models/cf-nav --goal 0.9,0.4,0.5 --obstacles examples/layouts/one-cylinder.json',
    '  kdp fly --uri udp://127.0.0.1:19850 --model models/cf-nav --goal 1.5,0,0.5 --obstacles examples/layouts/one-cylinder.json --geofence -0.5,-1.5,0,3,1.5,1.5 --select oracle --json',
    '(the second goal sits right behind the cylinder: the model alone, trained on fields of 3–7 cylinders, does not get',
    'around a lone one there — it hovers short of it without touching — so that example flies with the safety layer)',
  ].join('\n'),
  options: {
    uri: { type: 'string', placeholder: '<uri>', default: 'udp://127.0.0.1:19850', description: 'Crazyflie link URI' },
    model: { type: 'string', placeholder: '<dir>', default: 'models/cf-nav', description: 'model folder (manifest.json + model.tflite) for the crazyflie-nav env' },
    goal: { type: 'string', placeholder: '<x,y,z>', description: 'goal position in m (world frame)' },
    obstacles: { type: 'string', placeholder: '<file.json>', description: 'obstacle layout (as `kdp sim crazyflie --obstacles`; FILE#i = episode i of a dataset\'s layouts.json)' },
    robot: { type: 'string', placeholder: '<name|file>', default: 'crazyflie21', description: 'robot profile with the geofence and speed limits' },
    geofence: { type: 'string', placeholder: '<x0,y0,z0,x1,y1,z1>', description: 'override the profile\'s geofence (m)' },
    candidates: { type: 'string', placeholder: 'N', default: '64', description: 'candidate plans per invoke' },
    rate: { type: 'string', placeholder: 'Hz', default: '10', description: 'planning/setpoint rate' },
    timeout: { type: 'string', placeholder: 's', default: '60', description: 'land where it is after this many seconds of planned flight' },
    'takeoff-height': { type: 'string', placeholder: 'm', description: 'takeoff height (default: the goal height)' },
    select: { type: 'string', placeholder: 'learned|oracle|goal', description: 'candidate selection (default: learned when the model ships a clearance scorer, else goal)' },
    'no-shield': { type: 'boolean', description: 'with --select oracle: do not scale down setpoints whose 0.5 s straight-line prediction hits a known obstacle' },
    'link-timeout': { type: 'string', placeholder: 'ms', default: '200', description: 'silence after which the link counts as lost' },
    seed: { type: 'string', placeholder: 'S', default: '0', description: 'planner noise seed' },
    ...MAVLINK_OPTIONS,
  },
  async run(ctx) {
    const uri = optString(ctx, 'uri') ?? 'udp://127.0.0.1:19850';
    try { validateCrtpUri(uri); } catch (e) {
      throw new UsageError(`--uri: ${(e as Error).message}`, 'the simulator listens on udp://127.0.0.1:19850 (`kdp sim crazyflie`)');
    }
    const modelDir = optString(ctx, 'model') ?? 'models/cf-nav';
    const goalV = optVector(ctx, 'goal', 3);
    if (!goalV) throw new UsageError('--goal is required', 'e.g. --goal 1.5,0,0.5 (x,y,z in m)');
    const goal = goalV as [number, number, number];
    const profile = loadCrazyflieProfile(optString(ctx, 'robot') ?? 'crazyflie21');
    const gf = optVector(ctx, 'geofence', 6);
    const fence: Geofence = gf
      ? { min: [gf[0]!, gf[1]!, gf[2]!], max: [gf[3]!, gf[4]!, gf[5]!] }
      : { min: [...profile.geofence.minM] as [number, number, number], max: [...profile.geofence.maxM] as [number, number, number] };
    for (let k = 0; k < 3; k++) {
      if (!(fence.min[k]! < fence.max[k]!)) throw new UsageError(`--geofence: min must be below max on axis ${'xyz'[k]}`);
      if (goal[k]! < fence.min[k]! || goal[k]! > fence.max[k]!) {
        throw new UsageError(`--goal ${goal.join(',')} is outside the geofence [${fence.min.join(',')}]..[${fence.max.join(',')}]`, 'pick a goal inside the fence, or pass a larger arena, e.g. --geofence -0.5,-1.5,0,3,1.5,1.5');
      }
    }
    const obsFile = optString(ctx, 'obstacles');
    const obstacles = obsFile ? loadObstacles(obsFile) : [];
    const inside = obstacleAt(obstacles, goal, CF21.bodyRadiusM);
    if (inside) {
      throw new UsageError(`--goal ${goal.join(',')} is inside (or within ${CF21.bodyRadiusM} m of) the ${inside.type} at x=${inside.x}, y=${inside.y} of ${obsFile}`,
        'the drone could never reach it: pick a goal in free space');
    }
    if (!obsFile) process.stderr.write('warning: no --obstacles given: the planner assumes an empty field and will fly straight through anything in the way\n');
    const model = loadModelDir(modelDir);
    const selection = optString(ctx, 'select') === undefined ? undefined : optChoice<FlightSelection>(ctx, 'select', ['learned', 'oracle', 'goal'], 'learned');
    const candidates = optNumber(ctx, 'candidates', 64, { int: true, min: 1, max: 1024 });
    const rateHz = optNumber(ctx, 'rate', 10, { min: 1, max: 200 });
    const timeoutS = optNumber(ctx, 'timeout', 60, { min: 1 });
    const takeoff = optString(ctx, 'takeoff-height') === undefined ? undefined : optNumber(ctx, 'takeoff-height', goal[2], { min: 0.1, max: fence.max[2] });
    const sysid = optString(ctx, 'mavlink-sysid');
    const tel = await openTelemetry({
      ...(optString(ctx, 'mavlink') !== undefined ? { target: optString(ctx, 'mavlink')! } : {}),
      ...(optString(ctx, 'mavlink-key') ? { signingKeyFile: optString(ctx, 'mavlink-key')! } : {}),
      ...(sysid ? { sysid: Number(sysid) } : {}),
      frame: 'flu',
    });
    let result: FlightResult;
    try {
      result = await runFlight({
        uri, model, goal, obstacles, fence,
        limits: { maxVelocityXyMps: profile.limits.maxVelocityXyMps, maxVelocityZMps: profile.limits.maxVelocityZMps },
        candidates, rateHz, timeoutS, ...(takeoff !== undefined ? { takeoffHeightM: takeoff } : {}),
        linkTimeoutMs: optNumber(ctx, 'link-timeout', 200, { min: 20, max: 10_000 }),
        ...(selection ? { selection } : {}), ...(optFlag(ctx, 'no-shield') ? { shield: false } : {}), seed: optNumber(ctx, 'seed', 0, { int: true, min: 0 }),
        telemetry: tel.sink, signal: ctx.signal,
        onEvent: (e) => { if (ctx.json) process.stderr.write(JSON.stringify(e) + '\n'); else say(ctx, `${e.event} ${JSON.stringify({ ...e, event: undefined })}`); },
      });
    } finally {
      await tel.close();
    }
    emitResult(ctx, result, () => [
      `selection: ${result.selection} (${result.oracle ? 'oracle: the known obstacle list was used' : 'no oracle: the model alone'})`,
      `${result.reached ? 'reached the goal' : `did not reach the goal (${result.outcome}, ${result.finalDistanceM} m away)`} in ${result.seconds} s, ${result.collisions} collisions, landed: ${result.landed}`,
      `plan latency p50 ${result.planLatencyUs.p50} µs, p99 ${result.planLatencyUs.p99} µs; ${result.deadlineMisses} deadline misses; ${result.plans} plans, ${result.infeasibleTicks} infeasible, ${result.hoverTicks} hover ticks`,
      `limits: ${JSON.stringify(result.limits)}`,
    ].join('\n'));
    return result.reached ? 0 : result.outcome === 'aborted' ? 130 : 1;
  },
};
