/*
 * CRC-64/NVME and CRC-32C in the CPU's own instructions, for the job's checksum verification
 * (src/crc64/crc64.ts loads the addon beside the bundle and falls back to WebAssembly without it).
 *
 * CRC-64/NVME: carry-less multiplication (PCLMULQDQ) folds four 16-byte accumulators 64 bytes at a
 * time, then into one, then the last 16 bytes of the fold and the input's tail go through a table.
 * CRC-32C: SSE4.2's crc32 instruction, 8 bytes at a time. Both update the register as the
 * WebAssembly code does (reflected, no inversion: the caller inverts), so either gives the same digest.
 *
 * Exports: `accelerated` (the CPU has PCLMULQDQ, SSE4.1 and SSE4.2; only then are the functions there),
 * `crc64nvme(register: bigint, data: Uint8Array): bigint` (a register of 64 bits, signed or not)
 * and `crc32c(register: number, data: Uint8Array): number` (an integer from 0 to 2^32 - 1); any
 * other argument is a TypeError.
 */
#include "addon.h"
#include <stddef.h>
#include <pthread.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* CRC-64/NVME's polynomial, reflected and as written (x^64 implied). */
#define CRC64NVME_REFLECTED 0x9a6c9329ac4bc9b5ULL
#define CRC64NVME_NORMAL 0xad93d23594c93659ULL

#if defined(__x86_64__)

static uint64_t crc64_table[256];

static uint64_t crc64_bytes(uint64_t crc, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) crc = crc64_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

static uint64_t reflect64(uint64_t v) {
  uint64_t r = 0;
  for (int i = 0; i < 64; i++) r |= ((v >> i) & 1ULL) << (63 - i);
  return r;
}

/*
 * x^n mod P, reflected (bit i is the coefficient of x^(63-i)), the form the folds multiply by.
 * A 16-byte accumulator is lo(x) * x^64 + hi(x) in that form; moving it d bits further is
 * lo * x^(d+64) + hi * x^d, and a carry-less product of two reflected values carries one extra
 * factor x: hence the constants x^(d+63) and x^(d-1).
 */
static uint64_t xpow_mod(unsigned n) {
  uint64_t v = 1;
  for (unsigned i = 0; i < n; i++) v = (v << 1) ^ ((v >> 63) ? CRC64NVME_NORMAL : 0);
  return reflect64(v);
}

static uint64_t fold512_lo, fold512_hi, fold128_lo, fold128_hi;

__attribute__((target("pclmul,sse4.1"))) static inline __m128i fold(__m128i a, __m128i k,
                                                                     __m128i next) {
  __m128i lo = _mm_clmulepi64_si128(a, k, 0x00);
  __m128i hi = _mm_clmulepi64_si128(a, k, 0x11);
  return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

#define LOAD(p) _mm_loadu_si128((const __m128i *)(p))

__attribute__((target("pclmul,sse4.1"))) static uint64_t crc64_clmul(uint64_t crc,
                                                                      const uint8_t *p,
                                                                      size_t n) {
  if (n < 128) return crc64_bytes(crc, p, n);
  const __m128i k512 = _mm_set_epi64x((long long)fold512_hi, (long long)fold512_lo);
  const __m128i k128 = _mm_set_epi64x((long long)fold128_hi, (long long)fold128_lo);
  /* the register enters as the first 8 bytes xor-ed with it (a reflected CRC's identity) */
  __m128i a0 = _mm_xor_si128(LOAD(p), _mm_set_epi64x(0, (long long)crc));
  __m128i a1 = LOAD(p + 16), a2 = LOAD(p + 32), a3 = LOAD(p + 48);
  p += 64;
  n -= 64;
  for (; n >= 64; p += 64, n -= 64) {
    a0 = fold(a0, k512, LOAD(p));
    a1 = fold(a1, k512, LOAD(p + 16));
    a2 = fold(a2, k512, LOAD(p + 32));
    a3 = fold(a3, k512, LOAD(p + 48));
  }
  __m128i a = fold(fold(fold(a0, k128, a1), k128, a2), k128, a3);
  for (; n >= 16; p += 16, n -= 16) a = fold(a, k128, LOAD(p));
  /* what is left to reduce is the message "the 16 bytes of a": its CRC from a zero register */
  uint8_t last[16];
  _mm_storeu_si128((__m128i *)last, a);
  return crc64_bytes(crc64_bytes(0, last, 16), p, n);
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t n) {
  uint64_t c = crc;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    __builtin_memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
  }
  uint32_t c32 = (uint32_t)c;
  for (; n > 0; p++, n--) c32 = _mm_crc32_u8(c32, *p);
  return c32;
}

