using System.Net;
using Virtuoso.Cli.Http;

namespace Virtuoso.Cli.Tests.Http;

public sealed class ProblemTests
{
    [Fact]
    public void Detail_AndCode_MakeTheLine()
    {
        var failure = Problem.ToFailure(HttpStatusCode.NotFound, "Not Found", "application/problem+json",
            """{"title":"Not found","status":404,"detail":"machine not found","code":"not-found"}""");
        Assert.Equal("error: machine not found (not-found)", failure.Line);
        Assert.Equal(ExitCode.Refused, failure.Exit);
    }

    [Fact]
    public void WithoutDetail_TheTitleIsUsed()
    {
        var failure = Problem.ToFailure(HttpStatusCode.Conflict, "Conflict", "application/problem+json",
            """{"title":"Host name taken","status":409,"code":"host-name-taken"}""");
        Assert.Equal("error: Host name taken (host-name-taken)", failure.Line);
    }

    [Fact]
    public void ValidationErrors_AreListedOnTheSameLine()
    {
        var failure = Problem.ToFailure(HttpStatusCode.BadRequest, "Bad Request", "application/problem+json",
            """{"title":"One or more validation errors occurred.","status":400,"code":"validation","errors":{"Speed":["must be positive"],"Name":["is required","is too long"]}}""");
        Assert.Equal("error: One or more validation errors occurred.: Speed: must be positive; Name: is required; Name: is too long (validation)", failure.Line);
    }

    [Fact]
    public void MultiLineDetail_IsFoldedIntoOneLine()
    {
        var failure = Problem.ToFailure(HttpStatusCode.BadGateway, "Bad Gateway", "application/problem+json",
            """{"title":"x","detail":"agent said:\nqemu failed\r\n  to start","code":"agent-failed"}""");
        Assert.Equal("error: agent said: qemu failed to start (agent-failed)", failure.Line);
    }

    [Fact]
    public void NoCode_FallsBackToTheStatus()
    {
        var failure = Problem.ToFailure(HttpStatusCode.InternalServerError, "Internal Server Error", null, "");
        Assert.Equal("error: the server answered HTTP 500 Internal Server Error (http-500)", failure.Line);
    }

    [Fact]
    public void BareUnauthorized_SaysToLogIn()
    {
        var failure = Problem.ToFailure(HttpStatusCode.Unauthorized, "Unauthorized", null, "");
        Assert.StartsWith("error: not logged in or the session has expired; log in with: virtuoso login", failure.Line);
        Assert.EndsWith("(unauthenticated)", failure.Line);
    }

    [Fact]
    public void PlainTextError_IsShown()
    {
        var failure = Problem.ToFailure(HttpStatusCode.BadGateway, "Bad Gateway", "text/plain", "upstream down\n");
        Assert.Equal("error: upstream down (http-502)", failure.Line);
    }

    [Fact]
    public void HtmlErrorPage_IsNotDumped()
    {
        var failure = Problem.ToFailure(HttpStatusCode.BadGateway, "Bad Gateway", "text/html", "<html><body>nginx</body></html>");
        Assert.Equal("error: the server answered HTTP 502 Bad Gateway (http-502)", failure.Line);
    }

    [Fact]
    public void BrokenJson_FallsBackToTheStatus()
    {
        var failure = Problem.ToFailure(HttpStatusCode.BadRequest, "Bad Request", "application/json", "{ broken");
        Assert.Equal("error: the server answered HTTP 400 Bad Request (http-400)", failure.Line);
    }
}
