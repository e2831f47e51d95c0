using Virtuoso.EndToEnd.Tests.Support;

namespace Virtuoso.EndToEnd.Tests.Migration;

/// <summary>
/// The ground the multi-host migration tests stand on (issue 4 item 5): agents in their own network namespaces,
/// reachable from the front-end only through a veth link of a virtual switch, which a test can cut and restore.
/// </summary>
[Collection(RealQemu.Name)]
public sealed class MultiHostNetworkTests
{
    [Fact]
    public async Task AgentsInNamespaces_AreOnlineThroughTheirLinks_AndGoOfflineWhenALinkIsCut()
    {
        using var net = VirtualNetwork.Create();
        await using var m = await Marketplace.StartOnNetworkAsync(net, 60, "alpha", "beta");
        Assert.NotEqual(m.Agents["alpha"].Ip, m.Agents["beta"].Ip);
        Assert.StartsWith("10.77.", m.Agents["alpha"].Ip);

        (await m.CliAsync("p", "signup", "net-provider", "--password", "provider-pass", "--email", "p@example.com", "--provider")).Ok();
        (await m.CliAsync("p", "login", "net-provider", "--password", "provider-pass")).Ok();
        foreach (var a in m.Agents.Values)
            (await m.CliAsync("p", "host", "add", a.Name, "--address", a.Ip, "--port", a.Port.ToString(), "--processor", "x86_64",
                "--speed", "10000", "--speed-unit", "1000", "--speed-price", "0.00001", "--memory", "4096", "--memory-unit", "4",
                "--memory-price", "0.00001", "--running-period", "3600", "--storage", "20000", "--storage-unit", "100",
                "--storage-price", "0.01", "--storage-period", "30", "--connect-speed", "1Gbps", "--secret", a.Secret)).Ok();
        await WaitOnlineAsync(m, "beta", true);
        await WaitOnlineAsync(m, "alpha", true);

        var before = net.BytesInto("beta");
        net.Cut("beta");
        await WaitOnlineAsync(m, "beta", false);
        await WaitOnlineAsync(m, "alpha", true);
        net.Restore("beta");
        await WaitOnlineAsync(m, "beta", true);
        Assert.True(net.BytesInto("beta") > before, "the health checks to beta crossed its link");
    }

    private static async Task WaitOnlineAsync(Marketplace m, string host, bool online)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            var market = (await m.CliAsync("p", "--json", "hosts")).Ok();
            last = market.Stdout;
            var h = market.Json.EnumerateArray().Single(x => x.GetProperty("name").GetString() == host);
            if (h.GetProperty("online").GetBoolean() == online) return;
            await Task.Delay(300);
        }
        throw new Xunit.Sdk.XunitException($"{host} did not become {(online ? "online" : "offline")} in 30 s: {last}");
    }
}
