using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Virtuoso.Contracts.Agent;

namespace Virtuoso.Agent.Images;

/// <summary>
/// Files fetched from the front-end, kept by content (issue 15: "streamed, resumable, verified by its SHA-256, stored
/// content-addressed, shared by every machine using it"): <c>&lt;data&gt;/blobs/sha256/&lt;hex&gt;</c>, read-only. A fetch
/// streams into <c>blobs/partial/&lt;hex&gt;</c> and resumes from what is there with an HTTP <c>Range</c> after a broken
/// connection; the whole file is hashed before it is renamed into place, and a file whose hash is wrong is thrown away and
/// fetched again, up to <see cref="Attempts"/> times. Images link their files to these (hard links: one copy on disk).
/// </summary>
internal sealed class Blobs(AgentOptions options, IHttpClientFactory http, ILogger<Blobs> log)
{
    public const string HttpClientName = "blobs";
    public const int Attempts = 3;
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(60);

    private readonly string _root = Path.Combine(options.DataDirectory, "blobs");

    public string PathOf(string sha256) => Path.Combine(_root, "sha256", sha256);

    /// <summary>The path of the blob, fetching it first when this host lacks it. <paramref name="progress"/> gets the bytes
    /// this host holds of it so far. Throws <see cref="IOException"/> naming the blob and the cause when it cannot.</summary>
    public async Task<string> EnsureAsync(BlobSource source, Action<long> progress, CancellationToken ct)
    {
        var final = PathOf(source.Sha256);
        if (File.Exists(final))
        {
            progress(source.Size);
            return final;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        var partial = Path.Combine(_root, "partial", source.Sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(partial)!);

        string? lastProblem = null;
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            try
            {
                await FetchAsync(source, partial, progress, ct);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException && !ct.IsCancellationRequested)
            {
                // What arrived stays: the next attempt resumes after it.
                lastProblem = e.Message;
                AgentLog.BlobFetchFailed(log, source.Sha256, attempt, e.Message);
                continue;
            }
            var actual = await HashAsync(partial, ct);
            if (actual == source.Sha256)
            {
                File.SetUnixFileMode(partial, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                File.Move(partial, final, overwrite: true);
                AgentLog.BlobFetched(log, source.Sha256, source.Size, attempt);
                return final;
            }
            lastProblem = $"what arrived has SHA-256 {actual}";
            AgentLog.BlobCorrupt(log, source.Sha256, actual, attempt);
            File.Delete(partial);
            progress(0);
        }
        throw new IOException($"fetching {source.Sha256} ({source.Size} bytes) from {source.Url} failed {Attempts} times; last: {lastProblem}");
    }

    private async Task FetchAsync(BlobSource source, string partial, Action<long> progress, CancellationToken ct)
    {
        var have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (have > source.Size)
        {
            File.Delete(partial);
            have = 0;
        }
        if (have == source.Size)
            return;
        using var request = new HttpRequestMessage(HttpMethod.Get, source.Url);
        // Issue 20: the secret itself never crosses the front-end's port, which may be cleartext; a proof of it for this blob does.
        request.Headers.Authorization = new AuthenticationHeaderValue(HostProof.Scheme, HostProof.Credential(options.Secret, options.Name, source.Sha256, DateTimeOffset.UtcNow));
        if (have > 0)
            request.Headers.Range = new RangeHeaderValue(have, null);
        using var headers = CancellationTokenSource.CreateLinkedTokenSource(ct);
        headers.CancelAfter(StallTimeout);
        using var response = await http.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token);
        if (response.StatusCode == HttpStatusCode.OK)
            have = 0; // the server sent the whole file
        else if (response.StatusCode != HttpStatusCode.PartialContent)
            throw new HttpRequestException($"GET {source.Url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
        else if (response.Content.Headers.ContentRange?.From != have)
            throw new HttpRequestException($"GET {source.Url} answered a range from {response.Content.Headers.ContentRange?.From}, not {have}");

        await using var body = await response.Content.ReadAsStreamAsync(ct);
        await using var file = new FileStream(partial, have == 0 ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true);
        var buffer = new byte[1 << 20];
        var reported = Environment.TickCount64;
        while (true)
        {
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
            stall.CancelAfter(StallTimeout);
            int n;
            try
            {
                n = await body.ReadAsync(buffer, stall.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"GET {source.Url} sent nothing for {StallTimeout.TotalSeconds:0} s");
            }
            if (n == 0) break;
            if (have + n > source.Size)
                throw new IOException($"GET {source.Url} sent more than the {source.Size} bytes the catalogue states");
            await file.WriteAsync(buffer.AsMemory(0, n), ct);
            have += n;
            if (Environment.TickCount64 - reported > 250)
            {
                progress(have);
                reported = Environment.TickCount64;
            }
        }
        await file.FlushAsync(ct);
        file.Flush(flushToDisk: true);
        progress(have);
        if (have != source.Size)
            throw new IOException($"GET {source.Url} ended after {have} of {source.Size} bytes");
    }

    /// <summary>Makes <paramref name="link"/> a second name of the blob's file (no copy; the bytes stay while either name does).</summary>
    public static void Link(string blob, string link)
    {
        if (LinkNative(blob, link) != 0)
            throw new IOException($"cannot link {link} to {blob}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int LinkNative(string oldPath, string newPath);

    public static async Task<string> HashAsync(string path, CancellationToken ct = default)
    {
        await using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(input, ct));
    }
}
