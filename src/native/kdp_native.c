/*
 * N-API binding of the native FULLY_CONNECTED kernels (kernels.h). The runtime keeps its arena in the
 * WebAssembly memory; a context takes that ArrayBuffer once, resolves every op's byte offsets to
 * pointers once (bounds-checked), and `run(ctx, from, to)` then executes ops by index: no copies and
 * no JavaScript allocation per invoke. The memory must not grow while a context uses it (the
 * interpreter grows it exactly once, before binding).
 *
 *   variants()                         → { arch, xOffset, variants: [{ name, insn, supported }] }
 *   createContext(arrayBuffer, name)   → context (throws when the variant is unknown or unsupported)
 *   addOp(ctx, Int32Array, Float32Array) → op index (throws on offsets outside the buffer)
 *   run(ctx, from, to)                 → runs ops [from, to)
 *   spin(n)                            → 4·n dependent integer adds (1 cycle each): times a core cycle
 *                                        as this process gets it, for MAC/cycle figures on a shared VM
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

typedef struct {
  uint8_t *base;
  size_t len;
  const kdp_isa *isa;
  kdp_op *ops;
  int n, cap;
  napi_ref buffer;
} kdp_ctx;

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, "E_NATIVE", "N-API call failed: " #call); return NULL; } } while (0)
#define FAIL(msg) do { napi_throw_error(env, "E_NATIVE", msg); return NULL; } while (0)

static napi_value str(napi_env env, const char *s) { napi_value v; napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v); return v; }

static napi_value variants(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, list;
  CHECK(napi_create_object(env, &out));
#if KDP_X86
  CHECK(napi_set_named_property(env, out, "arch", str(env, "x64")));
#elif defined(__aarch64__)
  CHECK(napi_set_named_property(env, out, "arch", str(env, "arm64")));
#else
  CHECK(napi_set_named_property(env, out, "arch", str(env, "other")));
#endif
  napi_value off;
  CHECK(napi_create_int32(env, KDP_X_OFFSET, &off));
  CHECK(napi_set_named_property(env, out, "xOffset", off));
  CHECK(napi_create_array_with_length(env, (size_t)kdp_isa_count, &list));
  for (int i = 0; i < kdp_isa_count; i++) {
    napi_value v, sup;
    CHECK(napi_create_object(env, &v));
    CHECK(napi_set_named_property(env, v, "name", str(env, kdp_isas[i].name)));
    CHECK(napi_set_named_property(env, v, "insn", str(env, kdp_isas[i].insn)));
    CHECK(napi_get_boolean(env, kdp_isas[i].supported() != 0, &sup));
    CHECK(napi_set_named_property(env, v, "supported", sup));
    CHECK(napi_set_element(env, list, (uint32_t)i, v));
  }
  CHECK(napi_set_named_property(env, out, "variants", list));
  return out;
}

static void ctx_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  kdp_ctx *c = (kdp_ctx *)data;
  if (c->buffer) napi_delete_reference(env, c->buffer);
  free(c->ops);
  free(c);
}

static napi_value create_context(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) FAIL("createContext(arrayBuffer, variant)");
  bool isAb = false;
  CHECK(napi_is_arraybuffer(env, argv[0], &isAb));
  if (!isAb) FAIL("createContext: the arena must be an ArrayBuffer");
  void *data = NULL;
  size_t len = 0;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &data, &len));
  char name[32] = {0};
  size_t nlen = 0;
  CHECK(napi_get_value_string_utf8(env, argv[1], name, sizeof name, &nlen));
  const kdp_isa *isa = NULL;
  for (int i = 0; i < kdp_isa_count; i++) if (strcmp(kdp_isas[i].name, name) == 0) isa = &kdp_isas[i];
  if (!isa) FAIL("createContext: unknown kernel variant");
  if (!isa->supported()) FAIL("createContext: this CPU does not support the requested kernel variant");
  kdp_ctx *c = (kdp_ctx *)calloc(1, sizeof *c);
  if (!c) FAIL("out of memory");
  c->base = (uint8_t *)data;
  c->len = len;
  c->isa = isa;
  napi_value ext;
  if (napi_create_reference(env, argv[0], 1, &c->buffer) != napi_ok || napi_create_external(env, c, ctx_finalize, NULL, &ext) != napi_ok) {
    free(c);
    FAIL("createContext: N-API failure");
  }
  return ext;
}

static int in_range(const kdp_ctx *c, int64_t off, int64_t bytes) { return off >= 0 && bytes >= 0 && (uint64_t)(off + bytes) <= c->len; }

static napi_value add_op(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) FAIL("addOp(ctx, Int32Array, Float32Array)");
  kdp_ctx *c;
  CHECK(napi_get_value_external(env, argv[0], (void **)&c));
  napi_typedarray_type t1, t2;
  size_t n1, n2;
  void *d1, *d2;
  CHECK(napi_get_typedarray_info(env, argv[1], &t1, &n1, &d1, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[2], &t2, &n2, &d2, NULL, NULL));
  if (t1 != napi_int32_array || n1 < 16 || t2 != napi_float32_array || n2 < 3) FAIL("addOp: expected Int32Array(16) and Float32Array(3)");
  const int32_t *p = (const int32_t *)d1;
  const float *f = (const float *)d2;
  kdp_op op;
  memset(&op, 0, sizeof op);
  op.kind = p[0];
  int64_t x = p[1], xp = p[2], w = p[3], b = p[4], y = p[5];
  op.rows = p[6]; op.inDim = p[7]; op.inPad = p[8]; op.outDim = p[9];
  op.mult = p[10]; op.shift = p[11]; op.outZp = p[12]; op.lo = p[13]; op.hi = p[14]; op.i6 = p[15];
  op.fpScale = f[0]; op.flo = f[1]; op.fhi = f[2];
  if (op.rows < 1 || op.inDim < 1 || op.outDim < 1 || op.inPad < op.inDim) FAIL("addOp: bad dimensions");
  int64_t rows = op.rows, inDim = op.inDim, inPad = op.inPad, outDim = op.outDim;
  int ok;
  if (op.kind == KDP_OP_FC_Q8) {
    if (inPad % 8 != 0) FAIL("addOp: int8 inPad must be a multiple of 8");
    int64_t outPad = (outDim + 15) / 16 * 16;
    ok = in_range(c, x, rows * inDim) && in_range(c, xp, rows * inPad) && in_range(c, w, outPad * inPad) && in_range(c, b, outPad * 4) &&
         in_range(c, y, rows * outDim);
  } else if (op.kind == KDP_OP_FC_F32) {
    int64_t outPad = (outDim + 7) / 8 * 8;
    ok = in_range(c, x, rows * inDim * 4) && in_range(c, w, outPad * inDim * 4) && (b < 0 || in_range(c, b, outPad * 4)) && in_range(c, y, rows * outDim * 4);
  } else {
    FAIL("addOp: unknown op kind");
  }
  if (!ok) FAIL("addOp: an operand lies outside the arena");
  op.x = (const int8_t *)(c->base + x);
  op.xp = op.kind == KDP_OP_FC_Q8 ? c->base + xp : NULL;
  op.w = c->base + w;
  op.bias = b >= 0 ? (const void *)(c->base + b) : NULL;
  op.y = c->base + y;
  if (c->n == c->cap) {
    int cap = c->cap ? c->cap * 2 : 8;
    kdp_op *ops = (kdp_op *)realloc(c->ops, (size_t)cap * sizeof *ops);
    if (!ops) FAIL("out of memory");
    c->ops = ops;
    c->cap = cap;
  }
  c->ops[c->n] = op;
  napi_value idx;
  CHECK(napi_create_int32(env, c->n++, &idx));
  return idx;
}

/* the hot call: no allocation, no JavaScript values created */
static napi_value run(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  kdp_ctx *c;
  int32_t from, to;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_external(env, argv[0], (void **)&c) != napi_ok ||
      napi_get_value_int32(env, argv[1], &from) != napi_ok || napi_get_value_int32(env, argv[2], &to) != napi_ok) {
    FAIL("run(ctx, from, to)");
  }
  if (from < 0 || to > c->n) FAIL("run: op index out of range");
  const kdp_isa *isa = c->isa;
  for (int i = from; i < to; i++) {
    const kdp_op *op = &c->ops[i];
    if (op->kind == KDP_OP_FC_Q8) isa->fc_q8(op); else isa->fc_f32(op);
  }
  return NULL;
}

static napi_value spin(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double n = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_double(env, argv[0], &n) != napi_ok) FAIL("spin(n)");
  uint64_t x = 0;
  for (uint64_t i = 0; i < (uint64_t)n; i++) {
#if KDP_X86
    __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
#elif defined(__aarch64__)
    __asm__ volatile("add %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1" : "+r"(x));
#else
    volatile uint64_t y = x; x = y + 4;
#endif
  }
  napi_value out;
  CHECK(napi_create_double(env, (double)x, &out));
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    { "variants", NULL, variants, NULL, NULL, NULL, napi_enumerable, NULL },
    { "createContext", NULL, create_context, NULL, NULL, NULL, napi_enumerable, NULL },
    { "addOp", NULL, add_op, NULL, NULL, NULL, napi_enumerable, NULL },
    { "run", NULL, run, NULL, NULL, NULL, napi_enumerable, NULL },
    { "spin", NULL, spin, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
