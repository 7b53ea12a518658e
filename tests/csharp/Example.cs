// Gets a link and pays orders through the sandbox, and shows failures as exceptions with codes.
// Run: mcs -out:example.exe Dajisaas.cs Example.cs && LD_LIBRARY_PATH=<lib dir> mono example.exe
// with DAJISAAS_APP_KEY, DAJISAAS_APP_SECRET and DAJISAAS_BASE_URL set.
using System;
using Dajisaas;

public static class Example
{
    private static int passed, failed;

    private static void Check(bool ok, string what)
    {
        if (ok) { passed++; } else { failed++; Console.Error.WriteLine("FAIL: " + what); }
    }

    private static DajisaasException Failure(Action call)
    {
        try { call(); } catch (DajisaasException e) { return e; }
        return null;
    }

    public static int Main()
    {
        string key = Environment.GetEnvironmentVariable("DAJISAAS_APP_KEY");
        string secret = Environment.GetEnvironmentVariable("DAJISAAS_APP_SECRET");
        string url = Environment.GetEnvironmentVariable("DAJISAAS_BASE_URL");
        using (Client client = new Client(key, secret, url, 5000))
        {
            string link = client.PayUrl("2257455039610311973");
            Console.WriteLine("link: " + link);
            Check(link == "https://trade.1688.com/order/cashier.htm?orderId=2257455039610311973", "link");

            string paid = client.PreparePay("2257164624870311973");
            Console.WriteLine("paid: " + paid);
            Check(paid.Contains("\"payChannel\":\"alipay\""), "payment");

            DajisaasException declined = Failure(() => client.PreparePay("9000000000000000001"));
            Check(declined != null && declined.Code == "payment_declined" && declined.Attempts == 4
                  && declined.Status == Status.PaymentDeclined && declined.TraceId != null, "declined");
            if (declined != null) Console.WriteLine("declined: [" + declined.Code + "] " + declined.Message);

            DajisaasException unknown = Failure(() => client.PreparePay("9003000000000000001"));
            Check(unknown != null && unknown.Status == Status.PaymentOutcomeUnknown && unknown.HttpStatus == 500, "unknown outcome");

            DajisaasException invalid = Failure(() => client.PayUrl("12a"));
            Check(invalid != null && invalid.Code == "invalid_argument" && invalid.Message.Contains("digits"), "invalid id");

            string config = client.ConfigJson();
            Check(config.Contains("\"timeout_ms\":5000") && !config.Contains(secret), "config: " + config);
        }
        // The struct's layout, up to its last field: the options set reach the library.
        using (Client client = new Client(key, secret, url, null, OrderIdFormat.CommaSeparated, 2))
        {
            string config = client.ConfigJson();
            Check(config.Contains("\"order_id_format\":\"comma_separated\"")
                  && config.Contains("\"max_concurrent_batches\":2"), "options: " + config);
            Check(client.PayUrl("2257455039610311973", "2257455039610311974").StartsWith("https://cashier.alipay.com/"), "two orders");
        }
        DajisaasException badConfig = Failure(() => new Client("", "s"));
        Check(badConfig != null && badConfig.Status == Status.InvalidArgument, "bad configuration");

        Console.WriteLine(passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }
}
