using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests.Support;

/// <summary>
/// A stand-in for the front-end's blob route on loopback (issue 15): serves named byte arrays with ranges, checks the
/// bearer secret, and can misbehave on purpose: break the first response off half-way, or corrupt it.
/// </summary>
internal sealed class BlobServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Dictionary<string, byte[]> _blobs = [];
    public int BreakFirst { get; set; }
    public int CorruptFirst { get; set; }
    public int Requests { get; private set; }
    public List<long?> RangeStarts { get; } = [];
    public string Url { get; }

    private BlobServer(WebApplication app, string url) { _app = app; Url = url; }

    public static async Task<BlobServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        BlobServer? self = null;
        app.MapGet("/blobs/{sha}", async (string sha, HttpContext http) =>
        {
            var me = self!;
            lock (me) me.Requests++;
            // As the front-end checks it (issue 20): a proof of the host's secret for this host and blob, never the secret itself.
            var auth = http.Request.Headers.Authorization.ToString();
            var scheme = Virtuoso.Contracts.Agent.HostProof.Scheme + " ";
            if (!auth.StartsWith(scheme, StringComparison.Ordinal) || !Virtuoso.Contracts.Agent.HostProof.Verify(auth[scheme.Length..], AgentFactory.Secret, "test-host", sha, DateTimeOffset.UtcNow))
            { http.Response.StatusCode = 401; return; }
            if (!me._blobs.TryGetValue(sha, out var bytes)) { http.Response.StatusCode = 404; return; }
            var from = http.Request.GetTypedHeaders().Range?.Ranges.First().From ?? 0;
            me.RangeStarts.Add(http.Request.GetTypedHeaders().Range?.Ranges.First().From);
            http.Response.StatusCode = from > 0 ? 206 : 200;
            if (from > 0) http.Response.Headers.ContentRange = $"bytes {from}-{bytes.Length - 1}/{bytes.Length}";
            http.Response.ContentLength = bytes.Length - from;
            var body = bytes.AsMemory((int)from);
            if (me.BreakFirst > 0)
            {
                me.BreakFirst--;
                await http.Response.Body.WriteAsync(body[..(body.Length / 2)]);
                await http.Response.Body.FlushAsync();
                http.Abort();
                return;
            }
            if (me.CorruptFirst > 0)
            {
                me.CorruptFirst--;
                var bad = body.ToArray();
                bad[^1] ^= 0xff;
                await http.Response.Body.WriteAsync(bad);
                return;
            }
            await http.Response.Body.WriteAsync(body);
        });
        await app.StartAsync();
        self = new BlobServer(app, app.Urls.First());
        return self;
    }

    public BlobSource Add(byte[] bytes)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        _blobs[sha] = bytes;
        return new BlobSource(sha, bytes.Length, $"{Url}/blobs/{sha}");
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

/// <summary>An <see cref="IHttpClientFactory"/> for tests: a new plain client each time.</summary>
internal sealed class PlainHttpClients : IHttpClientFactory
{
    public HttpClient CreateClient(string name) => new();
}
