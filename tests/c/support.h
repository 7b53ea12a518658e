/* What the C tests share: CHECK (counts passed and failed checks), env() (a variable the test
 * cannot run without), and sandbox_options() (the library's defaults with the sandbox's address
 * and credentials, as scripts/with-sandbox.sh sets them). */
#ifndef DAJISAAS_TEST_SUPPORT_H
#define DAJISAAS_TEST_SUPPORT_H
#include <stdio.h>
#include <stdlib.h>

#include "dajisaas.h"

static int passed, failed;

#define CHECK(cond, ...)                                                      \
  do {                                                                        \
    if (cond) {                                                               \
      passed++;                                                               \
    } else {                                                                  \
      failed++;                                                               \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
      fprintf(stderr, __VA_ARGS__);                                           \
      fputc('\n', stderr);                                                    \
    }                                                                         \
  } while (0)

static inline const char *env(const char *name) {
  const char *value = getenv(name);
  if (value == NULL) {
    fprintf(stderr, "missing environment variable %s (run through scripts/with-sandbox.sh)\n", name);
    exit(2);
  }
  return value;
}

/* Options with the library's defaults, the sandbox's address and key, and `secret`. */
static inline daji_client_options sandbox_options(const char *secret) {
  daji_client_options options;
  if (daji_client_options_init(&options, sizeof options) != DAJI_OK) {
    fprintf(stderr, "daji_client_options_init failed\n");
    exit(2);
  }
  options.app_key = env("DAJISAAS_APP_KEY");
  options.app_secret = secret;
  options.base_url = env("DAJISAAS_BASE_URL");
  options.backoff_base_ms = 1;
  options.backoff_cap_ms = 5;
  return options;
}
#endif
