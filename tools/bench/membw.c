/*
 * Memory bandwidth of this machine, the way LLM decoding uses it: every
 * thread streams through its share of a buffer far larger than the caches,
 * reading it once per pass (as each generated token reads every weight once).
 *
 *   read:  sum of 64-bit words (the decode pattern: weights are only read)
 *   copy:  memcpy, counted as bytes read + bytes written (STREAM convention)
 *
 * Each kernel runs PASSES times; the best pass is reported, as STREAM does,
 * because slower passes measure interference, not the memory.
 * Build and run: bash tools/bench/membw.sh [MiB] [threads]
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PASSES 10

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
  int threads = argc > 2 ? atoi(argv[2]) : omp_get_max_threads();
  omp_set_num_threads(threads);
  size_t bytes = mib << 20, words = bytes / sizeof(uint64_t);
  uint64_t *a = aligned_alloc(64, bytes), *b = aligned_alloc(64, bytes);
  if (!a || !b) return perror("alloc"), 1;
  /* First touch from the threads that will read, so pages land where they are used. */
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < words; i++) a[i] = i, b[i] = 0;

  double best_read = 1e9, best_copy = 1e9;
  volatile uint64_t sink = 0;
  for (int p = 0; p < PASSES; p++) {
    double t0 = now();
    uint64_t s = 0;
#pragma omp parallel for schedule(static) reduction(+ : s)
    for (size_t i = 0; i < words; i++) s += a[i];
    double t1 = now();
    sink += s;
    if (t1 - t0 < best_read) best_read = t1 - t0;

    t0 = now();
#pragma omp parallel
    {
      int n = omp_get_num_threads(), id = omp_get_thread_num();
      size_t chunk = (bytes + n - 1) / n, off = chunk * id;
      if (off < bytes) memcpy((char *)b + off, (char *)a + off, off + chunk > bytes ? bytes - off : chunk);
    }
    t1 = now();
    if (t1 - t0 < best_copy) best_copy = t1 - t0;
  }
  printf("buffer %zu MiB, %d threads, best of %d passes\n", mib, threads, PASSES);
  printf("read  %.2f GB/s\n", bytes / best_read / 1e9);
  printf("copy  %.2f GB/s (read + write)\n", 2.0 * bytes / best_copy / 1e9);
  return (int)(sink & 0); /* keeps the sum alive */
}
