using System.Net;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Accounts;

/// <summary>SshKeysTests on SQLite, the default dialect.</summary>
public sealed class SshKeysTests(MarketFixture market) : SshKeysTests<MarketFixture>(market);

/// <summary>SshKeysTests on PostgreSQL, production's dialect.</summary>
public sealed class SshKeysPostgresTests(PostgresMarketFixture market) : SshKeysTests<PostgresMarketFixture>(market);

/// <summary>
/// SshKeys and KeyEndpoints through the API (issue 14 item 1): the accepted types with ssh-keygen's fingerprints, the
/// normalised lines in creation order for the seed, every refusal with its code and nothing stored, and one account's
/// keys out of every other's reach.
/// </summary>
public abstract class SshKeysTests<TMarket>(TMarket market) : IClassFixture<TMarket> where TMarket : MarketFixture
{
    [Fact]
    public async Task Add_EachAcceptedType_IsListedWithSshKeygensFingerprint_AndItsLineGivenInCreationOrder()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        (string Name, string Line, string Type, int Bits, string Fingerprint)[] keys =
        [
            ("laptop", "  " + TestKeys.Ed25519.Replace(" test", "\t  test", StringComparison.Ordinal) + "\n", "ssh-ed25519", 256, TestKeys.Ed25519Fingerprint),
            ("phone", TestKeys.Ecdsa256, "ecdsa-sha2-nistp256", 256, TestKeys.Ecdsa256Fingerprint),
            ("yubi.old", TestKeys.Ecdsa521, "ecdsa-sha2-nistp521", 521, TestKeys.Ecdsa521Fingerprint),
            ("me@work", TestKeys.Rsa2048, "ssh-rsa", 2048, TestKeys.Rsa2048Fingerprint),
        ];

        foreach (var k in keys)
        {
            var response = await buyer.PostAsync("/api/v1/keys", new AddKeyRequest(k.Name, k.Line));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal($"/api/v1/keys/{Uri.EscapeDataString(k.Name)}", response.Headers.Location?.ToString());
        }

