// A small version of the mutation campaigns (the 10,000-case ones are in test/soak/untrusted-fuzz.test.ts):
// mutated parquet episodes, HDF5 files and manifests end in a value or a typed error, bounded, never a crash.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hdf5Campaign, manifestCampaign, parquetCampaign, type CampaignResult } from '../helpers/mutation-fuzz.js';

function check(name: string, r: CampaignResult, n: number): void {
  console.log(`\n[figure] ${name} fuzz: ${r.cases} cases, ${r.ok} loaded, ${r.typed} typed errors ${JSON.stringify(r.codes)}, ${r.crashes.length} crashes, ${r.slow} over the bound, max case ${r.maxCaseMs} ms, max RSS ${r.maxRssMb} MB (decoder process ${r.childRssMb} MB)`);
  assert.equal(r.crashes, [], `${name}: untyped exceptions`);
  assert.is(r.cases, n);
  assert.is(r.slow, 0);
  assert.ok(r.maxRssMb < 1024, `RSS ${r.maxRssMb} MB`);
  assert.ok(r.childRssMb < 1024, `decoder RSS ${r.childRssMb} MB`);
}

test('parquet episode mutations: value or E_DATASET/E_SHAPE, bounded', async () => { check('parquet', await parquetCampaign(40, 11, 2_000), 40); });
test('HDF5 mutations: value or typed error, bounded', async () => { check('hdf5', await hdf5Campaign(150, 12), 150); });
test('manifest mutations: value or E_MODEL_*, bounded', async () => { check('manifest', await manifestCampaign(600, 13), 600); });

test.run();
