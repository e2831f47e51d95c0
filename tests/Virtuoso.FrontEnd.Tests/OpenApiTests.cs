using System.Net;
using System.Text.Json;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests;

/// <summary>Program.cs: the health probe and the OpenAPI document (issue 2, item 3).</summary>
public sealed class OpenApiTests(MarketFixture market) : IClassFixture<MarketFixture>
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
}