#endif

static bool bytes_of(napi_env env, napi_value value, const uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  void *base;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, &base, &buffer, &offset) != napi_ok ||
      type != napi_uint8_array)
    return false;
  *data = (const uint8_t *)base;
  return true;
}

/* The register as a bigint of 64 bits, signed or not (the WebAssembly code returns it signed). */
static bool register64_of(napi_env env, napi_value value, uint64_t *crc) {
  int64_t signed_value;
  bool lossless;
  if (napi_get_value_bigint_int64(env, value, &signed_value, &lossless) != napi_ok) return false;
  if (lossless) {
    *crc = (uint64_t)signed_value;
    return true;
  }
  return napi_get_value_bigint_uint64(env, value, crc, &lossless) == napi_ok && lossless;
}

/* The register as an integer number from 0 to 2^32 - 1. */
static bool register32_of(napi_env env, napi_value value, uint32_t *crc) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) return false;
  if (!(number >= 0 && number <= 4294967295.0) || number != (double)(uint32_t)number) return false;
  *crc = (uint32_t)number;
  return true;
}

static napi_value Crc64Nvme(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint64_t crc;
  const uint8_t *data;
  size_t length;
  napi_value out = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      !register64_of(env, argv[0], &crc) || !bytes_of(env, argv[1], &data, &length)) {
    napi_throw_type_error(env, NULL, "crc64nvme(register: bigint, data: Uint8Array)");
    return NULL;
  }
#if defined(__x86_64__)
  if (napi_create_bigint_int64(env, (int64_t)crc64_clmul(crc, data, length), &out) != napi_ok)
    napi_throw_error(env, NULL, "crc64nvme: could not return the register");
#endif
  return out;
}

static napi_value Crc32c(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t crc;
  const uint8_t *data;
  size_t length;
  napi_value out = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      !register32_of(env, argv[0], &crc) || !bytes_of(env, argv[1], &data, &length)) {
    napi_throw_type_error(env, NULL, "crc32c(register: number, data: Uint8Array)");
    return NULL;
  }
#if defined(__x86_64__)
  if (napi_create_uint32(env, crc32c_hw(crc, data, length), &out) != napi_ok)
    napi_throw_error(env, NULL, "crc32c: could not return the register");
#endif
  return out;
}

static bool accelerated = false;
static pthread_once_t initialized = PTHREAD_ONCE_INIT;

/* Once per process: a worker thread that loads the addon too gets the same tables, not a rewrite. */
static void initialize(void) {
#if defined(__x86_64__)
  for (unsigned i = 0; i < 256; i++) {
    uint64_t c = i;
    for (int j = 0; j < 8; j++) c = (c >> 1) ^ ((c & 1) ? CRC64NVME_REFLECTED : 0);
    crc64_table[i] = c;
  }
  fold512_lo = xpow_mod(512 + 63);
  fold512_hi = xpow_mod(512 - 1);
  fold128_lo = xpow_mod(128 + 63);
  fold128_hi = xpow_mod(128 - 1);
  __builtin_cpu_init();
  accelerated = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1") &&
                __builtin_cpu_supports("sse4.2");
#endif
}

bool register_checksums(napi_env env, napi_value exports) {
  if (pthread_once(&initialized, initialize) != 0) return false;
  napi_value flag;
  if (napi_get_boolean(env, accelerated, &flag) != napi_ok ||
      napi_set_named_property(env, exports, "accelerated", flag) != napi_ok)
    return false;
  if (accelerated) {
    napi_value fn;
    if (napi_create_function(env, "crc64nvme", NAPI_AUTO_LENGTH, Crc64Nvme, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, "crc64nvme", fn) != napi_ok ||
        napi_create_function(env, "crc32c", NAPI_AUTO_LENGTH, Crc32c, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, "crc32c", fn) != napi_ok)
      return false;
  }
  return true;
}
