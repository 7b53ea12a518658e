// Dajisaas for .NET: the C library (libdajisaas, include/dajisaas.h) behind a SafeHandle client.
// Every function of the header is here; strings cross the boundary as UTF-8 both ways (copied by
// hand: .NET Framework has no Marshal.PtrToStringUTF8). Results are the C library's JSON text
// (snake_case keys, as dajisaas.h documents each one); failures are exceptions, one class per
// error code, with the same fields in every language.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Dajisaas
{
    /// <summary>The outcome of a call: daji_status, numbers fixed and never reused.</summary>
    public enum Status
    {
        /// <summary>Success.</summary>
        Ok = 0,
        /// <summary>Input or configuration rejected before anything was sent.</summary>
        InvalidArgument = 1,
        /// <summary>DNS, connect, TLS or connection-lost failure.</summary>
        Connection = 2,
        /// <summary>No answer within the timeout.</summary>
        Timeout = 3,
        /// <summary>A non-2xx HTTP answer without a usable envelope.</summary>
        HttpStatus = 4,
        /// <summary>The body is not a valid envelope.</summary>
        Decode = 5,
        /// <summary>The gateway refused the call.</summary>
        Api = 6,
        /// <summary>The gateway's call-frequency limit.</summary>
        RateLimited = 7,
        /// <summary>The deduction was not initiated, after every allowed attempt.</summary>
        PaymentDeclined = 8,
        /// <summary>The payment may or may not have happened: check the order first.</summary>
        PaymentOutcomeUnknown = 9,
        /// <summary>A bug: a caught panic or an impossible state.</summary>
        Internal = 10,
        /// <summary>Another process or machine sharing the journal is paying the order.</summary>
        PaymentInProgress = 11,
        /// <summary>The payment journal could not be opened, read or written in time; the
        /// message says whether anything was sent.</summary>
        Journal = 12,
        /// <summary>The order's state forbids payment (closed, cancelled, not found): nothing
        /// deducted, never retried.</summary>
        OrderNotPayable = 13,
    }

    /// <summary>How order ids are written on the wire (daji_order_id_format).</summary>
    public enum OrderIdFormat : uint
    {
        /// <summary><c>[1,2]</c>: what every official client sends (the default).</summary>
        JsonArray = 0,
        /// <summary><c>1,2</c>: the documented fallback.</summary>
        CommaSeparated = 1,
    }

    /// <summary>A failed call: the stable code, the message and, where known, the gateway's
    /// trace id, the envelope (api) code, the HTTP status and the attempts made. The secret is
    /// never part of it.</summary>
    public class DajisaasException : Exception
    {
        /// <summary>The daji_status number.</summary>
        public Status Status { get; private set; }
        /// <summary>The stable code name every language shows, such as "payment_declined".</summary>
        public string Code { get; private set; }
        /// <summary>The gateway's traceId, or null when no answer carried one.</summary>
        public string TraceId { get; private set; }
        /// <summary>The envelope code when the gateway refused the call, else null.</summary>
        public long? ApiCode { get; private set; }
        /// <summary>The HTTP status of the last answer, else null.</summary>
        public int? HttpStatus { get; private set; }
        /// <summary>Requests made (0 when rejected before sending).</summary>
        public int Attempts { get; private set; }

        /// <summary>Made by the library from daji_error_info_last.</summary>
        protected internal DajisaasException(Status status, string code, string message, string traceId,
            long? apiCode, int? httpStatus, int attempts) : base(message)
        {
            Status = status;
            Code = code;
            TraceId = traceId;
            ApiCode = apiCode;
            HttpStatus = httpStatus;
            Attempts = attempts;
        }
    }

    // One class per code, named after it; what they carry is DajisaasException's.
#pragma warning disable 1591
    public class InvalidArgumentException : DajisaasException { internal InvalidArgumentException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
    public class ConnectionException : DajisaasException { internal ConnectionException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
    public class TimeoutException : DajisaasException { internal TimeoutException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
    public class HttpStatusException : DajisaasException { internal HttpStatusException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
    public class DecodeException : DajisaasException { internal DecodeException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
    public class ApiException : DajisaasException { internal ApiException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
    public class RateLimitedException : DajisaasException { internal RateLimitedException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
    public class PaymentDeclinedException : DajisaasException { internal PaymentDeclinedException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
    public class PaymentOutcomeUnknownException : DajisaasException { internal PaymentOutcomeUnknownException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
    public class InternalException : DajisaasException { internal InternalException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
    public class PaymentInProgressException : DajisaasException { internal PaymentInProgressException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
    public class JournalException : DajisaasException { internal JournalException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
    public class OrderNotPayableException : DajisaasException { internal OrderNotPayableException(Status s, string c, string m, string t, long? a, int? h, int n) : base(s, c, m, t, a, h, n) { } }
#pragma warning restore 1591

    /// <summary>A client's settings. Unset ones take the library's defaults (read from the
    /// library at run time with daji_client_options_init). Only AppKey and AppSecret are
    /// required.</summary>
    public sealed class ClientOptions
    {
        /// <summary>App key (required).</summary>
        public string AppKey { get; set; }
        /// <summary>App secret (required). Never logged, never in an error message.</summary>
        public string AppSecret { get; set; }
        /// <summary>Gateway address; null for https://openapi.dajisaas.com.</summary>
        public string BaseUrl { get; set; }
        /// <summary>Total time of one request in milliseconds (default 30000).</summary>
        public uint? TimeoutMs { get; set; }
        /// <summary>Time to connect in milliseconds (default 10000).</summary>
        public uint? ConnectTimeoutMs { get; set; }
        /// <summary>Retries after a retryable failure, 0 to 3 (default 3).</summary>
        public uint? MaxRetries { get; set; }
        /// <summary>First backoff step in milliseconds (default 200).</summary>
        public uint? BackoffBaseMs { get; set; }
        /// <summary>Longest backoff in milliseconds (default 5000).</summary>
        public uint? BackoffCapMs { get; set; }
        /// <summary>How order ids are sent (default JsonArray).</summary>
        public OrderIdFormat? OrderIdFormat { get; set; }
        /// <summary>DEBUGGING ONLY: send the secret instead of a signature.</summary>
        public bool DangerouslySendAppSecretInsteadOfSign { get; set; }
        /// <summary>CA certificates (PEM) to trust besides the system's.</summary>
        public string RootCertificatesPem { get; set; }
        /// <summary>Link batches PayUrls fetches at once, 1 to 16 (default 4).</summary>
        public uint? MaxConcurrentBatches { get; set; }
        /// <summary>The payment journal: null or "memory", "sqlite:///abs/path.db" or
        /// "postgres://user@host:port/db".</summary>
        public string Journal { get; set; }
        /// <summary>Most connections open at once, 1 to 1024 (default 64).</summary>
        public uint? MaxConnections { get; set; }
        /// <summary>At most this many calls a second (default: no fixed limit).</summary>
        public uint? MaxCallsPerSecond { get; set; }
        /// <summary>The deadline of every journal operation in milliseconds, 100 to 60000
        /// (default 5000); past it a call throws JournalException.</summary>
        public uint? JournalTimeoutMs { get; set; }
    }

    /// <summary>A payment link: the URL and the link's JSON
    /// (<c>{"url","order_ids","trace_id","attempts","data"}</c>).</summary>
    public sealed class PayLink
    {
        internal PayLink(string url, string json) { Url = url; Json = json; }
        /// <summary>The cashier URL.</summary>
        public string Url { get; private set; }
        /// <summary>The link as JSON.</summary>
        public string Json { get; private set; }
    }

    /// <summary>Owns a daji_client: freed exactly once, after every call using it returned,
    /// even if Dispose is forgotten.</summary>
    internal sealed class ClientHandle : SafeHandle
    {
        private ClientHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle()
        {
            Native.daji_client_free(handle);
            return true;
        }
    }

    /// <summary>daji_client_options, field for field (natural C alignment).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeOptions
    {
        public uint StructSize;
        public IntPtr AppKey;
        public IntPtr AppSecret;
        public IntPtr BaseUrl;
        public uint TimeoutMs;
        public uint ConnectTimeoutMs;
        public uint MaxRetries;
        public uint BackoffBaseMs;
        public uint BackoffCapMs;
        public uint OrderIdFormat;
        public byte DangerouslySendAppSecretInsteadOfSign;
        public IntPtr RootCertificatesPem;
        public uint MaxConcurrentBatches;
        public IntPtr Journal;
        public uint MaxConnections;
        public uint MaxCallsPerSecond;
        public uint JournalTimeoutMs;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeErrorInfo
    {
        public int Status;
        public IntPtr Message;
        public IntPtr TraceId;
        public long ApiCode;
        public ushort HttpStatus;
        public uint Attempts;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate int ProgressFn(IntPtr resultJson, IntPtr userData);

    internal static class Native
    {
        private const string Lib = "dajisaas";
        [DllImport(Lib)] internal static extern IntPtr daji_version();
        [DllImport(Lib)] internal static extern IntPtr daji_status_name(int status);
        [DllImport(Lib)] internal static extern int daji_client_options_init(ref NativeOptions options, UIntPtr size);
        [DllImport(Lib)] internal static extern int daji_client_new(ref NativeOptions options, out ClientHandle client);
        [DllImport(Lib)] internal static extern void daji_client_free(IntPtr client);
        [DllImport(Lib)] internal static extern int daji_error_info_last(out NativeErrorInfo info);
        [DllImport(Lib)] internal static extern void daji_string_free(IntPtr s);
        [DllImport(Lib)] internal static extern int daji_sign(IntPtr paramsJson, IntPtr secret, out IntPtr signOut);
        [DllImport(Lib)] internal static extern int daji_client_config_json(ClientHandle client, out IntPtr jsonOut);
        [DllImport(Lib)] internal static extern int daji_client_pay_url(ClientHandle client, IntPtr[] orderIds, UIntPtr count, out IntPtr urlOut, out IntPtr resultJsonOut);
        [DllImport(Lib)] internal static extern int daji_client_pay_urls(ClientHandle client, IntPtr[] orderIds, UIntPtr count, UIntPtr batchSize, out IntPtr resultJsonOut);
        [DllImport(Lib)] internal static extern int daji_client_prepare_pay(ClientHandle client, IntPtr orderId, out IntPtr resultJsonOut);
        [DllImport(Lib)] internal static extern int daji_client_pay_many(ClientHandle client, IntPtr[] orderIds, UIntPtr count, uint concurrency, ProgressFn progress, IntPtr userData, out IntPtr resultJsonOut);
        [DllImport(Lib)] internal static extern int daji_client_payment_record(ClientHandle client, IntPtr orderId, out IntPtr recordJsonOut);
        [DllImport(Lib)] internal static extern int daji_client_payment_records(ClientHandle client, IntPtr state, out IntPtr recordsJsonOut);
        [DllImport(Lib)] internal static extern int daji_client_resolve_payment(ClientHandle client, IntPtr orderId, byte paid, IntPtr note, out IntPtr recordJsonOut);
        [DllImport(Lib)] internal static extern int daji_client_request(ClientHandle client, IntPtr method, IntPtr path, IntPtr paramsJson, out IntPtr dataJsonOut);
        [DllImport(Lib)] internal static extern int daji_client_flush_journal(ClientHandle client, uint timeoutMs, out UIntPtr keptOut);

        /// <summary>A NUL-terminated UTF-8 copy of s (IntPtr.Zero for null), freed by the
        /// Utf8Args that made it.</summary>
        internal static IntPtr ToUtf8(string s)
        {
            if (s == null) return IntPtr.Zero;
            byte[] bytes = Encoding.UTF8.GetBytes(s);
            IntPtr p = Marshal.AllocHGlobal(bytes.Length + 1);
            Marshal.Copy(bytes, 0, p, bytes.Length);
            Marshal.WriteByte(p, bytes.Length, 0);
            return p;
        }

        /// <summary>The NUL-terminated UTF-8 string at p (null for IntPtr.Zero), copied.</summary>
        internal static string FromUtf8(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            int length = 0;
            while (Marshal.ReadByte(p, length) != 0) length++;
            byte[] bytes = new byte[length];
            Marshal.Copy(p, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>A string the library handed over: copied, then freed.</summary>
        internal static string Take(IntPtr p)
        {
            try { return FromUtf8(p); } finally { daji_string_free(p); }
        }

        private delegate DajisaasException Make(Status s, string c, string m, string t, long? a, int? h, int n);

        // The exception class of each status: one row per code.
        private static readonly Dictionary<int, Make> Classes = new Dictionary<int, Make>
        {
            { 1, (s, c, m, t, a, h, n) => new InvalidArgumentException(s, c, m, t, a, h, n) },
            { 2, (s, c, m, t, a, h, n) => new ConnectionException(s, c, m, t, a, h, n) },
            { 3, (s, c, m, t, a, h, n) => new TimeoutException(s, c, m, t, a, h, n) },
            { 4, (s, c, m, t, a, h, n) => new HttpStatusException(s, c, m, t, a, h, n) },
            { 5, (s, c, m, t, a, h, n) => new DecodeException(s, c, m, t, a, h, n) },
            { 6, (s, c, m, t, a, h, n) => new ApiException(s, c, m, t, a, h, n) },
            { 7, (s, c, m, t, a, h, n) => new RateLimitedException(s, c, m, t, a, h, n) },
            { 8, (s, c, m, t, a, h, n) => new PaymentDeclinedException(s, c, m, t, a, h, n) },
            { 9, (s, c, m, t, a, h, n) => new PaymentOutcomeUnknownException(s, c, m, t, a, h, n) },
            { 10, (s, c, m, t, a, h, n) => new InternalException(s, c, m, t, a, h, n) },
            { 11, (s, c, m, t, a, h, n) => new PaymentInProgressException(s, c, m, t, a, h, n) },
            { 12, (s, c, m, t, a, h, n) => new JournalException(s, c, m, t, a, h, n) },
            { 13, (s, c, m, t, a, h, n) => new OrderNotPayableException(s, c, m, t, a, h, n) },
        };

        /// <summary>Throws the exception of the calling thread's last failure if status is one.
        /// Called right after the failing call, on the same thread.</summary>
        internal static void Check(int status)
        {
            if (status == 0) return;
            NativeErrorInfo info;
            daji_error_info_last(out info);
            Make make;
            if (!Classes.TryGetValue(status, out make))
                make = (s, c, m, t, a, h, n) => new DajisaasException(s, c, m, t, a, h, n);
            throw make((Status)status, FromUtf8(daji_status_name(status)), FromUtf8(info.Message),
                FromUtf8(info.TraceId), info.ApiCode == 0 ? (long?)null : info.ApiCode,
                info.HttpStatus == 0 ? (int?)null : info.HttpStatus, (int)info.Attempts);
        }
    }

    /// <summary>The UTF-8 copies of one call's strings, freed together when it returns.</summary>
    internal sealed class Utf8Args : IDisposable
    {
        private readonly List<IntPtr> owned = new List<IntPtr>();

        public IntPtr Text(string s)
        {
            IntPtr p = Native.ToUtf8(s);
            if (p != IntPtr.Zero) owned.Add(p);
            return p;
        }

        /// <summary>An array of C strings; a null id stays NULL (the library refuses it).</summary>
        public IntPtr[] Texts(IEnumerable<string> items)
        {
            if (items == null) throw new ArgumentNullException("orderIds");
            List<IntPtr> pointers = new List<IntPtr>();
            foreach (string item in items) pointers.Add(Text(item));
            return pointers.ToArray();
        }

        public void Dispose()
        {
            foreach (IntPtr p in owned) Marshal.FreeHGlobal(p);
            owned.Clear();
        }
    }

    /// <summary>A client of the Dajisaas gateway. One client may be used by many threads at
    /// once; each call blocks its thread until the gateway answers (the ...Async methods run it on
    /// the thread pool). Dispose it when done.</summary>
    public sealed class Client : IDisposable
    {
        private readonly ClientHandle handle;

        /// <summary>A client with these settings; bad settings throw InvalidArgumentException
        /// naming the option.</summary>
        public Client(ClientOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            NativeOptions o = new NativeOptions();
            Native.Check(Native.daji_client_options_init(ref o, (UIntPtr)Marshal.SizeOf(typeof(NativeOptions))));
            using (Utf8Args a = new Utf8Args())
            {
                o.AppKey = a.Text(options.AppKey);
                o.AppSecret = a.Text(options.AppSecret);
                o.BaseUrl = a.Text(options.BaseUrl);
                o.RootCertificatesPem = a.Text(options.RootCertificatesPem);
                o.Journal = a.Text(options.Journal);
                o.TimeoutMs = options.TimeoutMs ?? o.TimeoutMs;
                o.ConnectTimeoutMs = options.ConnectTimeoutMs ?? o.ConnectTimeoutMs;
                o.MaxRetries = options.MaxRetries ?? o.MaxRetries;
                o.BackoffBaseMs = options.BackoffBaseMs ?? o.BackoffBaseMs;
                o.BackoffCapMs = options.BackoffCapMs ?? o.BackoffCapMs;
                o.OrderIdFormat = options.OrderIdFormat.HasValue ? (uint)options.OrderIdFormat.Value : o.OrderIdFormat;
                o.DangerouslySendAppSecretInsteadOfSign = (byte)(options.DangerouslySendAppSecretInsteadOfSign ? 1 : 0);
                o.MaxConcurrentBatches = options.MaxConcurrentBatches ?? o.MaxConcurrentBatches;
                o.MaxConnections = options.MaxConnections ?? o.MaxConnections;
                o.MaxCallsPerSecond = options.MaxCallsPerSecond ?? o.MaxCallsPerSecond;
                o.JournalTimeoutMs = options.JournalTimeoutMs ?? o.JournalTimeoutMs;
                Native.Check(Native.daji_client_new(ref o, out handle));
            }
        }

        /// <summary>A client with credentials and, optionally, the gateway's address.</summary>
        public Client(string appKey, string appSecret, string baseUrl = null)
            : this(new ClientOptions { AppKey = appKey, AppSecret = appSecret, BaseUrl = baseUrl }) { }

        /// <summary>The library's version, such as "0.1.0".</summary>
        public static string Version { get { return Native.FromUtf8(Native.daji_version()); } }

        /// <summary>The stable name of a status, such as "payment_declined".</summary>
        public static string StatusName(Status status) { return Native.FromUtf8(Native.daji_status_name((int)status)); }

        /// <summary>The signature of a JSON object of request parameters: 32 uppercase hex digits.</summary>
        public static string Sign(string paramsJson, string secret)
        {
            using (Utf8Args a = new Utf8Args())
            {
                IntPtr sign;
                Native.Check(Native.daji_sign(a.Text(paramsJson), a.Text(secret), out sign));
                return Native.Take(sign);
            }
        }

        /// <summary>The effective settings as JSON, without the secret.</summary>
        public string ConfigJson()
        {
            IntPtr json;
            Native.Check(Native.daji_client_config_json(handle, out json));
            return Native.Take(json);
        }

        /// <summary>A cashier link for 1 to 30 distinct orders.</summary>
        public PayLink PayUrl(params string[] orderIds)
        {
            using (Utf8Args a = new Utf8Args())
            {
                IntPtr[] ids = a.Texts(orderIds);
                IntPtr url, json;
                Native.Check(Native.daji_client_pay_url(handle, ids, (UIntPtr)ids.Length, out url, out json));
                string text = Native.Take(json);
                return new PayLink(Native.Take(url), text);
            }
        }

        /// <summary>Links for any number of orders, in batches of batchSize (1 to 30), as a JSON
        /// array of links.</summary>
        public string PayUrls(IEnumerable<string> orderIds, int batchSize = 10)
        {
            if (batchSize < 0) throw new ArgumentOutOfRangeException("batchSize");
            using (Utf8Args a = new Utf8Args())
            {
                IntPtr[] ids = a.Texts(orderIds);
                IntPtr json;
                Native.Check(Native.daji_client_pay_urls(handle, ids, (UIntPtr)ids.Length, (UIntPtr)batchSize, out json));
                return Native.Take(json);
            }
        }

        /// <summary>Pays one order without the buyer's password; returns the payment as JSON
        /// (<c>{"order_id","pay_channel","attempts","trace_id","replayed","already_paid","data"}</c>).
        /// PaymentOutcomeUnknownException means the money may have been taken: check the order
        /// before paying it again.</summary>
        public string PreparePay(string orderId)
        {
            using (Utf8Args a = new Utf8Args())
            {
                IntPtr json;
                Native.Check(Native.daji_client_prepare_pay(handle, a.Text(orderId), out json));
                return Native.Take(json);
            }
        }

        /// <summary>Pays many orders, at most concurrency at a time (0: the default, 4). Returns
        /// <c>{"results":[...],"summary":{...}}</c> as JSON. onProgress (optional) gets each
        /// order's result JSON as it finishes, on this thread. Cancelling the token (or an
        /// exception of onProgress, rethrown here) stops the run: onProgress is not called again,
        /// no further order starts, payments not yet sent are dropped, those that may have been
        /// sent run to their recorded outcome; the results hold every order that finished.</summary>
        public string PayMany(IEnumerable<string> orderIds, int concurrency = 0,
            Action<string> onProgress = null, CancellationToken cancel = default(CancellationToken))
        {
            if (concurrency < 0) throw new ArgumentOutOfRangeException("concurrency");
            Exception thrown = null;
            // Called by the library on this thread; nothing may propagate into it.
            ProgressFn progress = (resultJson, userData) =>
            {
                if (thrown != null) return 1;
                try
                {
                    if (onProgress != null) onProgress(Native.FromUtf8(resultJson));
                }
                catch (Exception e)
                {
                    thrown = e;
                    return 1;
                }
                return cancel.IsCancellationRequested ? 1 : 0;
            };
            using (Utf8Args a = new Utf8Args())
            {
                IntPtr[] ids = a.Texts(orderIds);
                IntPtr json;
                int status = Native.daji_client_pay_many(handle, ids, (UIntPtr)ids.Length, (uint)concurrency, progress, IntPtr.Zero, out json);
                GC.KeepAlive(progress);
                Native.Check(status);
                string report = Native.Take(json);
                if (thrown != null) throw new AggregateException("onProgress threw; the run was stopped", thrown);
                return report;
            }
        }

        /// <summary>The journal's record of an order as JSON, or null when it has none.</summary>
        public string PaymentRecord(string orderId)
        {
            using (Utf8Args a = new Utf8Args())
            {
                IntPtr json;
                Native.Check(Native.daji_client_payment_record(handle, a.Text(orderId), out json));
                return Native.Take(json);
            }
        }

        /// <summary>The journal's records as a JSON array: all, or those in state ("in_flight",
        /// "paid", "declined", "unknown", "not_paid").</summary>
        public string PaymentRecords(string state = null)
        {
            using (Utf8Args a = new Utf8Args())
            {
                IntPtr json;
                Native.Check(Native.daji_client_payment_records(handle, a.Text(state), out json));
                return Native.Take(json);
            }
        }

        /// <summary>Records what a person found for an order (an unknown outcome either way, a
        /// correction of paid and not_paid, declined to paid, paid for an order with no record);
        /// note (at most 4096 bytes) goes into the record's history. Returns the record as
        /// JSON.</summary>
        public string ResolvePayment(string orderId, bool paid, string note = null)
        {
            using (Utf8Args a = new Utf8Args())
            {
                IntPtr json;
                Native.Check(Native.daji_client_resolve_payment(handle, a.Text(orderId), (byte)(paid ? 1 : 0), a.Text(note), out json));
                return Native.Take(json);
            }
        }

        /// <summary>Any other endpoint, signed: method "GET" or "POST", paramsJson a JSON object or
        /// null. Returns the envelope's data as JSON, as the gateway wrote it.</summary>
        public string Request(string method, string path, string paramsJson = null)
        {
            using (Utf8Args a = new Utf8Args())
            {
                IntPtr json;
                Native.Check(Native.daji_client_request(handle, a.Text(method), a.Text(path), a.Text(paramsJson), out json));
                return Native.Take(json);
            }
        }

        // The awaitable twins: each runs the blocking call on the thread pool (the library's own
        // I/O threads do the work; the pool thread waits).
#pragma warning disable 1591
        public Task<PayLink> PayUrlAsync(params string[] orderIds) { return Task.Run(() => PayUrl(orderIds)); }
        public Task<string> PayUrlsAsync(IEnumerable<string> orderIds, int batchSize = 10) { return Task.Run(() => PayUrls(orderIds, batchSize)); }
        public Task<string> PreparePayAsync(string orderId) { return Task.Run(() => PreparePay(orderId)); }
        public Task<string> PayManyAsync(IEnumerable<string> orderIds, int concurrency = 0, Action<string> onProgress = null, CancellationToken cancel = default(CancellationToken)) { return Task.Run(() => PayMany(orderIds, concurrency, onProgress, cancel)); }
        public Task<string> PaymentRecordAsync(string orderId) { return Task.Run(() => PaymentRecord(orderId)); }
        public Task<string> PaymentRecordsAsync(string state = null) { return Task.Run(() => PaymentRecords(state)); }
        public Task<string> ResolvePaymentAsync(string orderId, bool paid, string note = null) { return Task.Run(() => ResolvePayment(orderId, paid, note)); }
        public Task<string> RequestAsync(string method, string path, string paramsJson = null) { return Task.Run(() => Request(method, path, paramsJson)); }
        public Task<long> FlushJournalAsync(uint timeoutMs = 0) { return Task.Run(() => FlushJournal(timeoutMs)); }
#pragma warning restore 1591

        /// <summary>Writes the payment outcomes this process keeps because the journal could not
        /// take them when their payments ended (a restart, a cut connection, a lock held too
        /// long), waiting at most timeoutMs (100 to 60000; 0: JournalTimeoutMs). Returns how many
        /// are still kept: a process that exits loses them, and those orders turn unknown once
        /// their claims expire. Dispose does this too.</summary>
        public long FlushJournal(uint timeoutMs = 0)
        {
            UIntPtr kept;
            Native.Check(Native.daji_client_flush_journal(handle, timeoutMs, out kept));
            return (long)kept.ToUInt64();
        }

        /// <summary>Frees the client once every call using it has returned, after writing the
        /// payment outcomes kept for its journal (see FlushJournal; at most
        /// JournalTimeoutMs).</summary>
        public void Dispose() { handle.Dispose(); }
    }
}
