using Microsoft.AspNetCore.Http.Metadata;
using Virtuoso.FrontEnd.Http;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>
/// Issue 20 point 3: the API document lists, per operation, the codes it refuses with (<see cref="ApiDocument.CodesOf"/>).
/// Every in-process front-end of these tests checks each refusal it answers against that list; a code the endpoint does
/// not document throws, so the test that provoked it gets a 500 instead of its problem, with the reason in the captured
/// logs. Thus the whole suite's refusals keep the document honest.
/// </summary>
internal static class DocumentedRefusals
{
    public static void Check(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        if (!http.Request.Path.StartsWithSegments("/api") || http.GetEndpoint() is not RouteEndpoint endpoint) return;
        if (!context.ProblemDetails.Extensions.TryGetValue("code", out var value) || value is not string code || !Failure.Table.ContainsKey(code)) return;
        var hasBody = endpoint.Metadata.OfType<IAcceptsMetadata>().Any();
        if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType && hasBody) return;
        if (!ApiDocument.CodesOf(endpoint.Metadata.ToList(), http.Request.Method, hasBody).Contains(code))
            throw new InvalidOperationException($"{http.Request.Method} {endpoint.RoutePattern.RawText} refused with '{code}', which /openapi/v1.json does not list for it: add it to the endpoint's Refuses(...)");
    }
}
