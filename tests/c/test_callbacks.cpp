// daji_client_pay_many from C++: a noexcept progress callback (what the header asks of C++
// callers: no exception may leave a callback), and one that stops the run after 3 orders.
// Run against a sandbox (scripts/with-sandbox.sh).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <dajisaas.h>

static int failures = 0;
#define CHECK(cond, ...)                                           \
  do {                                                             \
    if (!(cond)) {                                                 \
      failures++;                                                  \
      std::fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                           \
      std::fputc('\n', stderr);                                    \
    }                                                              \
  } while (0)

struct Seen {
  std::vector<std::string> items;
  std::size_t stop_after;  // 0: never stop
};

// noexcept: whatever it calls may throw (push_back can throw std::bad_alloc), so it catches
// inside and stops the run instead of letting an exception reach the library.
static int on_item(const char *result_json, void *user_data) noexcept {
  Seen *seen = static_cast<Seen *>(user_data);
  try {
    seen->items.push_back(result_json);
  } catch (...) {
    return 1;
  }
  return seen->stop_after != 0 && seen->items.size() >= seen->stop_after ? 1 : 0;
}
static_assert(noexcept(on_item(nullptr, nullptr)), "the callback is noexcept");

static std::size_t count(const std::string &text, const std::string &what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) n++;
  return n;
}

static std::vector<std::string> orders(unsigned first, unsigned n) {
  std::vector<std::string> ids;
  for (unsigned i = 0; i < n; i++) ids.push_back("22574550396103" + std::to_string(first + i));
  return ids;
}

static std::string pay_many(daji_client *client, const std::vector<std::string> &ids, unsigned concurrency,
                            Seen *seen) {
  std::vector<const char *> pointers;
  for (const std::string &id : ids) pointers.push_back(id.c_str());
  char *json = nullptr;
  daji_status status =
      daji_client_pay_many(client, pointers.data(), pointers.size(), concurrency, on_item, seen, &json);
  daji_error_info info;
  daji_error_info_last(&info);
  CHECK(status == DAJI_OK, "pay_many: %s", info.message);
  std::string result = json ? json : "";
  daji_string_free(json);
  return result;
}

int main() {
  daji_client_options options;
  daji_client_options_init(&options, sizeof options);
  options.app_key = std::getenv("DAJISAAS_APP_KEY");
  options.app_secret = std::getenv("DAJISAAS_APP_SECRET");
  options.base_url = std::getenv("DAJISAAS_BASE_URL");
  daji_client *client = nullptr;
  if (daji_client_new(&options, &client) != DAJI_OK) return 2;

  // Every order reported once, through the noexcept callback.
  Seen all{{}, 0};
  std::string report = pay_many(client, orders(10001, 6), 3, &all);
  CHECK(all.items.size() == 6, "%zu items", all.items.size());
  CHECK(report.find("\"summary\":{\"paid\":6,") != std::string::npos, "%s", report.c_str());

  // Stopped at the 3rd order, one at a time: the callback is not called again, the run ends
  // early, and the results hold every order that finished, the one in flight at the stop
  // included; an order missing from them was never started (no journal record).
  Seen three{{}, 3};
  std::vector<std::string> ids = orders(20001, 200);
  report = pay_many(client, ids, 1, &three);
  std::size_t results = count(report, "\"outcome\"");
  CHECK(three.items.size() == 3, "%zu calls after the stop", three.items.size());
  CHECK(results >= 3 && results == count(report, "\"paid\",\"payment\""), "%s", report.c_str());
  std::size_t started = 0;
  for (const std::string &id : ids) {
    char *record = nullptr;
    CHECK(daji_client_payment_record(client, id.c_str(), &record) == DAJI_OK, "record");
    if (record != nullptr) started++;
    daji_string_free(record);
  }
  CHECK(started == results && started < ids.size(),
        "%zu results, %zu of %zu orders started", results, started, ids.size());

  daji_client_free(client);
  std::printf("C++ callbacks: a noexcept callback saw %zu orders; the run stopped at the 3rd with %zu results,"
              " %zu of %zu orders started: %s\n",
              all.items.size(), results, started, ids.size(), failures == 0 ? "ok" : "FAILED");
  return failures != 0;
}
