import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runFuzz } from '../protocols/crtp/fuzz-core.js';

test('1,000,000 mutated packets: decode to a value or a typed ProtocolError, never a crash', () => {
  const t0 = Date.now();
  const st = runFuzz(1_000_000, 0x1234567);
  const secs = (Date.now() - t0) / 1000;
  console.log(`[figure] crtp fuzz (soak): ${st.packets} packets × 3 decoders in ${secs.toFixed(1)} s → ${st.decoded} values, ${st.protocolErrors} ProtocolErrors, ${st.crashes} crashes`);
  assert.is(st.crashes, 0, st.firstCrash);
  assert.is(st.packets, 1_000_000);
});

test.run();
