import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runFuzz } from './fuzz-core.js';

test('20,000 mutated packets: every decode is a value or a typed ProtocolError', () => {
  const st = runFuzz(20_000, 0xc0ffee);
  console.log(`[figure] crtp fuzz (unit): ${st.packets} packets × 3 decoders → ${st.decoded} values, ${st.protocolErrors} ProtocolErrors, ${st.crashes} crashes`);
  assert.is(st.crashes, 0, st.firstCrash);
  assert.is(st.packets, 20_000);
  assert.ok(st.decoded > 5000 && st.protocolErrors > 5000, 'the mutations reach both outcomes');
});

test.run();
