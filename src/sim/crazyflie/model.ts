import { CF21, type Obstacle } from '../../devices/crazyflie/vehicle.js';

/**
 * The Crazyflie 2.1 MuJoCo model (vehicle constants in `vehicle.ts`).
 *  - mass 27 g with battery (Bitcraze CF2.1 datasheet: "Weight 27 g"; within the 27–32 g range with decks);
 *  - inertia Ixx 1.657e-5, Iyy 1.666e-5, Izz 2.926e-5 kg·m² (Förster, "System Identification of the Crazyflie 2.0
 *    Nano Quadrocopter", ETH 2015);
 *  - arm length 46 mm motor-to-centre (92 mm motor-to-motor diagonal), X configuration;
 *  - max thrust ≈ 0.15 N per motor (≈ 60 g total, thrust/weight ≈ 2.2), yaw torque/thrust ratio 0.005964 m (Förster).
 * Motors are MuJoCo site actuators whose gear maps ctrl (N) to a force along body z and a ±κ·f yaw torque.
 */
/** Motor order as the firmware: M1 front-right, M2 back-right, M3 back-left, M4 front-left (x forward, y left). */
export const MOTOR_XY: readonly (readonly [number, number])[] = (() => {
  const a = CF21.armLengthM / Math.SQRT2;
  return [[a, -a], [-a, -a], [-a, a], [a, a]] as const;
})();
/** Spin direction → yaw torque sign per motor (M1, M3 counter-clockwise seen from above give −z reaction… firmware mixer signs). */
export const MOTOR_YAW_SIGN: readonly number[] = [-1, 1, -1, 1];


export function quadrotorXml(obstacles: readonly Obstacle[] = [], timestepS = 0.002): string {
  const [ixx, iyy, izz] = CF21.inertiaKgM2;
  const motors = MOTOR_XY.map(([x, y], i) => `      <site name="m${i + 1}" pos="${x.toFixed(5)} ${y.toFixed(5)} 0" size="0.005"/>`).join('\n');
  const acts = MOTOR_XY.map((_, i) =>
    `    <general site="m${i + 1}" gear="0 0 1 0 0 ${(MOTOR_YAW_SIGN[i]! * CF21.yawTorqueCoeffM).toFixed(6)}" ctrllimited="true" ctrlrange="0 ${CF21.maxThrustPerMotorN}"/>`).join('\n');
  const obs = obstacles.map((o, i) => {
    if (o.type === 'cylinder') return `    <geom name="obs${i}" type="cylinder" pos="${o.x} ${o.y} ${o.height / 2}" size="${o.radius} ${o.height / 2}" rgba="0.8 0.3 0.3 1"/>`;
    const z = o.z ?? o.sz / 2;
    const yaw = ((o.yawDeg ?? 0) * Math.PI) / 360;
    return `    <geom name="obs${i}" type="box" pos="${o.x} ${o.y} ${z}" size="${o.sx / 2} ${o.sy / 2} ${o.sz / 2}" quat="${Math.cos(yaw)} 0 0 ${Math.sin(yaw)}" rgba="0.3 0.3 0.8 1"/>`;
  }).join('\n');
  return `<mujoco model="crazyflie21">
  <option timestep="${timestepS}" gravity="0 0 -${CF21.gravity}" integrator="Euler"/>
  <worldbody>
    <geom name="floor" type="plane" size="20 20 0.1" friction="0.8 0.01 0.001"/>
${obs}
    <body name="cf" pos="0 0 0.015">
      <freejoint name="root"/>
      <inertial pos="0 0 0" mass="${CF21.massKg}" diaginertia="${ixx} ${iyy} ${izz}"/>
      <geom name="frame" type="box" size="0.035 0.035 0.012" mass="0" contype="1" conaffinity="1"/>
${motors}
    </body>
  </worldbody>
  <actuator>
${acts}
  </actuator>
</mujoco>`;
}
