using Microsoft.Net.Http.Headers;
using Virtuoso.Contracts.Api;

namespace Virtuoso.FrontEnd.Http;

/// <summary>
/// JSON bodies are UTF-8 (RFC 8259 §8.1). A JSON Content-Type with any other, an empty or an unreadable charset is
/// answered 415 before an endpoint reads the body (issue 20: <c>application/json; charset=bogus</c> gave 500 on every
/// endpoint); <c>utf-8</c>, quoted or not and in any case, and no charset at all are read (a quoted one is unquoted first).
/// </summary>
internal static class JsonCharset
{
    public static IApplicationBuilder UseJsonCharsetCheck(this IApplicationBuilder app) => app.Use(async (ctx, next) =>
    {
        if (Refusal(ctx.Request.ContentType) is { } why)
        {
            await Results.Problem(title: "Unsupported media type", detail: why, statusCode: StatusCodes.Status415UnsupportedMediaType,
                extensions: new Dictionary<string, object?> { ["code"] = ErrorCodes.Validation }).ExecuteAsync(ctx);
            return;
        }
        // The framework's reader fails on a quoted charset (500): "utf-8" in quotes is read as utf-8.
        if (ctx.Request.ContentType is { } given && given.Contains('"') && MediaTypeHeaderValue.TryParse(given, out var quoted) && quoted.Charset.HasValue)
            ctx.Request.ContentType = $"{quoted.MediaType}; charset=utf-8";
        await next(ctx);
    });

    /// <summary>Why a body of <paramref name="contentType"/> is refused, or null.</summary>
    public static string? Refusal(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType) || !contentType.Contains("json", StringComparison.OrdinalIgnoreCase)) return null;
        if (!MediaTypeHeaderValue.TryParse(contentType, out var type))
            return "the Content-Type header could not be read: send application/json (UTF-8)";
        if (!type.MediaType.Value!.EndsWith("json", StringComparison.OrdinalIgnoreCase)) return null;
        var charsetGiven = type.Parameters.Any(p => p.Name.Equals("charset", StringComparison.OrdinalIgnoreCase));
        if (!charsetGiven) return null;
        var charset = HeaderUtilities.RemoveQuotes(type.Charset).ToString();
        return charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)
            ? null
            : $"JSON is read as UTF-8 only, not charset '{charset}': send application/json; charset=utf-8, or no charset";
    }
}
