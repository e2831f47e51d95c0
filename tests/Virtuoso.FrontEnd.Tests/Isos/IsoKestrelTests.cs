using System.Net;
using System.Net.Sockets;
using System.Text;
using Virtuoso.Contracts.Api;
using Virtuoso.FrontEnd.Accounts;
using Virtuoso.FrontEnd.Tests.Support;

namespace Virtuoso.FrontEnd.Tests.Isos;

/// <summary>
/// Uploads through real Kestrel, not the in-process test server, for what only a real server does (issue 15): its request
/// body limit (30 MB by default) is lifted for an upload, and a client that sends fewer bytes than its Content-Length and
/// hangs up leaves neither a row nor a file.
/// </summary>
public sealed class IsoKestrelTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _database = new();
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "virtuoso-iso-kestrel-" + Guid.NewGuid().ToString("N"));
    private VirtuosoFactory _factory = null!;
    private Session _buyer = null!;

    public async Task InitializeAsync()
    {
        await _database.CreateAsync();
        _factory = new VirtuosoFactory(_database.SettingFor("front-end"), _dataDir,
            settings: new Dictionary<string, string?> { ["Virtuoso:IsoQuotaBytes"] = (64L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        _factory.UseKestrel(0);
        _factory.StartServer();
        _buyer = await Session.SignupAsync(_factory.CreateClient, MarketFixture.UniqueName("kestrel-buyer"), Roles.Buyer);
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _database.DisposeAsync();
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public async Task Upload_LargerThanKestrelsDefaultBodyLimit_IsStored()
    {
        var bytes = TestIsos.Bootable(blocks: 40 << 20 >> 11, seed: 7); // 40 MB

        var response = await _buyer.Http.PutAsync("/api/v1/isos/big", TestIsos.Content(bytes));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(bytes.Length, (await Session.Ok<IsoResponse>(response)).Size);
        Assert.Equal(bytes.Length, new FileInfo(Path.Combine(_dataDir, "blobs", "sha256", TestIsos.Sha256(bytes))).Length);
    }

    [Fact]
    public async Task Client_HangingUpBeforeItsContentLength_LeavesNoRowAndNoFile()
    {
        var bytes = TestIsos.Bootable(seed: 8);
        var address = _factory.CreateClient().BaseAddress!;
        var temp = Path.Combine(_dataDir, "blobs", "tmp");
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(address.Host, address.Port);
            var stream = tcp.GetStream();
            var head = $"PUT /api/v1/isos/gave-up HTTP/1.1\r\nHost: {address.Authority}\r\nAuthorization: Bearer {_buyer.Token}\r\n" +
                $"Content-Type: application/octet-stream\r\nContent-Length: {bytes.Length}\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(bytes.AsMemory(0, bytes.Length - 8192));
            await stream.FlushAsync();
            for (var i = 0; i < 100 && !(Directory.Exists(temp) && Directory.GetFiles(temp).Length > 0); i++) await Task.Delay(20);
            Assert.NotEmpty(Directory.GetFiles(temp)); // the front-end is writing the upload when the client goes
        }

        // The server notices the hang-up, refuses and cleans up asynchronously.
        for (var i = 0; i < 100 && Directory.Exists(temp) && Directory.GetFiles(temp).Length > 0; i++) await Task.Delay(50);
        Assert.Empty(Directory.Exists(temp) ? Directory.GetFiles(temp) : []);
        Assert.Empty((await Session.Ok<IsoListResponse>(await _buyer.GetAsync("/api/v1/isos"))).Isos);
        Assert.False(File.Exists(Path.Combine(_dataDir, "blobs", "sha256", TestIsos.Sha256(bytes))));
    }
}
