// The mutation campaigns: 10,000 cases each of mutated LeRobot parquet episodes, D4RL HDF5 files and model
// manifests. Each case ends in a value or a typed KdpError within its bound; RSS stays under 1 GB.
// Run: node scripts/run-tests.mjs --suite soak (or KDP_TEST_TIMEOUT_MS=3600000 node scripts/run-tests.mjs test/soak/untrusted-fuzz.test.ts)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hdf5Campaign, manifestCampaign, parquetCampaign, type CampaignResult } from '../helpers/mutation-fuzz.js';

const N = Number(process.env.KDP_FUZZ_CASES ?? 10_000);

function check(name: string, r: CampaignResult, t0: number): void {
  console.log(`\n[figure] ${name} mutation fuzz: ${r.cases} cases, ${r.ok} loaded, ${r.typed} typed errors ${JSON.stringify(r.codes)}, ${r.crashes.length} crashes, `
    + `${r.slow} over the per-case bound, max case ${r.maxCaseMs} ms, max RSS ${r.maxRssMb} MB (decoder process ${r.childRssMb} MB), ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  assert.equal(r.crashes, [], `${name}: untyped exceptions`);
  assert.is(r.cases, N);
  assert.is(r.slow, 0, 'every case bounded');
  assert.ok(r.maxRssMb < 1024, `RSS ${r.maxRssMb} MB`);
  assert.ok(r.childRssMb < 1024, `decoder RSS ${r.childRssMb} MB`);
}

test('manifest mutations', async () => { const t0 = performance.now(); check('manifest', await manifestCampaign(N, 101), t0); });
test('HDF5 mutations', async () => { const t0 = performance.now(); check('hdf5', await hdf5Campaign(N, 102), t0); });
test('parquet mutations', async () => { const t0 = performance.now(); check('parquet', await parquetCampaign(N, 103, 5_000), t0); });

test.run();
