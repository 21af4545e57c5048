/**
 * The command table. Each entry lazily imports its module so `kdp fly` never loads the trainer,
 * and the board never pays for tfjs/mujoco unless the command needs them.
 * A module exports `command: CommandSpec`.
 */
export interface CommandEntry {
  summary: string;
  /** module path relative to src/cli/commands, without extension */
  module: string;
}

export const COMMANDS: Record<string, CommandEntry> = {
  // data + training (host side)
  'dataset maze2d': { summary: 'generate a D4RL-layout Maze2D dataset with the noisy waypoint controller', module: 'dataset-maze2d' },
  'dataset crazyflie-nav': { summary: 'record simulated Crazyflie flights through obstacle fields as a dataset', module: 'dataset-crazyflie-nav' },
  'dataset so100-reach': { summary: 'record simulated SO-100 reach demonstrations as a dataset', module: 'dataset-so100-reach' },
  'dataset so100-pick-place': { summary: 'record simulated SO-100 pick-and-place demonstrations as a LeRobot dataset', module: 'dataset-so100-pick-place' },
  'dataset info': { summary: 'summarise a dataset file (D4RL HDF5 or LeRobot folder)', module: 'dataset-info' },
  train: { summary: 'train a Keyed Drifting Policy on a dataset', module: 'train' },
  'train-scorer': { summary: 'train the learned plan scorer (occupancy + cost-to-go) for a generator run', module: 'train-scorer' },
  'ablate modes': { summary: 'the mode benchmark: keyed vs naive vs condition-only vs no-repulsion', module: 'ablate-modes' },
  export: { summary: 'export a checkpoint to TFLite (fp32 or full-int8) + manifest', module: 'export' },
  // runtime
  infer: { summary: 'run one invoke of a model on JSON inputs', module: 'infer' },
  bench: { summary: 'per-step latency benchmark (benchmark_model style)', module: 'bench' },
  eval: { summary: 'closed-loop evaluation of a model in its environment', module: 'eval' },
  demo: { summary: 'the main job: closed-loop Maze2D episodes with the shipped model', module: 'demo' },
  // devices
  fly: { summary: 'fly a Crazyflie with KDP planning in the loop', module: 'fly' },
  arm: { summary: 'run the SO-100 arm untethered with KDP planning', module: 'arm' },
  'sim crazyflie': { summary: 'simulated Crazyflie answering CRTP over UDP', module: 'sim-crazyflie' },
  'sim so100': { summary: 'simulated SO-100 servo bus on a pty', module: 'sim-so100' },
  'motors find-port': { summary: 'find the serial port of a motor bus adapter', module: 'motors-find-port' },
  'motors setup': { summary: 'assign ids and baud rate to Feetech servos one at a time', module: 'motors-setup' },
  record: { summary: 'teleoperate the SO-100 from a leader arm and record a LeRobot dataset', module: 'record' },
  'calibrate so100': { summary: 'calibrate an SO-100 arm (LeRobot-compatible JSON)', module: 'calibrate-so100' },
  // operations
  'board check': { summary: 'report what this host lacks for a board profile', module: 'board-check' },
  sign: { summary: 'sign a model manifest (ed25519)', module: 'sign' },
  flash: { summary: 'deploy a model to a companion board over SSH (atomic, signed)', module: 'flash' },
  rollback: { summary: 'switch a board back to its previous model slot', module: 'rollback' },
  serve: { summary: 'the board agent: run the loop, hot-swap new models', module: 'serve' },
};
