using System.Net;
using System.Text.Json;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Http;

/// <summary>Turns an error answer of the front-end (RFC 7807 problem details with a <c>code</c>) into one <see cref="Failure"/>.</summary>
internal static class Problem
{
    private const int MaxTextLength = 300;

    public static Failure ToFailure(HttpStatusCode status, string? reason, string? mediaType, string body)
    {
        var problem = TryParse(body);
        var code = problem?.Code ?? (status == HttpStatusCode.Unauthorized ? ErrorCodes.Unauthenticated : $"http-{(int)status}");
        var message = problem?.Message
            ?? PlainText(mediaType, body)
            ?? (status == HttpStatusCode.Unauthorized
                ? "not logged in or the session has expired; log in with: virtuoso login USER --password PASSWORD"
                : $"the server answered HTTP {(int)status} {reason}".TrimEnd());
        return new Failure(ExitCode.Refused, message, code);
    }

    private sealed record Parsed(string? Message, string? Code);

    private static Parsed? TryParse(string body)
    {
        if (!body.TrimStart().StartsWith('{'))
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null; // Not problem details after all: fall back to the status line.
        }

        using (document)
        {
            var root = document.RootElement;
            var detail = String(root, "detail");
            var title = String(root, "title");
            var message = detail ?? title;
            // ASP.NET's validation problems put the particulars in `errors` rather than in `detail`.
            if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
            {
                var particulars = errors.EnumerateObject()
                    .SelectMany(field => field.Value.ValueKind == JsonValueKind.Array
                        ? field.Value.EnumerateArray().Select(e => $"{field.Name}: {e}")
                        : [$"{field.Name}: {field.Value}"]);
                var joined = string.Join("; ", particulars);
                if (joined.Length > 0)
                {
                    message = message is null ? joined : $"{message}: {joined}";
                }
            }

            return new Parsed(message, String(root, "code"));
        }
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : null;

    private static string? PlainText(string? mediaType, string body) =>
        mediaType == "text/plain" && body.Trim() is { Length: > 0 } text
            ? text.Length > MaxTextLength ? text[..MaxTextLength] + "…" : text
            : null;
}
