/*
 * cpubench: CPU-bound guest benchmark for Vireo.
 *
 * Runs inside the guest (static riscv64 binary in the initramfs, started
 * with `vireo.run=cpubench` on the kernel command line) and prints:
 *
 *   cpubench int <ms> ms checksum <hex>
 *   cpubench fp <ms> ms checksum <value>
 *   cpubench done
 *
 * Timing is taken inside the guest with clock_gettime(CLOCK_MONOTONIC), so it
 * measures guest-visible time (i.e. it depends on the VMM's timer being
 * right). The checksums are deterministic for a given binary, so they double
 * as a correctness check of the integer and FP emulation/virtualization.
 *
 * Work is sized for ~1-2 s per kernel under QEMU TCG (riscv64 on x86-64).
 * An optional argument scales the amount of work: `cpubench 0.1` is a quick
 * smoke run, `cpubench 4` a longer one (checksums depend on the scale).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>

/* Base repetition counts for scale 1.0 (tuned under QEMU TCG). */
#define INT_REPS 40
#define FP_REPS 20

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int reps_for(double scale, int base)
{
	int r = (int)(scale * base + 0.5);
	return r < 1 ? 1 : r;
}

/* ---------------------------------------------------------------- integer */

#define SIEVE_N 2000000
#define CRC_LEN (1 << 20)
#define IMAT_N 96

static uint8_t sieve_buf[SIEVE_N + 1];
static uint8_t crc_buf[CRC_LEN];
static uint32_t crc_table[256];
static uint32_t ia[IMAT_N][IMAT_N], ib[IMAT_N][IMAT_N], ic[IMAT_N][IMAT_N];

static uint32_t sieve(void)
{
	uint32_t count = 0, sum = 0;
	memset(sieve_buf, 1, sizeof(sieve_buf));
	sieve_buf[0] = sieve_buf[1] = 0;
	for (uint32_t i = 2; (uint64_t)i * i <= SIEVE_N; i++)
		if (sieve_buf[i])
			for (uint32_t j = i * i; j <= SIEVE_N; j += i)
				sieve_buf[j] = 0;
	for (uint32_t i = 0; i <= SIEVE_N; i++)
		if (sieve_buf[i]) {
			count++;
			sum += i;
		}
	return count ^ (sum * 2654435761u);
}

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_buf(const uint8_t *p, size_t n, uint32_t crc)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t crc_kernel(uint32_t seed)
{
	/* xorshift fill so the data differs per repetition */
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < CRC_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		crc_buf[i] = (uint8_t)x;
	}
	return crc32_buf(crc_buf, CRC_LEN, seed);
}

static uint32_t imatmul(uint32_t seed)
{
	for (int i = 0; i < IMAT_N; i++)
		for (int j = 0; j < IMAT_N; j++) {
			ia[i][j] = (uint32_t)(i * 31 + j * 17) ^ seed;
			ib[i][j] = (uint32_t)(i * 7 + j * 13 + 1) * (seed | 1);
		}
	for (int i = 0; i < IMAT_N; i++)
		for (int j = 0; j < IMAT_N; j++) {
			uint32_t s = 0;
			for (int k = 0; k < IMAT_N; k++)
				s += ia[i][k] * ib[k][j];
			ic[i][j] = s;
		}
	uint32_t h = 0;
	for (int i = 0; i < IMAT_N; i++)
		for (int j = 0; j < IMAT_N; j++)
			h = (h * 31) ^ ic[i][j];
	return h;
}

static uint32_t int_kernel(int reps)
{
	uint32_t ck = 0;
	crc_init();
	for (int r = 0; r < reps; r++) {
		ck = (ck << 5 | ck >> 27) ^ sieve();
		ck = (ck << 5 | ck >> 27) ^ crc_kernel((uint32_t)r + 1);
		ck = (ck << 5 | ck >> 27) ^ imatmul((uint32_t)r + 7);
	}
	return ck;
}

/* --------------------------------------------------------- floating point */

#define FMAT_N 96
#define NBODY 32
#define NBODY_STEPS 400

static double fa[FMAT_N][FMAT_N], fb[FMAT_N][FMAT_N], fc[FMAT_N][FMAT_N];

struct body {
	double x, y, z, vx, vy, vz, m;
};

static double fmatmul(int rep)
{
	for (int i = 0; i < FMAT_N; i++)
		for (int j = 0; j < FMAT_N; j++) {
			fa[i][j] = 1.0 / (double)(i + j + 1 + rep);
			fb[i][j] = (double)((i * 3 + j * 5 + rep) % 17) * 0.125 - 1.0;
		}
	for (int i = 0; i < FMAT_N; i++)
		for (int j = 0; j < FMAT_N; j++) {
			double s = 0.0;
			for (int k = 0; k < FMAT_N; k++)
				s += fa[i][k] * fb[k][j];
			fc[i][j] = s;
		}
	double t = 0.0;
	for (int i = 0; i < FMAT_N; i++)
		t += fc[i][i] + 0.5 * fc[i][FMAT_N - 1 - i];
	return t;
}

static double nbody(int rep)
{
	struct body b[NBODY];
	const double dt = 0.001, soft = 0.01;

	for (int i = 0; i < NBODY; i++) {
		double a = (double)i * 0.7 + rep;
		b[i].x = cos(a) * (1.0 + i * 0.05);
		b[i].y = sin(a) * (1.0 + i * 0.05);
		b[i].z = 0.01 * (i % 5);
		b[i].vx = -b[i].y * 0.3;
		b[i].vy = b[i].x * 0.3;
		b[i].vz = 0.0;
		b[i].m = 0.5 + 0.01 * i;
	}
	for (int s = 0; s < NBODY_STEPS; s++) {
		for (int i = 0; i < NBODY; i++) {
			double ax = 0, ay = 0, az = 0;
			for (int j = 0; j < NBODY; j++) {
				if (j == i)
					continue;
				double dx = b[j].x - b[i].x;
				double dy = b[j].y - b[i].y;
				double dz = b[j].z - b[i].z;
				double d2 = dx * dx + dy * dy + dz * dz + soft;
				double inv = 1.0 / (d2 * sqrt(d2));
				ax += dx * b[j].m * inv;
				ay += dy * b[j].m * inv;
				az += dz * b[j].m * inv;
			}
			b[i].vx += ax * dt;
			b[i].vy += ay * dt;
			b[i].vz += az * dt;
		}
		for (int i = 0; i < NBODY; i++) {
			b[i].x += b[i].vx * dt;
			b[i].y += b[i].vy * dt;
			b[i].z += b[i].vz * dt;
		}
	}
	double e = 0.0;
	for (int i = 0; i < NBODY; i++)
		e += 0.5 * b[i].m *
		     (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
	return e;
}

static double fp_kernel(int reps)
{
	double ck = 0.0;
	for (int r = 0; r < reps; r++) {
		ck += fmatmul(r);
		ck += nbody(r);
	}
	return ck;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	double scale = 1.0;
	if (argc > 1) {
		scale = strtod(argv[1], NULL);
		if (!(scale > 0.0)) {
			fprintf(stderr, "usage: %s [scale>0]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	double t0 = now_ms();
	uint32_t ick = int_kernel(reps_for(scale, INT_REPS));
	double t1 = now_ms();
	printf("cpubench int %.0f ms checksum %08x\n", t1 - t0, ick);

	t0 = now_ms();
	double fck = fp_kernel(reps_for(scale, FP_REPS));
	t1 = now_ms();
	printf("cpubench fp %.0f ms checksum %.12e\n", t1 - t0, fck);

	printf("cpubench done\n");
	return 0;
}
