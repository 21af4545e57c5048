/**
 * Crazyflie 2.1 vehicle facts the flight code and the simulator share:
 *  - mass 27 g with battery (Bitcraze CF2.1 datasheet: "Weight 27 g"; within the 27–32 g range with decks);
 *  - inertia Ixx 1.657e-5, Iyy 1.666e-5, Izz 2.926e-5 kg·m² (Förster, "System Identification of the Crazyflie 2.0
 *    Nano Quadrocopter", ETH 2015);
 *  - arm length 46 mm motor-to-centre (92 mm motor-to-motor diagonal), X configuration;
 *  - max thrust ≈ 0.15 N per motor (≈ 60 g total, thrust/weight ≈ 2.2), yaw torque/thrust ratio 0.005964 m (Förster).
 * And the obstacle shapes a flight is told about (`--obstacles`) and the simulator builds.
 */
export const CF21 = {
  massKg: 0.027,
  inertiaKgM2: [1.657e-5, 1.666e-5, 2.926e-5] as const,
  armLengthM: 0.046,
  maxThrustPerMotorN: 0.15,
  yawTorqueCoeffM: 0.005964,
  /** First-order motor response time constant (s). */
  motorTauS: 0.02,
  /** Collision radius used for obstacle hits (props included), m. */
  bodyRadiusM: 0.06,
  gravity: 9.81,
} as const;

export interface CylinderObstacle { type: 'cylinder'; x: number; y: number; radius: number; height: number }
export interface BoxObstacle { type: 'box'; x: number; y: number; z?: number; sx: number; sy: number; sz: number; yawDeg?: number }
export type Obstacle = CylinderObstacle | BoxObstacle;
