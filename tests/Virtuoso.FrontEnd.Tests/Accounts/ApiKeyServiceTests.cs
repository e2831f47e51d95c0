using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Data;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Accounts;

/// <summary>ApiKeyServiceTests on SQLite, the default dialect.</summary>
public sealed class ApiKeyServiceTests(MarketFixture market) : ApiKeyServiceTests<MarketFixture>(market);

/// <summary>ApiKeyServiceTests on PostgreSQL, production's dialect.</summary>
public sealed class ApiKeyServicePostgresTests(PostgresMarketFixture market) : ApiKeyServiceTests<PostgresMarketFixture>(market);

/// <summary>
/// API keys through the API (issue 20 point 2): made with a session and shown once, listed without the key, stored only
/// as a hash; a key authenticates as its owner on the API only; a read key is refused every write whatever the endpoint,
/// and no key makes or revokes keys; a revoked key is refused; every bad input has its stable code and stores nothing.
/// </summary>
public abstract class ApiKeyServiceTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    private static async Task<NewApiKeyResponse> MakeAsync(Session owner, string name, string scope, string? expires = null)
    {
        var response = await owner.PostAsync("/api/v1/tokens", new CreateApiKeyRequest(name, scope, expires));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/api/v1/tokens/{name}", response.Headers.Location?.ToString());
        return await Session.Ok<NewApiKeyResponse>(response);
    }

    /// <summary>The owner, as a client carrying <paramref name="key"/> instead of a session token.</summary>
    private Session As(Session owner, NewApiKeyResponse key) =>
        new(Session.WithToken(market.Anonymous(), key.Key), owner.Username, owner.Password, key.Key, market);

    private static async Task<List<ApiKeyResponse>> ListAsync(Session s) => await Session.Ok<List<ApiKeyResponse>>(await s.GetAsync("/api/v1/tokens"));

    [Fact]
    public async Task Make_AnswersTheKeyOnce_ListShowsEverythingButTheKey()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);

        var made = await MakeAsync(buyer, "ci", "read", "30d");

        Assert.StartsWith("vk_", made.Key);
        Assert.Equal(3 + 43, made.Key.Length); // 256 random bits, unpadded base64url
        Assert.Equal(("ci", "read"), (made.Name, made.Scope));
        Assert.Equal(TimeSpan.FromDays(30), made.ExpiresAt!.Value - made.CreatedAt);
        var second = await MakeAsync(buyer, "terraform", "write");
        Assert.NotEqual(made.Key, second.Key);
        Assert.Null(second.ExpiresAt);

        var raw = await (await buyer.GetAsync("/api/v1/tokens")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("vk_", raw);
        var listed = await ListAsync(buyer);
        Assert.Equal([("ci", "read", made.CreatedAt, made.ExpiresAt, (DateTimeOffset?)null, false), ("terraform", "write", second.CreatedAt, null, null, false)],
            listed.Select(k => (k.Name, k.Scope, k.CreatedAt, k.ExpiresAt, k.LastUsedAt, k.Expired)));
        Assert.Contains(await buyer.EventsAsync(), e => e.Kind == "api-key-created" && e.Message.Contains("ci", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Database_HoldsOnlyTheKeysHash_InNoTableAnywhere()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        var made = await MakeAsync(buyer, "hashed", "write");
        Assert.Equal(HttpStatusCode.OK, (await As(buyer, made).GetAsync("/api/v1/account")).StatusCode); // used once: last_used_at written too

        var stored = await market.Database.Database.ReadAsync(c => Dapper.SqlMapper.QuerySingleAsync<string>(c,
            "SELECT key_hash FROM api_keys WHERE owner = @owner AND name = 'hashed'", new { owner = buyer.Username }));
        Assert.Equal(Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(made.Key))), stored);
        // Neither the key nor its secret part, in any text column of any table (events, logs of the key's making included).
        var secret = made.Key["vk_".Length..];
        var columns = await market.Database.ColumnTypesAsync();
        Assert.Contains(columns, c => c.Table == "api_keys");
        foreach (var (table, column, type) in columns.Where(c => c.Type.Contains("text", StringComparison.Ordinal) || c.Type.Contains("char", StringComparison.Ordinal)))
            Assert.Equal(0, await market.CountAsync($"SELECT COUNT(*) FROM {table} WHERE {column} LIKE @k", ("k", "%" + secret + "%")));
    }

    [Fact]
    public async Task WriteKey_ActsAsItsOwnerOnTheApi()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        var key = As(buyer, await MakeAsync(buyer, "robot", "write"));

        Assert.Equal(buyer.Username, (await key.AccountAsync()).Username);
        var machine = await key.RegisterAsync("Configuration1", 1000m, 100m);
        await key.StoreAsync(machine.Id, (await market.RoomyHostAsync()).Name);
        Assert.Equal("running", (await key.ActAsync(machine.Id, "start")).State);
        Assert.Equal("stopped", (await key.ActAsync(machine.Id, "stop")).State);
        Assert.Equal([machine.Id], (await buyer.MachinesAsync()).Select(m => m.Id));
        Assert.NotNull(Assert.Single(await ListAsync(buyer)).LastUsedAt);
    }

    [Fact]
    public async Task ReadKey_ReadsEverything_ButEveryWriteOnEveryEndpointIsRefusedAsReadOnly_AndChangesNothing()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        await buyer.StoreAsync(machine.Id, (await market.RoomyHostAsync()).Name);
        Assert.Equal(HttpStatusCode.Created, (await buyer.PostAsync("/api/v1/keys", new AddKeyRequest("laptop", TestKeys.Ed25519))).StatusCode);
        await MakeAsync(buyer, "other", "write");
        var reader = As(buyer, await MakeAsync(buyer, "reader", "read"));
        var before = (Machines(await buyer.MachinesAsync()), await buyer.BalanceAsync(), string.Join(",", Names(await ListAsync(buyer))));

        // Reading works: the account, machines, one machine, the ledger, keys, tokens.
        Assert.Equal(buyer.Username, (await reader.AccountAsync()).Username);
        Assert.Equal(machine.Id, (await reader.MachineAsync(machine.Id)).Id);
        foreach (var path in new[] { "/api/v1/machines", "/api/v1/ledger", "/api/v1/keys", "/api/v1/tokens", "/api/v1/events", "/api/v1/notifications" })
            Assert.True((await reader.GetAsync(path)).StatusCode == HttpStatusCode.OK, path);

        var id = machine.Id.ToString("D");
        (HttpMethod Method, string Path, string Body)[] writes =
        [
            (HttpMethod.Post, "/api/v1/machines", """{"config":"Configuration1","storageBid":1000,"runningBid":100}"""),
            (HttpMethod.Patch, $"/api/v1/machines/{id}", """{"name":"renamed"}"""),
            (HttpMethod.Post, $"/api/v1/machines/{id}/store", $$"""{"host":"{{(await market.RoomyHostAsync()).Name}}"}"""),
            (HttpMethod.Post, $"/api/v1/machines/{id}/start", "{}"),
            (HttpMethod.Post, $"/api/v1/machines/{id}/ports", """{"port":8080}"""),
            (HttpMethod.Post, $"/api/v1/machines/{id}/console", "{}"),
            (HttpMethod.Post, $"/api/v1/machines/{id}/tunnel", "{}"),
            (HttpMethod.Delete, $"/api/v1/machines/{id}", ""),
            (HttpMethod.Post, "/api/v1/keys", $$"""{"name":"phone","publicKey":"{{TestKeys.Ecdsa256}}"}"""),
            (HttpMethod.Delete, "/api/v1/keys/laptop", ""),
            (HttpMethod.Post, "/api/v1/tokens", """{"name":"minted","scope":"write"}"""),
            (HttpMethod.Delete, "/api/v1/tokens/other", ""),
            (HttpMethod.Delete, "/api/v1/tokens/reader", ""),
            (HttpMethod.Put, "/api/v1/isos/boot", "{}"),
            (HttpMethod.Post, "/api/v1/networks", """{"name":"lan","subnet":"10.1.0.0/24"}"""),
            (HttpMethod.Post, "/api/v1/notifications/read", "{}"),
            (HttpMethod.Put, "/api/v1/notifications/settings", """{"balanceBelow":5}"""),
            (HttpMethod.Post, "/api/v1/deposits", $$"""{"username":"{{buyer.Username}}","amount":1000}"""),
            (HttpMethod.Post, "/api/v1/hosts", """{"name":"mine"}"""), // another role's endpoint: still refused as read-only first
            (HttpMethod.Delete, "/api/v1/sessions/current", ""),
            (HttpMethod.Post, "/api/v1/sessions", $$"""{"username":"{{buyer.Username}}","password":"{{buyer.Password}}"}"""),
        ];
        foreach (var (method, path, body) in writes)
        {
            var request = new HttpRequestMessage(method, path);
            if (body.Length > 0) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            var problem = await Problem.AssertAsync(await reader.Http.SendAsync(request), 403, ErrorCodes.ReadOnlyKey);
            Assert.Contains("('reader') is read-only", Problem.Detail(problem));
        }

        Assert.Equal(before, (Machines(await buyer.MachinesAsync()), await buyer.BalanceAsync(), string.Join(",", Names(await ListAsync(buyer)))));
        Assert.Equal(["laptop"], (await Session.Ok<List<KeyResponse>>(await buyer.GetAsync("/api/v1/keys"))).Select(k => k.Name));
        Assert.DoesNotContain(await Session.Ok<List<NetworkResponse>>(await buyer.GetAsync("/api/v1/networks")), n => n.Name == "lan");
    }

    [Fact]
    public async Task ReadKey_OfAProvider_CannotAddEditTestOrDeleteHosts()
    {
        var provider = await market.SignupAsync(Roles.Provider);
        var host = await provider.AddHostAsync(HostSpecs.Virt13(MarketFixture.UniqueName("host"), market.Spare));
        var reader = As(provider, await MakeAsync(provider, "dashboard", "read"));
        var before = Snapshot.Of(await provider.HostAsync(host.Name));

        Assert.Equal(host.Name, (await reader.HostAsync(host.Name)).Name);
        await Problem.AssertAsync(await reader.PostAsync("/api/v1/hosts", HostSpecs.Virt13(MarketFixture.UniqueName("host"), market.Spare)), 403, ErrorCodes.ReadOnlyKey);
        await Problem.AssertAsync(await reader.PatchAsync($"/api/v1/hosts/{host.Name}", new { storagePrice = 1m }), 403, ErrorCodes.ReadOnlyKey);
        await Problem.AssertAsync(await reader.PostAsync($"/api/v1/hosts/{host.Name}/test"), 403, ErrorCodes.ReadOnlyKey);
        await Problem.AssertAsync(await reader.DeleteAsync($"/api/v1/hosts/{host.Name}"), 403, ErrorCodes.ReadOnlyKey);

        Assert.Equal(before, Snapshot.Of(await provider.HostAsync(host.Name)));
        Assert.Single(await Session.Ok<List<HostResponse>>(await provider.GetAsync("/api/v1/hosts")), h => h.Name == host.Name);
    }

    [Fact]
    public async Task WriteKey_CannotMakeOrRevokeKeys_ThatNeedsASession()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        var writer = As(buyer, await MakeAsync(buyer, "writer", "write"));

        var make = await Problem.AssertAsync(await writer.PostAsync("/api/v1/tokens", new CreateApiKeyRequest("child", "write")), 403, ErrorCodes.SessionRequired);
        await Problem.AssertAsync(await writer.DeleteAsync("/api/v1/tokens/writer"), 403, ErrorCodes.SessionRequired);

        Assert.Contains("log in with your password", Problem.Detail(make));
        Assert.Equal(["writer"], Names(await ListAsync(buyer)));
        Assert.Equal(["writer"], Names(await ListAsync(writer))); // but a key may list them
    }

    [Fact]
    public async Task Revoked_KeyIsRefusedAsInvalid_AtOnce_AndOnlyThatKey()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        var gone = As(buyer, await MakeAsync(buyer, "gone", "write"));
        var kept = As(buyer, await MakeAsync(buyer, "kept", "read"));
        Assert.Equal(HttpStatusCode.OK, (await gone.GetAsync("/api/v1/account")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync("/api/v1/tokens/gone")).StatusCode);

        var problem = await Problem.AssertAsync(await gone.GetAsync("/api/v1/account"), 401, ErrorCodes.InvalidApiKey);
        Assert.Contains("revoked", Problem.Detail(problem));
        Assert.Equal(HttpStatusCode.OK, (await kept.GetAsync("/api/v1/account")).StatusCode);
        Assert.Equal(["kept"], Names(await ListAsync(buyer)));
        Assert.Equal(0, await market.CountAsync("SELECT COUNT(*) FROM api_keys WHERE owner = @o AND name = 'gone'", ("o", buyer.Username)));
        await Problem.AssertAsync(await buyer.DeleteAsync("/api/v1/tokens/gone"), 404, ErrorCodes.NotFound);
        Assert.Contains(await buyer.EventsAsync(), e => e.Kind == "api-key-revoked");
        // The name is free again, for a new key.
        Assert.NotEqual(gone.Token, (await MakeAsync(buyer, "gone", "write")).Key);
    }

    [Fact]
    public async Task UnknownKey_Is401InvalidApiKey_WhileABadSessionTokenStaysUnauthenticated()
    {
        var stranger = Session.WithToken(market.Anonymous(), "vk_" + new string('A', 43));
        await Problem.AssertAsync(await stranger.GetAsync("/api/v1/account"), 401, ErrorCodes.InvalidApiKey);
        await Problem.AssertAsync(await Session.WithToken(market.Anonymous(), "not-a-session").GetAsync("/api/v1/account"), 401, ErrorCodes.Unauthenticated);
    }

    [Fact]
    public async Task SessionToken_ThatHappensToBeginLikeAKey_StillWorks()
    {
        // One session token in 262,144 begins with "vk_": it is a session, not an unknown key.
        var buyer = await market.SignupAsync(Roles.Buyer);
        var token = "vk_" + Guid.NewGuid().ToString("N");
        await market.Factory.Services.GetRequiredService<Database>().WriteAsync((c, tx) => Dapper.SqlMapper.ExecuteAsync(c,
            "INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES (@h, @u, @now, @later)",
            new { h = PasswordHasher.TokenHash(token), u = buyer.Username, now = DateTimeOffset.UtcNow, later = DateTimeOffset.UtcNow.AddHours(1) }, tx));

        Assert.Equal(buyer.Username, (await Session.Ok<AccountResponse>(await Session.WithToken(market.Anonymous(), token).GetAsync("/api/v1/account"))).Username);
    }

    [Fact]
    public async Task Key_DoesNotLogInToTheWebPages()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        var key = await MakeAsync(buyer, "web", "write");
        var web = WebUser.Anonymous(market);
        web.Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key.Key);

        foreach (var page in new[] { "/account", "/account/tokens", "/machines" })
        {
            var answer = await web.GetAsync(page);
            Assert.True(answer.Status == HttpStatusCode.Redirect && answer.Location!.StartsWith("/login", StringComparison.Ordinal), $"{page}: {answer.Status} {answer.Location}");
        }
        Assert.DoesNotContain(buyer.Username, (await web.GetAsync("/configurations")).Html);
    }

    public static TheoryData<string, string, string?, int, string, string> Refusals() => new()
    {
        { "", "read", null, 400, ErrorCodes.Validation, "name must be 1–63" },
        { "two words", "read", null, 400, ErrorCodes.Validation, "name must be 1–63" },
        { "-dash", "read", null, 400, ErrorCodes.Validation, "name must be 1–63" },
        { new string('k', 64), "read", null, 400, ErrorCodes.Validation, "name must be 1–63" },
        { "ok", "admin", null, 400, ErrorCodes.InvalidScope, "'read' (GET and HEAD only) or 'write', not 'admin'" },
        { "ok", "", null, 400, ErrorCodes.InvalidScope, "not ''" },
        { "ok", "read", "30", 400, ErrorCodes.InvalidExpiry, "12h, 30d or 365d" },
        { "ok", "read", "0d", 400, ErrorCodes.InvalidExpiry, "not '0d'" },
        { "ok", "read", "400d", 400, ErrorCodes.InvalidExpiry, "1 hour to 365 days" },
        { "taken", "write", "1d", 409, ErrorCodes.ApiKeyNameTaken, "already have an API key named 'taken'" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Make_Refused_SaysWhyWithAStableCode_AndStoresNothing(string name, string scope, string? expires, int status, string code, string detail)
    {
        var buyer = await market.SharedBuyerAsync();
        if (!(await ListAsync(buyer)).Any(k => k.Name == "taken")) await MakeAsync(buyer, "taken", "read");
        var before = Snapshot.Of(await ListAsync(buyer));

        var problem = await Problem.AssertAsync(await buyer.PostAsync("/api/v1/tokens", new CreateApiKeyRequest(name, scope, expires)), status, code);

        Assert.Contains(detail, Problem.Detail(problem));
        Assert.Equal(before, Snapshot.Of(await ListAsync(buyer)));
    }

    [Fact]
    public async Task Make_WithoutAScopeOrName_IsRefusedAsSuch()
    {
        var buyer = await market.SharedBuyerAsync();
        var before = Snapshot.Of(await ListAsync(buyer));

        await Problem.AssertAsync(await buyer.PostAsync("/api/v1/tokens", """{"name":"x"}"""), 400, ErrorCodes.InvalidScope);
        await Problem.AssertAsync(await buyer.PostAsync("/api/v1/tokens", """{"scope":"read"}"""), 400, ErrorCodes.Validation);
        await Problem.AssertAsync(await buyer.PostAsync("/api/v1/tokens", """{"name":"x","scope":"read","key":"vk_mine"}"""), 400, ErrorCodes.Validation);

        Assert.Equal(before, Snapshot.Of(await ListAsync(buyer)));
    }

    [Fact]
    public async Task Make_BeyondTheCap_IsTooManyKeys()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        for (var i = 0; i < Core.Accounts.ApiKeys.MaxPerAccount; i++) await MakeAsync(buyer, $"k{i}", "read");

        await Problem.AssertAsync(await buyer.PostAsync("/api/v1/tokens", new CreateApiKeyRequest("one-more", "read")), 409, ErrorCodes.TooManyKeys);

        Assert.Equal(Core.Accounts.ApiKeys.MaxPerAccount, (await ListAsync(buyer)).Count);
    }

    [Fact]
    public async Task AnotherAccountsKeys_AreNeitherListedNorRevocable()
    {
        var owner = await market.SignupAsync(Roles.Buyer);
        var key = As(owner, await MakeAsync(owner, "mine", "read"));
        var other = await market.SignupAsync(Roles.Buyer);

        Assert.Empty(await ListAsync(other));
        await Problem.AssertAsync(await other.DeleteAsync("/api/v1/tokens/mine"), 404, ErrorCodes.NotFound);

        Assert.Equal(["mine"], Names(await ListAsync(owner)));
        Assert.Equal(HttpStatusCode.OK, (await key.GetAsync("/api/v1/account")).StatusCode);
    }

    [Fact]
    public async Task Tokens_WithoutAnyCredentials_AreUnauthenticated()
    {
        await Problem.AssertAsync(await market.Anonymous().GetAsync("/api/v1/tokens"), 401, ErrorCodes.Unauthenticated);
        await Problem.AssertAsync(await market.Anonymous().PostAsync("/api/v1/tokens", System.Net.Http.Json.JsonContent.Create(new CreateApiKeyRequest("x", "read"))), 401, ErrorCodes.Unauthenticated);
    }

    /// <summary>The machines as JSON, without what the host monitor measures meanwhile.</summary>
    private static string Machines(IEnumerable<MachineResponse> machines) => string.Join("\n", machines.Select(m => Snapshot.Of(m)));

    private static List<string> Names(IEnumerable<ApiKeyResponse> keys) => keys.Select(k => k.Name).ToList();
}
