/* bench-stats.h: what every benchmark program here needs: a monotonic clock, sorting samples
 * and printing their median, min, p90 and max on one line. Header-only; not a test. */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Microseconds on the monotonic clock. */
static inline double bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Milliseconds on the monotonic clock. */
static inline double bench_now_ms(void)
{
	return bench_now_us() / 1e3;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sorts the n samples of v, ascending. */
static inline void bench_sort(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
}

/* Sorts v and prints "WHAT median M UNIT min p90 max (n=N)" (the upper median for even n). */
static inline void bench_report(const char *what, const char *unit, double *v, int n)
{
	if (n <= 0)
		return;
	bench_sort(v, n);
	printf("%-44s median %8.2f %s   min %8.2f   p90 %8.2f   max %8.2f   (n=%d)\n", what,
	       v[n / 2], unit, v[0], v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1], v[n - 1], n);
}

#endif
