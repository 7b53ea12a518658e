// The Dajisaas NuGet package's tests, run under mono against a sandbox by tests/csharp/run.sh,
// compiled against the Dajisaas.dll installed from the .nupkg: every function of the C library,
// Chinese text both ways, 32 threads at once, PayMany (progress, cancellation, a throwing
// callback), the journal, and errors with their fields.
// Usage: mono tests.exe SIGN_VECTORS.tsv VERSION   (DAJISAAS_APP_KEY/_SECRET/_BASE_URL set)
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Dajisaas;

public static class Tests
{
    private static int passed, failed;
    private static readonly string Key = Environment.GetEnvironmentVariable("DAJISAAS_APP_KEY");
    private static readonly string Secret = Environment.GetEnvironmentVariable("DAJISAAS_APP_SECRET");
    private static readonly string Url = Environment.GetEnvironmentVariable("DAJISAAS_BASE_URL");

    private static void Check(bool ok, string what)
    {
        if (ok) { passed++; } else { failed++; Console.Error.WriteLine("FAIL: " + what); }
    }

    private static T Throws<T>(Action call, string what) where T : Exception
    {
        try { call(); }
        catch (T e) { passed++; return e; }
        catch (Exception e) { failed++; Console.Error.WriteLine("FAIL: " + what + ": " + e.GetType().Name + " " + e.Message); return null; }
        failed++;
        Console.Error.WriteLine("FAIL: " + what + ": nothing thrown");
        return null;
    }

