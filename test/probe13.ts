const r = () => Math.round(process.memoryUsage().rss / 1048576);
const m0 = process.memoryUsage();
const h5 = await import('h5wasm/node');
console.log('imported', r(), Math.round(process.memoryUsage().external/1048576), Math.round(process.memoryUsage().arrayBuffers/1048576), Math.round(process.memoryUsage().heapUsed/1048576));
await h5.ready;
const M: any = (h5 as any).Module;
console.log('ready', r(), 'wasm heap MB', M?.HEAPU8?.length / 1048576, 'ext', Math.round(process.memoryUsage().external/1048576), 'heapUsed', Math.round(process.memoryUsage().heapUsed/1048576));
(globalThis as any).gc?.(); console.log('after gc', r());
