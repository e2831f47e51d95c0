using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Agent.Security;

/// <summary>The one 401 answer of the agent: logged, a Bearer challenge, and problem details with a stable code.</summary>
internal static class Unauthenticated
{
    public static Task WriteAsync(HttpContext context, ILogger log, string detail)
    {
        AgentLog.Unauthenticated(log, context.Request.Method, context.Request.Path, context.Connection.RemoteIpAddress?.ToString());
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.Problem(
            title: "Unauthenticated",
            detail: detail,
            statusCode: StatusCodes.Status401Unauthorized,
            extensions: new Dictionary<string, object?> { ["code"] = ErrorCodes.Unauthenticated }).ExecuteAsync(context);
    }
}
