using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Virtuoso.Agent.Migration.Methods;
using Virtuoso.Agent.Migration.Methods.Dedup;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Tests.Migration.Methods;

/// <summary>
/// The origin half of one transfer method, hosted alone in Kestrel on a loopback port the way the migration server
/// hosts it: a bearer token checked first, then an <see cref="ExportContext"/> for a directory put into
/// <c>HttpContext.Items</c>, then the method's routes under /v1/transfer/{id}/. It can corrupt or slow the method's
/// responses to test the destination's checks.
/// </summary>
internal sealed class TransferHarness : IAsyncDisposable
{
    public const string Token = "migration-token-0123456789abcdef";

    private readonly WebApplication _app;

    private TransferHarness(WebApplication app, Guid machine, ExportManifest manifest, string directory)
    {
        _app = app;
        MachineId = machine;
        Manifest = manifest;
        Directory = directory;
        var address = app.Urls.First();
        Origin = new Uri(address);
    }

    public Guid MachineId { get; }
    public ExportManifest Manifest { get; }
    public string Directory { get; }
    public Uri Origin { get; }

    /// <summary>Flip one byte in the middle of the next method response bodies (blocks of DEDUP).</summary>
    public bool CorruptMethodResponses { get; set; }
    /// <summary>Pause this long before each write of a method response (to cancel mid-transfer).</summary>
    public TimeSpan SlowMethodResponses { get; set; }
    public int MethodRequests;

    public static async Task<TransferHarness> StartAsync(ITransferMethod method, string directory, Guid? machine = null, string? bindAddress = null,
        Func<string, bool>? manifestFilter = null)
    {
        var id = machine ?? Guid.NewGuid();
        var manifest = ManifestOf(id, directory, manifestFilter);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls($"http://{bindAddress ?? "127.0.0.1"}:0");
        var app = builder.Build();
        app.UseWebSockets(); // RSYNC's tunnel (issue 20)
        TransferHarness? self = null;
        app.Use(async (http, next) =>
        {
            if (http.Request.Headers.Authorization.ToString() != $"Bearer {Token}")
            {
                http.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }
            http.Items[ExportContext.ItemKey] = new ExportContext(id, manifest.Version, directory, manifest);
            var methodPrefix = TransferRoutes.Method(id, method.Name);
            if (http.Request.Path.StartsWithSegments(methodPrefix))
            {
                Interlocked.Increment(ref self!.MethodRequests);
                if (self.CorruptMethodResponses || self.SlowMethodResponses > TimeSpan.Zero)
                    http.Response.Body = new TamperingStream(http.Response.Body, self.CorruptMethodResponses, self.SlowMethodResponses);
            }
            await next(http);
        });
        // As OriginEndpoints maps them: one group per method under the export's transfer root.
        method.MapOriginRoutes(app.MapGroup($"/v1/transfer/{{id}}/{method.Name.ToLowerInvariant()}"));
        await app.StartAsync();
        self = new TransferHarness(app, id, manifest, directory);
        return self;
    }

    public static ExportManifest ManifestOf(Guid id, string directory, Func<string, bool>? filter = null) => new(
        id, 7, "stopped", null,
        System.IO.Directory.GetFiles(directory).Where(p => filter?.Invoke(Path.GetFileName(p)) ?? true).Order(StringComparer.Ordinal)
            .Select(path => new ExportFile(Path.GetFileName(path), new FileInfo(path).Length, DigestOf(path)))
            .ToList());

    /// <summary>The manifest digest of a file (<see cref="ExportFile.Digest"/>), computed apart from any index.</summary>
    public static string DigestOf(string path) =>
        BlockHasher.Hash(path, BlockList.ChunkingFor(Path.GetFileName(path)), CancellationToken.None).List.Digest();

    /// <summary>A fetch context for this export into <paramref name="staging"/>, recording progress.</summary>
    public FetchContext Fetch(string staging, IReadOnlyList<string>? cached = null, string token = Token, List<TransferProgress>? progress = null) =>
        new(MachineId, Manifest.Version, Origin, token, Manifest, staging, cached ?? [], Http,
            new SynchronousProgress(p => progress?.Add(p)));

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Asserts that every manifest file in <paramref name="staging"/> is byte-identical to the origin's.</summary>
    public void AssertIdentical(string staging)
    {
        foreach (var file in Manifest.Files)
        {
            var copy = Path.Combine(staging, file.Name);
            Assert.True(File.Exists(copy), $"{file.Name} missing in staging");
            Assert.Equal(file.Length, new FileInfo(copy).Length);
            Assert.Equal(file.Digest, DigestOf(copy));
        }
    }

    private sealed class SynchronousProgress(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        private readonly Lock _lock = new();
        public void Report(TransferProgress value)
        {
            lock (_lock)
                report(value);
        }
    }

    private sealed class TamperingStream(Stream inner, bool corrupt, TimeSpan delay) : Stream
    {
        private bool _corrupted;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            if (delay > TimeSpan.Zero)
                await Task.Delay(delay, ct);
            if (corrupt && !_corrupted && buffer.Length > 0)
            {
                var copy = buffer.ToArray();
                copy[copy.Length / 2] ^= 0x01;
                _corrupted = true;
                buffer = copy;
            }
            await inner.WriteAsync(buffer, ct);
        }
    }
}
