/*
 * Node-free bit-exactness check of every native kernel variant this CPU runs, against expected outputs
 * computed by the TypeScript reference (test/helpers/native-cases.ts writes them). Built by
 * `node scripts/build-native.mjs --check` (host) or `--arch arm64` (static, for qemu-aarch64 or a board):
 *
 *   check_kernels CASES.bin   → one line per variant: "variant NAME: N/N cases bit-exact" (or "skipped:
 *                               not supported by this CPU"); exit 1 on any difference.
 *
 * Case file (little endian): "KDPNC1\0\0", u32 count; per case: 11 i32 (kind, rows, inDim, inPad, outDim,
 * mult, shift, outZp, lo, hi, i6), 3 f32 (fpScale, flo, fhi), 5 u32 byte counts (x, w, bias for x offset
 * 0, bias for x offset 128, y), then those five blobs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

typedef struct { kdp_op op; uint8_t *x, *w, *b0, *b128, *want; uint32_t xb, wb, bb0, bb128, yb; } kcase;

static int rd(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n; }
static uint8_t *blob(FILE *f, uint32_t n) {
  uint8_t *p = (uint8_t *)aligned_alloc(64, ((size_t)n + 64 + 63) / 64 * 64); /* + slack, like the arena */
  if (!p || !rd(f, p, n)) { fprintf(stderr, "truncated case file\n"); exit(2); }
  return p;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: check_kernels CASES.bin\n"); return 2; }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; }
  char magic[8];
  uint32_t count;
  if (!rd(f, magic, 8) || memcmp(magic, "KDPNC1\0\0", 8) != 0 || !rd(f, &count, 4)) { fprintf(stderr, "not a case file\n"); return 2; }
  kcase *cs = (kcase *)calloc(count, sizeof *cs);
  for (uint32_t i = 0; i < count; i++) {
    int32_t h[11];
    float fl[3];
    uint32_t sz[5];
    if (!rd(f, h, sizeof h) || !rd(f, fl, sizeof fl) || !rd(f, sz, sizeof sz)) { fprintf(stderr, "truncated case file\n"); return 2; }
    kdp_op *op = &cs[i].op;
    op->kind = h[0]; op->rows = h[1]; op->inDim = h[2]; op->inPad = h[3]; op->outDim = h[4];
    op->mult = h[5]; op->shift = h[6]; op->outZp = h[7]; op->lo = h[8]; op->hi = h[9]; op->i6 = h[10];
    op->fpScale = fl[0]; op->flo = fl[1]; op->fhi = fl[2];
    cs[i].xb = sz[0]; cs[i].wb = sz[1]; cs[i].bb0 = sz[2]; cs[i].bb128 = sz[3]; cs[i].yb = sz[4];
    cs[i].x = blob(f, sz[0]); cs[i].w = blob(f, sz[1]); cs[i].b0 = blob(f, sz[2]); cs[i].b128 = blob(f, sz[3]); cs[i].want = blob(f, sz[4]);
  }
  fclose(f);
  int bad = 0;
  for (int v = 0; v < kdp_isa_count; v++) {
    const kdp_isa *isa = &kdp_isas[v];
    if (!isa->supported()) { printf("variant %s: skipped: not supported by this CPU\n", isa->name); continue; }
    uint32_t ok = 0;
    for (uint32_t i = 0; i < count; i++) {
      kcase *c = &cs[i];
      kdp_op op = c->op;
      uint8_t *y = (uint8_t *)aligned_alloc(64, ((size_t)c->yb + 63) / 64 * 64);
      uint8_t *xp = (uint8_t *)aligned_alloc(64, ((size_t)op.rows * op.inPad + 64 + 63) / 64 * 64);
      memset(y, 0x5a, c->yb);
      op.x = (const int8_t *)c->x; op.w = c->w; op.y = y; op.xp = xp;
      if (op.kind == KDP_OP_FC_Q8) { op.bias = KDP_X_OFFSET ? c->b128 : c->b0; isa->fc_q8(&op); }
      else { op.bias = c->bb0 ? c->b0 : NULL; isa->fc_f32(&op); }
      if (memcmp(y, c->want, c->yb) == 0) ok++;
      else if (bad++ < 5) {
        uint32_t k = 0;
        while (y[k] == c->want[k]) k++;
        printf("  %s case %u (kind %d rows %d in %d out %d i6 %d fp %g): byte %u differs\n", isa->name, i, op.kind, op.rows, op.inDim, op.outDim, op.i6, op.fpScale, k);
      }
      free(y);
      free(xp);
    }
    printf("variant %s: %u/%u cases bit-exact\n", isa->name, ok, count);
  }
  return bad ? 1 : 0;
}
