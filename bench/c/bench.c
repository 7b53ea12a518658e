/* Per-call cost of daji_client_pay_url from C: bench.c CALLS ROUNDS, with DAJISAAS_* set. Prints two
 * JSON lines, wall time and this process's CPU time (the core's threads included) per call, each
 * the median of the rounds; bench/report.py compares them with the Rust core's.
 * bench.c --clients N: creates HTTPS clients for bench/clients.py, which counts the files they
 * open (prints start, first, later, each time waiting for a line on stdin, then the times). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <dajisaas.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* CPU time (user + system) this process has used so far, every thread included. */
static double cpu_us(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
         (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void step(const char *name) {
  char line[16];
  printf("%s\n", name);
  fflush(stdout);
  if (fgets(line, sizeof line, stdin) == NULL) exit(1);
}

static daji_client *new_https_client(void) {
  daji_client_options options;
  daji_client_options_init(&options, sizeof options);
  options.app_key = "bench-key";
  options.app_secret = "bench-secret";
  options.base_url = "https://openapi.dajisaas.com";
  daji_client *client = NULL;
  if (daji_client_new(&options, &client) != DAJI_OK) exit(1);
  return client;
}

static int create_clients(int n) {
  daji_client *later[256];
  if (n > 256) n = 256;
  step("start");
  double start = now_us();
  daji_client *first = new_https_client();
  double first_us = now_us() - start;
  step("first");
  start = now_us();
  for (int i = 0; i < n; i++) later[i] = new_https_client();
  double later_us = (now_us() - start) / n;
  step("later");
  for (int i = 0; i < n; i++) daji_client_free(later[i]);
  daji_client_free(first);
  printf("{\"first_us\":%.1f,\"later_us\":%.1f}\n", first_us, later_us);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--clients") == 0) return create_clients(atoi(argv[2]));
  if (argc != 3) {
    fprintf(stderr, "usage: %s CALLS ROUNDS\n", argv[0]);
    return 2;
  }
  int calls = atoi(argv[1]), rounds = atoi(argv[2]);
  daji_client_options options;
  daji_client_options_init(&options, sizeof options);
  options.app_key = getenv("DAJISAAS_APP_KEY");
  options.app_secret = getenv("DAJISAAS_APP_SECRET");
  options.base_url = getenv("DAJISAAS_BASE_URL");
  daji_client *client = NULL;
  if (daji_client_new(&options, &client) != DAJI_OK) return 1;
  const char *ids[] = {"2257455039610311973"};
  double per_call[64], cpu_per_call[64];
  if (rounds > 64) rounds = 64;
  for (int r = -1; r < rounds; r++) { /* round -1 warms up */
    double start = now_us(), cpu = cpu_us();
    for (int i = 0; i < calls; i++) {
      char *url = NULL;
      if (daji_client_pay_url(client, ids, 1, &url, NULL) != DAJI_OK) return 1;
      daji_string_free(url);
    }
    if (r >= 0) {
      per_call[r] = (now_us() - start) / calls;
      cpu_per_call[r] = (cpu_us() - cpu) / calls;
    }
  }
  qsort(per_call, (size_t)rounds, sizeof per_call[0], compare);
  qsort(cpu_per_call, (size_t)rounds, sizeof cpu_per_call[0], compare);
  printf("{\"figure\":\"c_pay_url_us\",\"value\":%.3f,\"unit\":\"µs/call\"}\n", per_call[rounds / 2]);
  printf("{\"figure\":\"c_pay_url_cpu_us\",\"value\":%.3f,\"unit\":\"µs CPU/call (client process)\"}\n",
         cpu_per_call[rounds / 2]);
  daji_client_free(client);
  return 0;
}
