using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Virtuoso.FrontEnd.Http;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests;

/// <summary>
/// Program.cs and Http/ApiDocument.cs: the health probe and the OpenAPI document (issue 2 item 3; issue 20 point 3: complete
/// for generated clients, clean under Redocly's recommended lint, and committed as docs/openapi-v1.json, from which the
/// end-to-end tests' Kiota client is generated at build time).
/// </summary>
public sealed partial class OpenApiTests(MarketFixture market) : IClassFixture<MarketFixture>
{
    [Fact]
    public async Task Healthz_Answers200WithoutAToken()
    {
        var response = await market.Anonymous().GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task OpenApiDocument_IsJsonListingTheMachineAndHostEndpoints()
    {
        var response = await market.Anonymous().GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.StartsWith("3.", doc.GetProperty("openapi").GetString());
        var paths = doc.GetProperty("paths");
        foreach (var path in new[] { "/api/v1/machines", "/api/v1/machines/{id}/store", "/api/v1/hosts", "/api/v1/accounts", "/api/v1/sessions", "/api/v1/configurations" })
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is not in the OpenAPI document");
        Assert.True(paths.GetProperty("/api/v1/machines").TryGetProperty("post", out _), "POST /api/v1/machines (register) is not documented");
    }

    [Theory]
    [InlineData("GET", "/api/v1/no-such-thing")]
    [InlineData("GET", "/api/v1/machines/not-a-guid")]
    public async Task UnknownRoute_IsAProblemWithCodeNotFound(string method, string path)
    {
        var response = await market.Anonymous().SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await Problem.AssertAsync(response, 404, Virtuoso.Contracts.Api.ErrorCodes.NotFound);
    }

    [Fact]
    public async Task EveryOperation_HasAnIdASummaryATagItsSecurityAndItsRefusalsWithTheirCodes()
    {
        var doc = await DocumentAsync();
        var ids = new List<string>();
        foreach (var (path, item) in doc["paths"]!.AsObject())
            foreach (var (method, op) in item!.AsObject())
            {
                var where = $"{method.ToUpperInvariant()} {path}";
                var id = op!["operationId"]?.GetValue<string>();
                Assert.True(id is not null && CamelCase().IsMatch(id), $"{where}: operationId '{id}' is missing or not camelCase");
                ids.Add(id!);
                Assert.False(string.IsNullOrWhiteSpace(op["summary"]?.GetValue<string>()), $"{where}: no summary");
                Assert.NotEmpty(op["tags"]!.AsArray());
                var security = op["security"]!.AsArray();
                var responses = op["responses"]!.AsObject();
                Assert.True(responses.Any(r => r.Key.StartsWith('2') && (r.Key == "204" || r.Value!["content"] is not null)), $"{where}: no success answer with a schema");
                foreach (var (status, response) in responses.Where(r => r.Key[0] is '4' or '5'))
                {
                    var codes = response!["x-codes"]?.AsArray().Select(c => c!.GetValue<string>()).ToList();
                    Assert.True(codes is { Count: > 0 }, $"{where}: answer {status} lists no codes");
                    foreach (var code in codes!)
                        Assert.True(status == "415" || Failure.Table[code].Status.ToString(System.Globalization.CultureInfo.InvariantCulture) == status, $"{where}: code {code} under {status}");
                    Assert.Equal("#/components/schemas/Problem", response["content"]!["application/problem+json"]!["schema"]!["$ref"]!.GetValue<string>());
                }
                if (security.Any(r => r!.AsObject().Count > 0))
                    Assert.Contains(Virtuoso.Contracts.Api.ErrorCodes.Unauthenticated, responses["401"]!["x-codes"]!.AsArray().Select(c => c!.GetValue<string>()));
            }
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.True(ids.Count >= 58, $"only {ids.Count} operations");
        Assert.Equal(["apiKey", "session"], doc["components"]!["securitySchemes"]!.AsObject().Select(s => s.Key).Order());
        // A sample: starting a machine says what it answers and why it can be refused.
        var start = doc["paths"]!["/api/v1/machines/{id}/start"]!["post"]!;
        Assert.Equal("startMachine", start["operationId"]!.GetValue<string>());
        Assert.Equal("#/components/schemas/MachineResponse", start["responses"]!["200"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
        Assert.Contains("insufficient-funds", start["responses"]!["402"]!["x-codes"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Contains("read-only-key", start["responses"]!["403"]!["x-codes"]!.AsArray().Select(c => c!.GetValue<string>()));
        // Making an API key needs a session: the key scheme is not offered.
        Assert.Equal(["session"], doc["paths"]!["/api/v1/tokens"]!["post"]!["security"]!.AsArray().SelectMany(r => r!.AsObject().Select(s => s.Key)));
    }

    /// <summary>
    /// The document as committed (docs/openapi-v1.json): the end-to-end tests generate their client from that file, so it must be what the front-end serves.
    /// </summary>
    [Fact]
    public async Task ServedDocument_IsTheCommittedOne()
    {
        var served = Snapshot(await DocumentAsync());
        var committed = Path.Combine(RepoRoot, "docs", "openapi-v1.json");
        var now = File.Exists(committed) ? await File.ReadAllTextAsync(committed) : "";
        if (now != served)
        {
            var fresh = Path.Combine(RepoRoot, "build", "openapi-v1.json");
            Directory.CreateDirectory(Path.GetDirectoryName(fresh)!);
            await File.WriteAllTextAsync(fresh, served);
            Assert.Fail($"the served /openapi/v1.json differs from docs/openapi-v1.json: if the change is meant, cp {fresh} {committed}");
        }
    }

    /// <summary>
    /// Redocly's recommended rules (tools/openapi pins the CLI; ./test runs its <c>npm ci</c>): no error and no warning on
    /// the document the front-end serves. tools/openapi/redocly.yaml says which rule is off and why.
    /// </summary>
    [Fact]
    public async Task ServedDocument_PassesRedoclyRecommendedLint_WithoutErrorsOrWarnings()
    {
        var tools = Path.Combine(RepoRoot, "tools", "openapi");
        var redocly = Path.Combine(tools, "node_modules", ".bin", "redocly");
        Assert.True(File.Exists(redocly), $"Redocly CLI is not installed: run 'npm ci' in {tools} (./test does)");
        Directory.CreateDirectory(Path.Combine(tools, "build"));
        await File.WriteAllTextAsync(Path.Combine(tools, "build", "v1.json"), (await DocumentAsync()).ToJsonString());

        var psi = new ProcessStartInfo(redocly) { WorkingDirectory = tools, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "lint", "build/v1.json", "--format=json", "--max-problems=1000" }) psi.ArgumentList.Add(a);
        psi.Environment["REDOCLY_TELEMETRY"] = "off";
        psi.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
        using var lint = Process.Start(psi)!;
        var output = lint.StandardOutput.ReadToEndAsync();
        var errors = lint.StandardError.ReadToEndAsync();
        await lint.WaitForExitAsync();
        var report = JsonNode.Parse(await output)!;
        var problems = report["problems"]!.AsArray().Select(p => $"{p!["severity"]} {p["ruleId"]}: {p["message"]} at {p["location"]?[0]?["pointer"]}");
        Assert.True(report["totals"]!["errors"]!.GetValue<int>() == 0 && report["totals"]!["warnings"]!.GetValue<int>() == 0,
            "Redocly lint:\n" + string.Join("\n", problems) + "\n" + await errors);
        Assert.Equal(0, lint.ExitCode);
    }

    private async Task<JsonNode> DocumentAsync() =>
        JsonNode.Parse(await (await market.Anonymous().GetAsync("/openapi/v1.json")).EnsureSuccessStatusCode().Content.ReadAsStringAsync())!;

    /// <summary>The committed form: the served document, indented, with a final newline.</summary>
    private static string Snapshot(JsonNode doc)
    {
        Assert.Equal("/", doc["servers"]![0]!["url"]!.GetValue<string>()); // wherever it is served: see ApiDocument
        return doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Virtuoso.sln"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root (Virtuoso.sln) above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("^[a-z][a-zA-Z0-9]*$")] private static partial Regex CamelCase();
}
