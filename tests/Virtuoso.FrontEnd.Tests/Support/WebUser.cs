using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using Virtuoso.Contracts.Api;

namespace Virtuoso.FrontEnd.Tests.Support;

/// <summary>A browser without JavaScript: an HTTP client of the in-process front-end that keeps cookies, follows no redirects, and posts forms with their anti-forgery token.</summary>
internal sealed partial class WebUser(HttpClient http, CookieContainer cookies, string username, string password)
{
    public HttpClient Http { get; } = http;
    public CookieContainer Cookies { get; } = cookies;
    public string Username { get; } = username;
    public string Password { get; } = password;

    public static WebUser Anonymous(MarketFixture market, string scheme = "http") => Anonymous(market.Factory.Server.CreateHandler(), scheme);

    /// <summary>A browser whose requests go through <paramref name="server"/> (e.g. a balancer of replicas).</summary>
    public static WebUser Anonymous(HttpMessageHandler server, string scheme = "http")
    {
        var baseAddress = new Uri($"{scheme}://localhost");
        var cookies = new CookieContainer();
        var handler = new CookieHandler(cookies) { InnerHandler = server };
        var http = new HttpClient(handler) { BaseAddress = baseAddress };
        return new WebUser(http, cookies, "", "");
    }

    /// <summary>Signs up through the web form (and so is logged in).</summary>
    public static async Task<WebUser> SignupAsync(MarketFixture market, string type, string? prefix = null)
    {
        var name = MarketFixture.UniqueName(prefix ?? "web-" + type);
        var anon = Anonymous(market);
        var user = new WebUser(anon.Http, anon.Cookies, name, name + "-password");
        var answer = await user.PostFormAsync("/signup", new() { ["username"] = name, ["email"] = $"{name}@example.org", ["password"] = user.Password, ["type"] = type });
        Assert.True(answer.Status == HttpStatusCode.Redirect, $"sign-up answered {answer.Status}: {answer.Problem}");
        return user;
    }

    /// <summary>The same account through the API (a bearer session), for set-up and for comparing answers.</summary>
    public async Task<Session> ApiAsync(MarketFixture market)
    {
        var http = market.Anonymous();
        var session = await Session.Ok<SessionResponse>(await http.PostAsJsonAsync("/api/v1/sessions", new LoginRequest(Username, Password)));
        return new Session(Session.WithToken(market.Anonymous(), session.Token), Username, Password, session.Token, market);
    }

    public string? SessionCookie => Cookies.GetCookies(Http.BaseAddress!)["virtuoso_session"]?.Value;

    public async Task<Page> GetAsync(string path) => await Page.ReadAsync(await Http.GetAsync(path));

    /// <summary>Loads <paramref name="formPage"/> (default: <paramref name="path"/>) for its anti-forgery token, then posts <paramref name="fields"/> to <paramref name="path"/>.</summary>
    public async Task<Page> PostFormAsync(string path, Dictionary<string, string> fields, string? formPage = null)
    {
        var page = await GetAsync(formPage ?? path);
        var token = page.AntiforgeryToken ?? throw new InvalidOperationException($"no anti-forgery token on {formPage ?? path} ({page.Status})");
        return await PostRawAsync(path, new Dictionary<string, string>(fields) { ["__RequestVerificationToken"] = token });
    }

    /// <summary>Posts exactly <paramref name="fields"/>, token or not.</summary>
    public async Task<Page> PostRawAsync(string path, Dictionary<string, string> fields) =>
        await Page.ReadAsync(await Http.PostAsync(path, new FormUrlEncodedContent(fields)));

    public Task<Page> LoginAsync(string? password = null) =>
        PostFormAsync("/login", new() { ["username"] = Username, ["password"] = password ?? Password });

    /// <summary>An answer: status, body, where it redirects, and the problem shown on the page.</summary>
    internal sealed partial record Page(HttpStatusCode Status, string Html, string? Location, HttpResponseMessage Response)
    {
        public static async Task<Page> ReadAsync(HttpResponseMessage r) =>
            new(r.StatusCode, await r.Content.ReadAsStringAsync(), r.Headers.Location?.ToString(), r);

        public string? AntiforgeryToken => TokenRx().Match(Html) is { Success: true } m ? m.Groups[1].Value : null;

        /// <summary>The refusal shown at the top of the page (code and message), or null.</summary>
        public string? Problem => ProblemRx().Match(Html) is { Success: true } m ? WebUtility.HtmlDecode(Regex.Replace(m.Groups[2].Value, "<.*?>", "").Trim()) : null;
        public string? ProblemCode => ProblemRx().Match(Html) is { Success: true } m ? m.Groups[1].Value : null;

        [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")] private static partial Regex TokenRx();
        [GeneratedRegex("class=\"problem\" role=\"alert\" data-code=\"([^\"]*)\"[^>]*>(.*?)</div>", RegexOptions.Singleline)] private static partial Regex ProblemRx();
    }

    /// <summary>Cookies kept per user, as a browser does (the test server's handler keeps none).</summary>
    private sealed class CookieHandler(CookieContainer cookies) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var uri = request.RequestUri!;
            if (cookies.GetCookieHeader(uri) is { Length: > 0 } header) request.Headers.Add("Cookie", header);
            var response = await base.SendAsync(request, ct);
            if (response.Headers.TryGetValues("Set-Cookie", out var set))
                foreach (var c in set) cookies.SetCookies(uri, c);
            return response;
        }
    }
}
