#include <math.h>
#include "adam.h"

void adam_update(const adam_job *job, int64_t from, int64_t to) {
  const double decay = job->decay, beta1 = job->beta1, beta2 = job->beta2, epsilon = job->epsilon;
  const double step_size = job->step_size, correction2 = job->correction2;
  for (int64_t i = from; i < to; i++) {
    const double xi = job->x[i];
    const double g = job->grad[i] + decay * xi;
    const float mi = (float)(beta1 * job->m[i] + (1 - beta1) * g);
    const float vi = (float)(beta2 * job->v[i] + (1 - beta2) * g * g);
    job->m[i] = mi;
    job->v[i] = vi;
    job->out[i] = (float)(xi - (mi / (sqrt(vi) / correction2 + epsilon)) * step_size);
  }
}
