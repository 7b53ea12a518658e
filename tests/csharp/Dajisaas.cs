// P/Invoke bindings of libdajisaas for .NET: a worked example as much as a test.
// Copy this file into a project, put libdajisaas.so (or dajisaas.dll) where the runtime finds
// native libraries, and use Dajisaas.Client. Strings cross the boundary as UTF-8.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Dajisaas
{
    /// <summary>The error codes shared by every language (daji_status in dajisaas.h).</summary>
    public enum Status
    {
        Ok = 0,
        InvalidArgument = 1,
        Connection = 2,
        Timeout = 3,
        HttpStatus = 4,
        Decode = 5,
        Api = 6,
        RateLimited = 7,
        PaymentDeclined = 8,
        PaymentOutcomeUnknown = 9,
        Internal = 10,
        PaymentInProgress = 11,
    }

    /// <summary>A failed call, with what the gateway and the library know about it.</summary>
    public class DajisaasException : Exception
    {
        public Status Status { get; private set; }
        /// <summary>The stable code name, e.g. "payment_declined".</summary>
        public string Code { get; private set; }
        public string TraceId { get; private set; }
        public long ApiCode { get; private set; }
        public int HttpStatus { get; private set; }
        public uint Attempts { get; private set; }

        internal DajisaasException(Status status, string code, string message, string traceId,
                                   long apiCode, int httpStatus, uint attempts)
            : base(message)
        {
            Status = status;
            Code = code;
            TraceId = traceId;
            ApiCode = apiCode;
            HttpStatus = httpStatus;
            Attempts = attempts;
        }
    }

    /// <summary>How order ids are sent (daji_order_id_format; a uint32_t field in C).</summary>
    public enum OrderIdFormat : uint
    {
        JsonArray = 0,
        CommaSeparated = 1,
    }

    /// <summary>daji_client_options, field for field. Filled by daji_client_options_init with
    /// its size, so that the library takes its defaults for any field added after this one.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct ClientOptions
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
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct ErrorInfo
    {
        public Status Status;
        public IntPtr Message;
        public IntPtr TraceId;
        public long ApiCode;
        public ushort HttpStatus;
        public uint Attempts;
    }

    /// <summary>Owns a daji_client; freed exactly once, even if Dispose is forgotten.</summary>
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

    internal static class Native
    {
        private const string Lib = "dajisaas";
        [DllImport(Lib)] internal static extern Status daji_client_options_init(ref ClientOptions options, UIntPtr size);
        [DllImport(Lib)] internal static extern Status daji_client_new(ref ClientOptions options, out ClientHandle client);
        [DllImport(Lib)] internal static extern void daji_client_free(IntPtr client);
        [DllImport(Lib)] internal static extern Status daji_client_config_json(ClientHandle client, out IntPtr json);
        [DllImport(Lib)] internal static extern Status daji_client_pay_url(ClientHandle client, IntPtr[] orderIds, UIntPtr count, out IntPtr url, IntPtr resultJson);
        [DllImport(Lib)] internal static extern Status daji_client_prepare_pay(ClientHandle client, IntPtr orderId, out IntPtr resultJson);
        [DllImport(Lib)] internal static extern Status daji_error_info_last(out ErrorInfo info);
        [DllImport(Lib)] internal static extern IntPtr daji_status_name(int status);
        [DllImport(Lib)] internal static extern void daji_string_free(IntPtr s);

        internal static IntPtr ToUtf8(string s)
        {
            if (s == null) return IntPtr.Zero;
            byte[] bytes = Encoding.UTF8.GetBytes(s);
            IntPtr p = Marshal.AllocHGlobal(bytes.Length + 1);
            Marshal.Copy(bytes, 0, p, bytes.Length);
            Marshal.WriteByte(p, bytes.Length, 0);
            return p;
        }

        internal static string FromUtf8(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            int length = 0;
            while (Marshal.ReadByte(p, length) != 0) length++;
            byte[] bytes = new byte[length];
            Marshal.Copy(p, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Takes a string the library returned: copies it, then frees it.</summary>
        internal static string Take(IntPtr p)
        {
            try { return FromUtf8(p); } finally { daji_string_free(p); }
        }

        internal static DajisaasException LastError(Status status)
        {
            ErrorInfo info;
            daji_error_info_last(out info);
            return new DajisaasException(status, FromUtf8(daji_status_name((int)status)),
                FromUtf8(info.Message), FromUtf8(info.TraceId), info.ApiCode, info.HttpStatus, info.Attempts);
        }
    }

    /// <summary>A client of the Dajisaas gateway. Thread-safe; dispose it when done.</summary>
    public sealed class Client : IDisposable
    {
        private readonly ClientHandle handle;

        /// <summary>A client; the options left null take the library's defaults.</summary>
        public Client(string appKey, string appSecret, string baseUrl = null, uint? timeoutMs = null,
                      OrderIdFormat? orderIdFormat = null, uint? maxConcurrentBatches = null)
        {
            ClientOptions options = new ClientOptions();
            Status status = Native.daji_client_options_init(ref options, (UIntPtr)Marshal.SizeOf(typeof(ClientOptions)));
            if (status != Status.Ok) throw Native.LastError(status);
            if (timeoutMs.HasValue) options.TimeoutMs = timeoutMs.Value;
            if (orderIdFormat.HasValue) options.OrderIdFormat = (uint)orderIdFormat.Value;
            if (maxConcurrentBatches.HasValue) options.MaxConcurrentBatches = maxConcurrentBatches.Value;
            options.AppKey = Native.ToUtf8(appKey);
            options.AppSecret = Native.ToUtf8(appSecret);
            options.BaseUrl = Native.ToUtf8(baseUrl);
            try
            {
                status = Native.daji_client_new(ref options, out handle);
                if (status != Status.Ok) throw Native.LastError(status);
            }
            finally
            {
                Marshal.FreeHGlobal(options.AppKey);
                Marshal.FreeHGlobal(options.AppSecret);
                Marshal.FreeHGlobal(options.BaseUrl);
            }
        }

        /// <summary>A cashier link for 1 to 30 orders.</summary>
        public string PayUrl(params string[] orderIds)
        {
            IntPtr[] ids = new IntPtr[orderIds.Length];
            try
            {
                for (int i = 0; i < ids.Length; i++) ids[i] = Native.ToUtf8(orderIds[i]);
                IntPtr url;
                Status status = Native.daji_client_pay_url(handle, ids, (UIntPtr)ids.Length, out url, IntPtr.Zero);
                if (status != Status.Ok) throw Native.LastError(status);
                return Native.Take(url);
            }
            finally
            {
                foreach (IntPtr p in ids) Marshal.FreeHGlobal(p);
            }
        }

        /// <summary>Pays an order; returns the result as JSON. A DajisaasException with
        /// Status.PaymentOutcomeUnknown means: check the order before paying again.</summary>
        public string PreparePay(string orderId)
        {
            IntPtr id = Native.ToUtf8(orderId);
            try
            {
                IntPtr json;
                Status status = Native.daji_client_prepare_pay(handle, id, out json);
                if (status != Status.Ok) throw Native.LastError(status);
                return Native.Take(json);
            }
            finally
            {
                Marshal.FreeHGlobal(id);
            }
        }

        /// <summary>The effective settings as JSON, defaults applied, without the secret.</summary>
        public string ConfigJson()
        {
            IntPtr json;
            Status status = Native.daji_client_config_json(handle, out json);
            if (status != Status.Ok) throw Native.LastError(status);
            return Native.Take(json);
        }

        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