    private static int Count(string text, string what)
    {
        int n = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + 1, StringComparison.Ordinal)) n++;
        return n;
    }

    private static ClientOptions Options()
    {
        return new ClientOptions { AppKey = Key, AppSecret = Secret, BaseUrl = Url, TimeoutMs = 5000, BackoffBaseMs = 1, BackoffCapMs = 5 };
    }

    private static void Statics(string vectors, string version)
    {
        Check(Client.Version == version, "version " + Client.Version);
        foreach (Status status in Enum.GetValues(typeof(Status)))
        {
            string name = Client.StatusName(status);
            string want = status == Status.Ok ? "ok" : string.Concat(status.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
            Check(name == want, status + ": " + name);
        }
        // The shared signing vectors, Chinese and emoji among them: UTF-8 into the library.
        int n = 0;
        foreach (string line in File.ReadAllLines(vectors))
        {
            string[] f = line.Split('\t');
            if (f.Length != 3) continue;
            n++;
            Check(Client.Sign(f[0], f[1]) == f[2], "sign " + f[0]);
        }
        Check(n > 10, n + " vectors");
        InvalidArgumentException e = Throws<InvalidArgumentException>(() => Client.Sign("[1]", "s"), "sign of an array");
        Check(e != null && e.Code == "invalid_argument" && e.Status == Status.InvalidArgument && e.Attempts == 0 && e.TraceId == null, "sign error fields");
    }

    private static void Calls(Client client)
    {
        string config = client.ConfigJson();
        Check(config.Contains("\"timeout_ms\":5000") && config.Contains("\"journal_timeout_ms\":5000") && !config.Contains(Secret), "config " + config);

        PayLink link = client.PayUrl("2257455039610311973");
        Check(link.Url.EndsWith("orderId=2257455039610311973"), "url " + link.Url);
        Check(link.Json.Contains("\"trace_id\":\"") && link.Json.Contains("\"order_ids\":[\"2257455039610311973\"]"), "link json " + link.Json);
        string links = client.PayUrls(Enumerable.Range(0, 25).Select(i => (2257455039610312000L + i).ToString()), 10);
        Check(Count(links, "\"url\"") == 3, "3 batches: " + links);

        string payment = client.PreparePay("2257455039610312100");
        Check(payment.Contains("\"pay_channel\":\"alipay\"") && payment.Contains("\"replayed\":false"), "payment " + payment);
        Check(client.PreparePay("2257455039610312100").Contains("\"replayed\":true"), "paid again: replayed");

        // Chinese text out and back: the gateway's data as it wrote it, and an error message.
        string data = client.Request("POST", "/alibaba/order/preview", "{\"cargo\":[{\"offerId\":2257455039610311973}],\"memo\":\"备注：中文\"}");
        Check(data.Contains("\"offerId\":2257455039610311973"), "request " + data);
        InvalidArgumentException bad = Throws<InvalidArgumentException>(() => client.PreparePay("订单一"), "a Chinese order id");
        Check(bad != null && bad.Message.Contains("订单一"), "the message quotes the id: " + (bad == null ? "" : bad.Message));
    }

    private static void Errors(Client client)
    {
        PaymentDeclinedException declined = Throws<PaymentDeclinedException>(() => client.PreparePay("9000000000000000001"), "declined");
        Check(declined != null && declined.Code == "payment_declined" && declined.Status == Status.PaymentDeclined &&
              declined.Attempts == 4 && declined.HttpStatus == 200 && declined.TraceId != null && declined.ApiCode == null,
              "declined fields");
        RateLimitedException limited = Throws<RateLimitedException>(() => client.PreparePay("9005000000000000001"), "rate limited");
        Check(limited != null && limited.ApiCode == 429 && limited.Attempts == 4, "rate limited fields");
        HttpStatusException status = Throws<HttpStatusException>(() => client.PayUrl("9003000000000000002"), "5xx");
        Check(status != null && status.HttpStatus == 500 && status.TraceId == null, "5xx fields");
        OrderNotPayableException closed = Throws<OrderNotPayableException>(() => client.PreparePay("9015000000000000101"), "a closed order");
        Check(closed != null && closed.Code == "order_not_payable" && closed.Status == Status.OrderNotPayable &&
              closed.Attempts == 1 && closed.TraceId != null && closed.Message.Contains("ORDER_CLOSED"), "closed order fields");
        string elsewhere = client.PreparePay("9017000000000000101");
        Check(elsewhere.Contains("\"already_paid\":true"), "paid elsewhere: " + elsewhere);
        Check(declined is DajisaasException && !declined.ToString().Contains(Secret), "no secret in ToString");
        Throws<InvalidArgumentException>(() => new Client(new ClientOptions { AppKey = Key }), "no secret");
        InvalidArgumentException range = Throws<InvalidArgumentException>(() => new Client(new ClientOptions { AppKey = Key, AppSecret = Secret, MaxRetries = 9 }), "max_retries 9");
        Check(range != null && range.Message.Contains("max_retries"), "names the option");
    }

    private static void Threads(Client client)
    {
        int ok = 0;
        Thread[] threads = Enumerable.Range(0, 32).Select(i => new Thread(() =>
        {
            string payment = client.PreparePay((2257455039610313000L + i).ToString());
            if (payment.Contains("\"pay_channel\"")) Interlocked.Increment(ref ok);
        })).ToArray();
        foreach (Thread t in threads) t.Start();
        foreach (Thread t in threads) t.Join();
        Check(ok == 32, ok + " of 32 threads paid");
        Task<string>[] tasks = Enumerable.Range(0, 32).Select(i => client.PreparePayAsync((2257455039610314000L + i).ToString())).ToArray();
        Task.WaitAll(tasks);
        Check(tasks.All(t => t.Result.Contains("\"pay_channel\"")), "32 tasks paid");
    }

    private static void PayMany(Client client)
    {
        List<string> seen = new List<string>();
        int thread = Thread.CurrentThread.ManagedThreadId;
        bool otherThread = false;
        string report = client.PayMany(new[] { "2257455039610315001", "9000000000000000501", "2257455039610315001", "2257455039610315002" }, 2,
            json => { seen.Add(json); otherThread |= Thread.CurrentThread.ManagedThreadId != thread; });
        Check(seen.Count == 3 && !otherThread, seen.Count + " progress calls");
        Check(report.Contains("\"summary\":{\"paid\":2,\"declined\":1,"), "report " + report);
        Check(report.Contains("\"status\":8,\"trace_id\":") || report.Contains("\"code\":\"payment_declined\""), "error object " + report);

        // Cancelled at the 3rd order, one at a time: no further call, and the run ends early. The
        // results hold every order that finished, the one in flight at the stop included; an
        // order missing from them was never started.
        CancellationTokenSource cancel = new CancellationTokenSource();
        int calls = 0;
        string[] ids = Enumerable.Range(0, 200).Select(i => (2257455039610316000L + i).ToString()).ToArray();
        report = client.PayMany(ids, 1, json => { if (++calls == 3) cancel.Cancel(); }, cancel.Token);
        int results = Count(report, "\"outcome\"");
        int started = ids.Count(id => client.PaymentRecord(id) != null);
        Check(calls == 3, calls + " calls after the cancellation at the 3rd");
        Check(results >= 3 && started == results && started < 200,
              results + " results, " + started + " of 200 started");

        // An exception of the callback stops the run and comes back to the caller.
        AggregateException thrown = Throws<AggregateException>(() => client.PayMany(new[] { "2257455039610317001", "2257455039610317002" }, 1,
            json => { throw new InvalidOperationException("from the callback"); }), "a throwing callback");
        Check(thrown != null && thrown.InnerException is InvalidOperationException, "its exception");
        Check(client.PayManyAsync(new[] { "2257455039610317003" }).Result.Contains("\"paid\":1"), "PayManyAsync");
    }

    private static void Journal(string dir)
    {
        ClientOptions options = Options();
        options.Journal = "sqlite://" + Path.Combine(dir, "journal.db");
        options.TimeoutMs = 300;
        options.MaxRetries = 0;
        options.JournalTimeoutMs = 2000;
        using (Client client = new Client(options))
        {
            Check(client.ConfigJson().Contains("\"journal_timeout_ms\":2000"), "journal_timeout_ms");
            Check(client.PreparePay("2257455039610318001").Contains("\"pay_channel\""), "paid with the journal");
            string record = client.PaymentRecord("2257455039610318001");
            Check(record != null && record.Contains("\"state\":\"paid\""), "record " + record);
            Check(client.PaymentRecord("2257455039610318999") == null, "no record: null");
            Check(client.PaymentRecords("paid").Contains("2257455039610318001"), "records");
            // Deducted, then no answer in time: unknown; a person checks and records it.
            Throws<PaymentOutcomeUnknownException>(() => client.PreparePay("9002000000000000177"), "unknown outcome");
            Throws<PaymentOutcomeUnknownException>(() => client.PreparePay("9002000000000000177"), "not paid again");
            string resolved = client.ResolvePayment("9002000000000000177", true, "在 1688 上查过：已付");
            Check(resolved.Contains("\"state\":\"paid\"") && resolved.Contains("\"history\":[{") &&
                  resolved.Contains("\"from\":\"unknown\"") && resolved.Contains("在 1688 上查过：已付"), "resolved " + resolved);
            Check(client.PaymentRecordsAsync("unknown").Result == "[]", "none unknown left");
            Task<string> refused = client.ResolvePaymentAsync("not an id", true);
            Throws<AggregateException>(() => refused.Wait(), "an async failure");
            Check(refused.Exception.InnerException is InvalidArgumentException, "is the call's exception");
            Check(client.FlushJournal() == 0 && client.FlushJournalAsync(500).Result == 0, "nothing kept for the journal");
            Throws<InvalidArgumentException>(() => client.FlushJournal(50), "a flush timeout out of range");
        }
    }

    public static int Main(string[] args)
    {
        string dir = Path.Combine(Path.GetTempPath(), "dajisaas-cs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            Statics(args[0], args[1]);
            Client client = new Client(Options());
            using (client)
            {
                Calls(client);
                Errors(client);
                Threads(client);
                PayMany(client);
            }
            Throws<ObjectDisposedException>(() => client.PreparePay("2257455039610319001"), "a disposed client");
            Journal(dir);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
        Console.WriteLine(passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }
}
