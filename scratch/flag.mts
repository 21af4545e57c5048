import { generatePickPlaceDemos, PP_STATE_DIM } from '../src/so100/pick-place.ts';
const st = await generatePickPlaceDemos({ episodes: 10, seed: 3, noiseRad: 0.02, onEpisode: async (s) => {
  const n = s.length / PP_STATE_DIM; let first = -1, ones = 0;
  for (let k = 0; k < n; k++) if (s[k * PP_STATE_DIM + 13] === 1) { ones++; if (first < 0) first = k; }
  console.log('frames', n, 'picked from', first, 'count', ones, 'last', s[(n - 1) * PP_STATE_DIM + 13]);
} });
console.log(st);
