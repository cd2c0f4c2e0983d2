/* Fused CPU loops for DSReLU: one pass forward, one pass backward.
 *
 * forward:  y = x > 0 ? s * x : x
 * backward: dx = y > 0 ? s * dy : dy   (the sign of x is read from the output y,
 *                                       which has the same sign because s > 0)
 *
 * Compiled with -fno-trapping-math so the select vectorises (no result changes).
 * Work is split into contiguous chunks over `threads` POSIX threads. The product is
 * one correctly rounded multiply in the element type, so results equal PyTorch's
 * `torch.where(x > 0, x * s, x)` bit for bit.
 */
#include <pthread.h>
#include <stdint.h>

#define MIN_CHUNK 32768
#define MAX_THREADS 64

#define DEFINE_KERNELS(T, NAME)                                                           \
  typedef struct {                                                                      \
    const T *a;                                                                         \
    const T *b;                                                                         \
    T *out;                                                                             \
    int64_t n;                                                                          \
    T s;                                                                                \
  } NAME##_job;                                                                         \
                                                                                        \
  static void *NAME##_forward_part(void *arg) {                                         \
    NAME##_job *job = (NAME##_job *)arg;                                                \
    const T *x = job->a;                                                       \
    T *y = job->out;                                                           \
    const T s = job->s;                                                                 \
    for (int64_t i = 0; i < job->n; ++i) {                                              \
      T v = x[i];                                                                       \
      T scaled = v * s;                                                                 \
      y[i] = v > (T)0 ? scaled : v;                                                     \
    }                                                                                   \
    return 0;                                                                           \
  }                                                                                     \
                                                                                        \
  static void *NAME##_backward_part(void *arg) {                                        \
    NAME##_job *job = (NAME##_job *)arg;                                                \
    const T *y = job->a;                                                       \
    const T *g = job->b;                                                       \
    T *dx = job->out;                                                          \
    const T s = job->s;                                                                 \
    for (int64_t i = 0; i < job->n; ++i) {                                              \
      T d = g[i];                                                                       \
      T scaled = d * s;                                                                 \
      dx[i] = y[i] > (T)0 ? scaled : d;                                                 \
    }                                                                                   \
    return 0;                                                                           \
  }                                                                                     \
                                                                                        \
  static int NAME##_run(void *(*part)(void *), const T *a, const T *b, T *out,          \
                        int64_t n, T s, int threads) {                                  \
    if (threads > MAX_THREADS) threads = MAX_THREADS;                                   \
    if (threads < 1 || n < 2 * MIN_CHUNK) threads = 1;                                  \
    if (threads > n / MIN_CHUNK) threads = (int)(n / MIN_CHUNK);                        \
    if (threads < 1) threads = 1;                                                       \
    NAME##_job jobs[MAX_THREADS];                                                       \
    pthread_t ids[MAX_THREADS];                                                         \
    int started[MAX_THREADS];                                                           \
    int64_t chunk = (n + threads - 1) / threads;                                        \
    chunk = (chunk + 15) & ~(int64_t)15;                                                \
    for (int t = 0; t < threads; ++t) {                                                 \
      int64_t lo = t * chunk;                                                           \
      int64_t hi = lo + chunk < n ? lo + chunk : n;                                     \
      jobs[t].a = a + lo;                                                               \
      jobs[t].b = b ? b + lo : 0;                                                       \
      jobs[t].out = out + lo;                                                           \
      jobs[t].n = hi > lo ? hi - lo : 0;                                                \
      jobs[t].s = s;                                                                    \
      started[t] = 0;                                                                   \
    }                                                                                   \
    for (int t = 1; t < threads; ++t)                                                   \
      started[t] = pthread_create(&ids[t], 0, part, &jobs[t]) == 0;                     \
    part(&jobs[0]);                                                                     \
    for (int t = 1; t < threads; ++t) {                                                 \
      if (started[t]) pthread_join(ids[t], 0);                                          \
      else part(&jobs[t]);                                                              \
    }                                                                                   \
    return 0;                                                                           \
  }                                                                                     \
                                                                                        \
  int dsrelu_forward_##NAME(const T *x, T *y, int64_t n, double s, int threads) {       \
    return NAME##_run(NAME##_forward_part, x, 0, y, n, (T)s, threads);                  \
  }                                                                                     \
                                                                                        \
  int dsrelu_backward_##NAME(const T *y, const T *g, T *dx, int64_t n, double s,        \
                             int threads) {                                             \
    return NAME##_run(NAME##_backward_part, y, g, dx, n, (T)s, threads);                \
  }

DEFINE_KERNELS(float, f32)
DEFINE_KERNELS(double, f64)
