/* Compiled by the test command as C89 and as C++98, each with -pedantic -Wall -Wextra -Werror:
 * the header must be plain enough for any compiler a C or C++ project still uses. It names every
 * type, constant and function of the header. */
#include <dajisaas.h>

int main(void) {
  daji_client_options options;
  daji_error_info info;
  daji_client *client = 0;
  daji_pay_many_progress_fn progress = 0;
  daji_order_id_format format = DAJI_ORDER_IDS_COMMA_SEPARATED;
  daji_status status = DAJI_PAYMENT_IN_PROGRESS;
  char *text = 0;
  const char *ids[1];
  ids[0] = "1";
  (void)format;
  (void)progress;
  (void)status;
  if (daji_client_options_init(&options, sizeof options) != DAJI_OK) return 1;
  if (daji_client_new(&options, &client) == DAJI_OK) {
    daji_client_config_json(client, &text);
    daji_client_pay_url(client, ids, 1, &text, 0);
    daji_client_pay_urls(client, ids, 1, 10, &text);
    daji_client_prepare_pay(client, ids[0], 0);
    daji_client_pay_many(client, ids, 1, 0, progress, 0, &text);
    daji_client_payment_record(client, ids[0], &text);
    daji_client_payment_records(client, 0, &text);
    daji_client_resolve_payment(client, ids[0], 1, 0, 0);
    daji_client_request(client, "GET", "/", 0, &text);
    daji_client_flush_journal(client, 0, 0);
    daji_client_free(client);
  }
  daji_sign("{}", "s", &text);
  daji_string_free(text);
  daji_error_info_last(&info);
  return daji_status_name(info.status)[0] == 0 || daji_version()[0] == 0 ||
         DAJI_VERSION_MAJOR < 0;
}
