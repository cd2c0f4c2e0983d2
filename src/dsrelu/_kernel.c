/* Fused CPU loops for DSReLU: one pass forward, one pass backward.
 *
 * forward:  y = x > 0 ? s * x : x
 * backward: dx = y > 0 ? s * dy : dy   (the sign of x is read from the output y,
 *                                       which has the same sign because s > 0)
 *
 * The product is one correctly rounded multiply in the element type, so results equal
 * PyTorch's `torch.where(x > 0, x * s, x)` bit for bit. Compiled with
 * -fno-trapping-math so the select vectorises (no result changes).
 *
 * Work is split with OpenMP. The library asks for libgomp.so.1; inside a process that
 * has imported torch, the dynamic loader hands it the libgomp already loaded by torch,
 * so the loops run on torch's own warm thread pool rather than competing with it.
 */
#include <stdint.h>

/* On x86-64, build the loops for AVX-512, AVX2 and baseline SSE2 and pick one when the
 * library loads (GCC function multiversioning), so a cache-resident tensor is processed
 * at the width the built-in PyTorch kernels use. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DSRELU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DSRELU_CLONES
#endif

#define GRAIN 32768

#define DEFINE_KERNELS(T, NAME)                                                           \
  DSRELU_CLONES static void NAME##_forward_range(const T *x, T *y, int64_t n, T s) {    \
    for (int64_t i = 0; i < n; ++i) {                                                   \
      T v = x[i];                                                                       \
      T scaled = v * s;                                                                 \
      y[i] = v > (T)0 ? scaled : v;                                                     \
    }                                                                                   \
  }                                                                                     \
                                                                                        \
  DSRELU_CLONES static void NAME##_backward_range(const T *y, const T *g, T *dx,        \
                                                  int64_t n, T s) {                     \
    for (int64_t i = 0; i < n; ++i) {                                                   \
      T d = g[i];                                                                       \
      T scaled = d * s;                                                                 \
      dx[i] = y[i] > (T)0 ? scaled : d;                                                 \
    }                                                                                   \
  }                                                                                     \
                                                                                        \
  int dsrelu_forward_##NAME(const T *x, T *y, int64_t n, double s, int threads) {       \
    const T slope = (T)s;                                                               \
    int64_t chunks = (n + GRAIN - 1) / GRAIN;                                           \
    if (threads < 1) threads = 1;                                                       \
    _Pragma("omp parallel for schedule(static) num_threads(threads) if(chunks > 1)")   \
    for (int64_t c = 0; c < chunks; ++c) {                                              \
      int64_t lo = c * GRAIN;                                                           \
      int64_t len = n - lo < GRAIN ? n - lo : GRAIN;                                    \
      NAME##_forward_range(x + lo, y + lo, len, slope);                                 \
    }                                                                                   \
    return 0;                                                                           \
  }                                                                                     \
                                                                                        \
  int dsrelu_backward_##NAME(const T *y, const T *g, T *dx, int64_t n, double s,        \
                             int threads) {                                             \
    const T slope = (T)s;                                                               \
    int64_t chunks = (n + GRAIN - 1) / GRAIN;                                           \
    if (threads < 1) threads = 1;                                                       \
    _Pragma("omp parallel for schedule(static) num_threads(threads) if(chunks > 1)")   \
    for (int64_t c = 0; c < chunks; ++c) {                                              \
      int64_t lo = c * GRAIN;                                                           \
      int64_t len = n - lo < GRAIN ? n - lo : GRAIN;                                    \
      NAME##_backward_range(y + lo, g + lo, dx + lo, len, slope);                       \
    }                                                                                   \
    return 0;                                                                           \
  }

DEFINE_KERNELS(float, f32)
DEFINE_KERNELS(double, f64)
