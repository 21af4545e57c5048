// AssemblyScript: dense kernels for the host-side trainer (compiled by scripts/build-wasm.mjs).
// All pointers are byte offsets into the imported memory; matrices are row-major float32.

// C[M×N] = beta·C + A·B, where A(i,k) = A[i*sai + k*sak] (so both A and Aᵀ layouts work) and B is K×N
// row-major with leading dimension ldb. The inner loop runs over N in f32x4 lanes; 4 rows of A share
// each B load (register blocking), which is where the speed comes from.
export function gemm(M: i32, N: i32, K: i32, A: usize, sai: i32, sak: i32, B: usize, ldb: i32, C: usize, beta: f32): void {
  const N4 = N & ~3;
  if (beta == 0) {
    memory.fill(C, 0, <usize>(M * N) << 2);
  } else if (beta != 1) {
    const n = M * N;
    for (let i = 0; i < n; i++) store<f32>(C + (<usize>i << 2), load<f32>(C + (<usize>i << 2)) * beta);
  }
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const c0 = C + (<usize>(i * N) << 2);
    const c1 = c0 + (<usize>N << 2);
    const c2 = c1 + (<usize>N << 2);
    const c3 = c2 + (<usize>N << 2);
    let j = 0;
    for (; j + 8 <= N4; j += 8) {
      const jo = <usize>j << 2;
      let a00 = v128.load(c0 + jo), a01 = v128.load(c0 + jo, 16);
      let a10 = v128.load(c1 + jo), a11 = v128.load(c1 + jo, 16);
      let a20 = v128.load(c2 + jo), a21 = v128.load(c2 + jo, 16);
      let a30 = v128.load(c3 + jo), a31 = v128.load(c3 + jo, 16);
      for (let k = 0; k < K; k++) {
        const bp = B + (<usize>(k * ldb + j) << 2);
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        const ap = A + (<usize>(i * sai + k * sak) << 2);
        const x0 = f32x4.splat(load<f32>(ap));
        const x1 = f32x4.splat(load<f32>(ap + (<usize>sai << 2)));
        const x2 = f32x4.splat(load<f32>(ap + (<usize>(2 * sai) << 2)));
        const x3 = f32x4.splat(load<f32>(ap + (<usize>(3 * sai) << 2)));
        a00 = f32x4.add(a00, f32x4.mul(x0, b0)); a01 = f32x4.add(a01, f32x4.mul(x0, b1));
        a10 = f32x4.add(a10, f32x4.mul(x1, b0)); a11 = f32x4.add(a11, f32x4.mul(x1, b1));
        a20 = f32x4.add(a20, f32x4.mul(x2, b0)); a21 = f32x4.add(a21, f32x4.mul(x2, b1));
        a30 = f32x4.add(a30, f32x4.mul(x3, b0)); a31 = f32x4.add(a31, f32x4.mul(x3, b1));
      }
      v128.store(c0 + jo, a00); v128.store(c0 + jo, a01, 16);
      v128.store(c1 + jo, a10); v128.store(c1 + jo, a11, 16);
      v128.store(c2 + jo, a20); v128.store(c2 + jo, a21, 16);
      v128.store(c3 + jo, a30); v128.store(c3 + jo, a31, 16);
    }
    for (; j < N4; j += 4) {
      const jo = <usize>j << 2;
      let a0 = v128.load(c0 + jo), a1 = v128.load(c1 + jo), a2 = v128.load(c2 + jo), a3 = v128.load(c3 + jo);
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(B + (<usize>(k * ldb + j) << 2));
        const ap = A + (<usize>(i * sai + k * sak) << 2);
        a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(ap)), b0));
        a1 = f32x4.add(a1, f32x4.mul(f32x4.splat(load<f32>(ap + (<usize>sai << 2))), b0));
        a2 = f32x4.add(a2, f32x4.mul(f32x4.splat(load<f32>(ap + (<usize>(2 * sai) << 2))), b0));
        a3 = f32x4.add(a3, f32x4.mul(f32x4.splat(load<f32>(ap + (<usize>(3 * sai) << 2))), b0));
      }
      v128.store(c0 + jo, a0); v128.store(c1 + jo, a1); v128.store(c2 + jo, a2); v128.store(c3 + jo, a3);
    }
    for (; j < N; j++) {
      for (let r = 0; r < 4; r++) {
        let s: f32 = 0;
        for (let k = 0; k < K; k++) s += load<f32>(A + (<usize>((i + r) * sai + k * sak) << 2)) * load<f32>(B + (<usize>(k * ldb + j) << 2));
        const cp = C + (<usize>((i + r) * N + j) << 2);
        store<f32>(cp, load<f32>(cp) + s);
      }
    }
  }
  for (; i < M; i++) {
    const c0 = C + (<usize>(i * N) << 2);
    let j = 0;
    for (; j < N4; j += 4) {
      const jo = <usize>j << 2;
      let a0 = v128.load(c0 + jo);
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(B + (<usize>(k * ldb + j) << 2));
        a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(A + (<usize>(i * sai + k * sak) << 2))), b0));
      }
      v128.store(c0 + jo, a0);
    }
    for (; j < N; j++) {
      let s: f32 = 0;
      for (let k = 0; k < K; k++) s += load<f32>(A + (<usize>(i * sai + k * sak) << 2)) * load<f32>(B + (<usize>(k * ldb + j) << 2));
      store<f32>(c0 + (<usize>j << 2), load<f32>(c0 + (<usize>j << 2)) + s);
    }
  }
}

// Y[M×N] += bias[N] broadcast over rows.
export function addBias(M: i32, N: i32, Y: usize, bias: usize): void {
  for (let i = 0; i < M; i++) {
    const row = Y + (<usize>(i * N) << 2);
    let j = 0;
    for (; j + 4 <= N; j += 4) v128.store(row + (<usize>j << 2), f32x4.add(v128.load(row + (<usize>j << 2)), v128.load(bias + (<usize>j << 2))));
    for (; j < N; j++) store<f32>(row + (<usize>j << 2), load<f32>(row + (<usize>j << 2)) + load<f32>(bias + (<usize>j << 2)));
  }
}

// db[N] = sum over rows of G[M×N].
export function colSum(M: i32, N: i32, G: usize, out: usize): void {
  memory.fill(out, 0, <usize>N << 2);
  for (let i = 0; i < M; i++) {
    const row = G + (<usize>(i * N) << 2);
    let j = 0;
    for (; j + 4 <= N; j += 4) v128.store(out + (<usize>j << 2), f32x4.add(v128.load(out + (<usize>j << 2)), v128.load(row + (<usize>j << 2))));
    for (; j < N; j++) store<f32>(out + (<usize>j << 2), load<f32>(out + (<usize>j << 2)) + load<f32>(row + (<usize>j << 2)));
  }
}

// ReLU forward in place on n floats, keeping the pre-activation in `pre` for the backward pass.
export function reluForward(n: i32, pre: usize, out: usize): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), f32x4.max(v128.load(pre + (<usize>i << 2)), z));
  for (; i < n; i++) { const v = load<f32>(pre + (<usize>i << 2)); store<f32>(out + (<usize>i << 2), v > 0 ? v : 0); }
}

// grad *= (pre > 0)
export function reluBackward(n: i32, pre: usize, grad: usize): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const m = f32x4.gt(v128.load(pre + (<usize>i << 2)), z);
    v128.store(grad + (<usize>i << 2), v128.and(v128.load(grad + (<usize>i << 2)), m));
  }
  for (; i < n; i++) if (load<f32>(pre + (<usize>i << 2)) <= 0) store<f32>(grad + (<usize>i << 2), 0);
}
