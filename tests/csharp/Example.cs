// The README's C# example: a link, then a payment, failures as exceptions with their codes.
// Built against the Dajisaas package by tests/csharp/run.sh and run against the sandbox.
using System;
using Dajisaas;

public static class Example
{
    public static int Main()
    {
        using (var client = new Client(new ClientOptions {
            AppKey = Environment.GetEnvironmentVariable("DAJISAAS_APP_KEY"),
            AppSecret = Environment.GetEnvironmentVariable("DAJISAAS_APP_SECRET"),
            BaseUrl = Environment.GetEnvironmentVariable("DAJISAAS_BASE_URL"), // null: production
            TimeoutMs = 5000,
        }))
        {
            Console.WriteLine("pay here: " + client.PayUrl("2257455039610311973").Url);
            try
            {
                string payment = client.PreparePay("2257455039610311973"); // JSON
                Console.WriteLine("paid: " + payment);
                return 0;
            }
            catch (PaymentOutcomeUnknownException e)
            {
                // The money may have been taken: check the order before paying it again.
                Console.Error.WriteLine(e.Code + " " + e.Message + " traceId " + e.TraceId);
            }
            catch (DajisaasException e)
            {
                Console.Error.WriteLine(e.Code + ": " + e.Message);
            }
            return 1;
        }
    }
}
