/*
 * One Adam step with L2 decay (lib/model/parallel/host-adam.ts) on floats: the same operations
 * in double precision in the same order as its JavaScript loop, so the same bits.
 */
#ifndef ADAM_H
#define ADAM_H
#include <stdint.h>

typedef struct {
  const float *x, *grad;
  float *m, *v, *out; /* out may be x */
  double decay, beta1, beta2, epsilon, step_size, correction2;
} adam_job;

void adam_update(const adam_job *job, int64_t from, int64_t to);
#endif
