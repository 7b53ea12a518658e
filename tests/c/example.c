/* Get a payment link and pay an order from C. Shown in the README; the test command builds it
 * with `cc example.c $(pkg-config --cflags --libs dajisaas)` and runs it against the sandbox. */
#include <stdio.h>
#include <stdlib.h>

#include <dajisaas.h>

int main(void) {
  daji_client_options options;
  daji_client_options_init(&options, sizeof options); /* the library's defaults */
  options.app_key = getenv("DAJISAAS_APP_KEY");
  options.app_secret = getenv("DAJISAAS_APP_SECRET");
  options.base_url = getenv("DAJISAAS_BASE_URL"); /* NULL: the production gateway */

  daji_client *client = NULL;
  daji_error_info error;
  if (daji_client_new(&options, &client) != DAJI_OK) {
    daji_error_info_last(&error);
    fprintf(stderr, "bad settings: %s\n", error.message);
    return 1;
  }

  const char *orders[] = {"2257455039610311973"};
  char *url = NULL;
  if (daji_client_pay_url(client, orders, 1, &url, NULL) == DAJI_OK) {
    printf("pay here: %s\n", url);
    daji_string_free(url);
  }

  daji_status status = daji_client_prepare_pay(client, "2257455039610311973", NULL);
  if (status == DAJI_OK) {
    printf("paid\n");
  } else {
    daji_error_info_last(&error);
    fprintf(stderr, "%s: %s (trace_id %s, %u attempts)\n", daji_status_name(status), error.message,
            error.trace_id ? error.trace_id : "-", error.attempts);
    if (status == DAJI_PAYMENT_OUTCOME_UNKNOWN) fprintf(stderr, "check the order before paying again\n");
  }
  /* Outcomes the journal could not take yet are written before the program ends. */
  size_t kept = 0;
  if (daji_client_flush_journal(client, 0, &kept) == DAJI_OK && kept > 0) {
    fprintf(stderr, "%zu payment outcome(s) are not in the journal: check those orders\n", kept);
  }
  daji_client_free(client);
  return status == DAJI_OK ? 0 : 1;
}
