using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Virtuoso.Cli.Tests.Support;

/// <summary>One request the fake API received.</summary>
internal sealed record Recorded(string Method, string Path, string Query, string? Authorization, string Body)
{
    /// <summary>The body as sent (an upload's bytes), and the headers that describe it.</summary>
    public byte[] Bytes { get; init; } = [];
    public long? ContentLength { get; init; }
    public string? ContentType { get; init; }
    public string? Expect { get; init; }

    public T BodyAs<T>() => JsonSerializer.Deserialize<T>(Body, FakeApi.Wire)!;

    public JsonElement BodyJson => JsonDocument.Parse(Body).RootElement;
}

/// <summary>
/// A stand-in for the front-end's REST API: Kestrel on 127.0.0.1 with an ephemeral port, answering canned
/// contract objects per route and recording every request. Unknown routes answer 404 problem details.
/// </summary>
internal sealed class FakeApi : IAsyncDisposable
{
    public static readonly JsonSerializerOptions Wire = new(JsonSerializerDefaults.Web);

    private sealed record Reply(int Status, string ContentType, string Body, TimeSpan Delay);

    private readonly ConcurrentDictionary<string, Reply> routes = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Reply>> sequences = new();
    private readonly ConcurrentQueue<Recorded> requests = new();
    private WebApplication app = null!;

    public string Url { get; private set; } = "";

    public IReadOnlyList<Recorded> Requests => requests.ToArray();

    public static async Task<FakeApi> StartAsync()
    {
        var fake = new FakeApi();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        fake.app = builder.Build();
        fake.app.UseWebSockets();
        fake.app.Run(fake.HandleAsync);
        await fake.app.StartAsync();
        fake.Url = fake.app.Urls.Single();
        return fake;
    }

    /// <summary>Answer <paramref name="route"/> ("GET /api/v1/machines", optionally with "?query") with JSON.</summary>
    public FakeApi Json(string route, object? body, int status = 200) =>
        Raw(route, status, "application/json", body is null ? "" : JsonSerializer.Serialize(body, Wire));

    /// <summary>Answer <paramref name="route"/> with each body in turn, then keep answering the last one (a server-side operation that progresses).</summary>
    public FakeApi Sequence(string route, params object[] bodies)
    {
        var replies = bodies.Select(body => new Reply(200, "application/json", JsonSerializer.Serialize(body, Wire), default)).ToList();
        sequences[route] = new ConcurrentQueue<Reply>(replies[..^1]);
        return Raw(route, 200, "application/json", JsonSerializer.Serialize(bodies[^1], Wire));
    }

    private readonly ConcurrentDictionary<string, Func<System.Net.WebSockets.WebSocket, Task>> webSockets = new();

    /// <summary>Accept WebSocket requests to <paramref name="path"/> and carry each with <paramref name="handler"/> (recorded as GET).</summary>
    public FakeApi WebSocket(string path, Func<System.Net.WebSockets.WebSocket, Task> handler)
    {
        webSockets[path] = handler;
        return this;
    }

    public FakeApi NoContent(string route) => Raw(route, 204, "", "");

    public FakeApi Text(string route, string text) => Raw(route, 200, "text/plain", text);

    public FakeApi Problem(string route, int status, string? code, string title, string? detail = null) =>
        Raw(route, status, "application/problem+json", JsonSerializer.Serialize(
            new Dictionary<string, object?> { ["type"] = "about:blank", ["title"] = title, ["status"] = status, ["detail"] = detail, ["code"] = code }
                .Where(pair => pair.Value is not null).ToDictionary(), Wire));

    public FakeApi Raw(string route, int status, string contentType, string body, TimeSpan delay = default)
    {
        routes[route] = new Reply(status, contentType, body, delay);
        return this;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var bytes = new MemoryStream();
        await request.Body.CopyToAsync(bytes);
        var body = System.Text.Encoding.UTF8.GetString(bytes.ToArray());
        requests.Enqueue(new Recorded(request.Method, request.Path.Value ?? "", request.QueryString.Value ?? "",
            request.Headers.Authorization.FirstOrDefault(), body)
        {
            Bytes = bytes.ToArray(), ContentLength = request.ContentLength, ContentType = request.ContentType, Expect = request.Headers.Expect.FirstOrDefault(),
        });

        if (context.WebSockets.IsWebSocketRequest && webSockets.TryGetValue(request.Path.Value ?? "", out var carry))
        {
            using var ws = await context.WebSockets.AcceptWebSocketAsync();
            await carry(ws);
            return;
        }

        var route = $"{request.Method} {request.Path.Value}";
        if (sequences.TryGetValue(route, out var queue) && queue.TryDequeue(out var next))
        {
            await Respond(context, next);
            return;
        }

        if (!routes.TryGetValue(route + request.QueryString, out var reply) && !routes.TryGetValue(route, out reply))
        {
            reply = new Reply(404, "application/problem+json",
                JsonSerializer.Serialize(new { title = "Not Found", status = 404, detail = $"no fake for {route}", code = "not-found" }, Wire), default);
        }

        await Respond(context, reply);
    }

    private static async Task Respond(HttpContext context, Reply reply)
    {
        if (reply.Delay > TimeSpan.Zero)
        {
            await Task.Delay(reply.Delay, context.RequestAborted);
        }

        context.Response.StatusCode = reply.Status;
        if (reply.ContentType.Length > 0)
        {
            context.Response.ContentType = reply.ContentType;
        }

        await context.Response.WriteAsync(reply.Body);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
