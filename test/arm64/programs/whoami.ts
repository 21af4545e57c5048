// Prints what the process runs on (arch, Node, V8, emulation verdict) as one JSON line.
import { hostPlatform } from '../../../src/util/platform.js';

const p = hostPlatform();
process.stdout.write(`${JSON.stringify({ arch: process.arch, version: process.version, v8: process.versions.v8, emulated: p.emulated, emulation: p.emulation, cpuIsa: p.cpuIsa })}\n`);
