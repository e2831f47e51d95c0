using System.Reflection;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Web.Auth;

namespace Virtuoso.FrontEnd.Web;

/// <summary>
/// The web interface (issue 3; report §5, Figures 3–33): server-rendered Razor Pages under <c>Web/</c>, on the same
/// services as the REST API so that the web refuses exactly what the API refuses (design §3.3).
/// <para>
/// Authentication: requests under <c>/api</c> (and any request with an <c>Authorization: Bearer</c> header) use the
/// bearer scheme; every other path uses the session cookie. Both produce the same principal (name + role claims). An
/// endpoint outside the pages that must accept the web's cookie (the console page's ticket endpoint, say) requires one
/// of the policies <see cref="User"/>, <see cref="Buyer"/> or <see cref="Provider"/>, which name the cookie scheme.
/// </para>
/// </summary>
internal static class WebSetup
{
    /// <summary>Any logged-in web user (cookie scheme).</summary>
    public const string User = "web-user";
    /// <summary>A logged-in buyer (cookie scheme).</summary>
    public const string Buyer = "web-buyer";
    /// <summary>A logged-in provider (cookie scheme).</summary>
    public const string Provider = "web-provider";
    /// <summary>The logged-in operator (cookie scheme).</summary>
    public const string Operator = "web-operator";
    /// <summary>Rate-limiting policy of the log-in form: posts per client address.</summary>
    public const string LoginPolicy = "login";
    public const string SelectingScheme = "BearerOrCookie";

    public static void AddWeb(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddRazorPages(o =>
        {
            o.RootDirectory = "/Web";
            o.Conventions.AuthorizeFolder("/Machines", Buyer);
            o.Conventions.AuthorizeFolder("/Isos", Buyer);
            o.Conventions.AuthorizeFolder("/Networks", Buyer);
            o.Conventions.AuthorizeFolder("/Hosts", Provider);
            o.Conventions.AuthorizeFolder("/Events", Operator); // issue 19: all events, the operator's
            o.Conventions.AuthorizePage("/Accounts/Account", User);
            o.Conventions.AuthorizePage("/Accounts/Statement", User);
            o.Conventions.AuthorizePage("/Accounts/Keys", User);
            o.Conventions.AuthorizePage("/Accounts/Tokens", User);
            o.Conventions.AuthorizePage("/Accounts/Notifications", User);
            o.Conventions.AuthorizePage("/Accounts/Logout", User);
        });
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "virtuoso_antiforgery";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.AddAuthentication(SelectingScheme)
            .AddPolicyScheme(SelectingScheme, "Bearer for the API, cookie for the web", o => o.ForwardDefaultSelector = ctx =>
                ctx.Request.Path.StartsWithSegments("/api") || ctx.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.Ordinal)
                    ? BearerAuthentication.SchemeName : CookieAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, CookieAuthentication>(CookieAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(User, p => p.AddAuthenticationSchemes(CookieAuthentication.SchemeName).RequireAuthenticatedUser())
            .AddPolicy(Buyer, p => p.AddAuthenticationSchemes(CookieAuthentication.SchemeName).RequireRole(Roles.Buyer))
            .AddPolicy(Provider, p => p.AddAuthenticationSchemes(CookieAuthentication.SchemeName).RequireRole(Roles.Provider))
            .AddPolicy(Operator, p => p.AddAuthenticationSchemes(CookieAuthentication.SchemeName).RequireRole(Roles.Operator));
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(LoginPolicy, ctx =>
            {
                if (!HttpMethods.IsPost(ctx.Request.Method)) return RateLimitPartition.GetNoLimiter("get");
                var perMinute = ctx.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<MarketOptions>>().Value.LoginAttemptsPerAddressPerMinute;
                return RateLimitPartition.GetFixedWindowLimiter(ctx.Connection.RemoteIpAddress?.ToString() ?? "local",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
            });
        });
    }

    /// <summary>Web error pages for non-API paths; the API keeps its problem details.</summary>
    /// <summary>
    /// What every answer tells the browser (issue 20): scripts, styles, images, fonts and connections only from this
    /// site, no inline script or style (pages use static files and data attributes: Static/site.js), never framed (the
    /// one-click forms could be, to trick a click), and no guessing of content types.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public static void UseSecurityHeaders(this WebApplication app) => app.Use((ctx, next) =>
    {
        ctx.Response.OnStarting(() =>
        {
            var h = ctx.Response.Headers;
            h.ContentSecurityPolicy = ContentSecurityPolicy;
            h.XContentTypeOptions = "nosniff";
            h.XFrameOptions = "DENY";
            h["Referrer-Policy"] = "same-origin";
            // Issue 20: under HTTPS (Kestrel given a certificate, or a trusted proxy's X-Forwarded-Proto), browsers are told to
            // use nothing else for a year; the session and anti-forgery cookies are Secure on such requests.
            if (ctx.Request.IsHttps) h.StrictTransportSecurity = "max-age=31536000";
            return Task.CompletedTask;
        });
        return next(ctx);
    });

    public static void UseWebStatusPages(this WebApplication app)
    {
        app.UseWhen(IsApi, a => a.UseStatusCodePages());
        app.UseWhen(ctx => !IsApi(ctx), a => a.UseStatusCodePagesWithReExecute("/error", "?status={0}"));
    }

    public static void MapWeb(this WebApplication app)
    {
        app.MapRazorPages();
        app.MapGet("/static/{file}", (string file) => Static(file)).ExcludeFromDescription();
        // Browsers ask for /favicon.ico whatever the page links: send them to the icon the layout links.
        app.MapGet("/favicon.ico", () => Results.Redirect(FaviconPath)).ExcludeFromDescription();
    }

    /// <summary>The site's icon, linked by the layout (<c>rel="icon"</c>) and where <c>/favicon.ico</c> redirects.</summary>
    public const string FaviconPath = "/static/favicon.svg";

    private static bool IsApi(HttpContext ctx) => ctx.Request.Path.StartsWithSegments("/api") || ctx.Request.Path.StartsWithSegments("/openapi");

    // The stylesheet, scripts and icon are embedded in the assembly: served by the front-end itself, whatever its working directory.
    private static IResult Static(string file)
    {
        var type = Path.GetExtension(file) switch
        {
            ".css" => "text/css; charset=utf-8", ".js" => "text/javascript; charset=utf-8", ".svg" => "image/svg+xml", _ => null,
        };
        var stream = type is null ? null : Assembly.GetExecutingAssembly().GetManifestResourceStream("Virtuoso.FrontEnd.Web.Static." + file);
        return stream is null ? Results.NotFound() : Results.Stream(stream, type);
    }
}
