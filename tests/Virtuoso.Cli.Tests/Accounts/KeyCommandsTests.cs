using Virtuoso.Cli.Tests.Support;
using Virtuoso.Contracts.Api;

namespace Virtuoso.Cli.Tests.Accounts;

/// <summary>virtuoso keys, keys add, keys delete (issue 14 item 1) against the fake API.</summary>
public sealed class KeyCommandsTests : IAsyncLifetime
{
    private const string Ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBZThquglklY6LYqWcuIWEd6yl4mtpPh/nPxy9M7wS4m test-ed25519@virtuoso";
    private const string Fingerprint = "SHA256:1/jtc+zl9hjXo6jIvd4Thwyk+GtxjiSfN3VmcnoGX1w";

    private static readonly KeyResponse Laptop = new("laptop", "ssh-ed25519", 256, Fingerprint, Ed25519, new DateTimeOffset(2026, 11, 3, 12, 0, 0, TimeSpan.Zero));

    private Harness h = null!;

    public async Task InitializeAsync() => h = (await Harness.StartAsync()).LogIn();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(h.Root, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Keys_ListsNameTypeAndFingerprint()
    {
        h.Api.Json("GET /api/v1/keys", new[] { Laptop, new KeyResponse("work", "ssh-rsa", 2048, "SHA256:MAOn6iFeHDL4BhjjvtKFrB6YfVA9lw/IVL0SEN2UOK0", "ssh-rsa AAAA", Laptop.CreatedAt) });

        var run = (await h.RunAsync("keys")).Succeeded();

        var lines = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["NAME", "TYPE", "BITS", "FINGERPRINT", "COMMENT"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["laptop", "ssh-ed25519", "256", Fingerprint, "test-ed25519@virtuoso"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("work", lines[2]);
        Assert.Equal("Bearer token-alice", Assert.Single(h.Api.Requests).Authorization);
    }

    [Fact]
    public async Task Keys_None_SaysHowToAddOne_AndJsonIsTheList()
    {
        h.Api.Json("GET /api/v1/keys", Array.Empty<KeyResponse>());
        Assert.Contains("virtuoso keys add NAME --file", (await h.RunAsync("keys")).Succeeded().Out);

        h.Api.Json("GET /api/v1/keys", new[] { Laptop });
        var json = (await h.RunAsync("keys", "--json")).Succeeded().Json;
        Assert.Equal(Fingerprint, json[0].GetProperty("fingerprint").GetString());
    }

    [Fact]
    public async Task Add_SendsTheFilesText_AndSaysTheFingerprint()
    {
        h.Api.Json("POST /api/v1/keys", Laptop, 201);
        var path = WriteFile("id_ed25519.pub", Ed25519 + "\n");

        var run = (await h.RunAsync("keys", "add", "laptop", "--file", path)).Succeeded();

        Assert.Equal(new AddKeyRequest("laptop", Ed25519 + "\n"), Assert.Single(h.Api.Requests).BodyAs<AddKeyRequest>());
        Assert.Contains($"Added key laptop: ssh-ed25519 {Fingerprint}", run.Out);
    }

    [Fact]
    public async Task Add_MissingFile_IsOneClearLine_AndSendsNothing()
    {
        var path = Path.Combine(h.Root, "no-such.pub");

        var line = (await h.RunAsync("keys", "add", "laptop", "--file", path)).Failed(2, "local-files");

        Assert.Equal($"error: cannot read {path}: no such file (local-files)", line);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Add_PrivateKeyFile_IsRefusedHere_AndNeverSent()
    {
        var path = WriteFile("id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n");

        var line = (await h.RunAsync("keys", "add", "laptop", "--file", path)).Failed(2, ErrorCodes.InvalidKey);

        Assert.Contains("is a private key; give the .pub file", line);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Add_HugeFile_IsRefusedHere()
    {
        var path = WriteFile("big.pub", new string('A', 100 * 1024));

        var line = (await h.RunAsync("keys", "add", "big", "--file", path)).Failed(2, "usage");

        Assert.Contains("not a public key file", line);
        Assert.Empty(h.Api.Requests);
    }

    [Fact]
    public async Task Add_ServersRefusal_IsItsMessageAndCode()
    {
        h.Api.Problem("POST /api/v1/keys", 400, ErrorCodes.InvalidKey, "Not an accepted SSH public key", "the RSA key has 1024 bits; at least 2048 are required");
        var path = WriteFile("id_rsa.pub", "ssh-rsa AAAA old");

        var line = (await h.RunAsync("keys", "add", "old", "--file", path)).Failed(1, ErrorCodes.InvalidKey);

        Assert.Contains("1024 bits; at least 2048", line);
    }

    [Fact]
    public async Task Add_WithoutFile_IsUsageError()
    {
        var line = (await h.RunAsync("keys", "add", "laptop")).Failed(2, "usage");
        Assert.Contains("--file", line);
    }

    [Fact]
    public async Task Delete_EscapesTheName_AndSaysSo()
    {
        h.Api.NoContent("DELETE /api/v1/keys/me@work").NoContent("DELETE /api/v1/keys/a%2Fb");

        var run = (await h.RunAsync("keys", "delete", "me@work")).Succeeded();
        (await h.RunAsync("keys", "delete", "a/b")).Succeeded();

        Assert.Equal(["/api/v1/keys/me@work", "/api/v1/keys/a%2Fb"], h.Api.Requests.Select(r => r.Path));
        Assert.Equal("Deleted key me@work.\n", run.Out);
    }

    [Fact]
    public async Task Delete_Unknown_IsTheServersNotFound()
    {
        h.Api.Problem("DELETE /api/v1/keys/gone", 404, ErrorCodes.NotFound, "Not found", "key 'gone' not found");
        Assert.Contains("key 'gone' not found", (await h.RunAsync("keys", "delete", "gone")).Failed(1, ErrorCodes.NotFound));
    }

    [Fact]
    public async Task Keys_NotLoggedIn_SendsNothing()
    {
        File.Delete(h.CredentialsFile);
        (await h.RunAsync("keys")).Failed(1, ErrorCodes.Unauthenticated);
        Assert.Empty(h.Api.Requests);
    }
}