        var listed = await ListAsync(buyer);
        Assert.Equal(keys.Select(k => (k.Name, k.Type, k.Bits, k.Fingerprint)), listed.Select(k => (k.Name, k.Type, k.Bits, k.Fingerprint)));
        Assert.Equal(TestKeys.Ed25519, listed[0].PublicKey); // the tab and blanks normalised away
        var lines = await market.Database.Database.ReadAsync(c => SshKeys.LinesAsync(c, buyer.Username, null));
        Assert.Equal([TestKeys.Ed25519, TestKeys.Ecdsa256, TestKeys.Ecdsa521, TestKeys.Rsa2048], lines);
        Assert.Contains(await buyer.EventsAsync(), e => e.Kind == "key-added" && e.Message.Contains(TestKeys.Rsa2048Fingerprint, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_GivesTheAgentTheHostnameAndTheOwnersKeysOfThatMoment()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        Assert.Equal(HttpStatusCode.Created, (await buyer.PostAsync("/api/v1/keys", new AddKeyRequest("laptop", TestKeys.Ed25519))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await buyer.PostAsync("/api/v1/keys", new AddKeyRequest("work", TestKeys.Rsa2048))).StatusCode);
        var machine = await buyer.RegisterAsync("Configuration1", 1000m, 100m);
        Assert.Equal(HttpStatusCode.OK, (await buyer.PatchAsync($"/api/v1/machines/{machine.Id:D}", new EditMachineRequest("My Web Server", null, null, null, null, null, null, null))).StatusCode);
        await buyer.StoreAsync(machine.Id, (await market.RoomyHostAsync()).Name);

        await buyer.ActAsync(machine.Id, "start");
        var first = market.Spare.Metadata[machine.Id]!;
        Assert.Equal("my-web-server", first.Hostname);
        Assert.Equal([TestKeys.Ed25519, TestKeys.Rsa2048], first.SshKeys);

        // A key deleted applies from the next start; a suspend and resume carry the keys of that moment too.
        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync("/api/v1/keys/laptop")).StatusCode);
        await buyer.ActAsync(machine.Id, "suspend");
        await buyer.ActAsync(machine.Id, "resume");
        Assert.Equal([TestKeys.Rsa2048], market.Spare.Metadata[machine.Id]!.SshKeys);
        await buyer.ActAsync(machine.Id, "stop");
    }

    [Fact]
    public async Task Provider_MayHaveKeysToo()
    {
        var provider = await market.SignupAsync(Roles.Provider);

        Assert.Equal(HttpStatusCode.Created, (await provider.PostAsync("/api/v1/keys", new AddKeyRequest("ops", TestKeys.Ed25519))).StatusCode);

        Assert.Equal("ops", Assert.Single(await ListAsync(provider)).Name);
    }

    public static TheoryData<string, string?, int, string, string> Refusals() => new()
    {
        { "garbage", "hello, I am not a key", 400, ErrorCodes.InvalidKey, "not an OpenSSH public key" },
        { "private", TestKeys.PrivateKey, 400, ErrorCodes.InvalidKey, "this is a private key; give the .pub file" },
        { "truncated", TestKeys.Ed25519[..60], 400, ErrorCodes.InvalidKey, "exactly 32 bytes" },
        { "dsa", TestKeys.Dsa1024, 400, ErrorCodes.InvalidKey, "DSA keys" },
        { "rsa1024", TestKeys.Rsa1024, 400, ErrorCodes.InvalidKey, "1024 bits; at least 2048" },
        { "huge", new string('A', 100 * 1024), 400, ErrorCodes.InvalidKey, "too long" },
        { "empty", "", 400, ErrorCodes.InvalidKey, "empty" },
        { "missing", null, 400, ErrorCodes.InvalidKey, "no public key" },
        { "", TestKeys.Ecdsa256, 400, ErrorCodes.Validation, "key name" },
        { "-dash", TestKeys.Ecdsa256, 400, ErrorCodes.Validation, "key name" },
        { "two words", TestKeys.Ecdsa256, 400, ErrorCodes.Validation, "key name" },
        { "newline\n", TestKeys.Ecdsa256, 400, ErrorCodes.Validation, "key name" },
        { new string('k', 64), TestKeys.Ecdsa256, 400, ErrorCodes.Validation, "key name" },
        { "laptop", TestKeys.Ecdsa256, 409, ErrorCodes.KeyNameTaken, "already have a key named 'laptop'" },
        { "laptop-again", TestKeys.Ed25519.Replace("test-ed25519@virtuoso", "another comment", StringComparison.Ordinal), 409, ErrorCodes.KeyExists,
            $"({TestKeys.Ed25519Fingerprint}) is already on your account as 'laptop'" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Add_Refused_SaysWhyWithAStableCode_AndStoresNothing(string name, string? key, int status, string code, string detail)
    {
        var buyer = await BuyerWithLaptopKeyAsync();
        var before = await StateOfAsync(buyer);

        var problem = await Problem.AssertAsync(await buyer.PostAsync("/api/v1/keys", new AddKeyRequest(name, key!)), status, code);

        Assert.Contains(detail, Problem.Detail(problem));
        Assert.Equal(before, await StateOfAsync(buyer));
    }

    [Fact]
    public async Task Add_BeyondTheCap_IsRefusedAsTooManyKeys_AndStoresNothing()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        for (var i = 0; i < 20; i++)
            Assert.Equal(HttpStatusCode.Created, (await buyer.PostAsync("/api/v1/keys", new AddKeyRequest($"key{i}", TestKeys.RandomEd25519()))).StatusCode);
        var before = await StateOfAsync(buyer);

        var problem = await Problem.AssertAsync(await buyer.PostAsync("/api/v1/keys", new AddKeyRequest("one-more", TestKeys.Ed25519)), 409, ErrorCodes.TooManyKeys);

        Assert.Contains("at most 20 keys", Problem.Detail(problem));
        Assert.Equal(before, await StateOfAsync(buyer));
        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync("/api/v1/keys/key0")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await buyer.PostAsync("/api/v1/keys", new AddKeyRequest("one-more", TestKeys.Ed25519))).StatusCode);
    }

    [Fact]
    public async Task Delete_RemovesThatKeyOnly_AndItsNameAndKeyCanBeAddedAgain()
    {
        var buyer = await market.SignupAsync(Roles.Buyer);
        await buyer.PostAsync("/api/v1/keys", new AddKeyRequest("a", TestKeys.Ed25519));
        await buyer.PostAsync("/api/v1/keys", new AddKeyRequest("b", TestKeys.Ecdsa256));

        Assert.Equal(HttpStatusCode.NoContent, (await buyer.DeleteAsync("/api/v1/keys/a")).StatusCode);

        Assert.Equal(["b"], (await ListAsync(buyer)).Select(k => k.Name));
        await Problem.AssertAsync(await buyer.DeleteAsync("/api/v1/keys/a"), 404, ErrorCodes.NotFound);
        Assert.Equal(HttpStatusCode.Created, (await buyer.PostAsync("/api/v1/keys", new AddKeyRequest("a", TestKeys.Ed25519))).StatusCode);
        var lines = await market.Database.Database.ReadAsync(c => SshKeys.LinesAsync(c, buyer.Username, null));
        Assert.Equal([TestKeys.Ecdsa256, TestKeys.Ed25519], lines); // re-added: now the newest
        Assert.Contains(await buyer.EventsAsync(), e => e.Kind == "key-deleted");
    }

    [Fact]
    public async Task AnotherAccount_CannotSeeOrDeleteMyKeys_ButMayAddTheSameKeyToItsOwn()
    {
        var mine = await BuyerWithLaptopKeyAsync();
        var other = await market.SignupAsync(Roles.Buyer);
        var before = await StateOfAsync(mine);

        Assert.Empty(await ListAsync(other));
        var problem = await Problem.AssertAsync(await other.DeleteAsync("/api/v1/keys/laptop"), 404, ErrorCodes.NotFound);
        Assert.Equal(HttpStatusCode.Created, (await other.PostAsync("/api/v1/keys", new AddKeyRequest("laptop", TestKeys.Ed25519))).StatusCode);

        Assert.Contains("key 'laptop' not found", Problem.Detail(problem));
        Assert.Equal(before, await StateOfAsync(mine));
        Assert.Equal(TestKeys.Ed25519Fingerprint, Assert.Single(await ListAsync(other)).Fingerprint);
    }

    [Theory]
    [InlineData("GET", "/api/v1/keys")]
    [InlineData("POST", "/api/v1/keys")]
    [InlineData("DELETE", "/api/v1/keys/laptop")]
    public async Task WithoutAToken_IsUnauthenticated(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST") request.Content = System.Net.Http.Json.JsonContent.Create(new AddKeyRequest("x", TestKeys.Ed25519));

        await Problem.AssertAsync(await market.Anonymous().SendAsync(request), 401, ErrorCodes.Unauthenticated);
    }

    [Fact]
    public async Task Add_WithAnUnknownMember_IsAValidationError()
    {
        var buyer = await market.SharedBuyerAsync();

        var response = await buyer.SendAsync(HttpMethod.Post, "/api/v1/keys", $"{{\"name\":\"x\",\"publicKey\":\"{TestKeys.Ecdsa521}\",\"owner\":\"someone-else\"}}");

        await Problem.AssertAsync(response, 400, ErrorCodes.Validation);
    }

    /// <summary>The class's shared buyer, holding the key "laptop" (<see cref="TestKeys.Ed25519"/>).</summary>
    private async Task<Session> BuyerWithLaptopKeyAsync()
    {
        var buyer = await market.SharedBuyerAsync();
        if (!(await ListAsync(buyer)).Any(k => k.Name == "laptop"))
            Assert.Equal(HttpStatusCode.Created, (await buyer.PostAsync("/api/v1/keys", new AddKeyRequest("laptop", TestKeys.Ed25519))).StatusCode);
        return buyer;
    }

    private static async Task<List<KeyResponse>> ListAsync(Session s) => await Session.Ok<List<KeyResponse>>(await s.GetAsync("/api/v1/keys"));

    /// <summary>What a refusal must leave alone: the keys as listed, the rows, and the key events.</summary>
    private async Task<string> StateOfAsync(Session s) =>
        Snapshot.Of(await ListAsync(s)) +
        $" rows={await market.CountAsync("SELECT COUNT(*) FROM ssh_keys WHERE owner = @o", ("@o", s.Username))}" +
        $" events={await market.CountAsync("SELECT COUNT(*) FROM events WHERE account = @o AND kind LIKE 'key-%'", ("@o", s.Username))}";
}
