/**
 * The crazyflie-nav observation layout, shared by the dataset recorder (src/sim/crazyflie/nav-dataset.ts), the env
 * registry, `kdp fly`'s observer and the learned clearance scorer:
 *   [x, y, z, vx, vy, vz, gx−x, gy−y, gz−z, then the NAV_K_NEAREST nearest obstacles as (dx, dy, r), sorted by
 *    distance, zero-padded (r = 0: no obstacle)]
 * 8 obstacles: the dataset's fields hold 3–7 cylinders, so the observation shows every one of them — with 4, an
 * obstacle 0.6–0.8 m ahead could be the fifth nearest and unseen until the vehicle was on top of it.
 */
export const NAV_K_NEAREST = 8;
/** observation dims before the obstacles: position, velocity, goal − position */
export const NAV_OBSTACLE_OFFSET = 9;
/** the obstacle part of the observation: NAV_K_NEAREST × (dx, dy, r) */
export const NAV_OBSTACLE_DIMS = 3 * NAV_K_NEAREST;
export const NAV_OBS_DIM = NAV_OBSTACLE_OFFSET + NAV_OBSTACLE_DIMS;
/** stateNames of the obstacle part: o0dx, o0dy, o0r, o1dx, … */
export const NAV_OBSTACLE_NAMES: readonly string[] = Array.from({ length: NAV_K_NEAREST }, (_, k) => [`o${k}dx`, `o${k}dy`, `o${k}r`]).flat();
