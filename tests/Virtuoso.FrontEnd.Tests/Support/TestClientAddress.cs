using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>
/// The in-process test server gives every request no client address. A request carrying <see cref="Header"/> gets that
/// address instead, so a test of per-address limits (log-in, sign-up) counts from an address of its own, whatever the
/// other tests sharing its database did. Test code only: the product never reads this header.
/// </summary>
internal sealed class TestClientAddress : IStartupFilter
{
    public const string Header = "X-Test-Client-Address";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((ctx, go) =>
        {
            if (ctx.Request.Headers[Header].ToString() is { Length: > 0 } a && IPAddress.TryParse(a, out var address))
                ctx.Connection.RemoteIpAddress = address;
            return go(ctx);
        });
        next(app);
    };

    /// <summary>A client of <paramref name="factory"/> whose requests come from a fresh address of their own.</summary>
    public static HttpClient Client(Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> factory, bool redirects = true)
    {
        var http = factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = redirects, HandleCookies = true });
        http.DefaultRequestHeaders.Add(Header, Fresh());
        return http;
    }

    /// <summary>An address no other test uses (in 198.18.0.0/15, the range for benchmarks and tests).</summary>
    public static string Fresh()
    {
        var n = Interlocked.Increment(ref _next);
        return $"198.{18 + (n >> 16 & 1)}.{n >> 8 & 255}.{n & 255}";
    }

    private static int _next;
}
