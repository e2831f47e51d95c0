using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Virtuoso.Cli.Output;

namespace Virtuoso.Cli.Http;

/// <summary>
/// The one place the CLI talks HTTP to the front-end's REST API (<c>{server}/api/v1/…</c>). Every call has a
/// timeout; every way a call can fail comes back as a <see cref="Failure"/>: problem details as
/// <see cref="ExitCode.Refused"/>, no connection or no answer in time as <see cref="ExitCode.Unreachable"/>.
/// </summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient http;
    private readonly string server;
    private readonly TimeSpan timeout;

    public ApiClient(Uri server, string? token, TimeSpan timeout)
    {
        this.server = ServerAddress.Display(server);
        this.timeout = timeout;
        // The timeout is ours (below), so that it can be told apart from the caller's cancellation.
        http = new HttpClient { BaseAddress = new Uri(server, "api/v1/"), Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/problem+json"));
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public Task<Result<T>> GetAsync<T>(string path, CancellationToken cancellationToken) =>
        SendAsync<T>(HttpMethod.Get, path, null, cancellationToken);

    /// <summary>A call whose answer is a JSON body of type <typeparamref name="T"/>.</summary>
    public async Task<Result<T>> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken) =>
        Read<T>(await ExchangeAsync(method, path, body, cancellationToken), method, path);

    /// <summary>
    /// PUTs <paramref name="length"/> bytes of <paramref name="content"/> as the raw body (an ISO upload), streamed, never held in
    /// memory; <paramref name="sent"/> hears the bytes sent so far. The timeout counts from the last bytes sent, not the
    /// start, since a big file takes as long as the link needs; <c>Expect: 100-continue</c> lets the server refuse (quota,
    /// name taken) before the body is sent.
    /// </summary>
    public async Task<Result<T>> UploadAsync<T>(string path, Stream content, long length, Action<long>? sent, CancellationToken cancellationToken) =>
        Read<T>(await ExchangeContentAsync(HttpMethod.Put, path, deadline =>
        {
            var body = new StreamContent(new CountingStream(content, total =>
            {
                deadline.CancelAfter(timeout);
                sent?.Invoke(total);
            }), 1 << 16);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            body.Headers.ContentLength = length;
            return body;
        }, cancellationToken, expectContinue: true), HttpMethod.Put, path);

    private Result<T> Read<T>(Result<string> exchanged, HttpMethod method, string path)
    {
        if (exchanged.Failed(out var failure, out var reply))
        {
            return failure;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(reply, JsonOutput.Wire) is { } value
                ? value
                : BadResponse(method, path, "an empty answer");
        }
        catch (JsonException exception)
        {
            return BadResponse(method, path, exception.Message);
        }
    }

    /// <summary>A call whose answer, if any, is only passed on (e.g. HTTP 204, or a body the CLI does not read).</summary>
    public async Task<Result<JsonElement?>> SendForAnyAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        if ((await ExchangeAsync(method, path, body, cancellationToken)).Failed(out var failure, out var reply))
        {
            return failure;
        }

        if (string.IsNullOrWhiteSpace(reply))
        {
            return (JsonElement?)null;
        }

        try
        {
            return (JsonElement?)JsonSerializer.Deserialize<JsonElement>(reply, JsonOutput.Wire);
        }
        catch (JsonException exception)
        {
            return BadResponse(method, path, exception.Message);
        }
    }

    /// <summary>A call whose answer is plain text (the serial console log).</summary>
    public async Task<Result<string>> GetTextAsync(string path, CancellationToken cancellationToken) =>
        (await ExchangeAsync(HttpMethod.Get, path, null, cancellationToken)).Failed(out var failure, out var reply)
            ? failure
            : reply;

    private Task<Result<string>> ExchangeAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken) =>
        ExchangeContentAsync(method, path, _ => body is null ? null : JsonContent.Create(body, body.GetType(), options: JsonOutput.Wire), cancellationToken);

    private async Task<Result<string>> ExchangeContentAsync(HttpMethod method, string path, Func<CancellationTokenSource, HttpContent?> content,
        CancellationToken cancellationToken, bool expectContinue = false)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        using var request = new HttpRequestMessage(method, path) { Content = content(deadline) };
        if (expectContinue)
        {
            request.Headers.ExpectContinue = true;
        }

        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token);
            var text = await response.Content.ReadAsStringAsync(deadline.Token);
            return response.IsSuccessStatusCode
                ? text
                : Problem.ToFailure(response.StatusCode, response.ReasonPhrase, response.Content.Headers.ContentType?.MediaType, text);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Failure(ExitCode.Unreachable,
                $"the server at {server} did not answer {method} /api/v1/{path} within {timeout.TotalSeconds:0.###} s", Failure.TimeoutCode);
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException)
        {
            return new Failure(ExitCode.Unreachable, $"cannot reach the server at {server}: {exception.Message}", Failure.UnreachableCode);
        }
    }

    private static Failure BadResponse(HttpMethod method, string path, string why) =>
        new(ExitCode.Refused, $"unexpected answer to {method} /api/v1/{path}: {why}", Failure.BadResponseCode);

    public void Dispose() => http.Dispose();
}

/// <summary>A read-only stream over another that reports the bytes read so far after each read.</summary>
internal sealed class CountingStream(Stream inner, Action<long> read) : Stream
{
    private long total;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => inner.Length;
    public override long Position { get => total; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int Count(int n)
    {
        total += n;
        read(total);
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
