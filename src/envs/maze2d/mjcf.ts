import type { MazeLayout } from './layouts.js';
import { WALL, WALL_WORLD_OFFSET, PARTICLE_BODY_POS, PARTICLE_RADIUS } from './layouts.js';

/**
 * The point-mass MJCF of D4RL's `point_maze()` (maze_model.py), attribute for attribute (visual-only
 * assets like textures/skybox are left out: they do not affect the dynamics).
 */
export function pointMazeXml(layout: MazeLayout): string {
  const walls: string[] = [];
  for (let i = 0; i < layout.nx; i++) {
    for (let j = 0; j < layout.ny; j++) {
      if (layout.tiles[i * layout.ny + j] !== WALL) continue;
      walls.push(`    <geom conaffinity="1" type="box" name="wall_${i}_${j}" material="wall" pos="${i + WALL_WORLD_OFFSET} ${j + WALL_WORLD_OFFSET} 0" size="0.5 0.5 0.2"/>`);
    }
  }
  const p = PARTICLE_BODY_POS;
  return `<mujoco model="point_maze">
  <compiler inertiafromgeom="true" angle="radian" coordinate="local"/>
  <option timestep="0.01" gravity="0 0 0" iterations="20" integrator="Euler"/>
  <default>
    <joint damping="1" limited="false"/>
    <geom friction=".5 .1 .1" density="1000" margin="0.002" condim="1" contype="2" conaffinity="1"/>
  </default>
  <asset>
    <material name="wall" rgba=".7 .5 .3 1"/>
    <material name="target" rgba=".6 .3 .3 1"/>
  </asset>
  <worldbody>
    <geom name="ground" size="40 40 0.25" pos="0 0 -0.1" type="plane" contype="1" conaffinity="0"/>
    <body name="particle" pos="${p} ${p} 0">
      <geom name="particle_geom" type="sphere" size="${PARTICLE_RADIUS}" rgba="0 0 1 0" contype="1"/>
      <site name="particle_site" pos="0 0 0" size="0.2" rgba="0.3 0.6 0.3 1"/>
      <joint name="ball_x" type="slide" pos="0 0 0" axis="1 0 0"/>
      <joint name="ball_y" type="slide" pos="0 0 0" axis="0 1 0"/>
    </body>
    <site name="target_site" pos="0 0 0" size="0.2" material="target"/>
${walls.join('\n')}
  </worldbody>
  <actuator>
    <motor joint="ball_x" ctrlrange="-1 1" ctrllimited="true" gear="100"/>
    <motor joint="ball_y" ctrlrange="-1 1" ctrllimited="true" gear="100"/>
  </actuator>
</mujoco>
`;
}
